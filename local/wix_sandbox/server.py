"""Running the sandbox: ``SandboxServer`` (a background-thread server for tests and the local stack) and the CLI.

    python -m local.wix_sandbox --host 127.0.0.1 --port 3100 \\
        --webhook-url http://127.0.0.1:3000/webhooks/wix --key-dir .local
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .api import WixApi
from .app import SandboxApp
from .config import SandboxConfig
from .control import ControlApi
from .keys import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, load_or_create_keys
from .orders import DEMO_ORDER, DEMO_ORDER_ID, create_order
from .page import PaymentPage
from .payment_requests import PaymentRequestService
from .sites import SiteService
from .state import SandboxState
from .webhooks import WebhookDispatcher


class _QuietRequestHandler(WSGIRequestHandler):
    """Keeps the access log out of test output; errors are still reported."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class SandboxServer:
    """The Wix sandbox on ``host:port`` (port 0 picks a free one), served from a background thread.

    Accepts either a ``SandboxConfig`` or its fields as keyword arguments, e.g.
    ``SandboxServer(port=0, key_dir=tmp_path, webhook_url="http://127.0.0.1:3000/webhooks/wix")``.
    """

    def __init__(self, config: SandboxConfig | None = None, **settings: Any):
        if "key_dir" in settings:
            settings["key_dir"] = Path(settings["key_dir"])
        self.config = replace(config or SandboxConfig(), **settings)
        self.keys = load_or_create_keys(self.config.key_dir)
        self.state = SandboxState(self.config.state_file, home_instance_id=self.config.instance_id)
        self.stopping = threading.Event()
        self.dispatcher = WebhookDispatcher(
            self.state,
            self.keys,
            url=self.config.webhook_url,
            app_id=self.config.client_id,
            shuffle_window_seconds=self.config.webhook_shuffle_window_seconds,
            request_timeout_seconds=self.config.webhook_request_timeout_seconds,
            retry_delays_seconds=self.config.webhook_retry_delays_seconds,
        )
        self.payment_requests = PaymentRequestService(
            self.state,
            self.dispatcher.publish,
            app_id=self.config.client_id,
            payment_url=lambda request_id: f"{self.public_base_url}/pay/{request_id}",
        )
        self.sites = SiteService(self.state, self.dispatcher.publish)
        self.app = SandboxApp(
            WixApi(self.config, self.state, self.payment_requests, self.stopping),
            ControlApi(self.state, self.payment_requests, self.sites, self.dispatcher, self.keys, self.seed),
            PaymentPage(self.state, self.payment_requests),
        )
        self._server: BaseWSGIServer | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        self.stopping.clear()
        self.seed()
        self._server = make_server(
            self.config.host,
            self.config.port,
            self.app,
            threaded=True,
            request_handler=_QuietRequestHandler if self.config.quiet else None,
        )
        self.dispatcher.start()
        self._threads = [
            # A short poll interval keeps stop() quick; the default half second adds up across a test suite.
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="wix-sandbox-http", daemon=True),
            threading.Thread(target=self._expire_periodically, name="wix-sandbox-expiry", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        # Setting the event first releases calls held by a timeout fault, so shutdown does not wait on them.
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self.dispatcher.stop()
        self._server = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- what callers need -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        return f"http://{self.config.host}:{self._server.server_port}"

    @property
    def public_base_url(self) -> str:
        return (self.config.public_base_url or self.url).rstrip("/")

    @property
    def private_key_path(self) -> Path:
        return self.config.key_dir / PRIVATE_KEY_FILE

    @property
    def public_key_path(self) -> Path:
        return self.config.key_dir / PUBLIC_KEY_FILE

    def seed(self) -> None:
        """Create the demo order (in the home site) a person sees first, unless it exists or seeding is off."""
        if not self.config.seed_demo_order:
            return
        with self.state.lock:
            if DEMO_ORDER_ID not in self.state.orders:
                create_order(self.state, DEMO_ORDER)

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until every pushed event has been delivered; True if that happened within ``timeout``."""
        return self.dispatcher.wait_idle(timeout)

    def _expire_periodically(self) -> None:
        while not self.stopping.wait(self.config.expiry_check_seconds):
            self.payment_requests.expire_due()


# -- command line --------------------------------------------------------------------------------------------


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m local.wix_sandbox", description="Local Wix sandbox")
    parser.add_argument("--host", default=env("WIX_SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("WIX_SANDBOX_PORT", "3100")))
    parser.add_argument(
        "--webhook-url",
        default=env("WIX_SANDBOX_WEBHOOK_URL", "http://127.0.0.1:3000/webhooks/wix"),
        help="where signed webhooks are pushed; pass '' to push nowhere",
    )
    parser.add_argument("--key-dir", default=env("WIX_SANDBOX_KEY_DIR", ".local"))
    parser.add_argument(
        "--public-base-url", default=env("WIX_SANDBOX_PUBLIC_URL"), help="base of payment links (default: the server's own URL)"
    )
    parser.add_argument("--state-file", default=env("WIX_SANDBOX_STATE_FILE"), help="persist orders and payment requests to this JSON file")
    parser.add_argument("--no-seed", action="store_true", help="do not create the demo order")
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    server = SandboxServer(
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url or None,
        key_dir=args.key_dir,
        public_base_url=args.public_base_url,
        state_file=Path(args.state_file) if args.state_file else None,
        seed_demo_order=not args.no_seed,
        quiet=not args.verbose,
    )
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    # Ctrl-C stops it even when started from a script that put it in the background (which ignores SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server.start()
    print(f"Wix sandbox on {server.url}  (payment pages at {server.public_base_url}/pay/<id>)", file=sys.stderr)
    print(f"  webhooks -> {server.config.webhook_url or 'nowhere'}; public key {server.public_key_path}", file=sys.stderr)
    print(f"  demo order {DEMO_ORDER_ID}; control routes under {server.url}/_sandbox/", file=sys.stderr)
    print(
        f"  sites {', '.join(site.instance_id for site in server.sites.list_sites())} (API key -> {server.config.instance_id})",
        file=sys.stderr,
    )
    try:
        while not stop_requested.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("Wix sandbox stopped", file=sys.stderr)
    return 0
