"""Omni references in a prompt: the member writes @image1…@image4 and @video, Kling reads
<<<image_N>>> and <<<video_1>>> (providers.md §1.3), and ignores any reference the prompt leaves out.

`cite_references` rewrites the member's names, refuses a name whose attachment is missing (typed, before
anything is downloaded), and appends the references the prompt forgot, saying which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.jobs.refusals import JobRefused

REF_VIDEO_ROLE = "ref_video"
REF_IMAGE_PREFIX = "ref_image_"
PROMPT_LIMIT = 2500

# @image2, @video, @video1 (not followed by a letter or digit), and Kling's own <<<image_2>>> / <<<video_1>>>;
# at most three digits, so a refusal never echoes a long run of them.
_NAMES = re.compile(
    r"@(?P<kind>image|video)(?P<number>\d{0,3})(?![A-Za-z0-9_])|<<<(?P<wire>image|video)_(?P<wire_number>\d{1,3})>>>",
    re.IGNORECASE,
)


def ref_image_role(number: int) -> str:
    return f"{REF_IMAGE_PREFIX}{number}"


def is_ref_image(role: str) -> bool:
    return role.startswith(REF_IMAGE_PREFIX)


@dataclass(eq=False)
class ReferenceNotAttached(JobRefused):
    """The prompt names a reference (as `name`, e.g. "@image3") that the command did not attach."""

    name: str
    images: int  # how many reference images are attached
    video: bool  # whether a reference video is attached


@dataclass(eq=False)
class ReferencePromptTooLong(JobRefused):
    """Kling's longer reference forms pushed the prompt past the provider's limit."""

    length: int
    limit: int


@dataclass(frozen=True, slots=True)
class CitedPrompt:
    prompt: str  # in Kling's form
    added: tuple[str, ...]  # the member's names of the references appended because the prompt left them out


def _wire(kind: str, number: int) -> str:
    return f"<<<{kind}_{number}>>>"


def cite_references(prompt: str, *, images: int, video: bool) -> CitedPrompt:
    """`prompt` with @imageN / @video as Kling's <<<image_N>>> / <<<video_1>>>, every attached reference
    cited (missing ones appended). Raises ReferenceNotAttached or ReferencePromptTooLong."""
    cited: set[tuple[str, int]] = set()

    def replace(match: re.Match[str]) -> str:
        kind = (match["kind"] or match["wire"]).lower()
        digits = match["number"] if match["kind"] else match["wire_number"]
        number = int(digits) if digits else 1
        name = f"@{kind}{digits if kind == 'image' else ('' if number == 1 else number)}"
        attached = 1 <= number <= images if kind == "image" else video and number == 1
        if not attached:
            raise ReferenceNotAttached(name=name, images=images, video=video)
        cited.add((kind, number))
        return _wire(kind, number)

    text = _NAMES.sub(replace, prompt.strip())
    wanted = [("image", n) for n in range(1, images + 1)] + ([("video", 1)] if video else [])
    missing = [item for item in wanted if item not in cited]
    if missing:
        ending = "" if not text or text.endswith((".", "!", "?")) else "."
        listed = ", ".join(_wire(kind, number) for kind, number in missing)
        text = f"{text}{ending} References: {listed}.".strip()
    if len(text) > PROMPT_LIMIT:
        raise ReferencePromptTooLong(length=len(text), limit=PROMPT_LIMIT)
    added = tuple(f"@image{n}" if kind == "image" else "@video" for kind, n in missing)
    return CitedPrompt(text, added)
