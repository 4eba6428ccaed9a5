"""The content check agents and the CLI call: the workspace's active policy on one asset."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from core import workspaces
from core.db import session_scope
from core.settings import Settings
from guardrails.copy_asset import CopyAsset
from guardrails.copy_checks import check_copy
from guardrails.findings import Finding, blocking
from guardrails.policy import BrandPolicy
from guardrails.policy_store import active_policy

NO_POLICY = "none"


@dataclass(frozen=True, slots=True)
class ContentCheck:
    """The findings on one asset and the policy version they were checked against
    (`none`: the workspace has no policy, so only the built-in rules ran)."""

    policy_version: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not blocking(self.findings)


def check_asset(session: Session, workspace_id: str, asset: CopyAsset) -> ContentCheck:
    """Check one asset against the workspace's active brand policy."""
    stored = active_policy(session, workspace_id)
    policy = stored.policy if stored else BrandPolicy()
    return ContentCheck(stored.version if stored else NO_POLICY, check_copy(policy, asset))


def check_in_workspace(settings: Settings, workspace_slug: str, asset: CopyAsset) -> ContentCheck:
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        return check_asset(session, workspace.id, asset)
