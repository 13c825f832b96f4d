"""Starting an aiohttp app on a host and port, shared by the public listener and the ops server."""

from __future__ import annotations

from aiohttp import web


async def start_app(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve `app`; returns its runner (cleanup() stops it) and the bound port (the real one for port 0)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    return runner, (sockets[0].getsockname()[1] if sockets else port)
