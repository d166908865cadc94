"""The command line, run as a user runs it, with the real default model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import EXAMPLES, run_ghostwright


def test_complete_json_reports_text_and_timings(tmp_path: Path, default_model_path: Path) -> None:
    source = tmp_path / "add.py"
    source.write_text('def add(a, b):\n    """Add two numbers."""\n    return \n', encoding="utf-8")
    result = run_ghostwright(
        None, "complete", str(source), "--line", "3", "--column", "12", "--json", "--invoked"
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["text"].strip() and payload["candidates"][0] == payload["text"]
    assert 0.0 <= payload["score"] <= 1.0 and 0.0 < payload["confidence"] <= 1.0
    assert payload["latency_ms"] > 0 and payload["model_ms"] > 0
    assert payload["prompt_tokens"] > 5
    assert payload["mode"] == "prefix"  # the default model has no FIM tokens


def test_complete_plain_prints_the_suggestion(tmp_path: Path, default_model_path: Path) -> None:
    source = tmp_path / "inventory.py"
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    source.write_text(
        text.replace("    return min(items, key=lambda item: item.price)", "    return min(")
    )
    line = text[: text.index("    return min(")].count("\n") + 1
    result = run_ghostwright(None, "complete", str(source), "--line", str(line), "--column", "16")
    assert result.returncode == 0, result.stderr
    assert "items" in result.stdout


def test_complete_line_outside_file_is_a_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "one.py"
    source.write_text("x = 1\n", encoding="utf-8")
    result = run_ghostwright(None, "complete", str(source), "--line", "99", "--column", "1")
    assert result.returncode == 2
    assert "outside" in result.stderr and "Traceback" not in result.stderr


def test_missing_model_names_the_fix(tmp_path: Path) -> None:
    source = tmp_path / "one.py"
    source.write_text("x = 1\n", encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GHOSTWRIGHT_MODEL": str(tmp_path / "nope.gguf"),
    }
    result = run_ghostwright(None, "complete", str(source), "--line", "1", "--column", "6", env=env)
    assert result.returncode == 2
    assert "ghostwright model fetch" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_model_is_a_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "one.py"
    source.write_text("x = 1\n", encoding="utf-8")
    model = tmp_path / "bad.gguf"
    model.write_bytes(b"not a model")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GHOSTWRIGHT_MODEL": str(model)}
    result = run_ghostwright(None, "complete", str(source), "--line", "1", "--column", "6", env=env)
    assert result.returncode == 2
    assert "not a GGUF file" in result.stderr and str(model) in result.stderr


def test_doctor_describes_the_setup(default_model_path: Path) -> None:
    result = run_ghostwright(None, "doctor")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "llama-cpp-python" in out and "GPU offload" in out
    assert str(default_model_path) in out
    assert "architecture llama" in out
    assert "FIM tokens   none" in out
    assert "maxTokens" in out and "from default" in out


def test_model_fetch_is_idempotent(default_model_path: Path) -> None:
    before = default_model_path.stat().st_mtime_ns
    result = run_ghostwright(None, "model", "fetch")
    assert result.returncode == 0, result.stderr
    assert "sha256 verified" in result.stdout
    assert default_model_path.stat().st_mtime_ns == before  # not downloaded again


def test_demo_shows_real_suggestions(default_model_path: Path) -> None:
    result = run_ghostwright(None, "demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 of 4 places got a suggestion" in result.stdout
    assert "\u00ab" in result.stdout  # ghost text markers (stdout is not a terminal here)
