"""`ghostwright repair` and `ghostwright eval repair`, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_ghostwright

BROKEN = (
    "import os\n\n\ndef area(width, height)\n    product = width * heigth\n    return product\n"
)


def test_repair_prints_problems_and_a_diff_and_writes_on_request(tmp_path: Path) -> None:
    source = tmp_path / "area.py"
    source.write_text(BROKEN, encoding="utf-8")
    shown = run_ghostwright(None, "repair", str(source), "--no-model")
    assert shown.returncode == 0, shown.stderr
    assert f"{source}:4:24: expected ':' [syntax]" in shown.stdout
    assert "-def area(width, height)\n" in shown.stdout
    assert "+def area(width, height):\n+    product = width * height\n" in shown.stdout
    assert source.read_text(encoding="utf-8") == BROKEN, "nothing written without --write"
    # After the colon, pyflakes sees the typo and the unused import: all three get fixed.
    written = run_ghostwright(None, "repair", str(source), "--no-model", "--write", "--json")
    payload = json.loads(written.stdout)
    assert payload["written"] and all(fix["fixed"] for fix in payload["fixes"])
    assert [fix["origin"] for fix in payload["fixes"]] == ["deterministic"] * 3
    assert source.read_text(encoding="utf-8") == (
        "\n\ndef area(width, height):\n    product = width * height\n    return product\n"
    )


def test_repair_uses_the_model_when_no_rule_fixes_it(
    tmp_path: Path, default_model_path: Path
) -> None:
    source = tmp_path / "loop.py"
    source.write_text(
        "def count(n):\n    i = 0\n    whiel i < n:\n        i += 1\n    return i\n",
        encoding="utf-8",
    )
    result = run_ghostwright(None, "repair", str(source), "--json")
    payload = json.loads(result.stdout)
    (fix,) = payload["fixes"]
    assert fix["fixed"] and fix["origin"] == "model", fix
    assert fix["model_runs"] >= 1 and payload["model"].endswith(".gguf")
    assert "+    while i < n:" in payload["diff"]


def test_eval_repair_measures_injected_errors_without_unverified_fixes() -> None:
    result = run_ghostwright(None, "eval", "repair", "--n", "3", "--no-model", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    kinds = {row["kind"]: row for row in report["kinds"]}
    assert set(kinds) == {
        "colon",
        "bracket",
        "comma",
        "string",
        "indentation",
        "misspelled-name",
        "missing-import",
    }
    assert all(row["cases"] == 3 for row in kinds.values())
    assert report["totals"]["unverified_offered"] == 0
    assert report["totals"]["syntax_fixed_rate"] > 0.5
