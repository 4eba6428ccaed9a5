"""`mcopilot policy extract|apply|show`: propose a brand policy from documents, save it, read it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from api.cli.ingest import WorkspaceOption
from api.cli.output import BarProgress, console, print_json_line
from core.errors import InvalidInput
from core.settings import get_settings

app = typer.Typer(help="Brand policy: extract from documents, apply, show.", no_args_is_help=True)


def _summary(policy: object) -> str:
    from guardrails.policy import RULE_LISTS, BrandPolicy

    assert isinstance(policy, BrandPolicy)
    counts = [f"{len(getattr(policy, name))} {name}" for name in RULE_LISTS]
    return ", ".join(counts)


@app.command("extract")
def extract(
    path: Annotated[Path, typer.Argument(help="The brand's documents: a file or a folder.")],
    workspace: WorkspaceOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the policy as JSON.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the proposed policy YAML here.")
    ] = None,
    brand: Annotated[str, typer.Option("--brand", help="Brand name to record.")] = "",
) -> None:
    """Propose rules from the brand's documents; each rule cites the chunk it came from.

    PATH is ingested into the workspace first (unchanged files are skipped). Review the
    proposal, then save it with `mcopilot policy apply FILE`.
    """
    from guardrails.policy import dump_policy_yaml
    from guardrails.policy_service import extract_from_path

    if out is not None and out.exists() and out.is_dir():
        raise InvalidInput(f"{out} is a folder", field="--out", fix="pass a file name")
    with BarProgress(enabled=not as_json) as progress:
        result = extract_from_path(get_settings(), workspace, path, brand=brand, progress=progress)
    if out is not None:
        out.write_text(dump_policy_yaml(result.policy), encoding="utf-8")
    if as_json:
        print_json_line({"version": result.policy.version, "policy": result.policy.body()})
        return
    if out is None:
        console.print(escape(dump_policy_yaml(result.policy)), end="")
    console.print(
        f"proposed {result.policy.rule_count()} rules from {result.documents} documents "
        f"({result.chunks} chunks), version {result.policy.version}: {_summary(result.policy)}"
        + (f"; written to {escape(str(out))}" if out else ""),
        soft_wrap=True,
    )


@app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="The reviewed policy YAML.")],
    workspace: WorkspaceOption,
    actor: Annotated[str, typer.Option("--as", help="The admin who applies it.")],
) -> None:
    """Validate the policy file and make it the workspace's active policy."""
    from guardrails.policy_service import apply_policy_file

    stored = apply_policy_file(get_settings(), workspace, file, created_by=actor)
    state = "saved" if stored.new else "reactivated"
    console.print(
        f"{state} policy version {stored.version} for {escape(workspace)!r}: "
        f"{stored.policy.rule_count()} rules ({_summary(stored.policy)})"
    )


@app.command("show")
def show(
    workspace: WorkspaceOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The workspace's active policy."""
    from guardrails.policy import dump_policy_yaml
    from guardrails.policy_service import show_policy

    stored = show_policy(get_settings(), workspace)
    if as_json:
        print_json_line(
            {
                "version": stored.version,
                "created_at": stored.created_at.isoformat(),
                "created_by": stored.created_by,
                "policy": stored.policy.body(),
            }
        )
        return
    console.print(escape(dump_policy_yaml(stored.policy)), end="")
    console.print(
        f"active version {stored.version} since {stored.created_at:%Y-%m-%d %H:%M} UTC: "
        f"{_summary(stored.policy)}"
    )
