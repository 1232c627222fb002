"""Domain errors. Each carries the contract's machine-readable code; ``payment_links.http`` maps codes to statuses."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, details: list[Any] | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.retry_after = retry_after


class ValidationFailed(DomainError):
    code = "VALIDATION_FAILED"


class PaymentRequestNotFound(DomainError):
    code = "PAYMENT_REQUEST_NOT_FOUND"


class OrderNotFound(DomainError):
    code = "ORDER_NOT_FOUND"


class NoUnpaidPaymentRequest(DomainError):
    code = "NO_UNPAID_PAYMENT_REQUEST"


class ExternalIdConflict(DomainError):
    code = "EXTERNAL_ID_CONFLICT"


class RequestInProgress(DomainError):
    code = "REQUEST_IN_PROGRESS"


class NotPayable(DomainError):
    code = "NOT_PAYABLE"


class OrderNotPayable(DomainError):
    code = "ORDER_NOT_PAYABLE"


class AmountExceedsBalance(DomainError):
    code = "AMOUNT_EXCEEDS_BALANCE"


class NoReachableChannel(DomainError):
    code = "NO_REACHABLE_CHANNEL"


class ContactNotOnOrder(DomainError):
    """A resend names a contact that neither the order nor the stored request has (see flows.recipients)."""

    code = "CONTACT_NOT_ON_ORDER"


class PaymentPageNotPublished(DomainError):
    code = "PAYMENT_PAGE_NOT_PUBLISHED"


class WixRefused(DomainError):
    """Wix refused a call for a reason we do not model more precisely (its code is in ``details``)."""

    code = "WIX_REJECTED"


class ResendCooldown(DomainError):
    code = "RESEND_COOLDOWN"


class WixUnavailable(DomainError):
    code = "WIX_UNAVAILABLE"


class ConfigurationError(DomainError):
    """The deployment is misconfigured (e.g. Wix refuses our credentials): the operator must act."""

    code = "WIX_AUTH_FAILED"


class InvalidSignature(DomainError):
    """A webhook body that does not verify as a token signed by the Wix app's key."""

    code = "INVALID_SIGNATURE"


class MalformedWebhook(DomainError):
    """A webhook body that is not a JWT, or a verified event we cannot read."""

    code = "MALFORMED_WEBHOOK"


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"


class EventNotConfirmed(DomainError):
    """A verified event claims a terminal status that Wix does not show yet: answered 503 so Wix delivers it again."""

    code = "EVENT_NOT_CONFIRMED"


class WebhookNotConfigured(DomainError):
    """No usable Wix webhook public key is configured: the operator must set it (Wix retries meanwhile)."""

    code = "WEBHOOK_NOT_CONFIGURED"


class InvalidUnsubscribeLink(DomainError):
    """An unsubscribe link whose token is forged, altered or truncated."""

    code = "INVALID_UNSUBSCRIBE_LINK"


class SiteNotServed(DomainError):
    """An APP deployment's request for a site the app is not installed on (or no site at all)."""

    code = "SITE_NOT_ACTIVE"


class NotAppMode(DomainError):
    """An operator route that only an APP deployment has (it serves many sites)."""

    code = "NOT_APP_MODE"


class ApiKeyNotFound(DomainError):
    code = "API_KEY_NOT_FOUND"


class SiteNotFound(DomainError):
    code = "SITE_NOT_FOUND"


class SenderNotVerified(DomainError):
    """A sender address that is not an SES identity of this deployment (SES would refuse every send)."""

    code = "SENDER_NOT_VERIFIED"
