"""Shared fixtures: the environment of a deployed function, moto's AWS, and the HTTP-level Wix fake."""

from __future__ import annotations

import os

TEST_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "TABLE_NAME": "test-payment-requests",
    "IDEMPOTENCY_TABLE_NAME": "test-idempotency",
    "EVENT_BUS_NAME": "test-bus",
    "WIX_BASE_URL": "https://wix.test",
    "WIX_SITE_ID": "test-site",
    "WIX_CREDENTIALS_SECRET": "test/wix-credentials",
    "WIX_WEBHOOK_KEYS_SECRET": "test/wix-webhook-public-key",
    "UNSUBSCRIBE_SECRET": "test/unsubscribe-key",
    "UNSUBSCRIBE_BASE_URL": "https://api.test/v1",
    "SENDER_EMAIL": "payments@shop.test",
    "STORE_NAME": "Test Shop",
    # Moto has no sending rate; the rate limiting's own tests set theirs.
    "SES_MAX_SEND_RATE": "1000",
    "SMS_MAX_SEND_RATE": "1000",
    "WIX_RETRY_WAIT_INITIAL_SECONDS": "0.01",
    "WIX_RETRY_WAIT_MAX_SECONDS": "0.05",
    "WIX_READ_TIMEOUT_SECONDS": "2",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "payment-links",
    "POWERTOOLS_METRICS_NAMESPACE": "PaymentLinksTest",
    "AWS_LAMBDA_FUNCTION_NAME": "test-function",
}
for _key, _value in TEST_ENV.items():
    os.environ[_key] = _value
os.environ.pop("AWS_ENDPOINT_URL", None)

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
import respx  # noqa: E402

from local.lambda_isolation import isolate_router_state  # noqa: E402
from local.moto_dynamodb import serialise_dynamodb  # noqa: E402
from tests.reliability import mutants  # noqa: E402
from tests.support.aws_env import AwsEnv, reset_process_state, start_moto  # noqa: E402
from tests.support.fake_wix import BASE_URL, FakeWix  # noqa: E402

# Every test: no contact detail or secret in any line the product logs. The reliability figures, added up across
# pytest-xdist's workers and printed at the end.
pytest_plugins = ["tests.support.log_capture", "tests.reliability.figures"]

# Tests run invocations side by side in threads of this process, where Lambda would use separate execution
# environments, against moto, where DynamoDB would serialise. Both made to behave as on AWS (the local stack
# does the same): without them a lost update or a mixed-up event seen by a test would be the rig's, not ours.
isolate_router_state()
serialise_dynamodb()


@pytest.fixture(scope="session", autouse=True)
def mutant() -> Iterator[str | None]:
    """Remove the mechanism RELIABILITY_MUTANT names (tests/reliability/mutants.py) for the whole run, before any
    stack starts or function loads. Unset in CI: nothing is removed."""
    name = os.environ.get("RELIABILITY_MUTANT")
    if not name:
        yield None
        return
    with pytest.MonkeyPatch.context() as patch:
        mutants.apply(name, patch)
        yield name


@pytest.fixture
def concurrent_invocations(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests that invoke one function from several threads at once: Powertools keeps one metric set per
    process (one invocation at a time on Lambda), so concurrent invocations would flush each other's and a
    flush could find the set emptied under it. Metrics are not what those tests check."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


@pytest.fixture
def aws() -> Iterator[AwsEnv]:
    reset_process_state(keep_in_process_clients=True)
    with start_moto() as env:
        yield env
    reset_process_state(keep_in_process_clients=True)


@pytest.fixture
def wix() -> Iterator[FakeWix]:
    fake = FakeWix()
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        fake.install(router)
        yield fake
