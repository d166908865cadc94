"""`ghostwright bench` for real: the quick mode CI runs (every contender, both sweeps, the
report and its plots) and the limit's measurement on the real model. Nothing here asserts on
timings: the machine running the tests is not a quiet one."""

from __future__ import annotations

import json
from pathlib import Path

from ghostwright.engine.models import ModelSpec
from ghostwright_lab.bench.model_limit import EngineShape, LimitRequest, measure_limits
from ghostwright_lab.bench.naive import NaiveCompleter, NaiveFim, naive_completer
from tests.conftest import REPO, run_ghostwright


def test_quick_bench_runs_every_contender_and_writes_the_report(
    tmp_path: Path, default_model_path: Path
) -> None:
    out = tmp_path / "bench"
    result = run_ghostwright(tmp_path, "bench", "--quick", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    assert "latency p50 (ms)" in result.stdout and "target" in result.stdout
    [report_path] = (out / "results").glob("*-cpu.json")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["command"].startswith("ghostwright bench --quick")
    assert str(default_model_path) == report["model"]
    assert report["machine"]["device"] == "CPU" and report["machine"]["system_info"]
    [run] = report["repeats"]
    by_name = {summary["name"]: summary for summary in run["contenders"]}
    assert list(by_name) == ["ghostwright", "naive", "stock", "limit"]
    for name in ("ghostwright", "naive", "stock"):
        summary = by_name[name]
        assert summary["requests"] > 0 and summary["errors"] == 0, (name, summary)
        assert summary["peak_rss_mib"] > 0
    assert by_name["ghostwright"]["gated"] is not None  # read from the server's telemetry
    assert by_name["naive"]["model_p50_ms"] > 0  # llama.cpp's own timings
    # The limit times every generation the server logged, carried-on ones included.
    assert by_name["limit"]["requests"] >= by_name["ghostwright"]["sources"].get("model", 0)
    assert by_name["limit"]["requests"] > 0 and by_name["limit"]["model_p50_ms"] > 0
    # Latency from the editor's request leaves out at least its debounce (50 ms at a person's
    # speed): pointwise, so in the medians too.
    for name, summary in by_name.items():
        if summary["latency_p50_ms"] is not None:
            after_request = summary["after_request_p50_ms"]
            assert after_request <= summary["latency_p50_ms"] - 49.9, (name, summary)
    assert [point["value"] for point in run["sizes"]] == [200, 2000]
    assert [point["value"] for point in run["contexts"]] == [256, 1024]
    assert all(point["summary"]["requests"] > 0 for point in run["sizes"] + run["contexts"])
    assert {target["goal"] for target in report["aggregate"]["targets"]} >= {
        "overhead under 3 ms p50",
        "at least 30 % of requests answered without the model",
    }
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "| Ghostwright | naive path | stock server | limit |" in markdown
    assert "## Targets" in markdown and report["command"] in markdown
    plots = sorted(path.name for path in (out / "plots").glob("*.png"))
    assert plots == ["cpu-latency-cdf.png", "cpu-latency-vs-context.png", "cpu-latency-vs-size.png"]


def test_the_limit_times_the_tokens_each_answer_needed(default_model_path: Path) -> None:
    filler = (REPO / "server" / "ghostwright_lab" / "bench" / "bench.py").read_text()
    requests = [
        LimitRequest(prompt_tokens=300, reused_tokens=0, generated_tokens=2),
        LimitRequest(prompt_tokens=310, reused_tokens=300, generated_tokens=3),
        LimitRequest(prompt_tokens=50, reused_tokens=50, generated_tokens=0),
    ]
    timings = measure_limits(default_model_path, EngineShape(1024, 2, 0), requests, filler)
    assert [timing.evaluated_tokens for timing in timings] == [300, 10, 0]
    assert [timing.generated_tokens for timing in timings] == [2, 3, 0]
    assert timings[0].model_ms > 0 and timings[1].model_ms > 0
    assert timings[2].model_ms == 0.0  # nothing to evaluate, nothing generated


def test_a_fim_models_bench_runs_its_naive_fim_integration(
    tmp_path: Path, code_model: ModelSpec
) -> None:
    """`--model` runs every contender on a code model; its naive path is the naive FIM
    integration, which sees the document after the cursor too (a short replay)."""
    out = tmp_path / "bench"
    options = ["--files", "1", "--lines", "2", "--repeat", "1", "--speed", "2", "--no-stock"]
    options += ["--sizes", "none", "--contexts", "none", "--out", str(out)]
    result = run_ghostwright(tmp_path, "bench", "--model", code_model.name, *options, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    [report_path] = (out / "results").glob("*-cpu.json")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["model"] == str(code_model.cached_path)
    assert f"--model {code_model.name}" in report["command"]
    [run] = report["repeats"]
    by_name = {summary["name"]: summary for summary in run["contenders"]}
    assert list(by_name) == ["ghostwright", "naive", "limit"]
    for name in ("ghostwright", "naive"):
        assert by_name[name]["requests"] > 0 and by_name[name]["errors"] == 0, by_name[name]


def test_the_naive_path_of_a_fim_model_fills_the_middle(
    default_model_path: Path, code_model: ModelSpec
) -> None:
    plain = naive_completer(default_model_path)
    try:
        assert isinstance(plain, NaiveCompleter)  # SmolLM2 has no FIM tokens
    finally:
        plain.close()
    fim = naive_completer(code_model.cached_path)
    try:
        assert isinstance(fim, NaiveFim)
        prefix = "def area(width, height):\n    return "
        alone = fim.complete(prefix, "")
        both = fim.complete(prefix, "\n\n\nprint(area(3, 4))  # 12\n")
        assert both.prompt_tokens > alone.prompt_tokens + 5  # the suffix is in the prompt
        assert both.text.strip() and "\n" not in both.text  # one line, as the editor shows
        assert both.model_ms > 0 and both.latency_ms >= both.model_ms
    finally:
        fim.close()
