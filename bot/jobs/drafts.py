"""What a command hands the engine: a validated request, its inputs' bytes, and who asked where."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.models import JobKind


@dataclass(frozen=True, slots=True)
class InputFile:
    """An input the bot has already read and validated (and possibly converted)."""

    role: str  # image | video | end_image | ref_image_1 … ref_image_4 | ref_video
    data: bytes
    filename: str
    content_type: str
    source_url: str | None = None  # Discord's URL, only while the bytes are exactly what it serves
    converted: bool = False

    def __repr__(self) -> str:
        return (
            f"InputFile({self.role}, {self.filename!r}, {len(self.data)} bytes, converted={self.converted})"
        )


@dataclass(frozen=True, slots=True)
class Requester:
    user_id: int
    guild_id: int | None
    channel_id: int
    parent_channel_id: int | None = None  # the channel a thread belongs to
    role_ids: tuple[int, ...] = ()
    interaction_token: str | None = None
    interaction_expires_at: float | None = None
    application_id: int | None = None

    def __repr__(self) -> str:
        return f"Requester(user={self.user_id}, guild={self.guild_id}, channel={self.channel_id})"


@dataclass(frozen=True, slots=True)
class JobDraft:
    kind: JobKind
    requester: Requester
    options: dict[str, Any]  # the request's options, JSON-serialisable (prompt, mode, duration, …)
    inputs: tuple[InputFile, ...] = ()
    parent_job_id: str | None = None
    notes: tuple[str, ...] = field(default=())  # what was converted or trimmed, to tell the member
    reference_seconds: float | None = None  # the reference video's length (motion: for the cost)
    reference_size: tuple[int, int] | None = None  # the reference video's width and height, once read
    # The roles of the attachments the command will read: what the capability check counts before
    # anything is downloaded (once read, `inputs` says the same).
    attached: tuple[str, ...] = ()
