"""Who may receive a payment link on a resend: the one place of that rule.

A payment link shows the order's amount, number and the buyer's first name, so a resend goes only to contacts the
order or the stored request already has: the buyer's e-mail address, the billing and recipient phones, the contact
recorded at create. A ``customer`` in the body that names anything else is ``422 CONTACT_NOT_ON_ORDER``, unless the
deployment sets ``AllowContactOverride``: then it is a one-off send, never stored (reminders keep going to the
request's own contacts), recorded masked in the history, and greeted without the buyer's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from payment_links.deps import Dependencies
from payment_links.domain import errors
from payment_links.domain.contacts import Customer, mask_email, mask_phone, order_contacts, same_email
from payment_links.domain.payment_request import PaymentRequest
from payment_links.wix.models import Order


@dataclass(frozen=True)
class Recipient:
    """Whom one resend goes to. ``unknown_to_order`` lists (masked) the contacts sent to by override."""

    customer: Customer
    unknown_to_order: tuple[str, ...] = ()

    @property
    def is_override(self) -> bool:
        return bool(self.unknown_to_order)

    def history_detail(self) -> str:
        return "sent once to a contact the order does not have: " + ", ".join(self.unknown_to_order)


def recipient_for_resend(record: PaymentRequest, given: Customer | None, order: Callable[[], Order], deps: Dependencies) -> Recipient:
    """The contacts a resend of ``record`` goes to. ``given`` is the body's (already validated) customer; ``order``
    fetches the Wix order, called only when a given contact is not the request's own."""
    stored = record.customer
    if given is None or not (given.email or given.phone):
        if given is None:
            return Recipient(stored)
        language = {"locale": given.locale or stored.locale, "time_zone": given.time_zone or stored.time_zone}
        return Recipient(stored.model_copy(update=language))
    new_email = given.email if given.email and not same_email(given.email, stored.email) else None
    new_phone = given.phone if given.phone and given.phone != stored.phone else None
    unknown: list[tuple[str, str]] = []
    if new_email or new_phone:
        emails, phones = order_contacts(order(), deps.settings.sms_allowed_countries)
        if new_email and not any(same_email(new_email, known) for known in emails):
            unknown.append(("customer.email", mask_email(new_email) or "an e-mail address"))
        if new_phone and new_phone not in phones:
            unknown.append(("customer.phone", mask_phone(new_phone) or "a phone"))
    if unknown and not deps.settings.allow_contact_override:
        raise errors.ContactNotOnOrder(
            "A payment link is only sent to contacts the order or the payment request already has: "
            + " and ".join(field for field, _ in unknown)
            + " is not one of them.",
            details=[{"field": field} for field, _ in unknown],
        )
    customer = Customer(
        email=given.email or stored.email,
        phone=given.phone or stored.phone,
        # The buyer's name is never shown to an address the order does not know; the caller's own may be.
        name=given.name if unknown else (given.name or stored.name),
        locale=given.locale or stored.locale,
        time_zone=given.time_zone or stored.time_zone,
    )
    return Recipient(customer, tuple(masked for _, masked in unknown))
