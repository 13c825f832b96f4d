"""/video shots: a multi-shot video (kling-v3, kling-v3-omni). A form takes up to five shots, each written
"seconds: prompt" in its own box (a Discord form holds five text boxes); or Kling cuts the shots itself
from one prompt (shot_type: intelligence)."""

from __future__ import annotations

import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.jobs.drafts import JobDraft
from bot.models import JobKind
from bot.tree import report_error
from cogs.common import check_length, requester_from, services
from cogs.submit import check_early, hand_over
from cogs.video_options import (
    ASPECT_CHOICES,
    PROMPT_LIMIT,
    SOUND_DESCRIPTION,
    VIDEO_MODE_CHOICES,
    multi_shot_models,
    required_prompt,
    video_options,
)

FORM_SHOTS = 5
# Room for "15: " before a prompt of Kling's 512 characters; the limit itself is the capability check's.
SHOT_FIELD_LENGTH = 530
SHOT_LINE = re.compile(r"\s*(\d{1,3})\s*(?:s|sec|secs|seconds?)?\s*[:|]\s*(.*)", re.DOTALL | re.IGNORECASE)
SHOT_TYPE_CHOICES = [
    app_commands.Choice(name="Customize: write each shot in a form", value="customize"),
    app_commands.Choice(name="Intelligence: Kling cuts the shots from the prompt", value="intelligence"),
]
EXAMPLE = "3: a gull takes off from the pier"


def parse_shot(number: int, text: str) -> dict[str, Any]:
    """One form box, "seconds: prompt", as a stored shot; UserFacingError says how to write it."""
    found = SHOT_LINE.fullmatch(text)
    if found is None:
        raise UserFacingError(
            f"Write shot {number} as its seconds, a colon and its prompt, like “{EXAMPLE}”."
        )
    prompt = " ".join(found[2].split())
    if not prompt:
        raise UserFacingError(
            f"Shot {number} has no prompt; describe the shot after its seconds and the colon."
        )
    return {"prompt": prompt, "seconds": int(found[1])}


def parse_shots(boxes: list[str]) -> list[dict[str, Any]]:
    """The filled boxes in order; an empty box between two filled ones is refused, as it would renumber."""
    filled = [box.strip() for box in boxes]
    while filled and not filled[-1]:
        filled.pop()
    for number, box in enumerate(filled, start=1):
        if not box:
            raise UserFacingError(
                f"Shot {number} is empty; fill the shots in order, or move the later ones up."
            )
    if not filled:
        raise UserFacingError(f"Write at least one shot, like “{EXAMPLE}”.")
    return [parse_shot(number, box) for number, box in enumerate(filled, start=1)]


class ShotsForm(discord.ui.Modal, title="Shots of the video"):
    def __init__(self, options: dict[str, Any], *, fixed_duration: bool) -> None:
        super().__init__(timeout=900)
        self.options = options
        self.fixed_duration = fixed_duration
        self.boxes: list[discord.ui.TextInput[ShotsForm]] = []
        for number in range(1, FORM_SHOTS + 1):
            box: discord.ui.TextInput[ShotsForm] = discord.ui.TextInput(
                label=f"Shot {number}: seconds, a colon, then the prompt",
                style=discord.TextStyle.paragraph,
                placeholder=EXAMPLE if number == 1 else None,
                required=number == 1,
                max_length=SHOT_FIELD_LENGTH,
            )
            self.boxes.append(box)
            self.add_item(box)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        shots = parse_shots([box.value for box in self.boxes])
        options = dict(self.options, shots=shots, multi_shot=True)
        if not self.fixed_duration:
            options["duration"] = sum(shot["seconds"] for shot in shots)
        options["prompt"] = options.get("prompt") or shots[0]["prompt"]
        draft = JobDraft(JobKind.TEXT2VIDEO, requester_from(interaction), options)
        await hand_over(interaction, draft, [])

    async def on_error(  # type: ignore[override]  # Modal's own signature has no `item`
        self, interaction: discord.Interaction, error: Exception
    ) -> None:
        await report_error(interaction, error)


class ShotCommands(commands.Cog):
    """Mixed into the /video group cog (cogs/video.py); never loaded on its own."""

    @app_commands.command(name="shots", description="A video of up to five shots (kling-v3, kling-v3-omni)")
    @app_commands.guild_only()
    @app_commands.describe(
        shot_type="Write each shot yourself in a form (default), or let Kling cut them from the prompt",
        prompt="The whole video; required when Kling cuts the shots (up to 2500 characters)",
        model="A multi-shot model (default: the first the provider offers)",
        mode="Standard, pro or 4K quality",
        aspect_ratio="Frame shape",
        duration="Total seconds, 3 to 15 (default: the shots' sum, or 5 when Kling cuts them)",
        sound=SOUND_DESCRIPTION,
    )
    @app_commands.choices(shot_type=SHOT_TYPE_CHOICES, mode=VIDEO_MODE_CHOICES, aspect_ratio=ASPECT_CHOICES)
    @app_commands.autocomplete(model=multi_shot_models)
    async def shots(
        self,
        interaction: discord.Interaction,
        shot_type: app_commands.Choice[str] | None = None,
        prompt: str | None = None,
        model: str | None = None,
        mode: app_commands.Choice[str] | None = None,
        aspect_ratio: app_commands.Choice[str] | None = None,
        duration: app_commands.Range[int, 3, 15] | None = None,
        sound: bool | None = None,
    ) -> None:
        automatic = shot_type is not None and shot_type.value == "intelligence"
        options = video_options(
            interaction, model=model, mode=mode, duration=duration, sound=sound, aspect_ratio=aspect_ratio
        )
        if options["model"] is None:
            offered = services(interaction).videos.shot_models()
            options["model"] = offered[0] if offered else None
        requester = requester_from(interaction)
        if automatic:
            await interaction.response.defer(ephemeral=True, thinking=True)
            options.update(prompt=required_prompt(prompt), auto_shots=True, multi_shot=True)
            draft = JobDraft(JobKind.TEXT2VIDEO, requester, options)
            await check_early(interaction, draft)
            await hand_over(interaction, draft, [])
            return
        options.update(prompt=check_length(prompt, name="prompt", limit=PROMPT_LIMIT), multi_shot=True)
        # The model, mode and server rules are checked before the member writes the shots.
        await check_early(interaction, JobDraft(JobKind.TEXT2VIDEO, requester, options))
        await interaction.response.send_modal(ShotsForm(options, fixed_duration=duration is not None))
