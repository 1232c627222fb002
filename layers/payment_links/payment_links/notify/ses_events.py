"""SES's event publishing, as EventBridge delivers it (``source: aws.ses``): what a bounce, a complaint or a delivery
of one of our e-mails says, read into ``EmailFeedback``. The models take only the fields we use and ignore the rest
(SES adds fields); the addresses are used to find what to suppress, and never logged."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from payment_links.notify.mime import TAG_REQUEST, TAG_SITE, TAG_STEP

BOUNCE = "Bounce"
COMPLAINT = "Complaint"
DELIVERY = "Delivery"
DETAIL_TYPES = {"Email Bounced": BOUNCE, "Email Complaint Received": COMPLAINT, "Email Delivered": DELIVERY}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Recipient(_Model):
    email_address: str = Field(alias="emailAddress", max_length=320)


class _Mail(_Model):
    message_id: str = Field(alias="messageId", max_length=200)
    timestamp: datetime
    tags: dict[str, list[str]] = Field(default_factory=dict)


class _Bounce(_Model):
    bounce_type: str = Field(alias="bounceType", max_length=40)  # Permanent, Transient, Undetermined
    bounce_sub_type: str = Field("", alias="bounceSubType", max_length=60)
    bounced_recipients: list[_Recipient] = Field(alias="bouncedRecipients", max_length=50)
    timestamp: datetime


class _Complaint(_Model):
    complained_recipients: list[_Recipient] = Field(alias="complainedRecipients", max_length=50)
    complaint_feedback_type: str = Field("", alias="complaintFeedbackType", max_length=60)
    timestamp: datetime


class _Delivery(_Model):
    recipients: list[str] = Field(max_length=50)
    timestamp: datetime


class SesEvent(_Model):
    event_type: Literal["Bounce", "Complaint", "Delivery"] = Field(alias="eventType")
    mail: _Mail
    bounce: _Bounce | None = None
    complaint: _Complaint | None = None
    delivery: _Delivery | None = None


class EmailFeedback(BaseModel):
    """One SES event about one of our messages."""

    kind: Literal["Bounce", "Complaint", "Delivery"]
    message_id: str
    recipients: list[str]
    undeliverable: bool  # a permanent bounce or a complaint: never e-mail these addresses again
    reason: str  # BOUNCE_PERMANENT:General, BOUNCE_TRANSIENT:MailboxFull, COMPLAINT:abuse, DELIVERED
    at: datetime
    request_id: str | None = None
    instance_id: str = ""
    step: int | None = None


def read_event(event: dict[str, Any]) -> EmailFeedback:
    """An EventBridge event of SES (``detail`` is SES's event record); ValueError if it is not one we handle."""
    detail = SesEvent.model_validate(event.get("detail") or {})
    tags = {name: values[0] for name, values in detail.mail.tags.items() if values}
    common: dict[str, Any] = {
        "message_id": detail.mail.message_id,
        "request_id": tags.get(TAG_REQUEST) or None,
        "instance_id": tags.get(TAG_SITE, ""),
        "step": int(tags[TAG_STEP]) if tags.get(TAG_STEP, "").isdigit() and tags[TAG_STEP] != "0" else None,
    }
    if detail.event_type == BOUNCE and detail.bounce is not None:
        bounce = detail.bounce
        permanent = bounce.bounce_type == "Permanent"
        return EmailFeedback(
            kind=BOUNCE,
            recipients=[r.email_address for r in bounce.bounced_recipients],
            undeliverable=permanent,
            reason=f"BOUNCE_{bounce.bounce_type.upper()}:{bounce.bounce_sub_type or 'General'}",
            at=bounce.timestamp,
            **common,
        )
    if detail.event_type == COMPLAINT and detail.complaint is not None:
        complaint = detail.complaint
        return EmailFeedback(
            kind=COMPLAINT,
            recipients=[r.email_address for r in complaint.complained_recipients],
            undeliverable=True,
            reason=f"COMPLAINT:{complaint.complaint_feedback_type or 'unspecified'}",
            at=complaint.timestamp,
            **common,
        )
    if detail.event_type == DELIVERY and detail.delivery is not None:
        return EmailFeedback(
            kind=DELIVERY,
            recipients=detail.delivery.recipients,
            undeliverable=False,
            reason="DELIVERED",
            at=detail.delivery.timestamp,
            **common,
        )
    raise ValueError(f"an SES {detail.event_type} event without its {detail.event_type.lower()} record")
