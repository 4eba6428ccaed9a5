"""The OpenAI-compatible embeddings alternative, against a real HTTP server on loopback."""

from __future__ import annotations

import pytest

from core.errors import BackendUnavailable, Conflict
from core.settings import Settings
from retrieval.embeddings import OpenAICompatibleEmbedder, get_embedder
from retrieval.ingest import ingest_path
from retrieval.knowledge import reindex
from retrieval.search import search
from tests.fixtures.corpus import write_corpus
from tests.fixtures.openai_server import DIM, OpenAICompatibleServer


@pytest.fixture
def endpoint():
    with OpenAICompatibleServer() as server:
        yield server


def openai_settings(tmp_path, endpoint, **extra) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        embedding_provider="openai",
        embedding_base_url=endpoint.base_url,
        embedding_model="text-embedding-test",
        embedding_api_key="sk-test-secret",
        embedding_timeout_s=1.0,
        **extra,
    )


def test_ingest_and_search_with_an_openai_compatible_endpoint(tmp_path, endpoint):
    settings = openai_settings(tmp_path, endpoint)
    root = write_corpus(tmp_path / "brand")
    report = ingest_path(settings, "acme", root, create_workspace=True)
    assert report.count("added") == 5 and report.embedded > 0
    results = search("acme", "Reply STOP to opt out", k=3, settings=settings)
    assert results[0].source == "sms/opt-out.md"
    assert "dense" in results[0].retrievers
    assert {r["model"] for r in endpoint.requests} == {"text-embedding-test"}
    assert set(endpoint.auth_headers) == {"Bearer sk-test-secret"}
    embedder = get_embedder(settings)
    assert embedder.dim == DIM
    assert "sk-test-secret" not in repr(settings) and "sk-test-secret" not in embedder.model_id


def test_switching_models_on_an_indexed_workspace_asks_for_a_reindex(tmp_path, endpoint):
    local = Settings(data_dir=tmp_path / "data")
    root = write_corpus(tmp_path / "brand")
    ingest_path(local, "acme", root, create_workspace=True)
    remote = openai_settings(tmp_path, endpoint)
    with pytest.raises(Conflict, match="indexed with sentence-transformers") as caught:
        search("acme", "free trial", settings=remote)
    assert "mcopilot knowledge reindex" in caught.value.one_line()
    rebuilt = reindex(remote, "acme")
    assert rebuilt.chunks > 0 and rebuilt.embedded == rebuilt.chunks
    assert search("acme", "free trial", k=1, settings=remote)[0].source == "pricing.md"


@pytest.mark.parametrize("mode", ["error500", "rate_limit", "slow", "invalid_json", "short"])
def test_endpoint_failures_are_backend_errors_and_nothing_is_written(tmp_path, endpoint, mode):
    settings = openai_settings(tmp_path, endpoint)
    endpoint.mode = mode
    root = write_corpus(tmp_path / "brand")
    with pytest.raises(BackendUnavailable) as caught:
        ingest_path(settings, "acme", root, create_workspace=True)
    assert caught.value.field == "MCOPILOT_EMBEDDING_BASE_URL"
    assert "sk-test-secret" not in caught.value.one_line()
    endpoint.mode = "ok"
    report = ingest_path(settings, "acme", root, create_workspace=True)
    assert report.count("added") == 5, "the failed run left nothing half-written"


def test_openai_provider_needs_a_base_url():
    with pytest.raises(ValueError, match="MCOPILOT_EMBEDDING_BASE_URL"):
        Settings(embedding_provider="openai")


def test_embedder_refuses_a_mismatched_vector_count(endpoint):
    endpoint.mode = "short"
    embedder = OpenAICompatibleEmbedder(
        base_url=endpoint.base_url, model="m", api_key=None, timeout_s=1.0, batch_size=8
    )
    with pytest.raises(BackendUnavailable, match="returned 1 vectors for 2 texts"):
        embedder.embed_documents(["a", "b"])


def test_model_id_keeps_no_credentials_and_fits_its_column(endpoint):
    host = endpoint.base_url.split("//", 1)[1]
    embedder = OpenAICompatibleEmbedder(
        base_url=f"http://user:secret-token@{host}",
        model="m" * 400,
        api_key=None,
        timeout_s=1.0,
        batch_size=8,
    )
    assert "secret-token" not in embedder.model_id
    assert len(embedder.model_id) <= 300
