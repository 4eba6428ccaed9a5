"""The progress bar: drawn on a terminal for more than a few items, silent otherwise."""

from __future__ import annotations

import io
import re

from rich.console import Console

from api.cli.output import BarProgress
from retrieval.ingest import ingest_path
from tests.fixtures.corpus import write_corpus


def terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=100), buffer


def test_ingest_of_several_files_draws_a_bar(tmp_path, settings):
    console, buffer = terminal()
    root = write_corpus(tmp_path / "brand")
    with BarProgress(console=console) as progress:
        ingest_path(settings, "acme", root, create_workspace=True, progress=progress)
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buffer.getvalue())
    assert re.search(r"reading\s+━+ \d/5", drawn), drawn
    assert re.search(r"embedding\s+━+ 7/7", drawn), drawn


def test_a_few_items_draw_nothing_and_pipes_never_get_a_bar():
    console, buffer = terminal()
    with BarProgress(console=console) as progress:
        progress.start("reading", 2)
        progress.advance(2)
    assert "reading" not in buffer.getvalue()
    piped = Console(file=io.StringIO(), force_terminal=False)
    assert BarProgress(console=piped).enabled is False
