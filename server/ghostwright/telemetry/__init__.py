"""Telemetry: what happened to each suggestion, stored locally for training the predictor.

Events go into a per-user SQLite database (`store`), every string redacted first (`redact`);
`export` writes them out as JSON Lines or Parquet when the user asks. Nothing leaves the machine
otherwise. docs/telemetry.md describes what is stored and the export schema.
"""

from ghostwright.telemetry.export import EXPORT_FORMATS, export_events
from ghostwright.telemetry.redact import redact_secrets
from ghostwright.telemetry.store import (
    CODE_TEXT_KEYS,
    EVENT_KINDS,
    TelemetryEvent,
    TelemetryStore,
    default_database_path,
)

__all__ = [
    "CODE_TEXT_KEYS",
    "EVENT_KINDS",
    "EXPORT_FORMATS",
    "TelemetryEvent",
    "TelemetryStore",
    "default_database_path",
    "export_events",
    "redact_secrets",
]
