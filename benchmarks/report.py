"""The table ``make bench`` prints: one row per figure, ours against its floor, the ratio with its spread, the goal.

Ratios are time over time (ours / floor: above 1 is slower than the floor), the median of pairs measured side
by side, with the interquartile range of those pairs as the spread.
"""

from __future__ import annotations

import re
from typing import Any

MB = 1024 * 1024
# Lambda gives a function one full vCPU at 1,769 MB and a share proportional to memory below that.
FULL_VCPU_MB = 1769
MEMORY_SIZES = (256, 512, 1024, FULL_VCPU_MB)


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _iqr(summary: dict[str, Any]) -> str:
    return f"{summary['p25']:.2f}-{summary['p75']:.2f}" if summary.get("n") else "-"


def _ok(passed: bool) -> str:
    return "ok" if passed else "MISSED"


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """(figure, ours, floor, ratio, spread, goal) for every figure present."""
    out: list[tuple[str, str, str, str, str, str]] = []
    for function, cold in results.get("cold", {}).items():
        ratio = cold["ratio"]["median"]
        out.append(
            (
                f"cold init {function} (import + 1st event)",
                _ms(cold["ours"]["total_ms"]["median"]),
                _ms(cold["floor"]["total_ms"]["median"]),
                f"{ratio:.2f}x",
                _iqr(cold["ratio"]),
                f"<=1.15x {_ok(ratio <= 1.15)}",
            )
        )
    bytecode = results.get("packages", {}).get("bytecode")
    for function, cold in results.get("cold", {}).items():
        compiled = cold.get("compile_without_bytecode_ms", {})
        if compiled.get("n"):
            if bytecode is None:
                verdict = "paid per cold start by a layer without .pyc"
            else:
                verdict = "0 on Lambda: the built layer has .pyc" if bytecode else "paid per cold start: the built layer has no .pyc"
            out.append((f"  {function}: compiling its layer modules from source", _ms(compiled["median"]), "-", "-", "-", verdict))
    if "webhook" in results.get("cold", {}):
        cold = results["cold"]["webhook"]
        out.append(
            (
                "  webhook cold, absolute: import / 1st event",
                f"{_ms(cold['ours']['import_ms']['median'])} / {_ms(cold['ours']['first_ms']['median'])}",
                f"{_ms(cold['floor']['import_ms']['median'])} / {_ms(cold['floor']['first_ms']['median'])}",
                f"{cold['import_ratio']['median']:.2f}x",
                _iqr(cold["import_ratio"]),
                "Wix waits 1250 ms",
            )
        )
    for function in results.get("warm", {}).values():
        for route, warm in function["routes"].items():
            ratio = warm["p50_ratio"]
            out.append(
                (
                    f"warm {route} p50 / p99",
                    f"{_ms(warm['ours']['median'])} / {_ms(warm['ours']['p99'])}",
                    f"{_ms(warm['floor']['median'])} / {_ms(warm['floor']['p99'])}",
                    f"{ratio:.2f}x",
                    _iqr(warm["paired_ratio"]),
                    f"<=1.25x {_ok(ratio <= 1.25)}",
                )
            )
    scaling = results.get("sweep_scaling")
    if scaling:
        ratio = scaling["ratio"]["median"]
        out.append(
            (
                f"sweep {scaling['due']} due: {scaling['stored']:,} stored vs {scaling['due']}",
                _ms(scaling["big_ms"]["median"]),
                _ms(scaling["small_ms"]["median"]),
                f"{ratio:.2f}x",
                _iqr(scaling["ratio"]),
                f"<=1.5x {_ok(ratio <= 1.5)}, Scans: {scaling['scans']}",
            )
        )
    load = results.get("sweep_throughput")
    if load:
        sent = "" if load["sent"] == load["due"] else f", {load['sent']:,} sent ({load['stopped_early']})"
        out.append(
            (
                f"sweep {load['due']:,} due{sent}, Wix {load['latency_ms']} ms: reminders/s",
                f"{load['reminders_per_s']:.0f}/s",
                f"{load['floor_reminders_per_s']:.0f}/s",
                f"{load['floor_reminders_per_s'] / load['reminders_per_s']:.2f}x",
                "-",
                f"<=1.3x the floor {_ok(load['floor_reminders_per_s'] / load['reminders_per_s'] <= 1.3)}",
            )
        )
        out.append(
            (
                "  Wix calls per reminder sent",
                f"{load['wix_calls_per_reminder']:.3f}",
                "-",
                "-",
                "-",
                f"<=0.05 (was 2.0) {_ok(load['wix_calls_per_reminder'] <= 0.05)}",
            )
        )
        out.append(
            (
                "  CPU per reminder (this core)",
                _ms(load["cpu_ms_per_reminder"]),
                _ms(load["floor_cpu_ms_per_reminder"]),
                f"{load['cpu_ms_per_reminder'] / load['floor_cpu_ms_per_reminder']:.2f}x",
                "-",
                f"1 vCPU allows {1000 / load['cpu_ms_per_reminder']:.0f} reminders/s",
            )
        )
        limiter = load["limiter"]
        out.append(
            (
                f"  limiter on ({limiter['quota_per_minute']}/min), {limiter['ran_s']:.0f} s",
                f"max {limiter['max_in_any_60s']} in 60 s",
                f"{limiter['steady_calls_per_s']:.2f}/s steady",
                "-",
                "-",
                f"<={limiter['quota_per_minute']} {_ok(limiter['max_in_any_60s'] <= limiter['quota_per_minute'])}",
            )
        )
    line = results.get("pipeline")
    if line:
        out.append(
            (
                f"pipeline {line['due']:,} due, {line['workers']} workers, SES {line['ses_rate']:.0f}/s, Wix {line['latency_ms']} ms",
                f"{line['wall_s']:.0f} s",
                f"{line['floor_s']:.0f} s",
                f"{line['vs_floor']:.2f}x",
                "-",
                f"<=1.3x {_ok(line['vs_floor'] <= 1.3)}",
            )
        )
        out.append(
            (
                f"  Wix calls: {line['wix_calls']} ({line['wix_calls_per_reminder']:.3f} a reminder)",
                f"max {line['max_wix_calls_in_any_60s']} in 60 s",
                "-",
                "-",
                "-",
                f"<={line['quota_per_minute']} {_ok(line['max_wix_calls_in_any_60s'] <= line['quota_per_minute'])}",
            )
        )
    sites = results.get("pipeline_two_sites")
    if sites:
        out.append(
            (
                "  two sites, one's Wix down: the other's sent",
                f"{sites['healthy_sent']} of {sites['healthy_due']}",
                "-",
                "-",
                "-",
                f"all {_ok(sites['healthy_sent'] == sites['healthy_due'])}",
            )
        )
    webhook = results.get("webhook_throughput")
    if webhook:
        out.append(
            (
                "webhook throughput (paid events/s)",
                f"{webhook['events_per_s']:.0f}/s",
                f"{webhook['floor_events_per_s']:.0f}/s",
                f"{webhook['ratio']:.2f}x",
                "-",
                f"{sum(webhook['io_per_event'].values())} calls/event vs 1",
            )
        )
    packages = results.get("packages")
    if packages:
        zipped = packages["layer_zipped_bytes"] / MB
        out.append(
            (
                "layer size, zipped / unzipped",
                f"{zipped:.1f} / {packages['layer_unzipped_bytes'] / MB:.1f} MB",
                "-",
                "-",
                "-",
                f"<=15 MB {_ok(zipped <= packages['zip_limit_mb'])}; imported by no function: {_unused(packages)}",
            )
        )
        for function, size in packages["functions"].items():
            kilobytes = f"{size['zipped_bytes'] / 1024:.1f} / {size['unzipped_bytes'] / 1024:.1f} KB"
            out.append((f"  function {function}, zipped / unzipped", kilobytes, "-", "-", "-", ""))
    for function, memory in results.get("memory", {}).items():
        out.append(
            (
                f"memory {function}: peak RSS (warm)",
                f"{memory['peak_rss_mb']:.0f} MB",
                "-",
                "-",
                "-",
                f"MemorySize {memory['memory_size_mb']} MB",
            )
        )
    return out


def _unused(packages: dict[str, Any]) -> str:
    if not packages.get("imports_measured"):
        return "not measured (needs the warm section)"
    return ", ".join(packages["unused"]) or "none"


def table(results: dict[str, Any]) -> str:
    header = ("figure", "ours", "floor", "ratio", "spread (IQR)", "goal")
    body = rows(results)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *body]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def packages_table(packages: dict[str, Any]) -> str:
    lines = [f"{'package':28} {'zipped':>10} {'unzipped':>10}  imported by"]
    for row in packages["packages"]:
        sizes = f"{row['zipped_bytes'] / 1024:>8.0f}KB {row['unzipped_bytes'] / 1024:>8.0f}KB"
        lines.append(f"{row['package']:28} {sizes}  {', '.join(row['imported_by']) or '-'}")
    return "\n".join(lines)


def memory_model(
    cold: dict[str, Any], warm: dict[str, Any], template_sizes: dict[str, int], sweep: dict[str, Any] | None
) -> dict[str, Any]:
    """Per function: peak RSS, and the CPU of a cold start and of a warm request at each memory size.

    Lambda gives a function CPU in proportion to its memory (one vCPU at 1,769 MB), except during an
    on-demand init, which runs unthrottled: so the import is counted as measured and the first event and warm
    requests are stretched by 1,769 / size. For the sweep: the reminders a second its CPU allows at each size,
    next to what Wix's quota allows (its waits on Wix and AWS overlap across threads; its CPU does not)."""
    model: dict[str, Any] = {}
    for function, result in warm.items():
        ours = cold.get(function, {})
        init_cpu = ours.get("import_cpu_ms", {}).get("median", 0.0)
        first_cpu = max(ours.get("ours", {}).get("cpu_ms", {}).get("median", 0.0) - init_cpu, 0.0)
        warm_cpu = max(route["ours_cpu"]["median"] for route in result["routes"].values())
        model[function] = {
            "peak_rss_mb": result["peak_rss_mb"],
            "memory_size_mb": template_sizes.get(function),
            "init_cpu_ms": init_cpu,
            "first_event_cpu_ms": first_cpu,
            "warm_cpu_ms": warm_cpu,
            # keyed by str(size): the same after a round trip through JSON
            "est_cold_ms": {str(size): init_cpu + first_cpu * FULL_VCPU_MB / size for size in MEMORY_SIZES},
            "est_warm_cpu_ms": {str(size): warm_cpu * FULL_VCPU_MB / size for size in MEMORY_SIZES},
        }
    if sweep and "resend" in model:
        per_reminder = sweep["cpu_ms_per_reminder"]
        wix_calls_per_reminder = sweep["wix_calls"] / max(sweep["sent"], 1)
        model["resend"]["sweep_cpu_ms_per_reminder"] = per_reminder
        model["resend"]["sweep_cpu_allows_per_s"] = {str(size): 1000 * size / (per_reminder * FULL_VCPU_MB) for size in MEMORY_SIZES}
        model["resend"]["sweep_quota_allows_per_s"] = sweep["limiter"]["quota_per_minute"] / 60 / wix_calls_per_reminder
        model["resend"]["sweep_peak_rss_mb"] = sweep["peak_rss_mb"]
    return model


def memory_table(model: dict[str, Any]) -> str:
    sizes = "".join(f"{size:>9} MB" for size in MEMORY_SIZES)
    lines = [f"{'function':9} {'peak RSS':>9} {'template':>9}  {'':22}{sizes}"]
    for function, row in model.items():
        head = f"{function:9} {row['peak_rss_mb']:>6.0f} MB {row['memory_size_mb'] or '-':>6} MB"
        cold = "".join(f"{row['est_cold_ms'][str(size)]:>9.0f} ms" for size in MEMORY_SIZES)
        warm = "".join(f"{row['est_warm_cpu_ms'][str(size)]:>9.0f} ms" for size in MEMORY_SIZES)
        lines.append(f"{head}  {'cold start CPU':22}{cold}")
        lines.append(f"{'':29}  {'warm request CPU':22}{warm}")
        if "sweep_cpu_allows_per_s" in row:
            ceiling = "".join(f"{row['sweep_cpu_allows_per_s'][str(size)]:>10.1f}/s" for size in MEMORY_SIZES)
            lines.append(f"{'':29}  {'sweep: CPU allows':22}{ceiling}")
            lines.append(f"{'':29}  {'sweep: quota allows':22}{row['sweep_quota_allows_per_s']:>10.1f}/s at any size")
            lines.append(f"{'':29}  sweep's peak RSS: {row['sweep_peak_rss_mb']:.0f} MB")
    return "\n".join(lines)


def _key(label: str) -> str:
    # Without what varies between runs: how long the limiter ran, how many a sweep sent before it stopped.
    return re.sub(r", \d+ s$|, [\d,]+ sent \([^)]*\)", "", label.strip())


def compare(before: dict[str, Any], after: dict[str, Any]) -> str:
    """A Markdown table of two runs' figures side by side (``python -m benchmarks --compare A.json B.json``)."""
    old = {_key(row[0]): row for row in rows(before)}
    lines = [
        "| figure | before: ours | floor | ratio | after: ours | floor | ratio (IQR) | goal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows(after):
        then = old.get(_key(row[0]), ("", "-", "-", "-"))
        spread = f" ({row[4]})" if row[4] != "-" else ""
        lines.append(f"| {_key(row[0])} | {then[1]} | {then[2]} | {then[3]} | {row[1]} | {row[2]} | {row[3]}{spread} | {row[5]} |")
    return "\n".join(lines)
