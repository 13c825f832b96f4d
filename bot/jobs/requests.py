"""Turning a stored job back into a provider request: its options from the row, its inputs from disk.

Used for the first submission and again after a restart, so a job can always be resubmitted from
the store alone.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.jobs.inputs import InputStore
from bot.models import (
    CameraControl,
    ErrorCategory,
    ExtendRequest,
    GenerationRequest,
    ImageToVideoRequest,
    JobKind,
    MediaInput,
    MotionRequest,
    TextToVideoRequest,
)
from bot.providers.base import ProviderError
from db.records import JobRecord

InputUrl = Callable[[JobRecord, str], str | None]


async def load_input(job: JobRecord, role: str, inputs: InputStore, input_url: InputUrl) -> MediaInput | None:
    """The job's input for `role`, with the URL a provider can fetch it from (if there is one)."""
    for item in job.params.get("inputs", []):
        if item["role"] != role:
            continue
        data = await inputs.read(job.id, item["name"])
        if data is None:
            raise ProviderError(
                ErrorCategory.INVALID_REQUEST,
                "This job's input files are no longer kept; start a new job with the attachments.",
            )
        url = input_url(job, item["name"])
        if url is None and not item.get("converted"):
            # Discord's own URL serves the original bytes for about a day: good enough to submit now.
            url = job.params.get("_source_urls", {}).get(role)
        return MediaInput(data, item["filename"], item["content_type"], url)
    return None


async def build_request(job: JobRecord, inputs: InputStore, input_url: InputUrl) -> GenerationRequest:
    p = job.params
    kind = JobKind(job.kind)
    if kind is JobKind.MOTION:
        image = await load_input(job, "image", inputs, input_url)
        video = await load_input(job, "video", inputs, input_url)
        assert image is not None and video is not None
        return MotionRequest(
            image=image,
            video=video,
            prompt=p.get("prompt"),
            mode=p.get("mode", "std"),
            orientation=p.get("orientation", "image"),
            keep_sound=bool(p.get("keep_sound", True)),
            model=p.get("model"),
        )
    if kind is JobKind.TEXT2VIDEO:
        camera = p.get("camera")
        return TextToVideoRequest(
            prompt=p["prompt"],
            model=p.get("model"),
            mode=p.get("mode", "std"),
            aspect_ratio=p.get("aspect_ratio", "16:9"),
            duration=int(p.get("duration", 5)),
            negative_prompt=p.get("negative_prompt"),
            cfg_scale=p.get("cfg_scale"),
            camera=CameraControl(camera["type"], camera.get("config")) if camera else None,
        )
    if kind is JobKind.IMAGE2VIDEO:
        image = await load_input(job, "image", inputs, input_url)
        assert image is not None
        return ImageToVideoRequest(
            image=image,
            prompt=p.get("prompt"),
            end_image=await load_input(job, "end_image", inputs, input_url),
            model=p.get("model"),
            mode=p.get("mode", "std"),
            duration=int(p.get("duration", 5)),
            negative_prompt=p.get("negative_prompt"),
            cfg_scale=p.get("cfg_scale"),
        )
    return ExtendRequest(video_id=p["video_id"], prompt=p.get("prompt"))
