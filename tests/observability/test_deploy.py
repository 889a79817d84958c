"""deploy/: every metric the dashboard and the alert rules query is one ZAS really exposes."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.observability import promtool
from zas.observability.metrics import ZasMetrics, promql_names

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana-dashboard.json"
ALERTS = DEPLOY / "prometheus-alerts.yml"

# Series Prometheus itself attaches to every scrape target.
SCRAPE_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

# PromQL words that look like identifiers but are not metric names.
PROMQL_KEYWORDS = frozenset(
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
        "unless", "offset", "inf", "nan",
        # aggregation operators
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
        "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    }
)  # fmt: skip
# Grafana template functions in variable queries.
GRAFANA_FUNCTIONS = frozenset({"label_values", "label_names", "metrics", "query_result"})

_LABEL_VALUES = re.compile(r"label_values\(\s*(.*?)\s*,\s*\w+\s*\)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_LABEL_LIST = re.compile(
    r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE
)
_IDENT = re.compile(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_NUMBER_OR_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y)?)+$")


def metric_names(expr: str) -> set[str]:
    """Metric names in one PromQL expression (or Grafana variable query).

    Strings, `{...}` matchers, `[...]` ranges and `by (...)`-style label lists are removed first;
    what is left that is an identifier, not a keyword and not followed by `(` (a function call)
    is a metric name. Good enough for the queries we write; checked by its own test below.
    """
    # Grafana's label_values(selector, label): keep the selector, drop the label argument.
    text = _LABEL_VALUES.sub(r" \1 ", expr)
    text = _STRING.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in PROMQL_KEYWORDS or _NUMBER_OR_DURATION.match(word):
            continue
        names.add(word)
    return names - GRAFANA_FUNCTIONS


def test_the_extractor_finds_what_a_query_uses() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (operation, le) (rate(zas_x_bucket{a="b", c=~"d|e"}'
        "[$__rate_interval]))) / ignoring (le) zas_y_total offset 5m > 0.5 and on(instance) "
        'zas_z{q="sum(rate(fake_name[1m]))"} unless count(up) > 2'
    )
    assert metric_names(expr) == {"zas_x_bucket", "zas_y_total", "zas_z", "up"}
    assert metric_names("label_values(zas_build_info, instance)") == {"zas_build_info"}


def _dashboard_queries(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            # Panel targets carry `expr`; query variables carry `definition` (and `query`).
            is_query = key in ("expr", "definition") or (
                key == "query" and node.get("type") == "query"
            )
            if is_query and isinstance(value, str):
                yield value
            else:
                yield from _dashboard_queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from _dashboard_queries(item)


def _alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _exposed_names() -> frozenset[str]:
    """ZAS's own names plus the process/python ones, as a real scrape shows them."""
    body, _ = ZasMetrics().render()
    scraped = {
        sample.name
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }
    return promql_names() | scraped | SCRAPE_SERIES


def test_dashboard_queries_only_exposed_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = list(_dashboard_queries(dashboard))
    assert len(queries) > 20
    used = set().union(*(metric_names(q) for q in queries))
    assert used, "the extractor found nothing: it is broken, not the dashboard"
    assert used - _exposed_names() == set()


def test_dashboard_is_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "instance"} <= variables
    for panel in panels:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]


def test_alert_rules_query_only_exposed_metrics() -> None:
    rules = _alert_rules()
    used = set().union(*(metric_names(rule["expr"]) for rule in rules))
    assert used
    assert used - _exposed_names() == set()


def test_alert_rules_cover_the_issue_and_carry_severity_and_summary() -> None:
    rules = _alert_rules()
    names = {rule["alert"] for rule in rules}
    assert {
        "ZasHighErrorRatio",
        "ZasHighLatencyP99",
        "ZasDiskNearlyFull",
        "ZasSignatureVerificationFailures",
        "ZasAuditRecordsDropped",
        "ZasIdentityProviderDown",
    } <= names
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]


def test_promtool_accepts_the_alert_rules() -> None:
    tool = promtool()
    result = subprocess.run(
        [tool, "check", "rules", str(ALERTS)], capture_output=True, timeout=60, check=False
    )
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0, output
    assert "SUCCESS" in output


@pytest.mark.parametrize("name", sorted(promql_names()))
def test_every_metric_name_is_valid_promql(name: str) -> None:
    assert metric_names(f"rate({name}[5m])") == {name}
