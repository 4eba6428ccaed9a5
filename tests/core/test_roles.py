"""The pure role check: marketer < reviewer < admin, and an error naming the role needed."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, PermissionDenied
from core.roles import Member, has_role, require_role, validate_role


def member(role: str) -> Member:
    return Member("ws_1", "acme", "usr_1", "ana", role)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        ("marketer", "marketer", True),
        ("marketer", "reviewer", False),
        ("marketer", "admin", False),
        ("reviewer", "marketer", True),
        ("reviewer", "reviewer", True),
        ("reviewer", "admin", False),
        ("admin", "reviewer", True),
        ("admin", "admin", True),
    ],
)
def test_each_role_may_do_what_the_roles_below_it_may(role, needed, allowed):
    assert has_role(member(role), needed) is allowed
    if allowed:
        assert require_role(member(role), needed) == member(role)
    else:
        with pytest.raises(PermissionDenied):
            require_role(member(role), needed)


def test_the_refusal_names_the_role_needed_and_how_to_grant_it():
    with pytest.raises(PermissionDenied) as caught:
        require_role(member("marketer"), "reviewer", to="approve items")
    assert caught.value.field == "--as"
    assert caught.value.status_code == 403
    assert caught.value.one_line() == (
        "--as: ana is a marketer in workspace 'acme', and only reviewers and admins may "
        "approve items; act as a reviewer, or have an admin run `mcopilot workspace member "
        "add ana --role reviewer --workspace acme`"
    )


def test_validate_role_accepts_any_case_and_names_the_choices():
    assert validate_role(" Reviewer ") == "reviewer"
    with pytest.raises(InvalidInput) as caught:
        validate_role("owner")
    assert (
        caught.value.one_line()
        == "--role: unknown role 'owner'; use one of marketer, reviewer, admin"
    )
