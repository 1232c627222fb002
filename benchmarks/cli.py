"""The command: runs the chosen sections, prints the table, writes everything measured as JSON.

python -m benchmarks                 # full sizes (several minutes)
python -m benchmarks --smoke         # tiny sizes, every figure, well under a minute of measuring
python -m benchmarks --only cold,warm --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.template import ROOT, load_template, resources

SECTIONS = ("cold", "warm", "sweep", "pipeline", "webhook", "packages")
FUNCTION_NAMES = ("create", "resend", "webhook")


@dataclass(frozen=True)
class Sizes:
    cold_repeats: int
    warm_iterations: int
    warm_warmup: int
    stored: int
    stored_due: int
    sweep_repeats: int
    load_due: int
    wix_latency_ms: int
    limiter_seconds: float
    webhook_events: int
    # The pipeline on the local stack: reminders due and the SES rate, sized so the floor is SES's (due / rate s).
    pipeline_due: int
    pipeline_ses_rate: float
    pipeline_two_sites_due: int


FULL = Sizes(11, 150, 5, 100_000, 100, 3, 10_000, 50, 70.0, 300, 1_000, 10.0, 200)
SMOKE = Sizes(1, 3, 1, 300, 5, 1, 12, 50, 2.0, 6, 20, 100.0, 5)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Measure the product against its floors.")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI smoke run): every figure, no meaning in the numbers")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {','.join(SECTIONS)}")
    parser.add_argument("--json", type=Path, default=None, help="where to write the results (default benchmarks/results/<time>.json)")
    parser.add_argument("--layer", type=Path, default=None, help="measure this built layer (e.g. .aws-sam/build/SharedLayer)")
    parser.add_argument("--no-build", action="store_true", help="size the layer's packages as installed in this venv, not built")
    parser.add_argument("--repeats", type=int, default=None, help="cold-start repetitions per function (default 11, smoke 1)")
    parser.add_argument("--iterations", type=int, default=None, help="timed warm requests per route (default 150, smoke 3)")
    parser.add_argument("--quiet", action="store_true", help="print only the table")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="print two result files side by side (Markdown)")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    return args


def template_memory_sizes() -> dict[str, int]:
    globals_size = load_template().get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    functions = resources("AWS::Serverless::Function")
    logical = {"create": "CreateFunction", "resend": "ResendFunction", "webhook": "WebhookFunction", "sites": "SitesFunction"}
    return {name: int(functions[lid]["Properties"].get("MemorySize", globals_size)) for name, lid in logical.items()}


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu": _cpu_model(),
        "load_average": os.getloadavg(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.compare:
        from benchmarks import report

        before, after = (json.loads(path.read_text()) for path in args.compare)
        print(report.compare(before, after))
        return 0
    sizes = SMOKE if args.smoke else FULL
    if args.repeats:
        sizes = replace(sizes, cold_repeats=args.repeats)
    if args.iterations:
        sizes = replace(sizes, warm_iterations=args.iterations)
    sections = [section for section in SECTIONS if section in args.only.split(",")]

    def log(message: str) -> None:
        if not args.quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    from benchmarks import cold, packages, pipeline, report, sweep, warm, webhook
    from benchmarks.stack import bench_stack

    started = time.monotonic()
    path = args.json or ROOT / "benchmarks" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}{'-smoke' if args.smoke else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "smoke": args.smoke, "sizes": asdict(sizes), "started": datetime.now(UTC).isoformat()}

    def save() -> None:  # after every section, so a long run that fails late keeps what it measured
        results["duration_s"] = time.monotonic() - started
        path.write_text(json.dumps(results, indent=1, default=str))

    with bench_stack() as stack:
        if "cold" in sections:
            results["cold"] = cold.run(stack, list(FUNCTION_NAMES), sizes.cold_repeats, log)
            save()
        if "warm" in sections:
            results["warm"] = warm.run(stack, [*FUNCTION_NAMES, "sites"], sizes.warm_iterations, sizes.warm_warmup, log)
            save()
        if "sweep" in sections:
            results["sweep_scaling"] = sweep.scaling(stack, sizes.stored, sizes.stored_due, sizes.sweep_repeats, log)
            save()
            results["sweep_throughput"] = sweep.throughput(stack, sizes.load_due, sizes.wix_latency_ms, sizes.limiter_seconds, log)
            save()
        if "pipeline" in sections:
            results["pipeline"] = pipeline.at_scale(stack, sizes.pipeline_due, sizes.wix_latency_ms, sizes.pipeline_ses_rate, log)
            results["pipeline_two_sites"] = pipeline.two_sites(sizes.pipeline_two_sites_due, log)
            save()
        if "webhook" in sections:
            results["webhook_throughput"] = webhook.run(stack, sizes.webhook_events, max(1, min(20, sizes.webhook_events // 3)), log)
            save()
    if "warm" in results:
        sweep_load = results.get("sweep_throughput")
        results["memory"] = report.memory_model(results.get("cold", {}), results["warm"], template_memory_sizes(), sweep_load)
    if "packages" in sections:
        imported = {function: result["modules"] for function, result in results.get("warm", {}).items()}
        build = not (args.smoke or args.no_build)
        results["packages"] = packages.run(imported, args.layer, build, log)
    save()

    print(report.table(results))
    if "packages" in results and not args.quiet:
        print("\n" + report.packages_table(results["packages"]))
    if "memory" in results and not args.quiet:
        print("\nMemory: peak RSS, and CPU time at each size (init unthrottled, the rest at 1 vCPU per 1,769 MB; this core = 1 vCPU):")
        print(report.memory_table(results["memory"]))
    log(f"results written to {path} ({results['duration_s']:.0f} s)")
    return 0
