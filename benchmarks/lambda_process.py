"""The Lambda side of a measured process: its context object, its import path, and what it costs.

Only the standard library: a measured process imports this module before its clock starts.
"""

from __future__ import annotations

import importlib
import importlib.abc
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class Context:
    """The Lambda context object: what the handlers read from it."""

    def __init__(self, function: str, timeout_seconds: float = 29.0, memory_mb: int = 512) -> None:
        self.function_name = f"bench-{function}"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:bench-{function}"
        self.aws_request_id = f"bench-{time.monotonic_ns()}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaPath(importlib.abc.MetaPathFinder):
    """Refuses the modules a deployed function could not import (installed here, in no layer or runtime)."""

    def __init__(self, blocked: list[str]) -> None:
        self.blocked = frozenset(blocked)

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname.partition(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named {fullname!r} (not on Lambda's path)", name=fullname)
        return None


def peak_rss_mb() -> float:
    """This process's peak RSS. Not ``ru_maxrss``: Linux carries that over an exec from the forked parent."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def top_level_modules() -> list[str]:
    return sorted({name.split(".")[0] for name in sys.modules})


def compile_ms(top_levels: set[str]) -> float:
    """What compiling the imported layer modules from source costs: paid on every cold start when the layer
    ships without bytecode for the runtime's Python (the directory is read-only, so nothing is cached)."""
    total = 0.0
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name.partition(".")[0] not in top_levels or not path or not path.endswith(".py"):
            continue
        with open(path, "rb") as source:
            text = source.read()
        started = time.perf_counter()
        compile(text, path, "exec", dont_inherit=True)
        total += time.perf_counter() - started
    return total * 1000


def import_handler(function: str) -> Any:
    """Import ``functions/<name>/app.py`` as Lambda does: the function's directory first on the path."""
    sys.path.insert(0, str(ROOT / "functions" / function))
    return importlib.import_module("app")


def invoke(app: Any, function: str, event: dict[str, Any], timeout_seconds: float = 29.0) -> int:
    response = app.lambda_handler(event, Context(function, timeout_seconds))
    return int(response.get("statusCode", 200)) if isinstance(response, dict) else 200


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
