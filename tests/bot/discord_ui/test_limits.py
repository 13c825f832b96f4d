"""Discord's limits, unit by unit: the clipping helpers, and every text and embed the bot builds, fed the
longest values members, providers or servers can produce, checked with the same rules the fake Discord
enforces (tests/fakes/discord/limits.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import discord
import pytest
from discord import app_commands
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord_ui import admin_text, job_text, render, usage_report
from bot.discord_ui.limits import (
    CONTENT,
    EMBED_TOTAL,
    FIELD_VALUE,
    clip,
    embed_size,
    fit_choices,
    fit_content,
    fit_embed,
    fit_lines,
    listed,
    quote,
)
from bot.discord_ui.quota_text import quota_text
from bot.discord_ui.refusal_text import refusal_text
from bot.jobs.audit import AuditAction, FactValue, encode_facts
from bot.jobs.quota import AppliedLimit, CostTable, Period
from bot.jobs.refusals import (
    BlockedTerm,
    CannotHostConverted,
    ChannelNotAllowed,
    JobRefused,
    KindNotOffered,
    QuotaExceeded,
    ServerPaused,
    TooManyInFlight,
)
from bot.jobs.services.admin import ChannelChange, CreditsGivenBack, LimitSet, LimitTarget
from bot.jobs.services.quota import QuotaStanding, QuotaStatus
from bot.models import JobKind
from db.records import AuditEntry, GuildSettings, JobRecord, JobState, QuotaLimit, Settlement, UsageRow
from tests.fakes.discord import ApiError
from tests.fakes.discord.limits import check_choices, check_message

NOW = 1_780_000_000.0
SNOWFLAKE = 2**63 - 1  # the longest id a mention can carry
HUGE = "👩\u200d👩\u200d👧\u200d👦 \u202eשלום `x` **y** <@1> @everyone\n" * 400  # ~12,000 characters
PROPERTIES = settings(max_examples=25, deadline=None, derandomize=True, database=None)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=7000)


def fits(content: str = "", embed: discord.Embed | None = None) -> None:
    """Raises Discord's 400 when a message with this content (and embed) would be refused."""
    payload: dict[str, Any] = {"content": content}
    if embed is not None:
        payload["embeds"] = [embed.to_dict()]
    try:
        check_message(payload)
    except ApiError as refused:
        raise AssertionError(f"Discord would refuse it: {refused.errors}") from None


def job(**changes: Any) -> JobRecord:
    values: dict[str, Any] = {
        "id": "k" * 16,  # the longest id a button's custom id carries
        "guild_id": SNOWFLAKE,
        "channel_id": SNOWFLAKE,
        "user_id": SNOWFLAKE,
        "kind": "motion",
        "params": {
            "prompt": HUGE,
            "negative_prompt": HUGE,
            "mode": HUGE,
            "orientation": HUGE,
            "aspect_ratio": HUGE,
            "duration": HUGE,
            "model": HUGE,
            "cfg_scale": HUGE,
        },
        "parent_job_id": None,
        "provider": "acedata",
        "provider_task_id": "t",
        "callback_token": "c",
        "input_token": None,
        "status": JobState.FAILED,
        "provider_status": None,
        "progress_stage": "failed",
        "result_url": None,
        "result_video_id": None,
        "result_duration": 10.0**6,
        "error_category": "content_policy",
        "error_message": HUGE,
        "credits": 10**6,
        "settlement": Settlement.REFUNDED,
        "interaction_token": None,
        "interaction_expires_at": None,
        "application_id": None,
        "progress_message_id": SNOWFLAKE,
        "delivery_nonce": None,
        "delivery_attempts": 0,
        "delivered_message_id": SNOWFLAKE,
        "delivered_channel_id": SNOWFLAKE,
        "delivered_via": "channel",
        "delivery_note": HUGE,
        "submit_attempts": 0,
        "poll_attempts": 0,
        "next_poll_at": None,
        "callback_count": 0,
        "created_at": 0.0,
        "submitted_at": NOW,
        "finished_at": NOW * 2,
        "delivered_at": NOW * 2,
        "updated_at": NOW,
    }
    values.update(changes)
    return JobRecord(**values)


# ---- the helpers ------------------------------------------------------------------------------------


def test_clip_keeps_what_fits_and_marks_what_was_cut() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…"
    assert clip("abcd", 1) == "…"
    assert clip("abcd", 0) == ""
    assert clip("👩\u200d👩", 2) == "👩…"  # code points, as Discord counts


def test_quote_puts_typed_text_on_one_safe_line() -> None:
    assert quote("  a\n\tb  ") == "a b"
    assert quote("no `code` here") == "no ˋcodeˋ here"
    assert quote("left \u202eright\u2066 x\u2069") == "left right x"
    assert quote("x" * 500, 40) == "x" * 39 + "…"


@PROPERTIES
@given(text=TEXT, limit=st.integers(1, 6000))
def test_quote_and_clip_never_exceed_their_limit(text: str, limit: int) -> None:
    assert len(clip(text, limit)) <= limit
    quoted = quote(text, limit)
    assert len(quoted) <= limit and "\n" not in quoted and "`" not in quoted
    assert len(fit_content(text)) <= CONTENT


def test_listed_names_the_first_items_and_counts_the_rest() -> None:
    assert listed(["a", "b"]) == "a, b"
    assert listed([str(i) for i in range(25)], 3) == "0, 1, 2 and 22 more"


@PROPERTIES
@given(
    title=TEXT,
    description=TEXT,
    fields=st.lists(st.tuples(TEXT, TEXT), max_size=30),
    footer=TEXT,
    author=TEXT,
)
def test_fit_embed_brings_any_embed_within_every_limit(
    title: str, description: str, fields: list[tuple[str, str]], footer: str, author: str
) -> None:
    embed = discord.Embed(title=title or None, description=description or None)
    for name, value in fields:
        embed.add_field(name=name, value=value)
    embed.set_footer(text=footer or None)
    if author:
        embed.set_author(name=author)
    fits(embed=fit_embed(embed))
    assert embed_size(embed) <= EMBED_TOTAL


def test_fit_embed_shortens_the_description_before_dropping_fields() -> None:
    embed = discord.Embed(title="t", description="d" * 4096)
    for i in range(5):
        embed.add_field(name=f"f{i}", value="v" * 1000)
    fit_embed(embed)
    assert len(embed.fields) == 5 and embed.description is not None
    assert embed.description.endswith("…") and embed_size(embed) == EMBED_TOTAL


@PROPERTIES
@given(names=st.lists(TEXT, max_size=40), values=st.lists(TEXT, max_size=40))
def test_fit_choices_answers_what_discord_accepts(names: list[str], values: list[str]) -> None:
    choices = [app_commands.Choice(name=n, value=v) for n, v in zip(names, values, strict=False)]
    fitted = fit_choices(choices)
    check_choices([choice.to_dict() for choice in fitted])
    assert all(choice in choices for choice in choices if len(choice.value) <= 100) or len(fitted) == 25
    assert {c.value for c in fitted} <= {c.value for c in choices}  # values are never altered


# ---- every text the bot builds, at its most extreme --------------------------------------------------

LIMIT = AppliedLimit(10**6, Period.MONTH, scope="role", role_id=SNOWFLAKE)
REFUSALS: list[JobRefused] = [
    ServerPaused(HUGE),
    ChannelNotAllowed(tuple(range(10**17, 10**17 + 500))),
    BlockedTerm(HUGE),
    KindNotOffered("acedata", JobKind.EXTEND),
    CannotHostConverted("end_image"),
    QuotaExceeded(10**6, 10**6, Period.MONTH, NOW, LIMIT),
    TooManyInFlight(10**6),
]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda r: type(r).__name__)
def test_every_refusal_fits(refusal: JobRefused) -> None:
    fits(refusal_text(refusal))


def test_a_long_channel_list_is_cut_short_in_a_refusal() -> None:
    text = refusal_text(ChannelNotAllowed(tuple(range(1, 101))))
    assert text.endswith("and 80 more.") and text.count("<#") == 20


@pytest.mark.parametrize("state", list(JobState))
@pytest.mark.parametrize(
    "stage", ["queued", "generating", "uploading", "done", "failed", "a stage from a newer version"]
)
def test_a_job_on_screen_fits_in_every_state(state: JobState, stage: str) -> None:
    record = job(status=state, progress_stage=stage)
    fits(render.progress_text(record))
    fits(render.progress_done_text(record))
    fits(render.ready_text(record), render.result_embed(record))
    fits(render.failed_text(record))
    fits(render.failed_dm_text(record))
    fits(job_text.job_line(record), job_text.job_details(record))
    check_choices([{"name": job_text.job_choice_label(record), "value": record.id}])
    check_message({"content": "c", "components": render.result_buttons(record).to_components()})


def test_a_providers_reason_is_quoted_briefly() -> None:
    record = job(error_message="x" * 5000)
    assert len(render.failure_sentence(record)) < 500
    [why] = [f for f in job_text.job_details(record).fields if f.name == "Why it failed"]
    assert why.value is not None and len(why.value) <= FIELD_VALUE


def test_the_prompt_in_a_result_is_shortened_with_an_ellipsis() -> None:
    embed = render.result_embed(job(params={"prompt": "p" * 2500}))
    assert embed.description == "p" * 999 + "…"


def test_delivery_texts_fit() -> None:
    record = job(status=JobState.DELIVERED)
    link = render.link_text("https://bot.example/" + "a" * 500, NOW)
    for text in (
        render.dm_intro(record),
        render.dm_link_text(record, link),
        render.too_large_text(record, 2**40, 10 * 2**20, link),
        render.too_large_text(record, 2**40, 10 * 2**20, None),
        render.repost_too_large_text(2**40, 10 * 2**20, link),
        render.refit_note(2**40),
    ):
        fits(text)


def test_lists_of_jobs_fit() -> None:
    jobs = [job(id=f"k{i:07d}", status=JobState.DELIVERED) for i in range(25)]
    fits(job_text.job_list_text(jobs, f"{quote(HUGE, 40)}'s", filtered=True))
    fits(job_text.accepted_text(jobs[0], LIMIT, 10**6, [HUGE[:300]] * 5))


FACTS: dict[str, FactValue] = {
    "kind": HUGE,
    "user_id": SNOWFLAKE,
    "credits": 10**6,
    "category": HUGE,
    "message": HUGE,
    "term": HUGE,
    "reason": HUGE,
    "channel_id": SNOWFLAKE,
    "role_id": SNOWFLAKE,
    "scope": "role",
    "target_id": SNOWFLAKE,
    "period": "month",
    "previous_credits": 10**6,
    "previous_period": "week",
    "text": HUGE,
}


@pytest.mark.parametrize("action", [*AuditAction, "an action from a newer version"])
@pytest.mark.parametrize("facts", [FACTS, {"text": HUGE}], ids=["structured", "legacy"])
def test_every_audit_line_fits(action: str, facts: dict[str, FactValue]) -> None:
    entry = AuditEntry(1, SNOWFLAKE, SNOWFLAKE, action, encode_facts(facts), "k7f3a9c2", NOW)
    fits(render.audit_line(entry))


def _standing(spent: int = 10**6, credits: int | None = 10**6) -> QuotaStanding:
    return QuotaStanding(dataclasses.replace(LIMIT, credits=credits), spent, NOW)


@pytest.mark.parametrize("name", [None, HUGE])
@pytest.mark.parametrize("credits", [None, 0, 10**6])
def test_quota_answers_fit(name: str | None, credits: int | None) -> None:
    server = GuildSettings(
        SNOWFLAKE, paused=True, pause_reason=HUGE, allowed_channels=frozenset(range(1, 400))
    )
    status = QuotaStatus(_standing(1, credits), 10**6, 10**6, CostTable(10**6, 10**6, 0.5), 10**6, server)
    fits(quota_text(status, channel_id=SNOWFLAKE, name=name))


ADMIN_TEXTS: list[Callable[[], str]] = [
    lambda: admin_text.limit_set_text(
        LimitSet(LimitTarget("user", SNOWFLAKE), 10**6, Period.MONTH, None, _standing())
    ),
    lambda: admin_text.limit_set_text(
        LimitSet(
            LimitTarget("role", SNOWFLAKE),
            None,
            Period.DAY,
            QuotaLimit(SNOWFLAKE, "role", SNOWFLAKE, 10**6, "week"),
            None,
        )
    ),
    lambda: admin_text.limit_not_set_text(LimitTarget("guild")),
    lambda: admin_text.limit_cleared_text(LimitTarget("user", SNOWFLAKE)),
    lambda: admin_text.credits_back_text(SNOWFLAKE, CreditsGivenBack(_standing())),
    lambda: admin_text.credits_back_text(SNOWFLAKE, CreditsGivenBack(_standing(credits=None))),
    lambda: admin_text.channel_allowed_text(SNOWFLAKE, ChannelChange(True, 10**6, 10**6)),
    lambda: admin_text.channel_not_listed_text(SNOWFLAKE, ChannelChange(False, 10**6, 10**6)),
    lambda: admin_text.channel_denied_text(SNOWFLAKE, ChannelChange(True, 10**6, 10**6)),
    lambda: admin_text.paused_text(HUGE, was_paused=False),
    lambda: admin_text.paused_text(HUGE, was_paused=True),
    lambda: admin_text.log_channel_text(SNOWFLAKE, changed=True),
    lambda: admin_text.mod_role_text(SNOWFLAKE),
    lambda: "\n".join(admin_text.limit_lines([QuotaLimit(SNOWFLAKE, "user", SNOWFLAKE, 10**6, "day")] * 3)),
]


@pytest.mark.parametrize("build", ADMIN_TEXTS)
def test_admin_answers_fit(build: Callable[[], str]) -> None:
    fits(build())


def test_the_usage_summary_fits_however_many_members() -> None:
    rows = [UsageRow(SNOWFLAKE - i, kind, 10**6, 10**6, 10**6, 10**6) for i in range(500) for kind in "ab"]
    heading = usage_report.usage_heading(Period.MONTH, _report(rows), f"<@{SNOWFLAKE}>")
    fits(usage_report.usage_summary(rows, heading, usage_report.usage_filename(None, _report(rows))))


def _report(rows: list[UsageRow]) -> Any:
    from bot.jobs.services.admin import UsageReport

    return UsageReport(rows, NOW, NOW)


def test_fit_lines_keeps_whole_lines_and_counts_the_rest() -> None:
    assert fit_lines("head", ["a", "b"]) == "head\na\nb"
    assert (
        fit_lines("head", ["a" * 10, "b" * 10, "c" * 10], limit=30) == "head\n" + "a" * 10 + "\n…and 2 more."
    )
    assert fit_lines("head", ["a" * 10, "b" * 10], limit=26) == "head\n" + "a" * 10 + "\n" + "b" * 10
    assert len(fit_lines("h" * 50, ["x" * 50], limit=20)) == 20
