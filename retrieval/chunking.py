"""Cut a parsed document into chunks: one section at a time, paragraphs packed under a token
budget, long sections split on paragraphs with a small overlap of the previous chunk's tail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from retrieval.documents import ChunkDraft, ParsedDocument, Section, indexed_text

TokenCounter = Callable[[str], int]

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_LINE_BREAK = re.compile(r"\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"\S+")
_APPROX_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True, slots=True)
class ChunkingConfig:
    """Budgets in model tokens (word pieces); `max_tokens` is what the model reads at most."""

    max_tokens: int = 256
    target_tokens: int = 200
    overlap_tokens: int = 40
    special_tokens: int = 2

    def version(self) -> str:
        return f"chunk-v1:{self.max_tokens}:{self.target_tokens}:{self.overlap_tokens}"


def approximate_token_count(text: str) -> int:
    """A tokenizer-free estimate: words and punctuation marks, long words counted twice."""
    return sum(1 + len(t) // 10 for t in _APPROX_TOKEN.findall(text))


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    end: int
    tokens: int


def _spans(
    text: str, start: int, end: int, separator: re.Pattern[str]
) -> Iterator[tuple[int, int]]:
    """The non-blank pieces of text[start:end] between separator matches, as trimmed spans."""
    cursor = start
    for match in separator.finditer(text, start, end):
        yield from _trimmed(text, cursor, match.start())
        cursor = match.end()
    yield from _trimmed(text, cursor, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        yield start + lead, start + lead + len(stripped)


def _words(text: str, start: int, end: int, budget: int, count: TokenCounter) -> Iterator[_Unit]:
    """Windows of whole words under the budget (a word longer than the budget stands alone)."""
    window_start = window_end = -1
    used = 0
    for match in _WORD.finditer(text, start, end):
        tokens = count(match.group())
        if window_start >= 0 and used + tokens > budget:
            yield _Unit(window_start, window_end, used)
            window_start, used = -1, 0
        if window_start < 0:
            window_start = match.start()
        window_end = match.end()
        used += tokens
    if window_start >= 0:
        yield _Unit(window_start, window_end, used)


_LEVELS = (_PARAGRAPH_BREAK, _LINE_BREAK, _SENTENCE_END)


def _units(
    text: str, start: int, end: int, budget: int, count: TokenCounter, level: int = 0
) -> Iterator[_Unit]:
    """Paragraphs; a paragraph over the budget becomes lines, then sentences, then words."""
    for piece_start, piece_end in _spans(text, start, end, _LEVELS[level]):
        tokens = count(text[piece_start:piece_end])
        if tokens <= budget:
            yield _Unit(piece_start, piece_end, tokens)
        elif level + 1 < len(_LEVELS):
            yield from _units(text, piece_start, piece_end, budget, count, level + 1)
        else:
            yield from _words(text, piece_start, piece_end, budget, count)


def _overlap_start(text: str, unit: _Unit, budget: int, count: TokenCounter) -> int | None:
    """Where the overlap begins: the last sentence (or line) of the unit, if it is small."""
    pieces = list(_spans(text, unit.start, unit.end, _SENTENCE_END))
    if len(pieces) < 2:
        pieces = list(_spans(text, unit.start, unit.end, _LINE_BREAK))
    if not pieces:
        return None
    tail_start, tail_end = pieces[-1]
    if count(text[tail_start:tail_end]) <= budget:
        return tail_start
    return None


def chunk_section(
    text: str,
    section: Section,
    *,
    count: TokenCounter,
    config: ChunkingConfig,
) -> list[tuple[int, int, int]]:
    """Spans (start, end, tokens) of the chunks of one section, in order."""
    heading_tokens = count(indexed_text(section.heading_path, "")) + config.special_tokens
    hard = config.max_tokens - heading_tokens
    target = max(min(config.target_tokens - heading_tokens, hard), 16)
    hard = max(hard, target)
    units = list(_units(text, section.start, section.end, target, count))
    chunks: list[tuple[int, int, int]] = []
    current: list[_Unit] = []
    used = 0
    for unit in units:
        if current and used + unit.tokens > target:
            chunks.append((current[0].start, current[-1].end, used))
            tail = _overlap_start(text, current[-1], config.overlap_tokens, count)
            current, used = [], 0
            if tail is not None and tail > chunks[-1][0]:
                overlap = _Unit(tail, chunks[-1][1], count(text[tail : chunks[-1][1]]))
                if overlap.tokens + unit.tokens <= hard:
                    current, used = [overlap], overlap.tokens
        current.append(unit)
        used += unit.tokens
    if current:
        chunks.append((current[0].start, current[-1].end, used))
    return chunks


def chunk_document(
    document: ParsedDocument,
    *,
    count: TokenCounter = approximate_token_count,
    config: ChunkingConfig | None = None,
) -> list[ChunkDraft]:
    """Every chunk of the document; a chunk never spans two sections."""
    config = config or ChunkingConfig()
    drafts: list[ChunkDraft] = []
    for section in document.sections:
        for start, end, _ in chunk_section(document.text, section, count=count, config=config):
            body = document.text[start:end]
            drafts.append(
                ChunkDraft(
                    position=len(drafts),
                    heading_path=section.heading_path,
                    text=body,
                    char_start=start,
                    char_end=end,
                    token_count=count(indexed_text(section.heading_path, body))
                    + config.special_tokens,
                )
            )
    return drafts
