"""`ghostwright bench` for real: a short replay against the real server and model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, server_env


def test_bench_replays_against_the_real_server(tmp_path: Path, default_model_path: Path) -> None:
    out = tmp_path / "results"
    command = ["--files", "1", "--lines", "6", "--speed", "1", "--no-naive", "--out", str(out)]
    command += ["--sizes", "3000,40"]
    result = subprocess.run(
        [sys.executable, "-m", "ghostwright", "bench", *command],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=server_env(tmp_path),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "latency p50 (ms)" in result.stdout
    reports = list(out.glob("*.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text(encoding="utf-8"))
    ours = report["ghostwright"]
    assert ours["requests"] > 0 and ours["errors"] == 0
    assert ours["suggestions"] > 0
    assert 0 < ours["latency_p50_ms"] <= ours["latency_p95_ms"]
    assert ours["peak_rss_mib"] > 0
    assert report["naive"] is None and report["ratios"] is None
    assert report["command"].startswith("ghostwright bench --files 1 --lines 6")
    assert str(default_model_path) == report["model"]
    assert report["traces"][0]["lines"] == 6
    sizes = report["sizes"]
    assert [row["lines"] for row in sizes] == [40, 3000]  # smallest first
    assert sizes[0]["p50_vs_smallest"] == 1.0
    assert all(row["summary"]["requests"] > 0 for row in sizes)
    assert "document lines" in result.stdout
    latest = (out / "latest.md").read_text(encoding="utf-8")
    assert "## Figures" in latest and report["command"] in latest
