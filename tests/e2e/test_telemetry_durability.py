"""Committed telemetry survives `kill -9`, and the database stays sound.

A child process records events in a tight loop and, each time `flush()` reports them committed,
appends their ids to a side file (fsync'd). The parent kills it with SIGKILL at a random moment
while it writes, twenty times over the same database. After every kill the database must pass
SQLite's integrity check, open without being moved aside, hold every id the side file names,
and hold no event twice.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ghostwright.telemetry.store import TelemetryStore

KILLS = 20
ID_LENGTH = 32
"""`TelemetryEvent.event_id`: a uuid4's hex."""

CHILD = textwrap.dedent(
    """
    import os
    import sys
    import time
    from pathlib import Path

    from ghostwright.telemetry.store import TelemetryEvent, TelemetryStore

    database, side_file = Path(sys.argv[1]), sys.argv[2]
    store = TelemetryStore(database)
    side = os.open(side_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    # End the line the previous child may have been killed in the middle of: its part stays a
    # short line of its own instead of running into this child's first id.
    os.write(side, b"\\n")
    sys.stdout.write("ready\\n")
    sys.stdout.flush()
    features = {f"feature_{i}": i * 0.5 for i in range(40)}
    batch = 0
    while True:
        batch += 1
        dropped_before = store.dropped
        ids = []
        for n in range(50):
            event = TelemetryEvent(
                "shown",
                f"s-{os.getpid()}-{batch}",
                time.time(),
                {"n": n, "language": "python", "score": 0.5, "features": features},
            )
            store.record(event)
            ids.append(event.event_id)
        if store.flush(10.0) and store.dropped == dropped_before:
            os.write(side, ("\\n".join(ids) + "\\n").encode())
            os.fsync(side)
    """
)


def committed_ids(side_file: Path) -> list[str]:
    """Ids the children saw committed; a line a kill cut short does not count (it is shorter
    than an id: each child starts by ending the line the one before may have left open)."""
    if not side_file.exists():
        return []
    return [line for line in side_file.read_text().split("\n") if len(line) == ID_LENGTH]


def stored_ids(database: Path) -> list[str]:
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return [row[0] for row in connection.execute("SELECT event_id FROM events")]
    finally:
        connection.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_committed_events_survive_kill_9(tmp_path):
    database = tmp_path / "telemetry.sqlite3"
    side_file = tmp_path / "committed.txt"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    rng = random.Random(20240607)
    started = time.monotonic()
    previous = 0
    for round_number in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, str(script), str(database), str(side_file)],
            stdout=subprocess.PIPE,
            env=env,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == b"ready\n", "the child could not open the store"
            time.sleep(rng.uniform(0.05, 0.35))
            assert child.poll() is None, "the child stopped before it was killed"
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait()
            if child.stdout is not None:
                child.stdout.close()
        assert child.returncode == -signal.SIGKILL

        stored = stored_ids(database)
        assert len(stored) == len(set(stored)), f"duplicate event ids after kill {round_number}"
        committed = committed_ids(side_file)
        missing = set(committed) - set(stored)
        assert not missing, f"{len(missing)} committed events lost at kill {round_number}"
        assert len(committed) >= previous
        previous = len(committed)

    assert previous > 0, "no flush ever completed: the test proved nothing"
    assert not list(tmp_path.glob("telemetry.sqlite3.corrupt-*"))
    store = TelemetryStore(database)  # and the store itself opens it as it is
    try:
        assert len(store.events()) >= previous
    finally:
        store.close()
    assert not list(tmp_path.glob("telemetry.sqlite3.corrupt-*"))
    assert time.monotonic() - started < 60
