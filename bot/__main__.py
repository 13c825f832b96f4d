"""`python -m bot` runs the bot; `python -m bot check` validates the configuration without starting it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace

import aiohttp
from pydantic import ValidationError

from bot.error_reporting import init_error_reporting
from bot.logs import SecretFilter, configure_logging
from bot.models import ErrorCategory
from bot.providers import AccountBalance, HttpConfig, ProviderError, build_provider
from bot.retry import RetryPolicy
from bot.settings import Role, Settings, describe_validation_error
from db import cli as db_cli
from db import redacted_url

log = logging.getLogger("bot")


def load_or_explain() -> Settings | None:
    try:
        return Settings()
    except ValidationError as error:
        print("The configuration has problems:", file=sys.stderr)
        for line in describe_validation_error(error):
            print(f"  - {line}", file=sys.stderr)
        print("Set these in the environment or in a .env file (see .env.example).", file=sys.stderr)
        return None


def secret_values(settings: Settings) -> list[str]:
    values = []
    for secret in (
        settings.discord_token,
        settings.kling_api_key,
        settings.kling_access_key,
        settings.kling_secret_key,
        settings.kie_webhook_hmac_key,
        settings.sentry_dsn,
    ):
        if secret is not None:
            values.append(secret.get_secret_value())
    return values


async def check_reachability(settings: Settings) -> list[str]:
    """Ask Discord who the token belongs to and see whether the provider's host answers at all."""
    problems: list[str] = []
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        if settings.discord_token is not None:
            headers = {"Authorization": f"Bot {settings.discord_token.get_secret_value()}"}
            try:
                async with session.get(f"{settings.discord_api_base}/users/@me", headers=headers) as resp:
                    if resp.status == 401:
                        problems.append(
                            "DISCORD_TOKEN was refused by Discord: copy it again from the portal."
                        )
                    elif resp.status != 200:
                        problems.append(f"Discord answered {resp.status} to a token check.")
            except (aiohttp.ClientError, TimeoutError) as exc:
                problems.append(
                    f"Discord ({settings.discord_api_base}) is not reachable: {type(exc).__name__}."
                )
        try:
            async with session.get(settings.provider_api_base) as resp:
                await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            problems.append(
                f"The provider ({settings.provider_api_base}) is not reachable: {type(exc).__name__}."
            )
    return problems


# `check` asks once more at most and does not wait long: it is an operator at a prompt.
CHECK_HTTP = HttpConfig(retry=RetryPolicy(attempts=2, first_delay=0.5, max_delay=1.0), timeout=10.0)


async def check_balance(settings: Settings) -> tuple[list[str], list[str]]:
    """Ask the provider what is left on the account: (problems, lines to show the operator)."""
    provider = build_provider(replace(settings.provider_config(), http=CHECK_HTTP))
    try:
        balance = await provider.account_balance()
    except ProviderError as error:
        if error.category is ErrorCategory.AUTH:
            return [f"The provider refused the credentials when asked for the balance: {error.message}"], []
        return [], [f"Provider balance: could not be read ({error.category.value}: {error.message})."]
    finally:
        await provider.close()
    if balance is None:
        return [], ["Provider balance: this provider has no balance endpoint."]
    threshold = settings.low_balance_threshold
    if threshold is None:
        threshold = provider.default_low_balance
    return [], describe_balance(balance, threshold, custom=settings.low_balance_threshold is not None)


def describe_balance(balance: AccountBalance, threshold: float, *, custom: bool) -> list[str]:
    lines = [f"Provider balance: {_amount(balance.remaining)} {balance.unit} left."]
    if balance.remaining < threshold:
        source = "LOW_BALANCE_THRESHOLD" if custom else "the default; set LOW_BALANCE_THRESHOLD to change it"
        lines.append(
            f"Warning: the provider balance is low ({_amount(balance.remaining)} {balance.unit}, "
            f"below {_amount(threshold)} from {source}). Top the account up before jobs start failing."
        )
    return lines


def _amount(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


async def check_online(settings: Settings) -> tuple[list[str], list[str]]:
    problems = await check_reachability(settings)
    if problems:
        return problems, []
    return await check_balance(settings)


def run_check(online: bool) -> int:
    settings = load_or_explain()
    if settings is None:
        return 2
    problems = settings.missing_for_run()
    notes: list[str] = []
    if online and not problems:
        problems, notes = asyncio.run(check_online(settings))
    if problems:
        print("Not ready to run:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    mode = "callbacks at " + settings.public_base_url if settings.public_base_url else "polling only"
    print(
        f"Configuration OK: provider {settings.kling_provider.value} ({settings.provider_api_base}), "
        f"database {redacted_url(settings.database_url)}, {mode}."
    )
    for note in notes:
        print(note, file=sys.stderr if note.startswith("Warning:") else sys.stdout)
    return 0


async def run_bot(settings: Settings) -> None:
    from bot.client import build_bot

    assert settings.discord_token is not None
    init_error_reporting(settings, SecretFilter(secret_values(settings)))
    bot = build_bot(settings)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    closing: list[asyncio.Task[None]] = []

    def request_stop(name: str) -> None:
        if not stopping.is_set():
            log.info("%s received; shutting down", name)
            stopping.set()
            closing.append(loop.create_task(bot.close()))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig.name)
    token = settings.discord_token.get_secret_value()
    async with bot:
        if Role.GATEWAY in settings.bot_roles:
            await bot.start(token)
        else:
            # Workers and listeners talk to Discord by REST alone: log in (which runs setup_hook), no gateway.
            await bot.login(token)
            await stopping.wait()
        # start() returns as soon as the gateway closes; let close() finish releasing the store and sessions.
        await asyncio.gather(*closing)
    log.info("stopped")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="klingbot: Kling videos on Discord")
    sub = parser.add_subparsers(dest="command")
    check = sub.add_parser("check", help="validate the configuration and say what is missing")
    check.add_argument(
        "--online",
        action="store_true",
        help="also check that Discord and the provider answer, and read the provider's balance",
    )
    sub.add_parser("run", help="run the bot (the default)")
    db_cli.add_arguments(sub.add_parser("db", help="database schema: status or upgrade"))
    args = parser.parse_args(argv)
    if args.command == "check":
        return run_check(args.online)
    if args.command == "db":
        settings = load_or_explain()
        return 2 if settings is None else db_cli.run(args.db_command, settings.database_url)
    settings = load_or_explain()
    if settings is None:
        return 2
    problems = settings.missing_for_run()
    if problems:
        for problem in problems:
            print(f"Cannot start: {problem}", file=sys.stderr)
        return 2
    configure_logging(
        settings.log_level,
        settings.log_format.value,
        secret_values(settings),
        process_fields={"instance": settings.instance_id},
    )
    asyncio.run(run_bot(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
