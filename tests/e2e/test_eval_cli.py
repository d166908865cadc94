"""`ghostwright eval completion` run as a user runs it, with the real default model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import REPO, server_env

SMALL_STDLIB_FILES = ("tty.py", "secrets.py")
"""Real code no one here wrote, short enough that every prompt is cheap on two cores."""


def test_eval_completion_compares_with_naive_on_real_files(
    tmp_path: Path, default_model_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in SMALL_STDLIB_FILES:
        shutil.copy(Path(sysconfig.get_paths()["stdlib"]) / name, corpus / name)
    command = [sys.executable, "-m", "ghostwright", "eval", "completion", "--corpus", str(corpus)]
    result = subprocess.run(
        [*command, "--split", "all", "--n", "6", "--naive", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=server_env(tmp_path),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["files_in_split"] == 2 and payload["files_sampled"] == 2
    assert sum(payload["positions_by_kind"].values()) == 6
    for side in ("ghostwright", "naive"):
        summary = payload[side]
        assert summary["positions"] == 6
        assert 0 <= summary["exact"] <= summary["shown"] <= 6
        for rate in ("shown_rate", "exact_over_all"):
            assert 0.0 <= summary[rate] <= 1.0
        assert (
            summary["latency_p50_ms"] > 0 and summary["latency_p95_ms"] >= summary["latency_p50_ms"]
        )
    assert payload["naive"]["shown"] > 0 and payload["naive"]["model_p50_ms"] > 0
    assert payload["ratios"]["latency_p50"] > 0
    assert payload["machine"]["cores"] >= 1 and payload["settings"]["max_tokens"] > 0
    assert payload["model"] == str(default_model_path)
