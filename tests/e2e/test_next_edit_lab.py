"""The next-edit lab as a user runs it: `eval next-edit` on renames of real code, its rows
training the next-edit predictor (`train --next-edit`), and the next-edit bench through the real
server on a large file."""

from __future__ import annotations

import json
import shutil
import sysconfig
from pathlib import Path

from ghostwright.engine.models import ModelSpec
from ghostwright_lab.bench.next_edit_bench import (
    NextEditBenchOptions,
    format_report,
    large_file,
    run_next_edit_bench,
)
from tests.conftest import run_ghostwright

REAL_FILES = ("shlex.py", "textwrap.py")
"""Real code no one here wrote, with functions full of locals."""


def test_eval_renames_then_train_the_predictor_on_its_rows(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in REAL_FILES:
        shutil.copy(Path(sysconfig.get_paths()["stdlib"]) / name, corpus / name)
    rows = tmp_path / "rows.jsonl"
    result = run_ghostwright(
        tmp_path,
        *("eval", "next-edit", "--kinds", "rename", "--corpus", str(corpus), "--renames", "12"),
        *("--model", "none", "--no-predictor", "--rows", str(rows), "--json"),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    renames = json.loads(result.stdout)["ghostwright"]["rename"]
    assert renames["tasks"] == 12
    assert renames["hits"] == renames["shown"] == 12
    assert renames["outside_edits"] == 0
    assert renames["sources"]["rename"]["shown"] == 12
    lines = [json.loads(line) for line in rows.read_text().splitlines()]
    assert len(lines) == 12 and {line["label"] for line in lines} == {1}
    assert all(line["features"]["rename"] == 1.0 for line in lines)

    # One wrong proposal of another source, so that there is something to tell apart.
    wrong = dict(lines[0], source="model", label=0)
    wrong["features"] = dict(lines[0]["features"], rename=0.0, model=1.0)
    with rows.open("a") as stream:
        stream.write(json.dumps(wrong) + "\n")
    predictor = tmp_path / "predictor.json"
    trained = run_ghostwright(tmp_path, "train", "--next-edit", str(rows), "--out", str(predictor))
    assert trained.returncode == 0, trained.stderr
    assert "13 rows (12 right)" in trained.stdout
    model = json.loads(predictor.read_text())
    assert model["weights"]["rename"] > model["weights"]["model"]
    assert 0.0 < model["threshold"] <= 1.0


def test_the_bench_measures_renames_in_a_large_file(default_model_path: Path) -> None:
    assert large_file(20_000).count("\n") >= 20_000
    report = run_next_edit_bench(
        NextEditBenchOptions(model=default_model_path, fim_model=None, lines=3000, renames=4)
    )
    assert report.lines >= 3000
    assert report.renames == 4 and len(report.rename_compute_ms) == 4
    assert report.rename_hits == 4
    assert "rename proposal on a" in format_report(report)


def test_the_bench_measures_model_proposals_and_the_completion_after_them(
    default_model_path: Path, code_model: ModelSpec
) -> None:
    """Parts 2-4 with the code model: model proposals timed, and the completion typed after a
    proposal finds its prompt still in the completion's KV cache (the rewrite context)."""
    report = run_next_edit_bench(
        NextEditBenchOptions(
            model=default_model_path,
            fim_model=code_model.cached_path,
            lines=500,
            renames=1,
            history=4,
            cancels=0,
        )
    )
    assert report.history == 4 and report.model_compute_ms
    assert all(ms > 0 for ms in report.model_ms)
    assert report.after_ms and all(share > 0.1 for share in report.after_reused)
    assert "the completion after a model proposal" in format_report(report)
