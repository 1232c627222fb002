"""API Gateway's authorization, locally: the Lambda REQUEST authorizer, IAM on the operator routes, the usage plan key.

What the deployed API does, in the same order (``template.yaml``'s ``Auth``, read by ``local.template.api_auth``):

1. ``AWS_IAM`` routes (the operator's site-key routes) need a SigV4-signed request in AWS; locally the header
   ``x-operator-key: local-operator-key`` stands for it. Without it: 403 ``Missing Authentication Token``.
2. A Lambda REQUEST authorizer (the site-key authorizer) runs with the identity source ``x-api-key``: missing, 401
   ``Unauthorized``; an explicit Deny, 403; its answer is cached per key for ``ReauthorizeEvery`` seconds. Its
   ``context`` reaches the function as ``requestContext.authorizer``.
3. ``ApiKeyRequired``: the usage plan's key must be presented, from the header (``ApiKeySourceType`` HEADER) or handed
   back by the authorizer as ``usageIdentifierKey`` (AUTHORIZER). Otherwise 403 ``Forbidden``.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request

from local.environment import ACCOUNT_ID
from local.functions import LocalFunction

OPERATOR_HEADER = "x-operator-key"
OPERATOR_KEY = "local-operator-key"


@dataclass
class Decision:
    """What the gateway does with a request: refuse it (``status``, ``message``) or pass it on with ``context``."""

    status: int | None = None
    message: str = ""
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return self.status is not None


@dataclass
class LambdaAuthorizer:
    """One Lambda REQUEST authorizer of the API, with API Gateway's cache of its answers."""

    function: LocalFunction
    identity_header: str
    ttl_seconds: float
    _cache: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Request, route: dict[str, Any], method_arn: str, path_parameters: dict[str, str]) -> dict[str, Any] | None:
        """The authorizer's answer for this request (from the cache when fresh); None when the identity is missing."""
        identity = request.headers.get(self.identity_header)
        if not identity:
            return None
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(identity)
        if cached is not None and now < cached[0]:
            return cached[1]
        event = {
            "type": "REQUEST",
            "methodArn": method_arn,
            "resource": route["path"],
            "path": request.path,
            "httpMethod": request.method,
            "headers": dict(request.headers.items()),
            "queryStringParameters": dict(request.args.items()) or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {"accountId": ACCOUNT_ID, "requestId": str(uuid.uuid4()), "httpMethod": request.method},
        }
        result = self.function.invoke(event)
        if self.ttl_seconds > 0:
            with self._lock:
                self._cache[identity] = (now + self.ttl_seconds, result)
        return dict(result)


def _allows(answer: dict[str, Any]) -> bool:
    statements = (answer.get("policyDocument") or {}).get("Statement") or []
    return bool(statements) and all(statement.get("Effect") == "Allow" for statement in statements)


@dataclass
class GatewayAuth:
    """The API's authorization as the template defines it (``authorizers`` by name; ``usage_keys`` of the plan)."""

    authorizers: dict[str, LambdaAuthorizer]
    usage_keys: set[str]
    key_source: str = "HEADER"

    def decide(self, route: dict[str, Any], request: Request, method_arn: str, path_parameters: dict[str, str]) -> Decision:
        guard = route.get("authorizer")
        if guard == "AWS_IAM":
            if request.headers.get(OPERATOR_HEADER) != OPERATOR_KEY:
                return Decision(403, "Missing Authentication Token")
            return Decision(context={"principalId": "operator"})
        context: dict[str, Any] = {}
        usage_key = request.headers.get("x-api-key")
        if guard:
            answer = self.authorizers[guard].answer(request, route, method_arn, path_parameters)
            if answer is None:
                return Decision(401, "Unauthorized")
            if not _allows(answer):
                return Decision(403, "User is not authorized to access this resource")
            context = {"principalId": answer.get("principalId"), **(answer.get("context") or {})}
            if self.key_source == "AUTHORIZER":
                usage_key = answer.get("usageIdentifierKey")
        if route["api_key_required"] and usage_key not in self.usage_keys:
            return Decision(403, "Forbidden")
        return Decision(context=context)
