"""Running the Neovim plugin in a real Neovim: a headless `nvim` runs a Lua scenario from
`tests/editors/nvim/` against the real server and model, in isolated XDG folders, and writes
what it saw to a JSON file; the telemetry database the server wrote is read back afterwards.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import EXAMPLES, REPO, server_env

BIN = Path(sys.executable).parent
NVIM = BIN / "nvim"
GHOSTWRIGHT = BIN / "ghostwright"
PLUGIN = REPO / "editors" / "nvim"
SCENARIOS = Path(__file__).with_name("nvim")
SERVER_COMMAND = [str(GHOSTWRIGHT), "serve"]
RUN_TIMEOUT_S = 120.0

SAMPLE_LINE = "    return sum("
"""The last line of the sample: the model completes the sum of `total_value` after it."""


@dataclass(frozen=True)
class Event:
    kind: str
    suggestion_id: str
    data: dict[str, Any]


@dataclass
class Session:
    """One Neovim run: its folders, and after `run`, what the scenario reported."""

    home: Path
    results: dict[str, Any]

    @property
    def project(self) -> Path:
        return self.home / "project"

    @property
    def sample(self) -> Path:
        return self.project / "inventory.py"

    @property
    def database(self) -> Path:
        return self.home / "data" / "ghostwright" / "telemetry.sqlite3"

    @property
    def lsp_log(self) -> Path:
        return self.home / "state" / "nvim" / "lsp.log"

    def diagnostics(self) -> str:
        """What to read when a scenario failed: its error, Neovim's messages, the LSP log."""
        shown = {k: v for k, v in self.results.items() if k not in ("lsp_log_tail", "messages")}
        log = self.lsp_log.read_text(errors="replace")[-8000:] if self.lsp_log.exists() else ""
        return (
            f"results: {json.dumps(shown, indent=1)}\n"
            f"--- :messages\n{self.results.get('messages', '')}\n"
            f"--- LSP log ({self.lsp_log})\n{log}"
        )

    def check(self) -> dict[str, Any]:
        """The results, after asserting the scenario ran to its end without an error."""
        assert "error" not in self.results, self.diagnostics()
        assert self.results.get("done"), self.diagnostics()
        return self.results

    def events(
        self, done: Callable[[list[Event]], bool] = lambda _: True, timeout: float = 10.0
    ) -> list[Event]:
        """The telemetry events once `done` says they are all there (the server's writer
        thread commits them in the background; the server's shutdown flushes it)."""
        deadline = time.monotonic() + timeout
        while True:
            found = read_events(self.database)
            if done(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def read_events(database: Path) -> list[Event]:
    if not database.exists():
        return []
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        rows = connection.execute(
            "SELECT kind, suggestion_id, data FROM events ORDER BY time, rowid"
        ).fetchall()
    finally:
        connection.close()
    return [Event(kind, suggestion_id, json.loads(data)) for kind, suggestion_id, data in rows]


def sample_text() -> str:
    """The example module cut after `return sum(` in `total_value`."""
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    return text[: text.index(SAMPLE_LINE) + len(SAMPLE_LINE)] + "\n"


def new_session(home: Path) -> Session:
    """Folders for one run: XDG homes and a project (root marker, sample file)."""
    session = Session(home, {})
    session.project.mkdir(parents=True)
    (session.project / "pyproject.toml").write_text("[project]\nname = 'sample'\n")
    session.sample.write_text(sample_text(), encoding="utf-8")
    return session


def environment(session: Session, **extra: str) -> dict[str, str]:
    env = server_env(
        session.home,
        XDG_STATE_HOME=str(session.home / "state"),
        GHOSTWRIGHT_TEST_RESULTS=str(session.home / "results.json"),
        GHOSTWRIGHT_TEST_PARAMS=str(session.home / "params.json"),
        **extra,
    )
    env.pop("NVIM", None)  # a Neovim running these tests must not become the parent
    env.pop("VIMINIT", None)
    return env


def nvim_command(scenario: str, *, embed: bool = False) -> list[str]:
    """Neovim with no user config, the plugin first on 'runtimepath', running a scenario."""
    return [
        str(NVIM),
        "--embed" if embed else "--headless",
        "--clean",
        "--cmd",
        f"set runtimepath^={PLUGIN}",
        "-c",
        f"luafile {SCENARIOS / scenario}",
    ]


def write_params(session: Session, params: dict[str, Any]) -> None:
    defaults = {"cmd": SERVER_COMMAND, "file": str(session.sample), "setup": {}}
    (session.home / "params.json").write_text(json.dumps(defaults | params))


def read_results(session: Session) -> None:
    path = session.home / "results.json"
    session.results = json.loads(path.read_text()) if path.exists() else {}


def run(
    home: Path,
    scenario: str,
    params: dict[str, Any] | None = None,
    prepare: Callable[[Session], None] | None = None,
    **env: str,
) -> Session:
    """Run `tests/editors/nvim/<scenario>` in a headless Neovim; the session holds its results.

    `prepare` is called with the session's folders made, before Neovim starts."""
    if shutil.which(str(NVIM)) is None:
        raise AssertionError(f"no Neovim at {NVIM}: install the dev dependencies")
    session = new_session(home)
    if prepare is not None:
        prepare(session)
    write_params(session, params or {})
    try:
        completed = subprocess.run(
            nvim_command(scenario),
            cwd=session.project,
            env=environment(session, **env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        read_results(session)
        raise AssertionError(f"nvim ran past {RUN_TIMEOUT_S} s\n{session.diagnostics()}") from exc
    read_results(session)
    session.results.setdefault("exit_code", completed.returncode)
    session.results["stderr"] = completed.stderr.decode(errors="replace")[-2000:]
    return session
