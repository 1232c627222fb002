"""Product mechanisms removed one at a time, to show that the suites notice: ``RELIABILITY_MUTANT=<name>``.

Each entry patches the running product (never its files) so the guarantee it provides is gone; the tests that
prove that guarantee must then fail. CI never sets the variable. docs/reliability.md lists what failed for each.

    RELIABILITY_MUTANT=no-conditional-save .venv/bin/python -m pytest tests/reliability/test_concurrency.py
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest


def _no_idempotency(monkeypatch: pytest.MonkeyPatch) -> None:
    """Creates are not de-duplicated by the Powertools idempotency record (the externalId claim stays)."""
    from payment_links import idempotency
    from payment_links.api_models import CreatePaymentRequestInput, PaymentRequestView
    from payment_links.flows.create import create_payment_request

    def plain(payload: dict[str, Any], deps: Any) -> dict[str, Any]:
        result = create_payment_request(CreatePaymentRequestInput.model_validate(payload["request"]), deps)
        return {"replayed": result.replayed, "paymentRequest": PaymentRequestView.of(result.record).to_json()}

    def factory() -> Any:
        return plain

    factory.cache_clear = lambda: None  # type: ignore[attr-defined]  # reset_idempotency() clears the real one
    monkeypatch.setattr(idempotency, "_idempotent_create", factory)


def _no_conditional_save(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record writes no longer check the version they read (last writer wins)."""
    from payment_links import store
    from payment_links.store import PaymentRequestStore

    def save(self: PaymentRequestStore, record: Any) -> Any:
        record.version += 1
        self._client.put_item(TableName=self._table_name, Item=store._wire(self._item(record)))
        return record

    monkeypatch.setattr(PaymentRequestStore, "save", save)


def _no_own_write_recognition(monkeypatch: pytest.MonkeyPatch) -> None:
    """A version-checked write whose first answer was lost and whose retry then failed against itself is read as
    another writer's (the write id is no longer compared)."""
    from payment_links import store
    from payment_links.store import PaymentRequestStore, StaleRecord

    def save(self: PaymentRequestStore, record: Any) -> Any:
        expected = record.version
        record.version = expected + 1
        try:
            self._client.put_item(**self._put(self._item(record), "version = :expected", {":expected": expected})["Put"])
        except store.ClientError as exc:
            record.version = expected
            if store._is_condition_failure(exc):
                raise StaleRecord(record.id) from exc
            raise
        return record

    monkeypatch.setattr(PaymentRequestStore, "save", save)


def _no_paid_event_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent publishers of one PaymentRequestPaid no longer exclude each other."""
    from payment_links.flows import paid_events

    monkeypatch.setattr(paid_events, "LEASE", timedelta(0))


def _paid_flag_cleared_before_put(monkeypatch: pytest.MonkeyPatch) -> None:
    """At-most-once publishing: the outbox flag is cleared first, then the event is put (a crash loses it)."""
    from payment_links.flows import delivery, paid_events, payment_request_events

    def publish(record: Any, deps: Any) -> Any:
        if not record.paid_event_pending:
            return record
        cleared: list[bool] = []

        def clear(current: Any) -> bool:
            cleared[:] = [current.paid_event_pending]
            current.paid_event_pending = False
            return cleared[0]

        stored = deps.store.update(record.id, clear) or record
        if cleared and cleared[0]:
            paid_events._put(stored, deps)
        return stored

    monkeypatch.setattr(payment_request_events, "publish_pending_paid_event", publish)
    monkeypatch.setattr(delivery, "publish_pending_paid_event", publish)


def _no_wix_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Wix call is tried once."""
    monkeypatch.setenv("WIX_MAX_ATTEMPTS", "1")


def _no_create_adoption(monkeypatch: pytest.MonkeyPatch) -> None:
    """A retried create no longer first asks Wix whether the lost attempt went through."""
    from payment_links.wix.client import OPR_PATH, WixClient
    from payment_links.wix.models import CreatedOrderPaymentRequest

    def create(self: WixClient, new: Any) -> Any:
        payload = self._call("create", "POST", OPR_PATH, json={"orderPaymentRequest": new.to_wire()})
        return CreatedOrderPaymentRequest.model_validate(payload)

    monkeypatch.setattr(WixClient, "create_payment_request", create)


def _no_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wix's Retry-After header is ignored."""
    from payment_links.wix import client

    monkeypatch.setattr(client, "_parse_retry_after", lambda _response: None)


def _no_reminder_handback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reminder whose send reached nobody is recorded as failed but not handed back: its step is lost."""
    from payment_links.flows import reminder_claim

    original: Callable[..., Any] = reminder_claim.change

    def change(record: Any, change_fn: Callable[[Any], bool], deps: Any) -> Any:
        if change_fn.__name__ != "record_outcome":
            return original(record, change_fn, deps)

        def keep_the_step(current: Any) -> bool:
            plan, last_sent = current.reminders.model_copy(), current.last_sent_at
            changed = change_fn(current)
            current.reminders.next_at, current.reminders.next_step, current.reminders.sent = plan.next_at, plan.next_step, plan.sent
            current.last_sent_at = last_sent
            return changed

        return original(record, keep_the_step, deps)

    monkeypatch.setattr(reminder_claim, "change", change)


def _no_unsubscribe_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unsubscribe tokens are read without checking their signature."""
    import base64

    from payment_links import unsubscribe_token
    from payment_links.unsubscribe_token import UnsubscribeClaim

    def read(token: str, _key: bytes) -> UnsubscribeClaim | None:
        try:
            payload = base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()
        except ValueError:
            return None
        _version, _, rest = payload.partition(":")
        request_id, _, channel = rest.rpartition(":")
        return UnsubscribeClaim(request_id, channel) if request_id else None

    monkeypatch.setattr(unsubscribe_token, "read_token", read)
    from payment_links.flows import unsubscribe

    monkeypatch.setattr(unsubscribe, "read_token", read)


def _no_update_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-change-write that lost its conditional write gives up instead of reading again."""
    from payment_links import store

    monkeypatch.setattr(store, "MAX_UPDATE_ATTEMPTS", 1)


def _no_aws_unavailable_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS throttling that outlasted the SDK's retries is answered like any unexpected error (500)."""
    from payment_links import http

    monkeypatch.setattr(http, "_aws_unavailable", lambda _exc: False)


def _no_send_outcomes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A send SES or SNS refused is no longer recorded per channel: the error propagates."""
    from payment_links.domain.payment_request import Notification
    from payment_links.notify.sender import SEND_SENT, Notifier

    def send(self: Notifier, record: Any, url: str, kind: str, channels: list[str], now: Any, unsubscribe_url: Any = None) -> list[Any]:
        return [
            Notification(
                channel=channel, kind=kind, status=SEND_SENT, message_id=self._send_one(record, url, kind, channel, unsubscribe_url), at=now
            )
            for channel in channels
        ]

    monkeypatch.setattr(Notifier, "send", send)


def _no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway lets every request through, key or not (``ApiKeyRequired`` dropped from the routes)."""
    from local.authorizers import Decision
    from local.gateway import Gateway

    monkeypatch.setattr(Gateway, "authorise", lambda _self, _route, _request, _path: Decision())


def _no_webhook_body_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The webhook reads a body of any size (its 64 KB limit raised to 1 GB)."""
    from payment_links.config import get_settings

    monkeypatch.setenv("WEBHOOK_MAX_BODY_BYTES", str(1 << 30))
    get_settings.cache_clear()  # the suite's fixtures clear it again afterwards (reset_process_state)


def _no_id_escaping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids go into Wix URLs as they come (no quoting as one path segment)."""
    from payment_links.wix import client

    monkeypatch.setattr(client, "_segment", lambda value: value)


def _no_signature_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook tokens are decoded without checking their signature (the algorithm is still pinned)."""
    from payment_links.wix import webhooks

    decode = webhooks.jwt.decode

    def unverified(token: str, _key: Any, **kwargs: Any) -> Any:
        return decode(token, options={**kwargs.pop("options", {}), "verify_signature": False}, **kwargs)

    monkeypatch.setattr(webhooks.jwt, "decode", unverified)


def _no_quiet_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reminders fall due inside the customer's quiet hours."""
    from payment_links.domain.reminders import QuietHours

    monkeypatch.setattr(QuietHours, "move_out", lambda _self, at, _tz: at)


def _no_validation_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Invalid requests get Powertools' own 422 body, not the documented error (functions loaded afterwards)."""
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
    from payment_links import http

    register = http.register_error_handlers

    def without_validation_answer(app: Any) -> None:
        register(app)
        app.exception_handler_manager._exception_handlers.pop(RequestValidationError, None)

    monkeypatch.setattr(http, "register_error_handlers", without_validation_answer)


def _no_json_depth_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Untrusted JSON (storefront bodies, webhook token headers) is parsed by plain ``json.loads``."""
    import json

    from payment_links import safe_json

    monkeypatch.setattr(safe_json, "loads", lambda text, max_depth=0: json.loads(text))


def _no_wix_confirmation(monkeypatch: pytest.MonkeyPatch) -> None:
    """A webhook's terminal claim is applied as the event says, without asking Wix."""
    from payment_links.flows import payment_request_events

    monkeypatch.setattr(payment_request_events, "confirmed_status", lambda _record, _kind, claim, *_rest: claim)


def _no_instance_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook events are applied whatever Wix instance (site) they come from."""
    from payment_links.flows import payment_request_events, webhook

    monkeypatch.setattr(webhook, "expected_instance", lambda _deps: None)
    monkeypatch.setattr(payment_request_events, "_pinned_elsewhere", lambda _record, _instance: False)


def _no_recipient_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resend goes to whatever contact the body names (the seed's behaviour)."""
    from payment_links.domain.contacts import merge_customer
    from payment_links.flows import resend
    from payment_links.flows.recipients import Recipient

    monkeypatch.setattr(
        resend, "recipient_for_resend", lambda record, given, _order, _deps: Recipient(merge_customer(given, record.customer))
    )


def _amounts_rounded_half_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """What is open is rounded to the nearest minor unit (half up), as the seed did, instead of down."""
    from decimal import ROUND_HALF_UP

    from payment_links.domain import money
    from payment_links.flows import create

    def half_up(amount: Any, currency: str) -> Any:
        return amount.quantize(money.minor_unit(currency), rounding=ROUND_HALF_UP)

    monkeypatch.setattr(create, "round_down", half_up)


def _adopt_any_external_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Create adopts any Wix request with the same externalId, whatever its amount, title or app."""
    from payment_links.flows import create

    monkeypatch.setattr(create, "_check_adoptable", lambda *_args: None)


def _no_site_scoping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every site's records share one partition (the site prefix of the keys is gone)."""
    from payment_links.tenancy import Site

    monkeypatch.setattr(Site, "key_prefix", property(lambda _self: ""))


def _any_key_any_site(monkeypatch: pytest.MonkeyPatch) -> None:
    """The authorizer takes any x-api-key as site A's."""
    from payment_links.sites import SiteRegistry

    monkeypatch.setattr(SiteRegistry, "site_of_key", lambda _self, key: ("11111111-1111-4111-8111-111111111111", "k") if key else None)


def _no_reminder_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """An abandoned claim is taken as sent whether or not its send had started (the claim alone decides)."""
    from payment_links.flows import reminder_claim

    original = reminder_claim.recover_abandoned

    def recover_as_sent(record: Any, now: Any, deps: Any) -> Any:
        assert record.reminders.in_flight is not None
        record.reminders.in_flight.started = True
        return original(record, now, deps)

    monkeypatch.setattr(reminder_claim, "recover_abandoned", recover_as_sent)


def _no_started_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """The claimed reminder is sent without first flagging it as handed to SES/SNS."""
    from payment_links.flows import reminder_claim

    monkeypatch.setattr(reminder_claim, "mark_started", lambda claimed, deps: claimed)


def _no_order_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reminders look at the request's own status only, never at its order."""
    from payment_links.flows import reminder

    monkeypatch.setattr(reminder, "_order_verdicts", lambda due, at_wix, deps: {})


def _no_order_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reissues of one order's requests are made side by side, each computing what is open alone."""
    from payment_links.store import PaymentRequestStore

    monkeypatch.setattr(PaymentRequestStore, "take_order_lease", lambda self, order_id, owner, seconds: True)


def _reissue_without_intent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reissue writes nothing before voiding: a reissue stopped after the void is never finished."""
    from payment_links.flows import reissue

    def start_without_writing(record, result, deps, now, still, due_now=False):  # type: ignore[no-untyped-def]
        record = record.model_copy(deep=True)
        record.reissue_pending = reissue.reissue_external_id(record.id)
        return record

    monkeypatch.setattr(reissue, "_start", start_without_writing)


def _counters_from_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write counts its record as new: the daily counters forget what an earlier write counted."""
    from payment_links import store

    monkeypatch.setattr(store, "counter_deltas", lambda before, after: store_counter_deltas(None, after))


def store_counter_deltas(before, after):  # type: ignore[no-untyped-def]
    from payment_links.stats import counter_deltas

    return counter_deltas(before, after)


MUTANTS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "no-idempotency": _no_idempotency,
    "no-conditional-save": _no_conditional_save,
    "no-own-write-recognition": _no_own_write_recognition,
    "no-paid-event-lease": _no_paid_event_lease,
    "paid-flag-cleared-before-put": _paid_flag_cleared_before_put,
    "no-wix-retries": _no_wix_retries,
    "no-create-adoption": _no_create_adoption,
    "no-retry-after": _no_retry_after,
    "no-reminder-handback": _no_reminder_handback,
    "no-reminder-lease": _no_reminder_lease,
    "no-started-flag": _no_started_flag,
    "no-order-check": _no_order_check,
    "no-order-lease": _no_order_lease,
    "reissue-without-intent": _reissue_without_intent,
    "counters-from-scratch": _counters_from_scratch,
    "no-unsubscribe-signature": _no_unsubscribe_signature,
    "no-update-retry": _no_update_retry,
    "no-aws-unavailable-answer": _no_aws_unavailable_answer,
    "no-send-outcomes": _no_send_outcomes,
    "no-api-key": _no_api_key,
    "no-webhook-body-limit": _no_webhook_body_limit,
    "no-id-escaping": _no_id_escaping,
    "no-signature-check": _no_signature_check,
    "no-quiet-hours": _no_quiet_hours,
    "no-validation-answer": _no_validation_answer,
    "no-json-depth-limit": _no_json_depth_limit,
    "no-wix-confirmation": _no_wix_confirmation,
    "no-instance-check": _no_instance_check,
    "no-recipient-rule": _no_recipient_rule,
    "amounts-rounded-half-up": _amounts_rounded_half_up,
    "adopt-any-external-id": _adopt_any_external_id,
    "no-site-scoping": _no_site_scoping,
    "any-key-any-site": _any_key_any_site,
}


def apply(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if name not in MUTANTS:
        raise pytest.UsageError(f"RELIABILITY_MUTANT={name}: unknown; one of {sorted(MUTANTS)}")
    MUTANTS[name](monkeypatch)
