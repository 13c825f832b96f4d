"""/kling-admin usage: the summary message and the CSV, one row per member and kind."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime

from bot.discord_ui.render import PERIOD_NOW, credits_text, kind_title, plural, timestamp, user_mention
from bot.jobs.quota import Period
from bot.jobs.services.admin import UsageReport
from db.records import UsageRow

MESSAGE_LIMIT = 1900  # Discord allows 2000 characters; leave room for a closing line
USAGE_MEMBERS_SHOWN = 15
CSV_COLUMNS = (
    "user_id",
    "user_name",
    "kind",
    "jobs",
    "credits_charged",
    "credits_reserved",
    "credits_refunded",
)


def usage_filename(period: Period | None, report: UsageReport) -> str:
    day = datetime.fromtimestamp(report.now, UTC).strftime("%Y-%m-%d")
    return f"usage-{period.value if period else 'all'}-{day}.csv"


def usage_heading(period: Period | None, report: UsageReport, user_mention_text: str | None) -> str:
    scope = f" of {user_mention_text}" if user_mention_text else ""
    when = "all time" if period is None else f"{PERIOD_NOW[period]} (since {timestamp(report.since, 'f')})"
    return f"**Usage{scope}, {when}**"


def usage_csv(rows: list[UsageRow], names: dict[int, str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.user_id,
                names.get(row.user_id, ""),
                row.kind,
                row.jobs,
                row.credits_charged,
                row.credits_reserved,
                row.credits_refunded,
            )
        )
    return buffer.getvalue().encode()


def _figures(jobs: int, charged: int, reserved: int, refunded: int) -> str:
    parts = [plural(jobs, "job"), f"{credits_text(charged)} charged"]
    if reserved:
        parts.append(f"{reserved} reserved for videos in progress")
    if refunded:
        parts.append(f"{refunded} refunded")
    return " · ".join(parts)


def _totals(rows: list[UsageRow]) -> tuple[dict[int, list[int]], dict[str, list[int]]]:
    members: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        figures = (row.jobs, row.credits_charged, row.credits_reserved, row.credits_refunded)
        for bucket in (members[row.user_id], kinds[row.kind]):
            for i, value in enumerate(figures):
                bucket[i] += value
    return members, kinds


def usage_summary(rows: list[UsageRow], heading: str, filename: str) -> str:
    if not rows:
        return f"{heading}: no videos were asked for. (The attached {filename} has just the header.)"
    members, kinds = _totals(rows)
    total = [sum(values) for values in zip(*members.values(), strict=True)]
    lines = [f"{heading}: {_figures(*total)}", "**By member**"]
    ranked = sorted(members.items(), key=lambda item: (-item[1][1] - item[1][2], item[0]))
    lines.extend(
        f"• {user_mention(user_id)}: {_figures(*figures)}"
        for user_id, figures in ranked[:USAGE_MEMBERS_SHOWN]
    )
    if len(ranked) > USAGE_MEMBERS_SHOWN:
        lines.append(f"…and {len(ranked) - USAGE_MEMBERS_SHOWN} more members in the CSV.")
    lines.append("**By kind**")
    lines.extend(f"• {kind_title(kind)}: {_figures(*figures)}" for kind, figures in sorted(kinds.items()))
    lines.append(f"One row per member and kind in {filename}.")
    text = "\n".join(lines)
    return (
        text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT].rsplit("\n", 1)[0] + "\n…(see the CSV)"
    )
