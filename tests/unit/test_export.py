"""Unit tests for ghostwright.telemetry.export: both formats, the schema, filtering, secrets."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ghostwright.errors import TelemetryError
from ghostwright.telemetry.export import EXPORT_SCHEMA_VERSION, export_events, iso_time
from ghostwright.telemetry.store import MIGRATIONS, TelemetryEvent, TelemetryStore

SECRET = "sk-" + "ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe-dCbA_0123456789abcdef"
DB_PASSWORD = "s3cr3t-Pa55word"
NOW = 1_750_000_000.25

COLUMNS = [
    "event_id",
    "kind",
    "suggestion_id",
    "time",
    "user",
    "language",
    "score",
    "model",
    "latency_ms",
    "features",
    "data",
]


def shown(when: float, **extra: Any) -> TelemetryEvent:
    data = {
        "language": "python",
        "score": 0.82,
        "model": "smollm2-135m",
        "latency_ms": 41,
        "features": {"prefix_chars": 120, "mean_logprob": -0.4},
        "lines": 2,
        "text": "return total",
        "prefix": "def total(xs):\n    ",
        **extra,
    }
    return TelemetryEvent("shown", "sugg-1", when, data, event_id=f"shown-{when}")


def fill(path: Path, *, store_code: bool = False) -> list[TelemetryEvent]:
    events = [
        shown(NOW - 30),
        TelemetryEvent("accepted", "sugg-1", NOW - 20, {"chars": 12}, event_id="accepted-1"),
        shown(
            NOW - 10,
            note=f"key {SECRET}",
            text=f'DATABASE_URL = "postgres://app:{DB_PASSWORD}@db/prod"',
        ),
        TelemetryEvent(
            "rejected", "sugg-2", NOW, {"reason": "typed_over", "score": "n/a"}, event_id="r-1"
        ),
    ]
    store = TelemetryStore(path, store_code=store_code, retention_days=36500)
    for event in events:
        store.record(event)
    assert store.flush()
    store.close()
    return events


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "telemetry.sqlite3"
    fill(path)
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_round_trip_has_the_documented_flat_schema(db, tmp_path):
    out = tmp_path / "events.jsonl"
    assert export_events(db, out, format="jsonl") == 4
    records = read_jsonl(out)
    assert [list(r) for r in records] == [COLUMNS] * 4
    first = records[0]
    assert first["event_id"] == f"shown-{NOW - 30}"
    assert first["kind"] == "shown"
    assert first["suggestion_id"] == "sugg-1"
    assert first["time"] == "2025-06-15T15:06:10.250000Z"
    assert datetime.fromisoformat(first["time"]).timestamp() == NOW - 30
    assert first["language"] == "python"
    assert first["score"] == 0.82
    assert first["model"] == "smollm2-135m"
    assert first["latency_ms"] == 41.0
    assert first["features"] == {"prefix_chars": 120, "mean_logprob": -0.4}
    assert first["data"] == {"lines": 2}  # code text was never stored
    assert [r["kind"] for r in records] == ["shown", "accepted", "shown", "rejected"]
    accepted = records[1]
    assert accepted["language"] is None and accepted["features"] is None
    assert accepted["data"] == {"chars": 12}
    rejected = records[3]
    assert rejected["score"] is None  # not a number: it stays in data
    assert rejected["data"] == {"reason": "typed_over", "score": "n/a"}


def test_user_is_a_pseudonymous_installation_id(db, tmp_path):
    export_events(db, tmp_path / "a.jsonl", format="jsonl")
    export_events(db, tmp_path / "b.jsonl", format="jsonl")
    users = {r["user"] for name in ("a", "b") for r in read_jsonl(tmp_path / f"{name}.jsonl")}
    assert len(users) == 1
    (user,) = users
    connection = sqlite3.connect(db)
    stored = connection.execute("SELECT value FROM meta WHERE key='installation_id'").fetchone()
    connection.close()
    assert stored == (user,)
    assert len(user) == 32 and int(user, 16) >= 0  # a random UUID, not a name


def test_parquet_round_trip_with_pyarrow(db, tmp_path):
    out = tmp_path / "events.parquet"
    assert export_events(db, out, format="parquet") == 4
    table = pq.read_table(out)
    assert table.column_names == [
        "event_id",
        "kind",
        "suggestion_id",
        "time",
        "user",
        "language",
        "score",
        "model",
        "latency_ms",
        "features_json",
        "data_json",
    ]
    assert table.schema.field("time").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("score").type == pa.float64()
    assert (
        table.schema.metadata[b"ghostwright.export_schema"] == str(EXPORT_SCHEMA_VERSION).encode()
    )
    rows = table.to_pylist()
    assert rows[0]["time"] == datetime.fromtimestamp(NOW - 30, tz=UTC)
    assert rows[0]["latency_ms"] == 41.0
    assert json.loads(rows[0]["features_json"]) == {"prefix_chars": 120, "mean_logprob": -0.4}
    assert json.loads(rows[0]["data_json"]) == {"lines": 2}
    assert rows[1]["features_json"] is None
    assert [r["kind"] for r in rows] == ["shown", "accepted", "shown", "rejected"]


def test_parquet_is_readable_by_duckdb(db, tmp_path):
    out = tmp_path / "events.parquet"
    export_events(db, out, format="parquet")
    connection = duckdb.connect()
    counts = connection.execute(
        "SELECT count(*), kind FROM read_parquet(?) GROUP BY kind ORDER BY kind", [str(out)]
    ).fetchall()
    assert counts == [(1, "accepted"), (1, "rejected"), (2, "shown")]
    (total,) = connection.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchone()
    assert total == 4
    mean = connection.execute(
        "SELECT avg(CAST(json_extract(features_json, '$.prefix_chars') AS DOUBLE)) "
        "FROM read_parquet(?) WHERE kind = 'shown'",
        [str(out)],
    ).fetchone()
    assert mean == (120.0,)
    connection.close()


@pytest.mark.parametrize("format", ["jsonl", "parquet"])
def test_since_filters_older_events(db, tmp_path, format):
    out = tmp_path / f"events.{format}"
    assert export_events(db, out, format=format, since=NOW - 15) == 2
    if format == "jsonl":
        kinds = [r["kind"] for r in read_jsonl(out)]
    else:
        kinds = pq.read_table(out).column("kind").to_pylist()
    assert kinds == ["shown", "rejected"]
    assert export_events(db, out, format=format, since=NOW + 1) == 0
    if format == "parquet":
        assert pq.read_table(out).num_rows == 0  # still a valid file with the schema


def test_secrets_never_reach_the_database_or_either_export(tmp_path):
    db = tmp_path / "telemetry.sqlite3"
    fill(db, store_code=True)
    exports = [tmp_path / "events.jsonl", tmp_path / "events.parquet"]
    for out in exports:
        export_events(db, out, format=out.suffix[1:], include_code=True)
    files = [*tmp_path.glob("telemetry.sqlite3*"), *exports]
    assert len(files) >= 3
    for file in files:
        raw = file.read_bytes()
        for secret in (SECRET, DB_PASSWORD):
            assert secret.encode() not in raw, f"{secret} found in {file.name}"
    text = next(r for r in read_jsonl(exports[0]) if "note" in r["data"])["data"]
    assert text == {
        "lines": 2,
        "note": "key [REDACTED]",
        "prefix": "def total(xs):\n    ",
        "text": 'DATABASE_URL = "postgres://app:[REDACTED]@db/prod"',
    }


def test_code_text_is_exported_only_when_asked_and_stored(tmp_path):
    with_code = tmp_path / "with-code.sqlite3"
    fill(with_code, store_code=True)
    without_code = tmp_path / "without-code.sqlite3"
    fill(without_code)
    cases = [(with_code, False, False), (with_code, True, True), (without_code, True, False)]
    for database, include_code, expect_code in cases:
        out = tmp_path / "out.jsonl"
        export_events(database, out, format="jsonl", include_code=include_code)
        data = read_jsonl(out)[0]["data"]
        assert ("text" in data) is expect_code
        assert ("prefix" in data) is expect_code
        assert data["lines"] == 2


def test_stored_rows_are_redacted_again_on_export(tmp_path):
    """A row stored before a redaction rule existed (here: written behind the store's back)."""
    db = tmp_path / "telemetry.sqlite3"
    TelemetryStore(db).close()
    connection = sqlite3.connect(db)
    connection.execute(
        "INSERT INTO events VALUES ('old', 'shown', 's', ?, ?)",
        (time.time(), json.dumps({"note": f"token {SECRET}", "text": "x = 1"})),
    )
    connection.commit()
    connection.close()
    out = tmp_path / "out.jsonl"
    export_events(db, out, format="jsonl")
    assert read_jsonl(out)[0]["data"] == {"note": "token [REDACTED]"}


def test_an_old_schema_database_is_migrated_for_export(tmp_path):
    db = tmp_path / "v1.sqlite3"
    connection = sqlite3.connect(db, isolation_level=None)
    for statement in MIGRATIONS[0]:
        connection.execute(statement)
    connection.execute("PRAGMA user_version = 1")
    connection.execute("INSERT INTO events VALUES ('e', 'accepted', 's', 1.5, '{}')")
    connection.close()
    out = tmp_path / "out.jsonl"
    assert export_events(db, out, format="jsonl") == 1
    assert read_jsonl(out)[0]["time"] == "1970-01-01T00:00:01.500000Z"


def test_failures_say_what_to_do(db, tmp_path):
    with pytest.raises(TelemetryError, match="Use 'jsonl' or 'parquet'"):
        export_events(db, tmp_path / "x.csv", format="csv")
    with pytest.raises(TelemetryError, match="does not exist"):
        export_events(tmp_path / "missing.sqlite3", tmp_path / "x.jsonl", format="jsonl")
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"\x00not a database" * 100)
    with pytest.raises(TelemetryError, match="cannot be read"):
        export_events(garbage, tmp_path / "x.jsonl", format="jsonl")
    assert garbage.read_bytes() == b"\x00not a database" * 100  # export never moves it aside
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(TelemetryError, match="writable directory"):
        export_events(db, blocker / "x.jsonl", format="jsonl")


def test_a_failed_export_leaves_no_partial_file(db, tmp_path, monkeypatch):
    out = tmp_path / "events.jsonl"
    out.write_text("previous export\n")

    def broken(rows: Any, stream: Any) -> int:
        stream.write(b"half a line")
        raise OSError("disk full")

    monkeypatch.setattr("ghostwright.telemetry.export._write_jsonl", broken)
    with pytest.raises(TelemetryError, match="disk full"):
        export_events(db, out, format="jsonl")
    assert out.read_text() == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_iso_time_is_utc_with_microseconds():
    assert iso_time(0) == "1970-01-01T00:00:00.000000Z"
    assert iso_time(NOW) == "2025-06-15T15:06:40.250000Z"
