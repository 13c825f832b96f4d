"""/motion end to end: the real bot, the fake Discord and a fake provider.

What a member attaches goes all the way to the provider's request (checked field by field, and the bytes
the provider really fetched); what is wrong is refused privately in one sentence before anything is
spent; the progress message in the channel and the finished post are what the member watches.

The helpers at the top are shared with the other command tests of this folder.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from PIL import Image

from bot.media import probe_video
from db.records import JobRecord, JobState
from tests.fakes.discord import EPHEMERAL, Call, FakeMessage, InteractionHandle, Opt
from tests.fakes.discord.interactions import ATTACHMENT
from tests.fakes.providers.common import FakeTask
from tests.harness import Harness
from tests.support.media import make_animated_gif, make_image, make_video

HarnessFactory = Callable[..., Awaitable[Harness]]
Upload = tuple[str, bytes, str]

IMAGE = make_image(512, 512)  # PNG
VIDEO = make_video(4.0, 360, 640)  # MP4, 4 s
ACCEPTED = re.compile(r"Job `(\w+)` accepted")
NEW_SENTENCE = re.compile(r"[.!?] [A-Z]")


# ---- shared helpers -------------------------------------------------------------------------------


def png(data: bytes = IMAGE, name: str = "me.png", content_type: str = "image/png") -> Upload:
    return (name, data, content_type)


def mp4(data: bytes = VIDEO, name: str = "move.mp4", content_type: str = "video/mp4") -> Upload:
    return (name, data, content_type)


def public_base(harness: Harness) -> str:
    return f"http://127.0.0.1:{harness.webhook_port}"


async def private_answer(harness: Harness, handle: InteractionHandle) -> FakeMessage:
    """The bot's answer to an interaction, which only the member who asked may see."""
    message = await harness.reply(handle)
    assert message.flags & EPHEMERAL, f"answered in public: {message.content!r}"
    return message


async def motion(
    harness: Harness,
    *,
    image: Upload | None = None,
    video: Upload | None = None,
    user_id: int | None = None,
    **options: Any,
) -> tuple[InteractionHandle, FakeMessage]:
    handle = await harness.slash(
        "motion", options, attachments={"image": image or png(), "video": video or mp4()}, user_id=user_id
    )
    return handle, await private_answer(harness, handle)


async def video_command(
    harness: Harness,
    subcommand: str,
    options: dict[str, Any],
    *,
    attachments: dict[str, Upload] | None = None,
    user_id: int | None = None,
) -> tuple[InteractionHandle, FakeMessage]:
    handle = await harness.slash(
        "video", options, subcommand=subcommand, attachments=attachments, user_id=user_id
    )
    return handle, await private_answer(harness, handle)


def accepted_id(answer: FakeMessage) -> str:
    found = ACCEPTED.search(answer.content)
    assert found, f"not accepted: {answer.content!r}"
    return found.group(1)


def assert_one_sentence(text: str) -> None:
    assert "\n" not in text and text.endswith("."), text
    assert not NEW_SENTENCE.search(text), f"more than one sentence: {text!r}"


async def assert_nothing_spent(harness: Harness) -> None:
    """No provider call, no job row, no credits, no input kept on disk."""
    assert harness.provider.requests == []
    store = harness.running.store
    assert await store.list_jobs(guild_id=harness.guild.id, user_id=None, limit=100) == []
    for user in (harness.guild.member_id, harness.guild.other_member_id):
        assert await store.spent_credits(harness.guild.id, user, 0.0) == 0
    inputs = harness.tmp / "media" / "inputs"
    assert not inputs.exists() or not any(inputs.iterdir())


async def task_of(harness: Harness, job_id: str) -> FakeTask:
    """The provider's task for a job, once the job is submitted."""
    job = await harness.wait_job(lambda j: j.provider_task_id is not None, job_id)
    assert job.provider_task_id is not None
    return harness.provider.tasks[job.provider_task_id]


async def finish(harness: Harness, job_id: str) -> JobRecord:
    """Let the provider finish a job (auto=False fakes) and wait for the post."""
    task = await task_of(harness, job_id)
    await harness.provider.succeed(task.task_id)
    return await harness.wait_delivered(job_id)


async def fail(
    harness: Harness, job_id: str, reason: str = "The picture has no visible person."
) -> JobRecord:
    task = await task_of(harness, job_id)
    await harness.provider.fail(task.task_id, reason)
    return await harness.wait_job(lambda j: j.status is JobState.FAILED, job_id)


def cdn_gets(harness: Harness, after: Call | None = None) -> list[Call]:
    return harness.fake.calls_matching("GET", r"^/ephemeral-attachments/", after=after)


def interaction_callback(harness: Harness, handle: InteractionHandle) -> Call:
    return harness.fake.calls_matching("POST", rf"^/interactions/{handle.id}/")[0]


def attachment_urls(handle: InteractionHandle) -> dict[str, str]:
    """Discord's (signed, expiring) URL of each attachment option, by option name."""
    resolved = handle.payload["data"]["resolved"]["attachments"]
    options = handle.payload["data"]["options"]
    while options and "options" in options[0]:  # subcommands nest the options one level down
        options = options[0]["options"]
    return {o["name"]: resolved[o["value"]]["url"] for o in options if o["type"] == ATTACHMENT}


def stored_input(harness: Harness, job: JobRecord, role: str) -> bytes:
    item = next(i for i in job.params["inputs"] if i["role"] == role)
    name = str(item["name"])
    return (harness.tmp / "media" / "inputs" / job.id / name).read_bytes()


def progress_history(harness: Harness, message_id: int) -> list[str]:
    """Every text the progress message showed, in order: its post and each edit."""
    texts = []
    for call in harness.fake.calls_matching(None, r"^/channels/\d+/messages"):
        if not isinstance(call.json, dict) or "content" not in call.json:
            continue
        posted = isinstance(call.response, dict) and int(call.response.get("id", 0)) == message_id
        edited = call.path.endswith(f"/messages/{message_id}")
        if (call.method == "POST" and posted) or (call.method == "PATCH" and edited):
            texts.append(str(call.json["content"]))
    return texts


async def progress_message(harness: Harness, job_id: str) -> FakeMessage:
    def find() -> FakeMessage | None:
        return next(
            (
                m
                for m in harness.fake.messages_in(harness.guild.channel_id)
                if f"`{job_id}`" in m.content and m.content.startswith("**")
            ),
            None,
        )

    return await harness.fake.wait_for(find)


# ---- the happy path -----------------------------------------------------------------------------


async def test_motion_submits_exactly_what_the_member_asked_for(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    handle, answer = await motion(harness, prompt="  dances a waltz  ")

    job_id = accepted_id(answer)
    assert answer.content.startswith(f"✅ Job `{job_id}` accepted: 1 credit (no limit on this server).")
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    base = public_base(harness)
    image_url = f"{base}/inputs/{job.input_token}/image.png"
    video_url = f"{base}/inputs/{job.input_token}/video.mp4"
    [request] = harness.provider.requests_to("/kling/motion")
    assert request.headers["Authorization"] == f"Bearer {harness.provider.api_key}"  # type: ignore[attr-defined]
    assert request.body == {
        "image_url": image_url,
        "video_url": video_url,
        "character_orientation": "image",
        "mode": "std",
        "keep_original_sound": "yes",
        "prompt": "dances a waltz",
        "callback_url": f"{base}/callbacks/{job.callback_token}",
    }
    # The provider fetched exactly what the member attached, from the bot, not from Discord.
    assert task.inputs == {image_url: IMAGE, video_url: VIDEO}

    assert job.status is JobState.SUBMITTED and job.kind == "motion" and job.credits == 1
    assert job.user_id == harness.guild.member_id and job.channel_id == harness.guild.channel_id
    assert job.interaction_token == handle.token
    assert job.params["reference_seconds"] == pytest.approx(4.0, abs=0.1)
    assert await harness.running.store.spent_credits(harness.guild.id, harness.guild.member_id, 0.0) == 1


async def test_motion_is_acknowledged_privately_before_any_download(harness: Harness) -> None:
    handle, answer = await motion(harness)

    callback = interaction_callback(harness, handle)
    assert callback.json == {"type": 5, "data": {"flags": EPHEMERAL}}
    downloads = cdn_gets(harness)
    assert len(downloads) == 2
    assert callback.seq < min(call.seq for call in downloads)
    assert answer.ephemeral
    await harness.wait_delivered(accepted_id(answer))


async def test_motion_options_reach_the_request(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    long_video = make_video(14.0, 360, 640, fps=4)
    _, answer = await motion(
        harness, video=mp4(long_video, "clip.mov"), mode="pro", orientation="video", keep_sound=False
    )

    job_id = accepted_id(answer)
    # Pro doubles; a 14 s reference is three started 5-second units.
    assert "6 credits" in answer.content
    task = await task_of(harness, job_id)
    body = task.request
    assert {k: body[k] for k in ("character_orientation", "mode", "keep_original_sound")} == {
        "character_orientation": "video",
        "mode": "pro",
        "keep_original_sound": "no",
    }
    assert "prompt" not in body
    # The file is an MP4 whatever its name said; it keeps its real type on the way to the provider.
    assert body["video_url"].endswith("/video.mp4")
    assert task.inputs[body["video_url"]] == long_video


async def test_without_a_public_url_the_provider_fetches_discords_copy(make_harness: HarnessFactory) -> None:
    harness = await make_harness(callbacks=False, provider_options={"auto": False})
    handle, answer = await motion(harness)

    task = await task_of(harness, accepted_id(answer))
    urls = attachment_urls(handle)
    assert task.request["image_url"] == urls["image"]
    assert task.request["video_url"] == urls["video"]
    assert task.request["async"] is True and "callback_url" not in task.request
    assert task.inputs == {urls["image"]: IMAGE, urls["video"]: VIDEO}


# ---- conversions and trims --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload", "note"),
    [
        (png(make_image(512, 640, "WEBP"), "me.webp", "image/webp"), "Your WebP image was converted to PNG."),
        (
            png(make_animated_gif(400, 400), "me.gif", "image/gif"),
            "Your GIF image was converted to PNG (its first frame).",
        ),
    ],
    ids=["webp", "animated-gif"],
)
async def test_webp_and_gif_are_converted_to_png_and_the_member_told(
    make_harness: HarnessFactory, upload: Upload, note: str
) -> None:
    harness = await make_harness(provider_options={"auto": False})
    _, answer = await motion(harness, image=upload)

    job_id = accepted_id(answer)
    assert answer.content.splitlines()[1:] == [f"• {note}"]
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    image_url = task.request["image_url"]
    assert image_url.endswith("/image.png")
    sent = task.inputs[image_url]
    assert sent == stored_input(harness, job, "image")
    with Image.open(io.BytesIO(sent)) as picture:
        assert picture.format == "PNG"
        with Image.open(io.BytesIO(upload[1])) as original:
            assert picture.size == original.size


async def test_a_slightly_long_video_is_trimmed_and_the_member_told(make_harness: HarnessFactory) -> None:
    harness = await make_harness(provider_options={"auto": False})
    _, answer = await motion(harness, video=mp4(make_video(12.0, 360, 640, fps=6)))

    job_id = accepted_id(answer)
    assert answer.content.splitlines()[1:] == [
        "• Your video was 12.0 s long; it was trimmed to 10 s, the limit with orientation: image."
    ]
    assert "2 credits" in answer.content  # charged for the 10 s that are used, not the 12 s sent
    task = await task_of(harness, job_id)
    job = await harness.wait_job(lambda j: True, job_id)
    sent = task.inputs[task.request["video_url"]]
    assert sent == stored_input(harness, job, "video")
    assert 9.5 <= probe_video(sent).duration <= 10.001


@pytest.mark.parametrize(
    ("image", "video"),
    [
        (png(make_image(512, 512, "WEBP"), "me.webp", "image/webp"), mp4()),
        (png(), mp4(make_video(12.0, 360, 640, fps=6))),
    ],
    ids=["converted-image", "trimmed-video"],
)
async def test_without_a_public_url_a_changed_input_is_refused(
    make_harness: HarnessFactory, image: Upload, video: Upload
) -> None:
    harness = await make_harness(callbacks=False, provider_options={"auto": False})
    _, answer = await motion(harness, image=image, video=video)

    assert "had to be converted" in answer.content and "PUBLIC_BASE_URL" in answer.content
    assert "Upload a PNG/JPEG image and an MP4/MOV video" in answer.content
    await assert_nothing_spent(harness)


# ---- validation: refused privately, nothing spent ---------------------------------------------------


@pytest.mark.parametrize(
    ("image", "video", "options", "expected"),
    [
        (
            png(VIDEO, "me.png"),
            mp4(),
            {},
            "The character image is a video (MP4), not a picture; attach a JPG or PNG picture "
            "(WebP and GIF are converted).",
        ),
        (
            png(),
            mp4(IMAGE, "move.mp4"),
            {},
            "The reference video is a picture (PNG), not a video; attach an MP4 or MOV video.",
        ),
        (
            png(),
            mp4(make_video(40.0, 360, 640, fps=2)),
            {"orientation": "video"},
            "The reference video is 40.0 seconds long; motion control accepts 3–30 seconds, "
            "so trim it to 30 seconds or less and try again.",
        ),
        (
            png(),
            mp4(make_video(2.0, 360, 640)),
            {},
            "The reference video is 2.0 seconds long; motion control needs at least 3 seconds.",
        ),
        (
            png(),
            mp4(make_video(25.0, 360, 640, fps=2)),
            {},
            "The reference video is 25.0 seconds long, over the 10-second limit with orientation: image; "
            "choose orientation: video (up to 30 seconds) or trim it to 10 seconds and try again.",
        ),
        (
            png(make_image(200, 200)),
            mp4(),
            {},
            "The character image is 200×200 px; its shorter side must be at least 300 px, "
            "so attach a larger picture.",
        ),
        (
            png(make_image(1200, 400)),
            mp4(),
            {},
            "The character image is 1200×400 px (3.00:1); the aspect ratio must be between 1:2.5 and "
            "2.5:1, so crop it and try again.",
        ),
        (
            png(),
            mp4(),
            {"prompt": "x" * 2501},
            "The prompt is 2501 characters long; keep it to 2500 or fewer.",
        ),
    ],
    ids=[
        "mp4-named-png",
        "png-named-mp4",
        "too-long",
        "too-short",
        "25s-with-orientation-image",
        "tiny-image",
        "extreme-aspect-ratio",
        "prompt-too-long",
    ],
)
async def test_invalid_input_is_refused_privately_in_one_sentence(
    harness: Harness, image: Upload, video: Upload, options: dict[str, Any], expected: str
) -> None:
    _, answer = await motion(harness, image=image, video=video, **options)

    assert answer.content == expected
    assert_one_sentence(answer.content)
    await assert_nothing_spent(harness)


@pytest.mark.parametrize(
    ("option", "size", "expected"),
    [
        ("image", 10_500_000, "The character image is 10.5 MB; the limit is 10 MB"),
        ("video", 150_000_000, "The reference video is 150 MB; the limit is 100 MB"),
    ],
)
async def test_a_file_too_big_is_refused_without_downloading_it(
    harness: Harness, option: str, size: int, expected: str
) -> None:
    """Discord tells the attachment's size: a file over the limit is never downloaded."""
    real = {"image": png(), "video": mp4()}
    stored = {
        name: harness.fake.store_bytes(filename, data, ctype, scope_id=harness.fake.app_id, ephemeral=True)
        for name, (filename, data, ctype) in real.items()
    }
    stored[option].size = size
    handle = await harness.slash("motion", {name: Opt(ATTACHMENT, att.id) for name, att in stored.items()})
    answer = await private_answer(harness, handle)

    assert answer.content == f"{expected}, so attach a smaller file and try again."
    assert_one_sentence(answer.content)
    assert not any(f"/{stored[option].id}/" in call.path for call in cdn_gets(harness))
    await assert_nothing_spent(harness)


async def test_a_refused_command_costs_nothing_and_the_next_one_works(harness: Harness) -> None:
    _, refused = await motion(harness, image=png(make_image(200, 200)))
    assert "at least 300 px" in refused.content
    await assert_nothing_spent(harness)

    _, answer = await motion(harness)
    job = await harness.wait_delivered(accepted_id(answer))
    assert job.credits == 1


@pytest.mark.parametrize("rule", ["paused", "channel", "blocklist"])
async def test_server_rules_refuse_before_anything_is_downloaded(harness: Harness, rule: str) -> None:
    store, guild = harness.running.store, harness.guild
    if rule == "paused":
        await store.set_paused(guild.id, True, "maintenance", harness.clock())
        expected = "Video generation is paused on this server (maintenance)."
    elif rule == "channel":
        await store.allow_channel(guild.id, guild.other_channel_id)
        expected = f"Videos can't be made in this channel. Try one of these: <#{guild.other_channel_id}>."
    else:
        await store.add_blocked_term(guild.id, "forbidden word")
        expected = 'Your prompt contains a term this server does not allow ("forbidden word").'

    _, answer = await motion(harness, prompt="a Forbidden  Word here")

    assert answer.content.startswith(expected)
    assert cdn_gets(harness) == []
    await assert_nothing_spent(harness)


async def test_past_the_running_cap_a_job_waits_and_past_the_waiting_cap_it_is_refused_and_nothing_kept(
    make_harness: HarnessFactory,
) -> None:
    # Issue 12: the cap on jobs in progress now holds a third job in the line instead of refusing it;
    # only past the cap on waiting jobs is a job refused, and that refusal still keeps nothing.
    harness = await make_harness(provider_options={"auto": False}, max_queued_per_user=1)
    running = [accepted_id((await motion(harness))[1]) for _ in range(2)]
    for job_id in running:
        await task_of(harness, job_id)

    _, waiting = await motion(harness)
    waiting_id = accepted_id(waiting)
    assert f"`{waiting_id}` accepted — 1st in line" in waiting.content
    _, answer = await motion(harness)

    assert answer.content == (
        "You already have 1 video waiting in line. Try again once one has started (see /queue); "
        "nothing was charged."
    )
    kept = sorted([*running, waiting_id])
    jobs = await harness.running.store.list_jobs(guild_id=harness.guild.id, user_id=None)
    assert sorted(j.id for j in jobs) == kept
    assert sorted(p.name for p in (harness.tmp / "media" / "inputs").iterdir()) == kept
    assert len(harness.provider.requests_to("/kling/motion")) == 2
    assert await harness.running.store.spent_credits(harness.guild.id, harness.guild.member_id, 0) == 3


# ---- what the member watches ---------------------------------------------------------------------


async def test_progress_message_moves_from_queued_to_done_in_public(make_harness: HarnessFactory) -> None:
    harness = await make_harness("kling", provider_options={"auto": False, "callback_on_every_status": True})
    _, answer = await motion(harness, prompt="a robot waves")
    job_id = accepted_id(answer)
    member = harness.guild.member_id
    title = f"**Motion control** `{job_id}` for <@{member}> — "

    progress = await progress_message(harness, job_id)
    assert progress.content == title + "⏳ Queued"
    assert not progress.ephemeral and progress.posted_by == "bot"
    assert progress.channel_id == harness.guild.channel_id
    assert progress.mentions == [] and not progress.mentioned_everyone_or_roles()

    task = await task_of(harness, job_id)
    await harness.provider.start_processing(task.task_id)
    await harness.fake.wait_for(lambda: "Generating" in progress.content)
    job = await harness.wait_job(lambda j: j.progress_stage == "generating", job_id)
    assert job.submitted_at is not None
    generating = title + f"🎬 Generating · started <t:{int(job.submitted_at)}:R>"
    assert progress.content == generating

    await harness.provider.succeed(task.task_id)
    job = await harness.wait_delivered(job_id)
    assert progress_history(harness, progress.id) == [
        title + "⏳ Queued",
        generating,
        title + "📤 Uploading",
        title + "✅ Done",
    ]

    [post] = harness.posts_in(harness.guild.channel_id)
    assert post.content == f"<@{member}> your video is ready!"
    assert post.mentions == [member] and not post.mentioned_everyone_or_roles()
    assert not post.ephemeral and post.id == job.delivered_message_id
    [video] = post.attachments
    assert video.filename == f"{job_id}.mp4"
    assert video.sha256 == hashlib.sha256(harness.provider.result_video).hexdigest()
    [embed] = post.embeds
    assert embed["title"] == "Motion control" and embed["description"] == "a robot waves"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert list(fields) == ["Mode", "Orientation", "Length", "Timing"]
    assert fields["Mode"] == "std" and fields["Orientation"] == "image" and fields["Length"] == "5.0s"
    assert re.fullmatch(r"generated in \d+s, total \d+s", fields["Timing"])
    assert embed["footer"]["text"] == f"Job {job_id} · 1 credit"
    buttons = [c for row in post.components for c in row["components"]]
    assert [(b["label"], b["custom_id"]) for b in buttons] == [
        ("Extend", f"kling:extend:{job_id}"),
        ("Re-run", f"kling:rerun:{job_id}"),
        ("Delete", f"kling:delete:{job_id}"),
    ]


async def test_a_quick_start_still_shows_generating(make_harness: HarnessFactory) -> None:
    harness = await make_harness("kling", provider_options={"auto": False, "callback_on_every_status": True})
    _, answer = await motion(harness)
    job_id = accepted_id(answer)
    progress = await progress_message(harness, job_id)
    task = await task_of(harness, job_id)

    await harness.provider.start_processing(task.task_id)
    await harness.fake.wait_for(lambda: "Generating" in progress.content, timeout=1.5)


async def test_a_failed_job_says_why_on_the_progress_message_and_refunds(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(provider_options={"auto": False})
    _, answer = await motion(harness)
    job_id = accepted_id(answer)
    progress = await progress_message(harness, job_id)

    await fail(harness, job_id, "No person was found in the picture.")
    await harness.fake.wait_for(lambda: "Failed" in progress.content)
    assert progress.content == (
        f"**Motion control** `{job_id}` for <@{harness.guild.member_id}> — ❌ Failed: The generation "
        "failed: No person was found in the picture. Your 1 credit came back."
    )
    assert await harness.running.store.spent_credits(harness.guild.id, harness.guild.member_id, 0.0) == 0
    assert harness.posts_in(harness.guild.channel_id) == []
