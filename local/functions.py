"""The Lambda runtime, locally: the template's functions loaded in this process and invoked like Lambda does.

Each function's ``CodeUri/app.py`` is imported under its own module name (every function's module is called
``app``). Like Lambda, one loaded copy (a "container") serves one invocation at a time: a call takes an idle
copy or loads another, up to ``MAX_CONTAINERS``, so module-level state is never shared by two concurrent
invocations; the state Powertools keeps on a class (the current event) is kept per thread
(``local.lambda_isolation``), so each invocation's thread is its own container.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from local.environment import ACCOUNT_ID, Deployment
from local.lambda_isolation import isolate_router_state
from local.template import ROOT, load_template, resources

logger = logging.getLogger("local.functions")
MAX_CONTAINERS = 4


class FunctionNotBuilt(RuntimeError):
    """The template names a function whose code is not in the work tree yet."""


@dataclass
class LambdaContext:
    """What the Lambda runtime hands a handler as ``context``."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    region: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


def add_layers_to_path() -> None:
    """Make the shared layers importable, as Lambda does by unpacking them under /opt/python."""
    for res in resources("AWS::Serverless::LayerVersion").values():
        path = str(ROOT / res["Properties"]["ContentUri"])
        if path not in sys.path:
            sys.path.insert(0, path)


class LocalFunction:
    """One function of the template: its handler, loaded lazily, and a pool of warm copies."""

    def __init__(self, logical_id: str, deployment: Deployment):
        props = resources("AWS::Serverless::Function")[logical_id]["Properties"]
        globals_ = load_template().get("Globals", {}).get("Function", {})
        self.logical_id = logical_id
        self.code_dir = ROOT / props["CodeUri"]
        module_file, _, self.handler_name = props.get("Handler", globals_.get("Handler", "app.lambda_handler")).rpartition(".")
        self.source = self.code_dir / f"{module_file.replace('.', '/')}.py"
        self.name = f"{deployment.stack_name}-{logical_id}"
        self.memory = int(deployment.resolve(props.get("MemorySize", globals_.get("MemorySize", 128))))
        self.timeout = deployment.function_timeout(logical_id)
        self.region = deployment.region
        self._idle: list[ModuleType] = []
        self._loaded = 0
        self._lock = threading.Condition()

    @property
    def built(self) -> bool:
        return self.source.exists()

    def invoke(self, event: dict[str, Any]) -> Any:
        module = self._acquire()
        context = LambdaContext(self.name, self.memory, self.timeout, self.region)
        try:
            return getattr(module, self.handler_name)(event, context)
        finally:
            self._release(module)

    def openapi_json(self) -> str:
        """The OpenAPI document the function's resolver (its module's ``app``) generates, as JSON text."""
        module = self._acquire()
        try:
            return str(module.app.get_openapi_json_schema())
        finally:
            self._release(module)

    def _release(self, module: ModuleType) -> None:
        with self._lock:
            self._idle.append(module)
            self._lock.notify()

    def _acquire(self) -> ModuleType:
        with self._lock:
            while not self._idle and self._loaded >= MAX_CONTAINERS:
                self._lock.wait()
            if self._idle:
                return self._idle.pop()
            self._loaded += 1
            copy = self._loaded
        try:
            return self._load(copy)
        except BaseException:
            with self._lock:
                self._loaded -= 1
                self._lock.notify()
            raise

    def _load(self, copy: int) -> ModuleType:
        if not self.built:
            raise FunctionNotBuilt(f"{self.logical_id}: {self.source.relative_to(ROOT)} does not exist yet")
        isolate_router_state()
        module_name = f"local_function_{self.logical_id}_{copy}"
        spec = importlib.util.spec_from_file_location(module_name, self.source)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        # Lambda puts the function's own directory first on the path; its sibling modules import from there.
        sys.path.insert(0, str(self.code_dir))
        try:
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        finally:
            sys.path.remove(str(self.code_dir))
        logger.debug("loaded %s (copy %d)", self.logical_id, copy)
        return module


def load_functions(deployment: Deployment) -> dict[str, LocalFunction]:
    add_layers_to_path()
    return {logical_id: LocalFunction(logical_id, deployment) for logical_id in resources("AWS::Serverless::Function")}


def reset_function_state() -> None:
    """Forget what the shared layer caches per process (settings, clients, secrets), so the next invocation
    reads the environment the local stack has just set."""
    add_layers_to_path()
    from payment_links import aws
    from payment_links.config import reset_settings
    from payment_links.deps import reset_dependencies
    from payment_links.secrets import clear_secret_cache
    from payment_links.wix.client import reset_http_client

    reset_settings()
    reset_dependencies()
    aws.reset_clients()
    clear_secret_cache()
    reset_http_client()
    idempotency = sys.modules.get("payment_links.idempotency")
    if idempotency is not None:
        idempotency.reset_idempotency()
