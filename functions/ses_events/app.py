"""SES events function: bounces, complaints and deliveries of our e-mails, published by the stack's SES configuration
set to EventBridge (``source: aws.ses``) and routed here by a rule.

A permanent bounce or a complaint suppresses the address for its site and stops e-mail reminders to it; deliveries
are recorded on the notification (``flows/email_feedback.py``). The message's tags (set by the notifier) name the
request and the site. An event this function cannot read is logged (without addresses) and dropped: retrying would
not make it readable. A failure to record one raises, so EventBridge retries it and then sends it to the DLQ.
"""

from payment_links import cold_start

cold_start.pause_collector()  # until every import below is done (payment_links/cold_start.py)

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from payment_links.deps import Dependencies, get_dependencies
from payment_links.flows.email_feedback import apply_feedback
from payment_links.notify.ses_events import read_event
from payment_links.sites import for_site
from payment_links.tenancy import NotASite, Site
from pydantic import ValidationError

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def _site_dependencies(instance_id: str) -> Dependencies | None:
    deps = get_dependencies()
    if not instance_id:
        return deps
    try:
        site = Site(instance_id)
    except NotASite:
        return None
    return for_site(deps, site) or deps.for_site(site)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        feedback = read_event(event)
    except (ValidationError, ValueError) as exc:
        logger.warning("SES event not understood", extra={"detail_type": event.get("detail-type"), "error": type(exc).__name__})
        metrics.add_metric(name="SesEventsRejected", unit=MetricUnit.Count, value=1)
        return {"outcome": "rejected"}
    deps = _site_dependencies(feedback.instance_id)
    if deps is None:
        logger.warning("SES event with a site tag that is not a site", extra={"message_id": feedback.message_id})
        return {"outcome": "rejected"}
    outcome = apply_feedback(feedback, deps)
    logger.info(
        "SES event recorded",
        extra={"kind": feedback.kind, "reason": feedback.reason, "payment_request_id": feedback.request_id, "outcome": outcome},
    )
    metrics.add_dimension(name="Kind", value=feedback.kind)
    metrics.add_metric(name="EmailFeedback", unit=MetricUnit.Count, value=1)
    return {"outcome": outcome}


cold_start.settle()
