"""Finding jobs, re-running one with the same settings, and recording a deleted video."""

from __future__ import annotations

from collections.abc import Sequence

from bot.jobs.audit import AuditAction, AuditRecord, AuditTrail
from bot.jobs.drafts import InputFile, JobDraft, Requester
from bot.jobs.inputs import InputStore
from bot.models import JobKind
from db.records import JobRecord, JobState
from db.store import Store

# Params the engine keeps for itself: never copied into a new draft's options.
PRIVATE_PARAMS = frozenset({"inputs", "_source_urls", "notes", "reference_seconds"})
FINISHED = (JobState.SUCCEEDED, JobState.DELIVERED)


class InputsGone(Exception):
    """The job's input files are no longer kept, so it cannot run again."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id


class InputsExpired(InputsGone):
    """Retention removed the job's input files `kept_for` seconds after it finished."""

    def __init__(self, job_id: str, removed_at: float, kept_for: float) -> None:
        super().__init__(job_id)
        self.removed_at = removed_at
        self.kept_for = kept_for


def inputs_expired(job: JobRecord) -> bool:
    """Whether the job had input files and retention has removed them."""
    return job.inputs_removed_at is not None and bool(job.params.get("inputs"))


def extendable(job: JobRecord) -> bool:
    return job.status in FINISHED and bool(job.result_video_id)


class JobService:
    def __init__(
        self, store: Store, inputs: InputStore, trail: AuditTrail, *, inputs_kept_for: float
    ) -> None:
        self.store = store
        self.inputs = inputs
        self.trail = trail
        self.inputs_kept_for = inputs_kept_for  # seconds a finished job's input files are kept

    async def get(self, job_id: str) -> JobRecord | None:
        return await self.store.get_job(job_id)

    async def find(self, guild_id: int | None, job_id: str) -> JobRecord | None:
        """The job with this id (as typed) when it belongs to this server."""
        job = await self.store.get_job(job_id.strip().lower())
        return job if job is not None and job.guild_id == guild_id else None

    async def search(
        self,
        guild_id: int | None,
        user_id: int | None,
        *,
        states: Sequence[JobState] | None = None,
        limit: int = 25,
        query: str | None = None,
    ) -> list[JobRecord]:
        return await self.store.list_jobs(
            guild_id=guild_id,
            user_id=user_id,
            states=states,
            limit=limit,
            query=(query or "").strip() or None,
        )

    async def rerun_draft(self, job: JobRecord, requester: Requester, size_limit: int) -> JobDraft:
        """A new draft with the job's settings and inputs. Raises InputsExpired when retention removed
        them, InputsGone when they are missing otherwise; either way before anything is charged."""
        if inputs_expired(job):
            assert job.inputs_removed_at is not None
            raise InputsExpired(job.id, job.inputs_removed_at, self.inputs_kept_for)
        inputs = []
        source_urls = job.params.get("_source_urls", {})
        for item in job.params.get("inputs", []):
            data = await self.inputs.read(job.id, item["name"])
            if data is None:
                raise InputsGone(job.id)
            converted = bool(item.get("converted"))
            inputs.append(
                InputFile(
                    item["role"],
                    data,
                    item["filename"],
                    item["content_type"],
                    source_url=None if converted else source_urls.get(item["role"]),
                    converted=converted,
                )
            )
        options = {k: v for k, v in job.params.items() if k not in PRIVATE_PARAMS}
        options["attachment_size_limit"] = size_limit
        return JobDraft(
            JobKind(job.kind),
            requester,
            options,
            inputs=tuple(inputs),
            parent_job_id=job.id,
            reference_seconds=job.params.get("reference_seconds"),
        )

    async def video_deleted(self, job: JobRecord, actor_id: int) -> None:
        await self.trail.record(
            AuditRecord(AuditAction.VIDEO_DELETED, job.guild_id, actor_id, job.id, {"user_id": job.user_id})
        )
