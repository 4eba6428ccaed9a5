"""The bundled MiniLM: the ONNX copy gives sentence-transformers' vectors, and spares torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from core.settings import Settings
from retrieval.embeddings import MiniLMEmbedder, get_embedder, minilm_onnx_file

TEXTS = [
    "How long is the free trial?",
    "Brightloop Growth costs $79 a month; annual billing is ten times the monthly price. " * 6,
    "Émojis 🚀, accents and 25% off: all the same vectors.",
    "x",
]


def test_onnx_copy_matches_sentence_transformers(settings):
    embedder = get_embedder(settings)
    assert isinstance(embedder, MiniLMEmbedder)
    assert embedder.onnx_encoder() is not None
    assert minilm_onnx_file(settings.model_cache_dir).exists()
    reference = embedder.embed_documents_with_model(TEXTS)
    assert np.abs(embedder.embed_documents(TEXTS) - reference).max() < 1e-4
    for text, expected in zip(TEXTS, reference, strict=True):
        assert np.abs(embedder.embed_query(text) - expected).max() < 1e-4
        assert np.abs(embedder.embed_query_with_model(text) - expected).max() < 1e-4


def test_vectors_are_normalised_float32(settings):
    vectors = get_embedder(settings).embed_documents(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_without_a_cache_dir_sentence_transformers_encodes(settings):
    embedder = MiniLMEmbedder(cache_dir=None)
    assert embedder.onnx_encoder() is None
    vector = embedder.embed_query("How long is the free trial?")
    expected = get_embedder(settings).embed_query("How long is the free trial?")
    assert np.abs(vector - expected).max() < 1e-4


def test_an_unusable_cache_dir_falls_back_instead_of_failing(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    embedder = MiniLMEmbedder(cache_dir=blocker / "models")
    assert embedder.embed_query("trial").shape == (384,)
    assert embedder.onnx_encoder() is None
    assert "stay on sentence-transformers" in caplog.text


def test_search_in_a_new_process_does_not_load_torch(tmp_path, demo_settings):
    get_embedder(Settings(data_dir=tmp_path)).onnx_encoder()  # the copy exists now
    program = textwrap.dedent(
        f"""
        import sys
        from core.settings import Settings
        from retrieval.search import search
        settings = Settings(data_dir={str(demo_settings.data_dir)!r})
        results = search("demo", "free trial length", k=3, settings=settings)
        assert results, "no results"
        print("torch" in sys.modules, "sentence_transformers" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("count", [1, 5, 9])
def test_document_batches_keep_order(settings, count):
    embedder = get_embedder(settings)
    texts = [f"Plan number {i} costs {i * 10} dollars." for i in range(count)]
    together = embedder.embed_documents(texts)
    one_by_one = np.vstack([embedder.embed_query(t) for t in texts])
    assert np.abs(together - one_by_one).max() < 1e-4
