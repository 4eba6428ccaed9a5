"""Ingest a file or a folder into a workspace: parse, chunk, scan, embed, index; incremental.

One ingest is one job that owns its transaction. The order keeps every failure recoverable:
new vectors go to Chroma first, then the database commits (the source of truth), then stale
vectors are deleted and the keyword index is rebuilt. A failure before the commit leaves the
database as it was; a failure after it leaves only extra vectors (never returned, because
results are read back from the database) or a stale keyword index (rebuilt on next search).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core import workspaces
from core.clock import utcnow
from core.db import refresh_planner_statistics, session_factory, session_scope
from core.errors import InvalidInput, McopilotError
from core.ids import sha256_hex, stable_id
from core.models import Document, Workspace
from core.settings import Settings
from retrieval import knowledge_store
from retrieval.chunking import ChunkDraft, ChunkingConfig, chunk_document
from retrieval.documents import indexed_text
from retrieval.embedding_cache import embed_with_cache
from retrieval.embeddings import minilm_token_counter
from retrieval.indexes import Indexes, shared_indexes, vector_metadata
from retrieval.injection import scan
from retrieval.parsers import SUFFIXES, ParseError, parse_bytes

PIPELINE = (
    "ingest-v2"  # v2: the injection scan learnt tool fences, ReAct actions, approval commands
)
MAX_SOURCE_CHARS = 1000  # documents.source
log = logging.getLogger(__name__)
Status = Literal["added", "updated", "unchanged", "failed", "pruned", "deleted"]


@dataclass(slots=True)
class FileOutcome:
    source: str
    status: Status
    chunks: int = 0
    flagged: int = 0
    message: str = ""
    doc_id: str = ""


@dataclass(slots=True)
class IngestReport:
    workspace: str
    files: list[FileOutcome] = field(default_factory=list)
    embedded: int = 0
    reused_vectors: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def changed(self) -> bool:
        return any(f.status in {"added", "updated", "pruned", "deleted"} for f in self.files)


class Progress:
    """Progress callbacks for long work; the CLI draws a bar, everything else ignores them."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


@dataclass(slots=True)
class _Pending:
    """A file whose content is new or changed, parsed and chunked, awaiting its vectors."""

    source: str
    doc_id: str
    title: str
    media_type: str
    content_hash: str
    size: int
    drafts: list[ChunkDraft]
    existed: bool


def pipeline_version(config: ChunkingConfig) -> str:
    """Changes whenever parsing, chunking or scanning would give different chunks."""
    return f"{PIPELINE}|{config.version()}"


def discover(path: Path) -> list[tuple[Path, str]]:
    """The files under path (or path itself) with their source names, in a stable order.

    Hidden files and folders (a leading dot) are left out.
    """
    if path.is_file():
        return [(path, path.name)]
    found: list[tuple[Path, str]] = []
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if any(part.startswith(".") for part in relative.parts) or not file.is_file():
            continue
        found.append((file, relative.as_posix()))
    return found


def _prepare(
    data: bytes,
    source: str,
    doc_id: str,
    content_hash: str,
    existed: bool,
    *,
    count: Callable[[str], int],
    config: ChunkingConfig,
) -> _Pending:
    parsed = parse_bytes(data, source)
    drafts = chunk_document(parsed, count=count, config=config)
    if not drafts:
        raise ParseError("no text found in the document", fix="check the file has readable text")
    scanned = [
        ChunkDraft(
            position=d.position,
            heading_path=d.heading_path,
            text=d.text,
            char_start=d.char_start,
            char_end=d.char_end,
            token_count=d.token_count,
            injection_flags=tuple(
                flag.as_dict() for flag in scan(indexed_text(d.heading_path, d.text))
            ),
        )
        for d in drafts
    ]
    return _Pending(
        source=source,
        doc_id=doc_id,
        title=parsed.title[:500],
        media_type=parsed.media_type,
        content_hash=content_hash,
        size=len(data),
        drafts=scanned,
        existed=existed,
    )


def chunk_ids(doc_id: str, drafts: list[ChunkDraft]) -> list[str]:
    """Stable ids: the same text in the same section of the same document keeps its id."""
    seen: dict[tuple[str, str], int] = {}
    ids: list[str] = []
    for draft in drafts:
        key = ("\x1e".join(draft.heading_path), sha256_hex(draft.text))
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        ids.append(stable_id("chk", doc_id, key[0], key[1], str(occurrence)))
    return ids


def ingest_path(
    settings: Settings,
    workspace_slug: str,
    path: str | Path,
    *,
    prune: bool = False,
    create_workspace: bool = False,
    progress: Progress | None = None,
    indexes: Indexes | None = None,
    config: ChunkingConfig | None = None,
) -> IngestReport:
    """Ingest PATH (a file, or a folder recursively) into the workspace; see the module doc."""
    started = time.perf_counter()
    progress = progress or Progress()
    config = config or ChunkingConfig()
    if not str(path).strip():
        raise InvalidInput("the path is empty", field="PATH", fix="pass a file or a folder")
    root = Path(path).expanduser()
    if not root.exists():
        raise InvalidInput(
            f"no such file or folder: {str(path)!r}", field="PATH", fix="check the path"
        )
    if prune and root.is_file():
        raise InvalidInput(
            "--prune needs a folder: with one file it would delete every other document",
            field="--prune",
            fix="pass the folder you ingested, or drop --prune",
        )
    files = discover(root)
    report = IngestReport(workspace=workspace_slug)
    version = pipeline_version(config)
    with session_scope(settings) as session:  # a workspace created here stays created
        workspace_id = _workspace(session, workspace_slug, create=create_workspace).id
        existing = knowledge_store.documents_by_source(session, workspace_id)

    pending = _read_and_chunk(
        root, files, workspace_id, existing, version, config, report, progress
    )
    pruned = _to_prune(existing, files) if prune else []
    if pending or pruned:
        indexes = indexes or shared_indexes(settings)
        rows, metadata = _chunk_rows(workspace_id, pending)
        texts = [indexed_text(r["heading_path"], r["text"]) for r in rows]  # type: ignore[arg-type]
        progress.start("embedding", len(texts))
        with session_scope(settings) as cache_session:
            vectors, computed = embed_with_cache(
                cache_session,
                workspace_id,
                indexes.embedder,
                texts,
                on_embedded=progress.advance,
                commit_each_batch=True,
            )
        progress.advance(len(texts) - computed)
        report.embedded, report.reused_vectors = computed, len(texts) - computed
        report.warnings = _write(
            settings, indexes, workspace_id, pending, pruned, rows, metadata, vectors, version
        )
        for p in pending:
            status: Status = "updated" if p.existed else "added"
            flagged = sum(1 for d in p.drafts if d.flagged)
            report.files.append(FileOutcome(p.source, status, len(p.drafts), flagged, "", p.doc_id))
        report.files.extend(FileOutcome(d.source, "pruned", doc_id=d.id) for d in pruned)
    report.files.sort(key=lambda f: f.source)
    report.seconds = time.perf_counter() - started
    return report


def _to_prune(
    existing: dict[str, knowledge_store.StoredDocument], files: list[tuple[Path, str]]
) -> list[knowledge_store.StoredDocument]:
    """The documents no longer under PATH; refuses when PATH cannot be the folder ingested
    before (sources are paths relative to PATH, so another folder would prune everything)."""
    seen = {source for _, source in files}
    if existing and not seen & set(existing):
        raise InvalidInput(
            f"none of the workspace's {len(existing)} documents is under PATH, so --prune "
            "would delete them all",
            field="--prune",
            fix="ingest the same folder as before (sources are relative to PATH), or drop --prune",
        )
    return [doc for source, doc in existing.items() if source not in seen]


def _read_and_chunk(
    root: Path,
    files: list[tuple[Path, str]],
    workspace_id: str,
    existing: dict[str, knowledge_store.StoredDocument],
    version: str,
    config: ChunkingConfig,
    report: IngestReport,
    progress: Progress,
) -> list[_Pending]:
    """Parse and chunk every new or changed file; the others go straight into the report."""
    pending: list[_Pending] = []
    progress.start("reading", len(files))
    for file, source in files:
        progress.advance()
        outcome = _read_one(file, source, workspace_id, existing, version, root)
        if isinstance(outcome, FileOutcome):
            report.files.append(outcome)
            continue
        data, content_hash, doc_id = outcome
        try:
            pending.append(
                _prepare(
                    data,
                    source,
                    doc_id,
                    content_hash,
                    source in existing,
                    count=minilm_token_counter(),
                    config=config,
                )
            )
        except ParseError as exc:
            report.files.append(FileOutcome(source, "failed", message=exc.one_line()))
        except (
            RecursionError,
            MemoryError,
            ValueError,
            TypeError,
            AttributeError,
            AssertionError,
            KeyError,
            IndexError,
            OverflowError,
        ) as exc:
            # A parser library choking on odd input must cost one file, not the whole ingest.
            log.warning("could not parse %s", source, exc_info=True)
            report.files.append(
                FileOutcome(source, "failed", message=f"could not parse ({exc.__class__.__name__})")
            )
    return pending


def _write(
    settings: Settings,
    indexes: Indexes,
    workspace_id: str,
    pending: list[_Pending],
    pruned: list[knowledge_store.StoredDocument],
    rows: list[dict[str, object]],
    metadata: list[dict[str, object]],
    vectors: np.ndarray,
    version: str,
) -> list[str]:
    """One transaction for the database; Chroma before the commit, cleanup after it."""
    new_ids = [str(r["id"]) for r in rows]
    session = session_factory(settings)()
    upserted: list[str] = []
    try:
        # Updating the workspace row first makes it the write lock: a second ingest into the
        # same workspace waits here (row lock on PostgreSQL, write lock on SQLite).
        workspaces.bump_index_version(session, workspace_id)
        replaced = [p.doc_id for p in pending] + [d.id for d in pruned]
        old_ids = set(knowledge_store.chunk_ids_of(session, workspace_id, replaced))
        knowledge_store.delete_documents(session, workspace_id, [d.id for d in pruned])
        knowledge_store.delete_chunks_of(session, workspace_id, [p.doc_id for p in pending])
        _upsert_documents(session, workspace_id, pending, version)
        session.flush()
        knowledge_store.insert_chunks(session, rows)
        session.flush()
        upserted = [i for i in new_ids if i not in old_ids]
        indexes.vectors.upsert(workspace_id, new_ids, vectors, metadata)
        session.commit()
        upserted = []
    except BaseException:
        session.rollback()
        if upserted:  # best effort: vectors of chunks the database never got
            with suppress(Exception):
                indexes.vectors.delete(workspace_id, upserted)
        session.close()
        raise
    try:
        return after_commit(session, indexes, workspace_id, sorted(old_ids - set(new_ids)))
    finally:
        session.close()


def after_commit(
    session: Session, indexes: Indexes, workspace_id: str, stale_vector_ids: list[str]
) -> list[str]:
    """Bring the derived indexes in step with a committed change; what fails here is only
    reported (the change stands, and the next search rebuilds or ignores what lags)."""
    warnings: list[str] = []
    try:
        indexes.vectors.delete(workspace_id, stale_vector_ids)
    except McopilotError as exc:
        warnings.append(f"stale vectors stay until `mcopilot knowledge reindex`: {exc.one_line()}")
    try:
        indexes.rebuild_keywords(session, session.get_one(Workspace, workspace_id))
        refresh_planner_statistics(session, ("documents", "chunks"))
        session.commit()
    except (OSError, SQLAlchemyError) as exc:
        session.rollback()
        warnings.append(f"the keyword index is rebuilt at the next search: {exc}")
    for warning in warnings:
        log.warning(warning)
    return warnings


def _workspace(session: Session, slug: str, *, create: bool) -> Workspace:
    if create:
        workspace, _ = workspaces.get_or_create(session, workspaces.validate_slug(slug))
        return workspace
    return workspaces.get_or_raise(session, slug)


def _source_problem(file: Path, source: str, root: Path) -> str | None:
    """Why this file may not be ingested under this source name, if it may not."""
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8; rename the file"
    if len(source) > MAX_SOURCE_CHARS:
        return f"the path is longer than {MAX_SOURCE_CHARS} characters; move the file up"
    if file.is_symlink():
        target = file.resolve()
        inside = root.resolve() if root.is_dir() else root.resolve().parent
        if not target.is_relative_to(inside):
            return "a symbolic link to a file outside PATH; it is not followed"
    return None


def _read_one(
    file: Path,
    source: str,
    workspace_id: str,
    existing: dict[str, knowledge_store.StoredDocument],
    version: str,
    root: Path,
) -> FileOutcome | tuple[bytes, str, str]:
    """The file's bytes, hash and doc id when it needs (re)processing; else its outcome."""
    problem = _source_problem(file, source, root)
    if problem:
        return FileOutcome(source.encode("utf-8", "replace").decode(), "failed", message=problem)
    if file.suffix.lower() not in SUFFIXES:
        allowed = ", ".join(sorted(SUFFIXES))
        return FileOutcome(
            source,
            "failed",
            message=f"unsupported file type {file.suffix or '(none)'!r}; "
            f"supported types are {allowed}",
        )
    try:
        data = file.read_bytes()
    except OSError as exc:
        return FileOutcome(source, "failed", message=f"cannot read: {exc.strerror}")
    content_hash = sha256_hex(data)
    stored = existing.get(source)
    if stored and stored.content_hash == content_hash and stored.pipeline_version == version:
        return FileOutcome(source, "unchanged", doc_id=stored.id)
    doc_id = stored.id if stored else stable_id("doc", workspace_id, source)
    return data, content_hash, doc_id


def _chunk_rows(
    workspace_id: str, pending: list[_Pending]
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    now = utcnow()
    rows: list[dict[str, object]] = []
    metadata: list[dict[str, object]] = []
    for p in pending:
        for chunk_id, draft in zip(chunk_ids(p.doc_id, p.drafts), p.drafts, strict=True):
            text_for_index = indexed_text(draft.heading_path, draft.text)
            rows.append(
                {
                    "id": chunk_id,
                    "workspace_id": workspace_id,
                    "document_id": p.doc_id,
                    "position": draft.position,
                    "heading_path": list(draft.heading_path),
                    "text": draft.text,
                    "char_start": draft.char_start,
                    "char_end": draft.char_end,
                    "content_hash": sha256_hex(text_for_index),
                    "token_count": draft.token_count,
                    "injection_flags": list(draft.injection_flags),
                    "flagged": draft.flagged,
                    "ingested_at": now,
                }
            )
            metadata.append(vector_metadata(workspace_id, p.doc_id, draft.flagged))
    return rows, metadata


def _upsert_documents(
    session: Session, workspace_id: str, pending: list[_Pending], version: str
) -> None:
    now = utcnow()
    for p in pending:
        values = {
            "title": p.title,
            "media_type": p.media_type,
            "content_hash": p.content_hash,
            "pipeline_version": version,
            "size_bytes": p.size,
            "chunk_count": len(p.drafts),
            "flagged_chunks": sum(1 for d in p.drafts if d.flagged),
            "ingested_at": now,
        }
        document = session.get(Document, p.doc_id)  # another ingest may have added it since
        if document is None:
            session.add(Document(id=p.doc_id, workspace_id=workspace_id, source=p.source, **values))
        else:
            for key, value in values.items():
                setattr(document, key, value)
