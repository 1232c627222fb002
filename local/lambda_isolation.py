"""One thread, one Lambda container: Powertools' per-invocation router state made per thread.

Lambda runs one invocation at a time per execution environment, so Powertools' event handler keeps the
current event and Lambda context on a class (``BaseRouter.current_event``, ``BaseRouter.lambda_context``):
one per process. The local stack and the tests run several warm copies of a function side by side, in threads
of one process. Separate module copies do not separate that state: every copy's resolver reads the one class
attribute, so a slow invocation reads the event of whichever invocation started last (a webhook verified and
applied another delivery's body; a crash was charged to the wrong delivery).

``isolate_router_state`` keeps both attributes per thread, read and written through the class (the metaclass
sees ``BaseRouter.current_event = event``) and through any resolver (``app.current_event``). A single-threaded
caller sees exactly what it saw before.
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

ROUTER_STATE = ("current_event", "lambda_context")
_install_lock = threading.Lock()


class _PerThread:
    """A value each thread sets and reads for itself, as a descriptor on the metaclass (class-level access)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._local = threading.local()

    def get(self) -> Any:
        try:
            return self._local.value
        except AttributeError:
            raise AttributeError(f"{self.name} is not set in this thread (no invocation is running in it)") from None

    def set(self, value: Any) -> None:
        self._local.value = value

    def __get__(self, cls: Any, metaclass: Any = None) -> Any:
        return self.get()

    def __set__(self, cls: Any, value: Any) -> None:
        self.set(value)

    def as_property(self) -> property:
        """The same value for instance access (``app.current_event``)."""
        return property(lambda _self: self.get(), lambda _self, value: self.set(value))


def isolate_router_state() -> None:
    """Make ``BaseRouter``'s invocation state per thread, for the life of the process (idempotent)."""
    with _install_lock:
        if getattr(type(BaseRouter), "per_thread_router_state", False):
            return
        values = {name: _PerThread(name) for name in ROUTER_STATE}
        for name, value in values.items():
            setattr(BaseRouter, name, value.as_property())  # still plain class attributes: set on the class dict
        metaclass = type("PerThreadRouterMeta", (type(BaseRouter),), {"per_thread_router_state": True, **values})
        BaseRouter.__class__ = metaclass
