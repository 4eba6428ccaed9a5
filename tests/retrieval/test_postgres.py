"""Ingest, re-ingest, search and delete with PostgreSQL as the database (scale-out mode)."""

from __future__ import annotations

import pytest

from core.settings import Settings
from retrieval.ingest import ingest_path
from retrieval.knowledge import delete_document, list_documents
from retrieval.search import search
from tests.fixtures.corpus import write_corpus

pytestmark = pytest.mark.postgres


def test_knowledge_lifecycle_on_postgres(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    root = write_corpus(tmp_path / "brand")
    first = ingest_path(settings, "acme", root, create_workspace=True)
    assert first.count("added") == 5
    again = ingest_path(settings, "acme", root)
    assert again.count("unchanged") == 5 and again.embedded == 0
    ingest_path(settings, "globex", root, create_workspace=True)
    results = search("acme", "Reply STOP to opt out", k=3, settings=settings)
    assert results[0].source == "sms/opt-out.md"
    acme_docs = {d.id for d in list_documents(settings, "acme")}
    assert {r.doc_id for r in results} <= acme_docs
    delete_document(settings, "acme", "sms/opt-out.md")
    after = search("acme", "Reply STOP to opt out", k=5, settings=settings)
    assert all(r.source != "sms/opt-out.md" for r in after)
    assert search("globex", "Reply STOP", k=1, settings=settings)[0].source == "sms/opt-out.md"


def test_concurrent_ingests_into_one_workspace_on_postgres(tmp_path, postgres_url):
    from concurrent.futures import ThreadPoolExecutor

    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    root = write_corpus(tmp_path / "brand")
    ingest_path(settings, "acme", tmp_path / "brand" / "pricing.md", create_workspace=True)
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: ingest_path(settings, "acme", root), range(2)))
    assert all(not r.failed for r in reports)
    assert len(list_documents(settings, "acme")) == 5
