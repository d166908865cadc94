"""Telemetry export to JSON Lines or Parquet: the only way events leave the machine.

`ghostwright export` calls this; a team pools the files to retrain the predictor. The schema is
flat and documented (docs/telemetry.md) so that pandas, DuckDB or Spark read it without
Ghostwright. Every string is redacted again on the way out (the rules may have improved since
the row was stored), and code text is left out unless asked for.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from ghostwright.errors import TelemetryError
from ghostwright.telemetry.store import (
    WRITE_BUSY_TIMEOUT_S,
    clean_data,
    encode_data,
    installation_id,
    open_database,
)

EXPORT_FORMATS = ("jsonl", "parquet")
EXPORT_SCHEMA_VERSION = 1
"""Bumped when a column changes meaning or goes away (adding a column does not bump it)."""

PARQUET_BATCH_ROWS = 10_000
"""Rows per Parquet row group, and so the most rows held in memory at once."""


def _as_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


# Data fields that get a column of their own, with the conversion that admits a value; a value
# of another type stays in `data`.
_LIFTED: dict[str, Callable[[Any], Any]] = {
    "language": _as_text,
    "score": _as_number,
    "model": _as_text,
    "latency_ms": _as_number,
}


@dataclass(frozen=True)
class ExportRow:
    """One event in the export schema, before it is written in either format."""

    event_id: str
    kind: str
    suggestion_id: str
    time: float
    user: str
    language: str | None
    score: float | None
    model: str | None
    latency_ms: float | None
    features: dict[str, Any] | None
    data: dict[str, Any]


def export_events(
    database: Path,
    out: Path,
    *,
    format: str,
    since: float | None = None,
    include_code: bool = False,
) -> int:
    """Write the events of `database` (those at or after `since`, unix seconds) to `out` as
    JSON Lines (`format="jsonl"`) or Parquet (`format="parquet"`); the number of rows.

    The file appears whole or not at all. Code text is exported only when `include_code` is
    set and it was stored (the user allowed storing code). Raises TelemetryError with what to
    do when the database cannot be read or `out` cannot be written.
    """
    kind = format.lower()
    if kind not in EXPORT_FORMATS:
        raise TelemetryError(
            database, f"cannot be exported as {format!r}", "Use 'jsonl' or 'parquet'."
        )
    if not database.is_file():
        raise TelemetryError(
            database,
            "does not exist",
            "Events are recorded while the server runs with telemetry on; check the path.",
        )
    try:
        connection = open_database(database, busy_timeout=WRITE_BUSY_TIMEOUT_S)
    except sqlite3.DatabaseError as exc:
        raise TelemetryError(database, f"cannot be read ({exc})") from exc
    with contextlib.closing(connection):
        try:
            user = installation_id(connection)
            connection.execute("BEGIN")  # one snapshot, however long the export takes
            rows = _export_rows(connection, user, since, include_code)
            write = _write_jsonl if kind == "jsonl" else _write_parquet
            return _write_atomically(out, lambda stream: write(rows, stream))
        except sqlite3.DatabaseError as exc:
            raise TelemetryError(database, f"cannot be read ({exc})") from exc


def _export_rows(
    connection: sqlite3.Connection, user: str, since: float | None, include_code: bool
) -> Iterator[ExportRow]:
    cursor = connection.execute(
        "SELECT event_id, kind, suggestion_id, time, data FROM events "
        "WHERE time >= ? ORDER BY time, rowid",
        (float("-inf") if since is None else since,),
    )
    for event_id, kind, suggestion_id, when, text in cursor:
        try:
            stored = json.loads(text)
        except ValueError:
            stored = {"unparsed": text}
        data = clean_data(
            stored if isinstance(stored, Mapping) else {"value": stored}, keep_code=include_code
        )
        lifted: dict[str, Any] = {}
        for name, admit in _LIFTED.items():
            value = admit(data.get(name))
            if value is not None:
                lifted[name] = value
                del data[name]
        features = data.get("features")
        if isinstance(features, dict):
            del data["features"]
        else:
            features = None
        yield ExportRow(
            event_id=event_id,
            kind=kind,
            suggestion_id=suggestion_id,
            time=float(when),
            user=user,
            language=lifted.get("language"),
            score=lifted.get("score"),
            model=lifted.get("model"),
            latency_ms=lifted.get("latency_ms"),
            features=features,
            data=data,
        )


def _write_atomically(out: Path, write: Callable[[IO[bytes]], int]) -> int:
    """Write through a temporary file beside `out` and rename it into place."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        temporary = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
        try:
            # Readable by the user only, like the database it comes from.
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as stream:
                count = write(stream)
            os.replace(temporary, out)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as exc:
        raise TelemetryError(
            out, f"cannot be written ({exc})", "Choose an output file in a writable directory."
        ) from exc
    return count


def iso_time(seconds: float) -> str:
    """Unix seconds as ISO-8601 UTC with microseconds and a `Z`, as the JSONL export has it."""
    stamp = datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="microseconds")
    return stamp.replace("+00:00", "Z")


def _write_jsonl(rows: Iterator[ExportRow], stream: IO[bytes]) -> int:
    count = 0
    for row in rows:
        record = {
            "event_id": row.event_id,
            "kind": row.kind,
            "suggestion_id": row.suggestion_id,
            "time": iso_time(row.time),
            "user": row.user,
            "language": row.language,
            "score": row.score,
            "model": row.model,
            "latency_ms": row.latency_ms,
            "features": row.features,
            "data": row.data,
        }
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        stream.write(line.encode("utf-8") + b"\n")
        count += 1
    return count


def _write_parquet(rows: Iterator[ExportRow], stream: IO[bytes]) -> int:
    import pyarrow as pa  # type: ignore[import-untyped]  # only `export` pays for the import
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    schema = pa.schema(
        [
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("suggestion_id", pa.string(), nullable=False),
            pa.field("time", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("user", pa.string(), nullable=False),
            pa.field("language", pa.string()),
            pa.field("score", pa.float64()),
            pa.field("model", pa.string()),
            pa.field("latency_ms", pa.float64()),
            pa.field("features_json", pa.string()),
            pa.field("data_json", pa.string(), nullable=False),
        ],
        metadata={b"ghostwright.export_schema": str(EXPORT_SCHEMA_VERSION).encode()},
    )
    count = 0
    with pq.ParquetWriter(stream, schema, compression="zstd") as writer:
        for batch in _batches(rows, PARQUET_BATCH_ROWS):
            columns = {
                "event_id": [row.event_id for row in batch],
                "kind": [row.kind for row in batch],
                "suggestion_id": [row.suggestion_id for row in batch],
                "time": [round(row.time * 1_000_000) for row in batch],
                "user": [row.user for row in batch],
                "language": [row.language for row in batch],
                "score": [row.score for row in batch],
                "model": [row.model for row in batch],
                "latency_ms": [row.latency_ms for row in batch],
                "features_json": [
                    None if row.features is None else encode_data(row.features) for row in batch
                ],
                "data_json": [encode_data(row.data) for row in batch],
            }
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            count += len(batch)
    return count


def _batches(rows: Iterator[ExportRow], size: int) -> Iterator[list[ExportRow]]:
    batch: list[ExportRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
