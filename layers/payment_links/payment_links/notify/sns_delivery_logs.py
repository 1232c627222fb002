"""SNS's SMS delivery status log, as a CloudWatch Logs subscription delivers it (``awslogs.data``: base64 of gzip
of JSON), read into ``SmsFailure``. The log group is the account's
``sns/<region>/<account>/DirectPublishToPhoneNumber/Failure`` (written once SMS delivery status logging is on for
the account). The number is used for its hash only and never logged."""

from __future__ import annotations

import base64
import gzip
import io
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# SNS's provider responses that will not change by retrying: the number itself cannot take our SMS.
PERMANENT_RESPONSES = (
    "invalid phone number",
    "phone has blocked sms",
    "phone is on a blocked list",
    "phone number is opted out",
    "destination phone number is not valid",
    "not a mobile number",
)
MAX_BYTES = 1_000_000  # a subscription batch is at most ~1 MB of logs; refuse anything that inflates beyond it


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Notification(_Model):
    message_id: str = Field(alias="messageId", max_length=200)
    timestamp: str = Field(max_length=40)


class _Delivery(_Model):
    destination: str = Field(max_length=40)
    provider_response: str = Field("", alias="providerResponse", max_length=500)


class _DeliveryLog(_Model):
    notification: _Notification
    delivery: _Delivery
    status: str = Field(max_length=20)


class SmsFailure(BaseModel):
    message_id: str
    destination: str
    reason: str  # SMS_FAILED_PERMANENT:Invalid phone number
    permanent: bool
    at: datetime


def read_failures(event: dict[str, Any]) -> list[SmsFailure]:
    """The failed deliveries in a CloudWatch Logs subscription event; ValueError when it is not one."""
    try:
        packed = base64.b64decode(event["awslogs"]["data"], validate=True)
        with gzip.GzipFile(fileobj=io.BytesIO(packed)) as stream:
            raw = stream.read(MAX_BYTES + 1)
        batch = json.loads(raw) if len(raw) <= MAX_BYTES else None
    except (KeyError, TypeError, ValueError, OSError, EOFError) as exc:
        raise ValueError("not a CloudWatch Logs subscription event") from exc
    if not isinstance(batch, dict) or batch.get("messageType") != "DATA_MESSAGE":
        return []  # CONTROL_MESSAGE (the subscription's own check) or too large
    failures = []
    for log_event in batch.get("logEvents") or []:
        try:
            log = _DeliveryLog.model_validate_json(str(log_event.get("message", "")))
        except ValueError:
            continue  # a line that is not a delivery status: not ours to act on
        if log.status != "FAILURE":
            continue
        response = log.delivery.provider_response
        permanent = any(marker in response.lower() for marker in PERMANENT_RESPONSES)
        failures.append(
            SmsFailure(
                message_id=log.notification.message_id,
                destination=log.delivery.destination,
                reason=f"SMS_FAILED_{'PERMANENT' if permanent else 'TRANSIENT'}:{response[:120] or 'unknown'}",
                permanent=permanent,
                at=datetime.fromtimestamp(int(log_event.get("timestamp") or 0) / 1000, UTC),
            )
        )
    return failures
