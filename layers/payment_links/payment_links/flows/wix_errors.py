"""Translating Wix client errors into the product's domain errors, in one place for every flow."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from payment_links.domain import errors
from payment_links.wix import errors as wix

PAGE_NOT_FOUND = "ORDER_PAYMENT_REQUEST_PAGE_NOT_FOUND"
NOT_PAYABLE_CODES = {
    "CANNOT_VOID_PAID_ORDER_PAYMENT_REQUEST": "PAID",
    "CANNOT_VOID_EXPIRED_ORDER_PAYMENT_REQUEST": "EXPIRED",
}


@contextmanager
def wix_errors_as_domain(not_found: type[errors.DomainError] = errors.PaymentRequestNotFound) -> Iterator[None]:
    try:
        yield
    except wix.WixUnavailable as exc:
        retry_after = math.ceil(exc.retry_after) if exc.retry_after is not None else 5
        raise errors.WixUnavailable("Wix is unavailable right now; retry later.", retry_after=max(retry_after, 1)) from exc
    except wix.WixNotFound as exc:
        raise not_found("Wix does not know it (for this site).") from exc
    except wix.WixPreconditionFailed as exc:
        if exc.code == PAGE_NOT_FOUND:
            raise errors.PaymentPageNotPublished(
                "The Wix site has no published Payment Request Page. The site owner must add the Payment "
                "Request Page in the Wix editor and publish the site, then retry.",
                details=[{"wixCode": exc.code}],
            ) from exc
        if exc.code in NOT_PAYABLE_CODES:
            status = NOT_PAYABLE_CODES[exc.code]
            raise errors.NotPayable(f"The payment request is {status}.", details=[{"wixCode": exc.code, "status": status}]) from exc
        raise errors.WixRefused(f"Wix refused the call: {exc.code or exc.message}", details=[{"wixCode": exc.code}]) from exc
    except wix.WixAuthError as exc:
        raise errors.ConfigurationError(
            "Wix refused this deployment's credentials; check the Wix API key or app credentials and their permissions."
        ) from exc
    except wix.WixRejected as exc:
        raise errors.WixRefused(f"Wix refused the call: {exc.code or exc.message}", details=[{"wixCode": exc.code}]) from exc
