"""Workspaces (tenants), knowledge documents, their chunks and the embedding cache."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.models.base import Base, UTCDateTime


class Workspace(Base):
    """A tenant: every other row belongs to exactly one workspace."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    index_version: Mapped[int] = mapped_column(
        Integer,
        default=0,
        doc="Bumped whenever the workspace's chunks change; derived indexes "
        "(BM25) compare it to know they are stale.",
    )


class Document(Base):
    """One ingested source file; its chunks are replaced whenever its content changes."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("workspace_id", "source"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(1000), doc="Path relative to the ingested PATH.")
    title: Mapped[str] = mapped_column(String(500))
    media_type: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64), doc="sha256 of the file's bytes.")
    pipeline_version: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    flagged_chunks: Mapped[int] = mapped_column(Integer, default=0)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    chunks: Mapped[list[Chunk]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
        order_by="Chunk.position",
    )


class Chunk(Base):
    """A piece of one section of a document: what retrieval returns and citations point at."""

    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_workspace_document", "workspace_id", "document_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, doc="Order of the chunk in its document.")
    heading_path: Mapped[list[str]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), doc="sha256 of the indexed text.")
    token_count: Mapped[int] = mapped_column(Integer)
    injection_flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    document: Mapped[Document] = relationship(back_populates="chunks", lazy="raise")


class EmbeddingCacheEntry(Base):
    """A vector computed once for a text under one embedding model, reused on re-ingest.

    Scoped to a workspace like everything else: a shared cache would let one tenant learn,
    from what is reused, that another holds the same text.
    """

    __tablename__ = "embedding_cache"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary, doc="float32 little-endian.")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
