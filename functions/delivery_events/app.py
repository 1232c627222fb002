"""Delivery events function: what the providers learned after a send.

- SES's bounces, complaints and deliveries of our e-mails, published by the stack's SES configuration set to
  EventBridge (``source: aws.ses``) and routed here by a rule. The message's tags (set by the notifier) name the
  request and the site.
- SNS's SMS delivery status log (``…/DirectPublishToPhoneNumber/Failure``), through a CloudWatch Logs subscription
  when ``SmsDeliveryStatusLogs`` is on.

A permanent bounce, a complaint or an SMS failure that will not go away suppresses the address and stops reminders
to it on that channel (``flows/delivery_feedback.py``). An event this function cannot read is logged (without
addresses) and dropped: retrying would not make it readable. A failure to record one raises, so it is retried and
then kept (the rule's dead-letter queue, the function's OnFailure queue).
"""

from payment_links import cold_start

cold_start.pause_collector()  # until every import below is done (payment_links/cold_start.py)

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from payment_links.deps import Dependencies, get_dependencies
from payment_links.flows.delivery_feedback import apply_email_feedback, apply_sms_failures
from payment_links.notify.ses_events import read_event
from payment_links.notify.sns_delivery_logs import read_failures
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


def _rejected(what: str, exc: Exception | None = None) -> dict[str, Any]:
    logger.warning("delivery event not understood", extra={"what": what, "error": type(exc).__name__ if exc else None})
    metrics.add_metric(name="DeliveryEventsRejected", unit=MetricUnit.Count, value=1)
    return {"outcome": "rejected"}


def _email_event(event: dict[str, Any]) -> dict[str, Any]:
    try:
        feedback = read_event(event)
    except (ValidationError, ValueError) as exc:
        return _rejected(str(event.get("detail-type"))[:60], exc)
    deps = _site_dependencies(feedback.instance_id)
    if deps is None:
        return _rejected("a site tag that is not a site")
    outcome = apply_email_feedback(feedback, deps)
    logger.info(
        "SES event recorded",
        extra={"kind": feedback.kind, "reason": feedback.reason, "payment_request_id": feedback.request_id, "outcome": outcome},
    )
    metrics.add_dimension(name="Kind", value=feedback.kind)
    metrics.add_metric(name="EmailFeedback", unit=MetricUnit.Count, value=1)
    return {"outcome": outcome}


def _sms_log_event(event: dict[str, Any]) -> dict[str, Any]:
    try:
        failures = read_failures(event)
    except (ValidationError, ValueError) as exc:
        return _rejected("SNS delivery status log", exc)
    suppressed = apply_sms_failures(failures, get_dependencies())
    logger.info("SNS delivery failures recorded", extra={"failures": len(failures), "suppressed": suppressed})
    metrics.add_metric(name="SmsDeliveryFailures", unit=MetricUnit.Count, value=len(failures))
    return {"outcome": "applied" if suppressed else "unchanged", "failures": len(failures), "suppressed": suppressed}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        return _rejected("not an object")
    if "awslogs" in event:
        return _sms_log_event(event)
    return _email_event(event)


cold_start.settle()
