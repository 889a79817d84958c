"""`python -m bench.markdown RESULTS.json`: the tables of BENCHMARKS.md from one results file
(machine limits, every figure as median with min-max, ZAS's fractions and the targets)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.report import MAIN_METRICS, auth_cost_lines, observability_cost_lines, writer_lines
from bench.workloads import ALL_WORKLOADS


def _fmt(value: float, metric: str) -> str:
    return f"{value:.2f}" if metric.endswith("_ms") else f"{value:,.0f}"


def _cell(entry: dict[str, Any], metric: str) -> str:
    if entry.get("status") != "ok":
        return str(entry.get("status", "-"))
    summary = entry.get("summary", {}).get(metric)
    if summary is None:
        return "-"
    mid = _fmt(summary["median"], metric)
    if summary["min"] == summary["max"]:
        return mid
    return f"**{mid}** ({_fmt(summary['min'], metric)}-{_fmt(summary['max'], metric)})"


def render(results: dict[str, Any]) -> str:
    servers = results["servers"]
    names = list(servers)
    out = ["| machine limit | median | min-max |", "|---|---|---|"]
    for name, s in results["limits"]["summary"].items():
        out.append(f"| {name} | {s['median']:,.0f} | {s['min']:,.0f}-{s['max']:,.0f} |")
    out += ["", "| workload | figure | " + " | ".join(names) + " |"]
    out.append("|---|---|" + "---|" * len(names))
    for workload in ALL_WORKLOADS:
        for metric in [*MAIN_METRICS[workload], "rss_peak_MB"]:
            cells = []
            for name in names:
                entry = servers[name]
                if entry["status"] != "ok":
                    cells.append("absent")
                    continue
                cells.append(_cell(entry["workloads"].get(workload, {"status": "-"}), metric))
            if any(c not in ("-", "n/a") for c in cells):
                out.append(f"| {workload} | {metric} | " + " | ".join(cells) + " |")
    absent = [f"- {n}: absent ({e.get('reason', '')})" for n, e in servers.items()
              if e["status"] != "ok"]  # fmt: skip
    out += ["", *absent] if absent else []
    if results["fractions"]:
        out += ["", "| ZAS fraction of its bound | median |", "|---|---|"]
        out += [f"| {label} | {value:.2f} |" for label, value in results["fractions"].items()]
    writer = writer_lines(results)
    if writer:
        out += ["", "ZAS's metadata writer during the write workloads (medians over runs):", ""]
        out += [f"- {line}" for line in writer]
    costs = results.get("auth_costs") or {}
    if costs:
        out += ["", "Identity and policies, ZAS small GETs against root (medians):", ""]
        out += [f"- {line}" for line in auth_cost_lines(costs)]
    obs = results.get("observability_costs") or {}
    if obs:
        out += ["", "Observability, ZAS small GETs against ZAS configured otherwise (medians):", ""]
        out += [f"- {line}" for line in observability_cost_lines(obs)]
    out += ["", "| target | ZAS | required | ratio | result |", "|---|---|---|---|---|"]
    for check in results["checks"]:
        if check["result"] == "n/a":
            out.append(f"| {check['check']} | - | - | - | n/a ({check['why']}) |")
        else:
            out.append(
                f"| {check['check']} | {check['value']} | {check['required']} "
                f"| {check['ratio']} | {check['result']} |"
            )
    return "\n".join(out)


if __name__ == "__main__":
    print(render(json.loads(Path(sys.argv[1]).read_text())))
