"""A loopback fake Discord (REST, gateway, CDN) for running the real discord.py client in tests.

    async with FakeDiscord() as fake:                 # or the `fake_discord` fixture (fixtures.py)
        world = seed_default_world(fake)              # guild, channels, roles, owner, mod, alice, bob
        with pointed_at(fake.api_base, fake.gateway_url):
            ...start the bot with fake.bot_token; await its on_ready...
            handle = await fake.send_slash_command("motion", {"prompt": "dance"},
                                                   attachments={"image": ("a.png", data, "image/png")})
            assert (await handle.response())["type"] == 5
            msg = await handle.wait_original(lambda m: "Queued" in m.content)
            call = await fake.wait_for_call("POST", rf"^/channels/{world.general_id}/messages$")

Time is `fake.clock` (real time plus `fake.advance(seconds)`): interaction tokens (15 min), the
3-second response window and CDN URLs expire by it. Ids are snowflakes from the real clock.
"""

from .cdn import UrlSigner
from .interactions import InteractionHandle, Opt
from .models import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    ATTACH_FILES,
    EPHEMERAL,
    LOADING,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    MIB,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    ApiError,
    Call,
    Clock,
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    GatewayFrame,
    Injection,
    InteractionRecord,
    UploadedFile,
    upload_limit_for_tier,
)
from .patch import pointed_at
from .seed import DefaultWorld, seed_default_world
from .server import FakeDiscord

__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "ATTACH_FILES",
    "EPHEMERAL",
    "LOADING",
    "MANAGE_GUILD",
    "MANAGE_MESSAGES",
    "MIB",
    "SEND_MESSAGES",
    "VIEW_CHANNEL",
    "ApiError",
    "Call",
    "Clock",
    "DefaultWorld",
    "FakeAttachment",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "GatewayFrame",
    "Injection",
    "InteractionHandle",
    "InteractionRecord",
    "Opt",
    "UploadedFile",
    "UrlSigner",
    "pointed_at",
    "seed_default_world",
    "upload_limit_for_tier",
]
