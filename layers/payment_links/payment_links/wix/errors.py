"""Typed errors of the Wix client, mapped from the HTTP status and ``details.applicationError.code``."""

from __future__ import annotations


class WixError(Exception):
    """A Wix call failed. ``code`` is Wix's application error code where it gave one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after


class WixNotFound(WixError):
    """404: the order or payment request does not exist (for this site)."""


class WixPreconditionFailed(WixError):
    """428: Wix refuses the call in the entity's or site's current state (``code`` says which)."""


class WixRejected(WixError):
    """400/409/422: Wix refused our request as invalid. A bug on our side or bad input that got through."""


class WixAuthError(WixError):
    """401/403: credentials missing, wrong, or without the needed permission."""


class WixUnavailable(WixError):
    """429, 5xx, timeouts, connection errors, unreadable bodies: retryable later."""


class WixQuotaExhausted(WixUnavailable):
    """No slot of the site's shared Wix quota in time (``payment_links.quota``); nothing was sent to Wix."""


def error_for_status(status: int) -> type[WixError]:
    if status == 404:
        return WixNotFound
    if status == 428:
        return WixPreconditionFailed
    if status in (401, 403):
        return WixAuthError
    if status == 429 or status >= 500:
        return WixUnavailable
    return WixRejected
