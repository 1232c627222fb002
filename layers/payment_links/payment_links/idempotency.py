"""Powertools idempotency around the create flow, keyed by the caller's ``externalId``.

The key is the parsed input's externalId (within the caller's site) and the validation hash its content hash, never the raw event
(whose headers change on every call). A concurrent duplicate waits for the first call to finish and then
gets its result; our own externalId claim in the table keeps answering replays after the idempotency
record has expired.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from payment_links import aws
from payment_links.api_models import CreatePaymentRequestInput, PaymentRequestView
from payment_links.deps import Dependencies
from payment_links.domain import errors
from payment_links.flows.create import create_payment_request

IN_PROGRESS_POLL_SECONDS = 0.2
IN_PROGRESS_WAIT_SECONDS = 20.0


def _mark_replayed(response: Any, _record: Any) -> Any:
    if isinstance(response, dict):
        response = {**response, "replayed": True}
    return response


@lru_cache(maxsize=1)
def _config() -> IdempotencyConfig:
    from payment_links.config import get_settings

    return IdempotencyConfig(
        event_key_jmespath="idempotencyKey",
        payload_validation_jmespath="contentHash",
        expires_after_seconds=get_settings().idempotency_ttl_seconds,
        response_hook=_mark_replayed,  # type: ignore[arg-type]
    )


@lru_cache(maxsize=1)
def _idempotent_create() -> Callable[..., dict[str, Any]]:
    from payment_links.config import get_settings

    persistence = DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table_name, boto3_client=aws.client("dynamodb"))

    @idempotent_function(data_keyword_argument="payload", persistence_store=persistence, config=_config())
    def create(payload: dict[str, Any], deps: Dependencies) -> dict[str, Any]:
        result = create_payment_request(CreatePaymentRequestInput.model_validate(payload["request"]), deps)
        return {"replayed": result.replayed, "paymentRequest": PaymentRequestView.of(result.record).to_json()}

    return create


def register_lambda_context(context: LambdaContext | None) -> None:
    """Lets Powertools expire an in-progress record when this invocation times out."""
    if context is not None:
        _config().register_lambda_context(context)


def create_once(request: CreatePaymentRequestInput, deps: Dependencies, wait_seconds: float = IN_PROGRESS_WAIT_SECONDS) -> dict[str, Any]:
    """Run the create flow at most once per externalId. Returns ``{"replayed": bool, "paymentRequest": {...}}``."""
    payload = {
        # The caller's externalId, within its site: two sites may use the same externalId. A SITE deployment's key
        # is the externalId alone, as it always was (records made before APP mode existed still match).
        "idempotencyKey": f"{deps.site.key_prefix}{request.external_id}",
        "externalId": request.external_id,
        "contentHash": request.content_hash(),
        "request": request.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return _idempotent_create()(payload=payload, deps=deps)
        except IdempotencyValidationError as exc:
            raise errors.ExternalIdConflict(
                "This externalId was used before with different content. Use a new externalId for a new request.",
                details=[{"field": "externalId"}],
            ) from exc
        except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError) as exc:
            if time.monotonic() >= deadline:
                raise errors.RequestInProgress(
                    "A request with this externalId is being created right now; retry shortly.", retry_after=1
                ) from exc
            time.sleep(IN_PROGRESS_POLL_SECONDS)


def reset_idempotency() -> None:
    _idempotent_create.cache_clear()
    _config.cache_clear()
