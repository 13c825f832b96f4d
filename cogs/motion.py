"""/motion: a character picture plus a reference video gives that character doing the motion."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.jobs.drafts import JobDraft
from bot.models import JobKind
from cogs.common import check_length, requester_from
from cogs.submit import check_early, hand_over, load_image, load_motion_video
from cogs.video_options import model_option, motion_models

MODE_CHOICES = [
    app_commands.Choice(name="Standard (720p)", value="std"),
    app_commands.Choice(name="Pro (1080p, twice the credits)", value="pro"),
]
ORIENTATION_CHOICES = [
    app_commands.Choice(name="Follow the image (video up to 10 s)", value="image"),
    app_commands.Choice(name="Follow the video (video up to 30 s)", value="video"),
]


class MotionCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(
        name="motion", description="Make your character perform the motion of a reference video"
    )
    @app_commands.guild_only()
    @app_commands.describe(
        image="The character: a JPG or PNG picture (WebP/GIF are converted), up to 10 MB",
        video="The motion to copy: an MP4 or MOV clip, 3-30 seconds, up to 100 MB",
        prompt="Optional description to guide the result (up to 2500 characters)",
        mode="Standard or pro quality",
        orientation="Whose framing the result follows: the image's or the video's",
        keep_sound="Keep the reference video's sound (default: yes)",
        model="Motion-control model (default: the provider's)",
    )
    @app_commands.choices(mode=MODE_CHOICES, orientation=ORIENTATION_CHOICES)
    @app_commands.autocomplete(model=motion_models)
    async def motion(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        video: discord.Attachment,
        prompt: str | None = None,
        mode: app_commands.Choice[str] | None = None,
        orientation: app_commands.Choice[str] | None = None,
        keep_sound: bool = True,
        model: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        chosen_orientation = orientation.value if orientation else "image"
        options: dict[str, object] = {
            "prompt": check_length(prompt, name="prompt", limit=2500),
            "mode": mode.value if mode else "std",
            "orientation": chosen_orientation,
            "keep_sound": keep_sound,
            "attachment_size_limit": interaction.filesize_limit,
        }
        if model_option(model) is not None:
            options["model"] = model_option(model)
        requester = requester_from(interaction)
        await check_early(interaction, JobDraft(JobKind.MOTION, requester, options))
        image_file, image_notes = await load_image(interaction, image, role="image", label="character image")
        video_file, video_notes, seconds = await load_motion_video(
            interaction, video, orientation=chosen_orientation
        )
        draft = JobDraft(
            JobKind.MOTION,
            requester,
            options,
            inputs=(image_file, video_file),
            notes=tuple(image_notes + video_notes),
            reference_seconds=seconds,
        )
        await hand_over(interaction, draft, image_notes + video_notes)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(MotionCog(bot))
