"""`create_app(settings)`: the FastAPI application, its routes and error handlers."""

from __future__ import annotations

from fastapi import FastAPI

from api.http import errors
from api.http.routes import feedback, health, unsubscribe
from core.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, bound to these settings (the process's by default)."""
    app = FastAPI(title="mcopilot", version="0.1.0", docs_url="/docs", redoc_url=None)
    app.state.settings = settings or get_settings()
    errors.install(app)
    app.include_router(health.router)
    app.include_router(feedback.router)
    app.include_router(unsubscribe.router)
    return app
