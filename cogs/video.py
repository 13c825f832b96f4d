"""/video: text, image and extend here; reference and edit in cogs/video_reference.py, shots in
cogs/video_shots.py, all in one command group."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui.limits import ID_SHOWN, quote
from bot.discord_ui.reference_text import continued_note
from bot.errors import UserFacingError
from bot.jobs.drafts import JobDraft
from bot.jobs.services.jobs import extendable
from bot.jobs.services.videos import VideoGone
from bot.models import JobKind
from cogs.common import check_length, requester_from, services
from cogs.submit import check_early, hand_over, load_image
from cogs.video_options import (
    ASPECT_CHOICES,
    CAMERA_CHOICES,
    CAMERA_PRESETS,
    KLING_VIDEO_DESCRIPTIONS,
    PROMPT_LIMIT,
    VIDEO_MODE_CHOICES,
    check_own_video,
    finished_videos,
    image_models,
    required_prompt,
    text_models,
    video_options,
)
from cogs.video_reference import ReferenceCommands
from cogs.video_shots import ShotCommands
from db.records import JobRecord

Duration = app_commands.Range[int, 3, 15]
CfgScale = app_commands.Range[float, 0.0, 1.0]


async def check_may_extend(interaction: discord.Interaction, parent: JobRecord) -> None:
    """The same rule for /video extend and the Extend button: your own videos (moderators: any)."""
    await check_own_video(interaction, parent, use="extend")


def extend_draft(
    interaction: discord.Interaction, parent: JobRecord, prompt: str | None
) -> tuple[JobDraft, list[str]]:
    """The extension of `parent` and what to tell the member: the extend action, or an omni model
    continuing the video when the model that made it has no extend action."""
    if not extendable(parent):
        raise UserFacingError(f"Job `{parent.id}` has no finished video to extend; pick one from /jobs.")
    try:
        plan = services(interaction).videos.extend_plan(
            parent,
            requester_from(interaction),
            check_length(prompt, name="prompt", limit=PROMPT_LIMIT),
            interaction.filesize_limit,
        )
    except VideoGone:
        raise UserFacingError(
            f"The provider no longer keeps the video of job `{parent.id}`, so it cannot be continued."
        ) from None
    note = continued_note(parent.id, plan)
    return plan.draft, [note] if note else []


class VideoCog(
    ReferenceCommands,
    ShotCommands,
    commands.GroupCog,
    group_name="video",
    group_description="Make videos from text or pictures",
):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="text", description="Make a video from a text prompt")
    @app_commands.guild_only()
    @app_commands.describe(
        prompt="What the video shows (up to 2500 characters)",
        aspect_ratio="Frame shape",
        camera="A camera movement preset",
        **KLING_VIDEO_DESCRIPTIONS,
    )
    @app_commands.choices(mode=VIDEO_MODE_CHOICES, aspect_ratio=ASPECT_CHOICES, camera=CAMERA_CHOICES)
    @app_commands.autocomplete(model=text_models)
    async def text(
        self,
        interaction: discord.Interaction,
        prompt: str,
        model: str | None = None,
        mode: app_commands.Choice[str] | None = None,
        aspect_ratio: app_commands.Choice[str] | None = None,
        duration: Duration | None = None,
        sound: bool | None = None,
        negative_prompt: str | None = None,
        cfg_scale: CfgScale | None = None,
        camera: app_commands.Choice[str] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        options = {
            "prompt": required_prompt(prompt),
            **video_options(interaction, model=model, mode=mode, duration=duration, sound=sound),
            "aspect_ratio": aspect_ratio.value if aspect_ratio else "16:9",
            "negative_prompt": check_length(negative_prompt, name="negative prompt", limit=200),
            "cfg_scale": cfg_scale,
        }
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
        **KLING_VIDEO_DESCRIPTIONS,
    )
    @app_commands.choices(mode=VIDEO_MODE_CHOICES)
    @app_commands.autocomplete(model=image_models)
    async def image(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        prompt: str | None = None,
        end_image: discord.Attachment | None = None,
        model: str | None = None,
        mode: app_commands.Choice[str] | None = None,
        duration: Duration | None = None,
        sound: bool | None = None,
        negative_prompt: str | None = None,
        cfg_scale: CfgScale | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        options = {
            "prompt": check_length(prompt, name="prompt", limit=PROMPT_LIMIT),
            **video_options(interaction, model=model, mode=mode, duration=duration, sound=sound),
            "negative_prompt": check_length(negative_prompt, name="negative prompt", limit=200),
            "cfg_scale": cfg_scale,
        }
        requester = requester_from(interaction)
        attached = ("image", "end_image") if end_image is not None else ("image",)
        await check_early(interaction, JobDraft(JobKind.IMAGE2VIDEO, requester, options, attached=attached))
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
    @app_commands.autocomplete(job=finished_videos)
    async def extend(self, interaction: discord.Interaction, job: str, prompt: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        parent = await services(interaction).jobs.find(interaction.guild_id, job)
        if parent is None:
            raise UserFacingError(
                f"There is no job `{quote(job, ID_SHOWN)}` on this server; "
                "pick one of your videos from the list."
            )
        await check_may_extend(interaction, parent)
        draft, notes = extend_draft(interaction, parent, prompt)
        await check_early(interaction, draft)
        await hand_over(interaction, draft, notes)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(VideoCog(bot))
