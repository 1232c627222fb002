"""The layer's Makefile deletes packages and parts of packages nothing imports (NOT_IMPORTED, UNUSED_PARTS): a fresh
Python loads every function and the modules they import on first use, and none of the deleted ones may be loaded.
(A fresh process: the test run itself loads libraries of its own, such as pydantic's v1 copy.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

MAKEFILE = Path(__file__).parents[2] / "layers" / "payment_links" / "Makefile"
# Imported on first use by the functions (a queue event, a preview, a message, a reissue, the order events).
LAZY = (
    "aws_lambda_powertools.utilities.batch",
    "payment_links.flows.preview",
    "payment_links.messages.render",
    "payment_links.flows.reissue",
    "payment_links.flows.order_events",
    "payment_links.notify.mime",
)
PROBE = """
import importlib, json, sys
from tests.support.lambda_runtime import load_function
for name in ("create", "resend", "webhook", "sites", "authorizer", "delivery_events"):
    load_function(name)
for module in sys.argv[1].split(","):
    importlib.import_module(module)
print(json.dumps(sorted(sys.modules)))
"""


def _deleted_modules() -> list[str]:
    text = MAKEFILE.read_text().replace("\\\n", " ")
    names: list[str] = []
    for variable in ("NOT_IMPORTED", "UNUSED_PARTS"):
        for line in re.findall(rf"^{variable}\s*\+?:?=\s*(.*)$", text, re.MULTILINE):
            names += [word for word in line.split() if not word.endswith(("-*", ".js", ".css"))]
    return [name.replace("/", ".") for name in names]


def test_no_function_loads_what_the_layer_build_deletes(aws):
    deleted = _deleted_modules()
    assert "pydantic.v1" in deleted and "dns" in deleted  # the Makefile was read

    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(LAZY)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert [m for m in loaded if any(m == d or m.startswith(d + ".") for d in deleted)] == []
