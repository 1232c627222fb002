"""Delivering a payment link on each channel and recording the outcome of every send.

A failed send never raises out of here: it becomes a FAILED notification on the record, so the
request that was created is kept and the link can be resent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from payment_links.config import Settings
from payment_links.domain.contacts import EMAIL, SMS
from payment_links.domain.payment_request import SEND_FAILED, SEND_SENT, SEND_SKIPPED, Notification, PaymentRequest
from payment_links.rate_limit import TokenBucket
from payment_links.tenancy import THE_SITE, Site

if TYPE_CHECKING:
    from payment_links.messages.render import Occasion

logger = Logger(child=True)

# Error codes of SES v2 and SNS that mean "the account's sending rate or quota, for now": the send is retried
# by a later run, never counted against the request (SDK retries with backoff come first: aws.py).
THROTTLED_CODES = frozenset(
    {"TooManyRequestsException", "Throttling", "ThrottlingException", "ThrottledException", "LimitExceededException"}
)
THROTTLED = frozenset({"THROTTLED"})  # the reason a throttled send is recorded with


class Notifier:
    def __init__(
        self, ses: Any, sns: Any, settings: Settings, send_rates: Mapping[str, TokenBucket] | None = None, site: Site = THE_SITE
    ) -> None:
        self._ses = ses
        self._sns = sns
        self._settings = settings
        self._send_rates = dict(send_rates or {})
        self._site = site

    def with_settings(self, settings: Settings, site: Site | None = None) -> Notifier:
        """The same clients, sending as another site (its store name and sender; its id in the messages' tags)."""
        return Notifier(self._ses, self._sns, settings, self._send_rates, site or self._site)

    def rate_limited(self, send_rates: Mapping[str, TokenBucket]) -> Notifier:
        """The same, each send first taking a token of its channel's bucket (this process's share of the rate)."""
        return Notifier(self._ses, self._sns, self._settings, send_rates, self._site)

    def send(
        self,
        record: PaymentRequest,
        url: str,
        kind: str,
        channels: list[str],
        now: datetime,
        unsubscribe_url: Callable[[PaymentRequest], str | None] | None = None,
        step: int | None = None,
        final: bool = False,
    ) -> list[Notification]:
        """Send on each channel; ``step`` (1-based) and ``final`` say which reminder this is (its wording)."""
        # Jinja2, Babel and the catalogs load with the first message, not at every cold start (get, list, void).
        from payment_links.messages.render import Occasion

        occasion = Occasion(kind, step, final)
        results = []
        for channel in channels:
            sent = Sent()
            try:
                message_id = self._send_one(record, url, occasion, channel, unsubscribe_url, sent)
            except _Unreachable as exc:
                results.append(Notification(channel=channel, kind=kind, step=step, status=SEND_SKIPPED, at=now, reason=str(exc)))
                continue
            except (ClientError, BotoCoreError) as exc:
                reason = exc.response["Error"].get("Code", "Error") if isinstance(exc, ClientError) else type(exc).__name__
                reason = "THROTTLED" if reason in THROTTLED_CODES else reason
                logger.warning("payment link send failed", extra={"channel": channel, "kind": kind, "reason": reason})
                results.append(Notification(channel=channel, kind=kind, step=step, status=SEND_FAILED, at=now, reason=reason))
                continue
            logger.info("payment link sent", extra={"channel": channel, "kind": kind, "stage": sent.stage, "message_id": message_id})
            results.append(
                Notification(
                    channel=channel,
                    kind=kind,
                    step=step,
                    stage=sent.stage,
                    locale=sent.locale,
                    segments=sent.segments,
                    status=SEND_SENT,
                    message_id=message_id,
                    at=now,
                )
            )
        return results

    def sms_opted_out(self, phone: str) -> bool:
        response = self._sns.check_if_phone_number_is_opted_out(phoneNumber=phone)
        return bool(response.get("isOptedOut"))

    def _send_one(
        self,
        record: PaymentRequest,
        url: str,
        occasion: Occasion,
        channel: str,
        unsubscribe_url: Callable[[PaymentRequest], str | None] | None,
        sent: Sent,
    ) -> str:
        from payment_links.messages.render import render_email, render_sms
        from payment_links.notify.mime import email_tags, mime_message

        if self._settings.link_mode == "TRACKED":  # our /l/{token}: counts the click, then Wix's page (link_token)
            from payment_links.link_token import LinkClaim, tracked_url

            url = tracked_url(LinkClaim(record.id, channel, occasion.kind, occasion.step, self._site), self._settings) or url
        bucket = self._send_rates.get(channel)
        if channel == EMAIL:
            if not record.customer.email:
                raise _Unreachable("no e-mail address")
            email = render_email(record, url, occasion, self._settings, unsubscribe_url(record) if unsubscribe_url else None)
            sent.stage, sent.locale = email.stage, email.locale
            # Raw MIME rather than SES's Simple content: one multipart/alternative message whose headers (RFC 8058's
            # List-Unsubscribe pair on reminders) arrive exactly as built, at SES and in moto's outbox alike.
            # The tags (request, site, step) come back in SES's bounce, complaint and delivery events (delivery_events).
            tags = email_tags(record, occasion, self._settings, self._site)
            raw = mime_message(email, self._settings.sender_email, record.customer.email, self._settings.store_name, tags)
            kwargs: dict[str, Any] = {
                "FromEmailAddress": self._settings.sender_email,
                "Destination": {"ToAddresses": [record.customer.email]},
                "Content": {"Raw": {"Data": raw}},
            }
            if self._settings.ses_configuration_set:
                kwargs["ConfigurationSetName"] = self._settings.ses_configuration_set
            if bucket is not None:
                bucket.acquire()
            return str(self._ses.send_email(**kwargs)["MessageId"])
        if channel == SMS:
            if not record.customer.phone:
                raise _Unreachable("no phone number")
            attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
            if self._settings.sms_sender_id:
                attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._settings.sms_sender_id}
            message = render_sms(record, url, occasion, self._settings)
            sent.stage, sent.locale, sent.segments = message.stage, message.locale, message.segments.count
            if message.segments.count > self._settings.sms_max_segments:
                raise _Unreachable(
                    f"SMS_TOO_LONG: {message.segments.count} {message.segments.encoding} segments, over SmsMaxSegments"
                    f" ({self._settings.sms_max_segments})"
                )
            if bucket is not None:
                bucket.acquire()
            published = self._sns.publish(PhoneNumber=record.customer.phone, Message=message.text, MessageAttributes=attributes)
            return str(published["MessageId"])
        raise _Unreachable(f"unknown channel {channel}")


@dataclass
class Sent:
    """What rendering decided about one send, for its notification."""

    stage: str | None = None
    locale: str | None = None
    segments: int | None = None


class _Unreachable(Exception):
    """The customer cannot be reached on this channel; recorded as SKIPPED, not as a failure."""
