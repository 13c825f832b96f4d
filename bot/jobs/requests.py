"""Turning a stored job back into a provider request: its options from the row, its inputs from disk.

Used for the first submission and again after a restart, so a job can always be resubmitted from
the store alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.jobs.capability import stored_shots
from bot.jobs.inputs import InputStore
from bot.jobs.references import REF_VIDEO_ROLE, is_ref_image
from bot.models import (
    CameraControl,
    ErrorCategory,
    ExtendRequest,
    GenerationRequest,
    ImageToVideoRequest,
    JobKind,
    MediaInput,
    MotionRequest,
    ReferenceVideo,
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
    if kind is JobKind.TEXT2VIDEO or (kind is JobKind.EXTEND and p.get("reference_video")):
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
            **await newer_model_fields(job, inputs, input_url),
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
            **await newer_model_fields(job, inputs, input_url),
        )
    return ExtendRequest(video_id=p["video_id"], prompt=p.get("prompt"))


async def newer_model_fields(job: JobRecord, inputs: InputStore, input_url: InputUrl) -> dict[str, Any]:
    """Sound, omni references (images in the order the prompt numbers them) and shots."""
    p = job.params
    roles = sorted(
        (item["role"] for item in p.get("inputs", []) if is_ref_image(item["role"])),
        key=lambda role: int(role.rsplit("_", 1)[1]),
    )
    images = [await load_input(job, role, inputs, input_url) for role in roles]
    return {
        "sound": p.get("sound"),
        "reference_images": tuple(image for image in images if image is not None),
        "reference_video": await reference_video(job, inputs, input_url),
        "shots": stored_shots(p),
        "auto_shots": bool(p.get("auto_shots")),
    }


async def reference_video(job: JobRecord, inputs: InputStore, input_url: InputUrl) -> ReferenceVideo | None:
    """The attached reference video, or the finished video of an earlier job (by the provider's URL)."""
    described = job.params.get("reference_video")
    if not described:
        return None
    video = await load_input(job, REF_VIDEO_ROLE, inputs, input_url)
    if video is None:
        url = job.params.get("_reference_video_url")
        if not url:
            raise ProviderError(
                ErrorCategory.INVALID_REQUEST,
                "The video this job refers to is no longer kept; start a new job with the video attached.",
            )
        video = MediaInput(b"", "reference.mp4", "video/mp4", url)
    return ReferenceVideo(video, str(described.get("refer_type", "base")), described.get("keep_sound"))
