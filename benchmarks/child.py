"""One measured process: ``python -m benchmarks.child JOB RESULT`` (both pickle files written/read by the parent).

A function runs here alone, the way Lambda runs it: a fresh interpreter with the function's directory first on
the path and the layer after it, talking over loopback to the moto server and Wix sandbox of the parent. Only
the standard library is imported before the clock starts, so a cold figure holds nothing but the function's
own imports and work. Modes: ``load_files``, ``cold``, ``cold_floor``, ``warm``, ``sweep``, ``worker``,
``webhook_throughput``.
"""

from __future__ import annotations

import importlib
import os
import pickle
import sys
import time
from typing import Any

from benchmarks.lambda_process import (
    Context,
    LambdaPath,
    compile_ms,
    cpu_seconds,
    elapsed_ms,
    import_handler,
    invoke,
    peak_rss_mb,
    top_level_modules,
)

# -- modes ---------------------------------------------------------------------------------------------------


def cold(job: dict[str, Any]) -> dict[str, Any]:
    function = job["function"]
    started = time.perf_counter()
    cpu_started = cpu_seconds()
    app = import_handler(function)
    import_ms = elapsed_ms(started)
    import_cpu_ms = (cpu_seconds() - cpu_started) * 1000
    modules_at_init = top_level_modules()
    from benchmarks.iotrace import IoRecorder

    recorder = IoRecorder().install()
    first = time.perf_counter()
    status = invoke(app, function, job["event"])
    first_ms = elapsed_ms(first)
    cpu_ms = (cpu_seconds() - cpu_started) * 1000
    return {
        "import_ms": import_ms,
        "first_ms": first_ms,
        "cpu_ms": cpu_ms,
        "import_cpu_ms": import_cpu_ms,
        "compile_ms": compile_ms(set(job.get("layer_modules", ()))),
        "status": status,
        "calls": recorder.take(),
        "modules_at_init": modules_at_init,
        "peak_rss_mb": peak_rss_mb(),
    }


def load_files(job: dict[str, Any]) -> dict[str, Any]:
    """Imports the function and exits: its files are then in the page cache for the measured pair that follows."""
    import_handler(job["function"])
    return {}


def cold_floor(job: dict[str, Any]) -> dict[str, Any]:
    from benchmarks import floors

    started = time.perf_counter()
    cpu_started = cpu_seconds()
    state = floors.cold_init(job["function"])
    import_ms = elapsed_ms(started)
    from benchmarks.iotrace import Replayer

    first = time.perf_counter()
    replayer = Replayer()
    floors.serve(job["function"], state, replayer, job["calls"], job.get("extra"))
    first_ms = elapsed_ms(first)
    cpu_ms = (cpu_seconds() - cpu_started) * 1000
    return {"import_ms": import_ms, "first_ms": first_ms, "cpu_ms": cpu_ms, "refused": replayer.refused, "peak_rss_mb": peak_rss_mb()}


def warm(job: dict[str, Any]) -> dict[str, Any]:
    """Warm-up (handler only, every route incl. the untimed ones), then handler and floor taking turns."""
    from benchmarks import floors
    from benchmarks.iotrace import IoRecorder, Replayer, retarget_tables

    function = job["function"]
    app = import_handler(function)
    recorder = IoRecorder().install()
    warmup_calls = []
    for event in job["warmup"]:
        invoke(app, function, event)
        warmup_calls.append(recorder.take())
    rss_handler = peak_rss_mb()
    modules = top_level_modules()

    recorder.paused = True  # from here on the process also sends the floor's calls, which are not the handler's
    state = floors.cold_init(function)
    replayer = Replayer()
    for calls in warmup_calls:  # keeps the floor's mirror tables where the handler's tables are
        replayer.replay(retarget_tables(calls, job["mirror"]))
    replayer.refused = 0

    results: dict[str, Any] = {}
    for route, events in job["routes"].items():
        handler_ms, floor_ms, handler_cpu_ms, statuses, signatures = [], [], [], set(), []
        for event, extra in events:
            recorder.paused = False
            cpu = cpu_seconds()
            started = time.perf_counter()
            statuses.add(invoke(app, function, event))
            handler_ms.append(elapsed_ms(started))
            handler_cpu_ms.append((cpu_seconds() - cpu) * 1000)
            recorder.paused = True
            calls = retarget_tables(recorder.take(), job["mirror"])
            signatures.append(calls)
            started = time.perf_counter()
            floors.serve(function, state, replayer, calls, extra)
            floor_ms.append(elapsed_ms(started))
        results[route] = {
            "handler_ms": handler_ms,
            "floor_ms": floor_ms,
            "handler_cpu_ms": handler_cpu_ms,
            "statuses": sorted(statuses),
            "calls": signatures[-1] if signatures else [],
        }
    return {
        "routes": results,
        "peak_rss_mb": rss_handler,
        "peak_rss_with_floor_mb": peak_rss_mb(),
        "modules": modules,
        "refused": replayer.refused,
    }


def sweep(job: dict[str, Any]) -> dict[str, Any]:
    """One scheduled sweep through the resend handler (after an untimed one at a time when nothing is due),
    then, if asked, its floor: every thread's calls sent again by as many plain-client threads."""
    import httpx

    from benchmarks.iotrace import IoRecorder, signature

    app = import_handler("resend")
    invoke(app, "resend", job["warmup_event"], timeout_seconds=job["timeout_seconds"])
    sent_at: list[float] = []
    handle = httpx.HTTPTransport.handle_request

    def stamped(transport: Any, request: Any) -> Any:
        sent_at.append(time.monotonic())  # after the client's hooks, so after the rate limiter let it go
        return handle(transport, request)

    httpx.HTTPTransport.handle_request = stamped  # type: ignore[method-assign]
    recorder = IoRecorder().install() if job["record"] else None
    started_monotonic = time.monotonic()
    started, cpu = time.perf_counter(), cpu_seconds()
    response = app.lambda_handler(job["event"], Context("resend", job["timeout_seconds"]))
    duration_ms = elapsed_ms(started)
    cpu_ms = (cpu_seconds() - cpu) * 1000
    result = {
        "duration_ms": duration_ms,
        "cpu_ms": cpu_ms,
        "summary": response,
        "wix_sent_at": [t - started_monotonic for t in sent_at],
        "peak_rss_mb": peak_rss_mb(),
    }
    if recorder is not None:
        recorder.paused = True
        by_thread = recorder.take_by_thread()
        result["calls"] = dict(signature([call for calls in by_thread for call in calls]))
        if job.get("mirror"):
            result["floor_ms"], result["floor_cpu_ms"] = _replay_in_threads(by_thread, job["mirror"])
    return result


def worker(job: dict[str, Any]) -> dict[str, Any]:
    """One reminder worker, as Lambda's SQS event source runs it: take a message, invoke the resend handler with
    it, delete it unless reported failed; stop once the queue has stayed empty for ``idle_polls`` polls."""
    import boto3

    from benchmarks.lambda_process import elapsed_ms
    from local.queue_workers import sqs_event  # Lambda's SQS event, as the local stack's pollers build it

    app = import_handler("resend")
    sqs = boto3.client("sqs")
    queue_url = job["queue_url"]
    processed, failed, idle, last_done = 0, 0, 0, None
    started, cpu = time.perf_counter(), cpu_seconds()
    while idle < job["idle_polls"]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1, AttributeNames=["All"]).get(
            "Messages", []
        )
        if not messages:
            idle += 1
            continue
        idle = 0
        try:
            event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:reminders", "us-east-1")
            response = app.lambda_handler(event, Context("resend", 300))
            failures = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        except Exception:  # Powertools raises when every record of the batch failed: Lambda's error, all come back
            failures = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] in failures:
                failed += 1  # back on the queue now (Lambda would wait out the visibility timeout)
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        processed += len(messages)
        last_done = time.time()
    return {
        "processed": processed,
        "failed": failed,
        "last_done": last_done,
        "cpu_ms": (cpu_seconds() - cpu) * 1000,
        "ran_ms": elapsed_ms(started),
    }


def _replay_in_threads(by_thread: list[list[Any]], mirror: dict[str, str]) -> tuple[float, float]:
    """The sweep's calls with nothing of ours: the caller's thread first (its queries), the workers together.
    Returns wall and CPU milliseconds."""
    import threading

    from benchmarks.iotrace import Replayer, retarget_tables

    main, *workers = [retarget_tables(calls, mirror) for calls in by_thread]
    replayer = Replayer(max_connections=len(workers) + 2)
    for service in {call[1] for calls in by_thread for call in calls if call[0] == "aws"}:
        replayer.client(service)  # the handler's clients existed before its timed sweep too
    replayer.http()
    threads = [threading.Thread(target=replayer.replay, args=(calls,)) for calls in workers]
    started, cpu = time.perf_counter(), cpu_seconds()
    replayer.replay(main)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return elapsed_ms(started), (cpu_seconds() - cpu) * 1000


def webhook_throughput(job: dict[str, Any]) -> dict[str, Any]:
    """Events through the webhook handler against the floor (one RS256 verify + one conditional write),
    in alternating chunks so a change in machine load hits both alike."""
    from benchmarks import floors
    from benchmarks.iotrace import IoRecorder

    app = import_handler("webhook")
    for event in job["warmup"]:
        invoke(app, "webhook", event)
    floor = floors.WebhookFloor(job["public_key_pem"], job["floor_table"])
    for token, key in job["floor_warmup"]:
        floor.apply(token, key)
    recorder = IoRecorder().install()  # records the first event only: what one event costs in calls
    handler_s = floor_s = 0.0
    statuses: set[int] = set()
    chunk = job["chunk"]
    events, floor_events = job["events"], job["floor_events"]
    for start in range(0, len(events), chunk):
        began = time.perf_counter()
        for event in events[start : start + chunk]:
            statuses.add(invoke(app, "webhook", event))
            recorder.paused = True
        handler_s += time.perf_counter() - began
        began = time.perf_counter()
        for token, key in floor_events[start : start + chunk]:
            floor.apply(token, key)
        floor_s += time.perf_counter() - began
    return {
        "handler_s": handler_s,
        "floor_s": floor_s,
        "events": len(events),
        "statuses": sorted(statuses),
        "refused": floor.refused,
        "last_calls": recorder.take(),
    }


MODES = {
    "load_files": load_files,
    "cold": cold,
    "cold_floor": cold_floor,
    "warm": warm,
    "sweep": sweep,
    "worker": worker,
    "webhook_throughput": webhook_throughput,
}


def main(argv: list[str]) -> int:
    job_path, result_path = argv
    with open(job_path, "rb") as handle:
        job = pickle.load(handle)
    os.chdir(job.get("cwd", os.getcwd()))
    sys.meta_path.insert(0, LambdaPath(job.get("blocked", [])))
    # Loaded before any clock starts, whatever the mode: the floor needs them, and the standard-library modules
    # they bring (threading, dataclasses, urllib.parse...) would otherwise be timed on one side of a pair only.
    importlib.import_module("benchmarks.floors")
    result = MODES[job["mode"]](job)
    with open(result_path, "wb") as handle:
        pickle.dump(result, handle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
