"""docker-compose.yml (no Docker engine here): the single-process service by default, and the "scale"
profile whose processes together cover every role and every shard once, share one database and one
media volume, and sit behind a proxy that reaches every listener."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Role, Settings

ROOT = Path(__file__).resolve().parents[2]
SCALE = "scale"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def services(profile: str | None) -> dict[str, dict[str, Any]]:
    """The services of `profile`, or (None) those that run without naming a profile."""
    every: dict[str, dict[str, Any]] = compose()["services"]
    return {name: s for name, s in every.items() if s.get("profiles", [None]).count(profile)}


def expanded(value: str) -> str:
    """Compose's ${NAME:-default} with the defaults, as the processes would see it."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def bot_services() -> dict[str, Settings]:
    """Each bot process of the scale profile and the settings its environment gives it."""
    found = {}
    for name, service in services(SCALE).items():
        env = service.get("environment", {})
        if "BOT_ROLES" not in env:
            continue
        values = {key.lower(): expanded(str(value)) for key, value in env.items()}
        found[name] = Settings(_env_file=None, discord_token="t", kling_api_key="k", **values)
    return found


def test_the_default_is_still_one_process_on_sqlite() -> None:
    default = services(None)
    assert list(default) == ["klingbot"]
    assert default["klingbot"]["environment"]["DATABASE_URL"].startswith("sqlite:")
    assert "BOT_ROLES" not in default["klingbot"]["environment"]  # every role, as before


def test_the_scale_profile_has_postgres_a_proxy_and_every_role() -> None:
    scale = services(SCALE)
    assert {"postgres", "proxy"} <= set(scale)
    bots = bot_services()
    by_role = {role: sorted(n for n, s in bots.items() if s.bot_roles == {role}) for role in Role}
    assert by_role == {
        Role.GATEWAY: ["gateway-0", "gateway-1"],
        Role.WORKER: ["worker-1", "worker-2"],
        Role.LISTENER: ["listener-1", "listener-2"],
    }
    assert len({s.instance_id for s in bots.values()}) == len(bots)  # every process named once


def test_the_gateways_cover_every_shard_once_and_one_syncs() -> None:
    gateways = [s for s in bot_services().values() if Role.GATEWAY in s.bot_roles]
    [count] = {s.shard_count for s in gateways}
    assert count is not None
    shards = sorted(shard for s in gateways for shard in (s.shard_ids or range(count)))
    assert shards == list(range(count))
    assert sum(s.syncs_commands for s in gateways) == 1


def test_every_process_shares_the_database_and_the_media_volume() -> None:
    bots = bot_services()
    assert {s.database_url for s in bots.values()} == {
        "postgresql://klingbot:klingbot@postgres:5432/klingbot"
    }
    assert {s.media_path for s in bots.values()} == {Path("/data/media")}
    scale = services(SCALE)
    for name in bots:
        assert "klingbot-media:/data/media" in scale[name]["volumes"], name
        assert scale[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    postgres = scale["postgres"]["environment"]
    assert (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]) == ("klingbot", "klingbot")
    assert set(compose()["volumes"]) >= {"klingbot-media", "klingbot-postgres"}


def test_the_proxy_reaches_every_listener_on_its_webhook_port() -> None:
    scale = services(SCALE)
    proxy = scale["proxy"]
    mount = next(v for v in proxy["volumes"] if v.startswith("./deploy/"))
    config = (ROOT / mount.split(":")[0]).read_text()
    upstreams = set(re.findall(r"^\s*server\s+([\w-]+):(\d+)", config, re.MULTILINE))
    listeners = {(n, str(s.webhook_port)) for n, s in bot_services().items() if Role.LISTENER in s.bot_roles}
    assert upstreams == listeners
    assert sorted(proxy["depends_on"]) == sorted(n for n, _ in listeners)
    assert re.search(r"^\s*listen\s+8080;", config, re.MULTILINE) and "8080:8080" in proxy["ports"]


@pytest.mark.parametrize("name", ["gateway-0", "worker-1", "listener-2"])
def test_ops_ports_stay_off_the_host(name: str) -> None:
    assert "ports" not in services(SCALE)[name]  # Prometheus reaches them on the compose network
