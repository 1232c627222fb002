"""What the Lambda runtime hands a handler: API Gateway REST proxy events and a context object."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 29_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def load_function(name: str, module_name: str | None = None) -> ModuleType:
    """Import ``functions/<name>/app.py`` under a unique module name (every function's module is ``app``), once
    per name: another ``module_name`` is another warm copy."""
    module_name = module_name or f"function_{name}_app"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def api_event(
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    raw_body: str | bytes | None = None,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    if isinstance(raw_body, bytes) or base64_encoded:
        data = raw_body.encode() if isinstance(raw_body, str) else (raw_body or b"")
        raw_body, base64_encoded = base64.b64encode(data).decode(), True
    request_id = str(uuid.uuid4())
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": request_id,
            "stage": "v1",
            "httpMethod": method,
            "path": f"/v1{path}",
            "resourcePath": path,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": raw_body,
        "isBase64Encoded": base64_encoded,
    }


def invoke(module: ModuleType, event: dict[str, Any], context: LambdaContext | None = None) -> tuple[int, Any, dict[str, str]]:
    """Run a handler; returns (status, parsed JSON body or raw text, headers)."""
    response = module.lambda_handler(event, context or LambdaContext())
    body = response.get("body")
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(key.lower(), values[0])
    return response["statusCode"], parsed, headers
