"""/video reference and /video edit: the omni models (kling-o1, kling-v3-omni) with reference pictures,
a reference clip, or a clip to change. The member names references as @image1…@image4 and @video."""

from __future__ import annotations

import dataclasses
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui.reference_text import added_references_note
from bot.errors import UserFacingError
from bot.jobs.drafts import InputFile, JobDraft
from bot.jobs.references import REF_VIDEO_ROLE, cite_references, ref_image_role
from bot.jobs.services.videos import video_reference
from bot.models import JobKind
from cogs.common import requester_from, services
from cogs.submit import check_early, hand_over, load_image, load_reference_video
from cogs.video_options import (
    ASPECT_CHOICES,
    DURATION_DESCRIPTION,
    SOUND_DESCRIPTION,
    VIDEO_MODE_CHOICES,
    check_own_video,
    finished_videos,
    omni_models,
    required_prompt,
    video_options,
)
from db.records import JobRecord

Duration = app_commands.Range[int, 3, 15]
IMAGE_HELP = "A reference picture, @image{n} in the prompt (JPG or PNG; WebP/GIF are converted)"


def _attached_images(images: list[discord.Attachment | None]) -> list[discord.Attachment]:
    """The pictures in option order; a gap would renumber them, so it is refused."""
    count = sum(1 for image in images if image is not None)
    if any(image is None for image in images[:count]):
        raise UserFacingError(
            "Attach the reference pictures in order (image1, then image2, …), so @image1… in the prompt "
            "point at the right ones."
        )
    return [image for image in images if image is not None]


def _omni_options(interaction: discord.Interaction, model: str | None, **options: Any) -> dict[str, Any]:
    chosen = video_options(interaction, model=model, **options)
    if chosen["model"] is None:  # the omni models are the only ones that take references
        offered = services(interaction).videos.reference_models()
        chosen["model"] = offered[0] if offered else None
    return chosen


async def _own_video(interaction: discord.Interaction, job: str) -> JobRecord:
    parent = await services(interaction).jobs.find(interaction.guild_id, job)
    if parent is None:
        raise UserFacingError("There is no such job on this server; pick one of your videos from the list.")
    await check_own_video(interaction, parent, use="edit")
    if not parent.result_url:
        raise UserFacingError(
            f"The provider no longer keeps the video of job `{parent.id}`; attach the clip."
        )
    return parent


async def _read_references(
    interaction: discord.Interaction,
    planned: JobDraft,
    images: list[discord.Attachment],
    video: discord.Attachment | None,
) -> JobDraft:
    """`planned` with the reference pictures and clip read and checked (and what was converted)."""
    inputs: list[InputFile] = []
    notes: list[str] = []
    for number, attachment in enumerate(images, start=1):
        file, image_notes = await load_image(
            interaction, attachment, role=ref_image_role(number), label=f"reference image {number}"
        )
        inputs.append(file)
        notes += image_notes
    seconds, size = None, None
    if video is not None:
        file, info = await load_reference_video(interaction, video, role=REF_VIDEO_ROLE)
        inputs.append(file)
        seconds, size = info.duration, (info.width, info.height)
    return dataclasses.replace(
        planned,
        attached=(),
        inputs=tuple(inputs),
        notes=tuple(notes),
        reference_seconds=seconds,
        reference_size=size,
    )


async def _edit_of_job(
    interaction: discord.Interaction, job: str, options: dict[str, Any], notes: list[str]
) -> JobDraft:
    """An edit of one of the member's finished videos, which the provider fetches from its own link."""
    parent = await _own_video(interaction, job)
    options.update(video_reference(parent, "base", options["reference_video"]["keep_sound"]))
    draft = JobDraft(
        JobKind.TEXT2VIDEO,
        requester_from(interaction),
        options,
        parent_job_id=parent.id,
        notes=tuple(notes),
        reference_seconds=parent.result_duration,
    )
    await check_early(interaction, draft)
    return draft


async def _edit_of_clip(
    interaction: discord.Interaction, video: discord.Attachment, options: dict[str, Any], notes: list[str]
) -> JobDraft:
    """An edit of an attached clip: checked before it is downloaded, and again once it is read."""
    requester = requester_from(interaction)
    planned = JobDraft(JobKind.TEXT2VIDEO, requester, options, attached=(REF_VIDEO_ROLE,))
    await check_early(interaction, planned)
    read = await _read_references(interaction, planned, [], video)
    return dataclasses.replace(read, notes=tuple([*read.notes, *notes]))


class ReferenceCommands(commands.Cog):
    """Mixed into the /video group cog (cogs/video.py); never loaded on its own."""

    @app_commands.command(name="reference", description="Make a video from reference pictures and a clip")
    @app_commands.guild_only()
    @app_commands.describe(
        prompt="What the video shows; name the references as @image1…@image4 and @video",
        image1=IMAGE_HELP.format(n=1),
        image2=IMAGE_HELP.format(n=2),
        image3=IMAGE_HELP.format(n=3),
        image4=IMAGE_HELP.format(n=4),
        video="A reference clip for style or camera movement, @video in the prompt (MP4 or MOV)",
        model="An omni model (default: the provider's newest)",
        mode="Standard or pro quality",
        aspect_ratio="Frame shape",
        duration=DURATION_DESCRIPTION,
        sound=SOUND_DESCRIPTION + "; not with a reference clip",
    )
    @app_commands.choices(mode=VIDEO_MODE_CHOICES, aspect_ratio=ASPECT_CHOICES)
    @app_commands.autocomplete(model=omni_models)
    async def reference(
        self,
        interaction: discord.Interaction,
        prompt: str,
        image1: discord.Attachment | None = None,
        image2: discord.Attachment | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        video: discord.Attachment | None = None,
        model: str | None = None,
        mode: app_commands.Choice[str] | None = None,
        aspect_ratio: app_commands.Choice[str] | None = None,
        duration: Duration | None = None,
        sound: bool | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        images = _attached_images([image1, image2, image3, image4])
        if not images and video is None:
            raise UserFacingError(
                "Attach at least one reference picture (image1) or a reference clip (video); "
                "/video text makes a video from words alone."
            )
        cited = cite_references(required_prompt(prompt), images=len(images), video=video is not None)
        options = _omni_options(
            interaction, model, mode=mode, duration=duration, sound=sound, aspect_ratio=aspect_ratio
        )
        options["prompt"] = cited.prompt
        roles = [ref_image_role(n) for n in range(1, len(images) + 1)]
        if video is not None:
            options["reference_video"] = {"refer_type": "feature"}
            roles.append(REF_VIDEO_ROLE)
        planned = JobDraft(JobKind.TEXT2VIDEO, requester_from(interaction), options, attached=tuple(roles))
        await check_early(interaction, planned)
        draft = await _read_references(interaction, planned, images, video)
        added = added_references_note(cited.added)
        notes = [*draft.notes, *([added] if added else [])]
        draft = dataclasses.replace(draft, notes=tuple(notes))
        await hand_over(interaction, draft, notes)

    @app_commands.command(name="edit", description="Change a clip: yours attached, or one of your videos")
    @app_commands.guild_only()
    @app_commands.describe(
        prompt="What to change; name the clip as @video",
        video="The clip to change (MP4 or MOV)",
        job="Or one of your finished videos",
        model="An omni model (default: the provider's newest)",
        mode="Standard or pro quality",
        duration=DURATION_DESCRIPTION,
        keep_sound="Keep the clip's own sound (default: the provider's)",
    )
    @app_commands.choices(mode=VIDEO_MODE_CHOICES)
    @app_commands.autocomplete(model=omni_models, job=finished_videos)
    async def edit(
        self,
        interaction: discord.Interaction,
        prompt: str,
        video: discord.Attachment | None = None,
        job: str | None = None,
        model: str | None = None,
        mode: app_commands.Choice[str] | None = None,
        duration: Duration | None = None,
        keep_sound: bool | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if (video is None) == (job is None):
            raise UserFacingError(
                "Attach the clip to change (video) or pick one of your finished videos (job), not both."
            )
        cited = cite_references(required_prompt(prompt), images=0, video=True)
        options = _omni_options(interaction, model, mode=mode, duration=duration, sound=None)
        options["prompt"] = cited.prompt
        options["reference_video"] = {"refer_type": "base", "keep_sound": keep_sound}
        added = added_references_note(cited.added)
        notes = [added] if added else []
        if job is not None:
            draft = await _edit_of_job(interaction, job, options, notes)
        else:
            assert video is not None
            draft = await _edit_of_clip(interaction, video, options, notes)
        await hand_over(interaction, draft, notes)
