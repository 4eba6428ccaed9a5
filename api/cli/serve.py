"""`mcopilot serve`: the HTTP API (provider webhooks, unsubscribe links) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from core.settings import get_settings


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
) -> None:
    """Serve the HTTP API until interrupted; set MCOPILOT_PUBLIC_BASE_URL to where it is
    reached from outside (it goes into unsubscribe links)."""
    import uvicorn

    from api.http.app import create_app

    app = create_app(get_settings())
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)


def register(root: typer.Typer) -> None:
    root.command("serve")(serve)
