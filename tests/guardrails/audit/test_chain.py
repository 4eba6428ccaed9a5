"""Pure chain verification: every kind of tampering is caught and named at the first bad record."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from guardrails.audit.chain import (
    GENESIS_HASH,
    Anchor,
    ChainRecord,
    record_hash,
    signed_anchor,
    verify_chain,
)

KEY = b"k" * 32
WS = "ws_0123456789abcdef"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _seal(record: ChainRecord) -> ChainRecord:
    return dataclasses.replace(record, record_hash=record_hash(record.hashed_body()))


def chain(count: int) -> list[ChainRecord]:
    records: list[ChainRecord] = []
    previous = GENESIS_HASH
    for seq in range(1, count + 1):
        record = _seal(
            ChainRecord(
                workspace_id=WS,
                seq=seq,
                prev_hash=previous,
                record_hash="",
                actor="ann",
                action="send",
                inputs={"n": seq},
                evidence_ids=[f"ch_{seq}"],
                prompt_version=None,
                model_tier="offline",
                output_hash=None,
                decision="allowed",
                result={"ok": True},
                created_at=T0 + timedelta(seconds=seq),
            )
        )
        records.append(record)
        previous = record.record_hash
    return records


def anchor_of(records: list[ChainRecord], key: bytes = KEY) -> Anchor:
    last = records[-1] if records else None
    return signed_anchor(
        key, WS, last.seq if last else 0, last.record_hash if last else GENESIS_HASH
    )


def problem(records: list[ChainRecord], anchor: Anchor | None, key: bytes = KEY):
    report = verify_chain(WS, records, anchor, KEY if key is None else key)
    return None if report.problem is None else (report.problem.seq, report.problem.kind)


def test_intact_chain_and_empty_chain_verify():
    records = chain(5)
    report = verify_chain(WS, records, anchor_of(records), KEY)
    assert report.intact
    assert (report.records, report.head_seq, report.head_hash) == (5, 5, records[-1].record_hash)
    assert verify_chain(WS, [], None, KEY).intact
    assert verify_chain(WS, [], anchor_of([]), KEY).intact


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", "mallory"),
        ("inputs", {"n": 999}),
        ("evidence_ids", []),
        ("decision", "blocked"),
        ("result", {"ok": False}),
        ("output_hash", "f" * 64),
        ("created_at", T0),
        ("prev_hash", "a" * 64),
    ],
)
def test_an_edit_to_any_field_is_named_at_its_record(field, value):
    records = chain(5)
    records[2] = dataclasses.replace(records[2], **{field: value})
    assert problem(records, anchor_of(chain(5))) == (3, "edited")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link():
    records = chain(5)
    records[1] = _seal(dataclasses.replace(records[1], actor="mallory"))
    assert problem(records, anchor_of(chain(5))) == (3, "broken_link")


def test_rewriting_the_last_record_with_its_hash_shows_against_the_anchor():
    original = chain(4)
    records = [*original[:3], _seal(dataclasses.replace(original[3], decision="blocked"))]
    assert problem(records, anchor_of(original)) == (4, "head_mismatch")


def test_a_deleted_record_is_named_by_its_seq():
    records = chain(6)
    anchor = anchor_of(records)
    assert problem(records[:2] + records[3:], anchor) == (3, "missing")
    report = verify_chain(WS, records[:2] + records[4:], anchor, KEY)
    assert report.problem is not None and "seq 3-4 deleted" in report.problem.message


def test_swapped_seqs_are_caught_at_the_first_moved_record():
    records = chain(5)
    second, third = records[1], records[2]
    records[1] = dataclasses.replace(third, seq=2)
    records[2] = dataclasses.replace(second, seq=3)
    assert problem(records, anchor_of(chain(5))) == (2, "edited")


def test_records_out_of_order_are_caught():
    records = chain(4)
    assert problem([records[0], records[2], records[1], records[3]], anchor_of(records)) == (
        2,
        "missing",
    )
    assert problem([records[0], records[1], records[1]], anchor_of(records)) == (2, "out_of_order")


def test_an_inserted_record_breaks_the_chain_after_it():
    records = chain(4)
    forged = _seal(
        dataclasses.replace(records[1], actor="mallory", prev_hash=records[1].record_hash, seq=3)
    )
    # The forged record chains well; the records it pushed along cannot.
    shifted = [dataclasses.replace(r, seq=r.seq + 1) for r in records[2:]]
    assert problem([*records[:2], forged, *shifted], anchor_of(records)) == (4, "edited")
    resealed = [_seal(r) for r in shifted]
    assert problem([*records[:2], forged, *resealed], anchor_of(records)) == (4, "broken_link")


def test_truncating_the_tail_is_caught_by_the_anchor():
    records = chain(6)
    report = verify_chain(WS, records[:4], anchor_of(records), KEY)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (5, "truncated")
    assert "seq 5-6 deleted" in report.problem.message
    assert problem([], anchor_of(records)) == (1, "truncated")


def test_a_head_moved_back_without_the_key_is_a_forgery():
    records = chain(6)
    honest = anchor_of(records)
    moved = dataclasses.replace(honest, seq=4, record_hash=records[3].record_hash)
    assert problem(records[:4], moved) == (4, "anchor_forged")
    other_key = anchor_of(records[:4], key=b"x" * 32)
    assert problem(records[:4], dataclasses.replace(other_key, key_id=honest.key_id)) == (
        4,
        "anchor_forged",
    )


def test_an_anchor_from_another_key_is_named_with_both_key_ids():
    records = chain(3)
    report = verify_chain(WS, records, anchor_of(records, key=b"y" * 32), KEY)
    assert report.problem is not None and report.problem.kind == "anchor_key"
    assert "MCOPILOT_AUDIT_HMAC_KEY" in report.problem.message


def test_a_deleted_anchor_and_an_unanchored_append_are_caught():
    records = chain(3)
    assert problem(records, None) == (3, "anchor_missing")
    extra = chain(4)
    assert problem(extra, anchor_of(records)) == (4, "unanchored")


def test_records_beyond_the_anchor_seen_by_the_edge_are_unanchored():
    records = chain(3)
    report = verify_chain(WS, records, anchor_of(records), KEY)
    assert report.intact
    from guardrails.audit.chain import ChainVerifier

    verifier = ChainVerifier(WS, KEY)
    for record in records:
        verifier.feed(record)
    late = verifier.finish(anchor_of(records), unanchored_seq=5)
    assert late.problem is not None and (late.problem.seq, late.problem.kind) == (4, "unanchored")


def test_a_record_from_another_workspace_is_caught():
    records = chain(3)
    records[1] = dataclasses.replace(records[1], workspace_id="ws_other")
    assert problem(records, anchor_of(chain(3))) == (2, "foreign")
