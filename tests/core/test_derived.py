"""Derived scoring rows have no foreign keys: deleting customers or a workspace deletes them
explicitly, and every table that scores customers without a key is in the list."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import ForeignKey, func, select

from core import workspaces
from core.db import session_scope
from core.derived import DERIVED, LOGS, RUNS, delete_derived_rows
from core.models import Base, Customer, RfmRun, SegmentDefinition, SegmentRun
from core.settings import Settings
from scoring.demo_loader import generate_into
from scoring.score_run import run_scores
from scoring.segments import delete as delete_segment
from scoring.segments import ensure_seed_segments

END = datetime(2026, 10, 2, tzinfo=UTC)
AS_OF = date(2026, 10, 1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scored(request, tmp_path) -> Settings:
    """Two workspaces with demo data, every score and the seed segments computed."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    for slug, seed in (("shop", 3), ("other", 4)):
        generate_into(
            settings, slug, customers=120, orders=1500, seed=seed, end=END, create_workspace=True
        )
        with session_scope(settings) as session:
            workspace_id = workspaces.get_or_raise(session, slug).id
            ensure_seed_segments(session, workspace_id)
            run_scores(session, workspace_id, AS_OF)
    return settings


def derived_counts(settings: Settings, slug: str) -> dict[str, int]:
    with session_scope(settings) as session:
        workspace_id = workspaces.get_or_raise(session, slug).id
        return {
            model.__tablename__: session.scalar(
                select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
            )
            for model in (*DERIVED, *RUNS)
        }


def test_every_customer_keyed_table_without_a_key_is_derived():
    """A new table scoring customers without a foreign key must be deleted with them."""

    def keyed(table) -> bool:
        return "customer_id" in table.c and any(
            isinstance(fk, ForeignKey) and fk.column.table.name == "customers"
            for fk in table.c.customer_id.foreign_keys
        )

    def cascaded(table) -> bool:
        """Its rows go with a parent row that goes with the customer (journey tasks)."""
        return any(
            fk.ondelete == "CASCADE" and keyed(fk.column.table)
            for column in table.c
            for fk in column.foreign_keys
        )

    unkeyed = {
        table.name
        for table in Base.metadata.sorted_tables
        if "customer_id" in table.c and not keyed(table) and not cascaded(table)
    }
    assert unkeyed == {model.__tablename__ for model in (*DERIVED, *LOGS)}


def test_replacing_the_customer_data_leaves_no_derived_rows(scored):
    before = derived_counts(scored, "shop")
    assert all(before[m.__tablename__] for m in DERIVED), before  # scored: every table has rows
    other = derived_counts(scored, "other")
    generate_into(scored, "shop", customers=50, orders=400, seed=9, end=END, replace=True)
    assert not any(derived_counts(scored, "shop").values())
    assert derived_counts(scored, "other") == other, "another workspace keeps its rows"


def test_deleting_a_workspace_leaves_no_derived_rows(scored):
    other = derived_counts(scored, "other")
    with session_scope(scored) as session:
        shop = workspaces.get_or_raise(session, "shop")
        shop_id = shop.id
        workspaces.delete(session, shop)
    with session_scope(scored) as session:
        assert workspaces.get(session, "shop") is None
        for model in (*DERIVED, *RUNS, Customer, SegmentDefinition, SegmentRun):
            left = session.scalar(
                select(func.count()).select_from(model).where(model.workspace_id == shop_id)
            )
            assert left == 0, model.__tablename__
    assert derived_counts(scored, "other") == other


def test_deleting_some_customers_rows_keeps_the_rest(scored):
    with session_scope(scored) as session:
        workspace_id = workspaces.get_or_raise(session, "shop").id
        other_id = workspaces.get_or_raise(session, "other").id
        some = (
            select(Customer.id)
            .where(Customer.workspace_id == workspace_id)
            .order_by(Customer.id)
            .limit(10)
        )
        ids = list(session.scalars(some))
        deleted = delete_derived_rows(
            session, workspace_id, select(Customer.id).where(Customer.id.in_(ids))
        )
        assert deleted > 0
    with session_scope(scored) as session:
        for model in DERIVED:
            assert not session.scalar(
                select(func.count()).select_from(model).where(model.customer_id.in_(ids))
            ), model.__tablename__
        runs = session.scalars(select(RfmRun.workspace_id)).all()
        assert runs == [other_id], "the workspace's snapshots are no longer whole bases"
    assert all(derived_counts(scored, "shop")[m.__tablename__] for m in DERIVED[:6])


def test_deleting_a_segment_deletes_its_members_and_changes(scored):
    from core.models import SegmentChange, SegmentMember

    with session_scope(scored) as session:
        workspace_id = workspaces.get_or_raise(session, "shop").id
        segment = session.scalars(
            select(SegmentDefinition).where(
                SegmentDefinition.workspace_id == workspace_id,
                SegmentDefinition.population > 0,
            )
        ).first()
        segment_id = segment.id
        delete_segment(session, segment)
    with session_scope(scored) as session:
        for model in (SegmentMember, SegmentChange, SegmentRun):
            assert not session.scalar(
                select(func.count()).select_from(model).where(model.segment_id == segment_id)
            ), model.__tablename__
        assert session.scalar(select(func.count()).select_from(SegmentMember)) > 0
