"""The channel rules every workspace gets; a policy rule with the same id replaces one."""

from __future__ import annotations

from guardrails.policy import BrandPolicy, ChannelRule

BUILT_IN = "built-in channel rule"

DEFAULT_CHANNEL_RULES: tuple[ChannelRule, ...] = (
    ChannelRule(
        id="sms.segments",
        channel="sms",
        kind="max_segments",
        limit=2,
        source=f"{BUILT_IN}: SMS segments (GSM-7 160/153, UCS-2 70/67 characters)",
    ),
    ChannelRule(
        id="sms.stop_text",
        channel="sms",
        kind="required_text",
        text="STOP",
        source=f"{BUILT_IN}: marketing SMS carries opt-out text (TCPA, CTIA)",
    ),
    ChannelRule(
        id="email.subject_length",
        channel="email",
        kind="max_chars",
        field="subject",
        limit=60,
        source=f"{BUILT_IN}: mobile inboxes cut subjects after about 60 characters",
    ),
    ChannelRule(
        id="email.unsubscribe",
        channel="email",
        kind="unsubscribe_link",
        source=f"{BUILT_IN}: CAN-SPAM, GDPR: every marketing email has an unsubscribe link",
    ),
    ChannelRule(
        id="email.postal_address",
        channel="email",
        kind="postal_address",
        source=f"{BUILT_IN}: CAN-SPAM, CASL: every marketing email shows a postal address",
    ),
    ChannelRule(
        id="push.title_length",
        channel="push",
        kind="max_chars",
        field="title",
        limit=50,
        source=f"{BUILT_IN}: lock screens cut push titles",
    ),
    ChannelRule(
        id="push.body_length",
        channel="push",
        kind="max_chars",
        limit=178,
        source=f"{BUILT_IN}: lock screens cut push bodies after about 178 characters",
    ),
    ChannelRule(
        id="in_app.body_length",
        channel="in_app",
        kind="max_chars",
        limit=300,
        source=f"{BUILT_IN}: in-app messages stay short",
    ),
)


def channel_rules(policy: BrandPolicy, channel: str) -> list[ChannelRule]:
    """The rules of a channel: the built-in ones, replaced or extended by the policy's."""
    by_id = {rule.id: rule for rule in DEFAULT_CHANNEL_RULES}
    by_id.update({rule.id: rule for rule in policy.channel_rules})
    return [rule for rule in by_id.values() if rule.channel == channel]
