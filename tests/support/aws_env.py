"""moto's in-process AWS with the template's tables, the secrets and a verified SES sender."""

from __future__ import annotations

import email
import email.policy
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import boto3
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from local.template import create_tables
from tests.support.webhook_signing import default_keys


def reset_process_state(keep_in_process_clients: bool = False) -> None:
    """Forget every per-process cache the functions keep (settings, clients, secrets, idempotency).

    ``keep_in_process_clients``: keep the product's boto3 clients when they talk to AWS's own endpoints, which
    in-process moto intercepts whatever test is running (building a client costs ~60 ms of CPU, several per
    test); clients pointed elsewhere (moto's server, the local stack) are always rebuilt."""
    from payment_links import aws as aws_clients
    from payment_links.config import reset_settings
    from payment_links.deps import reset_dependencies
    from payment_links.idempotency import reset_idempotency
    from payment_links.secrets import clear_secret_cache
    from payment_links.wix.client import reset_http_client

    reset_settings()
    reset_dependencies()
    if not (keep_in_process_clients and _product_clients_use_aws_endpoints()):
        aws_clients.reset_clients()
    reset_idempotency()
    clear_secret_cache()
    reset_http_client()


def _product_clients_use_aws_endpoints() -> bool:
    from payment_links import aws as aws_clients

    if os.environ.get("AWS_ENDPOINT_URL") or aws_clients.client.cache_info().currsize == 0:
        return False
    return str(aws_clients.client("dynamodb").meta.endpoint_url).endswith(".amazonaws.com")


@lru_cache(maxsize=1)
def _test_session() -> boto3.session.Session:
    """The tests' own clients: a session of their own (not the product's default one, which suites may hook)."""
    return boto3.session.Session()


@cache
def moto_client(service: str) -> Any:
    """One client per service for the whole run: in-process moto intercepts it in whichever test uses it."""
    return _test_session().client(service)  # type: ignore[call-overload]


@cache
def _dynamodb_resource() -> Any:
    return _test_session().resource("dynamodb")


@dataclass(frozen=True)
class SentEmail:
    id: str
    subject: str
    text: str
    html: str
    destinations: dict[str, list[str]]
    headers: dict[str, str]

    @property
    def body(self) -> str:
        return self.text + "\n" + self.html

    @classmethod
    def of(cls, message: Any) -> SentEmail:
        parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
        text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
        return cls(
            id=message.id,
            subject=str(parsed["Subject"]),
            text=text.get_content() if text else "",
            html=html.get_content() if html else "",
            destinations={"ToAddresses": list(dict.fromkeys(message.destinations))},  # moto adds the To header again
            headers={name: str(value) for name, value in parsed.items()},
        )


@dataclass
class AwsEnv:
    region: str

    def sent_emails(self) -> list[SentEmail]:
        """Every e-mail sent, parsed from the raw MIME message the product hands to SES."""
        return [SentEmail.of(message) for message in ses_backends[DEFAULT_ACCOUNT_ID][self.region].sent_messages]

    def sent_sms(self) -> list[tuple[str, str]]:
        """(phone number, message) of every SMS published."""
        backend = sns_backends[DEFAULT_ACCOUNT_ID][self.region]
        return [(number, message) for _id, (number, message) in backend.sms_messages.items()]

    def table(self) -> Any:
        return _dynamodb_resource().Table(os.environ["TABLE_NAME"])

    def state_items(self) -> list[dict[str, Any]]:
        """The table's items that hold state: without the Wix quota's per-slot counters (payment_links.quota)."""
        return [item for item in self.table().scan()["Items"] if not str(item["pk"]).startswith("QUOTA#")]


@contextmanager
def start_moto() -> Iterator[AwsEnv]:
    with mock_aws():
        region = os.environ["AWS_DEFAULT_REGION"]
        create_tables(
            moto_client("dynamodb"),
            {"PaymentRequestsTable": os.environ["TABLE_NAME"], "IdempotencyTable": os.environ["IDEMPOTENCY_TABLE_NAME"]},
        )
        secrets = moto_client("secretsmanager")
        secrets.create_secret(Name=os.environ["WIX_CREDENTIALS_SECRET"], SecretString=json.dumps({"apiKey": "test-api-key"}))
        secrets.create_secret(Name=os.environ["UNSUBSCRIBE_SECRET"], SecretString="unsubscribe-signing-key-for-tests")
        # The public half of tests.support.webhook_signing.default_keys(); tests may put_secret_value another.
        secrets.create_secret(Name=os.environ["WIX_WEBHOOK_KEYS_SECRET"], SecretString=default_keys().public_text)
        moto_client("sesv2").create_email_identity(EmailIdentity=os.environ["SENDER_EMAIL"])
        moto_client("events").create_event_bus(Name=os.environ["EVENT_BUS_NAME"])
        yield AwsEnv(region)
