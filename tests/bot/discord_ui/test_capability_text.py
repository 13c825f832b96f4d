"""One sentence per capability problem, each saying what would work."""

from __future__ import annotations

import pytest

from bot.discord_ui.capability_text import problem_text
from bot.models import JobKind
from bot.providers.capability_check import (
    CapabilityProblem,
    DurationNotOffered,
    KindNotInFamily,
    ModelNotOffered,
    ModeNotOffered,
    OptionNeedsDuration,
    OptionNeedsMode,
    OptionNotOffered,
    OptionsExclusive,
    ReferenceVideoLength,
    ReferenceVideoSize,
    ShotPromptTooLong,
    ShotsDontAddUp,
    ShotTooShort,
    SoundAlwaysOn,
    TooManyReferenceImages,
    TooManyShots,
)

CASES: list[tuple[CapabilityProblem, str]] = [
    (
        KindNotInFamily("kie", JobKind.TEXT2VIDEO, (JobKind.MOTION,)),
        "This bot's video provider (kie) does not offer text-to-video; "
        "only motion control (/motion) works here.",
    ),
    (
        ModelNotOffered("kling", "kling-v3-turbo", ("kling-v1", "kling-v3")),
        "This bot's video provider (kling) has no text-to-video model kling-v3-turbo; "
        "choose model: kling-v1 or kling-v3.",
    ),
    (
        ModeNotOffered("kling-v2-6", "4k", ("std", "pro")),
        "kling-v2-6 has no 4k mode; choose mode: std or pro.",
    ),
    (
        DurationNotOffered("kling-v3", 20, tuple(range(3, 16))),
        "kling-v3 makes any whole number of seconds from 3 to 15, not 20; choose duration: "
        "3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 or 15.",
    ),
    (
        DurationNotOffered("kling-o1", 10, (5,)),
        "kling-o1 makes 5 seconds, not 10; choose duration: 5.",
    ),
    (
        OptionNeedsMode("kling-v2-6", "sound", ("pro",)),
        "kling-v2-6 makes sound only in pro mode; choose mode: pro or turn sound off.",
    ),
    (
        OptionNeedsMode("kling-v1-6", "end_frame", ("pro",)),
        "kling-v1-6 takes an end frame only in pro mode; choose mode: pro or remove the end frame.",
    ),
    (
        OptionNeedsDuration("kling-v1", "camera", (5,)),
        "kling-v1 takes a camera movement only for 5 seconds; "
        "choose duration: 5 or remove the camera movement.",
    ),
    (
        OptionNotOffered("kling-o1", "negative_prompt", ("kling-v1", "kling-v3")),
        "kling-o1 does not take a negative prompt; choose model: kling-v1 or kling-v3, "
        "or remove the negative prompt.",
    ),
    (
        OptionNotOffered("kling-v1", "multi_shot", ()),
        "kling-v1 does not make multi-shot videos, nor does any model here; remove the shots.",
    ),
    (
        OptionsExclusive("kling-v3", "camera", "4k"),
        "kling-v3 does not take the camera movement together with mode 4k; remove one of them.",
    ),
    (
        SoundAlwaysOn("kling-v3-turbo"),
        "kling-v3-turbo always makes sound; leave sound on or choose another model.",
    ),
    (
        TooManyReferenceImages("kling-o1", 6, 4, True),
        "kling-o1 takes at most 4 reference images beside a reference video, not 6; attach 4 or fewer.",
    ),
    (
        TooManyReferenceImages("kling-v3-omni", 8, 7, False),
        "kling-v3-omni takes at most 7 reference images, not 8; attach 7 or fewer.",
    ),
    (
        ReferenceVideoLength("kling-o1", 12.04, 3.0, 10.0),
        "kling-o1 takes a reference video of 3 s to 10 s, and this one is 12 s; trim it or attach another.",
    ),
    (
        ReferenceVideoSize("kling-v3-omni", 640, 360, (700, 4553), 8_294_400, (0.4, 2.0)),
        "kling-v3-omni takes a reference video of 700 to 4553 pixels a side, "
        "at most 8,294,400 pixels in all, width/height 0.4 to 2, and this one is 640×360; attach another.",
    ),
    (TooManyShots("kling-v3", 6, 5), "kling-v3 makes at most 5 shots, not 6; merge some shots."),
    (ShotTooShort(2, 0, 1), "Shot 2 is 0 s; each shot needs at least 1 s."),
    (ShotPromptTooLong(3, 600, 512), "Shot 3's prompt is 600 characters; a shot prompt holds at most 512."),
    (
        ShotsDontAddUp(12, 10),
        "The shots add up to 12 s but the video is 10 s; make them add up to 10 s.",
    ),
]


@pytest.mark.parametrize(("problem", "text"), CASES, ids=lambda value: type(value).__name__)
def test_each_problem_reads_as_one_sentence_that_says_what_works(
    problem: CapabilityProblem, text: str
) -> None:
    assert problem_text(problem) == text


def test_every_problem_type_has_a_case() -> None:
    # By name: a slots dataclass replaces its class, and the first one may linger among the subclasses.
    covered = {type(problem).__name__ for problem, _ in CASES}
    assert covered == {kind.__name__ for kind in CapabilityProblem.__subclasses__()}
