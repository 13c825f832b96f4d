"""What each provider family offers, model by model: one table, read by the checker, the request
builders and the command options (autocomplete), so no capability is decided by a scattered `if`.

Sources: providers.md §1.3 and its capability matrix §1.3.1 (AceData), §2.4 (the official API,
which the gateways of §3 proxy), §4 (kie: motion control only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from bot.models import JobKind

STD, PRO, FOURK = "std", "pro", "4k"
FIVE_OR_TEN = (5, 10)
THREE_TO_FIFTEEN = tuple(range(3, 16))
ONLY_FIVE = (5,)


@dataclass(frozen=True, slots=True)
class ModeRow:
    """What a model does in one mode (§1.3.1)."""

    end_frame: bool = False
    sound: bool = False
    camera: bool = False


@dataclass(frozen=True, slots=True)
class ReferenceLimits:
    """Omni references (§1.3 `image_list` / `video_list`, and the omni notes after the model list)."""

    video_seconds: tuple[float, float]
    video_sides: tuple[int, int]  # each of width and height, in pixels
    video_max_pixels: int | None = None
    video_aspect: tuple[float, float] | None = None  # width / height
    max_images: int = 7
    max_images_with_video: int = 4


@dataclass(frozen=True, slots=True)
class ModelRow:
    """One text/image-to-video model: its modes, durations and which options it takes."""

    name: str
    modes: Mapping[str, ModeRow]
    durations: tuple[int, ...] = FIVE_OR_TEN
    # Durations allowed once an end frame or a camera move is asked for (§1.3 `duration`: requests
    # with a tail frame are 5 s only; kling-v1 does either only at 5 s). None: all of `durations`.
    end_frame_durations: tuple[int, ...] | None = ONLY_FIVE
    camera_durations: tuple[int, ...] | None = None
    image2video: bool = True
    negative_prompt: bool = True
    cfg_scale: bool = True
    references: ReferenceLimits | None = None  # omni models only
    multi_shot: bool = False
    sound_always: bool = False  # kling-v3-turbo: native audio that cannot be turned off

    @property
    def mode_names(self) -> tuple[str, ...]:
        return tuple(self.modes)


@dataclass(frozen=True, slots=True)
class ShotLimits:
    """Multi-shot (§1.3 `multi_prompt`). AceData documents up to six shots; the bot's shot form
    holds five."""

    max_shots: int = 5
    min_seconds: int = 1
    max_prompt_chars: int = 512


@dataclass(frozen=True, slots=True)
class FamilyCapabilities:
    family: str
    kinds: frozenset[JobKind]
    models: Mapping[str, ModelRow] = field(default_factory=lambda: MappingProxyType({}))
    motion_models: tuple[str, ...] = ()
    extend_models: tuple[str, ...] = ()
    defaults: Mapping[JobKind, str] = field(default_factory=lambda: MappingProxyType({}))
    # The bot's model names the family spells differently on the wire.
    wire_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    shots: ShotLimits = ShotLimits()

    def wire_name(self, model: str) -> str:
        return self.wire_names.get(model, model)


def _modes(**rows: ModeRow) -> Mapping[str, ModeRow]:
    return MappingProxyType({"4k" if name == "fourk" else name: row for name, row in rows.items()})


NONE = ModeRow()
END = ModeRow(end_frame=True)
O1_REFERENCES = ReferenceLimits(video_seconds=(3.0, 10.0), video_sides=(700, 2160))
V3_OMNI_REFERENCES = ReferenceLimits(
    video_seconds=(3.0, 15.5), video_sides=(700, 4553), video_max_pixels=8_294_400, video_aspect=(0.4, 2.0)
)

# §1.3.1, row by row. The omni models take no negative prompt, cfg_scale or camera (§1.3); cfg_scale
# is not supported by the v2.x models (§2.4, §5).
KLING_V1 = ModelRow(
    "kling-v1",
    _modes(std=ModeRow(end_frame=True, camera=True), pro=ModeRow(end_frame=True, camera=True)),
    camera_durations=ONLY_FIVE,
)
KLING_V1_6 = ModelRow("kling-v1-6", _modes(std=NONE, pro=END))
# "Single mode" (§1.3.1): no std/pro choice, so the bot sends and charges std.
KLING_V2_MASTER = ModelRow("kling-v2-master", _modes(std=NONE), cfg_scale=False)
KLING_V2_1_MASTER = ModelRow("kling-v2-1-master", _modes(std=NONE), cfg_scale=False)
KLING_V2_5_TURBO = ModelRow("kling-v2-5-turbo", _modes(std=NONE, pro=END), cfg_scale=False)
KLING_V2_6 = ModelRow(
    "kling-v2-6", _modes(std=NONE, pro=ModeRow(end_frame=True, sound=True)), cfg_scale=False
)
KLING_V3 = ModelRow(
    "kling-v3",
    _modes(
        std=ModeRow(end_frame=True, sound=True, camera=True),
        pro=ModeRow(end_frame=True, sound=True, camera=True),
        fourk=ModeRow(end_frame=True, sound=True),
    ),
    durations=THREE_TO_FIFTEEN,
    end_frame_durations=None,
    multi_shot=True,
)
OMNI_MODE = ModeRow(end_frame=True, sound=True)
# The omni models and v3-turbo take no negative prompt or cfg_scale (§1.3); v3-omni and v3-turbo keep
# v3's lengths.
KLING_V3_OMNI = replace(
    KLING_V3,
    name="kling-v3-omni",
    modes=_modes(std=OMNI_MODE, pro=OMNI_MODE, fourk=OMNI_MODE),  # 4k only without references (§1.3)
    negative_prompt=False,
    cfg_scale=False,
    references=V3_OMNI_REFERENCES,
)
KLING_O1 = ModelRow(
    "kling-o1",
    _modes(std=END, pro=END),
    durations=ONLY_FIVE,
    negative_prompt=False,
    cfg_scale=False,
    references=O1_REFERENCES,
)
# AceData's "Kling 3.0 Turbo" (§1.3 model notes): first-frame image-to-video, audio always on.
KLING_V3_TURBO = replace(
    KLING_V3,
    name="kling-v3-turbo",
    modes=_modes(std=NONE, pro=NONE),
    negative_prompt=False,
    cfg_scale=False,
    multi_shot=False,
    sound_always=True,
)


def _rows(*rows: ModelRow) -> Mapping[str, ModelRow]:
    return MappingProxyType({row.name: row for row in rows})


def _defaults(*, video: str, motion: str) -> Mapping[JobKind, str]:
    # §1.3 and §2.4: kling-v1 when a video request names no model; kling-v2-6 for motion.
    return MappingProxyType({JobKind.TEXT2VIDEO: video, JobKind.IMAGE2VIDEO: video, JobKind.MOTION: motion})


ACEDATA_ROWS = (
    KLING_V1,
    KLING_V1_6,
    KLING_V2_MASTER,
    KLING_V2_1_MASTER,
    KLING_V2_5_TURBO,
    KLING_V2_6,
    KLING_V3,
    KLING_V3_OMNI,
    KLING_V3_TURBO,
    KLING_O1,
)
ACEDATA = FamilyCapabilities(
    family="acedata",
    kinds=frozenset(JobKind),
    models=_rows(*ACEDATA_ROWS),
    motion_models=("kling-v2-6", "kling-v3"),  # §1.2 model_name
    extend_models=("kling-v1", "kling-v1-5", "kling-v1-6"),  # §1.3 "For extend"
    defaults=_defaults(video="kling-v1", motion="kling-v2-6"),
)


def _without_4k(row: ModelRow) -> ModelRow:
    """§2.4 documents std and pro only: the official API has no 4k mode."""
    modes = MappingProxyType({name: mode for name, mode in row.modes.items() if name != FOURK})
    return replace(row, modes=modes)


# §2.4: text2video, image2video, video-extend, omni-video (kling-video-o1, kling-v3-omni); no
# kling-v3-turbo. The omni endpoint's duration is "3" to "15" without a per-model word; kling-o1 keeps
# the 5 s that AceData, which proxies it, documents.
_OFFICIAL = FamilyCapabilities(
    family="kling",
    kinds=frozenset(JobKind),
    models=_rows(*(_without_4k(row) for row in ACEDATA_ROWS if row is not KLING_V3_TURBO)),
    motion_models=("kling-v2-6", "kling-v3"),  # §2.3 model_name
    extend_models=("kling-v1", "kling-v1-5", "kling-v1-6"),
    defaults=_defaults(video="kling-v1", motion="kling-v2-6"),
    wire_names=MappingProxyType({"kling-o1": "kling-video-o1"}),
)
KLING = _OFFICIAL
# The gateways take the official bodies and pass them on (§3.1), so they offer what Kling offers.
GATEWAY = replace(_OFFICIAL, family="gateway")
# §4: kie's Kling models here are motion control only.
KIE = FamilyCapabilities(
    family="kie",
    kinds=frozenset({JobKind.MOTION}),
    motion_models=("kling-v2-6", "kling-v3"),  # kling-2.6/ and kling-3.0/motion-control (§4.1)
    defaults=MappingProxyType({JobKind.MOTION: "kling-v2-6"}),
)

FAMILIES: Mapping[str, FamilyCapabilities] = MappingProxyType(
    {caps.family: caps for caps in (ACEDATA, KLING, GATEWAY, KIE)}
)
OMNI_MODELS = frozenset(name for name, row in ACEDATA.models.items() if row.references is not None)
# The models AceData's `extend` action takes (§1.3); a video by any other model is continued with an
# omni model and `refer_type: feature` instead.
FEATURE_EXTEND_MODEL = "kling-v3-omni"


def capabilities(family: str) -> FamilyCapabilities:
    try:
        return FAMILIES[family]
    except KeyError:
        raise ValueError(f"unknown provider family {family!r}") from None


def model_choices(family: str, kind: JobKind) -> tuple[str, ...]:
    """The models to offer for `kind` (for autocomplete), in the table's order."""
    caps = capabilities(family)
    if kind not in caps.kinds:
        return ()
    if kind is JobKind.MOTION:
        return caps.motion_models
    if kind is JobKind.EXTEND:
        return caps.extend_models
    if kind is JobKind.IMAGE2VIDEO:
        return tuple(name for name, row in caps.models.items() if row.image2video)
    return tuple(caps.models)


def reference_models(family: str) -> tuple[str, ...]:
    """The omni models: image and video references, editing, feature extension."""
    return tuple(name for name, row in capabilities(family).models.items() if row.references)


def shot_models(family: str) -> tuple[str, ...]:
    return tuple(name for name, row in capabilities(family).models.items() if row.multi_shot)


def extends_natively(family: str, model: str | None) -> bool:
    """Whether a video made by `model` can go to the family's extend action (kling-v1 family only);
    when not, continue it with FEATURE_EXTEND_MODEL and a `refer_type: feature` reference video."""
    caps = capabilities(family)
    return (model or caps.defaults.get(JobKind.TEXT2VIDEO)) in caps.extend_models


def makes_sound(family: str, model: str | None, sound: bool | None) -> bool:
    """Whether the video will have sound (what the audio cost multiplier follows)."""
    row = capabilities(family).models.get(model or "")
    return bool(row and (row.sound_always or (sound and any(m.sound for m in row.modes.values()))))
