"""`ghostwright eval completion` run as a user runs it, with the real default model."""

from __future__ import annotations

import json
import shutil
import sysconfig
from pathlib import Path

from ghostwright.engine.models import ModelSpec
from tests.conftest import run_ghostwright

SMALL_STDLIB_FILES = ("tty.py", "secrets.py")
"""Real code no one here wrote, short enough that every prompt is cheap on two cores."""


def test_eval_completion_compares_with_naive_on_real_files(
    tmp_path: Path, default_model_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in SMALL_STDLIB_FILES:
        shutil.copy(Path(sysconfig.get_paths()["stdlib"]) / name, corpus / name)
    command = ["eval", "completion", "--corpus", str(corpus)]
    result = run_ghostwright(
        tmp_path, *command, "--split", "all", "--n", "6", "--naive", "--json", timeout=300
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


def test_eval_infill_fills_real_holes_with_the_server_and_the_naive_fim_path(
    tmp_path: Path, code_model: ModelSpec
) -> None:
    """A small real run with the FIM model: the server and the naive FIM integration fill the
    same holes (a doctested Python package and a C corpus), and the doctests judge."""
    command = ["eval", "infill", "--split", "tune"]
    options = ["--n", "1", "--kinds", "line,midline", "--languages", "python,c"]
    contenders = ["--model", code_model.name, "--contenders", "ghostwright,naive-fim", "--json"]
    result = run_ghostwright(tmp_path, *command, *options, *contenders, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    payload = json.loads(result.stdout)
    groups = {(g["kind"], g["language"], g["contender"]): g for g in payload["groups"]}
    expected = {
        (kind, language, contender)
        for kind, language in (("line", "python"), ("midline", "python"), ("midline", "c"))
        for contender in ("ghostwright", "naive-fim")
    }
    assert set(groups) == expected
    for group in groups.values():
        assert group["tasks"] == 1 and 0 <= group["passed"] <= group["shown"] <= 1
        assert group["latency_p50_ms"] > 0
    for contender in ("ghostwright", "naive-fim"):
        fills = payload["fills"][contender]
        assert len(fills) == 3 and all(len(case) == 4 for case in fills)


def test_eval_completion_in_another_language_uses_its_corpus(tmp_path: Path) -> None:
    """JavaScript from the validation corpus (underscore, from npm), with CRLF files among it:
    positions from its tree-sitter tree, asked of the pipeline as JavaScript."""
    result = run_ghostwright(
        tmp_path, "eval", "completion", "--language", "javascript", "--n", "4", "--json"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    payload = json.loads(result.stdout)
    assert payload["language"] == "javascript" and payload["split"] == "validation"
    assert payload["ghostwright"]["positions"] == 4
    assert payload["files_in_split"] > 100  # underscore's modules
