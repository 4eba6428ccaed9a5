"""The dense index on a real Chroma server (`chroma run` on loopback) via MCOPILOT_CHROMA_URL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.errors import BackendUnavailable
from core.models import Document
from core.settings import Settings
from retrieval.ingest import ingest_path
from retrieval.search import search
from retrieval.vector_store import collection_name
from tests.fixtures.corpus import write_corpus

pytestmark = pytest.mark.chroma_server


@pytest.fixture
def server_settings(tmp_path, chroma_server) -> Settings:
    return Settings(data_dir=tmp_path / "data", chroma_url=chroma_server.url)


def test_ingest_and_search_through_a_chroma_server(tmp_path, server_settings):
    write_corpus(tmp_path / "a", {"a.md": "# Alpha\n\n## Offer\n\nAlpha kayaks ship free.\n"})
    write_corpus(tmp_path / "b", {"b.md": "# Beta\n\n## Offer\n\nBeta telescopes ship free.\n"})
    ingest_path(server_settings, "alpha", tmp_path / "a", create_workspace=True)
    ingest_path(server_settings, "beta", tmp_path / "b", create_workspace=True)
    results = search("alpha", "telescopes", k=5, settings=server_settings)
    assert results and all(r.source == "a.md" for r in results)
    dense_only = search("beta", "kayaks", k=5, settings=server_settings)
    assert all(r.source == "b.md" for r in dense_only)

    import chromadb

    client = chromadb.HttpClient(
        host="127.0.0.1", port=int(server_settings.chroma_url.split(":")[-1])
    )
    names = {c.name for c in client.list_collections()}
    with session_scope(server_settings) as session:
        workspace_ids = set(session.scalars(select(Document.workspace_id)))
    assert {collection_name(w) for w in workspace_ids} <= names
    assert not (tmp_path / "data" / "chroma").exists(), "nothing was written to an embedded store"


def test_a_chroma_outage_before_commit_leaves_the_database_unchanged(
    tmp_path, server_settings, chroma_server
):
    root = write_corpus(tmp_path / "brand", {"p.md": "# Pricing\n\n## Plans\n\nStarter $29.\n"})
    ingest_path(server_settings, "acme", root, create_workspace=True)
    with session_scope(server_settings) as session:
        before = session.scalars(select(Document.content_hash)).one()
    chroma_server.stop()
    # the process keeps its client: the server died under it
    (root / "p.md").write_text("# Pricing\n\n## Plans\n\nStarter $35.\n")
    (root / "q.md").write_text("# New\n\n## Doc\n\nA new document.\n")
    with pytest.raises(BackendUnavailable) as caught:
        ingest_path(server_settings, "acme", root)
    assert caught.value.field == "MCOPILOT_CHROMA_URL"
    with session_scope(server_settings) as session:
        assert session.scalars(select(Document.content_hash)).all() == [before]


def test_a_delete_stands_when_chroma_fails_after_the_commit(
    tmp_path, server_settings, chroma_server
):
    from retrieval.knowledge import delete_document, list_documents

    root = write_corpus(
        tmp_path / "brand",
        {"p.md": "# P\n\n## A\n\nStarter $29.\n", "q.md": "# Q\n\n## B\n\nGrowth $79.\n"},
    )
    ingest_path(server_settings, "acme", root, create_workspace=True)
    chroma_server.stop()
    deleted = delete_document(server_settings, "acme", "p.md")
    assert [d.source for d in list_documents(server_settings, "acme")] == ["q.md"]
    assert deleted.warnings and "mcopilot knowledge reindex" in deleted.warnings[0]
