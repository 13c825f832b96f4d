"""What the /video subcommands share: option choices, the model autocompletes read from the provider's
capability table, the member's finished videos as choices, and the options every video takes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import discord
from discord import app_commands

from bot.discord_ui.limits import fit_choices, quote
from bot.errors import UserFacingError
from bot.jobs.services.jobs import extendable
from bot.models import JobKind
from cogs.common import check_length, is_moderator, services
from db.records import JobRecord, JobState

PROMPT_LIMIT = 2500
# Kling's model names ("kling-v2-6"): anything else cannot be a model, and is not echoed back.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,39}")
DEFAULT_DURATION = 5
ASPECT_CHOICES = [app_commands.Choice(name=value, value=value) for value in ("16:9", "9:16", "1:1")]
VIDEO_MODE_CHOICES = [
    app_commands.Choice(name="Standard (720p)", value="std"),
    app_commands.Choice(name="Pro (1080p, twice the credits)", value="pro"),
    app_commands.Choice(name="4K (kling-v3 and kling-v3-omni; see /quota for its price)", value="4k"),
]
DURATION_DESCRIPTION = "Seconds: 5 or 10 for most models, 3 to 15 for kling-v3 and its siblings"
SOUND_DESCRIPTION = "Generate sound with the video (models that can; costs more, see /quota)"
# The options /video text and /video image both take, as their descriptions read.
KLING_VIDEO_DESCRIPTIONS = {
    "model": "Kling model (default: the provider's)",
    "mode": "Standard, pro or 4K quality",
    "duration": DURATION_DESCRIPTION,
    "sound": SOUND_DESCRIPTION,
    "negative_prompt": "What to avoid (up to 200 characters)",
    "cfg_scale": "How closely to follow the prompt, 0 to 1",
}
# Camera presets: Kling's "simple" moves take exactly one non-zero axis in [-10, 10] (providers.md §2.4).
CAMERA_PRESETS: dict[str, dict[str, Any]] = {
    "zoom_in": {"type": "simple", "config": {"zoom": 5.0}},
    "zoom_out": {"type": "simple", "config": {"zoom": -5.0}},
    "pan_left": {"type": "simple", "config": {"pan": -5.0}},
    "pan_right": {"type": "simple", "config": {"pan": 5.0}},
    "tilt_up": {"type": "simple", "config": {"tilt": 5.0}},
    "tilt_down": {"type": "simple", "config": {"tilt": -5.0}},
    "down_back": {"type": "down_back", "config": None},
    "forward_up": {"type": "forward_up", "config": None},
    "right_turn_forward": {"type": "right_turn_forward", "config": None},
    "left_turn_forward": {"type": "left_turn_forward", "config": None},
}
CAMERA_CHOICES = [
    app_commands.Choice(name=name.replace("_", " ").capitalize(), value=name) for name in CAMERA_PRESETS
]


def name_choices(names: Iterable[str], current: str) -> list[app_commands.Choice[str]]:
    typed = current.strip().lower()
    return fit_choices(app_commands.Choice(name=name, value=name) for name in names if typed in name.lower())


async def text_models(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return name_choices(services(interaction).videos.models(JobKind.TEXT2VIDEO), current)


async def image_models(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return name_choices(services(interaction).videos.models(JobKind.IMAGE2VIDEO), current)


async def motion_models(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return name_choices(services(interaction).videos.models(JobKind.MOTION), current)


async def omni_models(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return name_choices(services(interaction).videos.reference_models(), current)


async def multi_shot_models(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return name_choices(services(interaction).videos.shot_models(), current)


async def finished_videos(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The member's finished videos matching what they typed, newest first."""
    jobs = await services(interaction).jobs.search(
        interaction.guild_id,
        interaction.user.id,
        states=[JobState.DELIVERED, JobState.SUCCEEDED],
        query=current,
    )
    return fit_choices(
        app_commands.Choice(
            name=f"{item.id} · {item.kind} · {quote(str(item.params.get('prompt') or 'no prompt'))}",
            value=item.id,
        )
        for item in jobs
        if extendable(item)
    )


def required_prompt(prompt: str | None) -> str:
    checked = check_length(prompt, name="prompt", limit=PROMPT_LIMIT)
    if not checked:
        raise UserFacingError("Write a prompt describing the video.")
    return checked


def video_options(
    interaction: discord.Interaction,
    *,
    model: str | None,
    mode: app_commands.Choice[str] | None,
    duration: int | None,
    sound: bool | None,
    aspect_ratio: app_commands.Choice[str] | None = None,
) -> dict[str, Any]:
    """The options every /video subcommand that makes a new clip takes."""
    options: dict[str, Any] = {
        "model": model_option(model),
        "mode": mode.value if mode else "std",
        "duration": duration if duration is not None else DEFAULT_DURATION,
        "attachment_size_limit": interaction.filesize_limit,
    }
    if aspect_ratio is not None:
        options["aspect_ratio"] = aspect_ratio.value
    if sound is not None:
        options["sound"] = sound
    return options


def model_option(model: str | None) -> str | None:
    """The model as typed or picked (None: the command's default); a name no model has is refused."""
    name = (model or "").strip()
    if not name:
        return None
    if not MODEL_NAME.fullmatch(name):
        raise UserFacingError("That is not a model name; pick one from the list the model option shows.")
    return name.lower()


async def check_own_video(interaction: discord.Interaction, parent: JobRecord, *, use: str) -> None:
    """A finished video of the member's own (moderators: anyone's), for /video extend, edit and Extend."""
    if parent.user_id != interaction.user.id and not await is_moderator(interaction):
        raise UserFacingError(f"Job `{parent.id}` belongs to someone else; you can {use} your own videos.")
    if not extendable(parent):
        raise UserFacingError(f"Job `{parent.id}` has no finished video to {use}; pick one from /jobs.")
