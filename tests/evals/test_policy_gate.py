"""The content-check gate: the labeled copy set is valid and the checks meet their bars."""

from __future__ import annotations

from collections import Counter

from evals.policy_eval import load_samples, run_policy_eval

MIN_PRECISION = 0.95
MIN_RECALL = 0.95


def test_the_labeled_set_covers_every_channel_kind_and_clean_copy():
    samples = load_samples()
    assert len(samples) >= 60 and len({s.id for s in samples}) == len(samples)
    assert set(Counter(s.channel for s in samples)) == {"email", "sms", "push", "in_app"}
    assert sum(1 for s in samples if not s.expected) >= 15
    families = {e.rule_id.split(".")[0] for s in samples for e in s.expected}
    assert families >= {
        "avoid",
        "claim",
        "sms",
        "email",
        "push",
        "in_app",
        "tone",
        "disclaimer",
        "always",
        "discount",
        "regional",
        "template",
        "pii",
    }


def test_findings_precision_and_recall_meet_the_bar():
    report = run_policy_eval()
    assert report.precision >= MIN_PRECISION, report.precision
    assert report.recall >= MIN_RECALL, report.recall
