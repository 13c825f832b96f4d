"""Whether a family and model can do what a member asked, before any download or credit.

`check` is pure: it reads the table in bot/providers/capabilities.py and answers None, or the first
problem as a typed value that names the option, the model and what would work. The member-facing
sentences live in bot/discord_ui/capability_text.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter

from bot.models import JobKind, Shot
from bot.providers.capabilities import FOURK, ModelRow, ReferenceLimits, capabilities

# The options a member can ask for, as problems name them.
END_FRAME = "end_frame"
SOUND = "sound"
CAMERA = "camera"
NEGATIVE_PROMPT = "negative_prompt"
CFG_SCALE = "cfg_scale"
REFERENCE_IMAGES = "reference_images"
REFERENCE_VIDEO = "reference_video"
MULTI_SHOT = "multi_shot"
MODE_4K = "4k"


@dataclass(frozen=True, slots=True)
class Requested:
    """What a member asked for, as far as the table cares (counts and lengths, never the media)."""

    kind: JobKind
    model: str | None = None  # None: the family's default
    mode: str = "std"
    duration: int | None = None
    sound: bool | None = None  # None: the model's default
    end_frame: bool = False
    camera: bool = False
    negative_prompt: bool = False
    cfg_scale: bool = False
    reference_images: int = 0
    reference_video_seconds: float | None = None  # a reference video is attached when set
    reference_video_size: tuple[int, int] | None = None  # width, height
    # A reference video will be attached but is not read yet (the check before any download).
    reference_video_planned: bool = False
    reference_video_type: str = "base"  # base | feature
    shots: tuple[Shot, ...] = ()
    auto_shots: bool = False


class CapabilityProblem:
    """Base of every answer `check` gives other than None."""


@dataclass(frozen=True, slots=True)
class KindNotInFamily(CapabilityProblem):
    family: str
    kind: JobKind
    kinds: tuple[JobKind, ...]


@dataclass(frozen=True, slots=True)
class ModelNotOffered(CapabilityProblem):
    family: str
    model: str
    models: tuple[str, ...]
    kind: JobKind = JobKind.TEXT2VIDEO


@dataclass(frozen=True, slots=True)
class ModeNotOffered(CapabilityProblem):
    model: str
    mode: str
    modes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DurationNotOffered(CapabilityProblem):
    model: str
    duration: int
    allowed: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OptionNotOffered(CapabilityProblem):
    """The model never takes this option; `models` are the family's models that do."""

    model: str
    option: str
    models: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OptionNeedsMode(CapabilityProblem):
    model: str
    option: str
    modes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OptionNeedsDuration(CapabilityProblem):
    model: str
    option: str
    durations: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OptionsExclusive(CapabilityProblem):
    """Two options the model will not take together."""

    model: str
    option: str
    other: str


@dataclass(frozen=True, slots=True)
class SoundAlwaysOn(CapabilityProblem):
    model: str


@dataclass(frozen=True, slots=True)
class TooManyReferenceImages(CapabilityProblem):
    model: str
    count: int
    limit: int
    with_video: bool


@dataclass(frozen=True, slots=True)
class ReferenceVideoLength(CapabilityProblem):
    model: str
    seconds: float
    minimum: float
    maximum: float


@dataclass(frozen=True, slots=True)
class ReferenceVideoSize(CapabilityProblem):
    model: str
    width: int
    height: int
    sides: tuple[int, int]
    max_pixels: int | None
    aspect: tuple[float, float] | None


@dataclass(frozen=True, slots=True)
class TooManyShots(CapabilityProblem):
    model: str
    count: int
    limit: int


@dataclass(frozen=True, slots=True)
class ShotTooShort(CapabilityProblem):
    index: int  # 1-based
    seconds: int
    minimum: int


@dataclass(frozen=True, slots=True)
class ShotPromptTooLong(CapabilityProblem):
    index: int
    length: int
    limit: int


@dataclass(frozen=True, slots=True)
class ShotsDontAddUp(CapabilityProblem):
    total: int
    duration: int


def check(family: str, options: Requested) -> CapabilityProblem | None:
    """The first thing in `options` the family or model cannot do, or None."""
    caps = capabilities(family)
    kind = options.kind
    if kind not in caps.kinds:
        return KindNotInFamily(family, kind, tuple(k for k in JobKind if k in caps.kinds))
    model = options.model or caps.defaults.get(kind)
    if kind in (JobKind.MOTION, JobKind.EXTEND):
        allowed = caps.motion_models if kind is JobKind.MOTION else caps.extend_models
        if options.model is not None and options.model not in allowed:
            return ModelNotOffered(family, options.model, allowed, kind)
        return None
    row = caps.models.get(model or "")
    if row is None or (kind is JobKind.IMAGE2VIDEO and not row.image2video):
        offered = tuple(
            name for name, r in caps.models.items() if kind is JobKind.TEXT2VIDEO or r.image2video
        )
        return ModelNotOffered(family, model or "", offered, kind)
    return (
        _check_mode_and_duration(family, row, options)
        or _check_options(family, row, options)
        or _check_references(family, row, options)
        or _check_shots(family, row, options)
    )


def _modes_with(row: ModelRow, option: str) -> tuple[str, ...]:
    return tuple(name for name, mode in row.modes.items() if getattr(mode, option))


def _check_mode_and_duration(family: str, row: ModelRow, options: Requested) -> CapabilityProblem | None:
    mode = row.modes.get(options.mode)
    if mode is None:
        return ModeNotOffered(row.name, options.mode, row.mode_names)
    duration = options.duration
    if duration is not None and duration not in row.durations:
        return DurationNotOffered(row.name, duration, row.durations)
    # Each option is named as its ModeRow field; each may also limit the durations.
    framing = (
        (END_FRAME, options.end_frame, mode.end_frame, row.end_frame_durations),
        (CAMERA, options.camera, mode.camera, row.camera_durations),
    )
    for option, asked, in_mode, durations in framing:
        if not asked:
            continue
        if not in_mode:
            if option == CAMERA and options.mode == FOURK and _modes_with(row, option):
                return OptionsExclusive(row.name, CAMERA, MODE_4K)
            return _not_in_mode(family, row, option, option)
        if durations and duration is not None and duration not in durations:
            return OptionNeedsDuration(row.name, option, durations)
    if options.camera and options.end_frame:  # §2.4: image_tail and camera_control are mutually exclusive
        return OptionsExclusive(row.name, CAMERA, END_FRAME)
    return None


def _not_in_mode(family: str, row: ModelRow, option: str, field: str) -> CapabilityProblem:
    """In another mode of this model, or else in another model of the family."""
    modes = _modes_with(row, field)
    if modes:
        return OptionNeedsMode(row.name, option, modes)
    always = field == "sound"
    return _offered_by(
        family, row.name, option, lambda r: (always and r.sound_always) or bool(_modes_with(r, field))
    )


def _check_options(family: str, row: ModelRow, options: Requested) -> CapabilityProblem | None:
    if row.sound_always and options.sound is False:
        return SoundAlwaysOn(row.name)
    if options.sound and not row.sound_always and not row.modes[options.mode].sound:
        return _not_in_mode(family, row, SOUND, "sound")
    for option, asked in ((NEGATIVE_PROMPT, options.negative_prompt), (CFG_SCALE, options.cfg_scale)):
        offers = attrgetter(option)  # the ModelRow field is named as the option
        if asked and not offers(row):
            return _offered_by(family, row.name, option, offers)
    return None


def _offered_by(family: str, model: str, option: str, offers: Callable[[ModelRow], bool]) -> OptionNotOffered:
    models = tuple(name for name, r in capabilities(family).models.items() if offers(r))
    return OptionNotOffered(model, option, models)


def _check_references(family: str, row: ModelRow, options: Requested) -> CapabilityProblem | None:
    video = options.reference_video_planned or options.reference_video_seconds is not None
    if not (video or options.reference_images):
        return None
    limits = row.references
    if limits is None:
        option = REFERENCE_VIDEO if video else REFERENCE_IMAGES
        return _offered_by(family, row.name, option, lambda r: r.references is not None)
    if options.mode == FOURK:
        return OptionsExclusive(row.name, REFERENCE_VIDEO if video else REFERENCE_IMAGES, MODE_4K)
    limit = limits.max_images_with_video if video else limits.max_images
    if options.reference_images > limit:
        return TooManyReferenceImages(row.name, options.reference_images, limit, video)
    if not video:
        return None
    if options.sound:  # §1.3 video_list: with a reference video, generate_audio must be false
        return OptionsExclusive(row.name, SOUND, REFERENCE_VIDEO)
    if options.reference_video_type == "base" and (options.end_frame or options.kind is JobKind.IMAGE2VIDEO):
        return OptionsExclusive(row.name, REFERENCE_VIDEO, END_FRAME if options.end_frame else "start_frame")
    if options.reference_video_seconds is None:
        return None  # not read yet: its length and size are checked once it is
    seconds = options.reference_video_seconds
    low, high = limits.video_seconds
    if not low <= seconds <= high:
        return ReferenceVideoLength(row.name, seconds, low, high)
    return _check_video_size(row.name, limits, options.reference_video_size)


def _check_video_size(
    model: str, limits: ReferenceLimits, size: tuple[int, int] | None
) -> CapabilityProblem | None:
    if size is None:
        return None
    width, height = size
    low, high = limits.video_sides
    fits = low <= width <= high and low <= height <= high
    if limits.video_max_pixels is not None and width * height > limits.video_max_pixels:
        fits = False
    if limits.video_aspect is not None and height > 0:
        fits = fits and limits.video_aspect[0] <= width / height <= limits.video_aspect[1]
    if fits:
        return None
    return ReferenceVideoSize(
        model, width, height, limits.video_sides, limits.video_max_pixels, limits.video_aspect
    )


def _check_shots(family: str, row: ModelRow, options: Requested) -> CapabilityProblem | None:
    if not (options.shots or options.auto_shots):
        return None
    if not row.multi_shot:
        return _offered_by(family, row.name, MULTI_SHOT, lambda r: r.multi_shot)
    limits = capabilities(family).shots
    shots = options.shots
    if len(shots) > limits.max_shots:
        return TooManyShots(row.name, len(shots), limits.max_shots)
    for index, shot in enumerate(shots, start=1):
        if shot.seconds < limits.min_seconds:
            return ShotTooShort(index, shot.seconds, limits.min_seconds)
        if len(shot.prompt) > limits.max_prompt_chars:
            return ShotPromptTooLong(index, len(shot.prompt), limits.max_prompt_chars)
    total = sum(shot.seconds for shot in shots)
    if shots and options.duration is not None and total != options.duration:
        return ShotsDontAddUp(total, options.duration)
    if shots and total not in row.durations:
        return DurationNotOffered(row.name, total, row.durations)
    return None
