"""Sites function: the operator's routes for a site's storefront keys (IAM-authorized), and a site's own settings.

Thin by design: parse, call ``payment_links.flows.site_admin``, shape the response.
"""

from payment_links import cold_start

cold_start.pause_collector()  # until every import below is done (payment_links/cold_start.py)

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from payment_links import aws
from payment_links.api_models import ApiKeyList, NewApiKeyView, SiteSettingsInput, SiteSettingsView, error_responses
from payment_links.deps import dependencies_for_request, get_dependencies
from payment_links.flows import site_admin
from payment_links.http import storefront_resolver

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = storefront_resolver()


@app.post(
    "/sites/<instance_id>/api-keys",
    responses={201: {"description": "The new key, shown once", "content": {"application/json": {"model": NewApiKeyView}}}},
    include_in_schema=False,  # an operator route (IAM), not the storefront's
)
@tracer.capture_method
def create_api_key(instance_id: str) -> Response[dict[str, Any]]:
    created = site_admin.create_api_key(instance_id, get_dependencies())
    metrics.add_metric(name="SiteKeysCreated", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type="application/json", body=created.model_dump(mode="json", by_alias=True))


@app.get("/sites/<instance_id>/api-keys", include_in_schema=False)
@tracer.capture_method
def list_api_keys(instance_id: str) -> ApiKeyList:
    return site_admin.list_api_keys(instance_id, get_dependencies())


@app.delete("/sites/<instance_id>/api-keys/<key_id>", include_in_schema=False)
@tracer.capture_method
def revoke_api_key(instance_id: str, key_id: str) -> Response[str]:
    site_admin.revoke_api_key(instance_id, key_id, get_dependencies())
    metrics.add_metric(name="SiteKeysRevoked", unit=MetricUnit.Count, value=1)
    return Response(status_code=204, body="")


@app.get("/settings", responses={200: {"description": "The site's settings in effect"}, **error_responses(403, 503)})
@tracer.capture_method
def get_settings() -> SiteSettingsView:
    return site_admin.settings_view(dependencies_for_request(app.current_event.raw_event))


@app.put("/settings", responses={200: {"description": "Saved; the settings now in effect"}, **error_responses(400, 403, 415, 422, 503)})
@tracer.capture_method
def put_settings(request: Annotated[SiteSettingsInput, Body()]) -> SiteSettingsView:
    deps = dependencies_for_request(app.current_event.raw_event)
    return site_admin.put_settings(request, deps, aws.client("sesv2"))


@app.get(
    "/stats",
    responses={200: {"description": "What the site's messages earned, by day, channel and step"}, **error_responses(403, 422, 503)},
)
@tracer.capture_method
def get_stats(
    first: Annotated[date, Query(alias="from", description="First day, YYYY-MM-DD (UTC)")],
    last: Annotated[date, Query(alias="to", description="Last day, YYYY-MM-DD (UTC), at most 366 days after from")],
) -> Response[dict[str, Any]]:
    report = site_admin.stats_report(first, last, dependencies_for_request(app.current_event.raw_event))
    return Response(status_code=200, content_type="application/json", body=report)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


cold_start.settle()
