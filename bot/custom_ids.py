"""Custom ids of the buttons on finished videos (and Cancel on a waiting job's progress message). They
carry the job id, so clicks work after a restart."""

from __future__ import annotations

PREFIX = "kling"
ACTIONS = ("extend", "rerun", "delete", "cancel")
# DynamicItem templates in cogs/buttons.py match these.
TEMPLATE = r"kling:(?P<action>extend|rerun|delete|cancel):(?P<job_id>[a-z0-9]{6,16})"


def button_id(action: str, job_id: str) -> str:
    assert action in ACTIONS
    return f"{PREFIX}:{action}:{job_id}"
