"""The whole local stack, started once per deployment mode for the e2e package on free ports, and clients that
drive it over HTTP. Every e2e test runs in both modes: SITE (one Wix site, the API key ``local-dev-key``) and APP
(a Wix app's backend; the tests act as demo site A, with its storefront key, its OAuth token at the sandbox).

Package-scoped rather than session-scoped: the stack sets the process environment for the in-process
handlers (moto's endpoint, the sandbox's URL), and that must be undone before other packages' tests run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.stack import DEMO_SITE_KEYS, LocalStack, StackConfig
from local.wix_sandbox import SITE_A_INSTANCE_ID

from .support import API_KEY, Stack


@pytest.fixture(scope="package", params=["site", "app"])
def local_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = StackConfig(
        mode=request.param,
        api_port=0,
        moto_port=0,
        sandbox_port=0,
        state_dir=tmp_path_factory.mktemp("local-state"),
        schedule=False,  # sweeps run only when a test asks, through POST /_local/sweep
        # The suite drives one site through days of activity in seconds, far faster than a shop: Wix's 200 calls a
        # minute per site would defer a test's reminders behind the previous tests' calls. The quota itself is
        # tested where it is the subject (tests/functions/test_wix_quota.py, the pipeline benchmark).
        parameters={"WixRequestsPerMinute": "6000"},
        sandbox_options={"webhook_retry_delays_seconds": (0.05, 0.1), "webhook_shuffle_window_seconds": 0.3},
    )
    with LocalStack(config) as stack:
        yield stack


@pytest.fixture(scope="package")
def state_dir(local_stack: LocalStack) -> Path:
    return local_stack.config.state_dir


@pytest.fixture(scope="package")
def stack(local_stack: LocalStack) -> Iterator[Stack]:
    key = DEMO_SITE_KEYS[SITE_A_INSTANCE_ID] if local_stack.config.app_mode else API_KEY
    with (
        httpx.Client(base_url=local_stack.api_url, headers={"x-api-key": key}, timeout=30) as api,
        httpx.Client(base_url=local_stack.api_url, timeout=30) as anonymous,
        httpx.Client(base_url=local_stack.sandbox_url, timeout=30) as sandbox,
    ):
        yield Stack(api, anonymous, sandbox)


@pytest.fixture(autouse=True)
def sandbox_defaults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test leaves the shared sandbox as it found it: normal delivery, no faults, the page published."""
    yield
    if "stack" not in request.fixturenames:
        return
    stack: Stack = request.getfixturevalue("stack")
    stack.set_webhook_policy()
    stack.sandbox.delete("/_sandbox/faults")
    stack.sandbox.put("/_sandbox/site", json={"paymentPagePublished": True})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``app_mode_only`` (several sites) run on the APP-mode stack only: their SITE-mode copies are
    deselected, not skipped (a SITE deployment has one site; there is nothing to run)."""
    site_copies = [item for item in items if item.get_closest_marker("app_mode_only") and "[site]" in item.nodeid]
    if site_copies:
        config.hook.pytest_deselected(items=site_copies)
        items[:] = [item for item in items if item not in site_copies]
