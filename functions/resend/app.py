"""Resend function: resend a link by id, the lost-link flow by order, the reminder sweep, and opt-outs.

One handler, two triggers: API Gateway events go to the resolver; EventBridge scheduled events run the
sweep, which treats the event's ``time`` as the current time. Thin by design: the flows live in
``payment_links.flows.resend``, ``.sweep`` and ``.unsubscribe``.
"""

from payment_links import cold_start

cold_start.pause_collector()  # until every import below is done (payment_links/cold_start.py)

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from payment_links.api_models import LostLinkResendInput, PaymentRequestList, PaymentRequestView, ResendInput, error_responses
from payment_links.config import get_settings
from payment_links.deps import Dependencies, dependencies_for_request, get_dependencies
from payment_links.domain.errors import InvalidUnsubscribeLink
from payment_links.flows import resend, sweep, unsubscribe
from payment_links.http import storefront_resolver
from payment_links.rate_limit import limit_requests, limiter_for
from payment_links.wix.client import get_http_client

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = storefront_resolver(form_paths=("/unsubscribe/",))


def site_dependencies() -> Dependencies:
    """This request's site (in APP mode, the one its API key belongs to), with that site's settings."""
    return dependencies_for_request(app.current_event.raw_event)


T = TypeVar("T")
HTML_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    # No framing either (clickjacking the opt-out button): frame-ancestors, plus X-Frame-Options for old browsers.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}


@app.post(
    "/payment-requests/<request_id>/resend",
    responses={200: {"description": "Sent again"}, **error_responses(400, 404, 409, 415, 422, 429, 502, 503)},
)
@tracer.capture_method
def resend_payment_request(request_id: str, request: Annotated[ResendInput | None, Body()] = None) -> PaymentRequestView:
    record = resend.resend_payment_request(request_id, request or ResendInput(), site_dependencies())
    metrics.add_metric(name="LinksResent", unit=MetricUnit.Count, value=1)
    return PaymentRequestView.of(record)


@app.post(
    "/orders/<order_id>/payment-requests/resend",
    responses={200: {"description": "The requests sent again"}, **error_responses(400, 404, 409, 415, 422, 429, 502, 503)},
)
@tracer.capture_method
def resend_lost_links(order_id: str, request: Annotated[LostLinkResendInput | None, Body()] = None) -> PaymentRequestList:
    records = resend.resend_lost_links(order_id, request or LostLinkResendInput(), site_dependencies())
    metrics.add_metric(name="LinksResent", unit=MetricUnit.Count, value=len(records))
    return PaymentRequestList(payment_requests=[PaymentRequestView.of(record) for record in records])


@app.get("/unsubscribe/<token>")
def unsubscribe_confirmation_page(token: str) -> Response[str]:
    claim, record, site = _or_invalid_page(lambda: unsubscribe.confirmation(token, get_dependencies()))
    return _html(200, unsubscribe.confirmation_page(claim, record, site.settings.store_name))


@app.post("/unsubscribe/<token>")
def record_unsubscribe(token: str) -> Response[str]:
    claim, record, site = _or_invalid_page(lambda: unsubscribe.opt_out(token, get_dependencies()))
    metrics.add_metric(name="RemindersOptedOut", unit=MetricUnit.Count, value=1)
    return _html(200, unsubscribe.done_page(claim, record, site.settings.store_name))


def _or_invalid_page(step: Callable[[], T]) -> T:
    """People open these links in a browser: they get a page, API clients the usual error shape."""
    try:
        return step()
    except InvalidUnsubscribeLink as exc:
        if "text/html" in (app.current_event.headers.get("accept") or ""):
            raise _HtmlError(_html(404, unsubscribe.invalid_link_page(exc.message))) from exc
        raise


class _HtmlError(Exception):
    def __init__(self, response: Response[str]) -> None:
        super().__init__("html error page")
        self.response = response


@app.exception_handler(_HtmlError)
def _html_error(exc: _HtmlError) -> Response[str]:
    return exc.response


def _html(status: int, page: str) -> Response[str]:
    return Response(status_code=status, content_type="text/html; charset=utf-8", body=page, headers=HTML_HEADERS)


# ---- the scheduled sweep ---------------------------------------------------------------------------


def is_scheduled_event(event: Any) -> bool:
    return isinstance(event, dict) and event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event"


@tracer.capture_method
def run_sweep(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    scheduled = parse(event=event, model=EventBridgeModel)
    summary = sweep.run_sweep(get_dependencies(), scheduled.time, context.get_remaining_time_in_millis)
    metrics.add_metric(name="RemindersDue", unit=MetricUnit.Count, value=summary.due)
    metrics.add_metric(name="RemindersSent", unit=MetricUnit.Count, value=summary.sent)
    metrics.add_metric(name="RemindersSkipped", unit=MetricUnit.Count, value=sum(summary.skipped.values()))
    for reason, count in summary.skipped.items():
        with single_metric(name="RemindersSkipped", unit=MetricUnit.Count, value=count) as by_reason:
            by_reason.add_dimension(name="reason", value=reason)
    metrics.add_metric(name="RemindersFailed", unit=MetricUnit.Count, value=summary.failed)
    metrics.add_metric(name="ReminderBacklog", unit=MetricUnit.Count, value=summary.remaining)
    metrics.add_metric(name="SweepDuration", unit=MetricUnit.Milliseconds, value=summary.duration_ms)
    return summary.to_dict()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    # Every Wix request of this process, retries included, takes a token of the per-minute quota.
    limit_requests(get_http_client(settings), limiter_for(settings.wix_requests_per_minute))
    if is_scheduled_event(event):
        return run_sweep(event, context)
    return app.resolve(event, context)


cold_start.settle()
