"""Workspace members on SQLite and PostgreSQL: bootstrap, admin-only changes, the last admin,
resolving `--as`, and isolation between workspaces."""

from __future__ import annotations

import pytest

from core import members, workspaces
from core.db import session_scope
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.settings import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_settings(request, tmp_path) -> Settings:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return Settings(data_dir=tmp_path / "data", database_url=url)


def test_bootstrap_then_only_an_admin_changes_membership(db_settings):
    with session_scope(db_settings) as session:
        ws = workspaces.create(session, "acme")
        mia, before = members.add(session, ws, "Mia", role="marketer", actor=None)
        assert (mia.handle, mia.role, before) == ("mia", "marketer", None)
        root, _ = members.add(session, ws, "root", role="admin", actor=None, name="Root")
    with session_scope(db_settings) as session:
        ws = workspaces.get_or_raise(session, "acme")
        with pytest.raises(PermissionDenied) as caught:
            members.add(session, ws, "eve", role="admin", actor=None)
        assert caught.value.field == "--as"
    with session_scope(db_settings) as session:
        ws = workspaces.get_or_raise(session, "acme")
        with pytest.raises(PermissionDenied) as caught:
            members.add(session, ws, "eve", role="admin", actor=mia)
        assert "only admins may change membership" in caught.value.message
    with session_scope(db_settings) as session:
        ws = workspaces.get_or_raise(session, "acme")
        changed, before = members.add(session, ws, "mia", role="reviewer", actor=root)
        assert (changed.role, before) == ("reviewer", "marketer")
        assert [(m.handle, m.role) for m in members.list_members(session, ws)] == [
            ("mia", "reviewer"),
            ("root", "admin"),
        ]


def test_the_last_admin_can_be_neither_removed_nor_demoted(db_settings):
    with session_scope(db_settings) as session:
        ws = workspaces.create(session, "acme")
        root, _ = members.add(session, ws, "root", role="admin", actor=None)
        with pytest.raises(Conflict, match="last admin"):
            members.remove(session, ws, "root", actor=root)
        with pytest.raises(Conflict, match="last admin"):
            members.add(session, ws, "root", role="reviewer", actor=root)
        second, _ = members.add(session, ws, "ada", role="admin", actor=root)
        assert members.remove(session, ws, "root", actor=second) == "admin"
        assert [m.handle for m in members.list_members(session, ws)] == ["ada"]


def test_resolve_names_the_fix_and_membership_does_not_cross_workspaces(db_settings):
    with session_scope(db_settings) as session:
        acme = workspaces.create(session, "acme")
        other = workspaces.create(session, "other")
        members.add(session, acme, "mia", role="reviewer", actor=None)
        assert members.resolve(session, acme, "MIA").role == "reviewer"
        with pytest.raises(NotFound) as caught:
            members.resolve(session, other, "mia")
        assert caught.value.one_line() == (
            "--as: 'mia' is not a member of workspace 'other'; see `mcopilot workspace member "
            "list --workspace other`, or have an admin run `mcopilot workspace member add mia "
            "--role ROLE --workspace other`"
        )
        with pytest.raises(NotFound, match="not a known user"):
            members.resolve(session, acme, "ghost")
        with pytest.raises(InvalidInput) as bad:
            members.resolve(session, acme, "no spaces")
        assert bad.value.field == "--as"
        assert members.list_members(session, other) == []
        with pytest.raises(NotFound):
            members.remove(session, other, "mia", actor=None)
