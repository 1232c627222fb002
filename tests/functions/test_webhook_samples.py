"""The sample events in ``events/webhook-*.json`` work as ``docs/webhook.md`` says they do.

They are signed with the sample key whose public half the doc prints, so a developer can
``sam local invoke WebhookFunction -e events/webhook-paid.json`` after putting that key in the secret.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.functions.test_webhook_api import set_webhook_keys, store, webhook_app
from tests.support.lambda_runtime import ROOT, invoke
from tests.support.webhook_signing import opr_entity

SAMPLE_REQUEST_ID = "5f0c6a8e-1b2d-4c3e-9f4a-6b7c8d9e0f1a"
SAMPLE_ORDER_ID = "8d0c2b9e-5b1f-4c43-9c3a-2f1f6e3b1a10"


def sample(name: str) -> dict:
    return json.loads((ROOT / "events" / f"webhook-{name}.json").read_text())


def documented_sample_key() -> str:
    doc = (ROOT / "docs" / "webhook.md").read_text()
    match = re.search(r"^-----BEGIN PUBLIC KEY-----\n.*?\n-----END PUBLIC KEY-----$", doc, re.DOTALL | re.MULTILINE)
    assert match, "docs/webhook.md must print the sample public key"
    return match.group(0)


@pytest.fixture
def sample_site(aws, wix):
    """The sample request and its order, as Wix would hold them."""
    set_webhook_keys(documented_sample_key())
    wix.orders[SAMPLE_ORDER_ID] = {
        "id": SAMPLE_ORDER_ID,
        "number": "10042",
        "currency": "USD",
        "paymentStatus": "NOT_PAID",
        "buyerInfo": {"email": "jane@example.com"},
        "billingInfo": {"contactDetails": {"firstName": "Jane", "lastName": "Doe", "phone": "+12015550123"}},
        "balanceSummary": {"balance": {"amount": "25.00"}},
    }
    wix.requests[SAMPLE_REQUEST_ID] = opr_entity(SAMPLE_REQUEST_ID, SAMPLE_ORDER_ID, external_id="invoice-1001")
    return wix


def test_the_sample_lifecycle_events_apply_in_order(sample_site):
    assert invoke(webhook_app, sample("created"))[:2] == (200, {"received": True, "outcome": "applied"})
    assert invoke(webhook_app, sample("updated"))[1]["outcome"] == "applied"
    sample_site.set_status(SAMPLE_REQUEST_ID, "PAID")  # the customer pays; Wix then says so
    assert invoke(webhook_app, sample("paid"))[1]["outcome"] == "applied"
    for late in ("expired", "voided"):
        assert invoke(webhook_app, sample(late))[1]["outcome"] == "stale"  # same sequence as paid: older news

    stored = store().get(SAMPLE_REQUEST_ID)
    assert (stored.status, stored.title, stored.instance_id) == ("PAID", "Final balance", "sample-instance-id")
    assert invoke(webhook_app, sample("deleted"))[1]["outcome"] == "applied"


@pytest.mark.parametrize(("name", "status"), [("forged-signature", 401), ("not-a-jwt", 400)])
def test_the_sample_rejections_are_refused(sample_site, name, status):
    assert invoke(webhook_app, sample(name))[0] == status
    assert store().get(SAMPLE_REQUEST_ID) is None
