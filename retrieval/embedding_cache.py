"""Embed texts through a per-workspace cache keyed by model and content hash, so unchanged text
is never embedded twice (re-ingest, a changed document's unchanged chunks, a rebuilt index).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.ids import sha256_hex
from core.models import EmbeddingCacheEntry
from core.sql import dialect_insert
from retrieval.embeddings import Embedder

LOOKUP_BATCH = 500
EMBED_BATCH = 256


def load_cached(
    session: Session, workspace_id: str, model_id: str, hashes: list[str]
) -> dict[str, np.ndarray]:
    """The workspace's cached vectors among these text hashes."""
    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(hashes))
    for i in range(0, len(unique), LOOKUP_BATCH):
        rows = session.execute(
            select(EmbeddingCacheEntry.text_hash, EmbeddingCacheEntry.vector).where(
                EmbeddingCacheEntry.workspace_id == workspace_id,
                EmbeddingCacheEntry.model_id == model_id,
                EmbeddingCacheEntry.text_hash.in_(unique[i : i + LOOKUP_BATCH]),
            )
        )
        for text_hash, blob in rows:
            found[text_hash] = np.frombuffer(blob, dtype="<f4")
    return found


def _store(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert cache rows; a row another process stored meanwhile is kept as it is."""
    session.execute(dialect_insert(session)(EmbeddingCacheEntry).on_conflict_do_nothing(), rows)


def embed_with_cache(
    session: Session,
    workspace_id: str,
    embedder: Embedder,
    texts: list[str],
    *,
    on_embedded: Callable[[int], None] | None = None,
    commit_each_batch: bool = False,
) -> tuple[np.ndarray, int]:
    """Vectors for the texts, in order, and how many had to be computed (the rest were cached).

    With `commit_each_batch` (a session of its own), every batch of new vectors is committed
    as it is made, so an interrupted ingest resumes where it stopped instead of starting over.
    """
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), 0
    hashes = [sha256_hex(text) for text in texts]
    cached = load_cached(session, workspace_id, embedder.model_id, hashes)
    text_of = dict(zip(hashes, texts, strict=True))
    # Similar lengths batch together, so little compute is spent on padding.
    missing = sorted(
        dict.fromkeys(h for h in hashes if h not in cached), key=lambda h: len(text_of[h])
    )
    for i in range(0, len(missing), EMBED_BATCH):
        batch = missing[i : i + EMBED_BATCH]
        vectors = np.ascontiguousarray(
            embedder.embed_documents([text_of[h] for h in batch]), dtype="<f4"
        )
        now = utcnow()
        rows = []
        for text_hash, vector in zip(batch, vectors, strict=True):
            cached[text_hash] = vector
            rows.append(
                {
                    "workspace_id": workspace_id,
                    "model_id": embedder.model_id,
                    "text_hash": text_hash,
                    "dim": int(vector.shape[0]),
                    "vector": vector.tobytes(),
                    "created_at": now,
                }
            )
        _store(session, rows)
        if commit_each_batch:
            session.commit()
        if on_embedded:
            on_embedded(len(batch))
    return np.vstack([cached[h] for h in hashes]), len(missing)
