"""`kill -9` of the real server while it writes telemetry, twenty times over one database.

Each round starts the server, drives it hard (completion requests, each suggestion dismissed:
`shown` and `rejected` events), and watches the database from a second connection: an event
that connection can read is committed. At a random moment the server is killed with SIGKILL.
Then: the database passes SQLite's integrity check, every event seen committed is still there,
no suggestion was recorded twice, and the next server opens the file as it is (nothing moved
aside)."""

from __future__ import annotations

import random
import signal
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from tests.conftest import server_env
from tests.reliability.rpc import RawClient

ROUNDS = 20
TEXT = 'def add(a, b):\n    """Add two numbers."""\n    return '


def read_ids(database: Path) -> set[str]:
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return set()
    try:
        return {row[0] for row in connection.execute("SELECT event_id FROM events")}
    except sqlite3.Error:
        return set()
    finally:
        connection.close()


def drive(client: RawClient, stop: threading.Event) -> None:
    uri = "file:///kill/add.py"
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": TEXT}},
    )
    version = 1
    while not stop.is_set() and client.process.poll() is None:
        version += 1
        try:
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"text": f"# {version}\n{TEXT}"}],
                },
            )
            answer = client.call(
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": uri},
                    "position": {"line": 3, "character": len("    return ")},
                    "context": {"triggerKind": 1},
                },
                timeout=10,
            )
            for item in (answer.get("result") or {}).get("items", [])[:1]:
                client.notify("ghostwright/dismiss", item["command"]["arguments"][0])
        except (AssertionError, BrokenPipeError, OSError):
            return


def test_committed_events_survive_the_server_being_killed(default_model_path: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="ghostwright-kill-"))
    env = server_env(home, GHOSTWRIGHT_MAX_TOKENS="6")
    database = home / "data" / "ghostwright" / "telemetry.sqlite3"
    rng = random.Random(11)
    seen: set[str] = set()
    for round_number in range(ROUNDS):
        client = RawClient(env)
        client.initialize()
        assert client.wait_for_status("ready", "failed")["state"] == "ready"
        stop = threading.Event()
        driver = threading.Thread(target=drive, args=(client, stop), daemon=True)
        driver.start()
        deadline = time.monotonic() + rng.uniform(1.0, 3.0)
        while time.monotonic() < deadline:
            seen |= read_ids(database)
            time.sleep(0.05)
        seen |= read_ids(database)
        client.process.send_signal(signal.SIGKILL)
        client.process.wait()
        stop.set()
        driver.join(timeout=10)
        connection = sqlite3.connect(database)
        try:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            rows = connection.execute("SELECT event_id, kind, suggestion_id FROM events").fetchall()
        finally:
            connection.close()
        stored = {row[0] for row in rows}
        missing = seen - stored
        assert not missing, f"round {round_number}: {len(missing)} committed events lost"
        twice = [key for key, n in Counter((r[1], r[2]) for r in rows).items() if n > 1]
        assert not [key for key in twice if key[0] in ("shown", "accepted")], twice[:5]
    assert len(seen) > ROUNDS * 5, f"too little was written to test anything: {len(seen)}"
    aside = [p.name for p in database.parent.iterdir() if ".corrupt" in p.name or ".bad" in p.name]
    assert not aside, aside
    # A last server opens the database as it is and goes on writing to it.
    client = RawClient(env)
    client.initialize()
    assert client.wait_for_status("ready", "failed")["state"] == "ready"
    assert not [m for m in client.notifications if m.get("method") == "window/showMessage"]
    assert client.close() == 0
