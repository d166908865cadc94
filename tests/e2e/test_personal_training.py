"""`ghostwright train --from-telemetry`: the active model changes only when the new one
validates better on the newest decisions, and `export` writes what the store holds."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pyarrow.parquet as pq

from ghostwright.predictor.features import names
from ghostwright.predictor.model import AcceptancePredictor
from ghostwright.telemetry.store import TelemetryEvent, TelemetryStore
from ghostwright_lab.training.personal import MIN_ROWS
from tests.conftest import run_ghostwright, server_env
from tests.reliability.rpc import RawClient

SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SIGNAL = "mean_logprob"
"""The feature the simulated person's decisions follow."""


def write_decisions(database: Path, count: int, *, pattern: bool, start: float, seed: int) -> None:
    """Shown suggestions with full feature vectors and their outcomes, as the server logs them.

    Acceptance follows one feature: with `pattern` the person accepts long suggestions (a rule
    the shipped model has never seen on random features), without it the opposite."""
    rng = random.Random(seed)
    shipped = AcceptancePredictor.load()
    store = TelemetryStore(database, store_code=True)
    for index in range(count):
        features = {name: rng.uniform(-1.0, 1.0) for name in names("suggestion")}
        for categorical in shipped.card["stages"]["suggestion"]["categorical"]:
            features[categorical] = float(rng.randint(0, 3))
        accepted = (features[SIGNAL] > 0.0) == pattern
        suggestion_id = f"s{seed}-{index}"
        shown = {
            "stage": "filter",
            "score": 0.5,
            "threshold": 0.1,
            "features": features,
            "language": "python",
            "project": "p",
            "text": f'token = "{SECRET}"',
        }
        at = start + 10.0 * index
        store.record(TelemetryEvent("shown", suggestion_id, at, shown))
        outcome = "accepted" if accepted else "rejected"
        store.record(TelemetryEvent(outcome, suggestion_id, at + 1.0, {"reason": "x"}))
    assert store.flush()
    store.close()


def days_ago(days: float) -> float:
    """Recent enough for the store's retention (events are kept 90 days)."""
    return time.time() - days * 86400.0


def test_training_from_telemetry_replaces_the_model_only_when_it_validates_better(
    tmp_path: Path,
) -> None:
    personal = tmp_path / "data" / "ghostwright" / "predictor"
    database = tmp_path / "data" / "ghostwright" / "telemetry.sqlite3"
    database.parent.mkdir(parents=True)

    write_decisions(database, MIN_ROWS // 2, pattern=True, start=days_ago(5), seed=1)
    few = run_ghostwright(tmp_path, "train", "--from-telemetry", "--json")
    assert few.returncode == 0, few.stderr
    assert json.loads(few.stdout)["replaced"] is False and not personal.exists()

    # The person's habit flipped lately: a model fit on the older decisions ranks the newest
    # (held-out) ones worse than the active model, which knows neither habit.
    write_decisions(database, 300, pattern=True, start=days_ago(4), seed=2)
    write_decisions(database, 110, pattern=False, start=days_ago(3), seed=3)
    drift = run_ghostwright(tmp_path, "train", "--from-telemetry", "--json")
    assert drift.returncode == 0, drift.stderr
    report = json.loads(drift.stdout)
    assert report["rows"] == 430 and report["replaced"] is False, report
    assert report["new_auc"] < report["active_auc"]
    assert not personal.exists()

    write_decisions(database, 1200, pattern=True, start=days_ago(2), seed=4)
    steady = run_ghostwright(tmp_path, "train", "--from-telemetry", "--json")
    assert steady.returncode == 0, steady.stderr
    report = json.loads(steady.stdout)
    assert report["replaced"] is True, report
    assert report["new_auc"] > report["active_auc"]
    loaded = AcceptancePredictor.load(personal)
    assert loaded.card["data"]["source"] == "telemetry"
    # A server started for this person now judges with the personal model.
    client = RawClient(server_env(tmp_path))
    try:
        client.initialize()
        client.wait_for_status("ready", "failed")
    finally:
        client.close()
    assert any(f"the personal model in {personal}" in line for line in client.stderr_lines)


def test_export_round_trips_in_both_formats_without_secrets(tmp_path: Path) -> None:
    database = tmp_path / "data" / "ghostwright" / "telemetry.sqlite3"
    database.parent.mkdir(parents=True)
    write_decisions(database, 10, pattern=True, start=days_ago(1), seed=5)
    jsonl, parquet = tmp_path / "events.jsonl", tmp_path / "events.parquet"
    for fmt, out in (("jsonl", jsonl), ("parquet", parquet)):
        result = run_ghostwright(tmp_path, "export", "--format", fmt, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert "wrote 20 events" in result.stdout
        assert SECRET.encode() not in out.read_bytes()
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 20 and {row["kind"] for row in rows} <= {"shown", "accepted", "rejected"}
    table = pq.read_table(parquet)
    assert table.num_rows == 20
    assert sorted(table.column("event_id").to_pylist()) == sorted(row["event_id"] for row in rows)
