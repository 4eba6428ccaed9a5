"""Roles in a workspace and the pure check every command and endpoint uses before acting.

marketer < reviewer < admin: each role may do everything the roles below it may.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal

from core.errors import InvalidInput, PermissionDenied
from core.models import ROLES

Role = Literal["marketer", "reviewer", "admin"]


@dataclass(frozen=True, slots=True)
class Member:
    """A user acting in one workspace with one role."""

    workspace_id: str
    workspace_slug: str
    user_id: str
    handle: str
    role: Role


def validate_role(role: str, *, field: str = "--role") -> Role:
    """The role if it is one of marketer, reviewer, admin (any case); InvalidInput otherwise."""
    wanted = (role or "").strip().lower()
    if wanted not in ROLES:
        raise InvalidInput(
            f"unknown role {role!r}", field=field, fix=f"use one of {', '.join(ROLES)}"
        )
    return wanted  # type: ignore[return-value]


def rank(role: str) -> int:
    """0 for marketer, 1 for reviewer, 2 for admin."""
    return ROLES.index(role)


def has_role(member: Member, needed: Role) -> bool:
    """True when the member's role is `needed` or above it."""
    return rank(member.role) >= rank(needed)


def require_role(member: Member, needed: Role, *, to: str = "do this") -> Member:
    """The member if their role is `needed` or higher; PermissionDenied naming the role
    needed and how to grant it otherwise. `to` says what they tried: "approve items"."""
    if has_role(member, needed):
        return member
    allowed = " and ".join(f"{role}s" for role in ROLES[rank(needed) :])
    article = "an" if member.role[0] in "aeiou" else "a"
    raise PermissionDenied(
        f"{member.handle} is {article} {member.role} in workspace {member.workspace_slug!r}, "
        f"and only {allowed} may {to}",
        field="--as",
        fix=f"act as a {needed}, or have an admin run `mcopilot workspace member add "
        f"{shlex.quote(member.handle)} --role {needed} --workspace {member.workspace_slug}`",
    )
