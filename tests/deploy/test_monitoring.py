"""The Grafana dashboard and the Prometheus rules in deploy/ load, and name only metrics the bot exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.harness import Harness

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC_NAME = re.compile(r"\bklingbot_[a-z_]+")
# The series each metric type puts in the exposition, by the name on its `# TYPE` line.
SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "gauge": ("",),
    "untyped": ("",),
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return loaded


def alert_rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def series_names(exposition: str) -> set[str]:
    """Every series name a scrape of this text can hold, from its `# TYPE` lines."""
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            base = name.removesuffix("_total") if kind == "counter" else name
            names.update(base + suffix for suffix in SERIES_SUFFIXES[kind])
    return names


def referenced(exprs: list[str]) -> set[str]:
    return {name for expr in exprs for name in METRIC_NAME.findall(expr)}


@pytest.fixture
async def exposed(harness: Harness) -> set[str]:
    ops = harness.running.ops
    assert ops is not None
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{ops.port}/metrics") as resp,
    ):
        assert resp.status == 200
        return series_names(await resp.text())


def test_series_names_expand_each_type_and_nothing_else() -> None:
    text = "\n".join(
        [
            "# TYPE klingbot_jobs_total counter",
            "# TYPE klingbot_generation_seconds histogram",
            "# TYPE klingbot_jobs_in_flight gauge",
        ]
    )
    names = series_names(text)
    assert {"klingbot_jobs_total", "klingbot_generation_seconds_bucket", "klingbot_jobs_in_flight"} <= names
    assert {"klingbot_jobs", "klingbot_generation_seconds", "klingbot_jobs_in_flight_total"}.isdisjoint(names)
    assert referenced(['rate(klingbot_jobs_total{job="klingbot"}[5m]) / klingbot_x_count']) == {
        "klingbot_jobs_total",
        "klingbot_x_count",
    }


def test_the_dashboard_names_only_exposed_metrics(exposed: set[str]) -> None:
    names = referenced(dashboard_exprs())
    assert len(names) >= 10
    assert names <= exposed, f"not in /metrics: {sorted(names - exposed)}"


def test_the_alert_rules_name_only_exposed_metrics(exposed: set[str]) -> None:
    names = referenced([rule["expr"] for rule in alert_rules()])
    assert len(names) >= 5
    assert names <= exposed, f"not in /metrics: {sorted(names - exposed)}"


def test_every_alert_says_how_bad_and_what_to_do() -> None:
    rules = alert_rules()
    assert {"KlingbotProviderAuthFailing", "KlingbotGatewayDisconnected", "KlingbotDiskNearlyFull"} <= {
        rule["alert"] for rule in rules
    }
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_dashboard_panels_are_distinct_and_use_the_chosen_datasource() -> None:
    panels = dashboard()["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    assert all(panel["datasource"]["uid"] == "${datasource}" and panel["targets"] for panel in panels)


def test_the_scrape_config_loads_the_rules_beside_it() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert all((DEPLOY / name).exists() for name in config["rule_files"])
    assert [job["job_name"] for job in config["scrape_configs"]] == ["klingbot"]
