"""Embed texts through a cache keyed by model and content hash, so unchanged text is never
embedded twice (re-ingest, a changed document's unchanged chunks, a rebuilt Chroma store).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ids import sha256_hex
from core.models import EmbeddingCacheEntry
from retrieval.embeddings import Embedder

LOOKUP_BATCH = 500


def load_cached(session: Session, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]:
    """The cached vectors among these text hashes."""
    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(hashes))
    for i in range(0, len(unique), LOOKUP_BATCH):
        batch = unique[i : i + LOOKUP_BATCH]
        rows = session.execute(
            select(EmbeddingCacheEntry.text_hash, EmbeddingCacheEntry.vector).where(
                EmbeddingCacheEntry.model_id == model_id,
                EmbeddingCacheEntry.text_hash.in_(batch),
            )
        )
        for text_hash, blob in rows:
            found[text_hash] = np.frombuffer(blob, dtype="<f4")
    return found


def embed_with_cache(
    session: Session,
    embedder: Embedder,
    texts: list[str],
    *,
    on_embedded: Callable[[int], None] | None = None,
    batch_size: int = 256,
) -> tuple[np.ndarray, int]:
    """Vectors for the texts, in order, and how many had to be computed (the rest were cached).

    New vectors are added to the session (the caller's transaction commits them).
    """
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), 0
    hashes = [sha256_hex(text) for text in texts]
    cached = load_cached(session, embedder.model_id, hashes)
    text_of = dict(zip(hashes, texts, strict=True))
    # Similar lengths batch together, so little compute is spent on padding.
    missing = sorted(
        dict.fromkeys(h for h in hashes if h not in cached), key=lambda h: len(text_of[h])
    )
    for i in range(0, len(missing), batch_size):
        batch = missing[i : i + batch_size]
        vectors = embedder.embed_documents([text_of[h] for h in batch])
        for text_hash, vector in zip(batch, vectors, strict=True):
            vector = np.ascontiguousarray(vector, dtype="<f4")
            cached[text_hash] = vector
            session.add(
                EmbeddingCacheEntry(
                    model_id=embedder.model_id,
                    text_hash=text_hash,
                    dim=int(vector.shape[0]),
                    vector=vector.tobytes(),
                )
            )
        if on_embedded:
            on_embedded(len(batch))
    return np.vstack([cached[h] for h in hashes]), len(missing)
