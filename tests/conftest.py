"""Shared fixtures: the real default model, and how to start the real server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from ghostwright.engine.models import ModelSpec, default_model, find_model, is_fetched
from ghostwright.events import Event, read_trace

E = TypeVar("E", bound=Event)
EVENTS_FILE = "events.jsonl"
"""Where a server under test traces its typed events, under its home (`server_env`)."""

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SERVER_COMMAND = [sys.executable, "-m", "ghostwright", "serve"]


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    spec = default_model()
    if not is_fetched(spec):
        pytest.fail("the default model is not fetched: run `make model` (make test does)")
    return spec.cached_path


@pytest.fixture(scope="session")
def code_model() -> ModelSpec:
    """The fill-in-the-middle code model of the FIM tests (Qwen2.5-Coder-0.5B), fetched."""
    spec = find_model("qwen2.5-coder-0.5b")
    if not is_fetched(spec):
        pytest.fail(f"{spec.name} is not fetched: run `make fim-model` (make test does)")
    return spec


def run_ghostwright(
    home: Path | None, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`ghostwright ARGS` in a fresh process from the checkout: with `server_env(home)` (user
    config and data under `home`), or for `home` None with `env` as given, or this process's
    environment (as a person runs it). The one way the tests run the command."""
    return subprocess.run(
        [sys.executable, "-m", "ghostwright", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=server_env(home) if home is not None else env,
        check=False,
    )


def server_env(tmp_home: Path, **extra: str) -> dict[str, str]:
    """The environment for a server under test: user config isolated, model cache shared.

    The acceptance predictor hides nothing (`GHOSTWRIGHT_PREDICTOR_THRESHOLD=0`) so that tests
    of the machinery behind a suggestion see every suggestion the model makes; the predictor's
    own tests set a threshold. Its typed events go to `EVENTS_FILE` under `tmp_home`
    (`traced_events`, `next_event`).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHOSTWRIGHT_")}
    env["XDG_CONFIG_HOME"] = str(tmp_home / "config")
    env["XDG_DATA_HOME"] = str(tmp_home / "data")
    env["GHOSTWRIGHT_PREDICTOR_THRESHOLD"] = "0"
    env["GHOSTWRIGHT_EVENTS_FILE"] = str(tmp_home / EVENTS_FILE)
    env.update(extra)
    return env


def traced_events(tmp_home: Path) -> list[Event]:
    """The typed events the server started with `server_env(tmp_home)` has emitted so far."""
    return list(read_trace(tmp_home / EVENTS_FILE))


async def next_event(
    tmp_home: Path,
    event_type: type[E],
    *,
    after: int = 0,
    where: Callable[[E], bool] = lambda event: True,
    timeout_s: float = 120.0,
) -> E:
    """The first event of `event_type` that `where` accepts among the server's events after
    the first `after`, as soon as it is traced (an answer's event is traced before the answer
    is sent; a warm-up's or a carried-on generation's come later)."""
    deadline = time.monotonic() + timeout_s
    while True:
        for event in traced_events(tmp_home)[after:]:
            if isinstance(event, event_type) and where(event):
                return event
        if time.monotonic() > deadline:
            raise AssertionError(f"no {event_type.kind} event within {timeout_s:.0f} s")
        await asyncio.sleep(0.02)


@pytest.fixture(scope="session")
def fim_model_path(default_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the default model whose metadata declares FIM tokens (DESIGN.md's recipe).

    Ids 7, 8, 9 (`<gh_stars>`, `<issue_start>`, `<issue_comment>`) become prefix/suffix/middle,
    3 and 5 repo and file separator. llama.cpp then reports FIM support, so the whole FIM path
    runs for real; what the model answers in that mode is meaningless.
    """
    target = tmp_path_factory.mktemp("fim") / "smollm2-fim.gguf"
    tool = Path(sys.executable).with_name("gguf-new-metadata")
    command = [str(tool)]
    for name, token in (
        ("fim_pre", 7),
        ("fim_suf", 8),
        ("fim_mid", 9),
        ("fim_rep", 3),
        ("fim_sep", 5),
    ):
        command += ["--special-token-by-id", name, str(token)]
    subprocess.run(
        [*command, str(default_model_path), str(target)], check=True, capture_output=True
    )
    return target
