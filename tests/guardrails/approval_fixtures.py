"""Approval test data: a workspace with an admin, a marketer and two reviewers, and an asset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import members, workspaces
from core.db import session_scope
from core.roles import Member
from core.settings import Settings
from guardrails.approval_requests import ApprovalRequest, parse_request
from guardrails.approval_rules import ApprovalPolicy

POLICY = ApprovalPolicy()


@dataclass(frozen=True)
class Team:
    settings: Settings
    workspace_id: str
    admin: Member
    marketer: Member
    reviewer: Member
    reviewer2: Member


def make_team(settings: Settings, slug: str = "acme") -> Team:
    with session_scope(settings) as session:
        ws = workspaces.create(session, slug)
        admin, _ = members.add(session, ws, "root", role="admin", actor=None)
        marketer, _ = members.add(session, ws, "mia", role="marketer", actor=admin)
        reviewer, _ = members.add(session, ws, "rev1", role="reviewer", actor=admin)
        reviewer2, _ = members.add(session, ws, "rev2", role="reviewer", actor=admin)
        return Team(settings, ws.id, admin, marketer, reviewer, reviewer2)


def asset(**overrides: Any) -> ApprovalRequest:
    """An email asset; overrides win."""
    data: dict[str, Any] = {
        "kind": "asset",
        "title": "Spring email",
        "content": {"channel": "email", "subject": "Spring is here", "body": "Hello {{name}}"},
    }
    data.update(overrides)
    return parse_request(data)
