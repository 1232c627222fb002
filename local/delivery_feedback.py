"""What the providers report after a send, for the local stack (and the tests): SES's bounce, complaint and delivery
events as SES publishes them to EventBridge (from a message moto kept, its tags read from the ``X-SES-MESSAGE-TAGS``
header as SES reads them), and SNS's SMS delivery status log as a CloudWatch Logs subscription delivers it. moto
publishes neither, so ``POST /_local/bounce`` makes them here."""

from __future__ import annotations

import base64
import email
import email.policy
import gzip
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from payment_links.notify.mime import tags_from_header

DETAIL_TYPES = {
    "Permanent": "Email Bounced",
    "Transient": "Email Bounced",
    "Complaint": "Email Complaint Received",
    "Delivery": "Email Delivered",
}
KINDS = tuple(DETAIL_TYPES)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ses_event(
    kind: str,
    message_id: str,
    raw_data: str,
    recipient: str,
    configuration_set: str,
    region: str = "us-east-1",
    account: str = "123456789012",
    at: datetime | None = None,
) -> dict[str, Any]:
    """The EventBridge event SES publishes for one recipient of one sent message (``kind``: one of KINDS)."""
    at = at or datetime.now(UTC)
    parsed = email.message_from_string(raw_data, policy=email.policy.default)
    tags = {name: [value] for name, value in tags_from_header(str(parsed.get("X-SES-MESSAGE-TAGS", ""))).items()}
    tags["ses:configuration-set"] = [configuration_set]
    mail = {
        "timestamp": _iso(at),
        "source": str(parsed.get("From", "")),
        "sendingAccountId": account,
        "messageId": message_id,
        "destination": [recipient],
        "headersTruncated": False,
        "tags": tags,
    }
    detail: dict[str, Any] = {
        "eventType": "Delivery" if kind == "Delivery" else "Complaint" if kind == "Complaint" else "Bounce",
        "mail": mail,
    }
    if kind in ("Permanent", "Transient"):
        detail["bounce"] = {
            "feedbackId": str(uuid.uuid4()),
            "bounceType": kind,
            "bounceSubType": "General" if kind == "Permanent" else "MailboxFull",
            "bouncedRecipients": [{"emailAddress": recipient, "action": "failed", "status": "5.1.1" if kind == "Permanent" else "4.2.2"}],
            "timestamp": _iso(at),
            "reportingMTA": "dsn; local.test",
        }
    elif kind == "Complaint":
        detail["complaint"] = {
            "feedbackId": str(uuid.uuid4()),
            "complainedRecipients": [{"emailAddress": recipient}],
            "complaintFeedbackType": "abuse",
            "timestamp": _iso(at),
        }
    else:
        detail["delivery"] = {"timestamp": _iso(at), "recipients": [recipient], "processingTimeMillis": 900, "smtpResponse": "250 ok"}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPES[kind],
        "source": "aws.ses",
        "account": account,
        "time": _iso(at),
        "region": region,
        "resources": [f"arn:aws:ses:{region}:{account}:configuration-set/{configuration_set}"],
        "detail": detail,
    }


# SNS's provider responses the local route sends for a failed SMS (docs: SNS SMS delivery status logs).
SMS_RESPONSES = {"Permanent": "Invalid phone number", "Transient": "Phone carrier is currently unreachable/unavailable"}


def sms_failure_event(phone: str, kind: str, message_id: str, region: str = "us-east-1", account: str = "123456789012") -> dict[str, Any]:
    """The CloudWatch Logs subscription event carrying SNS's delivery status log of one failed SMS."""
    at = datetime.now(UTC)
    log = {
        "notification": {"messageId": message_id, "timestamp": at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]},
        "delivery": {
            "mnc": 0,
            "destination": phone,
            "priceInUSD": 0.00645,
            "smsType": "Transactional",
            "mcc": 0,
            "providerResponse": SMS_RESPONSES[kind],
            "dwellTimeMs": 1420,
        },
        "status": "FAILURE",
    }
    group = f"sns/{region}/{account}/DirectPublishToPhoneNumber/Failure"
    batch = {
        "messageType": "DATA_MESSAGE",
        "owner": account,
        "logGroup": group,
        "logStream": str(uuid.uuid4()),
        "subscriptionFilters": ["SmsFailureLogsSubscription"],
        "logEvents": [{"id": str(uuid.uuid4().int)[:56], "timestamp": int(at.timestamp() * 1000), "message": json.dumps(log)}],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(batch).encode())).decode()}}
