"""Profile traits in the segment language (`traits.<name>`): typed by the operand, and the SQL
(json_extract on SQLite, ->> with a type check on PostgreSQL) selects exactly the customers
the Python evaluation passes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.errors import InvalidInput
from core.models import Customer
from scoring.criteria import parse_criteria
from scoring.criteria_eval import evaluate, in_segment
from scoring.criteria_sql import load_field_values, segment_query
from tests.scoring.segment_fixtures import (
    Builder,
    db_settings,  # noqa: F401 - fixture
    new_workspace,
)

TRAITS = [
    {"adoption_score": 85, "csat": 9, "plan": "pro", "enterprise": False},
    {"adoption_score": 70, "csat": 7.5, "plan": "team", "enterprise": True},
    {"adoption_score": 71.5, "csat": "8", "plan": "pro"},  # csat as text: not a number
    {"adoption_score": "high", "csat": None, "plan": 3},  # wrong JSON types everywhere
    {"adoption_score": 12, "csat": 10, "enterprise": "yes", "nested": {"a": 1}},
    {"adoption_score": True, "csat": 0, "plan": "", "tags": ["a"]},
    {},
    {"adoption_score": -5, "csat": 8, "plan": "Pro"},
    {"adoption_score": 1e6, "csat": 6.999, "missing": 0},
]
CRITERIA = [
    {"traits.adoption_score": {"gt": 70}},
    {"traits.adoption_score": {"lte": 70}},
    {"not": {"traits.adoption_score": {"gt": 70}}},
    {"traits.adoption_score": {"exists": True}},
    {"traits.adoption_score": {"gte": 0, "lt": 100}},
    {"traits.csat": {"gte": 8}},
    {"traits.csat": {"lt": 7}},
    {"traits.csat": {"exists": False}},
    {"traits.csat": "8"},
    {"traits.csat": {"in": [7.5, 10]}},
    {"traits.csat": {"not_in": [9, 10]}},
    {"traits.plan": "pro"},
    {"traits.plan": ["pro", "team"]},
    {"traits.plan": {"ne": "pro"}},
    {"traits.enterprise": True},
    {"traits.enterprise": {"ne": True}},
    {"traits.enterprise": {"exists": True}},
    {"traits.nested": {"exists": True}},
    {"traits.tags": {"exists": True}},
    {"traits.missing": {"exists": False}},
    {"any": [{"traits.csat": {"gte": 8}}, {"traits.plan": "team"}], "orders.count": {"gte": 0}},
]


def test_traits_are_typed_by_what_they_are_compared_with():
    number = parse_criteria({"traits.csat": {"gte": 8}})
    assert (number.field, number.test, number.operand) == ("traits.csat", "gte", 8)
    text = parse_criteria({"traits.plan": ["pro", "team"]})
    assert (text.test, text.operand) == ("in", ("pro", "team"))
    values = {"traits.csat": "9", "traits.plan": "pro"}
    assert not evaluate(number, values).passed, "text '9' is not the number 9"
    assert evaluate(text, values).passed
    assert evaluate(number, {"traits.csat": 9}).actual == 9


@pytest.mark.parametrize(
    ("criteria", "words"),
    [
        ({"traits.a-b": 1}, "bad trait name"),
        ({"traits.company.size": 1}, "bad trait name"),
        ({"traits.": 1}, "bad trait name"),
        ({"traits.plan": {"gt": "pro"}}, "unknown operator"),
        ({"traits.csat": {"gtee": 8}}, "did you mean gte"),
        ({"traits.csat": {"in": [1, "2"]}}, "one kind"),
        ({"traits.csat": {"eq": {"a": 1}}}, "one kind"),
        ({"traits.csat": None}, "null is not a value"),
        ({"traits.csat": {"in": []}}, "non-empty list"),
        ({"traits.csat": {"exists": "yes"}}, "true or false"),
        ({"traits.csat": {}}, "no operator"),
        ({"traitz.csat": 1}, "traits.<name>"),
    ],
)
def test_bad_trait_criteria_are_named(criteria, words):
    with pytest.raises(InvalidInput) as caught:
        parse_criteria(criteria)
    assert words in f"{caught.value} {caught.value.fix}", (str(caught.value), caught.value.fix)
    assert caught.value.field and caught.value.field.startswith("criteria.trait")


def test_sql_and_python_agree_on_traits(db_settings):  # noqa: F811
    workspace_id = new_workspace(db_settings)
    other = new_workspace(db_settings, "other")
    with session_scope(db_settings) as session:
        builder = Builder(session, workspace_id)
        for traits in TRAITS:
            builder.customer(traits=traits)
        Builder(session, other).customer(traits={"csat": 10, "plan": "pro"})
    with session_scope(db_settings) as session:
        ids = list(
            session.scalars(select(Customer.id).where(Customer.workspace_id == workspace_id))
        )
        values = {cid: load_field_values(session, workspace_id, cid) for cid in ids}
        sizes = []
        for criteria in CRITERIA:
            criterion = parse_criteria(criteria)
            got = set(session.scalars(segment_query(workspace_id, criterion)))
            expected = {cid for cid in ids if in_segment(criterion, values[cid])}
            assert got == expected, (criteria, got ^ expected)
            sizes.append(len(got))
    trivial = [c for c, n in zip(CRITERIA, sizes, strict=True) if n in (0, len(ids))]
    assert not trivial, f"criteria that select nobody or everybody test nothing: {trivial}"
    adoption = parse_criteria({"traits.adoption_score": {"gt": 70}})
    with session_scope(db_settings) as session:
        picked = set(session.scalars(segment_query(workspace_id, adoption)))
    scores = sorted(values[cid]["traits.adoption_score"] for cid in picked)
    assert scores == [71.5, 85, 1e6]
