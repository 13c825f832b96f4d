"""What a member reads about the references of /video reference and /video edit: a prompt that names one
that is not attached, and the ones the bot added because the prompt left them out."""

from __future__ import annotations

from bot.jobs.references import ReferenceNotAttached, ReferencePromptTooLong
from bot.jobs.refusals import JobRefused
from bot.jobs.services.videos import ExtendPlan

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh")


def _names_or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _attached_images(count: int) -> str:
    if count == 0:
        return "no reference image is attached"
    names = _names_or([f"@image{n}" for n in range(1, count + 1)])
    return f"only {count} reference image{'s are' if count != 1 else ' is'} attached ({names})"


def not_attached_text(refusal: ReferenceNotAttached) -> str:
    name = refusal.name
    if name.startswith("@video"):
        if refusal.video:
            return f"Your prompt mentions {name}, but a video takes one reference video; call it @video."
        return (
            f"Your prompt mentions {name}, but no reference video is attached; attach one as the video "
            f"option or remove {name} from the prompt."
        )
    number = int(name.removeprefix("@image") or 1)
    wanted = ORDINALS[number - 1] if 1 <= number <= len(ORDINALS) else "another"
    limit = "" if number <= 4 else " (this command takes 4 at most)"
    return (
        f"Your prompt mentions {name}, but {_attached_images(refusal.images)}; attach a {wanted} "
        f"image{limit} or remove {name} from the prompt."
    )


def reference_refusal_text(refusal: JobRefused) -> str | None:
    match refusal:
        case ReferenceNotAttached():
            return not_attached_text(refusal)
        case ReferencePromptTooLong(length=length, limit=limit):
            return (
                f"With its references written out for Kling, the prompt is {length} characters long; "
                f"shorten it to fit in {limit}."
            )
    return None


def added_references_note(added: tuple[str, ...]) -> str | None:
    """The note for references the bot appended to the prompt, or None when the prompt cited them all."""
    if not added:
        return None
    names = _names_or(list(added))
    them = "it" if len(added) == 1 else "them"
    return (
        f"Your prompt did not mention {names}, so I added {them} at its end (Kling ignores references "
        "a prompt leaves out); mention each where it belongs next time."
    )


def continued_note(parent_id: str, plan: ExtendPlan) -> str | None:
    """What /video extend and the Extend button say when an omni model continues the video."""
    if plan.continued_with is None:
        return None
    return (
        f"Job `{parent_id}` was made with {plan.made_with}, which the provider's extend action does not "
        f"take, so {plan.continued_with} continues it, with the video as its reference."
    )
