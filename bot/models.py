"""The internal vocabulary every layer shares: job kinds, statuses, error categories and requests.

Providers translate their own words into these; the engine, the store and the cogs only ever see these.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from enum import StrEnum


class JobKind(StrEnum):
    MOTION = "motion"
    TEXT2VIDEO = "text2video"
    IMAGE2VIDEO = "image2video"
    EXTEND = "extend"


class TaskStatus(StrEnum):
    """Where a provider task stands, in the provider-neutral vocabulary of PRODUCT.md §2."""

    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ErrorCategory(StrEnum):
    """Why a provider call or a generation did not work, and therefore what to do about it."""

    INVALID_REQUEST = "invalid_request"  # the member's input: say exactly what is wrong
    CONTENT_POLICY = "content_policy"  # moderation refused the prompt or media
    AUTH = "auth"  # the operator's keys are wrong: the bot is misconfigured
    INSUFFICIENT_CREDITS = "insufficient_credits"  # the provider account ran dry
    RATE_LIMITED = "rate_limited"  # retry later, with backoff
    # The provider runs as many tasks as the account allows (a submit refused for it started nothing):
    # the job waits in the line for a slot, never retried on its own.
    PROVIDER_FULL = "provider_full"
    TRANSIENT = "transient"  # 5xx, timeouts, connection errors: retry with backoff
    FAILED = "failed"  # the generation itself failed: show the provider's reason
    UNSAFE_RESULT = "unsafe_result"  # the result link breaks the URL policy: never fetched, refunded

    @property
    def is_retryable(self) -> bool:
        return self in (ErrorCategory.RATE_LIMITED, ErrorCategory.TRANSIENT)


@dataclass(frozen=True, slots=True)
class MediaInput:
    """An input file the bot has already read (Discord attachment URLs expire, so bytes are kept).

    `url` is a URL the provider can fetch for as long as the job needs it (the listener's expiring
    input URL, or a fresh Discord CDN URL), or None when the bot has no URL to offer: then the
    provider client must hand over the bytes another way (upload API, raw base64) or refuse.
    """

    data: bytes
    filename: str
    content_type: str
    url: str | None = None

    def __repr__(self) -> str:  # never print bytes or signed URLs
        return f"MediaInput({self.filename!r}, {self.content_type}, {len(self.data)} bytes)"


@dataclass(frozen=True, slots=True)
class CameraControl:
    type: str  # simple, down_back, forward_up, right_turn_forward, left_turn_forward
    config: dict[str, float] | None = None  # only with "simple": exactly one non-zero axis


@dataclass(frozen=True, slots=True)
class ReferenceVideo:
    """An omni model's reference video: `base` is the clip to edit, `feature` lends style, camera
    movement or the scene to continue (providers.md §1.3, `video_list`)."""

    video: MediaInput
    refer_type: str = "base"  # base | feature
    keep_sound: bool | None = None  # None: the provider's default


@dataclass(frozen=True, slots=True)
class Shot:
    """One shot of a multi-shot video: its own prompt and whole seconds (providers.md §1.3)."""

    prompt: str
    seconds: int


@dataclass(frozen=True, slots=True)
class MotionRequest:
    image: MediaInput
    video: MediaInput
    prompt: str | None = None
    mode: str = "std"  # std | pro
    orientation: str = "image"  # image | video
    keep_sound: bool = True
    model: str | None = None
    kind: JobKind = field(default=JobKind.MOTION, init=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoOptions:
    """What text- and image-to-video requests share. Newer models (providers.md §1.3) add sound (None:
    the model's default), omni references (cited in the prompt as <<<image_N>>> / <<<video_1>>>), and
    multi-shot (custom shots, or auto_shots for Kling's own cuts from one prompt)."""

    model: str | None = None
    mode: str = "std"
    duration: int = 5
    negative_prompt: str | None = None
    cfg_scale: float | None = None
    sound: bool | None = None
    reference_images: tuple[MediaInput, ...] = ()
    reference_video: ReferenceVideo | None = None
    shots: tuple[Shot, ...] = ()
    auto_shots: bool = False


@dataclass(frozen=True, slots=True)
class TextToVideoRequest(VideoOptions):
    prompt: str
    _: KW_ONLY  # only the prompt is positional: the shared options come first in field order
    aspect_ratio: str = "16:9"
    camera: CameraControl | None = None
    kind: JobKind = field(default=JobKind.TEXT2VIDEO, init=False)


@dataclass(frozen=True, slots=True)
class ImageToVideoRequest(VideoOptions):
    image: MediaInput
    prompt: str | None = None
    end_image: MediaInput | None = None
    kind: JobKind = field(default=JobKind.IMAGE2VIDEO, init=False)


@dataclass(frozen=True, slots=True)
class ExtendRequest:
    video_id: str  # the provider's id of a video made earlier
    prompt: str | None = None
    kind: JobKind = field(default=JobKind.EXTEND, init=False)


GenerationRequest = MotionRequest | TextToVideoRequest | ImageToVideoRequest | ExtendRequest


@dataclass(frozen=True, slots=True)
class TaskUpdate:
    """One report about one provider task: from a submit, a poll or a callback."""

    task_id: str
    status: TaskStatus
    raw_status: str = ""  # the provider's own word, for logs and /job
    video_url: str | None = None
    video_id: str | None = None  # the provider's id of the result, used by extend
    duration: float | None = None  # seconds
    error_category: ErrorCategory | None = None
    error_message: str | None = None  # the provider's reason, safe to show a member

    def __repr__(self) -> str:  # result URLs are signed: keep them out of reprs and logs
        url = "<set>" if self.video_url else None
        return (
            f"TaskUpdate(task_id={self.task_id!r}, status={self.status.value}, raw={self.raw_status!r}, "
            f"video_url={url}, video_id={self.video_id!r}, duration={self.duration}, "
            f"error={self.error_category}, message={self.error_message!r})"
        )
