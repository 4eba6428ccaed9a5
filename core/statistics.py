"""Planner statistics on PostgreSQL: analyze the tables a bulk change left stale.

After a bulk load or replace (customer features for a whole workspace, a first segment
compute), PostgreSQL still plans with the statistics of before until autovacuum catches up,
and with "one customer" estimates a 20,000-customer segment query took 64 s instead of
66 ms. A table is stale when it was never analyzed, when its file grew by more than a fifth
since the planner last counted its pages (seen at once, no statistics-collector lag), or
when more than a fifth of its rows changed since the last analyze. SQLite keeps no such
counters (see `analyze_stale`). Bulk loaders analyze what they wrote outright with
`core.db.refresh_planner_statistics`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

GROWTH = 1.2
SLACK_PAGES = 8
CHANGED_SHARE = 0.2
SLACK_ROWS = 500
_ANALYZED = "core.statistics.analyzed"

# The counters by the tables' oids: the view pg_stat_user_tables computes its twenty-odd
# counters for every table of the database before the join (80 ms a call in a database of
# 1,200 relations, against 0.2 ms).
_STATE = text(
    """
    SELECT c.relname, c.reltuples, c.relpages,
           pg_relation_size(c.oid) / current_setting('block_size')::int AS pages,
           coalesce(pg_stat_get_mod_since_analyze(c.oid), 0) AS modified,
           coalesce(pg_stat_get_live_tuples(c.oid), 0) AS live
    FROM unnest(:names) AS t(name)
    JOIN pg_class c ON c.oid = to_regclass(t.name)
    """
).bindparams(bindparam("names", type_=ARRAY(Text())))


def is_stale(reltuples: float, relpages: int, pages: int, modified: int, live: int) -> bool:
    """Whether the planner's picture of a table is too old to plan with."""
    if reltuples < 0:  # never analyzed nor vacuumed
        return pages > 0
    if pages > relpages * GROWTH + SLACK_PAGES:
        return True
    return modified > CHANGED_SHARE * max(live, reltuples) + SLACK_ROWS


def analyze_stale(session: Session, tables: Sequence[str]) -> list[str]:
    """ANALYZE those of the tables whose statistics are stale, in the session's transaction;
    their names. SQLite keeps no counters to tell, so there each table is analyzed once per
    transaction (a full ANALYZE of the scoring tables at 100,000 customers takes 0.16 s and
    turned a 1.0 s segment query, which the stale statistics drove from the wrong index, into
    0.3 s)."""
    session.connection()  # begin the transaction, so it is the one remembered
    transaction = session.get_transaction()
    done = session.info.get(_ANALYZED)
    if done is None or done[0] is not transaction:
        done = (transaction, set())
        session.info[_ANALYZED] = done
    quote = session.get_bind().dialect.identifier_preparer.quote
    if session.get_bind().dialect.name == "sqlite":
        fresh = [name for name in tables if name not in done[1]]
        for name in fresh:
            session.execute(text(f"ANALYZE {quote(name)}"))
            done[1].add(name)
        return fresh
    if session.get_bind().dialect.name != "postgresql":
        return []
    # The activity counters are a snapshot taken once per transaction, so a table analyzed
    # earlier in this transaction would still look modified: for those only the page count
    # (from pg_class, which our own ANALYZE updated) decides.
    rows = session.execute(_STATE, {"names": list(tables)}).all()
    stale = [
        row.relname
        for row in rows
        if is_stale(
            row.reltuples,
            row.relpages,
            row.pages,
            0 if row.relname in done[1] else row.modified,
            row.live,
        )
    ]
    for name in stale:
        session.execute(text(f"ANALYZE {quote(name)}"))
        done[1].add(name)
    return stale
