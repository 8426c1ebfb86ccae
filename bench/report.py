"""The comparison table printed by `python -m bench`, and the results file."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.targets import REPO

RESULTS_DIR = REPO / "bench-results"

COLUMNS = [
    # header, width, getter
    ("scenario", 9, lambda r: r["scenario"]),
    ("server", 12, lambda r: r["server"]),
    ("conn", 6, lambda r: _num(r, "connected")),
    ("offered/s", 9, lambda r: _num(r, "offered_rate")),
    ("deliv/s", 8, lambda r: _num(r, "delivered_rate")),
    ("deliv%", 6, lambda r: _pct(r, "delivery_ratio")),
    ("acked/s", 8, lambda r: _num(r, "sends_acked_rate")),
    ("p50 ms", 7, lambda r: _lat(r, "p50")),
    ("p95 ms", 7, lambda r: _lat(r, "p95")),
    ("p99 ms", 7, lambda r: _lat(r, "p99")),
    ("ack p99", 7, lambda r: _lat(r, "p99", "ack_ms")),
    ("errors", 6, lambda r: _num(r, "error_count")),
    ("RSS MB", 7, lambda r: _res(r, "server_peak_rss_mb")),
    ("DB MB", 6, lambda r: _res(r, "children_peak_rss_mb")),
    ("srv CPU%", 8, lambda r: _cpu_server(r)),
    ("lg CPU%", 7, lambda r: _res(r, "loadgen_cpu_pct")),
    ("other%", 6, lambda r: _res(r, "other_cpu_pct")),
]
NOISY_OTHER_CPU_PCT = 10.0


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.0f}" if value >= 100 else f"{value:.1f}"
    return str(value)


def _num(r: dict[str, Any], key: str) -> str:
    return "-" if "error" in r else _fmt(r.get(key))


def _pct(r: dict[str, Any], key: str) -> str:
    value = r.get(key)
    return "-" if "error" in r or value is None else f"{100 * value:.1f}"


def _lat(r: dict[str, Any], q: str, key: str = "e2e_ms") -> str:
    return "-" if "error" in r else _fmt(r.get(key, {}).get(q))


def _res(r: dict[str, Any], key: str) -> str:
    return "-" if "error" in r else _fmt(r.get("resources", {}).get(key))


def _cpu_server(r: dict[str, Any]) -> str:
    if "error" in r:
        return "-"
    res = r.get("resources", {})
    main, kids = res.get("server_cpu_pct"), res.get("server_children_cpu_pct")
    if main is None:
        return "n/a"
    return _fmt(main) if not kids else f"{main:.0f}+{kids:.0f}"


def render(results: list[dict[str, Any]]) -> str:
    """The table, the ours/yardstick ratios, errors by code and alert latency."""
    lines = ["  ".join(h.rjust(w) for h, w, _ in COLUMNS)]
    for r in results:
        lines.append("  ".join(get(r).rjust(w) for _, w, get in COLUMNS))
    lines.append("")
    lines.extend(_ratios(results))
    lines.extend(_errors(results))
    lines.extend(_alerts(results))
    lines.append("")
    lines.append("deliv/s: message:new receptions per second over all clients (senders included);")
    lines.append("deliv%: receptions at other members / (sends x (room size - 1)), by the end of the drain;")
    lines.append("p50-p99: send -> message:new at the other room members (delivered ones only);")
    lines.append("ack p99: send -> ack;")
    lines.append("RSS MB: server process peak (VmHWM), DB MB: its child processes (the local DB);")
    if any(r["server"].startswith("cluster") for r in results):
        lines.append("cluster: the launcher is the 'server' process; its children are both servers, the DB,")
        lines.append("  Redis and HAProxy, all on the one pinned server core (RSS +DB, srv CPU% main+children);")
    lines.append("srv CPU%: server (+ its children) over the measured window, of one pinned core;")
    lines.append("lg CPU%: the load generator's own CPU on its core (near 100 = it was the bottleneck);")
    lines.append("other%: busy CPU on the box outside server and load generator (of 200%).")
    return "\n".join(lines)


def _ratios(results: list[dict[str, Any]]) -> list[str]:
    out = []
    for scenario in dict.fromkeys(r["scenario"] for r in results):
        pair = {r["server"]: r for r in results if r["scenario"] == scenario and "error" not in r}
        ys = pair.get("yardstick")
        for name in ("cluster-lexicon", "cluster", "ours") if ys else ():
            if name in pair:
                out.append(
                    f"{scenario}: {name}/yardstick delivered rate "
                    f"{_ratio(pair[name]['delivered_rate'], ys['delivered_rate'])}, "
                    f"p99 latency {_ratio(pair[name]['e2e_ms']['p99'], ys['e2e_ms']['p99'])}"
                )
        if "cluster" in pair and "ours" in pair:
            cluster, one = pair["cluster"], pair["ours"]
            out.append(
                f"{scenario}: cluster (2 processes, HAProxy, Redis) / ours (1 process): delivered rate "
                f"{_ratio(cluster['delivered_rate'], one['delivered_rate'])}, p50 latency "
                f"{_ratio(cluster['e2e_ms']['p50'], one['e2e_ms']['p50'])}, p99 latency "
                f"{_ratio(cluster['e2e_ms']['p99'], one['e2e_ms']['p99'])}"
            )
        if "ours" not in pair or "yardstick" not in pair:
            continue
        ours = pair["ours"]
        lexicon = pair.get("ours-lexicon")
        if lexicon is not None:
            ack, base = ours.get("ack_ms", {}), lexicon.get("ack_ms", {})
            out.append(
                f"{scenario}: with the semantic model vs without: delivered rate "
                f"{_ratio(ours['delivered_rate'], lexicon['delivered_rate'])}, send->ack p50 "
                f"{_fmt(ack.get('p50'))} vs {_fmt(base.get('p50'))} ms, p99 {_fmt(ack.get('p99'))} vs "
                f"{_fmt(base.get('p99'))} ms"
            )
        sem = ours.get("semantic")
        if sem:
            out.append(
                f"{scenario}: semantic model judged {sem.get('judged_total', 0):.0f}, deferred under load "
                f"{sem.get('deferred_total', 0):.0f} (unsure {sem.get('overflow_total', 0):.0f}), late flags "
                f"{sem.get('late_flags_total', 0):.0f}, never judged {sem.get('skipped_total', 0):.0f}, "
                f"queue at end {sem.get('queue', 0):.0f}"
            )
    return out


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "n/a"
    return f"{a / b:.2f}x"


def _errors(results: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in results:
        other = r.get("resources", {}).get("other_cpu_pct")
        if other is not None and other > NOISY_OTHER_CPU_PCT:
            out.append(
                f"{r['scenario']}/{r['server']}: NOISY: other work used {other:.0f}% CPU "
                "during the window; rerun on a quiet machine"
            )
        if "error" in r:
            out.append(f"{r['scenario']}/{r['server']}: FAILED: {r['error']}")
        elif r.get("errors"):
            codes = ", ".join(f"{k}={v}" for k, v in sorted(r["errors"].items()))
            out.append(f"{r['scenario']}/{r['server']} errors: {codes}")
    return out


def _alerts(results: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in results:
        if r["server"] == "yardstick" or "error" in r:
            continue
        a = r.get("alerts", {})
        lat = a.get("latency_ms", {})
        if not a.get("enabled") or not lat.get("count"):
            why = a.get("note") or f"no alert:new for {a.get('crisis_acked', 0)} acked crisis messages"
            out.append(f"{r['scenario']}/{r['server']} alert latency: n/a ({why})")
            continue
        out.append(
            f"{r['scenario']}/{r['server']} alert latency (send -> alert:new at on-call counselor): "
            f"p50 {_fmt(lat['p50'])} ms, p99 {_fmt(lat['p99'])} ms, max {_fmt(lat['max'])} ms "
            f"({a['received']} of {a['crisis_sent']} crisis messages alerted; "
            f"their ack p50 {_fmt(a.get('crisis_ack_ms', {}).get('p50'))} ms)"
        )
        helped = a.get("help_latency_ms", {})
        if a.get("help_asked"):
            errors = f", errors {a['help_errors']}" if a.get("help_errors") else ""
            out.append(
                f"{r['scenario']}/{r['server']} help request latency (help:request -> alert:new at on-call counselor): "
                f"p50 {_fmt(helped.get('p50'))} ms, p99 {_fmt(helped.get('p99'))} ms "
                f"({helped.get('count', 0)} of {a['help_asked']} requests alerted{errors})"
            )
    return out


def machine_info() -> dict[str, Any]:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_rev": rev or None,
    }


def save(results: list[dict[str, Any]], options: dict[str, Any]) -> Path:
    """Write bench-results/bench-<time>.json and bench-results/latest.json."""
    RESULTS_DIR.mkdir(exist_ok=True)
    doc = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine_info(),
        "options": options,
        "results": results,
    }
    text = json.dumps(doc, indent=2)
    path = RESULTS_DIR / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(text)
    (RESULTS_DIR / "latest.json").write_text(text)
    return path
