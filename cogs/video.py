"""/video text, /video image and /video extend."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui.limits import ID_SHOWN, fit_choices, quote
from bot.errors import UserFacingError
from bot.jobs.drafts import JobDraft, Requester
from bot.jobs.services.jobs import extendable
from bot.models import JobKind
from cogs.common import check_length, is_moderator, requester_from, services
from cogs.motion import MODE_CHOICES
from cogs.submit import check_early, hand_over, load_image
from db.records import JobRecord, JobState

MODEL_CHOICES = [
    app_commands.Choice(name=name, value=name)
    for name in (
        "kling-v1",
        "kling-v1-6",
        "kling-v2-master",
        "kling-v2-1-master",
        "kling-v2-5-turbo",
        "kling-v2-6",
        "kling-v3",
    )
]
ASPECT_CHOICES = [app_commands.Choice(name=value, value=value) for value in ("16:9", "9:16", "1:1")]
DURATION_CHOICES = [
    app_commands.Choice(name="5 seconds", value=5),
    app_commands.Choice(name="10 seconds (twice the credits)", value=10),
]
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


def common_options(
    *,
    prompt: str | None,
    negative_prompt: str | None,
    cfg_scale: float | None,
    model: app_commands.Choice[str] | None,
    mode: app_commands.Choice[str] | None,
    duration: app_commands.Choice[int] | None,
    attachment_size_limit: int,
) -> dict[str, Any]:
    if cfg_scale is not None and not 0.0 <= cfg_scale <= 1.0:
        raise UserFacingError(f"cfg_scale must be between 0 and 1; you gave {cfg_scale}.")
    return {
        "prompt": check_length(prompt, name="prompt", limit=2500),
        "negative_prompt": check_length(negative_prompt, name="negative prompt", limit=200),
        "cfg_scale": cfg_scale,
        "model": model.value if model else None,
        "mode": mode.value if mode else "std",
        "duration": duration.value if duration else 5,
        "attachment_size_limit": attachment_size_limit,
    }


async def check_may_extend(interaction: discord.Interaction, parent: JobRecord) -> None:
    """The same rule for /video extend and the Extend button: your own videos (moderators: any)."""
    if parent.user_id != interaction.user.id and not await is_moderator(interaction):
        raise UserFacingError(f"Job `{parent.id}` belongs to someone else; you can extend your own videos.")
    if not extendable(parent):
        raise UserFacingError(f"Job `{parent.id}` has no finished video to extend; pick one from /jobs.")


def extend_draft(parent: JobRecord, requester: Requester, prompt: str | None, size_limit: int) -> JobDraft:
    if not extendable(parent):
        raise UserFacingError(f"Job `{parent.id}` has no finished video to extend; pick one from /jobs.")
    options = {
        "video_id": parent.result_video_id,
        "prompt": check_length(prompt, name="prompt", limit=2500),
        "mode": parent.params.get("mode", "std"),
        "attachment_size_limit": size_limit,
    }
    return JobDraft(JobKind.EXTEND, requester, options, parent_job_id=parent.id)


class VideoCog(commands.GroupCog, group_name="video", group_description="Make videos from text or pictures"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="text", description="Make a video from a text prompt")
    @app_commands.guild_only()
    @app_commands.describe(
        prompt="What the video shows (up to 2500 characters)",
        model="Kling model (default: the provider's)",
        mode="Standard or pro quality",
        aspect_ratio="Frame shape",
        duration="Length of the video",
        negative_prompt="What to avoid (up to 200 characters)",
        cfg_scale="How closely to follow the prompt, 0 to 1",
        camera="A camera movement preset",
    )
    @app_commands.choices(  # type: ignore[misc]  # str and int choices in one decorator
        model=MODEL_CHOICES,
        mode=MODE_CHOICES,
        aspect_ratio=ASPECT_CHOICES,
        duration=DURATION_CHOICES,
        camera=CAMERA_CHOICES,
    )
    async def text(
        self,
        interaction: discord.Interaction,
        prompt: str,
        model: app_commands.Choice[str] | None = None,
        mode: app_commands.Choice[str] | None = None,
        aspect_ratio: app_commands.Choice[str] | None = None,
        duration: app_commands.Choice[int] | None = None,
        negative_prompt: str | None = None,
        cfg_scale: app_commands.Range[float, 0.0, 1.0] | None = None,
        camera: app_commands.Choice[str] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        options = common_options(
            prompt=prompt,
            negative_prompt=negative_prompt,
            cfg_scale=cfg_scale,
            model=model,
            mode=mode,
            duration=duration,
            attachment_size_limit=interaction.filesize_limit,
        )
        if not options["prompt"]:
            raise UserFacingError("Write a prompt describing the video.")
        options["aspect_ratio"] = aspect_ratio.value if aspect_ratio else "16:9"
        if camera is not None:
            options["camera"] = CAMERA_PRESETS[camera.value]
            options["camera_preset"] = camera.value
        draft = JobDraft(JobKind.TEXT2VIDEO, requester_from(interaction), options)
        await check_early(interaction, draft)
        await hand_over(interaction, draft, [])

    @app_commands.command(name="image", description="Bring a picture to life")
    @app_commands.guild_only()
    @app_commands.describe(
        image="The first frame: a JPG or PNG picture (WebP/GIF are converted), up to 10 MB",
        prompt="What happens in the video (up to 2500 characters)",
        end_image="Optional last frame",
        model="Kling model (default: the provider's)",
        mode="Standard or pro quality",
        duration="Length of the video",
        negative_prompt="What to avoid (up to 200 characters)",
        cfg_scale="How closely to follow the prompt, 0 to 1",
    )
    @app_commands.choices(  # type: ignore[misc]  # str and int choices in one decorator
        model=MODEL_CHOICES, mode=MODE_CHOICES, duration=DURATION_CHOICES
    )
    async def image(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        prompt: str | None = None,
        end_image: discord.Attachment | None = None,
        model: app_commands.Choice[str] | None = None,
        mode: app_commands.Choice[str] | None = None,
        duration: app_commands.Choice[int] | None = None,
        negative_prompt: str | None = None,
        cfg_scale: app_commands.Range[float, 0.0, 1.0] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        options = common_options(
            prompt=prompt,
            negative_prompt=negative_prompt,
            cfg_scale=cfg_scale,
            model=model,
            mode=mode,
            duration=duration,
            attachment_size_limit=interaction.filesize_limit,
        )
        if end_image is not None and options["duration"] != 5:
            raise UserFacingError("Videos with an end image can only be 5 seconds long; choose 5 seconds.")
        requester = requester_from(interaction)
        await check_early(interaction, JobDraft(JobKind.IMAGE2VIDEO, requester, options))
        first, notes = await load_image(interaction, image, role="image", label="image")
        inputs = [first]
        if end_image is not None:
            last, end_notes = await load_image(interaction, end_image, role="end_image", label="end image")
            inputs.append(last)
            notes += end_notes
        draft = JobDraft(JobKind.IMAGE2VIDEO, requester, options, inputs=tuple(inputs), notes=tuple(notes))
        await hand_over(interaction, draft, notes)

    @app_commands.command(name="extend", description="Add about five seconds to one of your finished videos")
    @app_commands.guild_only()
    @app_commands.describe(job="The job id of one of your finished videos", prompt="What happens next")
    async def extend(self, interaction: discord.Interaction, job: str, prompt: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        parent = await services(interaction).jobs.find(interaction.guild_id, job)
        if parent is None:
            raise UserFacingError(
                f"There is no job `{quote(job, ID_SHOWN)}` on this server; "
                "pick one of your videos from the list."
            )
        await check_may_extend(interaction, parent)
        draft = extend_draft(parent, requester_from(interaction), prompt, interaction.filesize_limit)
        await check_early(interaction, draft)
        await hand_over(interaction, draft, [])

    @extend.autocomplete("job")
    async def extend_job_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
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


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(VideoCog(bot))
