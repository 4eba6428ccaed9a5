"""The content-check eval: labeled copy samples (violations and clean copy) checked against the
demo brand's policy; findings precision and recall. `python -m evals.policy_eval` prints them.

A finding matches an expected one when the rule id and field are equal and, when the label
names the offending text, the finding's span overlaps where that text is in the field.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from guardrails.copy_asset import CopyAsset
from guardrails.copy_checks import check_copy
from guardrails.findings import Finding
from guardrails.policy import BrandPolicy, load_policy_file

DATASET = Path(__file__).resolve().parent / "datasets" / "policy_findings.jsonl"
POLICY_FILE = Path(__file__).resolve().parents[1] / "knowledge" / "brand-policy.yaml"


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule_id: str
    field: str = "body"
    text: str = ""


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    channel: str
    body: str
    subject: str = ""
    preheader: str = ""
    title: str = ""
    offer_type: str | None = None
    price: float | None = None
    region: str | None = None
    variables: list[str] = Field(default_factory=list)
    expected: list[Expected]

    def asset(self) -> CopyAsset:
        return CopyAsset.from_mapping(self.model_dump())


@dataclass(slots=True)
class SampleResult:
    sample: Sample
    findings: list[Finding]
    matched: int = 0
    missed: list[Expected] = field(default_factory=list)
    extra: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class PolicyEvalReport:
    results: list[SampleResult]

    @property
    def findings(self) -> int:
        return sum(len(r.findings) for r in self.results)

    @property
    def expected(self) -> int:
        return sum(len(r.sample.expected) for r in self.results)

    @property
    def precision(self) -> float:
        wrong = sum(len(r.extra) for r in self.results)
        return 1.0 if not self.findings else (self.findings - wrong) / self.findings

    @property
    def recall(self) -> float:
        missed = sum(len(r.missed) for r in self.results)
        return 1.0 if not self.expected else (self.expected - missed) / self.expected

    @property
    def clean_samples_passed(self) -> tuple[int, int]:
        clean = [r for r in self.results if not r.sample.expected]
        return sum(1 for r in clean if not r.findings), len(clean)


def load_samples(path: Path = DATASET) -> list[Sample]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Sample.model_validate(json.loads(line)) for line in lines if line.strip()]


def _matches(finding: Finding, expected: Expected, sample: Sample) -> bool:
    if finding.rule_id != expected.rule_id or finding.field != expected.field:
        return False
    if not expected.text:
        return True
    text = getattr(sample, expected.field)
    start = text.find(expected.text)
    if start < 0:
        raise ValueError(f"{sample.id}: {expected.text!r} is not in the {expected.field}")
    end = start + len(expected.text)
    return finding.start < end and finding.end > start


def evaluate_sample(policy: BrandPolicy, sample: Sample) -> SampleResult:
    findings = check_copy(policy, sample.asset())
    result = SampleResult(sample, findings)
    used: set[int] = set()
    for expected in sample.expected:
        hit = next(
            (i for i, f in enumerate(findings) if i not in used and _matches(f, expected, sample)),
            None,
        )
        if hit is None:
            result.missed.append(expected)
        else:
            used.add(hit)
    result.matched = len(used)
    result.extra = [f for i, f in enumerate(findings) if i not in used]
    return result


def run_policy_eval(
    policy: BrandPolicy | None = None, samples: list[Sample] | None = None
) -> PolicyEvalReport:
    policy = policy or load_policy_file(POLICY_FILE)
    samples = samples if samples is not None else load_samples()
    return PolicyEvalReport([evaluate_sample(policy, sample) for sample in samples])


def main() -> None:
    report = run_policy_eval()
    for result in report.results:
        for expected in result.missed:
            print(
                f"missed  {result.sample.id}: {expected.rule_id} {expected.field} {expected.text!r}"
            )
        for finding in result.extra:
            print(
                f"extra   {result.sample.id}: {finding.rule_id} {finding.field} "
                f"{finding.text!r} ({finding.message})"
            )
    passed, clean = report.clean_samples_passed
    print(
        f"{len(report.results)} samples ({clean} clean), {report.expected} expected findings, "
        f"{report.findings} reported: precision {report.precision:.3f}, "
        f"recall {report.recall:.3f}; clean copy passed {passed}/{clean}"
    )


if __name__ == "__main__":
    sys.exit(main())
