"""`mcopilot check`: check one piece of copy against the workspace's brand policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core.errors import InvalidInput
from core.settings import get_settings

EXIT_BLOCKED = 1


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise InvalidInput(f"cannot read {file}: {reason}", field="--file") from None


def check(
    workspace: WorkspaceOption,
    channel: Annotated[str, typer.Option("--channel", help="email, sms, push or in_app.")],
    text: Annotated[str | None, typer.Option("--text", help="The copy (the body).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Read the body from a file.")] = None,
    subject: Annotated[str, typer.Option("--subject", help="Email subject line.")] = "",
    preheader: Annotated[str, typer.Option("--preheader", help="Email preheader.")] = "",
    title: Annotated[str, typer.Option("--title", help="Push or in-app title.")] = "",
    offer_type: Annotated[
        str | None, typer.Option("--offer-type", help="e.g. saas_plan_discount, free_trial.")
    ] = None,
    price: Annotated[
        float | None, typer.Option("--price", help="List price, to measure '$X off' against.")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="US, CA, EU or UK.")] = None,
    variables: Annotated[
        list[str] | None, typer.Option("--var", help="A template variable the sender fills.")
    ] = None,
    claims: Annotated[
        bool | None,
        typer.Option(
            "--claims/--no-claims",
            help="Check that factual sentences cite supporting evidence (default: when the "
            "copy cites any).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check copy for one channel; exit 0 when nothing blocks, 1 when something blocks."""
    from guardrails.content_check import check_in_workspace
    from guardrails.copy_asset import CopyAsset

    if (text is None) == (file is None):
        raise InvalidInput(
            "pass the copy with --text or --file (exactly one)", field="--text/--file"
        )
    body = text if text is not None else _read(file)  # type: ignore[arg-type]
    asset = CopyAsset(
        channel=channel,
        body=body,
        subject=subject,
        preheader=preheader,
        title=title,
        offer_type=offer_type,
        price=price,
        region=region.upper() if region else None,
        variables=frozenset(variables or ()),
    )
    result = check_in_workspace(get_settings(), workspace, asset, claims=claims)
    if as_json:
        print_json_line(
            {
                "passed": result.passed,
                "policy_version": result.policy_version,
                "findings": [f.to_dict() for f in result.findings],
            }
        )
    else:
        for f in result.findings:
            colour = "red" if f.severity == "block" else "yellow"
            where = f"{f.field}[{f.start}:{f.end}]" if f.end else f.field
            console.print(
                f"[{colour}]{f.severity}[/] {escape(f.rule_id)} {escape(where)}: "
                f"{escape(f.message)}\n  fix: {escape(f.fix)}\n  source: {escape(f.source)}"
            )
        blocks = sum(1 for f in result.findings if f.severity == "block")
        console.print(
            f"{'passed' if result.passed else 'blocked'}: {blocks} blocking, "
            f"{len(result.findings) - blocks} warnings (policy {result.policy_version})"
        )
    if not result.passed:
        raise typer.Exit(EXIT_BLOCKED)
