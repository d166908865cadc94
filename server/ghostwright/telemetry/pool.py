"""Pooling a team's exported telemetry into one dataset (`ghostwright pool`, and the reader of
`ghostwright train --from-parquet`).

Each person runs `ghostwright export` and puts the file where the team collects them; the pool
reads every export (JSON Lines or Parquet, export schema 1), keeps each event once (by
`event_id`, so overlapping exports of the same database do not count twice), orders them by
time, and writes one file in the same schema. Nothing is added: the `user` column stays the
pseudonymous installation id each export carries (a random UUID, never a name), so the pooled
rows can be told apart per person without saying who that is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ghostwright.errors import TelemetryError
from ghostwright.telemetry.export import (
    EXPORT_FORMATS,
    EXPORT_SCHEMA_VERSION,
    ExportRow,
    _write_atomically,
    _write_jsonl,
    _write_parquet,
)
from ghostwright.telemetry.store import EVENT_KINDS, TelemetryEvent

EXPORT_SUFFIXES = (".jsonl", ".parquet")


@dataclass(frozen=True)
class Pool:
    """The distinct events of a set of exports, oldest first, and where they came from."""

    rows: tuple[ExportRow, ...]
    files: tuple[Path, ...]
    read: int
    """Rows read, duplicates included."""

    @property
    def duplicates(self) -> int:
        return self.read - len(self.rows)

    @property
    def users(self) -> frozenset[str]:
        return frozenset(row.user for row in self.rows)


def export_files(inputs: Iterable[Path]) -> list[Path]:
    """The export files among `inputs`: files as given, directories searched for `*.jsonl` and
    `*.parquet` (not recursively), in name order."""
    found: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in EXPORT_SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            raise TelemetryError(path, "does not exist", "Name export files or directories.")
    return found


def read_pool(inputs: Iterable[Path]) -> Pool:
    """Every distinct event of the exports in `inputs`, oldest first."""
    files = export_files(inputs)
    if not files:
        raise TelemetryError(
            ", ".join(map(str, inputs)),
            "holds no exports (*.jsonl, *.parquet)",
            "Collect the files that `ghostwright export` wrote there first.",
        )
    seen: dict[str, ExportRow] = {}
    read = 0
    for path in files:
        for row in read_export(path):
            read += 1
            seen.setdefault(row.event_id, row)
    rows = sorted(seen.values(), key=lambda row: (row.time, row.event_id))
    return Pool(tuple(rows), tuple(files), read)


def write_pool(pool: Pool, out: Path, *, format: str) -> int:
    """Write the pool as one export (`format` "jsonl" or "parquet"); the number of rows."""
    if format not in EXPORT_FORMATS:
        raise TelemetryError(out, f"cannot be written as {format!r}", "Use 'jsonl' or 'parquet'.")
    write = _write_jsonl if format == "jsonl" else _write_parquet
    return _write_atomically(out, lambda stream: write(iter(pool.rows), stream))


def events_of(rows: Iterable[ExportRow]) -> Iterator[TelemetryEvent]:
    """Export rows as the telemetry events they were made from (what training reads): the
    lifted columns and the feature vector back in `data`."""
    for row in rows:
        if row.kind not in EVENT_KINDS:  # from a newer Ghostwright: nothing to learn here
            continue
        data: dict[str, Any] = dict(row.data)
        for name in ("language", "score", "model", "latency_ms"):
            value = getattr(row, name)
            if value is not None:
                data[name] = value
        if row.features is not None:
            data["features"] = row.features
        yield TelemetryEvent(row.kind, row.suggestion_id, row.time, data, row.event_id)


def read_export(path: Path) -> Iterator[ExportRow]:
    """The rows of one export file, JSON Lines or Parquet (by its suffix)."""
    if path.suffix == ".parquet":
        return _read_parquet(path)
    if path.suffix == ".jsonl":
        return _read_jsonl(path)
    raise TelemetryError(path, "is not an export", "Exports end in .jsonl or .parquet.")


def _read_jsonl(path: Path) -> Iterator[ExportRow]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TelemetryError(path, f"cannot be read ({exc})") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            yield _row(record, _unix_time(record["time"]), record.get("features"), record["data"])
        except (ValueError, KeyError, TypeError) as exc:
            raise TelemetryError(path, f"line {number} is not an export row ({exc})") from exc


def _read_parquet(path: Path) -> Iterator[ExportRow]:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:
        raise TelemetryError(path, f"cannot be read as Parquet ({exc})") from exc
    version = (table.schema.metadata or {}).get(b"ghostwright.export_schema")
    if version != str(EXPORT_SCHEMA_VERSION).encode():
        raise TelemetryError(
            path,
            f"is not a Ghostwright export of schema {EXPORT_SCHEMA_VERSION} (found {version!r})",
            "Export it again with this version of `ghostwright export`.",
        )
    for record in table.to_pylist():
        features = record.get("features_json")
        yield _row(
            record,
            record["time"].timestamp(),
            None if features is None else json.loads(features),
            json.loads(record["data_json"]),
        )


def _row(record: dict[str, Any], time: float, features: Any, data: Any) -> ExportRow:
    return ExportRow(
        event_id=str(record["event_id"]),
        kind=str(record["kind"]),
        suggestion_id=str(record["suggestion_id"]),
        time=time,
        user=str(record["user"]),
        language=record.get("language"),
        score=record.get("score"),
        model=record.get("model"),
        latency_ms=record.get("latency_ms"),
        features=features if isinstance(features, dict) else None,
        data=data if isinstance(data, dict) else {"value": data},
    )


def _unix_time(stamp: str) -> float:
    """The JSON Lines export's ISO-8601 UTC time (`...Z`) as unix seconds."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def describe(pool: Pool, sources: Sequence[Path]) -> dict[str, Any]:
    """What a pool holds, for the command's report."""
    return {
        "files": [str(path) for path in pool.files],
        "inputs": [str(path) for path in sources],
        "rows": len(pool.rows),
        "duplicates_dropped": pool.duplicates,
        "users": len(pool.users),
    }
