"""The batch gate: a mixed batch gives what running its requests one by one gives (a duplicate
key, a refused consent, a cap reached inside the batch, a channel failure, a key twice, the
rest sent), the audit chain verifies; and on PostgreSQL four batches racing over overlapping
keys and customers send each key once, without deadlocks. Real SMTP on loopback."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update

from core.db import session_scope
from core.models import AuditRecord, ChannelConsent, CustomerTouch, Execution, OutboxMessage
from core.settings import Settings
from guardrails.audit.service import verify
from guardrails.gate import ExecutionRequest, GateResult, execute, execute_many
from journeys.dispatch import AdapterPool
from tests.fixtures.smtp import CountingInbox, smtp_server
from tests.guardrails.approval_fixtures import make_team
from tests.guardrails.gate_fixtures import NOW, GateWorld, add_customer, approve, submit_asset

EXPECTED = [
    ("duplicate", "idempotency"),
    ("blocked", "consent"),
    ("executed", "allowed"),
    ("blocked", "cap_day"),
    ("failed", "channel"),
    ("executed", "allowed"),
    ("executed", "allowed"),
    ("executed", "allowed"),
    ("duplicate", "idempotency"),
]


@dataclass(frozen=True)
class Batch:
    world: GateWorld
    prefix: str

    def customer(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def request(self, key: str, name: str, trigger: str = "spring") -> ExecutionRequest:
        email = f"nobody-{self.prefix}@example.com" if name == "fail" else None
        return self.world.request(
            key=f"{self.prefix}/{key}",
            customer_id=self.customer(name),
            recipient=email or f"{self.customer(name)}@example.com",
            trigger_id=trigger,
        )

    def requests(self) -> list[ExecutionRequest]:
        return [
            self.request("dup", "c1"),  # executed before the batch
            self.request("nc", "nc"),  # consent revoked
            self.request("c2a", "c2", "t1"),
            self.request("c2b", "c2", "t2"),  # the second email today: the day cap
            self.request("fail", "fail"),  # the server refuses the recipient
            self.request("c3", "c3"),
            self.request("c4", "c4"),
            self.request("c5", "c5"),
            self.request("c2a", "c2", "t1"),  # the same key again, in the batch
        ]


def make_batch(settings: Settings, prefix: str) -> Batch:
    team = make_team(settings, slug=prefix)
    names = ["c1", "c2", "c3", "c4", "c5", "nc", "fail"]
    for name in names:
        customer = f"{prefix}_{name}"
        add_customer(settings, team.workspace_id, customer, f"{customer}@example.com")
    with session_scope(settings) as session:
        session.execute(
            update(ChannelConsent)
            .where(ChannelConsent.customer_id == f"{prefix}_nc")
            .values(status="revoked", source="preference centre")
        )
    item_id, digest = submit_asset(team)
    approve(team, item_id, digest)
    return Batch(GateWorld(team, settings, item_id, digest), prefix)


def smtp_settings(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
    )


def facts(settings: Settings, workspace_id: str) -> dict[str, object]:
    with session_scope(settings) as session:

        def count(model) -> int:
            return session.scalar(
                select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
            )

        decisions = session.scalars(
            select(AuditRecord.decision)
            .where(AuditRecord.workspace_id == workspace_id)
            .order_by(AuditRecord.seq)
        ).all()
        assert verify(session, workspace_id, settings=settings).intact
        return {
            "executions": count(Execution),
            "touches": count(CustomerTouch),
            "outbox": count(OutboxMessage),
            "decisions": decisions,
        }


def test_a_mixed_batch_gives_what_one_by_one_gives(db_settings):
    one, many = make_batch(db_settings, "one"), make_batch(db_settings, "many")
    inbox = CountingInbox()
    with smtp_server(inbox) as (_, port):
        settings = smtp_settings(db_settings, port)
        pool = AdapterPool(settings)
        try:
            for batch in (one, many):  # the key the batch finds taken
                with session_scope(settings) as session:
                    execute(session, batch.requests()[0], pool["email"], settings=settings, now=NOW)
            singles: list[GateResult] = []
            for request in one.requests():
                with session_scope(settings) as session:
                    singles.append(
                        execute(session, request, pool["email"], settings=settings, now=NOW)
                    )
            with session_scope(settings) as session:
                batched = execute_many(session, many.requests(), pool, settings=settings, now=NOW)
        finally:
            pool.close()
    assert [(r.status, r.rule) for r in singles] == EXPECTED
    assert [(r.status, r.rule) for r in batched] == EXPECTED
    assert [r.retry_at for r in batched] == [r.retry_at for r in singles]
    assert batched[-1].execution_id == batched[2].execution_id  # the repeat names the first
    assert all(r.audit_seq is not None for r in batched)
    assert [r.audit_seq for r in batched] == sorted(r.audit_seq for r in batched)
    sent = sorted(str(m["To"]) for m in inbox.messages)
    for prefix in ("one", "many"):
        assert [to for to in sent if to.startswith(prefix)] == [
            f"{prefix}_{name}@example.com" for name in ("c1", "c2", "c3", "c4", "c5")
        ]
    assert facts(settings, one.world.team.workspace_id) == facts(
        settings, many.world.team.workspace_id
    )
    assert facts(settings, many.world.team.workspace_id)["executions"] == 5


@pytest.mark.postgres
def test_four_batches_racing_over_the_same_keys_send_each_once(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    team = make_team(settings)
    customers = [f"race_{n:02d}" for n in range(12)]
    for customer in customers:
        add_customer(settings, team.workspace_id, customer, f"{customer}@example.com")
    item_id, digest = submit_asset(team)
    approve(team, item_id, digest)
    world = GateWorld(team, settings, item_id, digest)

    def request(n: int) -> ExecutionRequest:  # key order runs against customer order
        customer = customers[11 - n]
        return world.request(
            key=f"race/{n:02d}", customer_id=customer, recipient=f"{customer}@example.com"
        )

    windows = [list(range(0, 8)), list(range(4, 12)), [*range(8, 12), *range(0, 4)], [11, 0, 5]]
    barrier = threading.Barrier(len(windows))
    results: list[list[GateResult]] = [[] for _ in windows]
    errors: list[BaseException] = []
    inbox = CountingInbox()
    with smtp_server(inbox) as (_, port):
        mailer = smtp_settings(settings, port)

        def run(index: int) -> None:
            pool = AdapterPool(mailer)
            try:
                barrier.wait()
                with session_scope(mailer) as session:
                    results[index] = execute_many(
                        session,
                        [request(n) for n in windows[index]],
                        pool,
                        settings=mailer,
                        now=NOW,
                    )
            except BaseException as exc:
                errors.append(exc)
            finally:
                pool.close()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(windows))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    executed = [r for batch in results for r in batch if r.executed]
    assert len(executed) == 12
    assert {r.status for batch in results for r in batch} <= {"executed", "duplicate"}
    assert sorted(str(m["To"]) for m in inbox.messages) == sorted(
        f"{c}@example.com" for c in customers
    )
    with session_scope(settings) as session:
        assert session.scalar(select(func.count()).select_from(Execution)) == 12
        assert verify(session, team.workspace_id, settings=settings).intact


class _Broken:
    """The real email adapter, except that one recipient makes it raise a plain error (a
    provider's odd answer, a bug): not a DeliveryFailed."""

    channel = "email"

    def __init__(self, inner, recipient: str) -> None:
        self.inner, self.recipient = inner, recipient

    def deliver(self, delivery):
        if delivery.recipient == self.recipient:
            raise ValueError(f"unexpected answer for {delivery.recipient}")
        return self.inner.deliver(delivery)


def test_an_adapter_error_mid_batch_fails_that_send_and_keeps_the_others(db_settings, caplog):
    batch = make_batch(db_settings, "odd")
    names = ["c1", "c2", "c3", "c4"]
    requests = [batch.request(f"k{n}", n) for n in names]
    broken = requests[1].recipient
    with smtp_server() as (inbox, port):
        settings = smtp_settings(db_settings, port)
        pool = AdapterPool(settings)
        try:
            adapters = {"email": _Broken(pool["email"], broken)}
            with session_scope(settings) as session:
                results = execute_many(session, requests, adapters, settings=settings, now=NOW)
        finally:
            pool.close()
    assert [(r.status, r.rule) for r in results] == [
        ("executed", "allowed"),
        ("failed", "channel"),
        ("executed", "allowed"),
        ("executed", "allowed"),
    ]
    assert results[1].retryable is False  # the provider may have the message: not again
    assert "ValueError" in results[1].detail and broken not in results[1].detail
    assert sorted(str(m["To"]) for m in inbox.messages) == sorted(
        r.recipient for r in requests if r.recipient != broken
    )
    assert facts(settings, batch.world.team.workspace_id)["executions"] == 3  # committed
    assert broken not in caplog.text  # logged by type and place, never the address
    assert "ValueError" in caplog.text
