"""The few HTML pages the API serves (the unsubscribe confirmation), autoescaped Jinja2."""

from __future__ import annotations

from jinja2 import Environment, select_autoescape

_ENVIRONMENT = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
CHANNEL_NAMES = {
    "email": "emails",
    "sms": "text messages",
    "push": "push notifications",
    "in_app": "in-app messages",
    "all": "all messages",
}

_PAGE = _ENVIRONMENT.from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem">
<h1>{{ title }}</h1>
<p>{{ message }}</p>
{% if action %}<form method="post" action="{{ action }}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<input type="hidden" name="via" value="page">
<button type="submit">Unsubscribe</button>
</form>{% endif %}
</body></html>
"""
)


def page(title: str, message: str, action: str | None = None) -> str:
    return _PAGE.render(title=title, message=message, action=action)


def confirm_page(channel: str, action: str) -> str:
    what = CHANNEL_NAMES.get(channel, "messages")
    return page("Unsubscribe", f"Stop receiving marketing {what} from us?", action)


def done_page(channel: str, already: bool) -> str:
    what = CHANNEL_NAMES.get(channel, "messages")
    if already:
        return page("Already unsubscribed", f"You were already unsubscribed from {what}.")
    return page("Unsubscribed", f"You will not receive marketing {what} from us any more.")


def invalid_page(detail: str) -> str:
    return page("Link not valid", detail)
