"""The dense index: one Chroma collection per workspace, embedded or on a Chroma server."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from core.errors import BackendUnavailable, Conflict, McopilotError
from core.settings import Settings

COLLECTION_PREFIX = "mcopilot_"


@dataclass(frozen=True, slots=True)
class DenseHit:
    chunk_id: str
    similarity: float


def collection_name(workspace_id: str) -> str:
    """The workspace's own collection (isolation by construction, no metadata filter)."""
    return f"{COLLECTION_PREFIX}{workspace_id}"


@contextmanager
def _chroma_errors(action: str, settings: Settings) -> Iterator[None]:
    """Chroma's own exceptions (connection refused, server errors) as BackendUnavailable."""
    try:
        yield
    except McopilotError:
        raise
    except Exception as exc:
        where = settings.chroma_url or str(settings.chroma_dir)
        raise BackendUnavailable(
            f"Chroma failed to {action} at {where}: {exc.__class__.__name__}: {exc}",
            field="MCOPILOT_CHROMA_URL" if settings.chroma_url else "MCOPILOT_DATA_DIR",
            fix="check the Chroma server is running" if settings.chroma_url else None,
        ) from exc


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    key = settings.chroma_url or str(settings.chroma_dir)
    with _clients_lock:
        client = _clients.get(key)
        if client is not None:
            return client
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if settings.chroma_url:
                parts = urlsplit(settings.chroma_url)
                client = chromadb.HttpClient(
                    host=parts.hostname or "127.0.0.1",
                    port=parts.port or (443 if parts.scheme == "https" else 8000),
                    ssl=parts.scheme == "https",
                    settings=chroma_settings,
                )
                client.heartbeat()
            else:
                settings.chroma_dir.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(
                    path=str(settings.chroma_dir), settings=chroma_settings
                )
        except Exception as exc:
            with _chroma_errors("connect", settings):
                raise exc
        _clients[key] = client
        return client


def forget_clients() -> None:
    """Drop cached clients (tests that point at a new data dir or server call this)."""
    with _clients_lock:
        _clients.clear()


def _upsert_in_batches(
    client: Any,
    collection: Any,
    ids: list[str],
    vectors: np.ndarray,
    metadatas: list[dict[str, Any]],
) -> None:
    """Upsert in batches no larger than the server accepts (and at most 2,000)."""
    step = max(1, min(client.get_max_batch_size(), 2000))
    for i in range(0, len(ids), step):
        collection.upsert(
            ids=ids[i : i + step],
            embeddings=vectors[i : i + step],
            metadatas=metadatas[i : i + step],
        )


class VectorStore:
    """Upsert, delete and query chunk vectors of one workspace at a time."""

    def __init__(self, settings: Settings, *, model_id: str) -> None:
        self.settings = settings
        self.model_id = model_id
        self._collections: dict[str, Any] = {}

    def _collection_options(self, workspace_id: str) -> dict[str, Any]:
        """How every collection of ours is made: our own vectors, cosine, labelled."""
        return {
            "embedding_function": None,
            "configuration": {"hnsw": {"space": "cosine"}},
            "metadata": {"workspace_id": workspace_id, "embedding_model": self.model_id},
        }

    def _collection(self, workspace_id: str, *, create: bool) -> Any:
        collection = self._collections.get(workspace_id)
        if collection is not None:
            return collection
        from chromadb.errors import NotFoundError

        client = _client(self.settings)
        name = collection_name(workspace_id)
        try:
            if create:
                collection = client.get_or_create_collection(
                    name, **self._collection_options(workspace_id)
                )
            else:
                collection = client.get_collection(name, embedding_function=None)
        except NotFoundError:
            if create:
                raise
            return None
        indexed_with = (collection.metadata or {}).get("embedding_model")
        if indexed_with and indexed_with != self.model_id:
            raise Conflict(
                f"this workspace was indexed with {indexed_with}, not {self.model_id}",
                field="MCOPILOT_EMBEDDING_PROVIDER",
                fix="switch back, or rebuild with `mcopilot knowledge reindex --workspace W`",
            )
        self._collections[workspace_id] = collection
        return collection

    def upsert(
        self,
        workspace_id: str,
        ids: list[str],
        vectors: np.ndarray,
        metadatas: list[dict[str, Any]],
    ) -> None:
        if not ids:
            return
        with _chroma_errors("store vectors", self.settings):
            collection = self._collection(workspace_id, create=True)
            _upsert_in_batches(_client(self.settings), collection, ids, vectors, metadatas)

    def delete(self, workspace_id: str, ids: list[str]) -> None:
        if not ids:
            return
        with _chroma_errors("delete vectors", self.settings):
            collection = self._collection(workspace_id, create=False)
            if collection is None:
                return
            for i in range(0, len(ids), 2000):
                collection.delete(ids=ids[i : i + 2000])

    def query(self, workspace_id: str, vector: np.ndarray, n: int) -> list[DenseHit]:
        """The n nearest chunks by cosine similarity, best first."""
        with _chroma_errors("query", self.settings):
            collection = self._collection(workspace_id, create=False)
            if collection is None:
                return []
            result = collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
        ids = result["ids"][0]
        distances = result["distances"][0]
        return [DenseHit(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def ids(self, workspace_id: str) -> set[str]:
        collection = self._collection(workspace_id, create=False)
        if collection is None:
            return set()
        total = collection.count()
        found: set[str] = set()
        for offset in range(0, total, 5000):
            found.update(collection.get(limit=5000, offset=offset, include=[])["ids"])
        return found

    def count(self, workspace_id: str) -> int:
        collection = self._collection(workspace_id, create=False)
        return 0 if collection is None else int(collection.count())

    def replace_all(
        self,
        workspace_id: str,
        ids: list[str],
        vectors: np.ndarray,
        metadatas: list[dict[str, Any]],
    ) -> None:
        """Swap in a collection built from scratch: filled under a temporary name, then renamed,
        so a failure part way leaves the old collection as it was."""
        from chromadb.errors import NotFoundError

        client = _client(self.settings)
        name = collection_name(workspace_id)
        staging_name = f"{name}_rebuild_{uuid.uuid4().hex[:8]}"
        with _chroma_errors("rebuild the collection", self.settings):
            staging = client.create_collection(
                staging_name, **self._collection_options(workspace_id)
            )
            try:
                _upsert_in_batches(client, staging, ids, vectors, metadatas)
                self._collections.pop(workspace_id, None)
                with suppress(NotFoundError):
                    client.delete_collection(name)
                staging.modify(name=name)
            except BaseException:
                with suppress(Exception):
                    client.delete_collection(staging_name)
                raise

    def drop(self, workspace_id: str) -> None:
        """Delete the workspace's collection (rebuilds start from nothing)."""
        from chromadb.errors import NotFoundError

        self._collections.pop(workspace_id, None)
        client = _client(self.settings)
        with _chroma_errors("drop a collection", self.settings), suppress(NotFoundError):
            client.delete_collection(collection_name(workspace_id))
