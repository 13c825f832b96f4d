"""@image1…@image4 and @video in a prompt become Kling's <<<image_N>>> / <<<video_1>>>; a name without its
attachment is refused; references the prompt forgot are appended and reported."""

from __future__ import annotations

import pytest

from bot.discord_ui.reference_text import added_references_note, reference_refusal_text
from bot.jobs.references import (
    CitedPrompt,
    ReferenceNotAttached,
    ReferencePromptTooLong,
    cite_references,
)


def test_names_become_klings_forms() -> None:
    cited = cite_references("@image1 dances with @Image2 in the style of @video.", images=2, video=True)
    assert cited == CitedPrompt("<<<image_1>>> dances with <<<image_2>>> in the style of <<<video_1>>>.", ())


def test_klings_own_forms_and_video1_count_as_cited() -> None:
    cited = cite_references("<<<image_1>>> walks into @video1", images=1, video=True)
    assert cited == CitedPrompt("<<<image_1>>> walks into <<<video_1>>>", ())


def test_an_email_like_word_is_not_a_reference() -> None:
    cited = cite_references("a sign reading @imagery", images=1, video=False)
    assert cited == CitedPrompt("a sign reading @imagery. References: <<<image_1>>>.", ("@image1",))


def test_a_long_number_is_not_a_reference() -> None:
    cited = cite_references("room @image12345", images=1, video=False)
    assert cited.prompt == "room @image12345. References: <<<image_1>>>."


def test_forgotten_references_are_appended_in_order() -> None:
    cited = cite_references("a cat dances in the rain", images=2, video=True)
    assert (
        cited.prompt == "a cat dances in the rain. References: <<<image_1>>>, <<<image_2>>>, <<<video_1>>>."
    )
    assert cited.added == ("@image1", "@image2", "@video")
    assert added_references_note(cited.added) == (
        "Your prompt did not mention @image1, @image2 and @video, so I added them at its end (Kling "
        "ignores references a prompt leaves out); mention each where it belongs next time."
    )


def test_only_the_forgotten_one_is_appended() -> None:
    cited = cite_references("@image1 on a beach!", images=2, video=False)
    assert cited == CitedPrompt("<<<image_1>>> on a beach! References: <<<image_2>>>.", ("@image2",))
    assert added_references_note(()) is None


@pytest.mark.parametrize(
    ("prompt", "images", "video", "expected"),
    [
        (
            "@image3 waves",
            2,
            False,
            "Your prompt mentions @image3, but only 2 reference images are attached (@image1 and @image2); "
            "attach a third image or remove @image3 from the prompt.",
        ),
        (
            "@image1 waves",
            0,
            True,
            "Your prompt mentions @image1, but no reference image is attached; attach a first image or "
            "remove @image1 from the prompt.",
        ),
        (
            "@image5 waves",
            1,
            False,
            "Your prompt mentions @image5, but only 1 reference image is attached (@image1); attach a fifth "
            "image (this command takes 4 at most) or remove @image5 from the prompt.",
        ),
        (
            "in the style of @video",
            1,
            False,
            "Your prompt mentions @video, but no reference video is attached; attach one as the video option "
            "or remove @video from the prompt.",
        ),
        (
            "@video2 again",
            0,
            True,
            "Your prompt mentions @video2, but a video takes one reference video; call it @video.",
        ),
    ],
    ids=["image-beyond-attached", "image-with-none", "image-beyond-four", "video-missing", "second-video"],
)
def test_a_name_without_its_attachment_is_refused(
    prompt: str, images: int, video: bool, expected: str
) -> None:
    with pytest.raises(ReferenceNotAttached) as refused:
        cite_references(prompt, images=images, video=video)
    assert reference_refusal_text(refused.value) == expected


def test_a_prompt_too_long_once_written_out_is_refused() -> None:
    prompt = "@image1 " * 300  # 2399 characters once stripped, 4199 once written out
    with pytest.raises(ReferencePromptTooLong) as refused:
        cite_references(prompt, images=1, video=False)
    assert reference_refusal_text(refused.value) == (
        "With its references written out for Kling, the prompt is 4199 characters long; shorten it to fit "
        "in 2500."
    )
