"""``make bench`` in smoke mode: every figure the benchmark promises is produced (benchmarks measure, tests assert
only that the measuring works; no threshold on any number)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    output = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--json", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(output.read_text()), done.stdout


def number(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_cold_init_of_every_function_is_measured_against_its_floor(smoke):
    results, _ = smoke
    assert set(results["cold"]) == {"create", "resend", "webhook"}
    for cold in results["cold"].values():
        assert number(cold["ours"]["total_ms"]["median"]) and number(cold["floor"]["total_ms"]["median"])
        assert number(cold["ratio"]["median"])
        assert cold["floor_refused_writes"] == 0  # the floor sent exactly the calls the handler sent, and they held
        assert cold["statuses"] in ([200], [201])
    assert number(results["cold"]["webhook"]["ours"]["import_ms"]["median"])


def test_warm_latency_of_each_route_is_measured_against_the_same_io_sent_directly(smoke):
    results, _ = smoke
    routes = {route: result for function in results["warm"].values() for route, result in function["routes"].items()}
    assert set(routes) == {"create", "get", "resend", "click", "webhook", "stats 90 days"}
    for route, result in routes.items():
        assert number(result["ours"]["median"]) and number(result["ours"]["p99"]) and number(result["floor"]["median"])
        assert number(result["p50_ratio"])
        assert result["io"]  # the calls the floor replayed
        assert set(result["statuses"]) == ({302} if route == "click" else set(result["statuses"])) and max(result["statuses"]) < 400
    assert routes["click"]["io"] == {
        "dynamodb.GetItem": 1,
        "dynamodb.TransactWriteItems": 1,
        "wix POST /ecom/v1/order-payment-requests/url": 1,
    }
    assert routes["stats 90 days"]["io"] == {"dynamodb.Query": 1}  # O(days): one Query, however many requests


def test_sweep_scaling_throughput_and_limiter_are_reported(smoke):
    results, _ = smoke
    scaling = results["sweep_scaling"]
    assert number(scaling["ratio"]["median"]) and scaling["scans"] == 0
    load = results["sweep_throughput"]
    assert load["sent"] == load["due"]
    for key in ("calls_per_s", "ideal_calls_per_s", "floor_calls_per_s", "efficiency", "cpu_ms_per_reminder", "floor_cpu_ms_per_reminder"):
        assert number(load[key])
    assert number(load["wix_calls_per_reminder"]) and number(load["reminders_per_s"])
    limiter = load["limiter"]
    assert limiter["wix_calls"] > 0 and number(limiter["max_in_any_60s"])


def test_the_pipeline_is_measured_on_its_real_path_against_its_floor(smoke):
    results, _ = smoke
    line = results["pipeline"]
    assert line["sent"] == line["due"] and line["messages_processed"] == line["batches"] > 0 and line["messages_failed"] == 0
    assert number(line["vs_floor"]) and number(line["max_wix_calls_in_any_60s"]) and number(line["wix_calls_per_reminder"])
    sites = results["pipeline_two_sites"]
    assert sites["healthy_sent"] == sites["healthy_due"] and sites["failing_deferred"] == sites["due_per_site"]


def test_webhook_throughput_is_measured_against_verify_plus_one_write(smoke):
    results, _ = smoke
    webhook = results["webhook_throughput"]
    assert number(webhook["events_per_s"]) and number(webhook["floor_events_per_s"])
    assert webhook["statuses"] == [200] and webhook["floor_refused_writes"] == 0


def test_package_sizes_and_memory_are_reported_for_every_function(smoke):
    results, _ = smoke
    packages = results["packages"]
    assert number(packages["layer_zipped_bytes"]) and number(packages["layer_unzipped_bytes"])
    assert {row["package"] for row in packages["packages"]} >= {"pydantic", "httpx", "payment-links (ours)"}
    assert "boto3" not in {row["package"] for row in packages["packages"]}  # the runtime provides it
    assert set(packages["functions"]) == {"create", "resend", "webhook"}
    for memory in results["memory"].values():
        assert number(memory["peak_rss_mb"]) and number(memory["memory_size_mb"])
    assert number(results["memory"]["resend"]["sweep_peak_rss_mb"])


def test_the_table_prints_a_row_for_every_figure(smoke):
    _, table = smoke
    for row in (
        "cold init create",
        "cold init resend",
        "cold init webhook",
        "warm create",
        "warm get",
        "warm resend",
        "warm webhook",
        "warm click",
        "warm stats 90 days",
        "sweep",
        "limiter on",
        "webhook throughput",
        "layer size",
        "memory webhook",
    ):
        assert row in table
