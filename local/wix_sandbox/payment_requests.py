"""Order payment requests: every state change the sandbox allows, and the events each one emits.

Each operation checks and changes records under the state lock, so two concurrent calls can never both pay or
void the same request; events are handed to the publisher after the lock is released. Lifecycle (wix-api.md
§1.1): UNPAID → PAID | EXPIRED | VOIDED; only UNPAID can be updated or voided; anything but PAID can be deleted.

Every request belongs to the site of the order it was made for. The Wix API operations take the caller's
``instance_id`` and treat another site's request exactly like a missing one (404, no hint it exists); None is the
sandbox itself (control routes, the payment page, the clock), which reaches every site. Events carry the
request's site.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from .errors import FieldViolation, ValidationFailed, WixError, not_found
from .events import EntityEvent
from .formats import decimals, format_timestamp, new_id, parse_timestamp, price, utc_now
from .orders import apply_payment, find_order
from .query import QueryPage, QueryPlan, run_query
from .state import SandboxState
from .validation import NewPaymentRequest, PaymentRequestChanges

UNPAID, PAID, EXPIRED, VOIDED = "UNPAID", "PAID", "EXPIRED", "VOIDED"


def page_not_found() -> WixError:
    return WixError(
        428,
        "ORDER_PAYMENT_REQUEST_PAGE_NOT_FOUND",
        "The site has no published Payment Request Page; add and publish it in the site editor",
    )


def not_payable(entity: dict[str, Any]) -> WixError:
    return WixError(409, "NOT_PAYABLE", f"Payment request is {entity['status']}, only UNPAID can be paid", {"status": entity["status"]})


class PaymentRequestService:
    """The sandbox's Order Payment Requests, as the API, the control routes and the payment page see them."""

    def __init__(
        self,
        state: SandboxState,
        publish: Callable[[EntityEvent], None],
        *,
        app_id: str,
        payment_url: Callable[[str], str],
    ):
        self.state = state
        self.publish = publish
        self.app_id = app_id
        self.payment_url_for = payment_url

    # -- Wix API operations ----------------------------------------------------------------------------------

    def create(self, new: NewPaymentRequest, instance_id: str | None = None) -> dict[str, Any]:
        """Create for an order of the caller's site (default: the home site); the request joins that site."""
        instance_id = instance_id or self.state.home_instance_id
        order = find_order(self.state, new.order_id, instance_id)
        places = decimals(order["currency"])
        if new.amount != new.amount.quantize(Decimal(1).scaleb(-places)):
            path = "orderPaymentRequest.amount.amount"
            raise ValidationFailed([FieldViolation(path, f"{path} has more decimal places than {order['currency']} ({places})", "FORMAT")])
        with self.state.lock:
            if not self._page_published(instance_id):
                raise page_not_found()
            now = utc_now()
            expired = new.expiration_date is not None and new.expiration_date <= now
            entity: dict[str, Any] = {
                "id": new_id(),
                "source": {"appId": new.app_id or self.app_id, "externalId": new.external_id},
                "status": EXPIRED if expired else UNPAID,
                "orderId": order["id"],
                "orderNumber": order["number"],
                "amount": price(new.amount, order["currency"]),
                "currency": order["currency"],
                "title": new.title,
            }
            if new.description is not None:
                entity["description"] = new.description
            if new.expiration_date is not None:
                entity["expirationDate"] = format_timestamp(new.expiration_date)
            entity["extendedFields"] = new.extended_fields or {"namespaces": {}}
            entity["createdDate"] = entity["updatedDate"] = format_timestamp(now)
            if new.image is not None:
                entity["image"] = new.image
            entity["blockedPaymentMethods"] = new.blocked_payment_methods or []
            self.state.payment_requests[entity["id"]] = entity
            self.state.owners[entity["id"]] = self.state.owner_of(order["id"])
            self.state.allocate_position(entity["id"])
            events = [self._event("created", entity)]
            self.state.commit()
            result = copy.deepcopy(entity)
        self._publish(events)
        return result

    def get(self, request_id: str, instance_id: str | None = None) -> dict[str, Any]:
        with self.state.lock:
            return copy.deepcopy(self._find(request_id, instance_id))

    def update(self, request_id: str, changes: PaymentRequestChanges, instance_id: str | None = None) -> dict[str, Any]:
        with self.state.lock:
            entity = self._find(request_id, instance_id)
            if entity["status"] != UNPAID:
                raise WixError(
                    428,
                    f"CANNOT_UPDATE_{entity['status']}_ORDER_PAYMENT_REQUEST",
                    f"Cannot update a {entity['status']} order payment request",
                )
            if changes.amount is not None and changes.amount != Decimal(entity["amount"]["amount"]):
                raise WixError(
                    428,
                    "CANNOT_UPDATE_ORDER_PAYMENT_REQUEST_AMOUNT",
                    "The amount of an order payment request cannot be changed; void it and create a new one",
                )
            entity.update(copy.deepcopy(changes.fields))
            entity["updatedDate"] = format_timestamp(utc_now())
            events = [self._event("updated", entity)]
            self.state.commit()
            result = copy.deepcopy(entity)
        self._publish(events)
        return result

    def delete(self, request_id: str, instance_id: str | None = None) -> None:
        with self.state.lock:
            entity = self._find(request_id, instance_id)
            if entity["status"] == PAID:
                raise WixError(428, "CANNOT_DELETE_PAID_ORDER_PAYMENT_REQUEST", "Cannot delete a PAID order payment request")
            del self.state.payment_requests[request_id]
            events = [self._event("deleted", entity)]  # before the owner goes: the event needs the site
            self.state.owners.pop(request_id, None)
            self.state.commit()
        self._publish(events)

    def query(self, plan: QueryPlan, instance_id: str | None = None) -> QueryPage:
        with self.state.lock:
            visible = [e for e in self.state.payment_requests.values() if self.state.belongs_to(e["id"], instance_id)]
            entities = copy.deepcopy(visible)
            positions = dict(self.state.positions)
        return run_query(plan, entities, positions)

    def payment_url(self, request_id: str, instance_id: str | None = None) -> str:
        with self.state.lock:
            self._find(request_id, instance_id)
            if not self._page_published(self.state.owner_of(request_id)):
                raise page_not_found()
        return self.payment_url_for(request_id)

    def void(self, request_id: str, instance_id: str | None = None) -> None:
        with self.state.lock:
            entity = self._find(request_id, instance_id)
            if entity["status"] == VOIDED:
                return  # voiding twice is a documented no-op
            if entity["status"] != UNPAID:
                raise WixError(
                    428, f"CANNOT_VOID_{entity['status']}_ORDER_PAYMENT_REQUEST", f"Cannot void a {entity['status']} order payment request"
                )
            events = [self._transition(entity, VOIDED, "voided")]
            self.state.commit()
        self._publish(events)

    # -- what the buyer and the clock do ---------------------------------------------------------------------

    def pay(self, request_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The buyer pays on the payment page: PAID, the order's balance drops, ``paid`` is pushed."""
        events: list[EntityEvent] = []
        try:
            with self.state.lock:
                entity = self._find(request_id)
                if entity["status"] == UNPAID and self._is_past_expiry(entity, utc_now()):
                    events.append(self._transition(entity, EXPIRED, "expired"))
                    self.state.commit()
                if entity["status"] != UNPAID:
                    raise not_payable(entity)
                order = find_order(self.state, entity["orderId"])
                entity["paymentGatewayOrderId"] = new_id()
                events.append(self._transition(entity, PAID, "paid"))
                apply_payment(order, Decimal(entity["amount"]["amount"]))
                self.state.commit()
                return copy.deepcopy(entity), copy.deepcopy(order)
        finally:
            self._publish(events)

    def expire(self, request_id: str) -> dict[str, Any]:
        with self.state.lock:
            entity = self._find(request_id)
            if entity["status"] != UNPAID:
                raise WixError(
                    409, "NOT_EXPIRABLE", f"Payment request is {entity['status']}, only UNPAID can expire", {"status": entity["status"]}
                )
            events = [self._transition(entity, EXPIRED, "expired")]
            self.state.commit()
            result = copy.deepcopy(entity)
        self._publish(events)
        return result

    def expire_due(self, now: datetime | None = None) -> int:
        """Expire every UNPAID request whose expiration date has passed (Wix checks periodically too)."""
        now = now or utc_now()
        with self.state.lock:
            due = [e for e in self.state.payment_requests.values() if e["status"] == UNPAID and self._is_past_expiry(e, now)]
            events = [self._transition(entity, EXPIRED, "expired") for entity in due]
            if events:
                self.state.commit()
        self._publish(events)
        return len(events)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _find(self, request_id: str, instance_id: str | None = None) -> dict[str, Any]:
        entity = self.state.payment_requests.get(request_id)
        if entity is None or not self.state.belongs_to(request_id, instance_id):
            raise not_found("ORDER_PAYMENT_REQUEST_NOT_FOUND", "Order payment request", request_id)
        return entity

    def _page_published(self, instance_id: str) -> bool:
        site = self.state.site(instance_id)
        return site is not None and site.payment_page_published

    def _transition(self, entity: dict[str, Any], status: str, slug: str) -> EntityEvent:
        entity["status"] = status
        entity["updatedDate"] = format_timestamp(utc_now())
        return self._event(slug, entity)

    def _event(self, slug: str, entity: dict[str, Any]) -> EntityEvent:
        # The snapshot and sequence are taken under the lock, so they match the order changes happened in.
        return EntityEvent(
            slug=slug,
            entity=copy.deepcopy(entity),
            sequence=self.state.next_entity_sequence(entity["id"]),
            instance_id=self.state.owner_of(entity["id"]),
        )

    @staticmethod
    def _is_past_expiry(entity: dict[str, Any], now: datetime) -> bool:
        expiration = entity.get("expirationDate")
        return expiration is not None and parse_timestamp(expiration) <= now

    def _publish(self, events: list[EntityEvent]) -> None:
        for event in events:
            self.publish(event)
