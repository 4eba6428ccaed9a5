"""On PostgreSQL, the gate locks a batch's customers before it claims their keys: the execution
rows point at the customers, so claiming first takes a key-share lock on each that the customer
lock must then upgrade, and two sends to one customer under different keys deadlock."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import session_factory
from core.models import Customer
from core.settings import Settings
from guardrails.gate import execute
from journeys.channels.email import SmtpEmailAdapter
from tests.fixtures.lock_waits import described, in_thread, wait_blocked
from tests.fixtures.smtp import smtp_server
from tests.guardrails.gate_fixtures import CUSTOMER, NOW, make_world

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_settings(tmp_path, postgres_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=postgres_url)


def test_two_sends_to_one_customer_under_different_keys_do_not_deadlock(pg_settings):
    world = make_world(pg_settings)
    with smtp_server() as (inbox, port):
        settings = pg_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
        pids: dict[str, int] = {}
        errors: list[tuple[str, BaseException]] = []
        results: dict[str, str] = {}
        # A third transaction holds the customer (FOR NO KEY UPDATE: foreign-key checks pass),
        # so both sends queue on it: the interleaving two workers reach by chance, made certain.
        blocker = session_factory(settings)()
        blocker.execute(
            select(Customer).where(Customer.id == CUSTOMER).with_for_update(key_share=True)
        )

        def send(key: str):
            def work(session) -> None:
                request = world.request(key=key, trigger_id=key)
                result = execute(
                    session, request, SmtpEmailAdapter(settings), settings=settings, now=NOW
                )
                results[key] = result.status

            return work

        threads = []
        for key in ("spring/one", "spring/two"):
            threads.append(in_thread(key, send(key), settings, pids, errors))
            wait_blocked(settings, pids, key)
        blocker.commit()
        blocker.close()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
    assert not errors, described(errors)
    assert results["spring/one"] == "executed"
    assert len(inbox.messages) == list(results.values()).count("executed")
