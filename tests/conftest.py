"""Shared fixtures: the real default model, and how to start the real server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ghostwright.engine.models import default_model, is_fetched

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SERVER_COMMAND = [sys.executable, "-m", "ghostwright", "serve"]


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    spec = default_model()
    if not is_fetched(spec):
        pytest.fail("the default model is not fetched: run `make model` (make test does)")
    return spec.cached_path


def server_env(tmp_home: Path, **extra: str) -> dict[str, str]:
    """The environment for a server under test: user config isolated, model cache shared."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHOSTWRIGHT_")}
    env["XDG_CONFIG_HOME"] = str(tmp_home / "config")
    env["XDG_DATA_HOME"] = str(tmp_home / "data")
    env.update(extra)
    return env
