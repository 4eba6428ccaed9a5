"""The keyword index: bm25s over stemmed tokens, one persisted index per workspace.

The database is the source of truth; an index is derived from the workspace's chunks and
stamped with the workspace's `index_version`. A search that finds the stamp behind rebuilds
first, so a crash between a commit and an index write never serves stale keywords for long.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)

_TOKEN = re.compile(r"[^\W_]+(?:[.,][0-9]+)*", re.UNICODE)
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "can",
        "do",
        "does",
        "did",
        "about",
        "should",
        "would",
        "could",
        "my",
        "me",
        "us",
    }
)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def keyword_tokens(text: str) -> list[str]:
    """Normalised keyword tokens: NFKC, case-folded, accents kept, English-stemmed, stopwords out.

    Numbers stay whole ("1.5", "29"), so prices and percentages can be matched.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    words = [w for w in _TOKEN.findall(folded) if w not in STOPWORDS]
    return _stemmer().stemWords(words)


@dataclass(frozen=True, slots=True)
class KeywordHit:
    chunk_id: str
    score: float


class KeywordIndex:
    """A built bm25s index and the chunk ids of its rows."""

    def __init__(self, retriever: Any, chunk_ids: list[str], version: int) -> None:
        self._retriever = retriever
        self.chunk_ids = chunk_ids
        self.version = version

    @classmethod
    def build(cls, chunk_ids: list[str], texts: list[str], version: int) -> KeywordIndex:
        import bm25s

        retriever = bm25s.BM25(k1=1.2, b=0.75)
        if texts:
            corpus = [keyword_tokens(text) or [""] for text in texts]
            retriever.index(corpus, show_progress=False)
        return cls(retriever, list(chunk_ids), version)

    def query(self, text: str, n: int) -> list[KeywordHit]:
        """Up to n chunks with a positive BM25 score, best first."""
        if not self.chunk_ids:
            return []
        ids = self._retriever.get_tokens_ids(keyword_tokens(text))
        if not ids:
            return []
        scores = self._retriever.get_scores_from_ids(ids)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [KeywordHit(self.chunk_ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def save(self, directory: Path) -> None:
        """Write atomically: a temporary folder renamed into place. If another process saved
        this version first, its copy (built from the same database state) is kept."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=directory.parent))
        try:
            if self.chunk_ids:
                self._retriever.save(str(staging), show_progress=False)
            (staging / "chunk_ids.json").write_text(
                json.dumps({"version": self.version, "chunk_ids": self.chunk_ids})
            )
            try:
                staging.rename(directory)
            except OSError:
                if not (directory / "chunk_ids.json").exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> KeywordIndex | None:
        """The saved index, or None if there is none (or it is unreadable)."""
        import bm25s

        try:
            meta = json.loads((directory / "chunk_ids.json").read_text())
            retriever = bm25s.BM25()
            if meta["chunk_ids"]:
                retriever = bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
            return cls(retriever, meta["chunk_ids"], int(meta["version"]))
        except (OSError, ValueError, KeyError):
            return None


class KeywordIndexCache:
    """Per-process cache of loaded indexes, refreshed when the workspace's version moves."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._loaded: dict[str, KeywordIndex] = {}
        self._lock = threading.Lock()

    def directory(self, workspace_id: str, version: int) -> Path:
        """One folder per version, so writers never replace a folder a reader is loading."""
        return self.root / workspace_id / f"v{version}"

    def get(self, workspace_id: str, version: int) -> KeywordIndex | None:
        """The index at this version, from memory or disk; None when it must be rebuilt."""
        with self._lock:
            index = self._loaded.get(workspace_id)
            if index is not None and index.version == version:
                return index
            index = KeywordIndex.load(self.directory(workspace_id, version))
            if index is None or index.version != version:
                return None
            self._loaded[workspace_id] = index
            return index

    def put(self, workspace_id: str, index: KeywordIndex) -> None:
        index.save(self.directory(workspace_id, index.version))
        with self._lock:
            self._loaded[workspace_id] = index
        self._remove_older(workspace_id, index.version)

    def _remove_older(self, workspace_id: str, version: int) -> None:
        """Delete versions before this one (best effort; a reader loads fully into memory)."""
        for folder in (self.root / workspace_id).glob("v*"):
            number = folder.name[1:]
            if number.isdigit() and int(number) < version:
                shutil.rmtree(folder, ignore_errors=True)

    def drop(self, workspace_id: str) -> None:
        with self._lock:
            self._loaded.pop(workspace_id, None)
        shutil.rmtree(self.root / workspace_id, ignore_errors=True)
