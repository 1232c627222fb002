"""Pushing signed webhooks to the configured URL, from one background thread.

An API call never waits for the receiver. Delivery honours the state's policy (copies, shuffle, delay) and
retries a failed delivery a few times, quickly. Domain events and the app's lifecycle events (``events.py``)
travel the same way, each signed with the site it belongs to in the envelope's ``instanceId``.
"""

from __future__ import annotations

import random
import threading
import time
from queue import Empty, Queue

import httpx

from .events import DEFAULT_APP_ID, Event, sign_event
from .formats import format_timestamp, utc_now
from .keys import WebhookKeys
from .state import SandboxState


class WebhookDispatcher:
    """Pushes events to the webhook URL from a background thread, following the state's delivery policy."""

    def __init__(
        self,
        state: SandboxState,
        keys: WebhookKeys,
        *,
        url: str | None,
        app_id: str = DEFAULT_APP_ID,
        shuffle_window_seconds: float = 0.3,
        request_timeout_seconds: float = 5.0,
        retry_delays_seconds: tuple[float, ...] = (0.2, 0.5),
    ):
        self.state = state
        self.keys = keys
        self.url = url
        self.app_id = app_id
        self.shuffle_window_seconds = shuffle_window_seconds
        self.request_timeout_seconds = request_timeout_seconds
        self.retry_delays_seconds = retry_delays_seconds
        self._queue: Queue[Event | None] = Queue()  # None asks the worker to stop
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None

    def start(self) -> None:
        self._stopping.clear()
        # Drop the stop sentinel a previous stop() may have left, keeping any events still waiting.
        waiting = [event for event in list(self._queue.queue) if event is not None]
        self._queue = Queue()
        for event in waiting:
            self._queue.put(event)
        self._thread = threading.Thread(target=self._run, name="wix-sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put(None)  # wakes the worker now rather than at its next poll
        if self._thread:
            self._thread.join(timeout=5)
        if self._client:
            self._client.close()
            self._client = None

    def publish(self, event: Event) -> None:
        """Queue an event for delivery; never blocks on the receiver."""
        with self._idle:
            self._pending += 1
        self._queue.put(event)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every published event has been delivered (or given up on)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                first = self._queue.get(timeout=0.5)
            except Empty:
                continue
            if first is None:
                break
            policy = self.state.get_webhook_policy()
            batch = [first]
            if policy.shuffle:
                batch += self._collect_for(self.shuffle_window_seconds)
            deliveries = [(event, copy) for event in batch for copy in range(1, policy.copies + 1)]
            if policy.shuffle:
                random.shuffle(deliveries)
            for event, copy in deliveries:
                if policy.delay_ms and self._stopping.wait(policy.delay_ms / 1000):
                    break
                self._deliver(event, copy)
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()

    def _collect_for(self, seconds: float) -> list[Event]:
        """Events published within the window, so a shuffle has something to reorder."""
        collected = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self._queue.get(timeout=remaining)
            except Empty:
                break
            if event is None:
                self._stopping.set()
                break
            collected.append(event)
        return collected

    def _deliver(self, event: Event, copy: int) -> None:
        url = self.url
        attempts = 1 + len(self.retry_delays_seconds)
        for attempt in range(1, attempts + 1):
            # Issued when the event happened, not per attempt: a copy, a retry or a reordered delivery repeats the
            # event as it was, and receivers order lifecycle events (which have no sequence) by ``iat``.
            body = sign_event(event.envelope(self.app_id), self.keys.private_key, kid=self.keys.kid, issued_at=event.occurred_at)
            record = {
                "eventId": event.event_id,
                "eventType": event.event_type,
                "instanceId": event.instance_id,
                **event.delivery_fields(),
                "copy": copy,
                "attempt": attempt,
                "url": url,
                "status": None,
                "error": None,
                "at": format_timestamp(utc_now()),
                "jwt": body,
            }
            if url is None:
                record["error"] = "no webhook URL configured"
                self.state.record_delivery(record)
                return
            if self._client is None:
                # Made on first use: building an HTTP client (with its TLS context) is slow, and most runs never need one.
                self._client = httpx.Client(timeout=self.request_timeout_seconds)
            started = time.monotonic()
            try:
                response = self._client.post(url, content=body, headers={"Content-Type": "text/plain"})
                record["status"] = response.status_code
            except httpx.HTTPError as error:
                record["error"] = f"{type(error).__name__}: {error}"
            record["durationMs"] = round((time.monotonic() - started) * 1000)
            self.state.record_delivery(record)
            if record["status"] == 200 or attempt == attempts:
                return
            if self._stopping.wait(self.retry_delays_seconds[attempt - 1]):
                return
