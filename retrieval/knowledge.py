"""Knowledge administration: list documents, delete one from every index, rebuild indexes."""

from __future__ import annotations

from dataclasses import dataclass

from core import workspaces
from core.db import session_scope
from core.models import Document
from core.settings import Settings
from retrieval import knowledge_store
from retrieval.indexes import Indexes, shared_indexes
from retrieval.ingest import after_commit


def list_documents(settings: Settings, workspace_slug: str) -> list[Document]:
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        return knowledge_store.list_documents(session, workspace.id)


@dataclass(frozen=True, slots=True)
class Deleted:
    doc_id: str
    source: str
    chunks: int
    warnings: tuple[str, ...] = ()


def delete_document(
    settings: Settings, workspace_slug: str, ref: str, *, indexes: Indexes | None = None
) -> Deleted:
    """Remove a document (by id or source) from the database, Chroma and the keyword index."""
    indexes = indexes or shared_indexes(settings)
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        document = knowledge_store.get_document_or_raise(session, workspace.id, ref)
        ids = knowledge_store.chunk_ids_of(session, workspace.id, [document.id])
        doc_id, source = document.id, document.source
        workspaces.bump_index_version(session, workspace.id)  # the workspace's write lock
        knowledge_store.delete_documents(session, workspace.id, [document.id])
    # Committed: the database no longer returns these chunks; now clean the derived indexes.
    with session_scope(settings) as session:
        warnings = after_commit(session, indexes, workspace.id, ids)
    return Deleted(doc_id, source, len(ids), tuple(warnings))


@dataclass(frozen=True, slots=True)
class Reindexed:
    chunks: int
    embedded: int


def reindex(
    settings: Settings, workspace_slug: str, *, indexes: Indexes | None = None
) -> Reindexed:
    """Rebuild Chroma and BM25 for the workspace from the database (vectors from the cache)."""
    indexes = indexes or shared_indexes(settings)
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        embedded = indexes.rebuild_vectors(session, workspace)
        indexes.rebuild_keywords(session, workspace)
        chunks = knowledge_store.count_chunks(session, workspace.id)
    return Reindexed(chunks=chunks, embedded=embedded)
