"""A pytest plugin that reads every line the product's Powertools loggers emit, in every test, for leaks.

Contact details and secrets must never reach CloudWatch. This plugin sees each log record a Powertools logger
(or one of its child loggers) hands to its handlers, formats it with that logger's own formatter (so appended
keys, ``extra`` fields and tracebacks are checked exactly as they would be written), and fails the test phase
(setup, call or teardown) during which a line carried:

- a customer e-mail address (masked ones such as ``j***@example.com`` and the configured sender are fine);
- a phone number in international format (masked ones such as ``+1******1234`` are fine);
- a secret: the Wix API keys of the tests and the local stack, the sandbox's OAuth app secret, any PEM private
  key, the unsubscribe signing key, and every secret value moto's Secrets Manager held during the test (so a
  key generated at run time, such as the local stack's unsubscribe key, is covered too).

Lines emitted outside any test (at import, or by a background thread after the last test) are checked at the
end of the session. Wired into every test by ``tests/conftest.py`` (``pytest_plugins``); tests that need to
look at the lines themselves use the ``product_log`` fixture.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

# Secrets that are literals in the tests and the local stack (the Wix API keys, the sandbox's OAuth secret,
# the unsubscribe key of the function tests) and the armour of any PEM private key.
SECRET_LITERALS = (
    "local-wix-key",
    "test-api-key",
    "local-app-secret",
    "unsubscribe-signing-key-for-tests",
    "PRIVATE KEY-----",
)
# Addresses that are ours, not a customer's: the senders the tests and the template configure.
NOT_CUSTOMER_ADDRESSES = frozenset({"payments@shop.test", "payments@example.com"})

# A '*' in the local part (a masked address) cannot match: the character before '@' must be a real one.
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\w*])\+[1-9]\d{7,14}(?!\d)")
# Only long secrets are looked for as substrings: a short one would match ordinary words.
MIN_SECRET_CHARS = 8
_SECRETISH_KEY = re.compile(r"secret|key|password|token", re.IGNORECASE)


@dataclass(frozen=True)
class Leak:
    kind: str  # "e-mail", "phone", "secret"
    line: str

    def describe(self) -> str:
        return f"{self.kind} in: {self.line[:300]}"


def find_leaks(lines: list[str], secrets: set[str] | frozenset[str] = frozenset()) -> list[Leak]:
    """The lines among ``lines`` that carry a contact detail or a secret (the checks of this plugin)."""
    leaks = []
    for line in lines:
        addresses = [a for a in EMAIL.findall(line) if a.lower() not in NOT_CUSTOMER_ADDRESSES]
        if addresses:
            leaks.append(Leak("e-mail", line))
        elif PHONE.search(line):
            leaks.append(Leak("phone", line))
        elif any(secret in line for secret in (*SECRET_LITERALS, *secrets)):
            leaks.append(Leak("secret", line))
    return leaks


def _secret_values(text: str) -> set[str]:
    """The secret parts of one Secrets Manager value: a JSON object's secret-looking fields, else the text.
    Public keys are not secret (the webhook verification key)."""
    if "PUBLIC KEY" in text:
        return set()
    try:
        parsed = json.loads(text)
    except ValueError:
        return {text.strip()} if len(text.strip()) >= MIN_SECRET_CHARS else set()
    if isinstance(parsed, dict):
        return {
            str(value)
            for key, value in parsed.items()
            if _SECRETISH_KEY.search(key) and isinstance(value, str) and len(value) >= MIN_SECRET_CHARS
        }
    return set()


def moto_secret_values() -> set[str]:
    """Every secret value moto's Secrets Manager holds right now (in-process and server mode share it)."""
    try:
        from moto.secretsmanager.models import secretsmanager_backends
    except ImportError:  # pragma: no cover - moto is a test dependency
        return set()
    values: set[str] = set()
    for account in list(secretsmanager_backends.values()):
        for backend in list(account.values()):
            for secret in list(getattr(backend, "secrets", {}).values()):
                for version in list(getattr(secret, "versions", {}).values()):
                    text = version.get("secret_string") if isinstance(version, dict) else None
                    if isinstance(text, str):
                        values |= _secret_values(text)
    return values


def _powertools_formatter(logger: logging.Logger) -> logging.Formatter | None:
    """The Powertools formatter that will write this logger's records (its own or an ancestor's), if any."""
    from aws_lambda_powertools.logging.formatter import BasePowertoolsFormatter

    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if isinstance(handler.formatter, BasePowertoolsFormatter):
                return handler.formatter
        if not current.propagate:
            return None
        current = current.parent  # type: ignore[assignment]
    return None


@dataclass
class ProductLog:
    """The lines the product logged, phase by phase, and the secrets seen so far."""

    lines: list[str] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    total_lines: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, logger: logging.Logger, record: logging.LogRecord) -> None:
        formatter = _powertools_formatter(logger)
        if formatter is None:
            return
        try:
            line = formatter.format(record)
        except Exception:  # never break the product's logging; the raw message is still worth checking
            line = f"{record.getMessage()} {record.__dict__!r}"
        with self.lock:
            self.lines.append(line)
            self.total_lines += 1

    def mark(self) -> int:
        with self.lock:
            return len(self.lines)

    def since(self, mark: int) -> list[str]:
        with self.lock:
            return list(self.lines[mark:])

    def leaks_since(self, mark: int) -> list[Leak]:
        self.secrets |= moto_secret_values()
        return find_leaks(self.since(mark), self.secrets)

    def discard_since(self, mark: int) -> None:
        """Forget lines a test emitted on purpose (the plugin's own self-test)."""
        with self.lock:
            del self.lines[mark:]

    def take_leaks(self) -> list[Leak]:
        """The leaks among the lines seen so far, which are then forgotten (memory stays small)."""
        leaks = self.leaks_since(0)
        with self.lock:
            self.lines.clear()
        return leaks


_product_log = ProductLog()
_original_call_handlers = logging.Logger.callHandlers


def _observing_call_handlers(self: logging.Logger, record: logging.LogRecord) -> None:
    # callHandlers is where every record that passed the level and filters goes, from any thread.
    _product_log.observe(self, record)
    _original_call_handlers(self, record)


def pytest_configure(config: pytest.Config) -> None:
    logging.Logger.callHandlers = _observing_call_handlers  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    logging.Logger.callHandlers = _original_call_handlers  # type: ignore[method-assign]


@pytest.fixture
def product_log() -> ProductLog:
    """What the product logged (for tests that read their own lines)."""
    return _product_log


_unattributed: list[Leak] = []


def _check_phase(when: str) -> Iterator[None]:
    # Lines from between phases (a background thread of a package-scoped stack) are checked at the end.
    _unattributed.extend(_product_log.take_leaks())
    outcome = yield
    leaks = _product_log.take_leaks()
    if leaks and outcome.exception is None:  # type: ignore[attr-defined]
        listed = "\n  ".join(leak.describe() for leak in leaks[:5])
        outcome.force_exception(  # type: ignore[attr-defined]
            AssertionError(f"the product logged {len(leaks)} line(s) with contact details or secrets during {when}:\n  {listed}")
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    yield from _check_phase("setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield from _check_phase("the test")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: Any) -> Iterator[None]:
    yield from _check_phase("teardown")


WORKER_OUTPUT_KEY = "product_log_leaks"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist, in the controller: a worker's leaks outside any test become this run's."""
    for line in getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, []):
        _unattributed.append(Leak("(worker)", line))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _unattributed.extend(_product_log.take_leaks())
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:  # a pytest-xdist worker: the controller reports (pytest_testnodedown)
        worker_output[WORKER_OUTPUT_KEY] = [leak.describe() for leak in _unattributed]
        return
    if _unattributed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "contact details or secrets in the product's logs outside any test", red=True)
            for leak in _unattributed[:10]:
                reporter.write_line(leak.describe())
