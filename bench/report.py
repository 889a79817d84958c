"""Turning runs into the report: min/median/max per figure, ZAS as a fraction of the machine
limit that bounds it, the issue's targets as pass/fail, a printed table and the JSON file."""

from __future__ import annotations

import statistics
from typing import Any

from bench.workloads import ALL_WORKLOADS, AUTH_PAIRS, ENFORCE_PAIRS

Summary = dict[str, float]
MAIN_METRICS = {
    "put_large": ["MBps"],
    "get_large": ["MBps"],
    "put_small_c1": ["ops_s", "p50_ms", "p99_ms"],
    "get_small_c1": ["ops_s", "p50_ms", "p99_ms"],
    "put_small_c32": ["ops_s", "p50_ms", "p99_ms"],
    "get_small_c32": ["ops_s", "p50_ms", "p99_ms"],
    "get_small_c1_user": ["ops_s", "p50_ms", "p99_ms"],
    "get_small_c1_anon": ["ops_s", "p50_ms", "p99_ms"],
    "get_small_c32_user": ["ops_s", "p50_ms", "p99_ms"],
    "get_small_c32_anon": ["ops_s", "p50_ms", "p99_ms"],
    "get_small_c1_enforced": ["ops_s", "p50_ms", "p99_ms"],
    "get_small_c32_enforced": ["ops_s", "p50_ms", "p99_ms"],
    "list": ["pages_s", "fill_put_0b_ops_s"],
    "multipart": ["MBps"],
}


def summarize(values: list[float]) -> Summary:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def summarize_workload(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [run for run in runs if run.get("status") == "ok"]
    out: dict[str, Any] = {"runs": runs}
    if not ok:
        out["status"] = runs[0].get("status", "error") if runs else "not run"
        out["reason"] = runs[0].get("reason", "") if runs else ""
        return out
    out["status"] = "ok"
    metrics = [k for k, v in ok[0].items() if isinstance(v, int | float) and k != "status"]
    out["summary"] = {m: summarize([float(run[m]) for run in ok if m in run]) for m in metrics}
    failed = [run.get("reason", "") for run in runs if run.get("status") != "ok"]
    if failed:
        out["failed_runs"] = failed
    return out


def median(results: dict[str, Any], server: str, workload: str, metric: str) -> float | None:
    entry = results["servers"].get(server, {}).get("workloads", {}).get(workload, {})
    if entry.get("status") != "ok" or metric not in entry.get("summary", {}):
        return None
    return float(entry["summary"][metric]["median"])


def _check(
    name: str,
    value: float | None,
    bound: float | None,
    factor: float,
    below: bool = False,
    why_missing: str = "",
) -> dict[str, Any]:
    if value is None or bound is None:
        return {"check": name, "result": "n/a", "why": why_missing or "figure missing"}
    required = bound * factor
    passed = value < required if below else value >= required
    return {
        "check": name,
        "value": round(value, 2),
        "required": round(required, 2),
        "ratio": round(value / bound, 3) if bound else None,
        "result": "pass" if passed else "FAIL",
    }


def checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    limits = {k: v["median"] for k, v in results["limits"]["summary"].items()}
    put_bound = min(limits["md5_MBps"], limits["disk_fsync_MBps"])

    def m(server: str, workload: str, metric: str) -> float | None:
        return median(results, server, workload, metric)

    def absent(server: str) -> str:
        entry = results["servers"].get(server, {})
        return f"{server}: {entry.get('reason') or entry.get('status') or 'not in this run'}"

    rss_small = [m("zas", w, "rss_peak_MB") for w in ALL_WORKLOADS if "small" in w]
    rss_large = [m("zas", w, "rss_peak_MB") for w in ("put_large", "get_large")]
    known_small = [v for v in rss_small if v is not None]
    known_large = [v for v in rss_large if v is not None]
    return [
        _check(
            "1 GiB PUT >= 0.75 x min(MD5, disk fsync)",
            m("zas", "put_large", "MBps"),
            put_bound,
            0.75,
        ),
        _check(
            "1 GiB PUT >= 1.5 x moto",
            m("zas", "put_large", "MBps"),
            m("moto", "put_large", "MBps"),
            1.5,
            why_missing=absent("moto"),
        ),
        _check("1 GiB GET >= 1 GB/s", m("zas", "get_large", "MBps"), 1000.0, 1.0),
        _check(
            "1 GiB GET >= 0.5 x SeaweedFS",
            m("zas", "get_large", "MBps"),
            m("seaweedfs", "get_large", "MBps"),
            0.5,
            why_missing=absent("seaweedfs"),
        ),
        _check(
            "4 KiB GET c32 >= 0.6 x Quart-Trio app",
            m("zas", "get_small_c32", "ops_s"),
            m("quart", "get_small_c32", "ops_s"),
            0.6,
        ),
        _check(
            "4 KiB PUT c32 >= 0.4 x Quart-Trio app",
            m("zas", "put_small_c32", "ops_s"),
            m("quart", "put_small_c32", "ops_s"),
            0.4,
        ),
        _check(
            "4 KiB GET c32 >= 2 x moto",
            m("zas", "get_small_c32", "ops_s"),
            m("moto", "get_small_c32", "ops_s"),
            2.0,
            why_missing=absent("moto"),
        ),
        _check(
            "4 KiB PUT c32 >= 2 x moto",
            m("zas", "put_small_c32", "ops_s"),
            m("moto", "put_small_c32", "ops_s"),
            2.0,
            why_missing=absent("moto"),
        ),
        _check(
            "4 KiB GET c32 as IAM user >= 0.9 x root (auth < 10%)",
            m("zas", "get_small_c32_user", "ops_s"),
            m("zas", "get_small_c32", "ops_s"),
            0.9,
        ),
        _check(
            f"4 KiB GET c32 from a bucket with a verification policy >= "
            f"{1 - ENFORCEMENT_BUDGET_PCT / 100:.2f} x plain (enforcement < "
            f"{ENFORCEMENT_BUDGET_PCT:.0f}%)",
            m("zas", "get_small_c32_enforced", "ops_s"),
            m("zas", "get_small_c32", "ops_s"),
            1 - ENFORCEMENT_BUDGET_PCT / 100,
        ),
        *(
            _check(
                f"4 KiB GET {conc} metrics + access log + tracing off >= 0.95 x zas-quiet "
                f"(observability < {OBSERVABILITY_BUDGET_PCT:.0f}%)",
                m("zas", workload, "ops_s"),
                m("zas-quiet", workload, "ops_s"),
                1 - OBSERVABILITY_BUDGET_PCT / 100,
                why_missing=absent("zas-quiet"),
            )
            for conc, workload in OBSERVABILITY_WORKLOADS.items()
        ),
        _check(
            "RSS < 150 MB during 1 GiB transfers",
            max(known_large) if known_large else None,
            150.0,
            1.0,
            below=True,
        ),
        _check(
            "RSS < 300 MB under small-object load",
            max(known_small) if known_small else None,
            300.0,
            1.0,
            below=True,
        ),
    ]


def fractions(results: dict[str, Any]) -> dict[str, float]:
    limits = {k: v["median"] for k, v in results["limits"]["summary"].items()}
    put_bound = min(limits["md5_MBps"], limits["disk_fsync_MBps"])
    out = {}
    for workload, bound, label in (
        ("put_large", put_bound, "PUT / min(MD5, disk)"),
        ("get_large", limits["loopback_MBps"], "GET / loopback"),
        ("multipart", put_bound, "multipart / min(MD5, disk)"),
    ):
        value = median(results, "zas", workload, "MBps")
        if value is not None:
            out[label] = round(value / bound, 3)
    return out


def _ok_runs(results: dict[str, Any], workload: str, server: str = "zas") -> list[dict[str, Any]]:
    entry = results["servers"].get(server, {}).get("workloads", {}).get(workload, {})
    return list(entry.get("runs", []))


def _per_run_ratios(
    results: dict[str, Any], server: str, workload: str, base_server: str, base_workload: str
) -> Summary | None:
    """ops/s of run i of one against run i of the other (runs interleave: same machine load)."""
    paired = [
        float(a["ops_s"]) / float(b["ops_s"])
        for a, b in zip(
            _ok_runs(results, workload, server),
            _ok_runs(results, base_workload, base_server),
            strict=False,
        )
        if a.get("status") == b.get("status") == "ok" and b.get("ops_s")
    ]
    return {k: round(v, 3) for k, v in summarize(paired).items()} if paired else None


def _latency_and_run_ratios(
    results: dict[str, Any], server: str, workload: str, base_server: str, base_workload: str
) -> dict[str, Any]:
    """p50 and p99 ratios of the medians, and the per-run ops/s ratios, of one workload
    against its baseline: the part every cost comparison below shares."""
    figures: dict[str, Any] = {}
    for metric in ("p50_ms", "p99_ms"):
        mine = median(results, server, workload, metric)
        theirs = median(results, base_server, base_workload, metric)
        if mine is not None and theirs:
            figures[metric.replace("_ms", "_ratio")] = round(mine / theirs, 3)
    per_run = _per_run_ratios(results, server, workload, base_server, base_workload)
    if per_run:
        figures["ops_ratio_per_run"] = per_run
    return figures


def auth_costs(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ZAS's small GETs as the IAM user and anonymous, against the same GETs as root (which
    skips the policy engine): ratios of the medians over runs for ops/s, p50 and p99, and the
    per-run ratios (runs interleave, so run i of both saw the same machine) as min/median/max.
    `auth_cost_pct` is the share of root's GET throughput lost: 100 x (1 - ops ratio)."""
    out: dict[str, dict[str, Any]] = {}
    for label, (root, *others) in AUTH_PAIRS.items():
        root_ops = median(results, "zas", root, "ops_s")
        if root_ops is None:
            continue
        pair: dict[str, Any] = {"root_workload": root}
        for workload in others:
            ops = median(results, "zas", workload, "ops_s")
            if ops is None:
                continue
            who = workload.rsplit("_", 1)[1]
            figures: dict[str, Any] = {
                "workload": workload,
                "ops_ratio": round(ops / root_ops, 3),
                **_latency_and_run_ratios(results, "zas", workload, "zas", root),
            }
            figures["auth_cost_pct"] = round(100 * (1 - ops / root_ops), 1)
            decided = [r.get("decided_by") for r in _ok_runs(results, workload)]
            if decided and decided[0]:
                figures["decided_by"] = decided[0]
            pair[who] = figures
        if len(pair) > 1:
            out[label] = pair
    return out


ENFORCEMENT_BUDGET_PCT = 10.0


def enforcement_costs(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ZAS's small GETs from a bucket with a supply-chain verification policy against the
    same GETs from the plain bucket (same server, same run): ratios of the medians for ops/s,
    p50 and p99, per-run ops/s ratios, and `cost_pct` = 100 x (1 - ops ratio)."""
    out: dict[str, dict[str, Any]] = {}
    for label, (plain, enforced) in ENFORCE_PAIRS.items():
        ops = median(results, "zas", enforced, "ops_s")
        base_ops = median(results, "zas", plain, "ops_s")
        if ops is None or not base_ops:
            continue
        figures: dict[str, Any] = {
            "workload": enforced,
            "plain_workload": plain,
            "ops_s": round(ops, 1),
            "plain_ops_s": round(base_ops, 1),
            "ops_ratio": round(ops / base_ops, 3),
            **_latency_and_run_ratios(results, "zas", enforced, "zas", plain),
        }
        figures["cost_pct"] = round(100 * (1 - ops / base_ops), 1)
        figures["budget_pct"] = ENFORCEMENT_BUDGET_PCT
        figures["result"] = "pass" if figures["cost_pct"] < ENFORCEMENT_BUDGET_PCT else "FAIL"
        out[label] = figures
    return out


def enforcement_cost_lines(costs: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for label, f in costs.items():
        per_run = f.get("ops_ratio_per_run")
        runs = (
            f"; per run {per_run['median']:.2f} [{per_run['min']:.2f}-{per_run['max']:.2f}]"
            if per_run
            else ""
        )
        lines.append(
            f"{label:3} enforced/plain: {f['ops_ratio']:.3f} x ops/s ({f['ops_s']:.0f} vs "
            f"{f['plain_ops_s']:.0f}), enforcement cost: {f['cost_pct']:.1f}% of small-GET "
            f"throughput -> {f['result']} (< {f['budget_pct']:.0f}%); "
            f"p50 {f.get('p50_ratio', float('nan')):.3f} x, "
            f"p99 {f.get('p99_ratio', float('nan')):.3f} x{runs}"
        )
    return lines


# (label, server, its baseline): the same small GETs against two ZAS configurations.
OBSERVABILITY_PAIRS = [
    ("observability", "zas", "zas-quiet"),  # metrics + JSON access log + tracing off, vs none
    ("tracing on", "zas-traced", "zas"),  # console exporter to /dev/null, vs tracing off
]
OBSERVABILITY_WORKLOADS = {"c1": "get_small_c1", "c32": "get_small_c32"}
OBSERVABILITY_BUDGET_PCT = 5.0


def observability_costs(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ZAS's small GETs with its observability as shipped against a ZAS with counting and the
    access log off (and with tracing on against off): ratios of the medians over runs for
    ops/s, p50 and p99, the per-run ops/s ratios, and `cost_pct` = 100 x (1 - ops ratio), the
    share of the baseline's GET throughput lost. Keys: "<label> <c1|c32>"."""
    out: dict[str, dict[str, Any]] = {}
    for label, server, base in OBSERVABILITY_PAIRS:
        for conc, workload in OBSERVABILITY_WORKLOADS.items():
            ops = median(results, server, workload, "ops_s")
            base_ops = median(results, base, workload, "ops_s")
            if ops is None or not base_ops:
                continue
            figures: dict[str, Any] = {
                "server": server,
                "baseline": base,
                "workload": workload,
                "ops_s": round(ops, 1),
                "baseline_ops_s": round(base_ops, 1),
                "ops_ratio": round(ops / base_ops, 3),
                **_latency_and_run_ratios(results, server, workload, base, workload),
            }
            figures["cost_pct"] = round(100 * (1 - ops / base_ops), 1)
            if label == "observability":
                figures["budget_pct"] = OBSERVABILITY_BUDGET_PCT
                figures["result"] = (
                    "pass" if figures["cost_pct"] < OBSERVABILITY_BUDGET_PCT else "FAIL"
                )
            out[f"{label} {conc}"] = figures
    return out


def observability_cost_lines(costs: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for key, f in costs.items():
        label, conc = key.rsplit(" ", 1)
        per_run = f.get("ops_ratio_per_run")
        runs = (
            f"; per run {per_run['median']:.2f} [{per_run['min']:.2f}-{per_run['max']:.2f}]"
            if per_run
            else ""
        )
        verdict = (
            f" -> {f['result']} (< {f['budget_pct']:.0f}%)" if "result" in f else " (informative)"
        )
        lines.append(
            f"{conc:3} {f['server']}/{f['baseline']}: {f['ops_ratio']:.3f} x ops/s "
            f"({f['ops_s']:.0f} vs {f['baseline_ops_s']:.0f}), {label} cost: "
            f"{f['cost_pct']:.1f}% of small-GET throughput{verdict}; "
            f"p50 {f.get('p50_ratio', float('nan')):.3f} x, "
            f"p99 {f.get('p99_ratio', float('nan')):.3f} x{runs}"
        )
    return lines


def auth_cost_lines(costs: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for label, pair in costs.items():
        for who in ("user", "anon"):
            figures = pair.get(who)
            if figures is None:
                continue
            per_run = figures.get("ops_ratio_per_run")
            runs = (
                f"; per run {per_run['median']:.2f} [{per_run['min']:.2f}-{per_run['max']:.2f}]"
                if per_run
                else ""
            )
            lines.append(
                f"{label} {who:4}: {figures['ops_ratio']:.2f} x root ops/s, auth cost: "
                f"{figures['auth_cost_pct']:.0f}% of root's GET throughput; "
                f"p50 {figures.get('p50_ratio', float('nan')):.2f} x, "
                f"p99 {figures.get('p99_ratio', float('nan')):.2f} x{runs}"
                + (f" (allowed by {figures['decided_by']})" if "decided_by" in figures else "")
            )
    return lines


def _cell(entry: dict[str, Any], metric: str) -> str:
    status = entry.get("status")
    if status != "ok":
        return str(status)
    summary = entry.get("summary", {}).get(metric)
    if summary is None:
        return "-"
    fmt = "{:.2f}" if metric.endswith("_ms") else "{:.0f}"
    if summary["min"] == summary["max"]:
        return fmt.format(summary["median"])
    low, mid, high = (fmt.format(summary[k]) for k in ("min", "median", "max"))
    return f"{mid} [{low}-{high}]"


def writer_lines(results: dict[str, Any]) -> list[str]:
    """Batches, changes per batch, commit time and the share of the workload's time the
    writer spent committing (near 100%: the writer is what limits the workload)."""
    lines = []
    for server, entry in results["servers"].items():
        for workload, data in entry.get("workloads", {}).items():
            summary = data.get("summary", {})
            if "writer_batches" not in summary:
                continue

            def mid(metric: str, summary: dict[str, Any] = summary) -> float:
                return float(summary.get(metric, {}).get("median", 0.0))

            lines.append(
                f"{server} {workload}: {mid('writer_batches'):.0f} batches of "
                f"{mid('writer_changes_per_batch'):.1f} changes, {mid('writer_commit_ms'):.1f} ms "
                f"each; committing {mid('writer_busy_pct'):.0f}% of the time"
            )
    return lines


def table(results: dict[str, Any]) -> str:
    servers = list(results["servers"])
    rows = [["workload", "metric", *servers]]
    for workload in ALL_WORKLOADS:
        for metric in [*MAIN_METRICS[workload], "rss_peak_MB"]:
            cells = []
            for server in servers:
                entry = results["servers"][server]
                if entry["status"] != "ok":
                    cells.append("absent")
                else:
                    cells.append(_cell(entry["workloads"].get(workload, {"status": "-"}), metric))
            if any(c not in ("-", "n/a") for c in cells):
                rows.append([workload, metric, *cells])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render(results: dict[str, Any]) -> str:
    out = ["", "Machine limits (median [min-max], MB/s):"]
    for name, summary in results["limits"]["summary"].items():
        out.append(
            f"  {name:18} {summary['median']:8.0f} [{summary['min']:.0f}-{summary['max']:.0f}]"
        )
    out += ["", "Figures: median [min-max] over runs; MB/s = 10^6 bytes/s; latency in ms", ""]
    out.append(table(results))
    absent = {n: e for n, e in results["servers"].items() if e["status"] != "ok"}
    for name, entry in absent.items():
        out.append(f"  {name}: absent ({entry.get('reason', '')})")
    for name, entry in results["servers"].items():
        for workload, data in entry.get("workloads", {}).items():
            if data.get("status") == "error" or data.get("failed_runs"):
                reason = data.get("reason") or "; ".join(data.get("failed_runs", []))
                out.append(f"  {name} {workload}: error: {reason[:300]}")
    if results["fractions"]:
        out += ["", "ZAS as a fraction of the limit that bounds it:"]
        out += [f"  {label:28} {value:.2f}" for label, value in results["fractions"].items()]
    writer = writer_lines(results)
    if writer:
        out += ["", "ZAS's metadata writer during the write workloads (medians over runs):"]
        out += [f"  {line}" for line in writer]
    costs = results.get("auth_costs") or {}
    if costs:
        out += ["", "Identity and policies, ZAS small GETs against the same as root (medians):"]
        out += [f"  {line}" for line in auth_cost_lines(costs)]
    enforcement = results.get("enforcement_costs") or {}
    if enforcement:
        out += ["", "Supply-chain enforcement, ZAS small GETs from a policy bucket (medians):"]
        out += [f"  {line}" for line in enforcement_cost_lines(enforcement)]
    obs = results.get("observability_costs") or {}
    if obs:
        out += ["", "Observability, ZAS small GETs against ZAS configured otherwise (medians):"]
        out += [f"  {line}" for line in observability_cost_lines(obs)]
    out += ["", "Targets (medians):"]
    for check in results["checks"]:
        if check["result"] == "n/a":
            out.append(f"  n/a   {check['check']} ({check['why']})")
        else:
            out.append(
                f"  {check['result']:5} {check['check']}: {check['value']} "
                f"(needs {'<' if 'RSS' in check['check'] else '>='} {check['required']})"
            )
    return "\n".join(out)
