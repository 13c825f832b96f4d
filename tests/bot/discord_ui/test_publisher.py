"""Delivery end to end: which route a finished video takes (channel, interaction, DM, nowhere), what
happens when it is over the upload limit (re-encoded, posted as is to a member with a larger limit, or
linked), and how Discord's refusals, rate limits and errors are handled."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.media import probe_video
from bot.retry import RetryPolicy
from db.records import JobState, Settlement
from tests.bot.jobs.helpers import (
    MIB,
    finish_silently,
    get,
    ledger,
    no_more_work,
    progress_posted,
    result_uploads,
    sha256,
    start_job,
    task_of,
    video_posts,
)
from tests.conftest import HarnessFactory
from tests.fakes.discord import Call
from tests.harness import Harness
from tests.support.media import make_video

LIMIT = 10 * MIB


def big_video() -> bytes:
    """About 13 MiB of noise that compresses badly: over the default 10 MiB limit."""
    data = make_video(6.0, 640, 480, noise=True)
    assert 12 * MIB < len(data) < 15 * MIB
    return data


async def complete(h: Harness, *, expire_token: bool = False, **job_options: object) -> str:
    """Start a job, optionally let its interaction token expire, finish it by callback; the job id."""
    job = await start_job(h, **job_options)  # type: ignore[arg-type]
    if expire_token:
        h.fake.expire_interaction_tokens()
        h.clock.advance(15 * 60 + 1)  # the bot's view of time moves on too
    await h.provider.succeed(task_of(h, job).task_id)
    return job.id


def webhook_posts(h: Harness) -> list[Call]:
    return h.fake.calls_matching("POST", r"^/webhooks/\d+/")


# ---- routes ------------------------------------------------------------------------------------------


async def test_after_the_token_expired_the_bot_posts_with_its_own_token(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    job_id = await complete(h, expire_token=True)
    job = await h.wait_delivered(job_id)
    await no_more_work(h)
    assert job.delivered_via == "channel"
    [post] = video_posts(h)
    assert post.posted_by == "bot"
    assert webhook_posts(h) == []  # the expired token was never tried
    assert all(c.auth == "bot" for c in result_uploads(h))


async def test_young_token_posts_by_interaction_when_the_channel_refuses_the_bot(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    job = await start_job(h)
    h.fake.set_bot_can_send(h.guild.channel_id, False)
    await h.provider.succeed(task_of(h, job).task_id)
    done = await h.wait_delivered(job.id)
    await no_more_work(h)
    assert done.delivered_via == "interaction"
    [post] = video_posts(h)
    assert post.posted_by == "interaction"
    assert post.id == done.delivered_message_id
    assert not post.ephemeral
    assert post.mentions == [job.user_id]
    assert post.attachments[0].sha256 == sha256(h.provider.result_video)
    refused = h.fake.calls_matching("POST", r"^/channels/\d+/messages$", lambda c: bool(c.files))
    assert [c.status for c in refused] == [403]


async def test_revoked_token_and_closed_channel_fall_back_to_a_dm(make_harness: HarnessFactory) -> None:
    """The bot believes the token is young, Discord says 50027: the video goes to the member's DMs."""
    h = await make_harness("acedata", provider_options={"auto": False})
    job = await start_job(h)
    h.fake.set_bot_can_send(h.guild.channel_id, False)
    h.fake.expire_interaction_tokens()
    await h.provider.succeed(task_of(h, job).task_id)
    done = await h.wait_delivered(job.id)
    assert done.delivered_via == "dm"
    assert [c.code for c in webhook_posts(h)] == [50027]
    dm = h.fake.dm_channel_of(job.user_id)
    assert dm is not None and done.delivered_channel_id == dm.id
    [post] = video_posts(h, dm.id)
    assert post.attachments[0].sha256 == sha256(h.provider.result_video)
    assert video_posts(h) == []


async def test_deleted_channel_sends_the_video_by_dm(make_harness: HarnessFactory) -> None:
    h = await make_harness("kling", provider_options={"auto": False})
    job = await start_job(h)
    h.fake.delete_channel(h.guild.channel_id)
    await h.provider.succeed(task_of(h, job).task_id)
    done = await h.wait_delivered(job.id)
    assert done.delivered_via == "dm"
    dm = h.fake.dm_channel_of(job.user_id)
    assert dm is not None
    [post] = video_posts(h, dm.id)
    assert f"<#{h.guild.channel_id}>" in post.content
    assert post.posted_by == "bot"
    assert done.settlement is Settlement.CHARGED


async def test_deleted_channel_and_closed_dms_keep_the_result_on_job(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    job = await start_job(h)
    h.fake.delete_channel(h.guild.channel_id)
    h.fake.set_dms_open(job.user_id, False)
    await h.provider.succeed(task_of(h, job).task_id)
    done = await h.wait_delivered(job.id)
    assert done.status is JobState.DELIVERED
    assert done.delivered_via == "none"
    assert done.delivered_message_id is None
    assert done.delivery_note is not None and "/job" in done.delivery_note
    assert done.result_url is not None and done.settlement is Settlement.CHARGED
    dm_refusals = h.fake.calls_matching("POST", r"^/channels/\d+/messages$", lambda c: c.code == 50007)
    assert len(dm_refusals) == 1
    assert all(not video_posts(h, c) for c in h.fake.channels)


# ---- upload limits -----------------------------------------------------------------------------------


async def test_result_over_the_limit_is_reencoded_under_it(
    make_harness: HarnessFactory, tmp_path: Path
) -> None:
    original = big_video()
    h = await make_harness("acedata", provider_options={"auto": False, "result_video": original})
    job_id = await complete(h, expire_token=True)
    done = await h.wait_delivered(job_id, timeout=30)
    assert done.delivered_via == "channel"
    assert done.delivery_note is not None and "re-encoded" in done.delivery_note
    [post] = video_posts(h)
    assert post.posted_by == "bot"
    [attachment] = post.attachments
    assert attachment.size <= LIMIT < len(original)
    copy = tmp_path / "posted.mp4"
    copy.write_bytes(attachment.read_bytes())
    info = probe_video(copy)
    assert info.video_codec == "h264"
    assert info.duration == pytest.approx(6.0, abs=0.5)
    assert [c.status for c in result_uploads(h)] == [200]  # never tried the oversize original


async def test_member_with_a_larger_limit_gets_the_original_by_interaction(
    make_harness: HarnessFactory,
) -> None:
    """While the token is young, the interaction's own limit (Nitro: 50 MiB) applies: no re-encode."""
    original = big_video()
    h = await make_harness("acedata", provider_options={"auto": False, "result_video": original})
    job_id = await complete(h, attachment_size_limit=50 * MIB)
    done = await h.wait_delivered(job_id, timeout=20)
    assert done.delivered_via == "interaction"
    assert done.delivery_note is None
    [post] = video_posts(h)
    assert post.posted_by == "interaction"
    assert post.attachments[0].sha256 == sha256(original)


async def test_discords_413_is_answered_with_a_smaller_file(make_harness: HarnessFactory) -> None:
    """The bot thinks the server is boosted (50 MiB) but Discord now enforces 10 MiB."""
    original = big_video()
    h = await make_harness("acedata", provider_options={"auto": False, "result_video": original})
    boosted = h.running.wait_for("guild_update", timeout=5)
    h.fake.set_premium_tier(h.guild.id, 2)
    await boosted
    guild = h.running.get_guild(h.guild.id)
    assert guild is not None and guild.filesize_limit == 50 * MIB
    h.fake.guilds[h.guild.id].premium_tier = 0  # the boost lapses without the bot hearing of it
    job_id = await complete(h, expire_token=True)
    done = await h.wait_delivered(job_id, timeout=30)
    uploads = result_uploads(h)
    assert [c.status for c in uploads] == [413, 200]
    assert uploads[0].code == 40005
    assert uploads[0].files[0].size == len(original)
    assert uploads[1].files[0].size <= LIMIT
    assert done.delivered_via == "channel"
    assert len(video_posts(h)) == 1


@pytest.mark.parametrize("public", [True, False], ids=["linked", "no-public-address"])
async def test_result_that_cannot_be_made_watchable_is_not_uploaded(
    make_harness: HarnessFactory, public: bool
) -> None:
    """11 MiB that no decoder can read: re-encoding is impossible, so the member gets a link (when
    the bot has a public address) or a message saying where the job is; never the provider's URL."""
    garbage = os.urandom(11 * MIB)
    h = await make_harness(
        "acedata", callbacks=public, provider_options={"auto": False, "result_video": garbage}
    )
    job = await start_job(h)
    await finish_silently(h, job)
    h.running.engine.wake()
    if public:
        await h.provider.post_callback(task_of(h, job), h.provider.callback_bodies(task_of(h, job))[0][0])
    done = await h.wait_delivered(job.id, timeout=20)
    assert result_uploads(h) == []
    assert done.delivered_via == "channel"
    post = h.fake.messages[done.delivered_message_id or 0]
    assert post.attachments == []
    assert post.mentions == [job.user_id]
    assert "11.0 MiB" in post.content and "10 MiB" in post.content
    assert done.result_url is not None
    assert done.result_url.split("?")[0] not in post.content  # the provider's (signed) URL stays private
    links = re.findall(r"https?://\S+\.mp4", post.content)
    if not public:
        assert links == []
        assert f"/job {job.id}" in post.content
        return
    [link] = links
    assert re.search(r"<t:\d+:f>", post.content)  # the link's expiry, as a Discord timestamp
    status, body = await get(link)
    assert status == 200 and sha256(body) == sha256(garbage)
    assert (await get(link.replace(job.id + "/", job.id + "/x", 1)))[0] == 404  # a guessed token
    h.clock.advance(8 * 24 * 3600)  # the link expires after 7 days
    assert (await get(link))[0] == 404
    assert await h.running.engine.hosting.remove_expired_results() == 1


# ---- Discord trouble ---------------------------------------------------------------------------------


async def test_rate_limited_upload_is_retried(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    job = await start_job(h)
    await progress_posted(h, job)
    h.fake.inject_rate_limit("POST", r"^/channels/\d+/messages$", retry_after=0.05)
    await h.provider.succeed(task_of(h, job).task_id)
    done = await h.wait_delivered(job.id)
    assert [c.status for c in result_uploads(h)] == [429, 200]
    assert done.delivery_attempts == 1
    assert len(video_posts(h)) == 1


def quick_retries(h: Harness, attempts: int = 8) -> None:
    """Delivery retries without waiting (the schedule is configuration, so a test shortens it)."""
    h.running.engine.deliveries.policy = RetryPolicy(attempts, first_delay=0.001, max_delay=0.01)


async def test_discord_server_error_is_retried_without_a_duplicate(make_harness: HarnessFactory) -> None:
    h = await make_harness("acedata", provider_options={"auto": False})
    quick_retries(h)
    job = await start_job(h)
    await progress_posted(h, job)
    h.fake.inject("POST", r"^/channels/\d+/messages$", 503, {"message": "Service Unavailable", "code": 0})
    await h.provider.succeed(task_of(h, job).task_id)
    done = await h.wait_delivered(job.id)
    assert [c.status for c in result_uploads(h)] == [503, 200]
    assert done.delivery_attempts == 2
    assert len(video_posts(h)) == 1
    assert (await ledger(h, done)).credits_charged == done.credits


async def test_result_download_failure_is_retried(make_harness: HarnessFactory) -> None:
    h = await make_harness("gateway", provider_options={"auto": False})
    quick_retries(h)
    job = await start_job(h)
    h.provider.fail_next("/_results/", 502, {"error": "bad gateway"})
    await h.provider.succeed(task_of(h, job).task_id)
    done = await h.wait_delivered(job.id)
    assert done.delivery_attempts == 2
    assert h.provider.result_downloads == 1  # the failed request never reached the file
    [post] = video_posts(h)
    assert post.attachments[0].sha256 == sha256(h.provider.result_video)


async def test_unknown_discord_refusal_does_not_strand_the_job(make_harness: HarnessFactory) -> None:
    """A refusal nobody planned for (400) is retried and, when it persists, the job ends on /job
    instead of staying "finished, never posted" until the next restart."""
    h = await make_harness("acedata", provider_options={"auto": False})
    quick_retries(h, attempts=3)
    job = await start_job(h)
    await progress_posted(h, job)
    h.fake.inject(
        "POST", r"^/channels/\d+/messages$", 400, {"message": "Invalid Form Body", "code": 50035}, times=3
    )
    await h.provider.succeed(task_of(h, job).task_id)
    done = await h.wait_delivered(job.id)
    assert done.delivered_via == "none"
    assert done.delivery_attempts == 3
    assert video_posts(h) == []
    progress = await progress_posted(h, job)
    await h.fake.wait_for(lambda: f"/job {job.id}" in progress.content)
