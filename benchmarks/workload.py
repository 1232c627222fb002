"""The events each benchmark sends, and the stored requests they act on (seeded in the tables and their mirrors).

Every timed event acts on a request of its own (a fresh order for each create, a fresh request for each resend
and webhook), so no iteration pays for the history an earlier one left behind.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import jwt

from benchmarks import data
from benchmarks.stack import BenchStack
from local.clock import format_event_time
from tests.support.lambda_runtime import api_event
from tests.support.webhook_signing import EVENT_TYPE_PREFIX, claims_for, domain_event, envelope

Event = dict[str, Any]
_sequence = itertools.count(1)


class Workload:
    def __init__(self, stack: BenchStack) -> None:
        self.stack = stack
        names = stack.deployment.physical_names("AWS::DynamoDB::Table")
        self.table = names["PaymentRequestsTable"]

    # -- stored requests --------------------------------------------------------------------------------------

    def seed(self, count: int) -> list[dict[str, Any]]:
        """Requests UNPAID at the sandbox and stored as the create function stores them, in both tables."""
        entities, items = [], []
        for _ in range(count):
            order_id = self.stack.add_order()
            entity = data.wix_request(self.stack, order_id, f"bench-{next(_sequence)}")
            entities.append(entity)
            items.append(data.item_of(data.record_for(entity)))
        for table in (self.table, self.stack.mirror_tables[self.table]):
            data.put_items(table, items)
        return entities

    # -- API events -------------------------------------------------------------------------------------------

    def create(self) -> Event:
        external_id = f"bench-create-{next(_sequence)}"
        body = {"orderId": self.stack.add_order(), "externalId": external_id, "title": "Balance due", "amount": "10.00"}
        return api_event("POST", "/payment-requests", body=body)

    @staticmethod
    def get(entity: dict[str, Any]) -> Event:
        return api_event("GET", f"/payment-requests/{entity['id']}")

    @staticmethod
    def list_by_order(entity: dict[str, Any]) -> Event:
        return api_event("GET", "/payment-requests", query={"orderId": entity["orderId"]})

    @staticmethod
    def void(entity: dict[str, Any]) -> Event:
        return api_event("POST", f"/payment-requests/{entity['id']}/void")

    @staticmethod
    def resend(entity: dict[str, Any]) -> Event:
        return api_event("POST", f"/payment-requests/{entity['id']}/resend", body={})

    @staticmethod
    def lost_link(entity: dict[str, Any]) -> Event:
        return api_event("POST", f"/orders/{entity['orderId']}/payment-requests/resend", body={})

    def click(self, entity: dict[str, Any]) -> Event:
        """A person following the tracked link of the request's first e-mail (LinkMode TRACKED)."""
        from payment_links.link_token import LinkClaim, make_token

        token = make_token(LinkClaim(entity["id"], "EMAIL", "INITIAL"), self._signing_key())
        return api_event("GET", f"/l/{token}", headers={"User-Agent": "Mozilla/5.0 (bench) Firefox/130.0"})

    def _signing_key(self) -> bytes:
        """The deployment's link-signing key, as the function reads it (the secret the template names)."""
        import boto3

        from local.moto_bootstrap import FAKE_CREDENTIALS

        name = self.stack.deployment.function_environment()["UNSUBSCRIBE_SECRET"]
        secrets = boto3.client("secretsmanager", endpoint_url=self.stack.moto.url, region_name="us-east-1", **FAKE_CREDENTIALS)
        return str(secrets.get_secret_value(SecretId=name)["SecretString"]).encode()

    def seed_stats(self, days: int, until: date) -> None:
        """``days`` days of a site's daily counters (as the store keeps them), in both tables."""
        items = []
        for back in range(days):
            day = until - timedelta(days=back)
            counters = {"created.count": 40, "created.amount.USD": 160000, "paid.count": 22, "paid.amount.USD": 88000}
            counters |= {f"sent.{c}.{s}": 30 for c in ("EMAIL", "SMS") for s in ("initial", "reminder-1", "reminder-2")}
            counters |= {f"paidBy.EMAIL.reminder-1.{k}": v for k, v in (("count", 9), ("amount.USD", 36000))}
            counters |= {f"ttp.{b}": 3 for b in range(6, 13)}
            items.append({"pk": "STATS#DAYS", "sk": f"DAY#{day.isoformat()}", **counters})
        for table in (self.table, self.stack.mirror_tables[self.table]):
            data.put_items(table, items)

    @staticmethod
    def stats(first: date, last: date) -> Event:
        return api_event("GET", "/stats", query={"from": first.isoformat(), "to": last.isoformat()})

    @staticmethod
    def unsubscribe_page() -> Event:
        return api_event("GET", "/unsubscribe/not-a-token", headers={"Accept": "text/html"})

    @staticmethod
    def sweep(at: datetime) -> Event:
        return {
            "version": "0",
            "id": f"bench-sweep-{next(_sequence)}",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": format_event_time(at),
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/bench-ResendFunctionReminderSweep"],
            "detail": {},
        }

    # -- webhooks ---------------------------------------------------------------------------------------------

    def signed(self, entity: dict[str, Any], kind: str = "paid") -> str:
        """A webhook body exactly as Wix signs it, with the sandbox's key (whose public half is in the secret).

        The event's news happens at the sandbox first (paid, expired, voided; its dispatcher is off), so the
        product's confirming Get finds what the event says, as it would at Wix."""
        self._happen_at_wix(entity["id"], kind)
        wire = {**entity, "status": {"paid": "PAID", "expired": "EXPIRED", "voided": "VOIDED"}.get(kind, entity["status"])}
        inner = domain_event(kind, wire, sequence=next(_sequence))
        claims = claims_for(envelope(EVENT_TYPE_PREFIX + kind, inner, "local-instance"), expires_in=3600)
        return jwt.encode(claims, self.stack.private_key, algorithm="RS256")

    def _happen_at_wix(self, request_id: str, kind: str) -> None:
        service = self.stack.sandbox.payment_requests
        try:
            if kind == "paid":
                service.pay(request_id)
            elif kind == "expired":
                service.expire(request_id)
            elif kind == "voided":
                service.void(request_id)
        except Exception:  # a request the sandbox does not hold (the "unknown request" route) or already final
            return

    def webhook(self, entity: dict[str, Any], kind: str = "paid") -> tuple[Event, tuple[str, str]]:
        """The API Gateway event, and what the floor needs to verify the same token."""
        token = self.signed(entity, kind)
        return self.webhook_from_token(token), (token, self.stack.public_key_pem)

    @staticmethod
    def webhook_from_token(token: str) -> Event:
        return api_event("POST", "/webhooks/wix", raw_body=token, headers={"Content-Type": "text/plain"})
