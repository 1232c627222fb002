"""Small helpers for the low-level DynamoDB client: values to and from the wire, condition failures, timestamps.

On the low-level client, with items converted by boto3's own ``TypeSerializer``: a boto3 *resource* would cost
each cold start ~45 ms of CPU to build (its model and classes) for the same calls (docs/performance.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def wire(values: dict[str, Any]) -> dict[str, Any]:
    """Python values as DynamoDB attribute values (what a resource would send)."""
    return {name: _serializer.serialize(value) for name, value in values.items()}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def cancellation_codes(exc: ClientError) -> list[str]:
    return [reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])]
