"""Saved segments: materialized membership, diffs, events, drift, consent exclusion, quota,
preview, explain; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from core.db import session_scope
from core.errors import Conflict, InvalidInput, NotFound
from core.models import (
    CustomerFeatures,
    DomainEvent,
    SegmentChange,
    SegmentDefinition,
    SegmentMember,
    SegmentRun,
)
from scoring import segments
from scoring.criteria_sql import segment_query
from scoring.segment_refresh import drift, refresh, refresh_segments
from tests.scoring.segment_fixtures import (
    AS_OF,
    Builder,
    db_settings,  # noqa: F401 - fixture
    new_workspace,
    varied_population,
)

CHURN = {"lifecycle.stage": "ACTIVE", "daysSinceLastOrder": {"gte": 45}}
T1 = datetime(2026, 11, 1, 7, tzinfo=UTC)
T2 = datetime(2026, 11, 2, 7, tzinfo=UTC)


def make(session, workspace_id, name="Churn Risk", criteria=CHURN, **options):
    options.setdefault("quota", 100)
    return segments.create(
        session, workspace_id=workspace_id, name=name, criteria=criteria, **options
    )


def members_of(session, segment_id):
    return set(
        session.scalars(
            select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment_id)
        )
    )


def changes_of(session, run_id, change):
    return set(
        session.scalars(
            select(SegmentChange.customer_id).where(
                SegmentChange.run_id == run_id, SegmentChange.change == change
            )
        )
    )


@pytest.mark.parametrize(
    ("previous", "population", "threshold", "expected"),
    [
        (None, 500, 20, (None, False)),
        (100, 120, 20, (20.0, False)),
        (100, 121, 20, (21.0, True)),
        (100, 79, 20, (21.0, True)),
        (3, 4, 20, (33.33, True)),
        (0, 0, 20, (0.0, False)),
        (0, 5, 20, (None, True)),
        (100, 100, 0, (0.0, False)),
    ],
)
def test_drift(previous, population, threshold, expected):
    assert drift(previous, population, threshold) == expected


def test_refresh_stores_diffs_members_events_and_drift(db_settings):  # noqa: F811
    workspace_id = new_workspace(db_settings)
    with session_scope(db_settings) as session:
        b = Builder(session, workspace_id)
        stay = b.customer("stay", stage="retention", features={"days_since_last_order": 60})
        leave = b.customer("leave", stage="at_risk", features={"days_since_last_order": 45})
        later = b.customer("later", stage="activation", features={"days_since_last_order": 44})
        b.customer("churned", stage="churned", features={"days_since_last_order": 300})
        b.customer("new", stage="awareness", features={"days_since_last_order": 90})
        segment_id = make(session, workspace_id, drift_threshold_pct=50).id
    with session_scope(db_settings) as session:
        segment = session.get(SegmentDefinition, segment_id)
        first = refresh(session, segment, now=T1)
        assert (first.previous_population, first.population) == (None, 2)
        assert (first.entered, first.exited, first.drift_alert) == (2, 0, False)
        assert members_of(session, segment_id) == {stay, leave}
        assert changes_of(session, first.run_id, "entered") == {stay, leave}
    with session_scope(db_settings) as session:  # leave comes back, later crosses 45 days
        session.execute(
            update(CustomerFeatures)
            .where(CustomerFeatures.customer_id == leave)
            .values(days_since_last_order=3)
        )
        session.execute(
            update(CustomerFeatures)
            .where(CustomerFeatures.customer_id == later)
            .values(days_since_last_order=45)
        )
        second = refresh(session, session.get(SegmentDefinition, segment_id), now=T2)
    with session_scope(db_settings) as session:
        assert (second.previous_population, second.population) == (2, 2)
        assert (second.entered, second.exited) == (1, 1)
        assert (second.drift_pct, second.drift_alert) == (0.0, False)
        assert changes_of(session, second.run_id, "entered") == {later}
        assert changes_of(session, second.run_id, "exited") == {leave}
        entered_at = dict(
            session.execute(
                select(SegmentMember.customer_id, SegmentMember.entered_at).where(
                    SegmentMember.segment_id == segment_id
                )
            ).all()
        )
        assert entered_at == {stay: T1, later: T2}, "members keep the time they entered"
        events = session.execute(
            select(DomainEvent.name, DomainEvent.customer_id, DomainEvent.payload).order_by(
                DomainEvent.id
            )
        ).all()
        assert [(e.name, e.customer_id, e.payload["change"]) for e in events[2:]] == [
            ("customer.segmented", later, "entered"),
            ("customer.segmented", leave, "exited"),
        ]
        assert events[2].payload == {
            "segment_id": segment_id,
            "segment": "Churn Risk",
            "change": "entered",
            "run_id": second.run_id,
        }
        runs = session.execute(
            select(SegmentRun.population, SegmentRun.entered, SegmentRun.exited, SegmentRun.as_of)
            .where(SegmentRun.segment_id == segment_id)
            .order_by(SegmentRun.computed_at)
        ).all()
        assert [tuple(r) for r in runs] == [(2, 2, 0, AS_OF), (2, 1, 1, AS_OF)]
        stored = session.get(SegmentDefinition, segment_id)
        assert (stored.population, stored.computed_at) == (2, T2)

    with session_scope(db_settings) as session:  # everyone but `stay` leaves: drift 50% > 50? no
        session.execute(
            update(CustomerFeatures)
            .where(CustomerFeatures.customer_id == later)
            .values(days_since_last_order=1)
        )
        third = refresh(session, session.get(SegmentDefinition, segment_id))
        assert (third.population, third.drift_pct, third.drift_alert) == (1, 50.0, False)
        session.execute(update(SegmentDefinition).values(drift_threshold_pct=10))
    with session_scope(db_settings) as session:  # then 1 -> 3 with a 10% threshold: alert
        session.execute(
            update(CustomerFeatures)
            .where(CustomerFeatures.customer_id.in_([leave, later]))
            .values(days_since_last_order=99)
        )
        fourth = refresh(session, session.get(SegmentDefinition, segment_id))
    with session_scope(db_settings) as session:
        assert (fourth.population, fourth.drift_pct, fourth.drift_alert) == (3, 200.0, True)
        alert = session.execute(
            select(DomainEvent.payload, DomainEvent.customer_id).where(
                DomainEvent.name == "segment.drift"
            )
        ).one()
        assert alert.customer_id is None
        assert alert.payload == {
            "segment_id": segment_id,
            "segment": "Churn Risk",
            "run_id": fourth.run_id,
            "previous_population": 1,
            "population": 3,
            "drift_pct": 200.0,
            "threshold_pct": 10.0,
        }
        stored_run = session.get(SegmentRun, fourth.run_id)
        assert (stored_run.drift_pct, stored_run.drift_alert) == (200.0, True)
        unchanged = refresh(session, session.get(SegmentDefinition, segment_id))
        assert (unchanged.entered, unchanged.exited, unchanged.drift_alert) == (0, 0, False)
        segmented = session.scalar(
            select(func.count()).where(DomainEvent.name == "customer.segmented")
        )
        assert segmented == 2 + 2 + 1 + 2, "one event per change, none for an unchanged run"


def test_members_equal_the_segment_query_on_a_varied_population(db_settings):  # noqa: F811
    workspace_id = new_workspace(db_settings)
    with session_scope(db_settings) as session:
        varied_population(Builder(session, workspace_id), 150, seed=9)
        segments.ensure_seed_segments(session, workspace_id)
    summaries = refresh_segments(db_settings, "shop")
    assert [s.segment for s in summaries] == [
        "Churn Risk",
        "Cross-Sell Opportunity",
        "High Discount Sensitivity",
        "New Customers",
        "VIP",
    ]
    with session_scope(db_settings) as session:
        for segment in segments.list_all(session, workspace_id):
            assert segment.channel == "email"
            expected = set(session.scalars(segment_query(workspace_id, segment.criteria, "email")))
            assert members_of(session, segment.id) == expected, segment.name
            assert segment.population == len(expected) > 0
        # a member merged into another profile leaves at the next refresh
        vip = segments.get_or_raise(session, workspace_id, "vip")
        gone = sorted(members_of(session, vip.id))[0]
        survivor = session.scalars(
            select(CustomerFeatures.customer_id).where(CustomerFeatures.customer_id != gone)
        ).first()
        from core.models import Customer

        session.execute(update(Customer).where(Customer.id == gone).values(merged_into=survivor))
    (summary,) = refresh_segments(db_settings, "shop", ["VIP"])
    with session_scope(db_settings) as session:
        assert gone in changes_of(session, summary.run_id, "exited")
        assert gone not in members_of(session, summary.segment_id)


def test_unsubscribed_customers_are_excluded_by_default(db_settings):  # noqa: F811
    workspace_id = new_workspace(db_settings)
    with session_scope(db_settings) as session:
        b = Builder(session, workspace_id)
        vip = {"r": 5, "f": 5, "m": 5}
        ok = b.customer("ok", rfm=vip, consents={"email": "granted", "sms": "revoked"})
        email_off = b.customer(
            "email-off", rfm=vip, consents={"email": "revoked", "sms": "granted"}
        )
        all_off = b.customer("all-off", rfm=vip, consents={"email": "revoked", "sms": "revoked"})
        silent = b.customer("silent", rfm=vip)
        ids = {
            name: make(session, workspace_id, name, {"rfm.composite": {"gte": 38}}, **options).id
            for name, options in {
                "email": {"channel": "email"},
                "email-all": {"channel": "email", "include_unsubscribed": True},
                "sms": {"channel": "sms"},
                "any": {},
                "any-all": {"include_unsubscribed": True},
            }.items()
        }
    refresh_segments(db_settings, "shop")
    with session_scope(db_settings) as session:
        got = {name: members_of(session, segment_id) for name, segment_id in ids.items()}
    everyone = {ok, email_off, all_off, silent}
    assert got == {
        "email": {ok, silent},
        "email-all": everyone,
        "sms": {email_off, silent},
        "any": {ok, email_off, silent},
        "any-all": everyone,
    }


def test_refresh_refuses_a_workspace_without_features(settings):
    workspace_id = new_workspace(settings)
    with session_scope(settings) as session:
        segment_id = make(session, workspace_id).id
    assert refresh_segments(settings, "shop")[0].population == 0, "no customers: nothing to do"
    with session_scope(settings) as session:
        Builder(session, workspace_id).customer("c1", no_features=True)
    with pytest.raises(Conflict) as caught:
        refresh_segments(settings, "shop")
    assert caught.value.one_line() == (
        "workspace: the workspace's customers have no features yet, so segments cannot be "
        "computed; run `mcopilot score run -w shop` first"
    )
    with session_scope(settings) as session:
        assert session.get(SegmentDefinition, segment_id).population == 0
        with pytest.raises(Conflict):
            segments.preview(session, workspace_id=workspace_id, criteria=CHURN)


def test_create_validates_names_options_and_the_quota(settings):
    assert settings.segment_quota == 100, "MCOPILOT_SEGMENT_QUOTA's default"
    workspace_id = new_workspace(settings)
    with session_scope(settings) as session:
        make(session, workspace_id, "VIP", {"rfm.composite": {"gte": 38}}, quota=2)
        for name, criteria, options, line in [
            (
                "vip",
                CHURN,
                {},
                "NAME: segment 'vip' exists already; pick another name, or "
                "delete it with `mcopilot segment delete vip -w shop`",
            ),
            ("  ", CHURN, {}, "NAME: the segment name is empty"),
            ("x" * 101, CHURN, {}, "NAME: at most 100 characters, got 101"),
            ("X", {"rfm.composit": 1}, {}, "criteria.rfm.composit: unknown field; did you mean"),
            ("X", CHURN, {"channel": "fax"}, "--channel: unknown channel 'fax'"),
            ("X", CHURN, {"drift_threshold_pct": -1}, "--drift-threshold: must be a percentage"),
            ("X", CHURN, {"description": "d" * 501}, "--description: at most 500 characters"),
        ]:
            with pytest.raises((InvalidInput, Conflict)) as caught:
                make(session, workspace_id, name, criteria, quota=2, **options)
            assert caught.value.one_line().startswith(line), caught.value.one_line()
        make(session, workspace_id, "Churn  Risk ", quota=2)
        with pytest.raises(Conflict) as caught:
            make(session, workspace_id, "Third", quota=2)
        assert caught.value.one_line() == (
            "segment: the workspace has 2 segments and its quota is 2; delete one with "
            "`mcopilot segment delete NAME -w shop`, or raise MCOPILOT_SEGMENT_QUOTA"
        )
        assert [s.name for s in segments.list_all(session, workspace_id)] == ["Churn Risk", "VIP"]
        with pytest.raises(Conflict):
            segments.ensure_seed_segments(session, workspace_id, quota=2)


def test_seed_segments_get_delete_and_members(settings):
    workspace_id = new_workspace(settings)
    with session_scope(settings) as session:
        b = Builder(session, workspace_id)
        first = b.customer("a", rfm={"r": 5, "f": 5, "m": 5})
        b.customer("b", rfm={"r": 1, "f": 1, "m": 1})
        created = segments.ensure_seed_segments(session, workspace_id)
        assert len(created) == 5 and segments.ensure_seed_segments(session, workspace_id) == []
        vip = segments.get_or_raise(session, workspace_id, " vip ")
        assert vip.name == "VIP" and vip.criteria == {"rfm.composite": {"gte": 38}}
        refresh(session, vip)
        assert [m.customer.label for m in segments.members(session, vip, limit=10)] == ["a"]
        assert segments.members(session, vip)[0].customer.id == first
        segments.delete(session, vip)
    with session_scope(settings) as session:
        assert session.scalar(select(func.count()).select_from(SegmentMember)) == 0
        assert session.scalar(select(func.count()).select_from(SegmentRun)) == 0
        with pytest.raises(NotFound) as caught:
            segments.get_or_raise(session, workspace_id, "VIP")
        assert caught.value.one_line() == (
            "NAME: no segment 'VIP' in this workspace; see `mcopilot segment list -w shop`"
        )


def test_preview_counts_samples_and_warns_without_saving(db_settings):  # noqa: F811
    workspace_id = new_workspace(db_settings)
    with session_scope(db_settings) as session:
        b = Builder(session, workspace_id)
        for i in range(5):
            b.customer(f"c{i}", categories={"Accessories": i % 2 == 0, "Hardware": True})
        b.customer("unscored", no_features=True)
    with session_scope(db_settings) as session:
        result = segments.preview(
            session,
            workspace_id=workspace_id,
            criteria={"categories.lastOrderMissing": "Accessories", "rfm.r": {"exists": False}},
            limit=1,
        )
        assert (result.population, result.active_customers) == (2, 6)
        assert [c.label for c in result.sample] == ["c1"]
        assert result.warnings == [
            "1 active customer has no features yet, so their feature values are missing; "
            "run `mcopilot score run -w shop`",
            "no RFM snapshot as of 2026-10-31 (the features' day), so rfm.* values are missing; "
            "run `mcopilot score rfm -w shop --as-of 2026-10-31`",
        ]
        typo = segments.preview(
            session, workspace_id=workspace_id, criteria={"categories.purchased": "accessories"}
        )
        assert typo.population == 0
        assert typo.warnings[-1] == (
            "no customer bought a category named 'accessories' (names match exactly; known: "
            "Accessories, Hardware)"
        )
        assert session.scalar(select(func.count()).select_from(SegmentDefinition)) == 0
        with pytest.raises(InvalidInput, match="must be between 1 and 10000, got 0"):
            segments.preview(session, workspace_id=workspace_id, criteria=CHURN, limit=0)


def test_explain_goes_criterion_by_criterion_and_checks_the_stored_membership(db_settings):  # noqa: F811
    workspace_id = new_workspace(db_settings)
    with session_scope(db_settings) as session:
        b = Builder(session, workspace_id)
        inside = b.customer(
            "U1",
            email="Ann@Example.com",
            stage="retention",
            features={"days_since_last_order": 50},
            consents={"email": "granted"},
        )
        b.customer(
            "U2",
            stage="retention",
            features={"days_since_last_order": 50},
            consents={"email": "revoked"},
        )
        b.customer("U3", stage="awareness", features={"days_since_last_order": 3})
        old = b.customer("U4-old", merged_into=inside, no_features=True)
        segment = make(session, workspace_id, channel="email")
        refresh(session, segment)
    with session_scope(db_settings) as session:
        segment = segments.get_or_raise(session, workspace_id, "Churn Risk")
        for ref in ("U1", "ann@example.com", inside, old):
            result = segments.explain(session, segment, ref)
            assert result.customer.id == inside and result.in_segment and result.agrees
        assert segments.explain(session, segment, old).resolved_from == old
        result = segments.explain(session, segment, "U1")
        assert [(c.label, c.actual, c.passed) for _, c in result.check.flatten()] == [
            ("all of", None, True),
            ('lifecycle.stage eq "ACTIVE"', "retention", True),
            ("daysSinceLastOrder gte 45", 50, True),
        ]
        unsubscribed = segments.explain(session, segment, "U2")
        assert unsubscribed.check.passed and not unsubscribed.in_segment
        assert unsubscribed.excluded == "unsubscribed from email (consent.email is revoked)"
        assert unsubscribed.agrees is True
        out = segments.explain(session, segment, "U3")
        assert not out.check.passed and out.member_since is None and out.agrees
        session.execute(
            update(CustomerFeatures)
            .where(CustomerFeatures.customer_id == inside)
            .values(days_since_last_order=1)
        )
        stale = segments.explain(session, segment, "U1")
        assert not stale.in_segment and stale.member_since is not None and stale.agrees is False
        assert "run `mcopilot segment refresh`" in stale.notes[-1]
        with pytest.raises(NotFound) as caught:
            segments.explain(session, segment, "nobody")
        assert caught.value.one_line() == (
            "CUSTOMER: no customer 'nobody' in this workspace; pass the customer's userId, "
            "email or id"
        )
