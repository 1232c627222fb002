"""Resend function: resend a link by id, the lost-link flow by order, the reminder sweep and its workers, opt-outs.

One handler, three triggers: API Gateway events go to the resolver; EventBridge scheduled events run the
sweep, which treats the event's ``time`` as the current time and puts the due requests on the reminder queue;
SQS events are the workers' batches (Powertools batch processing, failures reported per message). Thin by
design: the flows live in ``payment_links.flows.resend``, ``.sweep``, ``.reminder_queue`` and ``.unsubscribe``.
"""

from payment_links import cold_start

cold_start.pause_collector()  # until every import below is done (payment_links/cold_start.py)

from collections.abc import Callable, Mapping
from functools import cache
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from payment_links import aws
from payment_links.api_models import LostLinkResendInput, PaymentRequestList, PaymentRequestView, ResendInput, error_responses
from payment_links.deps import Dependencies, dependencies_for_request, get_dependencies
from payment_links.domain.errors import InvalidUnsubscribeLink
from payment_links.flows import resend, sweep, unsubscribe
from payment_links.flows.reminder_queue import batch_now, outcome_counts, parse_body
from payment_links.http import storefront_resolver

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


@app.get("/l/<token>")
def follow_tracked_link(token: str) -> Response[str]:
    return _tracked_link(token, "GET")


@app.route("/l/<token>", method="HEAD")
def check_tracked_link(token: str) -> Response[str]:
    return _tracked_link(token, "HEAD")


def _tracked_link(token: str, method: str) -> Response[str]:
    """LinkMode TRACKED: record a person's click, then Wix's payment page, or a page saying paid/expired/voided."""
    from payment_links.flows.tracked_link import follow
    from payment_links.messages.pages import CSP, render_page

    headers = app.current_event.headers
    deps = get_dependencies()
    followed = follow(token, method, headers.get("user-agent"), headers.get("sec-purpose") or headers.get("purpose"), deps, deps.clock())
    no_store = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
    if followed.location:
        return Response(status_code=302, headers={**no_store, "Location": followed.location}, body="")
    settings = (followed.deps or deps).settings
    page = render_page(followed.page or "INVALID", followed.record, settings)
    status = {"INVALID": 404, "UNAVAILABLE": 503}.get(followed.page or "INVALID", 200)
    page_headers = {**no_store, "Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}
    return Response(
        status_code=status, content_type="text/html; charset=utf-8", body="" if method == "HEAD" else page, headers=page_headers
    )


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
    deps = get_dependencies()
    sqs = aws.client("sqs") if deps.settings.reminder_queue_url else None
    summary = sweep.run_sweep(deps, scheduled.time, context.get_remaining_time_in_millis, sqs=sqs)
    metrics.add_metric(name="RemindersDue", unit=MetricUnit.Count, value=summary.due)
    metrics.add_metric(name="ReminderBatches", unit=MetricUnit.Count, value=summary.batches)
    _outcome_metrics(summary.sent, summary.failed, summary.skipped)
    metrics.add_metric(name="ReminderBacklog", unit=MetricUnit.Count, value=summary.remaining)
    metrics.add_metric(name="SweepDuration", unit=MetricUnit.Milliseconds, value=summary.duration_ms)
    return summary.to_dict()


def _outcome_metrics(sent: int, failed: int, skipped: Mapping[str, int]) -> None:
    metrics.add_metric(name="RemindersSent", unit=MetricUnit.Count, value=sent)
    metrics.add_metric(name="RemindersFailed", unit=MetricUnit.Count, value=failed)
    metrics.add_metric(name="RemindersSkipped", unit=MetricUnit.Count, value=sum(skipped.values()))
    for reason, count in skipped.items():
        with single_metric(name="RemindersSkipped", unit=MetricUnit.Count, value=count) as by_reason:
            by_reason.add_dimension(name="reason", value=reason)


# ---- the reminder workers ----------------------------------------------------------------------------


def is_queue_event(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)


@tracer.capture_method
def send_reminder_batch(record: Any) -> None:  # a Powertools SQSRecord
    """One message: one site's batch of due requests. Raises only when it should be retried (then the DLQ)."""
    batch = parse_body(record.body)
    sent_at = record.attributes.sent_timestamp
    now = batch_now(batch, int(sent_at) if sent_at else None)
    counts = outcome_counts(sweep.work_batch(get_dependencies(), batch, now))
    skipped = {name.removeprefix("skipped:"): n for name, n in counts.items() if name.startswith("skipped:")}
    _outcome_metrics(counts["sent"], counts["failed"], skipped)


@cache
def _batch_processor() -> Any:
    # Imported on the first queue event, not at cold start: Powertools' batch module loads every parser model it
    # knows (Kafka, Kinesis...), ~50 ms that the API routes and the sweep of this function never need.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.SQS)


def run_workers(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import process_partial_response

    return process_partial_response(event=event, record_handler=send_reminder_batch, processor=_batch_processor(), context=context)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if is_scheduled_event(event):
        return run_sweep(event, context)
    if is_queue_event(event):
        return run_workers(event, context)
    return app.resolve(event, context)


cold_start.settle()
