"""Running a measured child process (``benchmarks.child``) and getting its result back."""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import layer
from benchmarks.stack import BenchStack
from local.template import ROOT


class ChildFailed(RuntimeError):
    pass


def run_child(stack: BenchStack, job: dict[str, Any], timeout: float = 900, **env: str) -> dict[str, Any]:
    """Run one job in a fresh interpreter with the functions' environment; adds ``process_ms`` (spawn to exit)."""
    with tempfile.TemporaryDirectory(prefix="bench-child-") as tmp:
        job_path, result_path = Path(tmp) / "job.pickle", Path(tmp) / "result.pickle"
        job_path.write_bytes(pickle.dumps({"cwd": str(ROOT), "blocked": layer.blocked(), **job}))
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.child", str(job_path), str(result_path)],
            cwd=ROOT,
            env=stack.environment(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        process_ms = (time.perf_counter() - started) * 1000
        if done.returncode != 0 or not result_path.exists():
            raise ChildFailed(f"{job['mode']} {job.get('function', '')} failed ({done.returncode}):\n{done.stderr[-4000:]}")
        result: dict[str, Any] = pickle.loads(result_path.read_bytes())
        result["process_ms"] = process_ms
        result["stderr"] = done.stderr[-2000:]
        return result
