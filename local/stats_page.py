"""``GET /_local/stats``: the funnel and recovery rate of ``GET /stats`` drawn as server-rendered SVG.

One page, nothing fetched from anywhere (no script, no CDN): sent → clicked → paid by step and by channel, and per
day requested against paid, with the totals (recovery rate, median time to pay) as text for screen readers too.
"""

from __future__ import annotations

from html import escape
from typing import Any

COLOURS = {"sent": "#8aa4c8", "clicked": "#f2b134", "paid": "#3a9a5b"}
BAR_WIDTH = 18
GAP = 6
CHART_HEIGHT = 160
TOP = 20  # room for the value above the tallest bar


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _grouped_bars(title: str, groups: dict[str, dict[str, Any]]) -> str:
    """One group of bars (sent, clicked, paid) per key of ``groups``."""
    keys = list(groups)
    series = ("sent", "clicked", "paid")
    peak = max([1, *(int(groups[k][s]) for k in keys for s in series)])
    group_width = len(series) * (BAR_WIDTH + 2) + GAP * 3
    width = max(320, 40 + group_width * len(keys))
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{CHART_HEIGHT + 60}" '
        f'viewBox="0 {-TOP} {width} {CHART_HEIGHT + 60 + TOP}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="30" y1="{CHART_HEIGHT + 10}" x2="{width - 5}" y2="{CHART_HEIGHT + 10}" stroke="#999"/>',
    ]
    for index, key in enumerate(keys):
        x0 = 40 + index * group_width
        for offset, name in enumerate(series):
            value = int(groups[key][name])
            height = round(CHART_HEIGHT * value / peak)
            x = x0 + offset * (BAR_WIDTH + 2)
            parts.append(
                f'<rect class="{name}" x="{x}" y="{CHART_HEIGHT + 10 - height}" width="{BAR_WIDTH}" height="{height}" '
                f'fill="{COLOURS[name]}"><title>{escape(key)}: {value} {name}</title></rect>'
                f'<text x="{x + BAR_WIDTH / 2}" y="{CHART_HEIGHT + 5 - height}" font-size="10" text-anchor="middle">{value}</text>'
            )
        parts.append(
            f'<text x="{x0 + group_width / 2 - GAP}" y="{CHART_HEIGHT + 28}" font-size="11" text-anchor="middle">{escape(key)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _days_chart(days: list[dict[str, Any]]) -> str:
    """Requests made and paid per day (counts)."""
    peak = max([1, *(max(d["requested"]["count"], d["paid"]["count"]) for d in days)])
    step = max(4, min(24, 900 // max(len(days), 1)))
    width = 40 + step * len(days)
    parts = [
        f'<svg role="img" aria-label="Requested and paid per day" width="{width}" height="{CHART_HEIGHT + 40}" '
        f'viewBox="0 0 {width} {CHART_HEIGHT + 40}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="30" y1="{CHART_HEIGHT + 10}" x2="{width}" y2="{CHART_HEIGHT + 10}" stroke="#999"/>',
    ]
    for index, day in enumerate(days):
        x = 35 + index * step
        for value, colour, shift in ((day["requested"]["count"], COLOURS["sent"], 0), (day["paid"]["count"], COLOURS["paid"], step / 2)):
            height = round(CHART_HEIGHT * value / peak)
            parts.append(
                f'<rect x="{x + shift}" y="{CHART_HEIGHT + 10 - height}" width="{max(step / 2 - 1, 1)}" height="{height}" '
                f'fill="{colour}"><title>{escape(day["date"])}: {value}</title></rect>'
            )
    parts.append(f'<text x="35" y="{CHART_HEIGHT + 30}" font-size="11">{escape(days[0]["date"]) if days else ""}</text>')
    if days:
        parts.append(f'<text x="{width - 5}" y="{CHART_HEIGHT + 30}" font-size="11" text-anchor="end">{escape(days[-1]["date"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render(stats: dict[str, Any]) -> str:
    totals = stats["totals"]
    rate = totals["recoveryRate"]
    requested = ", ".join(f"{amount} {currency}" for currency, amount in totals["requested"]["amount"].items()) or "0"
    paid = ", ".join(f"{amount} {currency}" for currency, amount in totals["paid"]["amount"].items()) or "0"
    swatch = '<svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="{}"/></svg>'
    legend = " ".join(f'<span class="key">{swatch.format(colour)} {name}</span>' for name, colour in COLOURS.items())
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>What the messages earned</title>'
        "<style>body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "dl{display:grid;grid-template-columns:max-content auto;gap:.25rem 1rem}dt{color:#555}.key{margin-right:1rem}"
        "section{margin:2rem 0;overflow-x:auto}</style></head><body>"
        f"<h1>What the messages earned</h1><p>{escape(stats['from'])} to {escape(stats['to'])} (UTC), from "
        '<code>GET /stats</code>. <a href="stats.json">JSON</a></p>'
        f'<dl id="totals"><dt>Requested</dt><dd>{totals["requested"]["count"]} requests, {escape(requested)}</dd>'
        f"<dt>Paid</dt><dd>{totals['paid']['count']} requests, {escape(paid)}</dd>"
        f'<dt>Recovery rate</dt><dd id="recovery-rate">{"-" if rate is None else f"{rate * 100:.1f} %"}</dd>'
        f"<dt>Median time to pay</dt><dd>{_duration(totals['medianTimeToPaySeconds'])}</dd></dl>"
        f"<p>{legend}</p>"
        f'<section id="by-step"><h2>Funnel by step</h2>{_grouped_bars("Sent, clicked and paid by step", stats["byStep"])}</section>'
        f'<section id="by-channel"><h2>Funnel by channel</h2>{_grouped_bars("By channel", stats["byChannel"])}</section>'
        f'<section id="by-day"><h2>Requested and paid per day</h2>{_days_chart(stats["days"])}</section>'
        "</body></html>"
    )
