"""What is on the path of a function on Lambda: the layer's requirements (with their dependencies) and the
runtime's boto3 stack, and nothing else.

The development venv holds much more (moto, pytest, rich...), and some libraries import what they find:
httpx loads its command-line client (click, rich, pygments, ~60 ms) whenever those are installed. A measured
process therefore refuses every top-level module that a deployed function could not import (``blocked``).
"""

from __future__ import annotations

import importlib.metadata as metadata
from functools import cache
from pathlib import Path

from packaging.requirements import Requirement

from benchmarks.stack import LAYER_DIR

# The Lambda Python runtime ships these; the layer's Makefile removes them from the build (RUNTIME_PROVIDED).
RUNTIME_PROVIDED = ("boto3",)


def requirements(path: Path = LAYER_DIR / "requirements.txt") -> list[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def closure(roots: list[str]) -> dict[str, metadata.Distribution]:
    """Installed distributions needed by ``roots`` (requirement strings, extras honoured), by normalised name."""
    found: dict[str, metadata.Distribution] = {}
    pending = [(Requirement(root), frozenset(Requirement(root).extras)) for root in roots]
    while pending:
        requirement, extras = pending.pop()
        name = normalise(requirement.name)
        if name in found:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found[name] = distribution
        for text in distribution.requires or []:
            child = Requirement(text)
            if child.marker and not any(child.marker.evaluate({"extra": extra}) for extra in (extras or {""})):
                continue
            pending.append((child, frozenset(child.extras)))
    return found


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def top_level(distribution: metadata.Distribution) -> set[str]:
    """The importable top-level names a distribution installs."""
    names = set()
    for file in distribution.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".data")) or first in ("..", "bin", "__pycache__"):
            continue
        names.add(first.split(".")[0] if first.endswith((".py", ".so", ".pth")) or "." not in first else first)
    return names


@cache
def layer_distributions() -> dict[str, metadata.Distribution]:
    runtime = runtime_distributions()
    return {name: dist for name, dist in closure(requirements()).items() if name not in runtime}


@cache
def runtime_distributions() -> dict[str, metadata.Distribution]:
    return closure(list(RUNTIME_PROVIDED))


def module_owners() -> dict[str, str]:
    """Top-level module name → the layer or runtime distribution that installs it."""
    owners = {}
    for name, distribution in {**runtime_distributions(), **layer_distributions()}.items():
        for module in top_level(distribution):
            owners[module] = name
    return owners


@cache
def blocked() -> list[str]:
    """Top-level modules installed here that a deployed function could not import."""
    allowed = set(module_owners())
    installed = {module for distribution in metadata.distributions() for module in top_level(distribution)}
    return sorted(installed - allowed - {"payment_links", "_distutils_hack", "distutils-precedence"})
