"""Whatever a member types, up to what Discord lets them type, the bot answers, and every message, embed,
choice list and form it sends fits Discord's limits (the fake Discord refuses anything over them with
Discord's own 400, as Discord does, so an oversize answer shows up here as "did not respond").

Inputs are drawn by hypothesis from each command's registered definition: strings up to the option's
max length (6,000 characters where the command sets none), emoji, zero-width, bidirectional and markdown
characters, every choice, numbers at their bounds. One bot serves the whole module; examples are few and
derandomized, so the run is short and the same every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.records import JobState
from tests.cogs.test_motion import IMAGE, VIDEO, accepted_id
from tests.fakes.discord import FakeDiscord, FakeMessage, InteractionHandle, Opt
from tests.fakes.discord.interactions import (
    ATTACHMENT,
    BOOLEAN,
    CHANNEL,
    INTEGER,
    NUMBER,
    ROLE,
    STRING,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    USER,
)
from tests.fakes.providers.acedata import AceDataFake
from tests.harness import Harness, build_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

OPTION_STRING_MAX = 6000  # what Discord lets a member type into a string option without a max_length
ACTIVE = [JobState.PENDING, JobState.SUBMITTED, JobState.SUCCEEDED]
EXAMPLES = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Every leaf command; a new command needs a row here (test_every_command_is_fuzzed checks).
COMMANDS = [
    "help",
    "jobs",
    "job",
    "quota",
    "queue",
    "motion",
    "video text",
    "video image",
    "video extend",
    "video reference",
    "video edit",
    "video shots",
    "kling-admin pause",
    "kling-admin resume",
    "kling-admin usage",
    "kling-admin log-channel",
    "kling-admin mod-role",
    "kling-admin quota set",
    "kling-admin quota clear",
    "kling-admin quota list",
    "kling-admin quota reset",
    "kling-admin channels allow",
    "kling-admin channels deny",
    "kling-admin channels list",
    "kling-admin blocklist add",
    "kling-admin blocklist remove",
    "kling-admin blocklist list",
]
AUTOCOMPLETED = [
    ("job", "id"),
    ("queue", "cancel"),
    ("video extend", "job"),
    ("video edit", "job"),
    ("video text", "model"),
    ("video reference", "model"),
    ("video shots", "model"),
    ("motion", "model"),
    ("kling-admin blocklist remove", "term"),
]

# ---- what members type --------------------------------------------------------------------------------

ODD = [
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u00ad",  # soft hyphen
    "\u202e",  # right-to-left override
    "\u2067",  # right-to-left isolate
    "\u2069",  # pop directional isolate
    "\ufeff",  # byte order mark
    "👩\u200d👩\u200d👧\u200d👦",  # one emoji of seven code points
    "🎬",
    "🏳️\u200d🌈",
    "ﷺ",  # one code point, very wide
    "Z̷̢̛a̶̡l̵g̴o̸",  # combining marks
    "שלום",
    "مرحبا",
    "`",
    "```",
    "||",
    "**",
    "\n",
    "@everyone",
    "<@1>",
    "<#1>",
    "k7f3a9c2",
]
# Any code point but surrogates and control characters (Discord's clients send neither).
CHARACTERS = st.characters(exclude_categories=("Cs", "Cc"))
PIECE = st.one_of(st.text(CHARACTERS, min_size=1, max_size=6), st.sampled_from(ODD))
SHORT_TEXT = st.lists(PIECE, min_size=1, max_size=12).map("".join)


# Lengths where the bot's own limits change its answer (a term, a negative prompt, a prompt).
BOUNDARIES = (100, 101, 200, 201, 2500, 2501)


def fill(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def typed_text(min_length: int, max_length: int) -> st.SearchStrategy[str]:
    """Short odd strings, and long ones: the longest the option takes, and the bot's own limits."""
    edges = {max_length, max_length - 1, *BOUNDARIES}
    lengths = st.sampled_from(sorted(n for n in edges if max(min_length, 1) <= n <= max_length))
    longest = st.builds(fill, SHORT_TEXT, lengths)
    short = SHORT_TEXT.filter(lambda text: min_length <= len(text) <= max_length)
    return st.one_of(longest, short)


@dataclass(frozen=True)
class Leaf:
    name: str
    subcommand: str | None
    options: tuple[dict[str, Any], ...]


def leaves(harness: Harness) -> dict[str, Leaf]:
    """Every leaf command as registered with Discord, by its full name."""
    found: dict[str, Leaf] = {}

    def walk(name: str, path: list[str], options: list[dict[str, Any]]) -> None:
        nested = [o for o in options if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
        if not nested:
            sub = " ".join(path) or None
            found[" ".join([name, *path])] = Leaf(name, sub, tuple(options))
        for option in nested:
            walk(name, [*path, option["name"]], option.get("options") or [])

    for command in harness.fake.guild_commands[harness.guild.id]:
        walk(command["name"], [], command.get("options") or [])
    return found


def option_value(harness: Harness, option: dict[str, Any]) -> st.SearchStrategy[Any]:
    """What a member can give for one option, as the fake's send_slash_command takes it."""
    g = harness.guild
    kind = option["type"]
    if option.get("choices"):
        return st.sampled_from([choice["value"] for choice in option["choices"]])
    if kind == STRING:
        return typed_text(option.get("min_length", 1), option.get("max_length", OPTION_STRING_MAX))
    if kind == INTEGER:
        return st.integers(option.get("min_value", -(2**53)), option.get("max_value", 2**53))
    if kind == NUMBER:
        low, high = option.get("min_value", -1e15), option.get("max_value", 1e15)
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    if kind == BOOLEAN:
        return st.booleans()
    if kind == USER:
        return st.sampled_from([g.member_id, g.other_member_id, g.owner_id]).map(lambda i: Opt(USER, i))
    if kind == ROLE:
        return st.sampled_from([g.moderator_role_id, g.vip_role_id, g.id]).map(lambda i: Opt(ROLE, i))
    if kind == CHANNEL:
        channels = [g.channel_id, g.other_channel_id, g.log_channel_id]
        return st.sampled_from(channels).map(lambda i: Opt(CHANNEL, i))
    raise AssertionError(f"no strategy for option type {kind}")


def attachment(option: dict[str, Any]) -> tuple[str, bytes, str]:
    if "video" in option["name"]:
        return ("move.mp4", VIDEO, "video/mp4")
    return ("me.png", IMAGE, "image/png")


@st.composite
def invocation(
    draw: st.DrawFn, harness: Harness, leaf: Leaf
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes, str]], int]:
    """(options, attachments, who) for one use of `leaf`: required options always, others at random."""
    options: dict[str, Any] = {}
    attachments: dict[str, tuple[str, bytes, str]] = {}
    for option in leaf.options:
        if not option.get("required") and not draw(st.booleans()):
            continue
        if option["type"] == ATTACHMENT:
            attachments[option["name"]] = attachment(option)
        else:
            options[option["name"]] = draw(option_value(harness, option))
    who = draw(st.sampled_from([harness.guild.member_id, harness.guild.owner_id]))
    return options, attachments, who


# ---- the bot, and what it must have done --------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    """One bot for the module: its state (jobs, blocklist, pauses) carries over, as on a real server."""
    fake = await FakeDiscord().start()
    provider = await AceDataFake().start()
    harness = Harness(
        fake=fake,
        provider=provider,
        provider_name="acedata",
        tmp=Path(tmp_path_factory.mktemp("limits")),
        guild=build_world(fake),
    )
    await harness.start()
    yield harness
    await harness.stop()
    await provider.stop()
    await fake.stop()


def refusals(fake: FakeDiscord) -> list[str]:
    """Every request of the bot that Discord refused as malformed (a 400), with Discord's reasons."""
    return [f"{c.method} {c.path}: {c.response}" for c in fake.calls if c.status == 400 and not c.injected]


def answered(handle: InteractionHandle) -> bool:
    """Whether the member sees an answer: a message, a form, choices, or a deferred reply filled in."""
    callback = handle.record.callback_type
    if callback == 5:
        original = handle.original()
        return original is None or not original.loading
    return callback is not None


async def settled(harness: Harness, timeout: float = 15.0) -> None:
    """Wait until no job is in progress, so each example's videos are posted (and checked) in it."""
    bot = harness.running
    changed = bot.engine.changed
    async with asyncio.timeout(timeout):
        while True:
            async with changed:
                if await bot.store.count_in_states(ACTIVE) == 0:
                    return
                await changed.wait()


async def assert_answered_within_limits(harness: Harness, handle: InteractionHandle) -> None:
    await harness.fake.wait_for(lambda: answered(handle) or refusals(harness.fake), timeout=15)
    await settled(harness)
    assert refusals(harness.fake) == []
    assert answered(handle), "the member would see: the application did not respond"
    assert harness.fake.internal_errors == []


@dataclass(frozen=True)
class Stock:
    """What the autocomplete and button tests need: finished videos with the longest prompt a command
    takes, owned by a member and by the owner, and the longest blocklist term."""

    posts: dict[int, FakeMessage]  # the result post of each owner's video, by user id
    jobs: dict[int, str]


LONG_PROMPT = fill("👩\u200d👩\u200d👧\u200d👦 שלום `tick` \u202e far ", 2500)
LONG_TERM = fill("drachenfels", 100)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stock(bot: Harness) -> Stock:
    g = bot.guild
    posts, jobs = {}, {}
    for user in (g.member_id, g.owner_id):
        handle = await bot.slash("video", {"prompt": LONG_PROMPT}, subcommand="text", user_id=user)
        job_id = accepted_id(await bot.reply(handle))
        await bot.wait_delivered(job_id)
        jobs[user] = job_id
        posts[user] = next(
            m for m in bot.posts_in(g.channel_id) if f"kling:extend:{job_id}" in str(m.components)
        )
    handle = await bot.slash(
        "kling-admin", {"term": LONG_TERM}, subcommand="blocklist add", user_id=g.owner_id
    )
    assert (await bot.reply(handle)).content.startswith("✅ Added")
    return Stock(posts, jobs)


# ---- every command --------------------------------------------------------------------------------------


async def test_every_command_is_fuzzed(bot: Harness, stock: Stock) -> None:
    assert sorted(leaves(bot)) == sorted(COMMANDS), "a new command needs a row in COMMANDS"


@pytest.mark.parametrize("command", COMMANDS)
@EXAMPLES
@given(data=st.data())
async def test_every_command_answers_within_discords_limits(
    bot: Harness, command: str, data: st.DataObject
) -> None:
    leaf = leaves(bot)[command]
    options, attachments, who = data.draw(invocation(bot, leaf))
    handle = await bot.fake.send_slash_command(
        leaf.name,
        options,
        subcommand=leaf.subcommand,
        attachments=attachments,
        user_id=who,
        guild_id=bot.guild.id,
        channel_id=bot.guild.channel_id,
    )
    await assert_answered_within_limits(bot, handle)


# ---- autocomplete, buttons and the extend form ---------------------------------------------------------


@pytest.mark.parametrize(("command", "focused"), AUTOCOMPLETED)
@EXAMPLES
@given(data=st.data())
async def test_autocomplete_answers_within_discords_limits(
    bot: Harness, stock: Stock, command: str, focused: str, data: st.DataObject
) -> None:
    leaf = leaves(bot)[command]
    assert next(o for o in leaf.options if o["name"] == focused).get("autocomplete")
    typed = data.draw(
        st.one_of(
            st.just(""), st.sampled_from(["drachen", *stock.jobs.values()]), typed_text(1, OPTION_STRING_MAX)
        )
    )
    who = data.draw(st.sampled_from([bot.guild.member_id, bot.guild.owner_id]))
    handle = await bot.fake.send_autocomplete(
        leaf.name,
        {focused: typed},
        focused,
        subcommand=leaf.subcommand,
        user_id=who,
        guild_id=bot.guild.id,
        channel_id=bot.guild.channel_id,
    )
    await assert_answered_within_limits(bot, handle)
    assert handle.record.callback_type == 8


async def test_autocomplete_shows_long_prompts_and_terms_clipped(bot: Harness, stock: Stock) -> None:
    """The fuzzing above must have had something long to show."""
    g = bot.guild
    extend = await bot.fake.send_autocomplete(
        "video", {"job": ""}, "job", subcommand="extend", user_id=g.member_id, guild_id=g.id
    )
    terms = await bot.fake.send_autocomplete(
        "kling-admin", {"term": ""}, "term", subcommand="blocklist remove", user_id=g.owner_id, guild_id=g.id
    )
    [choice] = [c for c in await choices_of(bot, extend) if c["value"] == stock.jobs[g.member_id]]
    assert len(choice["name"]) == 100 and choice["name"].endswith("…")
    assert {"name": LONG_TERM, "value": LONG_TERM} in await choices_of(bot, terms)


async def choices_of(bot: Harness, handle: InteractionHandle) -> list[dict[str, Any]]:
    await handle.response()
    return handle.choices()


BUTTON_PRESSES = st.one_of(
    st.tuples(st.sampled_from(["extend", "rerun"]), st.sampled_from(["member", "owner", "other"])),
    st.just(("delete", "other")),  # refused: deleting would take the post away from the next examples
)


@EXAMPLES
@given(data=st.data())
async def test_buttons_and_the_extend_form_answer_within_discords_limits(
    bot: Harness, stock: Stock, data: st.DataObject
) -> None:
    g = bot.guild
    users = {"member": g.member_id, "owner": g.owner_id, "other": g.other_member_id}
    action, who = data.draw(BUTTON_PRESSES)
    owner = data.draw(st.sampled_from(sorted(stock.posts)))
    post = stock.posts[owner]
    handle = await bot.fake.send_component_click(
        f"kling:{action}:{stock.jobs[owner]}", post.id, user_id=users[who]
    )
    await assert_answered_within_limits(bot, handle)
    if handle.record.callback_type != 9:
        return
    form = (handle.record.callback_body or {})["data"]
    [field] = form["components"][0]["components"]
    typed = data.draw(st.one_of(st.just(""), typed_text(1, field["max_length"])))
    submitted = await bot.fake.send_modal_submit(
        form["custom_id"], {field["custom_id"]: typed}, message_id=post.id, user_id=users[who]
    )
    await assert_answered_within_limits(bot, submitted)


@EXAMPLES
@given(data=st.data())
async def test_the_shots_form_answers_within_discords_limits(bot: Harness, data: st.DataObject) -> None:
    opened = await bot.fake.send_slash_command(
        "video", {}, subcommand="shots", user_id=bot.guild.member_id, guild_id=bot.guild.id
    )
    await assert_answered_within_limits(bot, opened)
    if opened.record.callback_type != 9:  # refused before the form (a pause, a quota from other examples)
        return
    form = (opened.record.callback_body or {})["data"]
    fields = [row["components"][0] for row in form["components"]]
    typed = {
        field["custom_id"]: data.draw(st.one_of(st.just(""), typed_text(1, field["max_length"])))
        for field in fields
    }
    submitted = await bot.fake.send_modal_submit(form["custom_id"], typed, user_id=bot.guild.member_id)
    await assert_answered_within_limits(bot, submitted)
