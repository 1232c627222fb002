"""Property tests: the webhook envelope parser and the reminder schedule, over inputs nobody would write by hand.

Webhook: whatever bytes arrive, the verifier either returns an envelope or raises one of its three documented
rejections; a genuine token round-trips every field; any change to a genuine token is refused.
Reminders: for random cadences, time zones, quiet hours and clocks, the next reminder is the first step still
ahead, never in quiet hours, never at or after expiry, and never earlier than its step.
"""

from __future__ import annotations

import json
import string
import unicodedata
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from payment_links import safe_json
from payment_links.api_models import CreatePaymentRequestInput
from payment_links.domain.contacts import ContactRefused, parse_email, parse_phone
from payment_links.domain.money import parse_amount_text
from payment_links.domain.reminders import QuietHours, next_reminder, parse_duration
from payment_links.wix import webhooks
from pydantic import ValidationError

from tests.reliability import figures
from tests.support.webhook_signing import (
    EVENT_TYPE_PREFIX,
    claims_for,
    default_keys,
    domain_event,
    envelope,
    opr_entity,
    sign,
)

KINDS = ("created", "updated", "deleted", "paid", "expired", "voided")
REJECTIONS = (webhooks.NotAJwt, webhooks.InvalidWebhookSignature, webhooks.MalformedEvent)
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def public_keys() -> tuple[object, ...]:
    return webhooks.parse_public_keys(default_keys().public_text)


# -- the webhook envelope ------------------------------------------------------------------------------------

ids = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=60)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@PROPERTY_SETTINGS
@given(body=st.one_of(st.text(max_size=400), st.binary(max_size=400).map(lambda b: b.decode("latin-1"))))
def test_any_body_is_an_envelope_or_one_of_the_three_documented_rejections(body: str) -> None:
    figures.add("properties", webhook_bodies=1)
    try:
        webhooks.verify_webhook(body, public_keys())  # type: ignore[arg-type]
    except REJECTIONS:
        return


@PROPERTY_SETTINGS
@given(
    kind=st.sampled_from(KINDS),
    event_id=ids,
    request_id=ids,
    sequence=st.one_of(st.none(), st.integers(min_value=0, max_value=2**40), st.integers(0, 10**6).map(str)),
    data_as_object=st.booleans(),
    extra=st.dictionaries(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8), json_values, max_size=3),
)
def test_a_genuine_event_round_trips_through_verification_and_parsing(
    kind: str, event_id: str, request_id: str, sequence: int | str | None, data_as_object: bool, extra: dict[str, object]
) -> None:
    figures.add("properties", webhook_events=1)
    entity = opr_entity(request_id, status="PAID" if kind == "paid" else "UNPAID")
    inner = {**extra, **domain_event(kind, entity, event_id=event_id, sequence=sequence)}
    wrapped = envelope(EVENT_TYPE_PREFIX + kind, inner)
    claims = claims_for(wrapped)
    if data_as_object:  # Wix's docs show ``data`` as an object, its SDK as a string: both must read
        claims["data"] = wrapped
    parsed = webhooks.verify_webhook(sign(claims, default_keys()), public_keys())  # type: ignore[arg-type]
    event = webhooks.parse_domain_event(parsed)
    assert parsed.kind == kind and event.id == event_id and event.entity_id == request_id
    assert event.entity_event_sequence == (int(sequence) if sequence is not None else None)
    assert event.entity is not None and event.entity.id == request_id


@PROPERTY_SETTINGS
@given(position=st.integers(min_value=0), replacement=st.sampled_from(string.ascii_letters + string.digits + "-_."), data=st.data())
def test_any_change_to_a_genuine_token_is_refused(position: int, replacement: str, data: st.DataObject) -> None:
    figures.add("properties", tampered_tokens=1)
    token = _genuine_token()
    index = position % len(token)
    assume(token[index] != replacement)
    tampered = token[:index] + replacement + token[index + 1 :]
    try:
        parsed = webhooks.verify_webhook(tampered, public_keys())  # type: ignore[arg-type]
    except (webhooks.NotAJwt, webhooks.InvalidWebhookSignature):
        return
    # base64url's last character carries spare bits: a change there can decode to the very same bytes.
    assert parsed == webhooks.verify_webhook(token, public_keys())  # type: ignore[arg-type]


@cache
def _genuine_token() -> str:
    inner = domain_event("paid", opr_entity("req-1", status="PAID"), event_id="evt-1", sequence=3)
    return sign(claims_for(envelope(EVENT_TYPE_PREFIX + "paid", inner), expires_in=10 * 365 * 86400), default_keys())


# -- the reminder schedule -----------------------------------------------------------------------------------

ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))
step_durations = st.one_of(
    st.integers(1, 30).map(lambda d: f"P{d}D"),
    st.integers(1, 72).map(lambda h: f"PT{h}H"),
    st.integers(1, 4).map(lambda w: f"P{w}W"),
    st.integers(1, 600).map(lambda m: f"PT{m}M"),
)


@st.composite
def cadences(draw: st.DrawFn) -> list[str]:
    """Strictly increasing ISO-8601 steps, as the API accepts them."""
    steps = draw(st.lists(step_durations, min_size=1, max_size=6))
    unique = sorted({parse_duration(s): s for s in steps}.items())
    return [text for _, text in unique]


minutes = st.times().map(lambda t: t.replace(microsecond=0, second=0))
quiet_hours = st.builds(QuietHours, start=minutes, end=minutes)


@PROPERTY_SETTINGS
@given(
    created_at=moments,
    elapsed=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    schedule=cadences(),
    first_step=st.integers(0, 6),
    max_reminders=st.integers(0, 8),
    expires_in=st.one_of(st.none(), st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=90))),
    quiet=quiet_hours,
    zone_name=st.sampled_from(ZONES),
)
def test_the_next_reminder_is_the_first_step_still_ahead_outside_quiet_hours_and_before_expiry(
    created_at: datetime,
    elapsed: timedelta,
    schedule: list[str],
    first_step: int,
    max_reminders: int,
    expires_in: timedelta | None,
    quiet: QuietHours,
    zone_name: str,
) -> None:
    figures.add("properties", reminder_schedules=1)
    now, tz = created_at + elapsed, ZoneInfo(zone_name)
    expires_at = created_at + expires_in if expires_in is not None else None
    found = next_reminder(
        created_at=created_at,
        schedule=schedule,
        first_step=first_step,
        max_reminders=max_reminders,
        now=now,
        expires_at=expires_at,
        quiet_hours=quiet,
        tz=tz,
    )
    steps = range(first_step, min(len(schedule), max_reminders))
    ahead = [step for step in steps if created_at + parse_duration(schedule[step]) > now]
    if found is None:
        # Nothing left ahead, or the first step ahead lands (after quiet hours) at or after the expiry.
        assert not ahead or (expires_at is not None and quiet.move_out(created_at + parse_duration(schedule[ahead[0]]), tz) >= expires_at)
        return
    assert found.step == ahead[0]  # the first step still ahead: missed steps are skipped, never burst-sent
    planned = created_at + parse_duration(schedule[found.step])
    assert found.due_at >= planned and found.due_at > now
    assert found.due_at - planned <= timedelta(hours=25)  # a quiet window is less than a day (+ a DST hour)
    assert not quiet.contains(found.due_at.astimezone(tz).time().replace(tzinfo=None)), found.due_at.astimezone(tz)
    assert expires_at is None or found.due_at < expires_at


@PROPERTY_SETTINGS
@given(at=moments, quiet=quiet_hours, zone_name=st.sampled_from(ZONES))
def test_moving_out_of_quiet_hours_is_idempotent_and_only_ever_later(at: datetime, quiet: QuietHours, zone_name: str) -> None:
    figures.add("properties", quiet_hour_moves=1)
    tz = ZoneInfo(zone_name)
    moved = quiet.move_out(at, tz)
    assert moved >= at
    assert quiet.move_out(moved, tz) == moved
    if not quiet.contains(at.astimezone(tz).time().replace(tzinfo=None)):
        assert moved == at


def test_quiet_hours_of_equal_start_and_end_mean_none() -> None:
    assert not QuietHours(time(8), time(8)).contains(time(8))
    assert json.dumps(ZONES[:1])  # the zone list is not empty (tzdata is installed)


# -- inputs from strangers -----------------------------------------------------------------------------------

hostile = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(categories=["Nd", "Cc", "Zl", "Zp", "Cf", "Sm"]), max_size=30),
    st.integers(min_value=1, max_value=5000).map(lambda n: "9" * n),
    st.integers(min_value=1, max_value=5000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=200, max_value=20_000).map(lambda n: "x" * n),
    st.from_regex(r"\+?[0-9 ()\-]{0,30}", fullmatch=True),
    st.from_regex(r"[a-z.+,<>\"]{0,20}@[a-z\-.]{0,20}", fullmatch=True),
)


@PROPERTY_SETTINGS
@given(text=hostile)
def test_a_phone_is_e164_ascii_or_refused_with_a_reason_never_another_error(text: str) -> None:
    figures.add("properties", phones=1)
    try:
        phone = parse_phone(text)
    except ContactRefused:
        return
    assert phone.isascii() and phone.startswith("+") and phone[1:].isdigit() and len(phone) <= 16


@PROPERTY_SETTINGS
@given(text=hostile)
def test_an_email_is_a_plain_ascii_address_or_refused_never_another_error(text: str) -> None:
    figures.add("properties", emails=1)
    try:
        email = parse_email(text)
    except ContactRefused:
        return
    assert email.isascii() and email.count("@") == 1 and not any(c in email for c in ' <>,"\r\n\x00')


@PROPERTY_SETTINGS
@given(text=hostile)
def test_an_amount_is_an_ascii_decimal_or_a_value_error(text: str) -> None:
    figures.add("properties", amounts=1)
    try:
        amount = parse_amount_text(text)
    except ValueError:
        return
    assert text.isascii() and amount.is_finite() and amount >= 0 and str(amount) == text


@PROPERTY_SETTINGS
@given(text=hostile)
def test_a_duration_is_bounded_or_a_value_error(text: str) -> None:
    figures.add("properties", durations=1)
    try:
        duration = parse_duration(text)
    except ValueError:
        return
    assert timedelta(0) < duration <= timedelta(days=366)


@PROPERTY_SETTINGS
@given(
    text=st.one_of(
        hostile,
        st.recursive(st.just("1"), lambda inner: inner.map(lambda s: f"[{s}]") | inner.map(lambda s: f'{{"a": {s}}}'), max_leaves=200),
    )
)
def test_untrusted_json_is_read_or_refused_as_unreadable_never_recursed_into(text: str) -> None:
    figures.add("properties", json_texts=1)
    try:
        safe_json.loads(text)
    except json.JSONDecodeError:
        return


@PROPERTY_SETTINGS
@given(
    field=st.sampled_from(["orderId", "externalId", "title", "description", "amount"]),
    value=st.one_of(hostile, st.integers(), st.floats(allow_nan=True), st.none(), st.lists(st.text(max_size=3), max_size=3)),
)
def test_a_create_body_with_any_value_in_any_field_validates_or_names_the_field(field: str, value: object) -> None:
    figures.add("properties", create_bodies=1)
    body = {"orderId": "order-1", "externalId": "inv-1", "title": "Balance due", field: value}
    try:
        parsed = CreatePaymentRequestInput.model_validate(body)
    except ValidationError as refused:
        assert {str(error["loc"][0]) for error in refused.errors()} <= {field, "orderId", "externalId", "title"}
        return
    for text in (parsed.order_id, parsed.external_id, parsed.title, parsed.description or ""):
        assert not any(unicodedata.category(c) == "Cc" for c in text)
