"""What a handler sent over the network, call by call, so the floor can send exactly the same.

``IoRecorder`` wraps the two choke points every call of the product passes: botocore's parameter build (the
low-level request parameters, DynamoDB attribute values included) and
``httpx.Client.send`` (each Wix request as sent, auth headers included). Recording keeps references only, so a
timed call pays a list append; copying happens after the clock stops. ``Replayer`` sends recorded calls again
with plain boto3 clients and one ``httpx.Client``: the floor of the same I/O.
"""

from __future__ import annotations

import copy
import importlib.abc
import importlib.util
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# Where the recorded calls of one invocation are kept: ("aws", service, operation, params) or
# ("http", method, url, headers, body).
Call = tuple[Any, ...]


@dataclass
class IoRecorder:
    calls: list[Call] = field(default_factory=list)
    paused: bool = False  # set while the floor sends its own calls in the same process
    threads: list[int] = field(default_factory=list)  # the thread that made each call, in step with ``calls``

    def install(self) -> IoRecorder:
        """Wrap botocore and httpx: now if they are imported, else the moment the code under test imports them
        (so recording never imports a module the function itself would not)."""
        _when_imported("botocore.client", self._wrap_botocore)
        _when_imported("httpx", self._wrap_httpx)
        return self

    def _wrap_botocore(self, module: Any) -> None:
        recorder, emit = self, module.BaseClient._emit_api_params

        def recording_emit(client: Any, api_params: Any, operation_model: Any, context: Any) -> Any:
            params = emit(client, api_params=api_params, operation_model=operation_model, context=context)
            if not recorder.paused:
                recorder.calls.append(("aws", client.meta.service_model.service_name, operation_model.name, params))
                recorder.threads.append(threading.get_ident())
            return params

        module.BaseClient._emit_api_params = recording_emit

    def _wrap_httpx(self, module: Any) -> None:
        recorder, send = self, module.Client.send

        def recording_send(client: Any, request: Any, **kwargs: Any) -> Any:
            if not recorder.paused:
                recorder.calls.append(("http", request.method, str(request.url), dict(request.headers), request.content))
                recorder.threads.append(threading.get_ident())
            return send(client, request, **kwargs)

        module.Client.send = recording_send

    def take(self) -> list[Call]:
        """The calls since the last take, deep-copied (a replay must not share them with the client that sent them)."""
        calls, self.calls, self.threads = self.calls, [], []
        return copy.deepcopy(calls)

    def take_by_thread(self) -> list[list[Call]]:
        """The calls since the last take, one list per thread that made them, first caller first."""
        threads = self.threads
        by_thread: dict[int, list[Call]] = {}
        for thread, call in zip(threads, self.take(), strict=True):
            by_thread.setdefault(thread, []).append(call)
        return list(by_thread.values())


def _when_imported(name: str, patch: Callable[[Any], None]) -> None:
    if name in sys.modules:
        patch(sys.modules[name])
        return

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
            if fullname != name:
                return None
            sys.meta_path.remove(self)  # once: let the normal finders locate it, then wrap its loading
            spec = importlib.util.find_spec(fullname)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def exec_and_patch(module: Any) -> None:
                exec_module(module)
                patch(module)

            spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, _Finder())


def signature(calls: list[Call]) -> Counter[str]:
    """How many calls of each kind: ``dynamodb.GetItem``, ``wix POST /ecom/v1/order-payment-requests/url``..."""
    kinds: Counter[str] = Counter()
    for call in calls:
        if call[0] == "aws":
            kinds[f"{call[1]}.{call[2]}"] += 1
        else:
            path = urlsplit(call[2]).path
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

    def __init__(self, max_connections: int = 10) -> None:
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._max_connections = max_connections
        self._http: Any = None
        self.refused = 0  # conditional writes refused in replay: 0 while the mirror tables follow the handler's

    def client(self, service: str) -> Any:
        found = self._clients.get(service)
        if found is None:
            import boto3
            from botocore.config import Config

            with self._lock:  # boto3's default session is not thread-safe while it builds clients
                found = self._clients.get(service) or boto3.client(service, config=Config(max_pool_connections=self._max_connections))
                self._clients[service] = found
        return found

    def http(self) -> Any:
        if self._http is None:
            import httpx

            with self._lock:
                self._http = self._http or httpx.Client(timeout=30, limits=httpx.Limits(max_connections=self._max_connections))
        return self._http

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
                self.http().request(method, url, headers=headers, content=body)
