"""The I/O edge of brand policies: extract from a folder of documents, apply a file, show."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from core import workspaces
from core.db import session_scope
from core.errors import InvalidInput, NotFound
from core.members import acting_as
from core.models import Document
from core.settings import Settings
from guardrails.audit.service import append
from guardrails.policy import BrandPolicy, load_policy_file
from guardrails.policy_extract import extract_policy
from guardrails.policy_store import StoredPolicy, active_policy, apply_policy, workspace_chunks
from retrieval.ingest import IngestReport, Progress, discover, ingest_path


@dataclass(frozen=True, slots=True)
class Extracted:
    policy: BrandPolicy
    documents: int
    chunks: int
    report: IngestReport


def extract_from_path(
    settings: Settings,
    workspace_slug: str,
    path: Path,
    *,
    brand: str = "",
    progress: Progress | None = None,
) -> Extracted:
    """Ingest PATH into the workspace (unchanged files are skipped), so every rule cites a
    chunk the workspace holds; then propose a policy from those documents' chunks."""
    if not path.exists():
        raise InvalidInput(f"{path} does not exist", field="PATH", fix="pass a file or a folder")
    report = ingest_path(settings, workspace_slug, path, progress=progress)
    sources = [source for _, source in discover(path)]
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        ids = list(
            session.scalars(
                select(Document.id).where(
                    Document.workspace_id == workspace.id, Document.source.in_(sources)
                )
            )
        )
        chunks = workspace_chunks(session, workspace.id, ids)
    if not chunks:
        raise InvalidInput(
            f"no readable documents under {path}",
            field="PATH",
            fix="pass Markdown, HTML, text or PDF brand documents",
        )
    return Extracted(extract_policy(chunks, brand=brand), len(ids), len(chunks), report)


def apply_policy_file(
    settings: Settings, workspace_slug: str, path: Path, *, created_by: str
) -> StoredPolicy:
    """Validate the file and make it the workspace's active policy, in one transaction; only
    an admin may, and the change is in the audit log."""
    policy = load_policy_file(path)
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        admin = acting_as(session, workspace, created_by, needed="admin", to="set the policy")
        stored = apply_policy(session, workspace.id, policy, created_by=admin.handle)
        append(
            session,
            workspace.id,
            actor=admin.handle,
            action="policy.apply",
            inputs={"file": path.name, "version": stored.version},
            output=stored.policy.model_dump(mode="json"),
            decision="saved" if stored.new else "reactivated",
            settings=settings,
        )
        return stored


def show_policy(settings: Settings, workspace_slug: str) -> StoredPolicy:
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        stored = active_policy(session, workspace.id)
    if stored is None:
        raise NotFound(
            f"workspace {workspace_slug!r} has no brand policy yet",
            field="workspace",
            fix="propose one with `mcopilot policy extract PATH`, review it, then "
            "`mcopilot policy apply FILE`",
        )
    return stored
