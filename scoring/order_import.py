"""Load orders from CSV (`order_id,customer_id,ordered_at,total` and optional `status,currency`).

Rows are validated first (bad rows are reported with line number and field, and left out); the
valid rows then load in one transaction with set-based upserts, creating customers that do not
exist yet. Loading the same file twice changes nothing.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import workspaces
from core.clock import utcnow
from core.db import refresh_planner_statistics, session_scope
from core.errors import InvalidInput
from core.ids import new_id
from core.models import ORDER_STATUSES, Customer, CustomerIdentity, Order
from core.order_log import note_order_write
from core.settings import Settings
from core.sql import dialect_insert
from scoring.commerce_events import PropertyError, cents
from scoring.segment_messages import RowError

REQUIRED = ("order_id", "customer_id", "ordered_at", "total")
OPTIONAL = ("status", "currency")
BATCH = 5000


@dataclass(frozen=True, slots=True)
class OrderRow:
    order_id: str
    customer_id: str
    ordered_at: datetime
    total_cents: int
    status: str
    currency: str


@dataclass
class OrderImportReport:
    loaded: int = 0
    customers_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 date or date-time; a date is midnight UTC, a time without zone is UTC."""
    value = text.strip()
    if len(value) == 10:
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_row(row: dict[str, str | None], line: int) -> OrderRow | RowError:
    """One CSV row, checked field by field."""
    values = {key: (row.get(key) or "").strip() for key in (*REQUIRED, *OPTIONAL)}
    for key in REQUIRED:
        if not values[key]:
            return RowError(line, key, "is required")
    for key in ("order_id", "customer_id"):
        if len(values[key]) > 100:
            return RowError(line, key, "is longer than 100 characters")
    try:
        ordered_at = parse_timestamp(values["ordered_at"])
    except ValueError:
        return RowError(
            line, "ordered_at", f"must be an ISO date or date-time, got {values['ordered_at']!r}"
        )
    try:
        total = cents(values["total"], "total")
    except PropertyError as exc:
        return RowError(line, "total", str(exc))
    status = (values["status"] or "completed").lower()
    if status not in ORDER_STATUSES:
        return RowError(
            line, "status", f"must be one of {', '.join(ORDER_STATUSES)}, got {status!r}"
        )
    currency = (values["currency"] or "USD").upper()
    if len(currency) != 3 or not currency.isalpha():
        return RowError(line, "currency", f"must be a 3-letter code, got {values['currency']!r}")
    return OrderRow(values["order_id"], values["customer_id"], ordered_at, total, status, currency)


def read_orders(path: Path, report: OrderImportReport) -> list[OrderRow]:
    """Valid rows of the file; errors (line numbers as a spreadsheet shows them) go in report."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {str(path)!r}", field="FILE") from None
    rows: list[OrderRow] = []
    first_line: dict[str, int] = {}
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = [name.strip() for name in reader.fieldnames or []]
        except UnicodeDecodeError:
            raise InvalidInput(f"{str(path)!r} is not UTF-8 text", field="FILE") from None
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise InvalidInput(
                f"the header lacks {', '.join(missing)}",
                field="FILE",
                fix=f"the first line must name the columns {','.join(REQUIRED)}"
                f"[,{','.join(OPTIONAL)}]",
            )
        reader.fieldnames = header
        report.ignored_columns = [n for n in header if n not in (*REQUIRED, *OPTIONAL)]
        try:
            for raw in reader:
                line = reader.line_num
                parsed = parse_row(raw, line)
                if isinstance(parsed, RowError):
                    report.errors.append(parsed)
                elif parsed.order_id in first_line:
                    report.errors.append(
                        RowError(line, "order_id", f"duplicates line {first_line[parsed.order_id]}")
                    )
                else:
                    first_line[parsed.order_id] = line
                    rows.append(parsed)
        except UnicodeDecodeError:
            raise InvalidInput(f"{str(path)!r} is not UTF-8 text", field="FILE") from None
        except csv.Error as exc:
            raise InvalidInput(f"not a readable CSV: {exc}", field="FILE") from None
    return rows


def import_orders(settings: Settings, workspace_slug: str, path: str | Path) -> OrderImportReport:
    report = OrderImportReport()
    rows = read_orders(Path(path), report)
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        customer_ids, created = ensure_customers(
            session, workspace.id, sorted({r.customer_id for r in rows})
        )
        upsert_orders(session, workspace.id, rows, customer_ids)
        refresh_planner_statistics(session, ("customers", "orders"))
    report.loaded, report.customers_created = len(rows), created
    return report


def ensure_customers(
    session: Session, workspace_id: str, user_ids: list[str]
) -> tuple[dict[str, str], int]:
    """Customer ids for these userIds, creating profiles for the ones not seen before."""
    known: dict[str, str] = {}
    for i in range(0, len(user_ids), BATCH):
        known.update(
            session.execute(
                select(CustomerIdentity.value, CustomerIdentity.customer_id).where(
                    CustomerIdentity.workspace_id == workspace_id,
                    CustomerIdentity.kind == "user_id",
                    CustomerIdentity.value.in_(user_ids[i : i + BATCH]),
                )
            ).all()
        )
    now = utcnow()
    missing = [u for u in user_ids if u not in known]
    fresh = {u: new_id("cus") for u in missing}
    for i in range(0, len(missing), BATCH):
        batch = missing[i : i + BATCH]
        session.execute(
            dialect_insert(session)(Customer),
            [
                {
                    "id": fresh[u],
                    "workspace_id": workspace_id,
                    "user_id": u,
                    "traits": {},
                    "preferred_channels": [],
                    "first_seen_at": now,
                    "last_seen_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for u in batch
            ],
        )
        session.execute(
            dialect_insert(session)(CustomerIdentity),
            [
                {
                    "workspace_id": workspace_id,
                    "kind": "user_id",
                    "value": u,
                    "customer_id": fresh[u],
                }
                for u in batch
            ],
        )
    return {**known, **fresh}, len(missing)


def upsert_orders(
    session: Session, workspace_id: str, rows: list[OrderRow], customer_ids: dict[str, str]
) -> None:
    """Insert or update every order by (workspace, order_id), noting the write with the
    earliest order time it touches, before (an update may move an order) or after."""
    if not rows:
        return
    insert = dialect_insert(session)
    earliest = min(r.ordered_at for r in rows)
    for i in range(0, len(rows), BATCH):
        before = session.scalar(
            select(func.min(Order.ordered_at)).where(
                Order.workspace_id == workspace_id,
                Order.id.in_([r.order_id for r in rows[i : i + BATCH]]),
            )
        )
        if before is not None:
            earliest = min(earliest, before)
    note_order_write(session, workspace_id, earliest)
    for i in range(0, len(rows), BATCH):
        statement = insert(Order)
        statement = statement.on_conflict_do_update(
            index_elements=[Order.workspace_id, Order.id],
            set_={
                "customer_id": statement.excluded.customer_id,
                "ordered_at": statement.excluded.ordered_at,
                "status": statement.excluded.status,
                "total_cents": statement.excluded.total_cents,
                "currency": statement.excluded.currency,
            },
        )
        session.execute(
            statement,
            [
                {
                    "workspace_id": workspace_id,
                    "id": r.order_id,
                    "customer_id": customer_ids[r.customer_id],
                    "ordered_at": r.ordered_at,
                    "status": r.status,
                    "total_cents": r.total_cents,
                    "currency": r.currency,
                }
                for r in rows[i : i + BATCH]
            ],
        )
