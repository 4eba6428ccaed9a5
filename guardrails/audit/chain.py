"""Pure hash-chain arithmetic: canonical JSON, record hashes, the head's HMAC anchor, and
verification (records in, the first bad record out)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

GENESIS_HASH = "0" * 64
_KEY_ID_LABEL = b"mcopilot audit key id"

ProblemKind = Literal[
    "foreign",
    "out_of_order",
    "missing",
    "edited",
    "broken_link",
    "anchor_missing",
    "anchor_key",
    "anchor_forged",
    "truncated",
    "unanchored",
    "head_mismatch",
]


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value: sorted keys, no spaces, UTF-8 kept, NaN refused."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def timestamp(value: datetime) -> str:
    """A timestamp as hashed: UTC, ISO 8601, microseconds always written."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class ChainRecord:
    """An audit record as the chain sees it, whatever stored or exported it."""

    workspace_id: str
    seq: int
    prev_hash: str
    record_hash: str
    actor: str
    action: str
    inputs: Any
    evidence_ids: list[str]
    prompt_version: str | None
    model_tier: str | None
    output_hash: str | None
    decision: str
    result: Any
    created_at: datetime

    def hashed_body(self) -> dict[str, Any]:
        """Every field but `record_hash`: what the record's hash covers."""
        return hashed_body(
            workspace_id=self.workspace_id,
            seq=self.seq,
            prev_hash=self.prev_hash,
            actor=self.actor,
            action=self.action,
            inputs=self.inputs,
            evidence_ids=self.evidence_ids,
            prompt_version=self.prompt_version,
            model_tier=self.model_tier,
            output_hash=self.output_hash,
            decision=self.decision,
            result=self.result,
            created_at=self.created_at,
        )


def hashed_body(
    *,
    workspace_id: str,
    seq: int,
    prev_hash: str,
    actor: str,
    action: str,
    inputs: Any,
    evidence_ids: Iterable[str],
    prompt_version: str | None,
    model_tier: str | None,
    output_hash: str | None,
    decision: str,
    result: Any,
    created_at: datetime,
) -> dict[str, Any]:
    """The fields a record's hash covers, as JSON data."""
    return {
        "workspace_id": workspace_id,
        "seq": seq,
        "prev_hash": prev_hash,
        "actor": actor,
        "action": action,
        "inputs": inputs,
        "evidence_ids": list(evidence_ids),
        "prompt_version": prompt_version,
        "model_tier": model_tier,
        "output_hash": output_hash,
        "decision": decision,
        "result": result,
        "created_at": timestamp(created_at),
    }


def record_hash(body: dict[str, Any]) -> str:
    """sha256 of the body's canonical JSON."""
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def key_id(key: bytes) -> str:
    """A short name for a key that reveals nothing about it (an HMAC of a fixed label)."""
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def anchor_mac(key: bytes, workspace_id: str, seq: int, head_hash: str) -> str:
    """The HMAC-SHA256 over (workspace, last seq, last hash) that anchors a chain head."""
    message = f"{workspace_id}\x1f{seq}\x1f{head_hash}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Anchor:
    """A chain head as stored: the last seq and hash, their HMAC and the signing key's id."""

    workspace_id: str
    seq: int
    record_hash: str
    anchor: str
    key_id: str

    def valid_under(self, key: bytes) -> bool:
        expected = anchor_mac(key, self.workspace_id, self.seq, self.record_hash)
        return hmac.compare_digest(self.anchor, expected)


def signed_anchor(key: bytes, workspace_id: str, seq: int, head_hash: str) -> Anchor:
    """The anchor of a chain whose last record is `seq` with hash `head_hash`."""
    return Anchor(
        workspace_id, seq, head_hash, anchor_mac(key, workspace_id, seq, head_hash), key_id(key)
    )


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing wrong with a chain: the record (seq) where it shows, and what it is."""

    seq: int
    kind: ProblemKind
    message: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of verifying one workspace's chain."""

    workspace_id: str
    records: int
    head_seq: int
    head_hash: str
    problem: Problem | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


@dataclass
class ChainVerifier:
    """Checks records fed in seq order, then the anchor; remembers the first problem only.

    Streaming keeps memory flat for long logs: the edge feeds rows as it reads them.
    """

    workspace_id: str
    key: bytes = field(repr=False)
    records: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    problem: Problem | None = None

    def feed(self, record: ChainRecord) -> Problem | None:
        """Check the next record; returns the first problem once there is one."""
        if self.problem is not None:
            return self.problem
        expected = self.last_seq + 1
        if record.workspace_id != self.workspace_id:
            return self._fail(
                record.seq, "foreign", f"belongs to workspace {record.workspace_id!r}"
            )
        if record.seq > expected:
            gap = str(expected) if record.seq == expected + 1 else f"{expected}-{record.seq - 1}"
            return self._fail(
                expected,
                "missing",
                f"seq {gap} deleted: the record after seq {self.last_seq} is seq {record.seq}",
            )
        if record.seq < expected:
            return self._fail(
                record.seq,
                "out_of_order",
                f"comes after seq {self.last_seq}: repeated or reordered",
            )
        if not hmac.compare_digest(record.record_hash, record_hash(record.hashed_body())):
            return self._fail(
                record.seq, "edited", "its contents do not match its hash: edited or moved"
            )
        if record.prev_hash != self.last_hash:
            return self._fail(
                record.seq,
                "broken_link",
                f"does not chain to seq {self.last_seq}: a record was replaced, inserted or "
                "reordered",
            )
        self.records += 1
        self.last_seq = record.seq
        self.last_hash = record.record_hash
        return None

    def finish(self, anchor: Anchor | None, *, unanchored_seq: int | None = None) -> VerifyReport:
        """Check the chain's end against its anchor and return the report.

        `unanchored_seq` is the highest seq stored beyond what any anchor covers, if the edge
        found one (a record written around the audit service).
        """
        if self.problem is None:
            self._check_end(anchor, unanchored_seq)
        return VerifyReport(
            self.workspace_id, self.records, self.last_seq, self.last_hash, self.problem
        )

    def _check_end(self, anchor: Anchor | None, unanchored_seq: int | None) -> None:
        if anchor is None:
            if self.last_seq:
                self._fail(self.last_seq, "anchor_missing", "the chain head anchor row was deleted")
            return
        if anchor.key_id != key_id(self.key):
            self._fail(
                anchor.seq,
                "anchor_key",
                f"the head was anchored with another key (key id {anchor.key_id}, this key "
                f"{key_id(self.key)}); set MCOPILOT_AUDIT_HMAC_KEY to the key that wrote it",
            )
        elif anchor.workspace_id != self.workspace_id or not anchor.valid_under(self.key):
            self._fail(anchor.seq, "anchor_forged", "the chain head row was edited: bad HMAC")
        elif anchor.seq > self.last_seq:
            self._fail(
                self.last_seq + 1,
                "truncated",
                f"seq {self.last_seq + 1}-{anchor.seq} deleted: the log ends at seq "
                f"{self.last_seq} but its anchor at seq {anchor.seq}",
            )
        elif anchor.seq < self.last_seq:
            self._fail(
                anchor.seq + 1,
                "unanchored",
                f"seq {anchor.seq + 1}-{self.last_seq} written around the audit service: the "
                f"anchor ends at seq {anchor.seq}",
            )
        elif not hmac.compare_digest(anchor.record_hash, self.last_hash):
            self._fail(
                self.last_seq, "head_mismatch", "does not match the anchored head: rewritten"
            )
        elif unanchored_seq is not None and unanchored_seq > anchor.seq:
            self._fail(
                anchor.seq + 1,
                "unanchored",
                f"seq {anchor.seq + 1}-{unanchored_seq} written around the audit service: the "
                f"anchor ends at seq {anchor.seq}",
            )

    def _fail(self, seq: int, kind: ProblemKind, message: str) -> Problem:
        self.problem = Problem(seq, kind, message)
        return self.problem


def verify_chain(
    workspace_id: str, records: Iterable[ChainRecord], anchor: Anchor | None, key: bytes
) -> VerifyReport:
    """Verify a whole chain held in memory (records in seq order)."""
    verifier = ChainVerifier(workspace_id, key)
    for record in records:
        if verifier.feed(record) is not None:
            break
    return verifier.finish(anchor)
