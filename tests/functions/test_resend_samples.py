"""The resend function's sample events in events/ are valid input for its handler (sam local invoke)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functions.test_sweep_support import resend_app
from tests.support.lambda_runtime import LambdaContext, invoke

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture(autouse=True)
def _no_rate_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")
    yield


def sample(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_resend_by_id_sample_reaches_its_route(aws, wix):
    status, body, _ = invoke(resend_app, sample("resend-by-id.json"))
    assert status == 404 and body["error"]["code"] == "PAYMENT_REQUEST_NOT_FOUND"  # a fresh table


def test_lost_link_sample_queries_wix_for_the_order(aws, wix):
    status, body, _ = invoke(resend_app, sample("resend-lost-link.json"))
    assert status == 404 and body["error"]["code"] == "NO_UNPAID_PAYMENT_REQUEST"
    assert wix.count("query") == 1


def test_unsubscribe_sample_gets_a_page_for_people(aws, wix):
    status, page, headers = invoke(resend_app, sample("resend-unsubscribe-get.json"))
    # Its token is signed with another key than the tests' secret: refused, as a page since a browser asked.
    assert status == 404 and headers["content-type"].startswith("text/html") and "does not work" in page


def test_scheduled_sample_runs_the_sweep_as_of_its_time(aws, wix):
    summary = resend_app.lambda_handler(sample("scheduled-sweep.json"), LambdaContext(remaining_ms=300_000))
    assert summary["time"] == "2026-05-02T10:00:00Z" and summary["due"] == 0 and summary["remaining"] == 0


def test_reminder_batch_sample_is_a_worker_message_and_is_acknowledged(aws, wix):
    # One id the fresh table does not hold: the batch is worked (nothing due), the message acknowledged.
    response = resend_app.lambda_handler(sample("reminder-batch.json"), LambdaContext(remaining_ms=300_000))
    assert response == {"batchItemFailures": []}
