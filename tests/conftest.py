"""Shared fixtures: isolated settings per test, a real PostgreSQL, a real Chroma server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.smtp_sink import free_port
from core.db import dispose_engines
from core.settings import Settings, get_settings
from retrieval.indexes import forget_shared_indexes
from retrieval.vector_store import forget_clients

REPO = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get(
    "MCOPILOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reset_process_state() -> None:
    get_settings.cache_clear()
    forget_shared_indexes()
    forget_clients()
    dispose_engines()


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the session (the ONNX copy is exported once), not the user's."""
    path = tmp_path_factory.mktemp("model-cache")
    os.environ["MCOPILOT_MODEL_CACHE_DIR"] = str(path)
    return path


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_cache_dir: Path
) -> Iterator[None]:
    """No test reads the developer's data dir, caches or .env: each gets an empty data dir."""
    for key in list(os.environ):
        if key.startswith("MCOPILOT_") and key != "MCOPILOT_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("MCOPILOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MCOPILOT_MODEL_CACHE_DIR", str(model_cache_dir))
    monkeypatch.chdir(tmp_path)
    _reset_process_state()
    yield
    _reset_process_state()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _postgres_answers(url: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
        return None
    except psycopg.Error as exc:
        return f"{exc.__class__.__name__}: {str(exc).strip().splitlines()[0]}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the real PostgreSQL server, dropped afterwards.

    Skips when no server answers, except under CI=true, where PostgreSQL must be there.
    """
    problem = _postgres_answers(POSTGRES_URL)
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {POSTGRES_URL} does not answer: {problem}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL} ({problem}); set MCOPILOT_TEST_POSTGRES_URL")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        dispose_engines()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _chroma_executable() -> str:
    candidate = Path(sys.executable).with_name("chroma")
    return str(candidate) if candidate.exists() else (shutil.which("chroma") or "chroma")


class ChromaServer:
    """A real `chroma run` process on loopback."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.path.parent / f"chroma-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            [
                _chroma_executable(),
                "run",
                "--path",
                str(self.path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        import urllib.request

        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma exited with {self.process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("chroma did not answer within 60 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        forget_clients()


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path) -> Settings:
    """The demo brand ingested once per test session into workspace `demo` (read-only use)."""
    from knowledge import DEMO_BRAND_DIR
    from retrieval.ingest import ingest_path

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("demo-data"), model_cache_dir=model_cache_dir
    )
    report = ingest_path(settings, "demo", DEMO_BRAND_DIR, create_workspace=True)
    assert not report.failed, report.failed
    dispose_engines()
    return settings
