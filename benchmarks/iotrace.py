"""What a handler sent over the network, call by call, so the floor can send exactly the same.

``IoRecorder`` wraps the two choke points every call of the product passes: botocore's parameter build (the
low-level request parameters, after the DynamoDB resource layer has serialised its Python values) and
``httpx.Client.send`` (each Wix request as sent, auth headers included). Recording keeps references only, so a
timed call pays a list append; copying happens after the clock stops. ``Replayer`` sends recorded calls again
with plain boto3 clients and one ``httpx.Client``: the floor of the same I/O.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Where the recorded calls of one invocation are kept: ("aws", service, operation, params) or
# ("http", method, url, headers, body).
Call = tuple[Any, ...]


@dataclass
class IoRecorder:
    calls: list[Call] = field(default_factory=list)
    installed: bool = False

    def install(self) -> IoRecorder:
        """Wrap botocore and httpx (imports them: call after the timed import of the code under test)."""
        import botocore.client
        import httpx

        recorder = self
        emit = botocore.client.BaseClient._emit_api_params
        send = httpx.Client.send

        def recording_emit(client: Any, api_params: Any, operation_model: Any, context: Any) -> Any:
            params = emit(client, api_params=api_params, operation_model=operation_model, context=context)
            recorder.calls.append(("aws", client.meta.service_model.service_name, operation_model.name, params))
            return params

        def recording_send(client: Any, request: Any, **kwargs: Any) -> Any:
            recorder.calls.append(("http", request.method, str(request.url), dict(request.headers), request.content))
            return send(client, request, **kwargs)

        botocore.client.BaseClient._emit_api_params = recording_emit  # type: ignore[method-assign]
        httpx.Client.send = recording_send  # type: ignore[method-assign]
        self.installed = True
        return self

    def take(self) -> list[Call]:
        """The calls since the last take, deep-copied (botocore may reuse nothing, but a replay mutates)."""
        calls, self.calls = self.calls, []
        return copy.deepcopy(calls)


def signature(calls: list[Call], wix_base: str = "") -> Counter[str]:
    """How many calls of each kind: ``dynamodb.GetItem``, ``wix POST /ecom/v1/order-payment-requests/url``..."""
    kinds: Counter[str] = Counter()
    for call in calls:
        if call[0] == "aws":
            kinds[f"{call[1]}.{call[2]}"] += 1
        else:
            path = call[2].removeprefix(wix_base).split("?")[0]
            kinds[f"wix {call[1]} {_template(path)}"] += 1
    return kinds


def _template(path: str) -> str:
    """Ids out of paths, so calls on different requests count as the same kind."""
    parts = path.split("/")
    return "/".join("{id}" if len(part) >= 32 and "-" in part else part for part in parts)


def retarget_tables(calls: list[Call], tables: dict[str, str]) -> list[Call]:
    """The same calls against other tables (the floor's mirror tables), so conditional writes still hold."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: (tables.get(item, item) if key == "TableName" else walk(item)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return [(call[0], call[1], call[2], walk(call[3])) if call[0] == "aws" else call for call in calls]


class Replayer:
    """Sends recorded calls with plain clients, created on first use (so a cold floor pays for them too)."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._http: Any = None
        self.refused = 0  # conditional writes refused in replay: 0 while the mirror tables follow the handler's

    def client(self, service: str) -> Any:
        found = self._clients.get(service)
        if found is None:
            import boto3

            found = self._clients[service] = boto3.client(service)
        return found

    def replay(self, calls: list[Call]) -> None:
        for call in calls:
            if call[0] == "aws":
                _, service, operation, params = call
                client = self.client(service)
                try:
                    client._make_api_call(operation, params)
                except client.exceptions.ClientError:
                    self.refused += 1  # still the same round trip
            else:
                _, method, url, headers, body = call
                if self._http is None:
                    import httpx

                    self._http = httpx.Client(timeout=30)
                self._http.request(method, url, headers=headers, content=body)
