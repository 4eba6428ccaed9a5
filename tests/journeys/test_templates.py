"""Personalization: templates filled with a customer's fields, sandboxed and strict."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from guardrails.delivery import DeliveryFailed
from journeys.templates import customer_variables, render_content, template_variables

CONTENT = {
    "channel": "email",
    "subject": "{{ first_name }}, spring is here",
    "body": "Hello {{ first_name }}. Leave: {{ unsubscribe_url }}",
    "html": "<p>Hello {{ first_name }}</p>",
    "blocks": [{"text": "Code {{ code }}"}, 3],
    "priority": 2,
}


def test_every_string_is_filled_and_the_callers_content_is_left_as_it_was():
    original = {**CONTENT, "blocks": [dict(CONTENT["blocks"][0]), 3]}
    rendered = render_content(
        original, {"first_name": "Ada", "unsubscribe_url": "https://x/u/t", "code": "SPRING"}
    )
    assert rendered["subject"] == "Ada, spring is here"
    assert rendered["body"] == "Hello Ada. Leave: https://x/u/t"
    assert rendered["blocks"] == [{"text": "Code SPRING"}, 3]
    assert rendered["priority"] == 2 and rendered["channel"] == "email"
    assert original["subject"] == CONTENT["subject"]  # not mutated


def test_only_html_parts_are_escaped():
    rendered = render_content(
        {"body": "Hi {{ name }}", "html": "<p>Hi {{ name }}</p>", "footer_html": "{{ name }}"},
        {"name": "<b>Ada & co</b>"},
    )
    assert rendered["body"] == "Hi <b>Ada & co</b>"
    assert rendered["html"] == "<p>Hi &lt;b&gt;Ada &amp; co&lt;/b&gt;</p>"
    assert rendered["footer_html"] == "&lt;b&gt;Ada &amp; co&lt;/b&gt;"


def test_a_missing_variable_fails_for_good_naming_the_variable_and_the_field():
    with pytest.raises(DeliveryFailed) as caught:
        render_content({"subject": "Hi", "body": "Hello {{ first_name }}"}, {"name": "Ada"})
    assert caught.value.retryable is False
    assert "'first_name'" in str(caught.value) and "body" in str(caught.value)


def test_a_missing_attribute_of_a_present_variable_fails_too():
    with pytest.raises(DeliveryFailed) as caught:
        render_content({"body": "{{ customer.first_name }}"}, {"customer": {}})
    assert caught.value.retryable is False and "first_name" in str(caught.value)


def test_the_sandbox_refuses_python_internals():
    with pytest.raises(DeliveryFailed) as caught:
        render_content({"body": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}, {})
    assert caught.value.retryable is False and "sandbox" in str(caught.value)


def test_template_variables_lists_the_names_the_templates_read():
    assert template_variables(CONTENT) == {"first_name", "unsubscribe_url", "code"}
    loop = {"body": "{% for item in items %}{{ item }}{{ sep }}{% endfor %}{% set x = 1 %}{{ x }}"}
    assert template_variables(loop) == {"items", "sep"}


def test_a_template_that_does_not_parse_names_its_field():
    with pytest.raises(InvalidInput) as caught:
        template_variables({"blocks": [{"text": "Hello {{ name"}]})
    assert caught.value.field == "blocks[0].text"


def test_customer_fields_win_over_traits_and_unknown_ones_are_left_out():
    found = customer_variables(
        {"first_name": "Ada", "email": "old@example.com"}, email="ada@example.com", locale=None
    )
    assert found == {"first_name": "Ada", "email": "ada@example.com"}


@pytest.mark.parametrize(
    ("template", "variables"),
    [
        ("{{ total | round(2) }}", {"total": "12.5 EUR"}),  # a trait stored as text
        ("{{ 100 / visits }}", {"visits": 0}),
        ("{{ name.upper(1) }}", {"name": "Ada"}),
    ],
)
def test_a_value_of_the_wrong_kind_fails_the_send_for_good(template, variables):
    content = {"channel": "email", "subject": "s", "body": template}
    with pytest.raises(DeliveryFailed, match=r"template body failed for this customer") as caught:
        render_content(content, variables)
    assert caught.value.retryable is False
    assert "12.5 EUR" not in str(caught.value)
