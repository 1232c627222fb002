"""``python -m local.wix_sandbox``: run the sandbox until Ctrl-C."""

from .server import main

raise SystemExit(main())
