"""Errors the sandbox raises and the one place that turns them into Wix's error bodies.

Wix's shape (wix-api.md §5.4): ``{"message", "details": {"applicationError": {code, description, data}}}`` or
``{"message", "details": {"validationError": {"fieldViolations": [...]}}}``; 5xx bodies are empty by design.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Response


class WixError(Exception):
    """An application error: HTTP status plus Wix's machine-readable code."""

    def __init__(self, status: int, code: str, description: str, data: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.data = data or {}


@dataclass
class FieldViolation:
    field: str
    description: str
    violated_rule: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "description": self.description,
            "violatedRule": self.violated_rule,
            "ruleName": self.violated_rule,
            "data": self.data,
        }


class ValidationFailed(Exception):
    """A 400 with the list of field violations."""

    def __init__(self, violations: list[FieldViolation]):
        super().__init__("; ".join(v.description for v in violations))
        self.violations = violations


def not_found(code: str, what: str, entity_id: str) -> WixError:
    return WixError(404, code, f"{what} {entity_id} not found", {"id": entity_id})


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def wix_error_response(error: WixError) -> Response:
    if error.status >= 500:
        return Response(b"", status=error.status)
    body = {
        "message": error.description,
        "details": {"applicationError": {"code": error.code, "description": error.description, "data": error.data}},
    }
    return json_response(body, error.status)


def validation_error_response(error: ValidationFailed) -> Response:
    body = {
        "message": str(error),
        "details": {"validationError": {"fieldViolations": [v.to_wire() for v in error.violations]}},
    }
    return json_response(body, 400)
