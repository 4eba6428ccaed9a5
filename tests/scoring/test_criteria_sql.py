"""Criteria compiled to SQL select exactly the customers the Python evaluation passes, on
SQLite and PostgreSQL, for the seed's examples and for tricky criteria."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import get_engine, session_scope
from core.errors import InvalidInput
from core.models import Customer
from scoring.criteria import fields_used, parse_criteria
from scoring.criteria_eval import in_segment
from scoring.criteria_sql import load_field_values, segment_query
from scoring.segment_fields import FIELDS
from tests.scoring.segment_fixtures import (
    Builder,
    db_settings,  # noqa: F401 - fixture
    new_workspace,
    varied_population,
)
from tests.scoring.test_criteria import SEED

TRICKY = [
    {"not": {"churn.risk": {"gte": 0.5}}},
    {"churn.risk": {"ne": 0.5}},
    {"churn.risk": {"not_in": [0.2, 0.9]}},
    {"lifecycle.stage": {"not_in": ["ACTIVE"]}},
    {"lifecycle.stage": {"ne": "at-risk"}},
    {"lifecycle.stage": {"exists": False}},
    {"not": {"lifecycle.stage": "ACTIVE"}},
    {"lifecycle.daysInStage": {"gte": 7, "lt": 30}},
    {"any": [{"rfm.r": 5}, {"rfm.f": {"in": [4, 5]}}]},
    {"not": {"any": [{"daysSinceLastOrder": {"lt": 15}}, {"orders.count": 0}]}},
    {"rfm.recency_days": {"exists": False}},
    {"rfm.recency_days": {"gt": 44}},
    {"rfm.monetary": {"gte": 1234.56}},
    {"rfm.frequency": {"gte": 1}},
    {"rfm.m": {"lte": 2}, "rfm.composite": {"gte": 20}},
    {"orders.averageValue": {"gte": 49.99}},
    {"orders.averageValue": {"exists": False}},
    {"spend.lifetime": {"in": [50, 10, 9.99]}},
    {"spend.last90d": {"gt": 0}},
    {"orders.last30d": {"gte": 1}, "orders.last90d": {"lte": 1}},
    {"daysSinceFirstOrder": {"gt": 30}},
    {"daysSinceLastOrder": {"ne": 45}},
    {"promotions.redeemedRatio": {"gt": 0.5}},
    {"promotions.redeemedRatio": {"exists": False}},
    {"engagement.trend": {"lt": 0}},
    {"engagement.last30d": {"gte": 4}},
    {"pricing.views7d": {"gt": 0}, "pricing.views30d": {"gt": 2}},
    {"email.opens90d": {"gt": 0}, "email.clicks90d": {"gte": 1}},
    {"cart.isOpen": False},
    {"cart.isOpen": {"ne": True}},
    {"not": {"cart.isOpen": True}},
    {"cart.openValue": {"gt": 19.99}},
    {"categories.purchased": ["Accessories", "Zubehör"]},
    {"categories.purchased": {"not_in": ["Hardware"]}},
    {"categories.purchased": {"exists": False}},
    {"categories.purchased": "Software"},
    {"categories.purchased": {"ne": "Software"}},
    {"categories.lastOrderMissing": ["Accessories", "Hardware"]},
    {"not": {"categories.lastOrderMissing": "Accessories"}},
    {"categories.top": {"not_in": ["Hardware"]}},
    {"categories.top": {"exists": False}},
    {"channel.preferred": "in-app"},
    {"channel.preferred": {"ne": "email"}},
    {"consent.email": "none"},
    {"consent.sms": {"ne": "revoked"}},
    {"consent.push": {"in": ["granted", "none"]}, "consent.in_app": "revoked"},
    {"customer.locale": {"in": ["en-US", "de-DE"]}},
    {"customer.timezone": {"exists": False}},
    {"churn.risk": {"gte": 0.5}, "upgrade.propensity": {"lt": 1}},
    {
        "all": [{"upgrade.propensity": {"gte": 0.6}}, {"not": {"pricing.views7d": 0}}],
        "any": [{"lifecycle.stage": "ACTIVE"}, {"consent.email": "granted"}],
    },
]
CRITERIA = [*SEED.values(), *TRICKY]
CONSENT_MODES = [(None, False), ("email", False), ("sms", False), ("email", True)]


def test_the_tricky_criteria_use_every_field():
    used = set().union(*(fields_used(parse_criteria(c)) for c in CRITERIA))
    assert used == set(FIELDS)


def test_sql_membership_equals_the_python_evaluation(db_settings):  # noqa: F811
    workspace_id = new_workspace(db_settings)
    other = new_workspace(db_settings, "other")
    with session_scope(db_settings) as session:
        varied_population(Builder(session, workspace_id), 240, seed=5)
        varied_population(Builder(session, other), 20, seed=6)  # never selected from `shop`
    with session_scope(db_settings) as session:
        active = list(
            session.scalars(
                select(Customer.id).where(
                    Customer.workspace_id == workspace_id, Customer.merged_into.is_(None)
                )
            )
        )
        values = {cid: load_field_values(session, workspace_id, cid) for cid in active}
        sizes = []
        for criteria in CRITERIA:
            criterion = parse_criteria(criteria)
            for channel, include in CONSENT_MODES:
                query = segment_query(workspace_id, criterion, channel, include)
                got = set(session.scalars(query))
                expected = {
                    cid for cid in active if in_segment(criterion, values[cid], channel, include)
                }
                assert got == expected, (criteria, channel, include, got ^ expected)
            sizes.append(len(got))
    trivial = [c for c, n in zip(CRITERIA, sizes, strict=True) if n in (0, len(active))]
    assert not trivial, f"criteria that select nobody or everybody test nothing: {trivial}"
    assert get_engine(db_settings).dialect.name in {"sqlite", "postgresql"}


def test_the_query_joins_only_the_sources_its_criteria_read():
    vip = str(segment_query("ws", SEED["VIP"], "email"))
    assert "rfm_snapshots" in vip and "lifecycle_stages" not in vip
    assert "propensity_scores" not in vip and "consent_sms" not in vip
    churn = str(segment_query("ws", SEED["Churn Risk"]))
    assert "lifecycle_stages" in churn and "rfm_snapshots" not in churn
    consent = str(segment_query("ws", {"consent.sms": "granted"}))
    assert "consent_sms" in consent and "consent_email" not in consent


def test_the_query_refuses_an_unknown_channel():
    with pytest.raises(InvalidInput) as caught:
        segment_query("ws", SEED["VIP"], "fax")
    assert caught.value.one_line() == (
        "channel: unknown channel 'fax'; use one of email, sms, push, in_app"
    )


def test_load_field_values_of_an_unknown_customer_is_none(settings):
    workspace_id = new_workspace(settings)
    with session_scope(settings) as session:
        assert load_field_values(session, workspace_id, "cus_nobody") is None
