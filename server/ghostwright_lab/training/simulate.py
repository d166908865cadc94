"""Labelled rows before there are users: the real pipeline on real code (DESIGN.md).

Cursor positions are picked in the corpus (by default the running interpreter's standard
library) as `evaluation.corpus` picks them; whole packages are held out for validation, and rows
from them are only ever measured on. At each position the full pipeline runs in-process exactly
as `completion_eval.run_ghostwright` runs it (context from the parse tree, `complete`, the parse
check), with no gate or filter, since the predictor is what will decide. The row's label is 1 when
the suggestion is what the author wrote next: for one line, the line exactly; for several, an
edit similarity of at least `MULTI_LINE_SIMILARITY` over the whole suggestion. A position where
the pipeline offers nothing is a row too (label 0) for the gate.

Each file gives a few runs of consecutive cursors, visited top to bottom, as a person works
through a few places of a file. That is also what makes the simulation affordable: a cold
1,000-token prompt costs about 5 s on two cores, while the next cursor of a run reuses the KV
cache up to the previous one and costs well under a second. The history features are simulated
from the labels of the earlier positions of the same file (the session) and package (the
project). The corpus's `_Source` is used directly because `positions_in` would build every
position's document of a file at once.

Rows are cached as JSON Lines with a header naming what made them; a later run with the same
corpus, counts, seed, model and settings reads them back instead of generating. Each row keeps
what its features were computed from (the position, the suggestion, the token log-probabilities
and entropies), so when the feature table changes, cached rows get their features computed anew
in seconds instead of being generated again.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import logging
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import platformdirs

from ghostwright.completion.pipeline import CompletionPipeline, CompletionRequest
from ghostwright.completion.suggest import Suggester
from ghostwright.engine.base import Engine
from ghostwright.engine.models import resolve_model_path
from ghostwright.predictor.features import (
    CONTEXT_NAMES,
    SUGGESTION_NAMES,
    CursorContext,
    History,
    context_features,
    suggestion_features,
)
from ghostwright.progress import progress
from ghostwright.settings import APP_NAME, Settings, resolve_settings
from ghostwright.syntax import SyntaxTree
from ghostwright_lab.corpus import (
    Position,
    PositionKind,
    Split,
    _Source,
    corpus_files,
    default_corpus,
)
from ghostwright_lab.stats import percentile
from ghostwright_lab.training.rows import Row, read_rows, write_rows

log = logging.getLogger(__name__)

RUNS_PER_FILE = 2
RUN_LENGTH = 6
MULTI_LINE_SIMILARITY = 0.8
CACHE_FORMAT = 1
_GENERATION_SETTINGS = (
    "context_size",
    "gpu_layers",
    "max_tokens",
    "time_budget_ms",
    "max_lines",
    "prefix_tokens",
    "suffix_tokens",
    "context_tokens",
)
"""The settings that change what the pipeline suggests: rows made under others are not reused."""
_WARM_UP = 'def add(a, b):\n    """Add two numbers."""\n    return '


@dataclass(frozen=True)
class SimulationStats:
    """How one split's simulation went."""

    positions: int
    files: int
    suggestions: int
    accepted: int
    seconds: float
    """Wall clock of the positions (model loading excluded)."""
    rows_per_second: float
    feature_ms_p50: float | None
    """`suggestion_features` per suggestion, the parse-error feature included."""
    feature_ms_p95: float | None
    parse_ms_p50: float | None
    """Of that, the re-parse with the suggestion inserted (`parse_errors_added`)."""
    parse_ms_p95: float | None


def default_rows_dir() -> Path:
    """Where simulated rows are cached: `predictor/` in the per-user cache dir."""
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "predictor"


def label_of(position: Position, suggestion: str) -> int:
    """1 when `suggestion` is what the author wrote at `position`, else 0: its first line is the
    rest of the author's line, and a multi-line one is also, as a whole, at least
    `MULTI_LINE_SIMILARITY` similar to the author's lines (nobody takes four lines that start
    wrong, nor a right first line followed by three wrong ones)."""
    lines = suggestion.rstrip().split("\n")
    if not suggestion.strip() or lines[0].rstrip() != position.target.rstrip():
        return 0
    if len(lines) == 1:
        return 1
    written = (position.target + position.document[position.offset :]).split("\n")
    truth = "\n".join(line.rstrip() for line in written[: len(lines)])
    guess = "\n".join(line.rstrip() for line in lines)
    similarity = difflib.SequenceMatcher(None, guess, truth, autojunk=False).ratio()
    return int(similarity >= MULTI_LINE_SIMILARITY)


def positions_by_file(
    files: Sequence[Path],
    n: int,
    seed: int,
    runs_per_file: int = RUNS_PER_FILE,
    run_length: int = RUN_LENGTH,
) -> list[list[Position]]:
    """Positions from enough shuffled files to make `n`, each file's in document order.

    A file gives `runs_per_file` runs of `run_length` consecutive cursors, each run starting at
    a random cursor: a person working through a few places of a file.
    """
    rng = random.Random(seed)
    order = list(files)
    rng.shuffle(order)
    picked: list[list[Position]] = []
    total = 0
    for path in order:
        if total >= n:
            break
        try:
            source = _Source(path, path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        cursors = source.cursors()
        chosen: set[int] = set()
        for _ in range(runs_per_file):
            if len(chosen) >= len(cursors):
                break
            start = rng.randrange(len(cursors))
            chosen.update(range(start, min(start + run_length, len(cursors))))
        indices = sorted(chosen)[: n - total]
        if indices:
            positions = [source.position(cursors[index]) for index in indices]
            picked.append(sorted(positions, key=lambda position: position.offset))
            total += len(positions)
    return picked


class _Decisions:
    """The simulated person's decisions so far: in the file being worked on (the session,
    which starts afresh with each file) and in each package (the project)."""

    def __init__(self) -> None:
        self._file: str | None = None
        self._session: list[int] = []
        self._projects: dict[str, list[int]] = {}

    def history(self, file: str, package: str) -> History:
        if file != self._file:
            self._file, self._session = file, []
        project = self._projects.get(package, [])
        return History(
            labels=tuple(self._session),
            session_accept_rate=_rate(self._session),
            project_accept_rate=_rate(project),
        )

    def decided(self, package: str, label: int) -> None:
        self._session.append(label)
        self._projects.setdefault(package, []).append(label)


def _rate(labels: Sequence[int]) -> float | None:
    return sum(labels) / len(labels) if labels else None


def simulate(
    groups: Sequence[Sequence[Position]],
    corpus: Path,
    split: str,
    engine: Engine,
    settings: Settings,
    on_row: Callable[[Row], None] | None = None,
) -> tuple[list[Row], SimulationStats]:
    """Run the pipeline at every position, file by file, and label what it suggests.

    Always from the full prompt window: the rows stand for a person working in a file, whose
    requests the server answers from the full window once it warmed it (the cold window of a
    first request is not simulated)."""
    pipeline = CompletionPipeline(dataclasses.replace(settings, cold_prompt_tokens=0))
    suggester = Suggester(pipeline)
    rows: list[Row] = []
    feature_ms: list[float] = []
    parse_ms: list[float] = []
    decisions = _Decisions()
    started = time.perf_counter()
    total = sum(len(positions) for positions in groups)
    with progress(f"simulating {split}", total, unit="positions") as advance:
        for positions in groups:
            relative = positions[0].file.relative_to(corpus)
            package = relative.parts[0].removesuffix(".py")
            for position in positions:
                uri = position.file.resolve().as_uri()
                tree = SyntaxTree("python", position.document)
                request = CompletionRequest(uri, 0, "python", position.document, position.offset)
                # Every suggestion the parse check lets through: the rows are what the
                # predictor learns to filter (no predictor judges them here).
                answer = suggester.suggest(engine, request, tree)
                suggestion = answer.shown[0] if answer.shown else None
                text = suggestion.text if suggestion else ""
                history = decisions.history(relative.as_posix(), package)
                cursor = CursorContext("python", position.document, position.offset, tree, history)
                context = context_features(cursor)
                features = None
                label = 0
                shown = suggestion if suggestion is not None and text else None
                if shown is not None:
                    began = time.perf_counter()
                    everything = suggestion_features(
                        cursor, text, shown.token_logprobs, shown.token_entropies, shown.stop_reason
                    )
                    feature_ms.append((time.perf_counter() - began) * 1000.0)
                    began = time.perf_counter()
                    tree.errors_with_insertion(position.offset, text)
                    parse_ms.append((time.perf_counter() - began) * 1000.0)
                    features = {k: v for k, v in everything.items() if k not in CONTEXT_NAMES}
                    label = label_of(position, text)
                    decisions.decided(package, label)
                row = Row(
                    file=relative.as_posix(),
                    package=package,
                    split=split,
                    line=position.line,
                    column=position.column,
                    kind=position.kind,
                    label=label,
                    context=context,
                    suggestion=features,
                    suggestion_text=text,
                    target=position.target,
                    token_logprobs=tuple(round(v, 5) for v in shown.token_logprobs)
                    if shown
                    else (),
                    token_entropies=tuple(round(v, 5) for v in shown.token_entropies)
                    if shown
                    else (),
                    stop_reason=shown.stop_reason if shown else "",
                )
                rows.append(row)
                if on_row is not None:
                    on_row(row)
                advance(1)
            log.info(
                "%s: %d rows, %d with a suggestion, %d accepted (%.0f s)",
                split,
                len(rows),
                len(feature_ms),
                sum(row.label for row in rows),
                time.perf_counter() - started,
            )
    seconds = time.perf_counter() - started
    stats = SimulationStats(
        positions=len(rows),
        files=len(groups),
        suggestions=len(feature_ms),
        accepted=sum(row.label for row in rows),
        seconds=round(seconds, 1),
        rows_per_second=round(len(rows) / seconds, 3) if seconds else 0.0,
        feature_ms_p50=_rounded(percentile(feature_ms, 50)),
        feature_ms_p95=_rounded(percentile(feature_ms, 95)),
        parse_ms_p50=_rounded(percentile(parse_ms, 50)),
        parse_ms_p95=_rounded(percentile(parse_ms, 95)),
    )
    return rows, stats


def refresh_features(rows: Sequence[Row], corpus: Path) -> list[Row]:
    """`rows` with their features computed anew from what they keep (position, suggestion,
    token log-probabilities): for rows cached before the feature table changed. The rows must
    be in simulation order, so that the history is the same."""
    sources: dict[str, _Source] = {}
    decisions = _Decisions()
    refreshed = []
    for row in rows:
        source = sources.get(row.file)
        if source is None:
            path = corpus / row.file
            source = sources[row.file] = _Source(path, path.read_text(encoding="utf-8"))
        position = source.position((row.line, row.column, cast(PositionKind, row.kind)))
        tree = SyntaxTree("python", position.document)
        history = decisions.history(row.file, row.package)
        cursor = CursorContext("python", position.document, position.offset, tree, history)
        suggestion = None
        if row.suggestion is not None:
            everything = suggestion_features(
                cursor,
                row.suggestion_text,
                row.token_logprobs,
                row.token_entropies,
                row.stop_reason,
            )
            suggestion = {k: v for k, v in everything.items() if k not in CONTEXT_NAMES}
            decisions.decided(row.package, row.label)
        refreshed.append(
            dataclasses.replace(row, context=context_features(cursor), suggestion=suggestion)
        )
    return refreshed


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def simulated_rows(
    corpus: Path | None,
    counts: Mapping[Split, int],
    seed: int,
    *,
    rows_dir: Path | None = None,
    reuse: bool = True,
    settings: Settings | None = None,
    runs: int = 1,
) -> tuple[list[Row], list[Row], dict[str, SimulationStats]]:
    """Tune rows, validation rows and their stats: from the cache when it holds rows made the
    same way, else simulated (loading the model once) and cached.

    `runs` > 1 repeats the simulation with further seeds (run r's splits use `seed + r *
    len(counts)` onwards, so run 0 is the single-run data) and joins the runs, each cursor once:
    more data without making the existing runs' cached rows stale.
    """
    root = (corpus or default_corpus()).resolve()
    settings = settings or resolve_settings().settings
    model_path = resolve_model_path(settings)
    rows_dir = rows_dir or default_rows_dir()
    runs_found: dict[tuple[int, Split], tuple[list[Row], SimulationStats]] = {}
    missing: dict[tuple[int, Split], tuple[Path, dict[str, Any], int, int]] = {}
    for run, (offset, (split, n)) in itertools.product(range(runs), enumerate(counts.items())):
        split_seed = seed + run * len(counts) + offset
        key = {
            "format": CACHE_FORMAT,
            "corpus": str(root),
            "python": sys.version.split()[0],
            "split": split,
            "n": n,
            "seed": split_seed,
            "model": model_path.name,
            "model_size": model_path.stat().st_size if model_path.is_file() else None,
            "settings": {name: getattr(settings, name) for name in _GENERATION_SETTINGS},
        }
        # One file per model too: rows of one model must not replace another's.
        path = rows_dir / f"rows-{model_path.stem}-{split}-n{n}-seed{split_seed}.jsonl"
        cached = _cached(path, key) if reuse else None
        if cached is not None:
            log.info("reusing %d %s rows from %s", len(cached[0]), split, path)
            runs_found[run, split] = cached
        else:
            missing[run, split] = (path, key, n, split_seed)
    if missing:
        from ghostwright.engine.local import LocalEngine

        engine = LocalEngine(model_path, settings)
        try:
            # One untimed request first, so one-time costs are not charged to the first row.
            warm_up = CompletionRequest("untitled:warm-up.py", 0, "python", _WARM_UP, len(_WARM_UP))
            Suggester(CompletionPipeline(settings)).suggest(engine, warm_up, None)
            for (run, split), (path, key, n, split_seed) in missing.items():
                files = corpus_files(root, split)
                groups = positions_by_file(files, n, split_seed)
                log.info("simulating %d positions in %d %s files", n, len(groups), split)
                rows, stats = simulate(groups, root, split, engine, settings)
                write_rows(path, rows, {"key": key, "stats": dataclasses.asdict(stats)})
                runs_found[run, split] = (rows, stats)
        finally:
            engine.close()
    found = {
        split: joined_runs([runs_found[run, split] for run in range(runs)]) for split in counts
    }
    empty = SimulationStats(0, 0, 0, 0, 0.0, 0.0, None, None, None, None)
    tune = found.get("tune", ([], empty))
    validation = found.get("validation", ([], empty))
    return tune[0], validation[0], {split: stats for split, (_, stats) in found.items()}


def joined_runs(
    runs: Sequence[tuple[Sequence[Row], SimulationStats]],
) -> tuple[list[Row], SimulationStats]:
    """One split's rows of several runs, each cursor once (the first run's row), with their
    stats: counts of the joined rows, summed time, and the runs' timing percentiles averaged
    weighted by their suggestions."""
    if len(runs) == 1:
        return list(runs[0][0]), runs[0][1]
    rows: list[Row] = []
    seen: set[tuple[str, int, int]] = set()
    for run_rows, _ in runs:
        for row in run_rows:
            cursor = (row.file, row.line, row.column)
            if cursor not in seen:
                seen.add(cursor)
                rows.append(row)
    stats = [run_stats for _, run_stats in runs]
    seconds = sum(run_stats.seconds for run_stats in stats)
    simulated = sum(run_stats.positions for run_stats in stats)

    def weighted(name: str) -> float | None:
        pairs = [(getattr(s, name), s.suggestions) for s in stats if getattr(s, name) is not None]
        weight = sum(w for _, w in pairs)
        return _rounded(sum(v * w for v, w in pairs) / weight) if weight else None

    return rows, SimulationStats(
        positions=len(rows),
        files=len({row.file for row in rows}),
        suggestions=sum(row.suggestion is not None for row in rows),
        accepted=sum(row.label for row in rows),
        seconds=round(seconds, 1),
        rows_per_second=round(simulated / seconds, 3) if seconds else 0.0,
        feature_ms_p50=weighted("feature_ms_p50"),
        feature_ms_p95=weighted("feature_ms_p95"),
        parse_ms_p50=weighted("parse_ms_p50"),
        parse_ms_p95=weighted("parse_ms_p95"),
    )


def _cached(path: Path, key: Mapping[str, Any]) -> tuple[list[Row], SimulationStats] | None:
    if not path.is_file():
        return None
    try:
        header, rows = read_rows(path)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if header is None or header.get("key") != key:
        return None
    if any(_stale(row) for row in rows):
        log.info("computing the features of the cached rows in %s anew", path)
        rows = refresh_features(rows, Path(key["corpus"]))
        write_rows(path, rows, header)
    return rows, SimulationStats(**header["stats"])


def _stale(row: Row) -> bool:
    """Whether a cached row's features are not those of the current feature table."""
    suggestion_names = set(SUGGESTION_NAMES) - set(CONTEXT_NAMES)
    return set(row.context) != set(CONTEXT_NAMES) or (
        row.suggestion is not None and set(row.suggestion) != suggestion_names
    )
