"""Policy versions in the database on SQLite and PostgreSQL: apply, reactivate, isolate, cite."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import members, workspaces
from core.db import session_scope
from core.errors import InvalidInput
from core.models import BrandPolicyVersion
from core.settings import Settings
from guardrails.content_check import check_asset
from guardrails.copy_asset import CopyAsset
from guardrails.policy import parse_policy
from guardrails.policy_service import apply_policy_file, show_policy
from guardrails.policy_store import active_policy, apply_policy
from knowledge import DEMO_POLICY_FILE

ONE = {"avoid": [{"id": "avoid.cheap", "phrase": "cheap", "source": "manual"}]}
TWO = {"banned_claims": [{"id": "claim.rf", "phrase": "risk-free", "source": "manual"}]}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path) -> Settings:
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path / "data")
    return Settings(data_dir=tmp_path, database_url=request.getfixturevalue("postgres_url"))


def test_apply_activates_one_version_and_reapplying_reactivates(db):
    with session_scope(db) as session:
        acme = workspaces.create(session, "acme").id
        other = workspaces.create(session, "other").id
    with session_scope(db) as session:
        first = apply_policy(session, acme, parse_policy(ONE), created_by="ann")
        second = apply_policy(session, acme, parse_policy(TWO))
        apply_policy(session, other, parse_policy(ONE))
    with session_scope(db) as session:
        assert active_policy(session, acme).version == second.version
        again = apply_policy(session, acme, parse_policy(ONE))
    assert first.new and second.new and not again.new and again.version == first.version
    with session_scope(db) as session:
        rows = session.scalars(select(BrandPolicyVersion).order_by(BrandPolicyVersion.id)).all()
        assert [(r.workspace_id == acme, r.active) for r in rows] == [
            (True, True),
            (True, False),
            (False, True),
        ]
        asset = CopyAsset(channel="push", title="Hi", body="Try it risk-free, it is cheap")
        assert [f.rule_id for f in check_asset(session, acme, asset).findings] == ["avoid.cheap"]
        assert (
            check_asset(session, workspaces.create(session, "bare").id, asset).policy_version
            == "none"
        )


def test_a_failed_apply_leaves_the_active_version_alone(db):
    with session_scope(db) as session:
        acme = workspaces.create(session, "acme").id
        apply_policy(session, acme, parse_policy(ONE))
    cited = {
        "avoid": [
            {
                "id": "avoid.x",
                "phrase": "x y",
                "quote": "- x y",
                "source": "[Doc › Words #chk_0123456789abcdef]",
            }
        ]
    }
    with pytest.raises(InvalidInput) as caught, session_scope(db) as session:
        apply_policy(session, acme, parse_policy(cited))
    assert caught.value.field == "policy.avoid[0].source"
    with session_scope(db) as session:
        assert active_policy(session, acme).policy.avoid[0].id == "avoid.cheap"
        assert session.scalar(select(func.count()).select_from(BrandPolicyVersion)) == 1


def test_the_demo_policy_re_anchors_its_citations_in_the_demo_workspace(demo_settings):
    with session_scope(demo_settings) as session:
        members.ensure_demo_team(session, workspaces.get_or_raise(session, "demo"))
    stored = apply_policy_file(demo_settings, "demo", DEMO_POLICY_FILE, created_by="admin")
    shown = show_policy(demo_settings, "demo")
    assert shown.version == stored.version
    from retrieval.citations import parse_citations

    with session_scope(demo_settings) as session:
        demo_id = workspaces.get_or_raise(session, "demo").id
        from core.models import Chunk

        cited = {c.chunk_id for _, r in shown.policy.rules() for c in parse_citations(r.source)}
        held = set(
            session.scalars(
                select(Chunk.id).where(Chunk.workspace_id == demo_id, Chunk.id.in_(cited))
            )
        )
    assert cited and cited == held
