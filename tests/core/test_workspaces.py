"""Workspaces: names validated, duplicates refused, unknown ones explained."""

from __future__ import annotations

import pytest

from core import workspaces
from core.db import session_scope
from core.errors import Conflict, InvalidInput, NotFound


def test_create_get_and_list(settings):
    with session_scope(settings) as session:
        created = workspaces.create(session, "acme", name="Acme Inc")
        assert created.id.startswith("ws_") and created.index_version == 0
    with session_scope(settings) as session:
        assert workspaces.get_or_raise(session, "acme").name == "Acme Inc"
        assert workspaces.get_or_create(session, "acme")[1] is False
        assert workspaces.get_or_create(session, "globex")[1] is True
        assert [w.slug for w in workspaces.list_all(session)] == ["acme", "globex"]


def test_duplicate_is_a_conflict(settings):
    with session_scope(settings) as session:
        workspaces.create(session, "acme")
    with pytest.raises(Conflict, match="exists already"), session_scope(settings) as session:
        workspaces.create(session, "acme")


@pytest.mark.parametrize("slug", ["", "a", "Acme", "-acme", "a b", "x" * 64, "acme/../b"])
def test_bad_names_are_refused_with_the_rule(settings, slug):
    with pytest.raises(InvalidInput) as caught, session_scope(settings) as session:
        workspaces.create(session, slug)
    assert caught.value.field == "workspace"
    assert "a-z, 0-9" in caught.value.fix


def test_unknown_workspace_says_how_to_create_it(settings):
    with pytest.raises(NotFound) as caught, session_scope(settings) as session:
        workspaces.get_or_raise(session, "ghost")
    assert "mcopilot workspace create ghost" in caught.value.one_line()


def test_bump_index_version(settings):
    with session_scope(settings) as session:
        workspace = workspaces.create(session, "acme")
        assert workspaces.bump_index_version(session, workspace.id) == 1
        assert workspaces.bump_index_version(session, workspace.id) == 2
