"""What Segment e-commerce and email events say about orders, carts, engagement, consent and
where the customer can be reached (a phone from identify traits, a push token from the device).

Pure: a validated message in, typed facts (or a row error naming the property) out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from core.models import CHANNELS
from scoring.phone_numbers import PHONE_FIX, PhoneError, normalise_phone
from scoring.segment_messages import Identify, Message, RowError, Track

EMAIL_EVENTS = {
    "Email Sent": "sent",
    "Email Delivered": "delivered",
    "Email Opened": "open",
    "Email Link Clicked": "click",
    "Email Bounced": "bounce",
    "Email Marked as Spam": "complaint",
    "Unsubscribed": "unsubscribe",
}
ORDER_STATUS_EVENTS = {"Order Refunded": "refunded", "Order Cancelled": "cancelled"}
MAX_ADDRESS_CHARS = 320  # customer_identities.value


class PropertyError(ValueError):
    def __init__(self, path: str, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.fix = fix


@dataclass(frozen=True, slots=True)
class Item:
    product_id: str
    name: str
    category: str
    quantity: int
    price_cents: int


@dataclass(frozen=True, slots=True)
class OrderFact:
    order_id: str
    total_cents: int
    currency: str
    items: tuple[Item, ...] = ()
    coupon: str | None = None
    discount_cents: int = 0
    cart_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderStatusFact:
    order_id: str
    status: str


@dataclass(frozen=True, slots=True)
class CartFact:
    cart_id: str
    item: Item
    removed: bool = False


@dataclass(frozen=True, slots=True)
class EmailFact:
    type: str
    campaign_id: str


@dataclass(frozen=True, slots=True)
class ConsentFact:
    channel: str
    granted: bool
    source: str


@dataclass(frozen=True, slots=True)
class ProfileFact:
    """What an identify says about the person: traits and where to reach them."""

    traits: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    timezone: str | None = None
    locale: str | None = None
    preferred_channels: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ContactFact:
    """An address the customer is reached at: `phone` (E.164) or `device_token` (push). Not a
    key for finding or merging profiles; the latest claim to one value wins."""

    kind: str
    value: str


Fact = OrderFact | OrderStatusFact | CartFact | EmailFact | ConsentFact | ProfileFact | ContactFact


def cents(value: Any, path: str) -> int:
    """Money as integer cents; refuses text that is not a number, negatives and fractions of
    a cent."""
    if isinstance(value, bool) or value is None:
        raise PropertyError(path, "must be a number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise PropertyError(path, f"must be a number, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise PropertyError(path, f"must be zero or more, got {value!r}")
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise PropertyError(path, f"has more than 2 decimals: {value!r}")
    return int(scaled)


def _text(properties: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
    value = properties.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    if required:
        raise PropertyError(f"{path}{key}", "is required")
    return None


def _item(raw: Any, path: str) -> Item:
    if not isinstance(raw, dict):
        raise PropertyError(path.rstrip("."), "must be an object")
    product_id = _text(raw, "product_id", path, required=False) or _text(raw, "sku", path)
    quantity = raw.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise PropertyError(
            f"{path}quantity", f"must be a whole number of 1 or more, got {quantity!r}"
        )
    return Item(
        product_id=product_id or "",
        name=_text(raw, "name", path, required=False) or product_id or "",
        category=_text(raw, "category", path, required=False) or "uncategorized",
        quantity=quantity,
        price_cents=cents(raw.get("price", 0), f"{path}price"),
    )


def _currency(properties: dict[str, Any]) -> str:
    currency = properties.get("currency") or "USD"
    if not isinstance(currency, str) or len(currency.strip()) != 3 or not currency.isalpha():
        raise PropertyError("properties.currency", f"must be a 3-letter code, got {currency!r}")
    return currency.strip().upper()


def _track_facts(message: Track) -> list[Fact]:
    p, path = message.properties, "properties."
    if message.event == "Order Completed":
        products = p.get("products") or []
        if not isinstance(products, list):
            raise PropertyError("properties.products", "must be a list")
        items = tuple(_item(raw, f"{path}products[{i}].") for i, raw in enumerate(products))
        total = p.get("total", p.get("revenue"))
        if total is None:
            raise PropertyError("properties.total", "is required")
        return [
            OrderFact(
                order_id=_text(p, "order_id", path) or "",
                total_cents=cents(total, "properties.total"),
                currency=_currency(p),
                items=items,
                coupon=_text(p, "coupon", path, required=False),
                discount_cents=cents(p.get("discount", 0), "properties.discount"),
                cart_id=_text(p, "cart_id", path, required=False),
            )
        ]
    if message.event in ORDER_STATUS_EVENTS:
        order_id = _text(p, "order_id", path) or ""
        return [OrderStatusFact(order_id, ORDER_STATUS_EVENTS[message.event])]
    if message.event in {"Product Added", "Product Removed"}:
        return [
            CartFact(
                cart_id=_text(p, "cart_id", path) or "",
                item=_item(p, path),
                removed=message.event == "Product Removed",
            )
        ]
    if message.event in EMAIL_EVENTS:
        campaign = _text(p, "campaign_id", path, required=False) or "unknown"
        facts: list[Fact] = [EmailFact(EMAIL_EVENTS[message.event], campaign)]
        if message.event == "Unsubscribed":
            channel = p.get("channel", "email")
            if channel not in CHANNELS:
                raise PropertyError("properties.channel", f"must be one of {', '.join(CHANNELS)}")
            facts.append(ConsentFact(channel, False, f"unsubscribe:{campaign}"))
        return facts
    return []


def _consent_facts(message: Message) -> list[Fact]:
    consent = message.context.get("consent")
    preferences = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    if preferences is None:
        return []
    if not isinstance(preferences, dict):
        raise PropertyError("context.consent.categoryPreferences", "must be an object")
    facts: list[Fact] = []
    for channel, granted in preferences.items():
        if channel not in CHANNELS:
            continue  # other consent categories (analytics, ads) are not channels
        if not isinstance(granted, bool):
            raise PropertyError(
                f"context.consent.categoryPreferences.{channel}", "must be true or false"
            )
        facts.append(ConsentFact(channel, granted, f"segment:{message.type}"))
    return facts


def _profile_fact(message: Identify) -> ProfileFact:
    traits = message.traits
    channels = traits.get("preferred_channels")
    if channels is not None and (
        not isinstance(channels, list) or any(c not in CHANNELS for c in channels)
    ):
        raise PropertyError("traits.preferred_channels", f"must be a list of {', '.join(CHANNELS)}")
    timezone = message.context.get("timezone") or traits.get("timezone")
    locale = message.context.get("locale") or traits.get("locale")
    return ProfileFact(
        traits=dict(traits),
        email=message.email,
        timezone=timezone if isinstance(timezone, str) else None,
        locale=locale if isinstance(locale, str) else None,
        preferred_channels=tuple(channels) if channels is not None else None,
    )


def _phone_facts(message: Identify) -> list[Fact]:
    """`traits.phone` as E.164; absent or blank is no phone, anything else must normalise."""
    raw = message.traits.get("phone")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return []
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise PropertyError("traits.phone", "must be text", PHONE_FIX)
    try:
        return [ContactFact("phone", normalise_phone(str(raw)))]
    except PhoneError as exc:
        raise PropertyError("traits.phone", str(exc), exc.fix) from None


def _device_facts(message: Message) -> list[Fact]:
    """`context.device.token` (the Segment spec's push token); `context.device.type` (ios,
    android...) may come with it and is not needed to address a push."""
    device = message.context.get("device")
    token = device.get("token") if isinstance(device, dict) else None
    if token is None or (isinstance(token, str) and not token.strip()):
        return []
    if not isinstance(token, str):
        raise PropertyError(
            "context.device.token", "must be text", "send the push token the device registered"
        )
    if len(token.strip()) > MAX_ADDRESS_CHARS:
        raise PropertyError(
            "context.device.token", f"is longer than {MAX_ADDRESS_CHARS} characters"
        )
    return [ContactFact("device_token", token.strip())]


def facts_of(message: Message, line: int, prefix: str = "") -> list[Fact] | RowError:
    """The facts a message carries beyond being an event, or the error that stops it."""
    try:
        facts = _consent_facts(message) + _device_facts(message)
        if isinstance(message, Identify):
            facts = [_profile_fact(message), *_phone_facts(message), *facts]
        elif isinstance(message, Track):
            facts = _track_facts(message) + facts
        return facts
    except PropertyError as exc:
        return RowError(line, prefix + exc.path, str(exc), exc.fix)
