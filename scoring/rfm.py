"""RFM as the seed defines it, computed set-based in SQL (one statement) and, for checking,
in plain Python on plain data.

- recency: calendar days from the last completed order (paid or completed, any time up to and
  including the as-of day) to the as-of day; no completed order: no recency.
- frequency: completed orders in the window (the `window_days` days ending with the as-of day).
- monetary: their total, in cents.
- r, f, m: 1-5 by quintile over the workspace's active customers, 5 best (recent, frequent,
  high spend). Ties: customers with the same value share the bucket of the first position of
  their tie group, bucket = 1 + floor(5 x (rank - 1) / n) with rank the SQL RANK() from the
  worst value up. So a large tie (everyone with 0 orders) all lands in the lowest bucket it
  starts in, and equal values never end up in different buckets. No recency ranks worst.
- composite: weighted sum, 4R + 3F + 3M by default (10-50); VIP at 38 or more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import BigInteger, Date, Integer, and_, case, cast, func, literal, select, union_all
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import CTE

from core.errors import InvalidInput
from core.models import COMPLETED_STATUSES, Customer, Order, RfmSnapshot
from core.models.base import UTCDateTime
from core.sql import whole_days_between

VIP_THRESHOLD = 38


@dataclass(frozen=True, slots=True)
class RfmConfig:
    window_days: int = 180
    weights: tuple[int, int, int] = (4, 3, 3)
    vip_threshold: int = VIP_THRESHOLD

    def __post_init__(self) -> None:
        if not 1 <= self.window_days <= 3650:
            raise InvalidInput(
                f"must be between 1 and 3650, got {self.window_days}", field="--window-days"
            )
        if len(self.weights) != 3 or any(w < 0 for w in self.weights) or not any(self.weights):
            raise InvalidInput(
                "three weights of 0 or more, not all 0, are needed", field="--weights"
            )

    @property
    def weights_text(self) -> str:
        return ",".join(str(w) for w in self.weights)


@dataclass(frozen=True, slots=True)
class RfmRow:
    customer_id: str
    recency_days: int | None
    frequency: int
    monetary_cents: int
    r: int
    f: int
    m: int
    composite: int


def bucket(rank: int, count: int) -> int:
    """The 1-5 bucket of a 1-based tie-aware rank among count values (worst first)."""
    return 1 + (5 * (rank - 1)) // count


def _ranks(keys: Sequence[tuple]) -> list[int]:  # type: ignore[type-arg]
    """SQL RANK(): 1-based position of the first equal key in sorted order."""
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    ranks = [0] * len(keys)
    for position, index in enumerate(order, start=1):
        previous = order[position - 2] if position > 1 else None
        same = previous is not None and keys[previous] == keys[index]
        ranks[index] = ranks[previous] if same else position  # type: ignore[index]
    return ranks


def window_bounds(as_of: date, window_days: int) -> tuple[datetime, datetime]:
    """[start, end) of the window in UTC: end is the midnight after the as-of day."""
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC) + timedelta(days=1)
    return end - timedelta(days=window_days), end


def compute_rfm(
    customers: Sequence[str],
    orders: Sequence[tuple[str, datetime, str, int]],
    as_of: date,
    config: RfmConfig,
) -> list[RfmRow]:
    """The reference: customers' ids and (customer, ordered_at, status, total_cents) orders."""
    start, end = window_bounds(as_of, config.window_days)
    last: dict[str, datetime] = {}
    frequency = dict.fromkeys(customers, 0)
    monetary = dict.fromkeys(customers, 0)
    for customer, at, status, total in orders:
        if status not in COMPLETED_STATUSES or at >= end or customer not in frequency:
            continue
        if customer not in last or at > last[customer]:
            last[customer] = at
        if at >= start:
            frequency[customer] += 1
            monetary[customer] += total
    recency = {c: ((as_of - last[c].date()).days if c in last else None) for c in customers}
    n = len(customers)
    r_rank = _ranks([(recency[c] is not None, -(recency[c] or 0)) for c in customers])
    f_rank = _ranks([(frequency[c],) for c in customers])
    m_rank = _ranks([(monetary[c],) for c in customers])
    wr, wf, wm = config.weights
    rows = []
    for i, c in enumerate(customers):
        r, f, m = bucket(r_rank[i], n), bucket(f_rank[i], n), bucket(m_rank[i], n)
        rows.append(
            RfmRow(c, recency[c], frequency[c], monetary[c], r, f, m, wr * r + wf * f + wm * m)
        )
    return rows


def _full_stats(workspace_id: str, as_of: date, config: RfmConfig) -> CTE:
    """Every active customer's recency, frequency and monetary value from all their orders."""
    start, end = window_bounds(as_of, config.window_days)
    completed = and_(
        Order.status.in_(COMPLETED_STATUSES), Order.ordered_at < literal(end, UTCDateTime())
    )
    # Orders are aggregated first (an index-only scan of ix_orders_customer_time), then
    # joined to every active customer, so customers without orders are scored too. The WHERE
    # keeps completed orders only, so the window test needs the start alone (testing the
    # status and the end again per row took a quarter of the aggregate's time on SQLite).
    in_window = Order.ordered_at >= literal(start, UTCDateTime())
    per_customer = (
        select(
            Order.customer_id,
            func.max(Order.ordered_at).label("last_order"),
            cast(func.sum(case((in_window, 1), else_=0)), Integer).label("frequency"),
            # PostgreSQL sums bigints as numeric: slower to add and to rank than a bigint
            cast(func.sum(case((in_window, Order.total_cents), else_=0)), BigInteger).label(
                "monetary_cents"
            ),
        )
        .where(Order.workspace_id == workspace_id, completed)
        .group_by(Order.customer_id)
        .subquery()
    )
    last_order = per_customer.c.last_order
    return (
        select(
            Customer.id.label("customer_id"),
            whole_days_between(literal(as_of, Date()), last_order).label("recency_days"),
            func.coalesce(per_customer.c.frequency, 0).label("frequency"),
            func.coalesce(per_customer.c.monetary_cents, 0).label("monetary_cents"),
        )
        .select_from(Customer)
        .outerjoin(per_customer, per_customer.c.customer_id == Customer.id)
        .where(Customer.workspace_id == workspace_id, Customer.merged_into.is_(None))
        .cte("stats")
    )


def _incremental_stats(workspace_id: str, as_of: date, config: RfmConfig, base: date) -> CTE:
    """The same from the stored snapshot of the base day: plus the completed orders that
    entered the window since, minus the ones that left it (two ranges of ix_orders_time, a
    few thousand orders a day); recency from the newest entering order, else the base's
    plus the days passed. Right only when no order before the base's window end changed
    since the base was computed (`scoring.rfm_plan` decides)."""
    base_start, base_end = window_bounds(base, config.window_days)
    start, end = window_bounds(as_of, config.window_days)

    def moved(low: datetime, high: datetime, sign: int) -> Select:  # type: ignore[type-arg]
        return select(
            Order.customer_id,
            (Order.ordered_at if sign > 0 else literal(None, UTCDateTime())).label("at"),
            literal(sign).label("orders"),
            (Order.total_cents * sign).label("cents"),
        ).where(
            Order.workspace_id == workspace_id,
            Order.ordered_at >= literal(low, UTCDateTime()),
            Order.ordered_at < literal(high, UTCDateTime()),
            Order.status.in_(COMPLETED_STATUSES),
        )

    moves = union_all(moved(base_end, end, 1), moved(base_start, start, -1)).subquery("moves")
    delta = (
        select(
            moves.c.customer_id,
            func.max(moves.c.at).label("newest"),
            cast(func.sum(moves.c.orders), Integer).label("orders"),
            cast(func.sum(moves.c.cents), BigInteger).label("cents"),
        )
        .group_by(moves.c.customer_id)
        .subquery("delta")
    )
    previous = (
        select(
            RfmSnapshot.customer_id,
            RfmSnapshot.recency_days,
            RfmSnapshot.frequency,
            RfmSnapshot.monetary_cents,
        )
        .where(RfmSnapshot.workspace_id == workspace_id, RfmSnapshot.as_of == base)
        .subquery("base")
    )
    recency = case(
        (delta.c.newest.is_not(None), whole_days_between(literal(as_of, Date()), delta.c.newest)),
        else_=previous.c.recency_days + (as_of - base).days,
    )
    return (
        select(
            Customer.id.label("customer_id"),
            recency.label("recency_days"),
            (func.coalesce(previous.c.frequency, 0) + func.coalesce(delta.c.orders, 0)).label(
                "frequency"
            ),
            (func.coalesce(previous.c.monetary_cents, 0) + func.coalesce(delta.c.cents, 0)).label(
                "monetary_cents"
            ),
        )
        .select_from(Customer)
        .outerjoin(previous, previous.c.customer_id == Customer.id)
        .outerjoin(delta, delta.c.customer_id == Customer.id)
        .where(Customer.workspace_id == workspace_id, Customer.merged_into.is_(None))
        .cte("stats")
    )


def rfm_select(
    workspace_id: str, as_of: date, config: RfmConfig, base: date | None = None
) -> Select:  # type: ignore[type-arg]
    """One SELECT giving every active customer's RFM row as of the day (no Python loop):
    from all orders, or from the stored snapshot of the base day and the orders since."""
    stats = (
        _full_stats(workspace_id, as_of, config)
        if base is None
        else _incremental_stats(workspace_id, as_of, config, base)
    )
    recency = stats.c.recency_days
    ranked = select(
        stats.c.customer_id,
        recency,
        stats.c.frequency,
        stats.c.monetary_cents,
        func.rank()
        .over(order_by=(case((recency.is_(None), 0), else_=1), recency.desc()))
        .label("r_rank"),
        func.rank().over(order_by=stats.c.frequency).label("f_rank"),
        func.rank().over(order_by=stats.c.monetary_cents).label("m_rank"),
        func.count().over().label("n"),
    ).cte("ranked")
    wr, wf, wm = config.weights

    def to_bucket(rank):
        return literal(1) + (literal(5) * (rank - 1)) // ranked.c.n

    r, f, m = to_bucket(ranked.c.r_rank), to_bucket(ranked.c.f_rank), to_bucket(ranked.c.m_rank)
    return select(
        ranked.c.customer_id,
        ranked.c.recency_days,
        ranked.c.frequency,
        ranked.c.monetary_cents,
        r.label("r"),
        f.label("f"),
        m.label("m"),
        (wr * r + wf * f + wm * m).label("composite"),
    )
