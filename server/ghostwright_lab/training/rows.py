"""Labelled rows: one cursor position each, its features per stage and whether the suggestion
there was (or would have been) accepted; and their JSON Lines files."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ghostwright.predictor.features import NAN, Stage, names, vector

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Row:
    """One request with what was decided about it: a position of the simulation, or later a
    `shown` event of telemetry."""

    file: str
    """The document, relative to the corpus."""
    package: str
    """What rows are grouped by so that related files stay on one side of a split."""
    split: str
    """"tune" or "validation"."""
    line: int
    column: int
    kind: str
    """Why the cursor is there (`corpus.PositionKind`), or where the row came from."""
    label: int
    """1 when the suggestion is what the author wrote (would be accepted), else 0."""
    context: Mapping[str, float]
    suggestion: Mapping[str, float] | None = None
    """The suggestion-stage features; None when the pipeline offered nothing."""
    suggestion_text: str = ""
    target: str = ""
    """What the author wrote from the cursor to the end of the line."""
    token_logprobs: tuple[float, ...] = ()
    """The generation's raw confidence, kept so that features can be recomputed."""
    token_entropies: tuple[float, ...] = ()
    stop_reason: str = ""

    def features(self, stage: Stage) -> dict[str, float]:
        """The features of `stage` (the suggestion stage includes the context ones)."""
        if stage == "context" or self.suggestion is None:
            return dict(self.context)
        return {**self.context, **self.suggestion}


def stage_rows(rows: Iterable[Row], stage: Stage) -> list[Row]:
    """The rows a stage learns from: all of them for the gate, those with a suggestion for the
    filter."""
    return [row for row in rows if stage == "context" or row.suggestion is not None]


def matrix(rows: Sequence[Row], stage: Stage) -> tuple[Floats, Ints]:
    """Feature matrix (table order, NaN for missing) and labels of rows already of `stage`."""
    width = len(names(stage))
    features = np.array(
        [vector(row.features(stage), stage) for row in rows], dtype=np.float64
    ).reshape(len(rows), width)
    return features, np.array([row.label for row in rows], dtype=np.int64)


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _row_json(row: Row) -> dict[str, Any]:
    data = dataclasses.asdict(row)
    data["context"] = {k: _json_number(v) for k, v in row.context.items()}
    if row.suggestion is not None:
        data["suggestion"] = {k: _json_number(v) for k, v in row.suggestion.items()}
    return data


def _features_of(data: Mapping[str, float | None]) -> dict[str, float]:
    return {k: NAN if v is None else float(v) for k, v in data.items()}


def write_rows(path: Path, rows: Iterable[Row], header: Mapping[str, Any] | None = None) -> None:
    """JSON Lines: an optional `{"header": ...}` line, then one row per line (NaN as null)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with partial.open("w", encoding="utf-8") as out:
        if header is not None:
            out.write(json.dumps({"header": header}) + "\n")
        for row in rows:
            out.write(json.dumps(_row_json(row)) + "\n")
    partial.replace(path)


def read_rows(path: Path) -> tuple[dict[str, Any] | None, list[Row]]:
    """The header (None if there is none) and the rows of a `write_rows` file."""
    header: dict[str, Any] | None = None
    rows = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            data = json.loads(line)
            if "header" in data:
                header = data["header"]
                continue
            suggestion = data.get("suggestion")
            data["token_logprobs"] = tuple(data.get("token_logprobs", ()))
            data["token_entropies"] = tuple(data.get("token_entropies", ()))
            data["context"] = _features_of(data["context"])
            data["suggestion"] = None if suggestion is None else _features_of(suggestion)
            rows.append(Row(**data))
    return header, rows
