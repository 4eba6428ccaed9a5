"""On PostgreSQL, with real concurrent connections: many attempts at one action execute it
exactly once, and an edit racing approvals and sends never lets unapproved content out."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.models import Execution
from core.settings import Settings
from guardrails import approvals
from guardrails.approval_requests import parse_request
from guardrails.gate import GateResult, execute
from journeys.channels.email import SmtpEmailAdapter
from tests.fixtures.smtp import smtp_server
from tests.guardrails.approval_fixtures import POLICY
from tests.guardrails.gate_fixtures import CONTENT, NOW, add_customer, approve, make_world

pytestmark = pytest.mark.postgres
ATTEMPTS = 8


@pytest.fixture
def pg_settings(tmp_path, postgres_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=postgres_url)


def _all_at_once(work, count: int) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_many_attempts_at_one_action_execute_it_exactly_once(pg_settings):
    world = make_world(pg_settings)
    with smtp_server() as (inbox, port):
        settings = pg_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})

        def attempt(_: int) -> GateResult:
            with session_scope(settings) as session:
                return execute(
                    session,
                    world.request(key="spring/step-1/cus_gate_1"),
                    SmtpEmailAdapter(settings),
                    settings=settings,
                    now=NOW,
                )

        results = _all_at_once(attempt, ATTEMPTS)
    assert Counter(r.status for r in results) == {"executed": 1, "duplicate": ATTEMPTS - 1}
    assert len(inbox.messages) == 1
    assert len({r.execution_id for r in results}) == 1
    with session_scope(settings) as session:
        assert session.scalar(select(func.count()).select_from(Execution)) == 1


@pytest.mark.parametrize("round_", range(4))
def test_an_edit_racing_sends_and_approvals_never_lets_unapproved_content_out(pg_settings, round_):
    world = make_world(pg_settings)
    customers = [f"cus_race_{i}" for i in range(ATTEMPTS)]
    for customer in customers:
        add_customer(pg_settings, world.team.workspace_id, customer, f"{customer}@example.com")
    edited_content = {**CONTENT, "body": "Edited: 50% off everything, today only"}
    edited = parse_request({"kind": "asset", "title": "Spring email", "content": edited_content})

    with smtp_server() as (inbox, port):
        settings = pg_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})

        def act(index: int) -> object:
            if index == 0:  # the marketer edits the approved content
                with session_scope(settings) as session:
                    approvals.edit(
                        session,
                        actor=world.team.marketer,
                        item_id=world.item_id,
                        request=edited,
                        policy=POLICY,
                    )
                return "edited"
            if index == 1:  # a second approval of the old content, at the same moment
                try:
                    approve(world.team, world.item_id, world.content_hash)
                except Exception as exc:
                    return type(exc).__name__
                return "approved"
            customer = customers[index]
            content = CONTENT if index % 2 else edited_content  # old and new content both try
            with session_scope(settings) as session:
                return execute(
                    session,
                    world.request(
                        key=f"race/{customer}",
                        customer_id=customer,
                        content=content,
                        recipient=f"{customer}@example.com",
                    ),
                    SmtpEmailAdapter(settings),
                    settings=settings,
                    now=NOW,
                )

        results = _all_at_once(act, ATTEMPTS)
        sends = [r for r in results if isinstance(r, GateResult)]
        executed = [r for r in sends if r.executed]
        # every email that went out carries the approved (old) content; the edit voided the
        # approval, so nothing with the new content went out, and nothing after the edit.
        assert len(inbox.messages) == len(executed)
        assert all(m.get_content().strip() == CONTENT["body"] for m in inbox.messages)
        assert all(r.rule == "approval" for r in sends if not r.executed)
        with session_scope(settings) as session:
            assert not approvals.is_approved(
                session,
                workspace_id=world.team.workspace_id,
                item_id=world.item_id,
                content_hash=world.content_hash,
                now=NOW,
            )
            assert session.scalar(select(func.count()).select_from(Execution)) == len(executed)
        late = None
        with session_scope(settings) as session:
            late = execute(
                session,
                world.request(
                    key="race/late", customer_id=customers[3], recipient="late@example.com"
                ),
                SmtpEmailAdapter(settings),
                settings=settings,
                now=NOW,
            )
        assert (late.status, late.rule) == ("blocked", "approval")
