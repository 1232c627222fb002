"""Create function: create a payment request and send its link; read, list by order, and void.

Thin by design: parse, call ``payment_links.flows.create``, shape the response.
"""

from payment_links import cold_start

cold_start.pause_collector()  # until every import below is done (payment_links/cold_start.py)

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from payment_links.api_models import CreatePaymentRequestInput, PaymentRequestList, PaymentRequestView, PreviewInput, error_responses
from payment_links.deps import Dependencies, dependencies_for_request
from payment_links.flows import create as flow
from payment_links.http import storefront_resolver
from payment_links.idempotency import create_once, register_lambda_context

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = storefront_resolver()


def site_dependencies() -> Dependencies:
    """This request's site (in APP mode, the one its API key belongs to), with that site's settings."""
    return dependencies_for_request(app.current_event.raw_event)


@app.post(
    "/payment-requests",
    responses={
        201: {"description": "Created", "content": {"application/json": {"model": PaymentRequestView}}},
        200: {"description": "Replay of an earlier create", "content": {"application/json": {"model": PaymentRequestView}}},
        **error_responses(400, 404, 409, 415, 422, 424, 502, 503),
    },
)
@tracer.capture_method
def create_payment_request(request: Annotated[CreatePaymentRequestInput, Body()]) -> Response[dict[str, Any]]:
    result = create_once(request, site_dependencies())
    if result["replayed"]:
        metrics.add_metric(name="CreateReplayed", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="PaymentRequestsCreated", unit=MetricUnit.Count, value=1)
    return Response(status_code=200 if result["replayed"] else 201, content_type="application/json", body=result["paymentRequest"])


@app.get("/payment-requests/<request_id>", responses={200: {"description": "The stored request"}, **error_responses(404, 422, 503)})
@tracer.capture_method
def get_payment_request(request_id: str) -> PaymentRequestView:
    return PaymentRequestView.of(flow.get_payment_request(request_id, site_dependencies()))


@app.get("/payment-requests", responses={200: {"description": "The order's requests, newest first"}, **error_responses(422, 503)})
@tracer.capture_method
def list_payment_requests(order_id: Annotated[str, Query(alias="orderId", min_length=1, max_length=100)]) -> PaymentRequestList:
    records = flow.list_for_order(order_id, site_dependencies())
    return PaymentRequestList(payment_requests=[PaymentRequestView.of(record) for record in records])


@app.post(
    "/payment-requests/<request_id>/void", responses={200: {"description": "Voided"}, **error_responses(404, 409, 415, 422, 502, 503)}
)
@tracer.capture_method
def void_payment_request(request_id: str) -> PaymentRequestView:
    record = flow.void_payment_request(request_id, site_dependencies())
    metrics.add_metric(name="PaymentRequestsVoided", unit=MetricUnit.Count, value=1)
    return PaymentRequestView.of(record)


@app.post(
    "/payment-requests/<request_id>/preview",
    responses={200: {"description": "The message, rendered and not sent"}, **error_responses(400, 404, 415, 422, 503)},
)
@tracer.capture_method
def preview_message(request_id: str, request: Annotated[PreviewInput | None, Body()] = None) -> Response[dict[str, Any]]:
    from payment_links.flows.preview import preview  # the message templates load with the first preview

    shown = preview(request_id, request or PreviewInput(), site_dependencies())
    return Response(status_code=200, content_type="application/json", body=shown.to_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    register_lambda_context(context)
    return app.resolve(event, context)


cold_start.settle()
