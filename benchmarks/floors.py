"""The floors: what the work itself costs, done directly, with nothing of ours in between.

Cold: a fresh interpreter imports only the third-party packages the function truly needs and builds the
objects the house rules require (Powertools Logger, Metrics, Tracer, the REST resolver), then sends its first
event's calls with plain boto3 clients and httpx. Warm: the same calls, sent again. The webhook's floor also
verifies the RS256 signature, the one piece of work it does that is not I/O.
"""

from __future__ import annotations

from typing import Any

from benchmarks.iotrace import Call, Replayer

# What each function truly needs, shown in the report. boto3 is the runtime's; X-Ray comes with Tracer
# because the template turns tracing on (Tracing: Active).
FLOOR_PACKAGES = {
    "create": "boto3, httpx, pydantic, Powertools (Logger, Metrics, Tracer+X-Ray, REST resolver w/ validation, idempotency, parameters)",
    "resend": "boto3, httpx, pydantic, Powertools (Logger, Metrics, Tracer+X-Ray, REST resolver w/ validation, parameters)",
    "webhook": "boto3, PyJWT+cryptography, pydantic, Powertools (Logger, Metrics, Tracer+X-Ray, REST resolver, parameters)",
}


def cold_init(function: str) -> dict[str, Any]:
    """Import the floor's packages and build what every handler of the house builds at import."""
    import boto3  # noqa: F401 - the import is the point
    from aws_lambda_powertools import Logger, Metrics, Tracer
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.utilities import parameters  # noqa: F401
    from pydantic import BaseModel

    class Probe(BaseModel):  # a model is what pydantic is needed for; the first one loads its schema machinery
        value: int

    state: dict[str, Any] = {"logger": Logger(), "metrics": Metrics(), "tracer": Tracer(), "model": Probe}
    if function == "webhook":
        import jwt  # noqa: F401
        from cryptography.hazmat.primitives.serialization import load_pem_public_key  # noqa: F401

        state["app"] = APIGatewayRestResolver()
    else:
        import httpx  # noqa: F401

        state["app"] = APIGatewayRestResolver(enable_validation=True)
        if function == "create":
            from aws_lambda_powertools.utilities import idempotency  # noqa: F401
    return state


def serve(function: str, state: dict[str, Any], replayer: Replayer, calls: list[Call], extra: Any = None) -> None:
    """One event's worth of floor work: its calls, and for the webhook the signature check."""
    replayer.replay(calls)
    if function == "webhook" and extra is not None:
        token, public_key_pem = extra
        verify_rs256(token, _public_key(state, public_key_pem))


def _public_key(state: dict[str, Any], pem: str) -> Any:
    key = state.get("public_key")
    if key is None:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        key = state["public_key"] = load_pem_public_key(pem.encode())
    return key


def verify_rs256(token: str, key: Any) -> dict[str, Any]:
    import jwt

    return jwt.decode(token, key, algorithms=["RS256"], options={"require": ["exp"]})


class WebhookFloor:
    """The least a webhook can do: verify the token, then change the state and dedupe in one conditional write."""

    def __init__(self, public_key_pem: str, table: str) -> None:
        import boto3
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        self._key = load_pem_public_key(public_key_pem.encode())
        self._client = boto3.client("dynamodb")
        self._table = table
        self.refused = 0

    def apply(self, token: str, request_id: str) -> None:
        verify_rs256(token, self._key)
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"PR#{request_id}"}, "sk": {"S": "REQUEST"}},
                UpdateExpression="SET #status = :paid",
                ConditionExpression="attribute_exists(pk) AND #status = :unpaid",  # applies once: the dedupe
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":paid": {"S": "PAID"}, ":unpaid": {"S": "UNPAID"}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            self.refused += 1
