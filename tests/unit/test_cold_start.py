"""The functions import with the garbage collector paused and leave it running, their imports frozen out of it."""

from __future__ import annotations

import gc
import importlib.util
import sys

import pytest
from payment_links import cold_start

from tests.support.lambda_runtime import ROOT


@pytest.mark.parametrize("function", ["create", "resend", "webhook"])
def test_a_loaded_function_leaves_the_collector_enabled_with_its_imports_frozen(function: str) -> None:
    gc.unfreeze()
    name = f"cold_start_probe_{function}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        sys.modules.pop(name, None)
        gc.unfreeze()


def test_pause_then_settle() -> None:
    try:
        cold_start.pause_collector()
        assert not gc.isenabled()
        cold_start.settle()
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.enable()
        gc.unfreeze()
