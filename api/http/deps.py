"""Request dependencies: the app's settings, and the raw body a signature is computed over."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.settings import Settings


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]
