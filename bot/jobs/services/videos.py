"""What the video commands ask of the capability table and of earlier jobs: the models to offer, and drafts
that use a finished video again (extending it, or editing it as an omni reference)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.jobs.drafts import JobDraft, Requester
from bot.jobs.references import cite_references
from bot.models import JobKind
from bot.providers.capabilities import (
    FEATURE_EXTEND_MODEL,
    FOURK,
    PRO,
    capabilities,
    extends_natively,
    model_choices,
    reference_models,
    shot_models,
)
from db.records import JobRecord

CONTINUE_PROMPT = "Continue @video naturally, keeping the same subject, style and camera."


class VideoGone(Exception):
    """The earlier job's video is no longer known to the provider (no result URL kept)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id


@dataclass(frozen=True, slots=True)
class ExtendPlan:
    draft: JobDraft
    made_with: str  # the model of the video being extended
    continued_with: str | None  # the omni model that continues it, when the extend action cannot


def video_reference(parent: JobRecord, refer_type: str, keep_sound: bool | None = None) -> dict[str, Any]:
    """Options that send an earlier job's finished video as a `video_list` entry. Raises VideoGone."""
    if not parent.result_url:
        raise VideoGone(parent.id)
    return {
        "reference_video": {"refer_type": refer_type, "keep_sound": keep_sound, "job_id": parent.id},
        "_reference_video_url": parent.result_url,  # private: the provider's own (signed) link
    }


class VideoService:
    def __init__(self, family: str) -> None:
        self.family = family

    def models(self, kind: JobKind) -> tuple[str, ...]:
        return model_choices(self.family, kind)

    def reference_models(self) -> tuple[str, ...]:
        return reference_models(self.family)

    def shot_models(self) -> tuple[str, ...]:
        return shot_models(self.family)

    def made_with(self, job: JobRecord) -> str:
        """The model that made a job's video (the family's default when the job named none)."""
        defaults = capabilities(self.family).defaults
        kind = JobKind.MOTION if job.kind == JobKind.MOTION.value else JobKind.TEXT2VIDEO
        return str(job.params.get("model") or defaults.get(kind, ""))

    def extend_plan(
        self, parent: JobRecord, requester: Requester, prompt: str | None, size_limit: int
    ) -> ExtendPlan:
        """The extend action for the models that take it; otherwise the video continued by an omni model
        with the video as a `feature` reference. Raises VideoGone, ReferenceNotAttached."""
        made_with = self.made_with(parent)
        mode = str(parent.params.get("mode", "std"))
        if extends_natively(self.family, made_with):
            options = {
                "video_id": parent.result_video_id,
                "prompt": prompt,
                "mode": mode,
                "attachment_size_limit": size_limit,
            }
            return ExtendPlan(
                JobDraft(JobKind.EXTEND, requester, options, parent_job_id=parent.id), made_with, None
            )
        model = self._continuing_model()
        cited = cite_references(
            f"Continue @video seamlessly: {prompt}" if prompt else CONTINUE_PROMPT, images=0, video=True
        )
        options = {
            "video_id": parent.result_video_id,
            "prompt": cited.prompt,
            "model": model,
            "mode": PRO if mode == FOURK else mode,  # 4k takes no reference video (providers.md §1.3)
            "aspect_ratio": parent.params.get("aspect_ratio", "16:9"),
            "attachment_size_limit": size_limit,
            **video_reference(parent, "feature"),
        }
        draft = JobDraft(
            JobKind.EXTEND,
            requester,
            options,
            parent_job_id=parent.id,
            reference_seconds=parent.result_duration,
        )
        return ExtendPlan(draft, made_with, model)

    def _continuing_model(self) -> str:
        offered = reference_models(self.family)
        return FEATURE_EXTEND_MODEL if FEATURE_EXTEND_MODEL in offered or not offered else offered[-1]
