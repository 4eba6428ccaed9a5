"""The segment language: parsing, type checks, errors that name the path, and the Python
evaluation of one customer's values."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from scoring.criteria import (
    MAX_DEPTH,
    AllOf,
    AnyOf,
    Condition,
    Not,
    conditions,
    fields_used,
    load_criteria_json,
    parse_criteria,
)
from scoring.criteria_eval import evaluate, in_segment, matches, unsubscribed
from scoring.segment_fields import ACTIVE_STAGES, FIELDS, FieldType

SEED = {
    "VIP": {"rfm.composite": {"gte": 38}},
    "Churn Risk": {"lifecycle.stage": "ACTIVE", "daysSinceLastOrder": {"gte": 45}},
    "New Customers": {"orders.count": {"lte": 1}, "daysSinceFirstOrder": {"lte": 14}},
    "High Discount Sensitivity": {"promotions.redeemedRatio": {"gte": 0.5}},
    "Cross-Sell Opportunity": {"categories.lastOrderMissing": ["Accessories"]},
}


def test_the_seed_examples_parse():
    vip = parse_criteria(SEED["VIP"])
    assert vip == Condition("criteria.rfm.composite.gte", "rfm.composite", "gte", 38, "gte", 38)
    churn = parse_criteria(SEED["Churn Risk"])
    assert isinstance(churn, AllOf) and churn.path == "criteria"
    stage, days = churn.items
    assert (stage.test, stage.operand, stage.expected) == ("in", ACTIVE_STAGES, "ACTIVE")
    assert (days.field, days.test, days.operand) == ("daysSinceLastOrder", "gte", 45)
    cross = parse_criteria(SEED["Cross-Sell Opportunity"])
    assert (cross.test, cross.operand) == ("in", ("Accessories",))
    assert fields_used(parse_criteria(SEED["New Customers"])) == {
        "orders.count",
        "daysSinceFirstOrder",
    }


def test_values_are_normalized():
    money = parse_criteria({"orders.averageValue": {"gte": 49.99, "lt": 100}})
    assert [c.operand for c in conditions(money)] == [4999, 10000]
    assert [c.path for c in conditions(money)] == [
        "criteria.orders.averageValue.gte",
        "criteria.orders.averageValue.lt",
    ]
    at_risk = parse_criteria({"lifecycle.stage": {"in": ["At-Risk", "at risk", "CHURNED"]}})
    assert at_risk.operand == ("at_risk", "churned")
    not_active = parse_criteria({"lifecycle.stage": {"ne": "active"}})
    assert (not_active.op, not_active.test, not_active.operand) == ("ne", "not_in", ACTIVE_STAGES)
    channel = parse_criteria({"channel.preferred": "In-App"})
    assert channel.operand == ("in_app",)
    whole = parse_criteria({"orders.count": {"in": [1, 2.0, 1]}})
    assert whole.operand == (1, 2) and isinstance(whole.operand[1], int)
    bought = parse_criteria({"categories.purchased": {"ne": "Hardware"}})
    assert (bought.test, bought.operand) == ("not_in", ("Hardware",))
    nested = parse_criteria({"any": [{"not": {"rfm.r": 5}}, {"all": [{"rfm.f": 1}]}]})
    assert isinstance(nested, AnyOf) and isinstance(nested.items[0], Not)
    assert nested.items[0].item.path == "criteria.any[0].not.rfm.r"


ALLOWED_PREFIX = "(allowed: all, any, not, rfm.recency_days, rfm.frequency"


@pytest.mark.parametrize(
    ("criteria", "line"),
    [
        (
            {"any": [{"rfm.r": 1}, {"rfm.composit": 3}]},
            "criteria.any[1].rfm.composit: unknown field; did you mean rfm.composite? "
            + ALLOWED_PREFIX,
        ),
        (
            {"DaysSinceLastOrder": 3},
            "criteria.DaysSinceLastOrder: unknown field; did you mean "
            "daysSinceLastOrder? " + ALLOWED_PREFIX,
        ),
        (
            {"rfm.composite": {"gte": "high"}},
            'criteria.rfm.composite.gte: must be a number, got "high"',
        ),
        (
            {"orders.count": {"gte": 1.5}},
            "criteria.orders.count.gte: must be a whole number, got 1.5",
        ),
        ({"orders.count": {"gte": True}}, "criteria.orders.count.gte: must be a number, got true"),
        (
            {"rfm.composite": {"gtee": 3}},
            "criteria.rfm.composite.gtee: unknown operator for rfm.composite (int); did you mean "
            "gte? (allowed: eq, ne, gt, gte, lt, lte, in, not_in, exists)",
        ),
        (
            {"lifecycle.stage": "actve"},
            'criteria.lifecycle.stage: unknown value "actve" for lifecycle.stage; did you mean '
            "active? (allowed: active (= activation|retention|expansion|advocacy|at_risk), "
            "awareness, consideration, activation, retention, expansion, advocacy, at_risk, "
            "churned)",
        ),
        (
            {"lifecycle.stage": {"gt": "active"}},
            "criteria.lifecycle.stage.gt: unknown operator for lifecycle.stage (enum); "
            "(allowed: eq, ne, in, not_in, exists)",
        ),
        (
            {"categories.lastOrderMissing": {"not_in": ["Accessories"]}},
            "criteria.categories.lastOrderMissing.not_in: unknown operator for "
            "categories.lastOrderMissing (category set); (allowed: eq, in)",
        ),
        (
            {"churn.risk": {"gte": 50}},
            "criteria.churn.risk.gte: must be between 0 and 1 (0-1), got 50",
        ),
        ({"rfm.r": 0}, "criteria.rfm.r: must be between 1 and 5 (1-5), got 0"),
        (
            {"orders.count": {"gte": -1}},
            "criteria.orders.count.gte: must be at least 0 (orders), got -1",
        ),
        (
            {"spend.lifetime": {"gte": 10.005}},
            "criteria.spend.lifetime.gte: must be an amount in currency units with at most 2 "
            "decimals, got 10.005",
        ),
        (
            {"rfm.composite": None},
            "criteria.rfm.composite: null is not a value; to match a missing value use "
            '{"exists": false}',
        ),
        (
            {"rfm.composite": {"in": []}},
            "criteria.rfm.composite.in: must be a non-empty list of whole numbers, got []",
        ),
        ({"rfm.composite": [1, "x"]}, 'criteria.rfm.composite[1]: must be a number, got "x"'),
        (
            {"rfm.composite": {"not_in": [1, "x"]}},
            'criteria.rfm.composite.not_in[1]: must be a number, got "x"',
        ),
        ({"all": []}, "criteria.all: must be a non-empty list of criteria objects, got []"),
        (
            {"any": {"rfm.r": 1}},
            'criteria.any: must be a non-empty list of criteria objects, got {"rfm.r": 1}',
        ),
        ({"not": [1]}, "criteria.not: must be an object of fields and all/any/not, got [1]"),
        (
            {"any": [{"rfm.r": 1}, 3]},
            "criteria.any[1]: must be an object of fields and all/any/not, got 3",
        ),
        ([], "criteria: must be an object of fields and all/any/not, got []"),
        (
            {},
            'criteria: empty criteria; name at least one field, e.g. {"orders.count": {"gte": 1}}',
        ),
        (
            {"rfm.composite": {}},
            "criteria.rfm.composite: no operator; use one of eq, ne, gt, gte, lt, lte, in, "
            "not_in, exists",
        ),
        (
            {"orders.count": {"exists": "yes"}},
            'criteria.orders.count.exists: must be true or false, got "yes"',
        ),
        ({"cart.isOpen": "yes"}, 'criteria.cart.isOpen: must be true or false, got "yes"'),
        ({"customer.locale": 5}, "criteria.customer.locale: must be a string, got 5"),
        (
            {"cart.isOpen": [True]},
            "criteria.cart.isOpen: a list is not a value for cart.isOpen (bool); use one of eq, "
            "ne, exists",
        ),
        ({"categories.top": " "}, "criteria.categories.top: must not be empty"),
        (
            {"engagement.trend": {"gt": float("nan")}},
            "criteria.engagement.trend.gt: must be a number, got NaN",
        ),
    ],
)
def test_errors_name_the_path_and_what_is_allowed(criteria, line):
    with pytest.raises(InvalidInput) as caught:
        parse_criteria(criteria)
    assert caught.value.one_line().startswith(line), caught.value.one_line()


def test_limits():
    deep: dict = {"rfm.r": 1}
    for _ in range(MAX_DEPTH + 1):
        deep = {"not": deep}
    with pytest.raises(InvalidInput, match="nested deeper"):
        parse_criteria(deep)
    with pytest.raises(InvalidInput, match="more than 200 conditions"):
        parse_criteria({"any": [{"rfm.r": 1}] * 201})


def test_json_errors_give_line_and_column():
    assert load_criteria_json('{"rfm.r": 1}') == {"rfm.r": 1}
    with pytest.raises(InvalidInput) as caught:
        load_criteria_json('{"rfm.r": 1,\n "x"}')
    assert caught.value.one_line() == (
        "criteria: not valid JSON: Expecting ':' delimiter at line 2 column 5"
    )


def test_every_field_type_has_operators_and_money_fields_are_cents():
    for spec in FIELDS.values():
        assert spec.allowed_operators
        if spec.type is not FieldType.CATEGORIES:
            assert spec.column is not None, spec.name
    assert {f.name for f in FIELDS.values() if f.type is FieldType.MONEY} == {
        "rfm.monetary",
        "spend.last90d",
        "spend.lifetime",
        "orders.averageValue",
        "cart.openValue",
    }


VALUES = {
    "rfm.composite": 40,
    "churn.risk": None,
    "lifecycle.stage": "at_risk",
    "daysSinceLastOrder": 50,
    "orders.averageValue": 4999,
    "categories.purchased": frozenset({"Hardware", "Accessories"}),
    "categories.lastOrderMissing": frozenset({"Hardware"}),
    "consent.email": "granted",
    "consent.sms": "revoked",
    "consent.push": "none",
    "consent.in_app": "none",
}


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({"rfm.composite": {"gte": 38}}, True),
        ({"lifecycle.stage": "ACTIVE", "daysSinceLastOrder": {"gte": 45}}, True),
        ({"lifecycle.stage": {"not_in": ["active"]}}, False),
        ({"churn.risk": {"gte": 0.5}}, False),
        ({"churn.risk": {"ne": 0.5}}, False),
        ({"churn.risk": {"not_in": [0.5]}}, False),
        ({"not": {"churn.risk": {"gte": 0.5}}}, True),
        ({"churn.risk": {"exists": False}}, True),
        ({"orders.averageValue": 49.99}, True),
        ({"orders.averageValue": {"gt": 49.99}}, False),
        ({"categories.purchased": ["Software", "Accessories"]}, True),
        ({"categories.purchased": {"not_in": ["Software", "Accessories"]}}, False),
        ({"categories.purchased": {"exists": True}}, True),
        ({"categories.lastOrderMissing": ["Accessories"]}, True),
        ({"categories.lastOrderMissing": ["Accessories", "Hardware"]}, False),
        ({"any": [{"rfm.composite": {"lt": 10}}, {"consent.push": "none"}]}, True),
        ({"all": [{"rfm.composite": {"lt": 10}}, {"consent.push": "none"}]}, False),
        ({"upgrade.propensity": {"exists": False}}, True),
    ],
)
def test_evaluation_of_one_customer(criteria, expected):
    assert matches(parse_criteria(criteria), VALUES) is expected


def test_a_customer_without_an_order_never_misses_a_category():
    values = {**VALUES, "categories.lastOrderMissing": None, "categories.purchased": frozenset()}
    assert not matches(parse_criteria({"categories.lastOrderMissing": "Accessories"}), values)
    assert matches(parse_criteria({"categories.purchased": {"exists": False}}), values)
    assert matches(parse_criteria({"categories.purchased": {"ne": "Hardware"}}), values)


def test_evaluate_reports_each_criterion_with_the_actual_value():
    criteria = {
        "lifecycle.stage": "ACTIVE",
        "any": [{"orders.averageValue": {"gte": 60}}, {"not": {"churn.risk": {"gte": 0.5}}}],
    }
    check = evaluate(parse_criteria(criteria), VALUES)
    rows = [(depth, c.kind, c.label, c.actual, c.passed) for depth, c in check.flatten()]
    assert rows == [
        (0, "all", "all of", None, True),
        (1, "condition", 'lifecycle.stage eq "ACTIVE"', "at_risk", True),
        (1, "any", "any of", None, True),
        (2, "condition", "orders.averageValue gte 60", 49.99, False),
        (2, "not", "not", None, True),
        (3, "condition", "churn.risk gte 0.5", None, False),
    ]
    purchased = evaluate(parse_criteria({"categories.purchased": "Tools"}), VALUES)
    assert purchased.actual == ["Accessories", "Hardware"] and not purchased.passed


def test_unsubscribed_rules():
    assert unsubscribed(VALUES, "email", False) is None
    assert unsubscribed(VALUES, "sms", False) == "unsubscribed from sms (consent.sms is revoked)"
    assert unsubscribed(VALUES, "sms", True) is None
    assert unsubscribed(VALUES, None, False) is None, "email is still granted"
    every = {**VALUES, "consent.email": "revoked"}
    assert unsubscribed(every, None, False) == (
        "unsubscribed from every channel with a consent record (email, sms)"
    )
    nothing = {f"consent.{c}": "none" for c in ("email", "sms", "push", "in_app")}
    assert unsubscribed(nothing, None, False) is None, "no record: kept"
    vip = parse_criteria({"rfm.composite": {"gte": 38}})
    assert in_segment(vip, VALUES, "email") and not in_segment(vip, VALUES, "sms")
    assert in_segment(vip, VALUES, "sms", include_unsubscribed=True)
