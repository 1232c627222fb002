"""``make demo`` against the running stack: both seed flows pass, and the demo says so."""

from __future__ import annotations

import pytest

from local import demo
from local.stack import LocalStack

from .support import Stack

pytestmark = pytest.mark.e2e


def test_the_demo_drives_both_seed_flows_to_the_end(local_stack: LocalStack, stack: Stack):
    lines: list[str] = []
    key = stack.api.headers["x-api-key"]  # in APP mode, demo site A's

    code = demo.main(["--api-url", local_stack.api_url, "--sandbox-url", local_stack.sandbox_url, "--api-key", key], out=lines.append)

    assert code == 0, "\n".join(lines)
    assert lines[-1] == "Both seed flows passed."
    assert any("409 NOT_PAYABLE" in line for line in lines)
    assert any("resend by order" in line for line in lines)
    stats = next(line for line in lines if line.startswith("Stats for "))
    assert " paid (" in stats and "recovery rate" in stats and "/_local/stats" in stats


def test_the_demo_says_how_to_start_the_stack_when_none_is_running():
    lines: list[str] = []
    code = demo.main(["--api-url", "http://127.0.0.1:9", "--sandbox-url", "http://127.0.0.1:9"], out=lines.append)
    assert code == 2
    assert "make run" in lines[-1]
