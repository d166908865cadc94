"""The telemetry event store: one SQLite database per user, written off the request path.

The completion path records events between keystrokes, so `record` must never wait for the
disk: an fsync, a lock held by a second editor's server, a slow network home directory. It only
puts the event on a bounded queue; a writer thread drains the queue in transactions. When the
disk cannot keep up, the queue fills and further events are dropped and counted, and suggestions
keep flowing: losing some usage history is better than a stalled editor.

The database is in WAL mode with `synchronous=NORMAL`: a commit is a write into the WAL file
without an fsync. A committed event survives the process being killed (the operating system
already holds the bytes); the last commits before a power loss or an operating-system crash may
be lost, which is the right trade for usage history. Readers (`events`, `ghostwright export`)
never block the writer, nor it them.

A database that cannot be opened (corrupt, not a database, locked for longer than a short busy
timeout) is moved aside and replaced by a fresh one: telemetry is history, not user data, and
must never keep the server from starting.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import math
import os
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from ghostwright.errors import TelemetryError
from ghostwright.telemetry.redact import redact_secrets, secrets_in

logger = logging.getLogger(__name__)

EVENT_KINDS = (
    "shown",
    "hidden",
    "accepted",
    "accepted_partial",
    "rejected",
    "survived",
    "next_edit_shown",
    "next_edit_hidden",
    "next_edit_accepted",
    "next_edit_rejected",
)

CODE_TEXT_KEYS = frozenset({"text", "prefix", "suffix", "line", "code"})
"""Keys in event data (at any depth) whose text values are the user's code. They are dropped
before storage unless the user consented to storing code (`store_code=True`); numbers under these
names (a line number in `line`) are not code and are kept."""

# The schema, one migration per version: `PRAGMA user_version` is the number applied. Never edit
# a released migration; append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1: the events; `data` is the per-kind JSON object (docs/telemetry.md).
    (
        """CREATE TABLE events (
            event_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            suggestion_id TEXT NOT NULL,
            time REAL NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX events_time ON events (time)",
    ),
    # v2: training and export read one kind over a time range; `meta` holds the pseudonymous
    # installation id and when retention last ran.
    (
        "CREATE INDEX events_kind_time ON events (kind, time)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

OPEN_BUSY_TIMEOUT_S = 3.0
"""How long opening waits for another connection's lock before the file is taken for stuck."""
WRITE_BUSY_TIMEOUT_S = 5.0
"""How long one write transaction waits for another connection's lock before it is retried."""
RETENTION_INTERVAL_S = 3600.0
"""Old events are deleted when the store opens and then at most this often."""
BATCH_SIZE = 512
"""Most events committed in one transaction."""
CLOSE_TIMEOUT_S = 5.0
"""How long `close` waits for queued events to be written."""
WRITE_ATTEMPTS = 3
"""Attempts at a transaction that fails for a reason other than a lock before its events are
dropped (a full disk, an I/O error)."""

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 11, 26
_INSTALLATION_ID = "installation_id"
_LAST_RETENTION_RUN = "last_retention_run"


@dataclass(frozen=True)
class TelemetryEvent:
    """One thing that happened to a suggestion, as the predictor's training will replay it."""

    kind: str
    """One of EVENT_KINDS."""
    suggestion_id: str
    time: float
    """Unix seconds."""
    data: Mapping[str, Any]
    """JSON-serialisable details per kind (docs/telemetry.md). Not copied by `record`: do not
    change it afterwards."""
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """Unique per event, so a retried write can never store it twice."""
    seen: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    """The text the data's strings may have copied from (what the model saw), made on demand:
    where code text is kept, the writer thread scans it and the secrets in it are redacted
    from the data wherever they appear (`secrets_in`); elsewhere it is never made. Never
    stored."""

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown telemetry event kind {self.kind!r}; one of {EVENT_KINDS}")


def default_database_path() -> Path:
    """The per-user database: `telemetry.sqlite3` in the platform's user data directory."""
    return Path(platformdirs.user_data_dir("ghostwright")) / "telemetry.sqlite3"


def clean_data(
    value: Mapping[str, Any], *, keep_code: bool, known: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Event data as it may be stored or exported: every string (keys included) redacted, the
    `known` secrets too, code text dropped unless kept, non-finite numbers as null, anything
    else as its redacted text."""
    return {
        redact_secrets(str(key), known): _clean(item, keep_code, known)
        for key, item in value.items()
        if keep_code or str(key) not in CODE_TEXT_KEYS or not _holds_text(item)
    }


def _holds_text(value: Any) -> bool:
    return not (value is None or isinstance(value, bool | int | float))


def _clean(value: Any, keep_code: bool, known: frozenset[str]) -> Any:
    if isinstance(value, str):
        return redact_secrets(value, known)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return clean_data(value, keep_code=keep_code, known=known)
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(item, keep_code, known) for item in value]
    return redact_secrets(str(value), known)


def encode_data(data: Mapping[str, Any]) -> str:
    """The stored form of cleaned data: compact JSON, keys sorted so equal data is equal text."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


PRIVATE_FILE_MODE = 0o600
"""Telemetry files are readable and writable by their owner only."""


def make_private(path: Path) -> None:
    """Create `path` (if missing) and its WAL companions readable by the user only; SQLite
    gives the `-wal` and `-shm` files it creates the database file's mode."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            os.chmod(file, PRIVATE_FILE_MODE)


def open_database(path: Path, *, busy_timeout: float) -> sqlite3.Connection:
    """Open the database in WAL mode and bring its schema up to date.

    Raises sqlite3.DatabaseError when the file is not a usable database or stays locked past
    `busy_timeout`. The connection is in autocommit mode: transactions are explicit.
    """
    make_private(path)
    connection = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    try:
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            logger.warning(
                "Telemetry database %s cannot use WAL mode (its file system gave %r); events are "
                "still stored, but a reader may briefly delay the writer",
                path,
                mode,
            )
        connection.execute("PRAGMA synchronous=NORMAL")
        migrate(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def migrate(connection: sqlite3.Connection) -> int:
    """Apply the migrations the database lacks, each in its own transaction; the version after.

    The version is read again inside each write transaction, so two processes opening an old
    database at once apply each migration once. A database newer than this code is used as it
    is (migrations only add), with a warning.
    """
    version = schema_version(connection)
    if version > SCHEMA_VERSION:
        logger.warning(
            "Telemetry database schema version %d is newer than this Ghostwright's %d; using it "
            "as it is",
            version,
            SCHEMA_VERSION,
        )
        return version
    for number in range(version + 1, SCHEMA_VERSION + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(connection) < number:
                for statement in MIGRATIONS[number - 1]:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number:d}")
            connection.execute("COMMIT")
        except BaseException:
            _rollback(connection)
            raise
    return schema_version(connection)


def installation_id(connection: sqlite3.Connection) -> str:
    """The pseudonymous id of this installation, created on first use: a random UUID, so that
    pooled exports can be told apart without naming anyone."""
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (_INSTALLATION_ID,)).fetchone()
    if row is None:
        connection.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
            (_INSTALLATION_ID, uuid.uuid4().hex),
        )
        row = connection.execute(
            "SELECT value FROM meta WHERE key = ?", (_INSTALLATION_ID,)
        ).fetchone()
    return str(row[0])


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        try:
            connection.execute("ROLLBACK")
        except sqlite3.Error:
            logger.debug("telemetry rollback failed", exc_info=True)


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _is_corrupt(exc: sqlite3.Error) -> bool:
    if _primary_code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    message = str(exc).lower()
    return "malformed" in message or "not a database" in message


def _is_busy(exc: sqlite3.Error) -> bool:
    if _primary_code(exc) in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return True
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


def move_aside(path: Path) -> Path:
    """Rename the database and its WAL, shared-memory and journal files to
    `<name>.corrupt-<UTC timestamp>[-n]`, keeping them together for whoever wants to look."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    number = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{number}")
        number += 1
    for suffix in ("", "-wal", "-shm", "-journal"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{target}{suffix}"))
    return target


class TelemetryStore:
    """Events in, durably and without ever blocking the caller; events out, for export and
    training.

    `record` may be called from any thread. `close` should be called at shutdown; it is also
    registered to run at interpreter exit, so queued events are not lost when it is forgotten.
    Raises TelemetryError only when no database can be created at `path` at all.
    """

    def __init__(
        self,
        path: Path,
        *,
        store_code: bool = False,
        retention_days: int = 90,
        queue_size: int = 10_000,
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.path = Path(path)
        self.store_code = store_code
        self.retention_days = retention_days
        self._queue: queue.Queue[TelemetryEvent | None] = queue.Queue(maxsize=queue_size)
        # Counters and flags shared by callers and the writer; never held across disk work.
        self._state = threading.Condition()
        self._enqueued = 0
        self._processed = 0
        self._written = 0
        self._dropped = 0
        self._burst = 0
        self._processed_at_burst = 0
        self._lost_since_flush = False
        self._closed = False
        self._stop = threading.Event()
        self._abandon = threading.Event()
        # The reader connection, reopened when the writer replaces a corrupt database.
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._reader_generation = 0
        self._generation = 0
        self._connection: sqlite3.Connection | None = self._open_or_replace()
        self._thread = threading.Thread(
            target=self._run, name="ghostwright-telemetry-writer", daemon=True
        )
        self._thread.start()
        atexit.register(self.close)

    # -- the caller's side -------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Events recorded but never written: queue full, store closed, or a failed write."""
        with self._state:
            return self._dropped

    @property
    def written(self) -> int:
        """Events committed by this store (an event_id already stored counts once)."""
        with self._state:
            return self._written

    def record(self, event: TelemetryEvent) -> None:
        """Queue the event for the writer; returns at once and never raises.

        When the queue is full the event is dropped and counted in `dropped`, with one warning
        per burst of drops. A burst ends once the writer has committed something since it began
        and the queue is at most half full, not at the first event that fits: a writer that has
        taken a batch off the queue but is stuck on the disk has not caught up.
        """
        try:
            with self._state:
                if self._closed:
                    self._dropped += 1
                    return
                backlog = self._queue.qsize()
                try:
                    self._queue.put_nowait(event)
                except queue.Full:
                    self._dropped += 1
                    self._burst += 1
                    first_of_burst = self._burst == 1
                    if first_of_burst:
                        self._processed_at_burst = self._processed
                    resumed_after = 0
                else:
                    self._enqueued += 1
                    first_of_burst = False
                    resumed_after = 0
                    if (
                        self._burst
                        and self._processed > self._processed_at_burst
                        and backlog <= self._queue.maxsize // 2
                    ):
                        resumed_after, self._burst = self._burst, 0
            if first_of_burst:
                logger.warning(
                    "Telemetry is dropping events: the writer cannot keep up with %s (the disk "
                    "is slow or another process holds the database lock)",
                    self.path,
                )
            elif resumed_after:
                logger.info("Telemetry recording resumed after %d dropped events", resumed_after)
        except Exception:  # the request path must never fail because of telemetry
            # Not the event itself: its data is not redacted yet.
            logger.exception("Telemetry event %s could not be queued", event.event_id)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event queued before this call is committed.

        False when the wait timed out, or when the writer lost events (a failed write, an event
        that could not be encoded) since the previous flush.
        """
        with self._state:
            target = self._enqueued
            done = self._state.wait_for(lambda: self._processed >= target, timeout)
            if not done:
                return False
            lost, self._lost_since_flush = self._lost_since_flush, False
            return not lost

    def close(self) -> None:
        """Write what is queued (waiting up to CLOSE_TIMEOUT_S), stop the writer, close the
        connections. Events recorded afterwards are dropped. Safe to call twice."""
        with self._state:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        deadline = time.monotonic() + CLOSE_TIMEOUT_S
        self.flush(CLOSE_TIMEOUT_S)
        self._stop.set()
        # When the queue is full the writer is busy and sees the stop flag once it runs empty.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(max(0.1, deadline - time.monotonic()))
        if self._thread.is_alive():
            self._abandon.set()
            logger.warning(
                "Telemetry writer did not finish within %.0f s; %d queued events to %s may be lost",
                CLOSE_TIMEOUT_S,
                self._queue.qsize(),
                self.path,
            )
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def events(
        self, *, since: float | None = None, kinds: Iterable[str] | None = None
    ) -> list[TelemetryEvent]:
        """Committed events, oldest first, read through a connection of their own (call `flush`
        first to see what was just recorded). Kinds this version does not know are skipped."""
        wanted = [kind for kind in (EVENT_KINDS if kinds is None else kinds) if kind in EVENT_KINDS]
        if not wanted:
            return []
        sql = (
            "SELECT event_id, kind, suggestion_id, time, data FROM events "
            f"WHERE kind IN ({', '.join('?' * len(wanted))})"
        )
        parameters: list[Any] = list(wanted)
        if since is not None:
            sql += " AND time >= ?"
            parameters.append(since)
        sql += " ORDER BY time, rowid"
        with self._read_lock:
            try:
                rows = self._read(sql, parameters)
            except sqlite3.Error as exc:
                raise TelemetryError(self.path, f"cannot be read ({exc})") from exc
        return [
            TelemetryEvent(kind, suggestion_id, when, json.loads(data), event_id)
            for event_id, kind, suggestion_id, when, data in rows
        ]

    def _read(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        if self._closed:  # no connection is kept once closed; a short-lived one serves
            with contextlib.closing(self._connect_reader()) as connection:
                return connection.execute(sql, parameters).fetchall()
        if self._reader is None or self._reader_generation != self._generation:
            if self._reader is not None:
                self._reader.close()
            self._reader_generation = self._generation
            self._reader = self._connect_reader()
        return self._reader.execute(sql, parameters).fetchall()

    def _connect_reader(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=WRITE_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA query_only = ON")
        return connection

    # -- opening and replacing the database ------------------------------------------------

    def _open_or_replace(self) -> sqlite3.Connection:
        """Open the database, or move an unusable one aside and start a fresh one."""
        if self.path.is_dir():
            raise TelemetryError(self.path, "is a directory", "Remove it or choose another path.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TelemetryError(
                self.path, f"cannot be created: its directory cannot be made ({exc})"
            ) from exc
        if self.path.exists():
            try:
                return open_database(self.path, busy_timeout=OPEN_BUSY_TIMEOUT_S)
            except sqlite3.DatabaseError as exc:
                self._replace(str(exc))
        return self._open_fresh()

    def _replace(self, reason: str) -> None:
        try:
            aside = move_aside(self.path)
        except OSError as exc:
            raise TelemetryError(
                self.path, f"cannot be used ({reason}) and cannot be moved aside ({exc})"
            ) from exc
        logger.warning(
            "Telemetry database %s cannot be used (%s); moved it to %s and started a fresh one",
            self.path,
            reason,
            aside,
        )
        with self._read_lock:
            self._generation += 1

    def _open_fresh(self) -> sqlite3.Connection:
        try:
            return open_database(self.path, busy_timeout=OPEN_BUSY_TIMEOUT_S)
        except sqlite3.DatabaseError as exc:
            raise TelemetryError(self.path, f"cannot be created ({exc})") from exc

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self._connection is not None:
                self._connection.execute(
                    f"PRAGMA busy_timeout = {int(WRITE_BUSY_TIMEOUT_S * 1000)}"
                )
            next_retention = 0.0
            while True:
                if time.monotonic() >= next_retention:
                    self._start_of_period()
                    next_retention = time.monotonic() + RETENTION_INTERVAL_S
                try:
                    item = self._queue.get(timeout=max(0.01, next_retention - time.monotonic()))
                except queue.Empty:
                    continue
                items = [item]
                while len(items) < BATCH_SIZE:
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                events = [item for item in items if item is not None]
                if events:
                    self._commit(events)
                if self._stop.is_set() and self._queue.empty():
                    return
        except Exception:
            logger.exception(
                "Telemetry writer for %s stopped; events are no longer written", self.path
            )
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _start_of_period(self) -> None:
        """Retention (events older than retention_days go) and the installation id, in one
        transaction; a failure only postpones them to the next period."""
        cutoff = time.time() - self.retention_days * 86400.0
        try:
            connection = self._writable()
            connection.execute("BEGIN IMMEDIATE")
            try:
                deleted = connection.execute(
                    "DELETE FROM events WHERE time < ?", (cutoff,)
                ).rowcount
                connection.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    (_LAST_RETENTION_RUN, repr(time.time())),
                )
                installation_id(connection)
                connection.execute("COMMIT")
            except BaseException:
                _rollback(connection)
                raise
        except (sqlite3.Error, TelemetryError) as exc:
            logger.warning("Telemetry retention for %s skipped: %s", self.path, exc)
            if isinstance(exc, sqlite3.Error) and _is_corrupt(exc):
                self._replace_while_running(str(exc))
            return
        if deleted:
            logger.info(
                "Telemetry retention deleted %d events older than %d days",
                deleted,
                self.retention_days,
            )

    def _writable(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._open_or_replace()
            self._connection.execute(f"PRAGMA busy_timeout = {int(WRITE_BUSY_TIMEOUT_S * 1000)}")
        return self._connection

    def _replace_while_running(self, reason: str) -> None:
        """A write found the database corrupt: set it aside and continue in a fresh one."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        try:
            self._replace(reason)
        except TelemetryError as exc:
            logger.error("%s", exc)

    def _commit(self, events: list[TelemetryEvent]) -> None:
        rows: list[tuple[str, str, str, float, str]] = []
        lost = 0
        for event in events:
            try:
                rows.append(self._row(event))
            except Exception as exc:
                lost += 1
                logger.warning(
                    "Telemetry event %s dropped: it cannot be stored (%s)", event.event_id, exc
                )
        inserted = 0
        attempts = 0
        replaced = False
        while rows:
            try:
                inserted = self._insert(self._writable(), rows)
                break
            except (sqlite3.Error, TelemetryError) as exc:
                error = exc
            database_error = error if isinstance(error, sqlite3.Error) else None
            if database_error is not None and _is_corrupt(database_error) and not replaced:
                replaced = True
                self._replace_while_running(str(error))
                continue
            attempts += 1
            busy = database_error is not None and _is_busy(database_error)
            if self._abandon.is_set() or (not busy and attempts >= WRITE_ATTEMPTS):
                logger.warning(
                    "Telemetry dropped %d events: they cannot be written to %s (%s)",
                    len(rows),
                    self.path,
                    error,
                )
                lost += len(rows)
                break
            time.sleep(min(1.0, 0.05 * 2**attempts))
        with self._state:
            self._processed += len(events)
            self._written += inserted
            self._dropped += lost
            if lost:
                self._lost_since_flush = True
            self._state.notify_all()

    def _row(self, event: TelemetryEvent) -> tuple[str, str, str, float, str]:
        # Only code text copies from what the model saw; without consent none is kept, and
        # what the model saw is neither made nor scanned.
        known = frozenset[str]()
        if self.store_code and event.seen is not None:
            known = secrets_in(event.seen())
        data = clean_data(event.data, keep_code=self.store_code, known=known)
        return (
            str(event.event_id),
            event.kind,
            str(event.suggestion_id),
            float(event.time),
            encode_data(data),
        )

    @staticmethod
    def _insert(
        connection: sqlite3.Connection, rows: list[tuple[str, str, str, float, str]]
    ) -> int:
        connection.execute("BEGIN IMMEDIATE")
        try:
            cursor = connection.executemany(
                "INSERT OR IGNORE INTO events (event_id, kind, suggestion_id, time, data) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            connection.execute("COMMIT")
        except BaseException:
            _rollback(connection)
            raise
        return max(cursor.rowcount, 0)
