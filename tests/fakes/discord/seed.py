"""A ready-made world for tests: one guild with channels, roles, an owner, a moderator and members."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import MANAGE_GUILD, MANAGE_MESSAGES

if TYPE_CHECKING:
    from .world import World


@dataclass(frozen=True)
class DefaultWorld:
    guild_id: int
    everyone_role_id: int
    moderator_role_id: int
    creator_role_id: int
    owner_id: int  # the guild owner: every permission
    moderator_id: int  # has the Moderator role (Manage Server)
    alice_id: int  # ordinary member with the Creator role (the default interaction user)
    bob_id: int  # ordinary member without roles
    general_id: int  # the default interaction channel
    videos_id: int
    log_channel_id: int
    no_bot_channel_id: int  # the bot may not send here (403/50013)


def seed_default_world(world: World, *, premium_tier: int = 0) -> DefaultWorld:
    owner = world.add_user("owner", global_name="Server Owner")
    guild = world.add_guild("Kling Test Server", owner_id=owner.id, premium_tier=premium_tier)
    moderator_role = world.add_role(guild.id, "Moderator", MANAGE_GUILD | MANAGE_MESSAGES)
    creator_role = world.add_role(guild.id, "Creator", mentionable=True)
    general = world.add_channel(guild.id, "general", topic="Say hi")
    videos = world.add_channel(guild.id, "videos")
    log_channel = world.add_channel(guild.id, "bot-log")
    no_bot = world.add_channel(guild.id, "no-bot", bot_can_send=False)
    alice = world.add_member(guild.id, username="alice", roles=[creator_role.id])
    moderator = world.add_member(guild.id, username="mod", roles=[moderator_role.id])
    bob = world.add_member(guild.id, username="bob")
    world.default_guild_id, world.default_channel_id, world.default_user_id = (
        guild.id,
        general.id,
        alice.user_id,
    )
    seeded = DefaultWorld(
        guild_id=guild.id,
        everyone_role_id=guild.id,
        moderator_role_id=moderator_role.id,
        creator_role_id=creator_role.id,
        owner_id=owner.id,
        moderator_id=moderator.user_id,
        alice_id=alice.user_id,
        bob_id=bob.user_id,
        general_id=general.id,
        videos_id=videos.id,
        log_channel_id=log_channel.id,
        no_bot_channel_id=no_bot.id,
    )
    world.seeded = seeded
    return seeded
