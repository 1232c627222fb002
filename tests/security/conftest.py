"""Fixtures of the security suite: one local stack (API Gateway with its API key, moto, the Wix sandbox) per module
that asks for it (RELIABILITY_MUTANT removals are applied by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local.stack import LocalStack, StackConfig


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = StackConfig(api_port=0, moto_port=0, sandbox_port=0, state_dir=tmp_path_factory.mktemp("security-state"), schedule=False)
    with LocalStack(config) as stack:
        yield stack


@pytest.fixture
def sandbox(local_stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_stack.sandbox_url, timeout=30) as client:
        yield client
