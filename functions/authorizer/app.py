"""Site-key authorizer: API Gateway's Lambda REQUEST authorizer in front of every storefront route.

APP mode: ``x-api-key`` is a site's storefront key (``POST /sites/{instanceId}/api-keys``); its hash is looked up in
the sites registry, and a valid key of an installed site is allowed with the site in the request context
(``instanceId``), which the functions read instead of anything in the body. The answer is cached by API Gateway per
key (``ReauthorizeEvery``), and covers every storefront route, so one lookup serves a burst of calls. The usage
plan's key is handed back as ``usageIdentifierKey`` (the API's key source is AUTHORIZER), so API Gateway's throttling
still applies.

SITE mode: API Gateway checks the key itself (key source HEADER); this only lets the request through to that check,
with no I/O.
"""

from payment_links import cold_start

cold_start.pause_collector()  # until every import below is done (payment_links/cold_start.py)

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from payment_links import aws
from payment_links.config import get_settings
from payment_links.secrets import get_secret_text
from payment_links.sites import SiteRegistry

logger = Logger()
metrics = Metrics()


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _api_arn(method_arn: str) -> str:
    """``arn:…:execute-api:region:account:api/stage/METHOD/path`` → the same API and stage, every route: the cached
    answer for a key then holds for each storefront route, not only the first one called."""
    arn, _, path = method_arn.partition(":execute-api:")
    region_account_api = path.split("/", 2)
    return f"{arn}:execute-api:{region_account_api[0]}/{region_account_api[1]}/*/*" if len(region_account_api) >= 2 else method_arn


def _policy(effect: str, method_arn: str, principal: str, context: dict[str, str], usage_key: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": _api_arn(method_arn)}],
        },
        "context": context,
    }
    if usage_key:
        answer["usageIdentifierKey"] = usage_key
    return answer


def _usage_plan_key() -> str:
    """The value of the usage plan's API key (API Gateway meters and throttles with it), from its secret."""
    return get_secret_text(get_settings().usage_plan_key_secret)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    method_arn = str(event.get("methodArn", ""))
    if settings.deployment_mode != "APP":
        return _policy("Allow", method_arn, "site", {"instanceId": ""})
    key = _header(event, "x-api-key") or ""
    found = SiteRegistry(aws.client("dynamodb"), settings.table_name).site_of_key(key) if key else None
    if found is None:
        metrics.add_metric(name="SiteKeyRefused", unit=MetricUnit.Count, value=1)
        logger.info("storefront key refused")  # never the key itself
        return _policy("Deny", method_arn, "unknown", {})
    instance_id, key_id = found
    metrics.add_metric(name="SiteKeyAccepted", unit=MetricUnit.Count, value=1)
    logger.info("storefront key accepted", extra={"instance_id": instance_id, "key_id": key_id})
    return _policy("Allow", method_arn, instance_id, {"instanceId": instance_id, "keyId": key_id}, _usage_plan_key())


cold_start.settle()
