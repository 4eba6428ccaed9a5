"""Documents and chunks in the database, always scoped to one workspace."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.models import Chunk, ChunkRelease, Document

ID_BATCH = 500


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: str
    source: str
    content_hash: str
    pipeline_version: str


def documents_by_source(session: Session, workspace_id: str) -> dict[str, StoredDocument]:
    rows = session.execute(
        select(
            Document.id, Document.source, Document.content_hash, Document.pipeline_version
        ).where(Document.workspace_id == workspace_id)
    )
    return {row.source: StoredDocument(*row) for row in rows}


def list_documents(session: Session, workspace_id: str) -> list[Document]:
    return list(
        session.scalars(
            select(Document).where(Document.workspace_id == workspace_id).order_by(Document.source)
        )
    )


def get_document_or_raise(session: Session, workspace_id: str, ref: str) -> Document:
    """A document by its id or its source path, within the workspace."""
    if not ref.strip():
        raise InvalidInput("empty document reference", field="DOC", fix="pass a doc id or source")
    document = session.scalars(
        select(Document).where(
            Document.workspace_id == workspace_id,
            (Document.id == ref) | (Document.source == ref),
        )
    ).first()
    if document is None:
        raise NotFound(
            f"no document {ref!r} in this workspace",
            field="DOC",
            fix="see `mcopilot knowledge list --workspace W` for ids and sources",
        )
    return document


def chunk_ids_of(session: Session, workspace_id: str, document_ids: Iterable[str]) -> list[str]:
    ids = list(document_ids)
    found: list[str] = []
    for i in range(0, len(ids), ID_BATCH):
        found.extend(
            session.scalars(
                select(Chunk.id).where(
                    Chunk.workspace_id == workspace_id,
                    Chunk.document_id.in_(ids[i : i + ID_BATCH]),
                )
            )
        )
    return found


def delete_chunks_of(session: Session, workspace_id: str, document_ids: Iterable[str]) -> None:
    ids = list(document_ids)
    for i in range(0, len(ids), ID_BATCH):
        session.execute(
            delete(Chunk).where(
                Chunk.workspace_id == workspace_id, Chunk.document_id.in_(ids[i : i + ID_BATCH])
            )
        )


def delete_documents(session: Session, workspace_id: str, document_ids: Iterable[str]) -> None:
    ids = list(document_ids)
    delete_chunks_of(session, workspace_id, ids)
    for i in range(0, len(ids), ID_BATCH):
        session.execute(
            delete(Document).where(
                Document.workspace_id == workspace_id, Document.id.in_(ids[i : i + ID_BATCH])
            )
        )


def insert_chunks(session: Session, rows: list[dict[str, object]]) -> None:
    for i in range(0, len(rows), 1000):
        session.execute(insert(Chunk), rows[i : i + 1000])


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk with its document's id, source and title: what search results are made of."""

    id: str
    document_id: str
    source: str
    title: str
    heading_path: list[str]
    text: str
    char_start: int
    char_end: int
    flagged: bool
    released: bool = False

    @property
    def quarantined(self) -> bool:
        """Flagged at ingest and not released by an admin: never used for generation."""
        return self.flagged and not self.released


def chunks_by_ids(
    session: Session, workspace_id: str, chunk_ids: list[str]
) -> dict[str, StoredChunk]:
    """The workspace's chunks among these ids (ids of other workspaces are never returned)."""
    if not chunk_ids:
        return {}
    rows = session.execute(chunks_by_ids_statement(workspace_id, chunk_ids))
    return {row.id: StoredChunk(*row[:-1], released=bool(row.released)) for row in rows}


def chunks_by_ids_statement(workspace_id: str, chunk_ids: list[str]) -> Select[Any]:
    return (
        select(
            Chunk.id,
            Chunk.document_id,
            Document.source,
            Document.title,
            Chunk.heading_path,
            Chunk.text,
            Chunk.char_start,
            Chunk.char_end,
            Chunk.flagged,
            ChunkRelease.id.is_not(None).label("released"),
        )
        .join(Document, Document.id == Chunk.document_id)
        .outerjoin(ChunkRelease, release_matches())
        .where(Chunk.workspace_id == workspace_id, Chunk.id.in_(chunk_ids))
    )


def release_matches() -> ColumnElement[bool]:
    """The join condition of a chunk and its release: same workspace, id and text hash."""
    return and_(
        ChunkRelease.workspace_id == Chunk.workspace_id,
        ChunkRelease.chunk_id == Chunk.id,
        ChunkRelease.content_hash == Chunk.content_hash,
    )


def chunk_texts(session: Session, workspace_id: str, chunk_ids: list[str]) -> dict[str, str]:
    """The texts of the workspace's chunks among these ids."""
    if not chunk_ids:
        return {}
    rows = session.execute(
        select(Chunk.id, Chunk.text).where(
            Chunk.workspace_id == workspace_id, Chunk.id.in_(chunk_ids)
        )
    )
    return {row.id: row.text for row in rows}


@dataclass(frozen=True, slots=True)
class IndexRow:
    """What the derived indexes are built from."""

    id: str
    document_id: str
    heading_path: list[str]
    text: str
    flagged: bool


def index_rows(session: Session, workspace_id: str) -> list[IndexRow]:
    """Every chunk of the workspace, in a stable order."""
    rows = session.execute(
        select(Chunk.id, Chunk.document_id, Chunk.heading_path, Chunk.text, Chunk.flagged)
        .where(Chunk.workspace_id == workspace_id)
        .order_by(Chunk.document_id, Chunk.position)
    )
    return [IndexRow(r.id, r.document_id, list(r.heading_path), r.text, r.flagged) for r in rows]


def count_chunks(session: Session, workspace_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Chunk).where(Chunk.workspace_id == workspace_id)
        )
        or 0
    )
