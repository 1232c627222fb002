"""The services every benchmark talks to: moto's server and the Wix sandbox on loopback, set up from template.yaml.

Unlike ``local.stack`` nothing else runs here (no API gateway, no schedule, no webhooks pushed back), so the
only work on the machine while a figure is taken is the work being measured. The functions themselves run in
child processes (``benchmarks.child``) with ``environment()``: the template's variables pointed at these servers.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import httpx
from cryptography.hazmat.primitives import serialization

from benchmarks import moto_fixes
from local.environment import Deployment, build_deployment
from local.moto_bootstrap import FAKE_CREDENTIALS, MotoServer, bootstrap
from local.template import ROOT, create_tables
from local.wix_sandbox import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, SandboxServer
from local.wix_sandbox.orders import Buyer, OrderSpec, create_order

REGION = "us-east-1"
WIX_API_KEY = "local-wix-key"  # what the sandbox accepts, with wix-site-id: local-site
LAYER_DIR = ROOT / "layers" / "payment_links"
FUNCTIONS = {"create": "CreateFunction", "resend": "ResendFunction", "webhook": "WebhookFunction"}


@dataclass
class BenchStack:
    moto: MotoServer
    sandbox: SandboxServer
    deployment: Deployment
    state_dir: Path

    def reset_aws(self) -> None:
        """A clean AWS: moto emptied, then the template's resources, plus a mirror of each table for the floor.

        The floor sends the handler's calls again to the mirrors, which hold the same items as the handler's
        tables at every step, so its conditional writes succeed exactly as the handler's did."""
        httpx.post(f"{self.moto.url}/moto-api/reset", timeout=30).raise_for_status()
        bootstrap(
            self.deployment,
            self.moto.url,
            {
                "WixCredentialsSecretArn": json.dumps({"apiKey": WIX_API_KEY}),
                "WixWebhookPublicKeySecretArn": (self.state_dir / PUBLIC_KEY_FILE).read_text(),
            },
        )
        tables = self.deployment.physical_names("AWS::DynamoDB::Table")
        create_tables(self.dynamodb(), {logical_id: f"{name}-floor" for logical_id, name in tables.items()})

    @property
    def mirror_tables(self) -> dict[str, str]:
        """Each table's name → its mirror's, for ``iotrace.retarget_tables``."""
        return {name: f"{name}-floor" for name in self.deployment.physical_names("AWS::DynamoDB::Table").values()}

    @property
    def public_key_pem(self) -> str:
        return (self.state_dir / PUBLIC_KEY_FILE).read_text()

    @property
    def private_key_pem(self) -> bytes:
        return (self.state_dir / PRIVATE_KEY_FILE).read_bytes()

    @cached_property
    def private_key(self) -> Any:
        """The sandbox's signing key, parsed once (each parse validates the RSA key: ~60 ms of CPU)."""
        return serialization.load_pem_private_key(self.private_key_pem, password=None)

    def environment(self, **overrides: str) -> dict[str, str]:
        """What a function process sees: the template's variables, pointed at moto and the sandbox.

        Logs at WARNING, metrics and traces off, as in ``make run``: the benchmark measures the work, not
        the writing of log lines to a pipe (which on Lambda goes to CloudWatch asynchronously)."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "POWERTOOLS_", "WIX_")) and key not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
        }
        env.update(self.deployment.function_environment())
        env.update(
            {
                "AWS_ENDPOINT_URL": self.moto.url,
                "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "UNSUBSCRIBE_BASE_URL": "http://127.0.0.1:9/v1",  # only printed into e-mails, never called
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                # Zones from the layer's tzdata package rather than this machine's /usr/share/zoneinfo: a runtime
                # image without system zone files (Amazon Linux 2023 minimal) has only the layer's.
                "PYTHONTZPATH": "",
                "PYTHONPATH": os.pathsep.join([str(LAYER_DIR), str(ROOT)]),
            }
        )
        env.update(overrides)
        return env

    # -- data ----------------------------------------------------------------------------------------------------

    def add_order(self, balance: str = "100000.00") -> str:
        """An order at the sandbox with a buyer reachable by e-mail and SMS."""
        buyer = Buyer(email="buyer@example.com", phone="+12015550123", first_name="Jane", last_name="Doe")
        return str(create_order(self.sandbox.state, OrderSpec(balance=Decimal(balance), buyer=buyer))["id"])

    def reset_sandbox(self) -> None:
        with httpx.Client(base_url=self.sandbox.url, timeout=30) as client:
            client.post("/_sandbox/reset", json={"seed": False}).raise_for_status()
            client.delete("/_sandbox/faults").raise_for_status()

    def set_wix_latency(self, milliseconds: int) -> None:
        with httpx.Client(base_url=self.sandbox.url, timeout=30) as client:
            if milliseconds:
                client.put("/_sandbox/faults", json={"endpoint": "*", "latencyMs": milliseconds}).raise_for_status()
            else:
                client.delete("/_sandbox/faults").raise_for_status()

    def dynamodb(self) -> Any:
        return boto3.client("dynamodb", endpoint_url=self.moto.url, region_name=REGION, **FAKE_CREDENTIALS)


@contextmanager
def bench_stack() -> Iterator[BenchStack]:
    """moto and the sandbox on free loopback ports, with the template's tables, bus, secrets and SES sender."""
    moto_fixes.apply()  # before MotoServer, whose one-at-a-time lock (local/moto_dynamodb.py) then wraps these too
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server would log every request
    with tempfile.TemporaryDirectory(prefix="payment-links-bench-") as tmp:
        state_dir = Path(tmp)
        moto = MotoServer("127.0.0.1", 0).start()
        sandbox = SandboxServer(host="127.0.0.1", port=0, key_dir=state_dir, webhook_url=None, seed_demo_order=False).start()
        # No webhooks are pushed in a benchmark; without this the sandbox would still sign every event it queues.
        sandbox.dispatcher.stop()
        try:
            stack = BenchStack(moto, sandbox, build_deployment("bench", REGION, {"WixBaseUrl": sandbox.url}), state_dir)
            stack.reset_aws()
            yield stack
        finally:
            sandbox.stop()
            moto.stop()
