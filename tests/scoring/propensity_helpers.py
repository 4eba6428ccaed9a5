"""Helpers for the propensity tests: a demo workspace ready to query on either database."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, text

from core.db import session_scope
from core.models import Workspace
from core.settings import Settings
from scoring.demo_loader import LOAD_ORDER, generate_into

END = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF = date(2026, 10, 31)  # the last day of the demo data


def analyze(settings: Settings) -> None:
    """PostgreSQL plans freshly bulk-loaded tables as empty (nested loops, minutes instead of
    milliseconds) until they are analyzed; SQLite's loader analyzes already."""
    with session_scope(settings) as session:
        if session.get_bind().dialect.name == "postgresql":
            for model in LOAD_ORDER:
                session.execute(text(f'ANALYZE "{model.__tablename__}"'))


def demo(settings: Settings, slug: str, customers: int, orders: int, seed: int = 1) -> str:
    """Generate and load the demo data into a new workspace; its id."""
    generate_into(
        settings,
        slug,
        customers=customers,
        orders=orders,
        seed=seed,
        end=END,
        create_workspace=True,
    )
    analyze(settings)
    with session_scope(settings) as session:
        return session.scalars(select(Workspace.id).where(Workspace.slug == slug)).one()
