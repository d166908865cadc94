"""`ghostwright eval completion`: are the suggestions what the author actually wrote next?

Cursor positions are picked in real code (see `corpus`), the full pipeline is asked at each
one, and its suggestion is compared with the true rest of the line. With `--naive` the same
model is asked the plain way (`naive.NaiveCompleter`, the text before the cursor as the prompt)
at the same positions in the same run, so the two columns share machine, model and sample.

What is measured, and why:
- shown rate: how often a suggestion comes back at all; the pipeline may decline.
- precision: of the suggestions shown, how many have a first line (right-stripped) equal to the
  rest of the true line (right-stripped). This is what a user sees: a wrong suggestion costs
  attention even when rejected.
- exact over all: exact first-line matches over all positions, so declining never helps it.
- edit similarity: mean `difflib` ratio of the first line over shown suggestions: near misses.
- latency p50/p95: the caller's wall clock around each request, declined ones included (a fast
  "no" is real latency too); for a shown suggestion it is the pipeline's `total_ms` plus the
  cost of the call itself.
- model p50: the model time each answer reports (every naive request, Ghostwright's shown
  suggestions).

Both sides get one untimed warm-up request first, so one-time costs (first decode, lookup
tables) are not charged to whichever position happens to come first. Requests follow the
picking order, which moves between files, so neither side is handed a warm KV cache by the
sample's order.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import platform
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ghostwright.errors import GhostwrightError
from ghostwright.progress import progress
from ghostwright.settings import Settings
from ghostwright_lab.corpus import (
    Position,
    Split,
    corpus_files,
    default_corpus,
    pick_positions,
)
from ghostwright_lab.stats import percentile

if TYPE_CHECKING:
    from ghostwright.completion.suggest import Suggester
    from ghostwright.engine.base import Engine

log = logging.getLogger(__name__)

_WARM_UP = 'def add(a, b):\n    """Add two numbers."""\n    return '
"""A tiny document for the untimed first request of each side."""


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate: which corpus, which split, how many positions, and whether to compare."""

    corpus: Path | None = None
    """None means the running interpreter's standard library (Python), or the split's source
    corpora (`corpora`) for another language."""
    language: str = "python"
    split: Split = "validation"
    n: int = 50
    seed: int = 0
    naive: bool = False


@dataclass(frozen=True)
class Attempt:
    """One side's answer at one position."""

    shown: str | None
    """The suggestion a user would see, or None when nothing is shown."""
    latency_ms: float
    model_ms: float | None
    """Model time the answer reports; None when it reports none (a declined request)."""
    score: float | None = None
    """The acceptance predictor's probability of what it showed (Ghostwright only)."""


@dataclass(frozen=True)
class Summary:
    """The metrics of one side over all positions; None where nothing was there to average."""

    positions: int
    shown: int
    exact: int
    shown_rate: float
    precision: float | None
    exact_over_all: float
    edit_similarity: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    model_p50_ms: float | None


@dataclass(frozen=True)
class Ratios:
    """Ghostwright over naive: above 1 is better for precision and exact, worse for latency."""

    precision: float | None
    exact_over_all: float | None
    latency_p50: float | None
    latency_p95: float | None


@dataclass(frozen=True)
class Machine:
    """Where the numbers were taken: they mean little without it."""

    platform: str
    python: str
    cores: int

    @classmethod
    def current(cls) -> Machine:
        return cls(platform.platform(), platform.python_version(), os.cpu_count() or 1)


@dataclass(frozen=True)
class EvalReport:
    """Everything one `eval completion` run found, with what it ran on."""

    corpus: Path
    split: Split
    language: str
    seed: int
    files_in_split: int
    files_sampled: int
    positions_by_kind: Mapping[str, int]
    model: Path
    settings: Settings
    machine: Machine
    ghostwright: Summary
    naive: Summary | None
    ratios: Ratios | None


def first_line(text: str) -> str:
    """The first line of a suggestion, right-stripped: the part compared with the truth."""
    return text.split("\n", 1)[0].rstrip()


def summarize(targets: Sequence[str], attempts: Sequence[Attempt]) -> Summary:
    """Metrics of `attempts` against the true rests of line, position by position."""
    if len(targets) != len(attempts):
        raise ValueError(f"{len(targets)} targets but {len(attempts)} attempts")
    exact = 0
    similarities = []
    for target, attempt in zip(targets, attempts, strict=True):
        if attempt.shown is None:
            continue
        guess, truth = first_line(attempt.shown), target.rstrip()
        exact += guess == truth
        similarities.append(difflib.SequenceMatcher(None, guess, truth).ratio())
    positions, shown = len(attempts), len(similarities)
    latencies = [attempt.latency_ms for attempt in attempts]
    model_times = [attempt.model_ms for attempt in attempts if attempt.model_ms is not None]
    return Summary(
        positions=positions,
        shown=shown,
        exact=exact,
        shown_rate=shown / positions if positions else 0.0,
        precision=exact / shown if shown else None,
        exact_over_all=exact / positions if positions else 0.0,
        edit_similarity=sum(similarities) / shown if shown else None,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        model_p50_ms=percentile(model_times, 50),
    )


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or not theirs:
        return None
    return ours / theirs


def compare(ours: Summary, naive: Summary) -> Ratios:
    """Ghostwright over naive for the headline metrics; None where naive has nothing to divide."""
    return Ratios(
        precision=_ratio(ours.precision, naive.precision),
        exact_over_all=_ratio(ours.exact_over_all, naive.exact_over_all),
        latency_p50=_ratio(ours.latency_p50_ms, naive.latency_p50_ms),
        latency_p95=_ratio(ours.latency_p95_ms, naive.latency_p95_ms),
    )


def run_ghostwright(
    positions: Sequence[Position], settings: Settings, model_path: Path
) -> list[Attempt]:
    """Ask at each position what the editor would get there while typing: `Suggester.suggest`,
    the steps the server's `CompletionService` runs (gate, context from the document's tree,
    generation, parse check, the predictor's filter), in a fresh session each time."""
    from ghostwright.completion.pipeline import CompletionPipeline, CompletionRequest
    from ghostwright.completion.suggest import Suggester
    from ghostwright.engine.fim import model_family
    from ghostwright.engine.local import LocalEngine
    from ghostwright.predictor.decide import Judge
    from ghostwright.predictor.features import History
    from ghostwright.predictor.model import load_active

    engine = LocalEngine(model_path, settings)
    judge = Judge(load_active(model_family(model_path)), History, settings.predictor_threshold)
    suggester = Suggester(CompletionPipeline(settings), judge)
    try:
        warm_up = CompletionRequest("untitled:warm-up.py", 0, "python", _WARM_UP, len(_WARM_UP))
        suggester.suggest(engine, warm_up, None, invoked=True)
        attempts = []
        with progress("ghostwright", len(positions), unit="positions") as advance:
            for position in positions:
                attempts.append(_suggester_attempt(suggester, engine, position))
                advance(1)
    finally:
        engine.close()
    return attempts


def _suggester_attempt(suggester: Suggester, engine: Engine, position: Position) -> Attempt:
    """What is shown at one position, timed from the request on."""
    from ghostwright.completion.pipeline import CompletionRequest
    from ghostwright.syntax import SyntaxTree

    # The server keeps each open document's tree up to date edit by edit; the parse from
    # scratch here stands for that and is not charged to the request.
    tree = SyntaxTree(position.language, position.document)
    uri = position.file.resolve().as_uri()
    request = CompletionRequest(uri, 0, position.language, position.document, position.offset)
    answer = suggester.suggest(engine, request, tree)
    if not answer.shown:
        return Attempt(None, answer.total_ms, None)
    shown = answer.shown[0]
    return Attempt(shown.text, answer.total_ms, shown.model_ms, shown.score)


def run_naive(positions: Sequence[Position], settings: Settings, model_path: Path) -> list[Attempt]:
    """Ask the same model the plain way, with the same thread count as the pipeline's engine:
    a fill-in-the-middle model through the naive FIM integration (`naive.NaiveFim`, it sees
    the text after the cursor), any other with the text before the cursor alone."""
    from ghostwright_lab.bench.naive import naive_completer

    completer = naive_completer(model_path, settings.threads)

    def ask(position: Position) -> tuple[str, float | None]:
        result = completer.complete(position.prefix, position.document[position.offset :])
        return result.text, result.model_ms

    try:
        completer.complete(_WARM_UP, "\n")
        return _each(ask, positions)
    finally:
        completer.close()


def _each(
    ask: Callable[[Position], tuple[str, float | None]], positions: Sequence[Position]
) -> list[Attempt]:
    attempts = []
    with progress("naive", len(positions), unit="positions") as advance:
        for position in positions:
            attempts.append(_timed(ask, position))
            advance(1)
    return attempts


def _timed(ask: Callable[[Position], tuple[str, float | None]], position: Position) -> Attempt:
    """One naive answer with its latency (the model time is the latency where none is told)."""
    started = time.perf_counter()
    text, model_ms = ask(position)
    latency = (time.perf_counter() - started) * 1000.0
    shown = text if text.strip() else None
    return Attempt(shown, latency, latency if model_ms is None else model_ms)


def evaluate_completion(options: EvalOptions) -> EvalReport:
    """Pick the positions, run one side or both, and summarize."""
    from ghostwright.engine.models import resolve_model_path
    from ghostwright.settings import resolve_settings

    if options.n < 1:
        raise GhostwrightError(f"--n {options.n} asks for no positions: pass 1 or more.")
    if options.corpus is None and options.language != "python":
        from ghostwright_lab import corpora

        chosen = corpora.corpora(options.split, (options.language,))
        if not chosen:
            raise GhostwrightError(f"No {options.language} corpus in the {options.split} split.")
        corpus = corpora.corpus_root() / "sources"
        files = [path for source in chosen for path in corpora.corpus_files(source)]
    else:
        corpus = options.corpus or default_corpus()
        files = corpus_files(corpus, options.split)
    positions = pick_positions(files, options.n, options.seed)
    if not positions:
        raise GhostwrightError(f"No completion positions found in the {options.split} split.")
    settings = resolve_settings().settings
    model_path = resolve_model_path(settings)
    targets = [position.target for position in positions]
    log.info("asking Ghostwright at %d positions in %s", len(positions), corpus)
    ours = summarize(targets, run_ghostwright(positions, settings, model_path))
    naive = None
    if options.naive:
        log.info("asking the naive path at the same %d positions", len(positions))
        naive = summarize(targets, run_naive(positions, settings, model_path))
    return EvalReport(
        corpus=corpus,
        split=options.split,
        language=options.language,
        seed=options.seed,
        files_in_split=len(files),
        files_sampled=len({position.file for position in positions}),
        positions_by_kind=dict(Counter(position.kind for position in positions)),
        model=model_path,
        settings=settings,
        machine=Machine.current(),
        ghostwright=ours,
        naive=naive,
        ratios=compare(ours, naive) if naive is not None else None,
    )


def report_json(report: EvalReport) -> dict[str, object]:
    """The report as one JSON-ready object."""
    return {
        "corpus": str(report.corpus),
        "split": report.split,
        "language": report.language,
        "seed": report.seed,
        "files_in_split": report.files_in_split,
        "files_sampled": report.files_sampled,
        "positions_by_kind": dict(report.positions_by_kind),
        "model": str(report.model),
        "settings": dataclasses.asdict(report.settings),
        "machine": dataclasses.asdict(report.machine),
        "ghostwright": dataclasses.asdict(report.ghostwright),
        "naive": dataclasses.asdict(report.naive) if report.naive is not None else None,
        "ratios": dataclasses.asdict(report.ratios) if report.ratios is not None else None,
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100.0 * value:.1f} %"


def _milliseconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _plain(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


_ROWS: tuple[tuple[str, Callable[[Summary], str], Callable[[Ratios], float | None] | None], ...] = (
    ("positions", lambda side: str(side.positions), None),
    ("shown rate", lambda side: _percent(side.shown_rate), None),
    ("precision", lambda side: _percent(side.precision), lambda r: r.precision),
    ("exact over all", lambda side: _percent(side.exact_over_all), lambda r: r.exact_over_all),
    ("edit similarity (shown)", lambda side: _plain(side.edit_similarity), None),
    ("latency p50 (ms)", lambda side: _milliseconds(side.latency_p50_ms), lambda r: r.latency_p50),
    ("latency p95 (ms)", lambda side: _milliseconds(side.latency_p95_ms), lambda r: r.latency_p95),
    ("model p50 (ms)", lambda side: _milliseconds(side.model_p50_ms), None),
)
"""Table rows: label, how to show a side's value, and the ratio shown beside it, if any."""


def format_table(report: EvalReport) -> str:
    """A small aligned table, one column per side, ratios last when naive ran."""
    ours, naive, ratios = report.ghostwright, report.naive, report.ratios
    table = [["", "ghostwright"]]
    if naive is not None and ratios is not None:
        table[0] += ["naive", "ghostwright/naive"]
    for label, show, ratio_of in _ROWS:
        row = [label, show(ours)]
        if naive is not None and ratios is not None:
            row += [show(naive), _times(ratio_of(ratios)) if ratio_of else ""]
        table.append(row)
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]))]
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(report.positions_by_kind.items()))
    lines = [
        f"Completion eval ({report.language}): {ours.positions} positions in "
        f"{report.files_sampled} of {report.files_in_split} files ({report.split} split of "
        f"{report.corpus}, seed {report.seed})",
        f"Positions: {kinds}",
        f"Model {report.model.name}; {report.machine.cores} cores, {report.machine.platform}",
        "",
    ]
    for row in table:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
