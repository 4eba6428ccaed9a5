"""A realistic, deterministic demo data set: customers with a lifecycle mix, seasonal orders
with items across categories, promotions and discount-sensitive buyers, carts abandoned and
recovered, email campaigns with engagement, consent, phones and push device tokens,
pricing-page visits, and churners whose orders stop (the signal the churn model learns).

Pure: numpy in, columns out (`generate`); `core.bulk.bulk_insert` loads them. The same seed,
sizes and end date always give the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

DAY = np.timedelta64(1, "D")
CATEGORIES = ("Card readers", "Printers", "Scanners", "Accessories", "Supplies", "Bundles")
CATEGORY_PRICES = {  # (low, high) in cents
    "Card readers": (2900, 14900),
    "Printers": (9900, 34900),
    "Scanners": (4900, 19900),
    "Accessories": (900, 4900),
    "Supplies": (500, 2900),
    "Bundles": (19900, 59900),
}
ARCHETYPES = ("prospect", "one_time", "occasional", "regular", "loyal", "churned", "new")
SHARES = (0.10, 0.15, 0.27, 0.20, 0.08, 0.14, 0.06)
INTENSITY = (0.0, 0.0, 1.0, 3.0, 8.0, 3.0, 4.0)  # relative order rate while active
OPEN_RATE = (0.20, 0.22, 0.25, 0.35, 0.50, 0.30, 0.40)
SEASONALITY = np.array([0.8, 0.8, 0.9, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.1, 1.5, 1.8])
PROMOTIONS = (
    ("WELCOME10", 10), ("SPRING15", 15), ("SUMMER10", 10), ("FALL15", 15),
    ("BFCM25", 25), ("WINBACK20", 20), ("VIP15", 15), ("BUNDLE30", 30),
)  # fmt: skip
STATUSES = ("completed", "paid", "refunded", "cancelled", "pending")
STATUS_SHARES = (0.90, 0.03, 0.03, 0.02, 0.02)
HISTORY_DAYS = 730
CAMPAIGNS = 12


@dataclass
class DemoData:
    """Columns per table, ready for bulk loading."""

    tables: dict[str, dict[str, object]] = field(default_factory=dict)

    def rows(self, table: str) -> int:
        columns = self.tables.get(table) or {}
        return len(next(iter(columns.values()))) if columns else 0  # type: ignore[arg-type]


def default_end() -> datetime:
    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC)


def _seasonal_days(
    rng: np.random.Generator, start: np.ndarray, span: np.ndarray, end_day: np.datetime64
) -> np.ndarray:
    """A day offset from end_day in [start, start + span) per row, busier in November and
    December (rejection sampling by month)."""
    days = start + rng.random(len(start)) * span
    pending = np.ones(len(start), dtype=bool)
    # The keep-probability of every day offset the rows can draw, looked up by offset: the
    # same as converting each drawn day to a month, at a fraction of the cost.
    first = int(np.floor((start).min())) if len(start) else 0
    last = int(np.floor((start + span).max())) + 1 if len(start) else 0
    months = (end_day + np.arange(first, last + 1) * DAY).astype("datetime64[M]").astype(int)
    keep_p = (SEASONALITY / SEASONALITY.max())[months % 12]
    for _ in range(12):
        if not pending.any():
            break
        index = np.flatnonzero(pending)
        candidate = start[index] + rng.random(len(index)) * span[index]
        offset = np.floor(candidate).astype(np.int64) - first
        keep = rng.random(len(index)) < keep_p[offset]
        days[index[keep]] = candidate[keep]
        pending[index[keep]] = False
    return days


def _numbered(prefix: str, count: int, width: int) -> np.ndarray:
    """prefix + 0..count-1 zero-padded to width digits, as an object array of str: written as
    fixed-width bytes and cut once, several times faster than numpy's string functions (a
    second for 2M order ids)."""
    if count > 10**width:
        numbers = np.char.zfill(np.arange(count).astype(str), width)
        return np.char.add(prefix, numbers).astype(object)
    head = len(prefix.encode("ascii"))
    text = np.empty((count, head + width + 1), dtype=np.uint8)
    text[:, :head] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    numbers = np.arange(count)
    for place in range(width):
        text[:, head + width - 1 - place] = 48 + numbers // 10**place % 10
    text[:, -1] = 10  # a newline after each, to split on
    rows = text.tobytes().decode("ascii").split("\n")
    rows.pop()  # after the last newline
    return np.array(rows, dtype=object)


def generate(workspace_id: str, customers: int, orders: int, seed: int, end: datetime) -> DemoData:
    """The whole data set for one workspace; ids are unique to the workspace."""
    if customers < 1 or orders < 0:
        raise ValueError("customers must be at least 1 and orders at least 0")
    rng = np.random.default_rng(seed)
    end_day = np.datetime64(end.date(), "D")
    tag = workspace_id.removeprefix("ws_")[:8]
    data = DemoData()

    # Products: ten per category.
    product_ids, product_category, product_price = [], [], []
    for c, category in enumerate(CATEGORIES):
        low, high = CATEGORY_PRICES[category]
        for p in range(10):
            product_ids.append(f"SKU-{c}{p:02d}")
            product_category.append(c)
            product_price.append(int(rng.integers(low // 100, high // 100)) * 100 - 1)
    product_ids_arr = np.array(product_ids, dtype=object)
    product_price_arr = np.array(product_price, dtype=np.int64)
    data.tables["products"] = {
        "workspace_id": [workspace_id] * len(product_ids),
        "id": product_ids,
        "name": [
            f"{CATEGORIES[c]} model {i[-2:]}"
            for i, c in zip(product_ids, product_category, strict=True)
        ],
        "category": [CATEGORIES[c] for c in product_category],
        "price_cents": product_price_arr,
    }
    data.tables["promotions"] = {
        "workspace_id": [workspace_id] * len(PROMOTIONS),
        "code": [code for code, _ in PROMOTIONS],
        "kind": ["percent"] * len(PROMOTIONS),
        "value": np.array([pct for _, pct in PROMOTIONS]),
        "category": [None] * len(PROMOTIONS),
    }

    # Customers and their lifecycles.
    n = customers
    archetype = rng.choice(len(ARCHETYPES), size=n, p=SHARES)
    is_new = archetype == ARCHETYPES.index("new")
    signup = np.where(
        is_new,
        -rng.integers(1, 31, n),
        -rng.integers(90, HISTORY_DAYS, n),
    ).astype(np.int64)
    churned = archetype == ARCHETYPES.index("churned")
    active_until = np.where(
        churned, signup + 30 + (rng.random(n) * np.maximum(-signup - 120, 1)).astype(np.int64), 0
    )
    favourite = rng.integers(0, len(CATEGORIES), n)
    discount_sensitive = rng.random(n) < 0.25
    # Ids and text repeated across rows are object arrays of shared str: a fraction of the
    # memory of fixed-width unicode, and the loader passes them on without a new str per row.
    customer_ids = _numbered(f"cus_{tag}", n, 8)
    user_ids = _numbered("C", n, 7)
    emails = np.char.add(np.char.add("customer", np.arange(n).astype(str)), "@example.com")
    signup_at = (
        end_day + signup * DAY + (rng.integers(8 * 3600, 22 * 3600, n) * np.timedelta64(1, "s"))
    )
    timezones = rng.choice(
        [
            "America/New_York",
            "America/Chicago",
            "America/Los_Angeles",
            "Europe/London",
            "Europe/Berlin",
        ],
        size=n,
        p=[0.35, 0.2, 0.2, 0.15, 0.1],
    )
    locales = np.where(
        np.char.startswith(timezones, "Europe/Berlin"),
        "de-DE",
        np.where(np.char.startswith(timezones, "Europe"), "en-GB", "en-US"),
    )

    # Orders: one for each one-time buyer, the rest by rate x active days.
    one_time = archetype == ARCHETYPES.index("one_time")
    active_days = (active_until - signup).astype(float)
    weight = np.array(INTENSITY)[archetype] * np.maximum(active_days, 1.0)
    fixed = int(min(one_time.sum(), orders))
    rest = orders - fixed
    counts = np.zeros(n, dtype=np.int64)
    counts[np.flatnonzero(one_time)[:fixed]] = 1
    if rest and weight.sum() > 0:
        counts += rng.multinomial(rest, weight / weight.sum())
    order_customer = np.repeat(np.arange(n), counts)
    m = len(order_customer)
    start = signup[order_customer].astype(float)
    span = np.maximum((active_until - signup)[order_customer], 1).astype(float)
    order_day = _seasonal_days(rng, start, span, end_day)
    ordered_at = (
        end_day
        + np.floor(order_day).astype(np.int64) * DAY
        + rng.integers(7 * 3600, 23 * 3600, m) * np.timedelta64(1, "s")
    )
    order_sort = np.argsort(ordered_at, kind="stable")
    order_customer, ordered_at = order_customer[order_sort], ordered_at[order_sort]
    order_ids = _numbered("O", m, 8)
    status = rng.choice(len(STATUSES), size=m, p=STATUS_SHARES)

    # Items: 1-4 per order, 60% from the customer's favourite category.
    item_count = np.clip(1 + rng.poisson(0.6, m), 1, 4)
    item_order = np.repeat(np.arange(m), item_count)
    k = len(item_order)
    from_favourite = rng.random(k) < 0.6
    category = np.where(
        from_favourite, favourite[order_customer[item_order]], rng.integers(0, len(CATEGORIES), k)
    )
    product = category * 10 + rng.integers(0, 10, k)
    quantity = rng.choice([1, 2, 3], size=k, p=[0.85, 0.12, 0.03])
    line_cents = product_price_arr[product] * quantity
    subtotal = np.bincount(item_order, weights=line_cents, minlength=m).astype(np.int64)

    # Promotions: the discount-sensitive use one on 60% of orders, the others on 5%.
    promo_rate = np.where(discount_sensitive[order_customer], 0.6, 0.05)
    promoted = rng.random(m) < promo_rate
    promo = rng.integers(0, len(PROMOTIONS), m)
    percent = np.array([pct for _, pct in PROMOTIONS])[promo]
    discount = np.where(promoted, subtotal * percent // 100, 0)
    total = subtotal - discount

    last_seen = signup_at.copy()
    if m:
        last_order = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
        last_order[order_customer] = ordered_at  # sorted by time, so the last write wins
        has_order = ~np.isnat(last_order)
        last_seen[has_order] = np.maximum(last_seen[has_order], last_order[has_order])
    data.tables["customers"] = {
        "id": customer_ids,
        "workspace_id": [workspace_id] * n,
        "user_id": user_ids,
        "email": emails,
        "traits": [{}] * n,
        "timezone": timezones,
        "locale": locales,
        "preferred_channels": [[]] * n,
        "merged_into": [None] * n,
        "first_seen_at": signup_at,
        "last_seen_at": last_seen,
        "created_at": signup_at,
        "updated_at": signup_at,
    }
    data.tables["orders"] = {
        "workspace_id": [workspace_id] * m,
        "id": order_ids,
        "customer_id": customer_ids[order_customer],
        "ordered_at": ordered_at,
        "status": np.array(STATUSES, dtype=object)[status],
        "total_cents": total,
        "currency": ["USD"] * m,
    }
    data.tables["order_items"] = {
        "workspace_id": [workspace_id] * k,
        "order_id": order_ids[item_order],
        "product_id": product_ids_arr[product],
        "quantity": quantity,
        "unit_price_cents": product_price_arr[product],
    }
    promoted_index = np.flatnonzero(promoted)
    data.tables["applied_promotions"] = {
        "workspace_id": [workspace_id] * len(promoted_index),
        "order_id": order_ids[promoted_index],
        "promotion_code": np.array([code for code, _ in PROMOTIONS], dtype=object)[
            promo[promoted_index]
        ],
        "discount_cents": discount[promoted_index],
    }
    _carts(
        data,
        rng,
        workspace_id,
        order_ids,
        order_customer,
        ordered_at,
        customer_ids,
        signup,
        active_until,
        end_day,
        product_price_arr,
        product_ids_arr,
    )
    granted = _consent_and_email(
        data, rng, workspace_id, customer_ids, archetype, signup, active_until, end_day
    )
    customers_of = (customer_ids, user_ids, emails, signup_at)
    _identities(data, seed, workspace_id, customers_of, granted, tag)
    _pricing_views(
        data,
        rng,
        workspace_id,
        customer_ids,
        user_ids,
        archetype,
        signup,
        active_until,
        (order_customer, ordered_at, total),
        end_day,
        tag,
    )
    return data


def _carts(
    data: DemoData,
    rng: np.random.Generator,
    workspace_id: str,
    order_ids: np.ndarray,
    order_customer: np.ndarray,
    ordered_at: np.ndarray,
    customer_ids: np.ndarray,
    signup: np.ndarray,
    active_until: np.ndarray,
    end_day: np.datetime64,
    prices: np.ndarray,
    product_ids: np.ndarray,
) -> None:
    """Carts converted into 10% of orders, and carts left open or cleared. Of the converted,
    40% were abandoned first (last touched 2 hours to 3 days before the order: recovered), the
    rest checked out within the hour of their last change, though some were created earlier;
    about a third of the abandoned carts are recovered."""
    m = len(order_ids)
    converted = np.flatnonzero(rng.random(m) < 0.10)
    abandoned_n = max(len(converted) * 3 // 4, 1 if len(customer_ids) else 0)
    abandoned_customer = rng.integers(0, len(customer_ids), abandoned_n)
    abandoned_day = signup[abandoned_customer] + rng.random(abandoned_n) * np.maximum(
        active_until[abandoned_customer] - signup[abandoned_customer], 1
    )
    abandoned_at = (
        end_day
        + np.floor(abandoned_day).astype(np.int64) * DAY
        + rng.integers(8 * 3600, 23 * 3600, abandoned_n) * np.timedelta64(1, "s")
    )
    second = np.timedelta64(1, "s")
    order_at = ordered_at[converted]
    opened = order_at - rng.integers(600, 7200, len(converted)) * second
    # The activity times draw from a stream of their own, so every other table (drawn from
    # `rng` after the carts) stays the same.
    own = rng.spawn(1)[0]
    recovered = own.random(len(converted)) < 0.4
    idle = np.where(
        recovered,
        own.integers(2 * 3600, 3 * 86400, len(converted)),
        own.integers(60, 3000, len(converted)),
    )
    signup_day = end_day + signup[order_customer[converted]] * DAY
    activity = np.maximum(order_at - idle * second, signup_day)
    first_touch = activity - own.integers(0, 1800, len(converted)) * second
    created = np.concatenate(
        [np.maximum(np.minimum(opened, first_touch), signup_day), abandoned_at]
    )
    updated = np.concatenate([order_at, abandoned_at + np.timedelta64(300, "s")])
    activity = np.concatenate([activity, abandoned_at + np.timedelta64(300, "s")])
    count = len(created)
    cart_ids = _numbered("K", count, 8)
    status = np.array(["converted"] * len(converted) + ["open"] * abandoned_n, dtype=object)
    old = abandoned_at < end_day - 7 * DAY
    status[len(converted) :][old & (rng.random(abandoned_n) < 0.2)] = "cleared"
    products = rng.integers(0, len(product_ids), count)
    data.tables["carts"] = {
        "workspace_id": [workspace_id] * count,
        "id": cart_ids,
        "customer_id": np.concatenate(
            [customer_ids[order_customer[converted]], customer_ids[abandoned_customer]]
        ),
        "status": status.tolist(),
        "created_at": created,
        "updated_at": updated,
        "activity_at": activity,
        "converted_order_id": order_ids[converted].tolist() + [None] * abandoned_n,
        "total_cents": prices[products],
    }
    data.tables["cart_items"] = {
        "workspace_id": [workspace_id] * count,
        "cart_id": cart_ids,
        "product_id": product_ids[products],
        "quantity": np.ones(count, dtype=np.int64),
        "unit_price_cents": prices[products],
    }


def _consent_and_email(
    data: DemoData,
    rng: np.random.Generator,
    workspace_id: str,
    customer_ids: np.ndarray,
    archetype: np.ndarray,
    signup: np.ndarray,
    active_until: np.ndarray,
    end_day: np.datetime64,
) -> dict[str, np.ndarray]:
    """Consent given at sign-up; a campaign a month to consenting customers, with opens,
    clicks, bounces and unsubscribes that fall away for churners after they leave. Returns
    who granted each channel at sign-up."""
    n = len(customer_ids)
    signup_at = end_day + signup * DAY
    channel_rates = {"email": 0.85, "sms": 0.30, "push": 0.40, "in_app": 0.90}
    consent_rows: dict[str, list] = {
        k: [] for k in ("customer_id", "channel", "status", "source", "recorded_at")
    }
    email_ok = rng.random(n) < channel_rates["email"]
    granted_by_channel: dict[str, np.ndarray] = {}
    for channel, rate in channel_rates.items():
        granted = email_ok if channel == "email" else rng.random(n) < rate
        granted_by_channel[channel] = granted
        idx = np.flatnonzero(granted)
        consent_rows["customer_id"].append(customer_ids[idx])
        consent_rows["channel"].append(np.full(len(idx), channel))
        consent_rows["status"].append(np.full(len(idx), "granted"))
        consent_rows["source"].append(np.full(len(idx), "signup form"))
        consent_rows["recorded_at"].append(signup_at[idx])
    sends_customer, sends_day, sends_campaign = [], [], []
    for c in range(CAMPAIGNS):
        day = -(CAMPAIGNS - c) * 30 + 3
        eligible = np.flatnonzero(email_ok & (signup < day))
        sends_customer.append(eligible)
        sends_day.append(np.full(len(eligible), day))
        sends_campaign.append(np.full(len(eligible), c))
    who = np.concatenate(sends_customer) if sends_customer else np.zeros(0, dtype=np.int64)
    day = np.concatenate(sends_day) if sends_day else np.zeros(0, dtype=np.int64)
    campaign = np.concatenate(sends_campaign) if sends_campaign else np.zeros(0, dtype=np.int64)
    gone = (archetype[who] == ARCHETYPES.index("churned")) & (day > active_until[who])
    open_p = np.where(gone, 0.04, np.array(OPEN_RATE)[archetype[who]])
    opened = rng.random(len(who)) < open_p
    clicked = opened & (rng.random(len(who)) < 0.2)
    bounced = rng.random(len(who)) < 0.01
    unsubscribed = (~bounced) & (rng.random(len(who)) < np.where(gone, 0.01, 0.002))
    sent_at = end_day + day * DAY + np.timedelta64(10, "h")
    parts = [
        (np.ones(len(who), bool), "sent", 0),
        (opened, "open", 3600),
        (clicked, "click", 3900),
        (bounced, "bounce", 60),
        (unsubscribed, "unsubscribe", 4000),
    ]
    campaign_ids = np.array([f"campaign-{c}" for c in range(CAMPAIGNS)], dtype=object)
    cols: dict[str, list] = {k: [] for k in ("customer_id", "campaign_id", "type", "occurred_at")}
    for mask, kind, seconds in parts:
        idx = np.flatnonzero(mask)
        cols["customer_id"].append(customer_ids[who[idx]])
        cols["campaign_id"].append(campaign_ids[campaign[idx]])
        cols["type"].append(np.full(len(idx), kind, dtype=object))
        cols["occurred_at"].append(sent_at[idx] + np.timedelta64(seconds, "s"))
    total = sum(len(a) for a in cols["type"])
    data.tables["email_events"] = {
        "workspace_id": [workspace_id] * total,
        **{k: np.concatenate(v) for k, v in cols.items()},
    }
    # Unsubscribes revoke email consent (the latest record wins).
    revoked = np.flatnonzero(unsubscribed)
    revoked_customers, first = np.unique(who[revoked], return_index=True)
    email_idx = np.flatnonzero(email_ok)
    keep = ~np.isin(email_idx, revoked_customers)
    consent_rows["customer_id"][0] = customer_ids[email_idx[keep]]
    consent_rows["channel"][0] = np.full(int(keep.sum()), "email")
    consent_rows["status"][0] = np.full(int(keep.sum()), "granted")
    consent_rows["source"][0] = np.full(int(keep.sum()), "signup form")
    consent_rows["recorded_at"][0] = signup_at[email_idx[keep]]
    consent_rows["customer_id"].append(customer_ids[revoked_customers])
    consent_rows["channel"].append(np.full(len(revoked_customers), "email"))
    consent_rows["status"].append(np.full(len(revoked_customers), "revoked"))
    consent_rows["source"].append(
        np.char.add("unsubscribe:campaign-", campaign[revoked[first]].astype(str))
    )
    consent_rows["recorded_at"].append(sent_at[revoked[first]] + np.timedelta64(4000, "s"))
    total = sum(len(a) for a in consent_rows["channel"])
    data.tables["channel_consents"] = {
        "workspace_id": [workspace_id] * total,
        **{k: np.concatenate(v) for k, v in consent_rows.items()},
    }
    return granted_by_channel


def _identities(
    data: DemoData,
    seed: int,
    workspace_id: str,
    customers: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    granted: dict[str, np.ndarray],
    tag: str,
) -> None:
    """Every customer's userId and email; and `phone` and `device_token` addresses claimed at
    sign-up: a phone for every customer who opted in to SMS and two in five of the others, a
    device token for every one who opted in to push and one in five of the others. Phones are
    +1 555 and the customer's number in seven digits (an area code no one holds, so a demo
    never texts a real person).

    The addresses are drawn from a stream of their own, so every other table is the same as
    it was before they were added."""
    customer_ids, user_ids, emails, signup_at = customers
    n = len(customer_ids)
    rng = np.random.default_rng([seed, 1])
    with_phone = np.flatnonzero(granted["sms"] | (rng.random(n) < 0.4))
    with_device = np.flatnonzero(granted["push"] | (rng.random(n) < 0.2))
    phones, devices = len(with_phone), len(with_device)
    data.tables["customer_identities"] = {
        "workspace_id": [workspace_id] * (2 * n + phones + devices),
        "kind": ["user_id"] * n + ["email"] * n + ["phone"] * phones + ["device_token"] * devices,
        "value": np.concatenate(
            [
                user_ids,
                emails,
                _numbered("+1555", n, 7)[with_phone],
                _numbered(f"demo-push-{tag}-", n, 8)[with_device],
            ]
        ),
        "customer_id": np.concatenate(
            [customer_ids, customer_ids, customer_ids[with_phone], customer_ids[with_device]]
        ),
        "recorded_at": np.concatenate(
            [
                np.full(2 * n, np.datetime64("NaT"), dtype="datetime64[s]"),
                signup_at[with_phone],
                signup_at[with_device],
            ]
        ),
    }


def _pricing_views(
    data: DemoData,
    rng: np.random.Generator,
    workspace_id: str,
    customer_ids: np.ndarray,
    user_ids: np.ndarray,
    archetype: np.ndarray,
    signup: np.ndarray,
    active_until: np.ndarray,
    orders: tuple[np.ndarray, np.ndarray, np.ndarray],
    end_day: np.datetime64,
    tag: str,
) -> None:
    """Pricing-page views ("Pricing" page events), about 3 per customer or fewer:

    - before upgrades: 2 in 5 of the orders worth 1.5x or more of the customer's mean order
      are preceded by 1-2 views in the 1-14 days before (the signal the upgrade model learns);
    - noise: a few views at random days while the customer is active;
    - intent today: several in the last 14 days for upgrade-ready customers (a fifth of the
      regular and loyal), whose upgrade lies beyond the data's end.
    """
    n = len(customer_ids)
    order_customer, ordered_at, total = orders
    per_customer = np.maximum(np.bincount(order_customer, minlength=n), 1)
    mean_order = np.bincount(order_customer, weights=total, minlength=n) / per_customer
    larger = total >= 1.5 * mean_order[order_customer]
    signalled = np.flatnonzero(larger & (rng.random(len(total)) < 0.4))
    repeats = 1 + (rng.random(len(signalled)) < 0.4)
    before = np.repeat(signalled, repeats)
    before_at = (
        ordered_at[before].astype("datetime64[D]")
        - rng.integers(1, 15, len(before)) * DAY
        + rng.integers(8 * 3600, 22 * 3600, len(before)) * np.timedelta64(1, "s")
    )
    noise_who = np.repeat(np.arange(n), rng.poisson(0.2, n))
    noise_day = signup[noise_who] + rng.random(len(noise_who)) * np.maximum(
        active_until[noise_who] - signup[noise_who], 1
    )
    noise_at = (
        end_day
        + np.floor(noise_day).astype(np.int64) * DAY
        + rng.integers(8 * 3600, 22 * 3600, len(noise_who)) * np.timedelta64(1, "s")
    )
    engaged = np.isin(archetype, [ARCHETYPES.index("regular"), ARCHETYPES.index("loyal")])
    upgrade_ready = engaged & (rng.random(n) < 0.2)
    views = np.where(upgrade_ready, rng.integers(2, 6, n), (rng.random(n) < 0.05).astype(np.int64))
    recent_who = np.repeat(np.arange(n), views)
    recent_at = (
        end_day
        - rng.integers(1, 15, len(recent_who)) * DAY
        + rng.integers(8 * 3600, 22 * 3600, len(recent_who)) * np.timedelta64(1, "s")
    )
    who = np.concatenate([order_customer[before], noise_who, recent_who])
    at = np.concatenate(
        [before_at.astype("datetime64[s]"), noise_at.astype("datetime64[s]"), recent_at]
    )
    count = len(who)
    data.tables["events"] = {
        "workspace_id": [workspace_id] * count,
        "message_id": np.char.add(f"demo-{tag}-", np.arange(count).astype(str)),
        "type": ["page"] * count,
        "name": ["Pricing"] * count,
        "customer_id": customer_ids[who],
        "user_id": user_ids[who],
        "anonymous_id": [None] * count,
        "properties": [{}] * count,
        "timestamp": at,
        "received_at": at,
    }
