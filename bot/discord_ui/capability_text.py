"""What a member reads when the chosen model or provider cannot do what they asked: one sentence per
problem type of bot/providers/capability_check.py, each saying what would work instead.
"""

from __future__ import annotations

from collections.abc import Sequence

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

# How an option reads after a model's name: ("makes", "sound") → "makes sound" / "does not make sound".
OPTION_VERBS = {
    "end_frame": ("takes", "an end frame"),
    "sound": ("makes", "sound"),
    "camera": ("takes", "a camera movement"),
    "negative_prompt": ("takes", "a negative prompt"),
    "cfg_scale": ("takes", "cfg_scale"),
    "reference_images": ("takes", "reference images"),
    "reference_video": ("takes", "a reference video"),
    "multi_shot": ("makes", "multi-shot videos"),
}
# What the member does to drop an option.
OPTION_UNDO = {
    "sound": "turn sound off",
    "4k": "choose another mode",
}
# How an option reads as a thing to remove.
OPTION_NAMES = {
    "end_frame": "the end frame",
    "start_frame": "the start image",
    "sound": "sound",
    "camera": "the camera movement",
    "negative_prompt": "the negative prompt",
    "cfg_scale": "cfg_scale",
    "reference_images": "the reference images",
    "reference_video": "the reference video",
    "multi_shot": "the shots",
    "4k": "mode 4k",
}
KIND_COMMANDS = {
    JobKind.MOTION: "motion control (/motion)",
    JobKind.TEXT2VIDEO: "text-to-video",
    JobKind.IMAGE2VIDEO: "image-to-video",
    JobKind.EXTEND: "extending videos",
}


def _or(items: Sequence[object]) -> str:
    words = [str(item) for item in items]
    if not words:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _durations(allowed: Sequence[int]) -> str:
    values = list(allowed)
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"any whole number of seconds from {values[0]} to {values[-1]}"
    return f"{_or(values)} seconds"


def _undo(option: str) -> str:
    return OPTION_UNDO.get(option, f"remove {OPTION_NAMES[option]}")


def _does(option: str) -> str:
    verb, thing = OPTION_VERBS[option]
    return f"{verb} {thing}"


def _does_not(option: str) -> str:
    verb, thing = OPTION_VERBS[option]
    return f"does not {verb.removesuffix('s')} {thing}"


def _option_text(problem: CapabilityProblem) -> str | None:
    match problem:
        case OptionNeedsMode(model, option, modes):
            return (
                f"{model} {_does(option)} only in {_or(modes)} mode; "
                f"choose mode: {_or(modes)} or {_undo(option)}."
            )
        case OptionNeedsDuration(model, option, durations):
            return (
                f"{model} {_does(option)} only for {_durations(durations)}; "
                f"choose duration: {_or(durations)} or {_undo(option)}."
            )
        case OptionNotOffered(model, option, ()):
            return f"{model} {_does_not(option)}, nor does any model here; {_undo(option)}."
        case OptionNotOffered(model, option, models):
            return f"{model} {_does_not(option)}; choose model: {_or(models)}, or {_undo(option)}."
        case OptionsExclusive(model, option, other):
            return (
                f"{model} does not take {OPTION_NAMES[option]} together with {OPTION_NAMES[other]}; "
                "remove one of them."
            )
        case SoundAlwaysOn(model):
            return f"{model} always makes sound; leave sound on or choose another model."
    return None


def _media_text(problem: CapabilityProblem) -> str | None:
    match problem:
        case TooManyReferenceImages(model, count, limit, with_video):
            beside = " beside a reference video" if with_video else ""
            return (
                f"{model} takes at most {limit} reference images{beside}, not {count}; "
                f"attach {limit} or fewer."
            )
        case ReferenceVideoLength(model, seconds, minimum, maximum):
            return (
                f"{model} takes a reference video of {_seconds(minimum)} to {_seconds(maximum)}, "
                f"and this one is {_seconds(round(seconds, 1))}; trim it or attach another."
            )
        case ReferenceVideoSize(model, width, height, sides, max_pixels, aspect):
            bounds = f"{sides[0]} to {sides[1]} pixels a side"
            if max_pixels is not None:
                bounds += f", at most {max_pixels:,} pixels in all"
            if aspect is not None:
                bounds += f", width/height {aspect[0]:g} to {aspect[1]:g}"
            return (
                f"{model} takes a reference video of {bounds}, and this one is {width}×{height}; "
                "attach another."
            )
    return None


def _shot_text(problem: CapabilityProblem) -> str | None:
    match problem:
        case TooManyShots(model, count, limit):
            return f"{model} makes at most {limit} shots, not {count}; merge some shots."
        case ShotTooShort(index, seconds, minimum):
            return f"Shot {index} is {seconds} s; each shot needs at least {minimum} s."
        case ShotPromptTooLong(index, length, limit):
            return f"Shot {index}'s prompt is {length} characters; a shot prompt holds at most {limit}."
        case ShotsDontAddUp(total, duration):
            return (
                f"The shots add up to {total} s but the video is {duration} s; "
                f"make them add up to {duration} s."
            )
    return None


def problem_text(problem: CapabilityProblem) -> str:
    """One sentence for the member: what cannot be done, and what would work."""
    match problem:
        case KindNotInFamily(family, kind, kinds):
            offered = _or([KIND_COMMANDS[k] for k in kinds])
            return (
                f"This bot's video provider ({family}) does not offer {KIND_COMMANDS[kind]}; "
                f"only {offered} works here."
            )
        case ModelNotOffered(family, model, models, kind):
            return (
                f"This bot's video provider ({family}) has no {KIND_COMMANDS[kind]} model {model}; "
                f"choose model: {_or(models)}."
            )
        case ModeNotOffered(model, mode, modes):
            return f"{model} has no {mode} mode; choose mode: {_or(modes)}."
        case DurationNotOffered(model, duration, allowed):
            return f"{model} makes {_durations(allowed)}, not {duration}; choose duration: {_or(allowed)}."
    text = _option_text(problem) or _media_text(problem) or _shot_text(problem)
    if text is None:  # pragma: no cover - every problem type has its sentence
        raise TypeError(f"no wording for {type(problem).__name__}")
    return text
