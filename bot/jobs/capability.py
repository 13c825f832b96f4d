"""The admission step that asks the provider family's capability table whether a draft can be made.

A draft is read as `Requested` (counts, lengths and flags, never the media): before any download from the
attachments the command names, and again once they are read, with the reference video's length and size.
"""

from __future__ import annotations

from typing import Any

from bot.jobs.drafts import JobDraft
from bot.jobs.references import REF_VIDEO_ROLE, is_ref_image
from bot.models import JobKind, Shot
from bot.providers.capabilities import FAMILIES, makes_sound
from bot.providers.capability_check import CapabilityProblem, Requested, check


def stored_shots(options: dict[str, Any]) -> tuple[Shot, ...]:
    """The shots of a multi-shot draft, as its options keep them: [{"prompt", "seconds"}, …]."""
    return tuple(Shot(str(item["prompt"]), int(item["seconds"])) for item in options.get("shots") or ())


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def requested_from(draft: JobDraft) -> Requested:
    options = draft.options
    kind = draft.kind
    reference = options.get("reference_video")
    if kind is JobKind.MOTION or (kind is JobKind.EXTEND and not reference):
        return Requested(kind, model=options.get("model") if kind is JobKind.MOTION else None)
    if kind is JobKind.EXTEND:
        kind = JobKind.TEXT2VIDEO  # continued with an omni model and the video as a reference
    roles = {file.role for file in draft.inputs} | set(draft.attached)
    video = REF_VIDEO_ROLE in roles or bool(reference)
    shots = stored_shots(options)
    return Requested(
        kind=kind,
        model=options.get("model"),
        mode=str(options.get("mode") or "std"),
        duration=_optional_int(options.get("duration")),
        sound=options.get("sound"),
        end_frame="end_image" in roles,
        camera=bool(options.get("camera")),
        negative_prompt=bool(options.get("negative_prompt")),
        cfg_scale=options.get("cfg_scale") is not None,
        reference_images=sum(1 for role in roles if is_ref_image(role)),
        reference_video_planned=video,
        reference_video_seconds=draft.reference_seconds if video else None,
        reference_video_size=draft.reference_size if video else None,
        reference_video_type=str((reference or {}).get("refer_type", "base")),
        shots=shots,
        # A multi-shot command checks the model before its form is filled in: no shots yet.
        auto_shots=bool(options.get("auto_shots")) or (bool(options.get("multi_shot")) and not shots),
    )


def capability_problem(family: str, draft: JobDraft) -> CapabilityProblem | None:
    """What the family's table says against the draft; None for a family without a table."""
    if family not in FAMILIES:
        return None
    return check(family, requested_from(draft))


def draft_has_sound(family: str, draft: JobDraft) -> bool:
    """Whether the video will have sound, which the audio cost multiplier follows."""
    if family not in FAMILIES or draft.kind is JobKind.MOTION:
        return False
    return makes_sound(family, draft.options.get("model"), draft.options.get("sound"))
