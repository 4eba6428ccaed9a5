"""Builders for segment tests: customers with features, categories, stages, scores, RFM and
consent written directly, so the tests do not depend on the code that computes them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core import workspaces
from core.db import session_scope
from core.models import (
    CHANNELS,
    ChannelConsent,
    Customer,
    CustomerCategory,
    CustomerFeatures,
    LifecycleStage,
    PropensityScore,
    RfmSnapshot,
)
from core.settings import Settings
from scoring.segment_fields import LIFECYCLE_STAGES

AS_OF = date(2026, 10, 31)
NOW = datetime(2026, 11, 1, 6, tzinfo=UTC)
CATEGORIES = ("Accessories", "Hardware", "Software", "Services", "Zubehör")


def at(days_ago: int) -> datetime:
    return datetime(AS_OF.year, AS_OF.month, AS_OF.day, 12, tzinfo=UTC) - timedelta(days=days_ago)


def feature_row(**overrides: Any) -> dict[str, Any]:
    """A customer_features row: one order 10 days ago, otherwise quiet; overrides win."""
    row: dict[str, Any] = {
        "orders_count": 1,
        "first_order_at": at(10),
        "last_order_at": at(10),
        "days_since_first_order": 10,
        "days_since_last_order": 10,
        "orders_30d": 1,
        "orders_90d": 1,
        "orders_prev_90d": 0,
        "spend_90d_cents": 5000,
        "lifetime_spend_cents": 5000,
        "avg_order_cents": 5000,
        "promo_orders": 0,
        "redeemed_ratio": 0.0,
        "pricing_views_7d": 0,
        "pricing_views_30d": 0,
        "events_30d": 0,
        "emails_sent_90d": 0,
        "email_opens_90d": 0,
        "email_clicks_90d": 0,
        "engagement_30d": 0,
        "engagement_prev_30d": 0,
        "engagement_trend": 0.0,
        "open_cart_cents": None,
        "open_cart_updated_at": None,
        "top_category": None,
        "top_category_share": None,
        "preferred_channel": None,
    }
    unknown = set(overrides) - set(row)
    assert not unknown, unknown
    row.update(overrides)
    return row


NO_ORDER = {
    "orders_count": 0,
    "first_order_at": None,
    "last_order_at": None,
    "days_since_first_order": None,
    "days_since_last_order": None,
    "orders_30d": 0,
    "orders_90d": 0,
    "spend_90d_cents": 0,
    "lifetime_spend_cents": 0,
    "avg_order_cents": None,
    "redeemed_ratio": None,
}


@dataclass
class Builder:
    """Adds customers and everything scored about them to one workspace."""

    session: Session
    workspace_id: str
    as_of: date = AS_OF
    count: int = field(default=0)

    def customer(
        self,
        user_id: str | None = None,
        *,
        email: str | None = None,
        locale: str | None = None,
        timezone: str | None = None,
        merged_into: str | None = None,
        features: dict[str, Any] | None = None,
        no_features: bool = False,
        rfm: dict[str, Any] | None = None,
        stage: str | None = None,
        days_in_stage: int = 0,
        churn: float | None = None,
        upgrade: float | None = None,
        consents: dict[str, str] | None = None,
        categories: dict[str, bool] | None = None,
        traits: dict[str, Any] | None = None,
    ) -> str:
        """A new customer; returns its id. `categories`: name -> in the last order."""
        self.count += 1
        customer_id = f"cus_{self.workspace_id[-6:]}_{self.count:05d}"
        self.session.add(
            Customer(
                id=customer_id,
                workspace_id=self.workspace_id,
                user_id=user_id,
                email=email,
                locale=locale,
                timezone=timezone,
                merged_into=merged_into,
                traits=traits or {},
                preferred_channels=[],
            )
        )
        self.session.flush()
        ws = {"workspace_id": self.workspace_id, "customer_id": customer_id}
        if not no_features:
            self.session.add(
                CustomerFeatures(
                    **ws, as_of=self.as_of, computed_at=NOW, **feature_row(**(features or {}))
                )
            )
        if rfm is not None:
            row = {
                "recency_days": 10,
                "frequency": 1,
                "monetary_cents": 5000,
                "r": 3,
                "f": 3,
                "m": 3,
            }
            row.update(rfm)
            row.setdefault("composite", 4 * row["r"] + 3 * row["f"] + 3 * row["m"])
            self.session.add(
                RfmSnapshot(
                    **ws,
                    as_of=row.pop("as_of", self.as_of),
                    window_days=180,
                    weights="4,3,3",
                    computed_at=NOW,
                    **row,
                )
            )
        if stage is not None:
            self.session.add(
                LifecycleStage(
                    **ws,
                    stage=stage,
                    since=self.as_of - timedelta(days=days_in_stage),
                    previous_stage=None,
                    rule="test",
                )
            )
        if churn is not None or upgrade is not None:
            self.session.add(
                PropensityScore(
                    **ws,
                    as_of=self.as_of,
                    churn_risk=churn if churn is not None else 0.0,
                    upgrade_propensity=upgrade if upgrade is not None else 0.0,
                    churn_reasons=[],
                    upgrade_reasons=[],
                    churn_source="rules",
                    upgrade_source="rules",
                )
            )
        for channel, status in (consents or {}).items():
            self.session.add(
                ChannelConsent(**ws, channel=channel, status=status, source="test", recorded_at=NOW)
            )
        for name, in_last in (categories or {}).items():
            self.session.add(
                CustomerCategory(
                    **ws,
                    category=name,
                    orders=1,
                    spend_cents=1000,
                    in_last_order=in_last,
                    last_bought_at=at(10),
                )
            )
        self.session.flush()
        return customer_id


def new_workspace(settings: Settings, slug: str = "shop") -> str:
    with session_scope(settings) as session:
        return workspaces.create(session, slug).id


def varied_population(builder: Builder, n: int, seed: int) -> list[str]:
    """n customers with every kind of value, missing ones and edge values included."""
    rng = random.Random(seed)
    ids = []

    def maybe(value: Any, p_none: float = 0.15) -> Any:
        return None if rng.random() < p_none else value

    for i in range(n):
        ordered = rng.random() > 0.2
        features: dict[str, Any] = {} if ordered else dict(NO_ORDER)
        if ordered:
            orders = rng.choice([1, 1, 2, 3, 5, 8, 13])
            last = rng.choice([0, 3, 14, 15, 44, 45, 46, 90, 200])
            first = last + rng.choice([0, 5, 30, 400])
            spend = rng.choice([999, 1000, 4999, 5000, 25_050, 100_000])
            features.update(
                orders_count=orders,
                days_since_last_order=last,
                days_since_first_order=first,
                last_order_at=at(last),
                first_order_at=at(first),
                orders_30d=rng.choice([0, 1, 2]),
                orders_90d=rng.choice([0, 1, 4]),
                spend_90d_cents=rng.choice([0, 5000, 12_345]),
                lifetime_spend_cents=spend * orders,
                avg_order_cents=spend,
                promo_orders=rng.randint(0, orders),
                redeemed_ratio=rng.choice([0.0, 0.25, 0.5, 0.5000001, 1.0]),
            )
        features.update(
            pricing_views_7d=rng.choice([0, 1, 3]),
            pricing_views_30d=rng.choice([0, 2, 9]),
            engagement_30d=rng.choice([0, 4, 20]),
            engagement_trend=rng.choice([-1.0, -0.2, 0.0, 0.3, 1.0]),
            email_opens_90d=rng.choice([0, 1, 7]),
            email_clicks_90d=rng.choice([0, 2]),
            open_cart_cents=maybe(rng.choice([1999, 5000]), 0.6),
            top_category=maybe(rng.choice(CATEGORIES), 0.3),
            preferred_channel=maybe(rng.choice(CHANNELS), 0.3),
        )
        categories = {}
        if ordered:
            for name in rng.sample(CATEGORIES, rng.randint(0, 3)):
                categories[name] = rng.random() < 0.5
        r, f, m = rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 5)
        rfm = None
        if rng.random() > 0.1:
            rfm = {
                "r": r,
                "f": f,
                "m": m,
                "recency_days": features.get("days_since_last_order", 10),
                "frequency": rng.choice([0, 1, 3]),
                "monetary_cents": rng.choice([0, 5000, 123_456]),
            }
            if rng.random() < 0.05:
                rfm["as_of"] = AS_OF - timedelta(days=1)  # a stale snapshot is not joined
        consents = {}
        for channel in CHANNELS:
            roll = rng.random()
            if roll < 0.4:
                consents[channel] = "granted"
            elif roll < 0.7:
                consents[channel] = "revoked"
        ids.append(
            builder.customer(
                f"U{i:04d}",
                email=f"u{i}@example.com",
                locale=maybe(rng.choice(["en-US", "de-DE", "fr-FR"]), 0.3),
                timezone=maybe(rng.choice(["Europe/Berlin", "America/New_York"]), 0.3),
                features=features,
                no_features=rng.random() < 0.05,
                rfm=rfm,
                stage=maybe(rng.choice(LIFECYCLE_STAGES), 0.1),
                days_in_stage=rng.choice([0, 7, 30]),
                churn=maybe(rng.choice([0.0, 0.2, 0.5, 0.9]), 0.1),
                upgrade=rng.choice([0.0, 0.6, 1.0]),
                consents=consents,
                categories=categories,
            )
        )
    # a merged profile is never a member, whatever its values
    builder.customer(
        "merged", merged_into=ids[0], features={"orders_count": 99}, rfm={"r": 5, "f": 5, "m": 5}
    )
    return ids


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    """Settings for SQLite, then for a fresh schema of the real PostgreSQL."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        return Settings(data_dir=tmp_path / "pg", database_url=url)
    return Settings(data_dir=tmp_path / "data")
