"""``python -m local.stack`` as a developer runs it: ports from flags, a fast clock driving reminders, Ctrl-C.

This one starts the stack as a subprocess (the other e2e tests share one started in-process).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.template import ROOT

from .support import API_KEY, Customer, Stack, wait_until

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _group_is_gone(process: subprocess.Popen) -> bool:
    """No process is left in the stack's process group (it was started in a session of its own): nothing it
    started (a server thread turned process, a child) outlives it holding a port. Ports themselves are no proof on a
    shared machine: another test worker may bind a port number the moment the stack releases it."""
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def fast_clock_stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, dict[str, int]]]:
    ports = {"api": _free_port(), "moto": _free_port(), "sandbox": _free_port()}
    # One real second is one day; the sweep runs every quarter of a real second.
    command = [sys.executable, "-m", "local.stack", "--api-port", str(ports["api"]), "--moto-port", str(ports["moto"])]
    command += ["--sandbox-port", str(ports["sandbox"]), "--state-dir", str(tmp_path / "state")]
    command += ["--clock-speed", "86400", "--sweep-interval", "0.25"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WIX_", "TABLE_", "POWERTOOLS_"))}
    # Files, not pipes: nobody reads a pipe while the test runs, and a full one would block the stack.
    with open(tmp_path / "stdout", "w") as stdout, open(tmp_path / "stderr", "w") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr, text=True, start_new_session=True)
        try:
            yield process, ports
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def test_the_fast_clock_sends_reminders_and_ctrl_c_stops_everything(fast_clock_stack, tmp_path: Path):
    process, ports = fast_clock_stack
    api_url, sandbox_url = f"http://127.0.0.1:{ports['api']}", f"http://127.0.0.1:{ports['sandbox']}"

    def ready() -> bool:
        assert process.poll() is None, (tmp_path / "stderr").read_text()
        try:
            return httpx.get(f"{api_url}/_local/outbox.json", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(ready, timeout=60, what="the stack to start")
    with (
        httpx.Client(base_url=api_url, headers={"x-api-key": API_KEY}, timeout=30) as api,
        httpx.Client(base_url=api_url, timeout=30) as anonymous,
        httpx.Client(base_url=sandbox_url, timeout=30) as sandbox,
    ):
        stack = Stack(api, anonymous, sandbox)
        customer = Customer.new()
        order = stack.create_order(customer)
        created = stack.create_payment_request(order["id"], reminders={"enabled": True, "schedule": ["P1D"]})

        view = wait_until(lambda: stack.get(created["id"])["reminders"]["sent"] == 1, timeout=20, what="a reminder on the fast clock")
        assert view
        # The claim counts the step before the worker's send; the outbox shows it once the invocation is done.
        assert wait_until(lambda: any(e["subject"].startswith("Reminder") for e in stack.emails_to(customer)), what="the reminder")

    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    process.wait(timeout=30)
    stderr = (tmp_path / "stderr").read_text()

    assert process.returncode == 0, stderr
    assert "Local stack ready" in stderr and "stopped" in stderr
    assert "Traceback" not in stderr
    assert wait_until(lambda: _group_is_gone(process), timeout=10, what="every process of the stack to end")
    assert (tmp_path / "state" / "wix-webhook-private.pem").exists()
    assert (tmp_path / "state" / "wix-webhook-public.pem").exists()
