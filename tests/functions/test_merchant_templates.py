"""A merchant's own templates (``PUT /settings`` ``templates``): checked when saved against a sample request in every
language and stage, then used for every message; a template that fails on a real request falls back to ours."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functions.test_sweep_support import create_app, create_request, get_request, reminder_emails, run_sweep
from tests.support.lambda_runtime import api_event, invoke, load_function

sites_app = load_function("sites")

CREATED = "2026-05-04T12:00:00Z"
DAY_1 = "2026-05-05T12:00:00Z"

GOOD_TEXT = """{{ _("Hello,") }} {{ store }} asks {{ amount }} for {{ order }}: {{ url }}
{% if unsubscribe_url %}Stop reminders: {{ unsubscribe_url }}{% endif %}"""
GOOD_HTML = """<p>{{ title }}: <a href="{{ url }}">{{ amount }}</a></p>
{% if unsubscribe_url %}<a href="{{ unsubscribe_url }}">stop</a>{% endif %}"""


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")


def save(templates: dict[str, str]) -> tuple[int, dict[str, Any]]:
    status, body, _ = invoke(sites_app, api_event("PUT", "/settings", {"templates": templates}))
    return status, body


@pytest.mark.parametrize(
    ("templates", "problem"),
    [
        ({"emailText": "Hello {{ store }}, please pay {{ amount }}."}, "emailText has no pay link"),
        ({"emailHtml": '<a href="{{ url }}">Pay</a>'}, "emailHtml of the e-mail has no unsubscribe link"),
        ({"sms": "{{ store }}: {{ amount }} {{ url }}"}, "the SMS has no opt-out line"),
        ({"emailSubject": "Pay {{ amount"}, "line 1"),
        ({"emailSubject": "{{ totla }}"}, "'totla' is undefined"),
        ({"emailSubject": "{{ ''.__class__.__mro__ }}"}, "unsafe"),
        ({"emailSubject": "{{ 1 / 0 }}"}, "ZeroDivisionError"),
    ],
)
def test_a_template_that_loses_a_link_or_does_not_render_is_refused_with_the_reason(aws, wix, templates, problem):
    status, body = save(templates)

    assert status == 422 and body["error"]["code"] == "VALIDATION_FAILED"
    assert problem in str(body["error"]["details"]), body
    assert invoke(sites_app, api_event("GET", "/settings"))[1]["templates"] == {}  # nothing was saved


def test_saved_templates_are_used_for_the_first_link_reminders_and_previews(aws, wix):
    status, body = save({"emailSubject": "{{ store }} · {{ title }} · {{ amount }}", "emailText": GOOD_TEXT, "emailHtml": GOOD_HTML})
    assert status == 200 and set(body["templates"]) == {"emailSubject", "emailText", "emailHtml"}

    created = create_request(wix, CREATED, phone=None)
    first = aws.sent_emails()[-1]
    assert first.subject.endswith("· Balance due · $25.00") and created["url"] in first.text and "Stop reminders" not in first.text

    run_sweep(DAY_1)
    reminder = aws.sent_emails()[-1]
    assert "Stop reminders: https://" in reminder.text and 'href="https://' in reminder.html
    assert reminder.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and reminder_emails(aws) == []  # our subject

    shown = invoke(create_app, api_event("POST", f"/payment-requests/{created['id']}/preview", {"kind": "REMINDER"}))[1]
    assert shown["subject"] == reminder.subject

    assert save({})[0] == 200  # templates left out: the product's again
    assert invoke(sites_app, api_event("GET", "/settings"))[1]["templates"] == {}


def test_a_template_that_fails_on_a_real_request_falls_back_to_ours_and_the_message_still_goes(aws, wix):
    # Renders for the sample (its description has 17 characters) but not for a request without a description.
    fragile = "{{ title }} {{ amount }} {{ (description|length) * 2 }}"
    assert save({"emailSubject": fragile})[0] == 200

    created = create_request(wix, CREATED, phone=None)

    assert aws.sent_emails()[-1].subject == "Payment requested: Balance due ($25.00)"
    assert get_request(created["id"])["notifications"][0]["status"] == "SENT"
