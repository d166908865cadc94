"""Unit tests for ghostwright.telemetry.store: the queue, the writer, the schema, recovery."""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ghostwright.errors import TelemetryError
from ghostwright.telemetry import store as store_module
from ghostwright.telemetry.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    TelemetryEvent,
    TelemetryStore,
    default_database_path,
)

DAY = 86400.0
SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def event(kind: str = "shown", when: float | None = None, **data: Any) -> TelemetryEvent:
    return TelemetryEvent(kind, "suggestion-1", time.time() if when is None else when, data)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "telemetry.sqlite3"


@pytest.fixture
def store(db: Path) -> Iterator[TelemetryStore]:
    opened = TelemetryStore(db)
    yield opened
    opened.close()


def rows(path: Path, sql: str = "SELECT event_id, kind, data FROM events") -> list[Any]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def write_lock(path: Path) -> sqlite3.Connection:
    """Another connection holding the database's write lock until it is rolled back."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN IMMEDIATE")
    return connection


def make_v1_database(path: Path, *events: tuple[str, str, str, float, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    for statement in MIGRATIONS[0]:
        connection.execute(statement)
    connection.execute("PRAGMA user_version = 1")
    connection.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", events)
    connection.close()


def aside_files(db: Path) -> list[Path]:
    """The databases moved aside (their -wal and -shm files beside them are not counted)."""
    moved = db.parent.glob(f"{db.name}.corrupt-*")
    return sorted(p for p in moved if not p.name.endswith(("-wal", "-shm", "-journal")))


# -- recording and reading ---------------------------------------------------------------------


def test_recorded_events_are_committed_and_read_back_oldest_first(store, db):
    now = time.time()
    recorded = [
        event("rejected", now - 1, reason="typed_over"),
        event("shown", now - 3, score=0.7, features={"prefix_chars": 12}),
        event("accepted", now - 2),
    ]
    for item in recorded:
        store.record(item)
    assert store.flush()
    assert store.written == 3
    assert store.dropped == 0
    read = store.events()
    assert [e.kind for e in read] == ["shown", "accepted", "rejected"]
    assert read[0] == recorded[1]
    assert read[2].data == {"reason": "typed_over"}
    assert store.path == db


def test_events_filter_by_since_and_kinds(store):
    now = time.time()
    for offset, kind in enumerate(("shown", "accepted", "shown", "survived", "rejected")):
        store.record(event(kind, now - 10 + offset))
    assert store.flush()
    assert [e.kind for e in store.events(since=now - 8)] == ["shown", "survived", "rejected"]
    assert [e.kind for e in store.events(kinds=["shown"])] == ["shown", "shown"]
    assert [e.kind for e in store.events(since=now - 9, kinds=("shown", "accepted"))] == [
        "accepted",
        "shown",
    ]
    assert store.events(kinds=[]) == []
    assert store.events(kinds=["no-such-kind"]) == []


def test_an_event_recorded_twice_is_stored_once(store, db):
    once = event("accepted")
    store.record(once)
    store.record(once)
    assert store.flush()
    assert len(rows(db)) == 1
    assert store.written == 1


def test_unknown_kind_is_refused_when_the_event_is_made():
    with pytest.raises(ValueError, match="unknown telemetry event kind"):
        TelemetryEvent("clicked", "s", 0.0, {})


def test_default_database_path_is_in_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert default_database_path() == tmp_path / "ghostwright" / "telemetry.sqlite3"
    assert default_database_path().name == "telemetry.sqlite3"


def test_database_is_in_wal_mode_with_the_current_schema(store, db):
    store.record(event())
    assert store.flush()
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]
    assert rows(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


# -- never blocking ----------------------------------------------------------------------------


def test_record_returns_at_once_while_another_connection_holds_the_write_lock(store, db):
    store.record(event())
    assert store.flush()
    lock = write_lock(db)
    try:
        slowest = 0.0
        for _ in range(200):
            start = time.perf_counter()
            store.record(event())
            slowest = max(slowest, time.perf_counter() - start)
        assert slowest < 0.05
        assert not store.flush(timeout=0.3)  # the writer is waiting for the lock
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert store.flush()
    assert store.written == 201
    assert len(store.events()) == 201


def test_a_full_queue_drops_and_counts_with_one_warning_per_burst(db, caplog):
    store = TelemetryStore(db, queue_size=5)
    try:
        store.record(event())
        assert store.flush()
        lock = write_lock(db)
        with caplog.at_level(logging.WARNING, logger="ghostwright.telemetry"):
            for _ in range(50):
                store.record(event())
        try:
            assert 40 <= store.dropped <= 45  # the writer holds at most one batch, the queue five
            warnings = [r for r in caplog.records if "dropping events" in r.getMessage()]
            assert len(warnings) == 1
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert store.flush()
        assert store.written + store.dropped == 51

        caplog.clear()
        lock = write_lock(db)
        with caplog.at_level(logging.WARNING, logger="ghostwright.telemetry"):
            for _ in range(20):
                store.record(event())
        lock.execute("ROLLBACK")
        lock.close()
        assert len([r for r in caplog.records if "dropping events" in r.getMessage()]) == 1
        assert store.flush()
        assert store.written + store.dropped == 71
        assert len(store.events()) == store.written
    finally:
        store.close()


def test_an_event_that_cannot_be_encoded_is_dropped_without_raising(store):
    looping: dict[str, Any] = {}
    looping["self"] = looping
    store.record(event(looping=looping))
    assert not store.flush()  # this flush reports the loss once
    assert store.dropped == 1
    store.record(event(ok=True))
    assert store.flush()
    assert [e.data for e in store.events()] == [{"ok": True}]


def test_values_json_cannot_hold_are_stored_as_text_or_null(store):
    store.record(event(nan=float("nan"), path=Path("/tmp/x"), items=(1, "two"), keys={3: "x"}))
    assert store.flush()
    assert store.events()[0].data == {
        "nan": None,
        "path": str(Path("/tmp/x")),
        "items": [1, "two"],
        "keys": {"3": "x"},
    }


# -- closing -----------------------------------------------------------------------------------


def test_close_writes_what_is_queued_and_later_records_are_dropped(db):
    store = TelemetryStore(db)
    for _ in range(1000):
        store.record(event())
    store.close()  # no flush first
    assert len(rows(db)) == 1000
    store.record(event())
    assert store.dropped == 1
    store.close()  # a second close is harmless
    assert len(store.events()) == 1000  # reading after close still works
    assert not store._thread.is_alive()


def test_close_gives_up_on_a_lock_that_is_never_released(db, monkeypatch):
    monkeypatch.setattr(store_module, "CLOSE_TIMEOUT_S", 0.3)
    store = TelemetryStore(db)
    store.record(event())
    assert store.flush()
    lock = write_lock(db)
    try:
        store.record(event())
        start = time.monotonic()
        store.close()
        assert time.monotonic() - start < 2.0
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    store._thread.join(10)
    assert not store._thread.is_alive()
    assert store.written + store.dropped == 2


# -- redaction and code text -------------------------------------------------------------------


def test_every_string_is_redacted_before_it_is_stored(store, db):
    store.record(
        event(
            note=f"token {SECRET}",
            nested={"list": ["ok", {"deep": f"x = '{SECRET}'"}], SECRET: 1},
            features={"password": 'password = "hunter2"'},
        )
    )
    assert store.flush()
    raw = rows(db)[0][2]
    assert SECRET not in raw
    assert "hunter2" not in raw
    assert "[REDACTED]" in raw
    store.close()
    for file in db.parent.iterdir():
        assert SECRET.encode() not in file.read_bytes()


CODE = {
    "text": "return 1",
    "prefix": "def f():\n    ",
    "suffix": "\n",
    "line": "    x = 1",
    "code": "x = 1",
}


def test_code_text_is_dropped_without_consent(store):
    store.record(
        event(
            **CODE, language="python", nested={"text": "print()", "chars": 7}, position={"line": 3}
        )
    )
    assert store.flush()
    assert store.events()[0].data == {
        "language": "python",
        "nested": {"chars": 7},
        "position": {"line": 3},  # a line number is not code
    }


def test_code_text_is_stored_and_redacted_with_consent(db):
    store = TelemetryStore(db, store_code=True)
    try:
        store.record(event(**{**CODE, "suffix": f"key = {SECRET}\n"}))
        assert store.flush()
        data = store.events()[0].data
    finally:
        store.close()
    assert data["text"] == "return 1"
    assert data["line"] == "    x = 1"
    assert data["suffix"] == "key = [REDACTED]\n"


def test_a_secret_from_what_the_model_saw_is_redacted_where_it_was_copied_bare(db):
    """The suggestion holds a password from the line above without its name: only the text
    the model saw (never stored) says it is one."""
    store = TelemetryStore(db, store_code=True)
    seen = 'password = "hunter2-correct-horse"\nuser = '
    try:
        store.record(
            TelemetryEvent(
                "shown", "s1", time.time(), {"text": '"hunter2-correct-horse"'}, seen=lambda: seen
            )
        )
        assert store.flush()
        data = store.events()[0].data
    finally:
        store.close()
    assert data["text"] == '"[REDACTED]"'
    for path in db.parent.glob(db.name + "*"):
        assert b"hunter2" not in path.read_bytes()


# -- schema and migrations ---------------------------------------------------------------------


def test_a_v1_database_is_migrated_and_keeps_its_events(db):
    make_v1_database(db, ("old-1", "shown", "s", time.time() - 5, '{"score":0.5}'))
    store = TelemetryStore(db)
    try:
        store.record(event("accepted"))
        assert store.flush()
        first = store.events()[0]
        assert first.event_id == "old-1"
        assert first.data == {"score": 0.5}
    finally:
        store.close()
    assert rows(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    indexes = {name for (name,) in rows(db, "SELECT name FROM sqlite_master WHERE type='index'")}
    assert "events_kind_time" in indexes
    meta = dict(rows(db, "SELECT key, value FROM meta"))
    assert len(meta["installation_id"]) == 32
    assert float(meta["last_retention_run"]) > 0
    assert aside_files(db) == []


def test_migrating_twice_changes_nothing(db):
    make_v1_database(db)
    for _ in range(2):
        TelemetryStore(db).close()
    assert rows(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


def test_the_installation_id_stays_the_same_across_opens(db):
    ids = set()
    for _ in range(2):
        store = TelemetryStore(db)
        store.record(event())
        store.close()
        ids |= {
            value for (value,) in rows(db, "SELECT value FROM meta WHERE key='installation_id'")
        }
    assert len(ids) == 1


def test_a_newer_schema_is_used_as_it_is(db, caplog):
    make_v1_database(db)
    connection = sqlite3.connect(db, isolation_level=None)
    for statement in MIGRATIONS[1]:
        connection.execute(statement)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    with caplog.at_level(logging.WARNING, logger="ghostwright.telemetry"):
        store = TelemetryStore(db)
    try:
        store.record(event())
        assert store.flush()
        assert len(store.events()) == 1
    finally:
        store.close()
    assert "newer than this Ghostwright" in caplog.text
    assert rows(db, "PRAGMA user_version") == [(99,)]


# -- retention ---------------------------------------------------------------------------------


def test_old_events_are_deleted_when_the_store_opens(db):
    now = time.time()
    store = TelemetryStore(db, retention_days=30)
    store.record(event(when=now - 40 * DAY, age="old"))
    store.record(event(when=now - 20 * DAY, age="recent"))
    store.close()
    assert len(rows(db)) == 2  # the first store's retention ran before they arrived

    store = TelemetryStore(db, retention_days=30)
    store.record(event(age="new"))  # the writer runs retention before its first batch
    assert store.flush()
    assert [e.data["age"] for e in store.events()] == ["recent", "new"]
    store.close()


def test_retention_runs_again_after_its_interval(db, monkeypatch):
    monkeypatch.setattr(store_module, "RETENTION_INTERVAL_S", 0.2)
    store = TelemetryStore(db, retention_days=1)
    try:
        store.record(event(when=time.time() - 2 * DAY))
        assert store.flush()
        assert len(store.events()) == 1
        deadline = time.monotonic() + 5
        while store.events() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.events() == []
    finally:
        store.close()


@pytest.mark.parametrize(("retention_days", "queue_size"), [(0, 10), (90, 0)])
def test_nonsense_limits_are_refused(db, retention_days, queue_size):
    with pytest.raises(ValueError):
        TelemetryStore(db, retention_days=retention_days, queue_size=queue_size)


# -- databases that cannot be used -------------------------------------------------------------


def assert_moved_aside_and_fresh(
    db: Path, original: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    aside = aside_files(db)
    assert len(aside) == 1
    assert aside[0].read_bytes() == original
    warning = next(r for r in caplog.records if "moved it to" in r.getMessage())
    assert warning.levelno == logging.WARNING
    assert str(db) in warning.getMessage()
    assert str(aside[0]) in warning.getMessage()
    store = TelemetryStore(db)
    try:
        store.record(event())
        assert store.flush()
        assert len(store.events()) == 1
    finally:
        store.close()
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert len(aside_files(db)) == 1


def test_a_file_of_random_bytes_is_moved_aside(db, caplog):
    db.parent.mkdir(parents=True)
    original = os.urandom(16384)
    db.write_bytes(original)
    with caplog.at_level(logging.WARNING, logger="ghostwright.telemetry"):
        TelemetryStore(db).close()
    assert_moved_aside_and_fresh(db, original, caplog)


def test_a_truncated_database_is_moved_aside(db, caplog):
    store = TelemetryStore(db)
    for i in range(2000):
        store.record(event(padding="x" * 200, i=i))
    store.close()  # the last connection checkpoints the WAL into the file
    original = db.read_bytes()[: db.stat().st_size // 2]
    db.write_bytes(original)
    with caplog.at_level(logging.WARNING, logger="ghostwright.telemetry"):
        TelemetryStore(db).close()
    assert_moved_aside_and_fresh(db, original, caplog)


def test_a_database_locked_past_the_open_timeout_is_moved_aside(db, caplog, monkeypatch):
    monkeypatch.setattr(store_module, "OPEN_BUSY_TIMEOUT_S", 0.2)
    make_v1_database(db)  # needs a migration, so opening needs the write lock
    lock = write_lock(db)
    try:
        with caplog.at_level(logging.WARNING, logger="ghostwright.telemetry"):
            store = TelemetryStore(db)
        store.record(event())
        assert store.flush()
        store.close()
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    aside = aside_files(db)
    assert len(aside) == 1
    assert Path(f"{aside[0]}-wal").exists()  # moved together with its database
    assert "moved it to" in caplog.text
    assert len(rows(db)) == 1


def test_corruption_found_while_writing_moves_the_database_aside(db, caplog, monkeypatch):
    store = TelemetryStore(db)
    try:
        store.record(event(n=1))
        assert store.flush()
        real_insert = TelemetryStore._insert
        failures = iter([sqlite3.DatabaseError("database disk image is malformed")])

        def insert_failing_once(connection, batch):  # type: ignore[no-untyped-def]
            for failure in failures:
                raise failure
            return real_insert(connection, batch)

        monkeypatch.setattr(TelemetryStore, "_insert", staticmethod(insert_failing_once))
        with caplog.at_level(logging.WARNING, logger="ghostwright.telemetry"):
            store.record(event(n=2))
            assert store.flush()
        assert [e.data for e in store.events()] == [{"n": 2}]
    finally:
        store.close()
    assert len(aside_files(db)) == 1
    assert "moved it to" in caplog.text


def test_a_write_failing_for_good_drops_the_batch_and_reports_it(store, monkeypatch):
    def insert_full_disk(connection, batch):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store_module, "WRITE_ATTEMPTS", 2)
    monkeypatch.setattr(TelemetryStore, "_insert", staticmethod(insert_full_disk))
    store.record(event())
    assert not store.flush()
    assert store.dropped == 1
    assert store.written == 0


def test_a_location_that_cannot_hold_a_database_raises_telemetry_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(TelemetryError, match="writable"):
        TelemetryStore(blocker / "telemetry.sqlite3")
    with pytest.raises(TelemetryError, match="is a directory"):
        TelemetryStore(tmp_path)
