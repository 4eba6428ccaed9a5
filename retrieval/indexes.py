"""The derived indexes of a workspace (Chroma vectors, BM25 keywords) kept in step with the
database, which is the source of truth.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from core.models import Workspace
from core.settings import Settings
from retrieval import knowledge_store
from retrieval.documents import indexed_text
from retrieval.embedding_cache import embed_with_cache
from retrieval.embeddings import Embedder, get_embedder
from retrieval.keyword_index import KeywordIndex, KeywordIndexCache
from retrieval.vector_store import VectorStore

log = logging.getLogger(__name__)


class Indexes:
    """The embedder, the vector store and the keyword indexes for one configuration."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or get_embedder(settings)
        self.vectors = VectorStore(settings, model_id=self.embedder.model_id)
        self.keywords = KeywordIndexCache(settings.keyword_index_dir)
        self._rebuild_lock = threading.Lock()
        self._vectors_checked: dict[str, int] = {}

    def keyword_index(self, session: Session, workspace: Workspace) -> KeywordIndex:
        """The workspace's keyword index at its current version, rebuilt from the DB if stale."""
        index = self.keywords.get(workspace.id, workspace.index_version)
        if index is not None:
            return index
        with self._rebuild_lock:
            index = self.keywords.get(workspace.id, workspace.index_version)
            if index is None:
                index = self.rebuild_keywords(session, workspace)
        return index

    def rebuild_keywords(self, session: Session, workspace: Workspace) -> KeywordIndex:
        rows = knowledge_store.index_rows(session, workspace.id)
        index = KeywordIndex.build(
            [row.id for row in rows],
            [indexed_text(row.heading_path, row.text) for row in rows],
            workspace.index_version,
        )
        self.keywords.put(workspace.id, index)
        return index

    def rebuild_vectors(self, session: Session, workspace: Workspace) -> int:
        """Rebuild the workspace's collection from the DB (vectors from the cache) and swap it
        in; returns how many vectors had to be computed."""
        rows = knowledge_store.index_rows(session, workspace.id)
        vectors, computed = embed_with_cache(
            session,
            workspace.id,
            self.embedder,
            [indexed_text(row.heading_path, row.text) for row in rows],
        )
        self.vectors.replace_all(
            workspace.id,
            [row.id for row in rows],
            vectors,
            [vector_metadata(workspace.id, row.document_id, row.flagged) for row in rows],
        )
        self._vectors_checked[workspace.id] = workspace.index_version
        return computed

    def ensure_vectors(self, session: Session, workspace: Workspace) -> None:
        """Rebuild the dense index when it holds fewer vectors than the workspace has chunks
        (a lost or half-built store); checked once per workspace version per process."""
        if self._vectors_checked.get(workspace.id) == workspace.index_version:
            return
        with self._rebuild_lock:
            if self._vectors_checked.get(workspace.id) == workspace.index_version:
                return
            chunks = knowledge_store.count_chunks(session, workspace.id)
            if self.vectors.count(workspace.id) < chunks:
                log.warning("dense index of %s is missing vectors; rebuilding", workspace.id)
                self.rebuild_vectors(session, workspace)
            self._vectors_checked[workspace.id] = workspace.index_version

    def embed_query(self, text: str) -> np.ndarray:
        return self.embedder.embed_query(text)


def vector_metadata(workspace_id: str, document_id: str, flagged: bool) -> dict[str, Any]:
    """What each vector carries besides its id: its workspace, document and injection flag."""
    return {"workspace_id": workspace_id, "doc_id": document_id, "flagged": flagged}


_shared: dict[tuple[Any, ...], Indexes] = {}
_shared_lock = threading.Lock()


def shared_indexes(settings: Settings) -> Indexes:
    """One Indexes per configuration per process (the model and clients load once)."""
    key = (
        settings.embedding_provider,
        settings.embedding_base_url,
        settings.embedding_model,
        settings.chroma_url,
        str(settings.data_dir),
    )
    with _shared_lock:
        indexes = _shared.get(key)
        if indexes is None:
            indexes = Indexes(settings)
            _shared[key] = indexes
        return indexes


def forget_shared_indexes() -> None:
    with _shared_lock:
        _shared.clear()
