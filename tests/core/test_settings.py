"""Settings: offline-safe defaults, MCOPILOT_* overrides, .env, and refusals of bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings, get_settings


def test_defaults_work_offline(monkeypatch):
    monkeypatch.delenv("MCOPILOT_DATA_DIR")
    monkeypatch.delenv("MCOPILOT_MODEL_CACHE_DIR")
    settings = Settings()
    assert settings.model_cache_dir.parts[-2:] == ("mcopilot", "models")
    assert settings.embedding_provider == "local"
    assert settings.chroma_url is None
    assert settings.effective_database_url == f"sqlite:///{settings.data_dir / 'mcopilot.db'}"
    assert "mcopilot" in str(settings.data_dir)
    assert settings.chroma_dir == settings.data_dir / "chroma"


def test_environment_and_dotenv_override(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("MCOPILOT_CHROMA_URL=http://127.0.0.1:8123/\n")
    monkeypatch.setenv("MCOPILOT_DATA_DIR", str(tmp_path / "d"))
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.data_dir == Path(tmp_path / "d")
    assert settings.chroma_url == "http://127.0.0.1:8123"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_uses_psycopg3_for_postgres(url, expected):
    assert Settings(database_url=url).effective_database_url == expected


@pytest.mark.parametrize("value", ["localhost:8000", "ftp://h:1", "http://"])
def test_bad_chroma_url_is_refused_with_the_variable_named(monkeypatch, value):
    monkeypatch.setenv("MCOPILOT_CHROMA_URL", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "chroma_url" in str(caught.value)


def test_api_key_is_secret():
    settings = Settings(embedding_api_key="sk-very-secret", embedding_provider="local")
    assert "sk-very-secret" not in repr(settings)
    assert "sk-very-secret" not in str(settings.model_dump())


def test_urls_lose_their_credentials_before_they_are_shown():
    from core.settings import redact_url

    assert redact_url("https://user:pw@example.com:8443/v1") == "https://***@example.com:8443/v1"
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    with pytest.raises(ValidationError) as caught:
        Settings(chroma_url="ftp://admin:hunter2@host:1")
    assert "hunter2" not in str(caught.value.errors()[0]["msg"])


def test_audit_key_is_generated_in_dev_but_required_elsewhere(tmp_path):
    assert Settings(data_dir=tmp_path).audit_hmac_key is None
    assert Settings(data_dir=tmp_path).audit_key_file == tmp_path / "audit-hmac.key"
    for environment in ("staging", "production"):
        with pytest.raises(ValidationError) as caught:
            Settings(environment=environment)
        assert "MCOPILOT_AUDIT_HMAC_KEY" in str(caught.value)
    key = "k" * 32
    assert Settings(environment="production", audit_hmac_key=key).audit_hmac_key is not None


def test_short_audit_key_is_refused_and_the_key_never_shown(monkeypatch):
    monkeypatch.setenv("MCOPILOT_AUDIT_HMAC_KEY", "changethis")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "at least 32 characters" in str(caught.value)
    assert "changethis" not in str(caught.value)
    settings = Settings(audit_hmac_key="a-long-enough-secret-value-0123456789")
    assert "a-long-enough-secret" not in repr(settings)
    assert "a-long-enough-secret" not in str(settings.model_dump())
