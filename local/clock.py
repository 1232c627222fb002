"""The schedule, locally: moto's EventBridge does not invoke Lambda, so a thread does what the rule would.

``SimulatedClock`` runs ``speed`` times faster than the wall clock from the moment the stack starts (speed 60:
one real second is one minute). ``ScheduleDriver`` invokes each ``Type: Schedule`` event of the template
every ``rate / speed`` real seconds (or every ``interval`` if given) with a scheduled event whose ``time`` is
the simulated now, which is the time the sweep treats as current.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from local.environment import ACCOUNT_ID, Schedule

logger = logging.getLogger("local.clock")


class SimulatedClock:
    def __init__(self, speed: float = 1.0):
        if speed <= 0:
            raise ValueError("the clock speed must be above zero")
        self.speed = speed
        self._wall_start = datetime.now(UTC)
        self._monotonic_start = time.monotonic()

    def now(self) -> datetime:
        elapsed = time.monotonic() - self._monotonic_start
        return self._wall_start + timedelta(seconds=elapsed * self.speed)


def format_event_time(at: datetime) -> str:
    """EventBridge's format: UTC, whole seconds, ``Z``."""
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def scheduled_event(schedule: Schedule, at: datetime, stack_name: str, region: str) -> dict[str, Any]:
    """The event EventBridge hands a function for a schedule rule firing at ``at``."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": format_event_time(at),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{stack_name}-{schedule.function}{schedule.event}"],
        "detail": {},
    }


class ScheduleDriver:
    """One thread per schedule, each firing on its own period until ``stop()``."""

    def __init__(
        self,
        schedules: list[Schedule],
        clock: SimulatedClock,
        fire: Callable[[Schedule, datetime], Any],
        interval: float | None = None,
    ):
        self.schedules = schedules
        self.clock = clock
        self.fire = fire
        self.interval = interval
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def period(self, schedule: Schedule) -> float:
        """Real seconds between two runs of ``schedule``."""
        return self.interval if self.interval else schedule.rate_seconds / self.clock.speed

    def start(self) -> ScheduleDriver:
        self._stopping.clear()
        for schedule in self.schedules:
            thread = threading.Thread(target=self._run, args=(schedule,), name=f"schedule-{schedule.event}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join()  # a run in progress finishes first, like a Lambda invocation would
        self._threads = []

    def _run(self, schedule: Schedule) -> None:
        period = self.period(schedule)
        next_run = time.monotonic() + period
        while not self._stopping.wait(max(0.0, next_run - time.monotonic())):
            at = self.clock.now()
            try:
                result = self.fire(schedule, at)
                logger.info("%s at %s: %s", schedule.event, format_event_time(at), _summary(result))
            except Exception:
                logger.exception("%s at %s failed", schedule.event, format_event_time(at))
            # Like EventBridge, a slow run does not make the next ones bunch up.
            next_run = max(next_run + period, time.monotonic())


def _summary(result: Any) -> str:
    if isinstance(result, dict):
        return ", ".join(f"{key}={value}" for key, value in result.items() if not isinstance(value, (dict, list)))
    return str(result)
