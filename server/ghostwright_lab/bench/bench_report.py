"""The benchmark's report: figures over repeated runs, ratios, targets, plots, machine.

Every figure of `bench.summarize` is taken in each run; the report gives the median over the
runs and their range [min, max]. A ratio is taken in each run (Ghostwright's figure over the
contender's, from the same run) and reported the same way. Targets are judged on those medians.
Nothing here measures anything: it renders what `bench.run_bench` collected (every run's
figures also go to a JSON file beside the report).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghostwright_lab.bench.bench import (
    CONTENDERS,
    CONTEXT_SWEEP_LINES,
    BenchReport,
    ContenderSummary,
    RepeatResult,
    SweepPoint,
)
from ghostwright_lab.bench.replay import DEBOUNCE_S

log = logging.getLogger(__name__)

TITLES = {
    "ghostwright": "Ghostwright",
    "naive": "naive path",
    "stock": "stock server",
    "limit": "limit",
}
REPLAYED = frozenset({"ghostwright", "naive", "stock"})
"""Contenders an editor session ran against (the limit is computed, not replayed)."""
ALL = frozenset(CONTENDERS)

AFTER_REQUEST_P50 = "latency from the editor's request p50 (ms)"
AFTER_REQUEST_P95 = "latency from the editor's request p95 (ms)"
"""Latency with the editor's debounce left out: what the contender itself took."""

RSS_HEADROOM_BYTES = 300_000_000
"""The memory target: peak RSS under the model file's size plus this."""


@dataclass(frozen=True)
class Spread:
    """A figure over the runs: its median and range; None where no run had it."""

    median: float | None
    low: float | None
    high: float | None
    runs: int

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Spread:
        known = [value for value in values if value is not None]
        if not known:
            return cls(None, None, None, 0)
        return cls(statistics.median(known), min(known), max(known), len(known))


Getter = Callable[[ContenderSummary], float | None]


@dataclass(frozen=True)
class Row:
    label: str
    get: Getter
    digits: int
    applies: frozenset[str]
    unit: str = ""


def _share(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


def _per_100(count: int, total: int) -> float | None:
    return 100.0 * count / total if total else None


ROWS: tuple[Row, ...] = (
    Row("requests", lambda s: s.requests, 0, REPLAYED),
    Row("cancelled by the editor (superseded)", lambda s: s.cancelled, 0, REPLAYED),
    Row("errors", lambda s: s.errors, 0, REPLAYED),
    Row("answers holding a suggestion", lambda s: s.suggestions, 0, ALL),
    Row("suggestions shown (answered before the next key)", lambda s: s.shown, 0, REPLAYED),
    Row("suggestions shown per 100 requests", lambda s: _per_100(s.shown, s.requests), 1, REPLAYED),
    Row("accepted", lambda s: s.accepts, 0, REPLAYED),
    Row("keystrokes saved per 100 typed", lambda s: s.saved_per_100, 1, REPLAYED),
    Row("latency p50 (ms)", lambda s: s.latency_p50_ms, 0, ALL),
    Row("latency p95 (ms)", lambda s: s.latency_p95_ms, 0, ALL),
    Row("latency p50, answers the model computed (ms)", lambda s: s.model_answer_p50_ms, 0, ALL),
    Row("latency p95, answers the model computed (ms)", lambda s: s.model_answer_p95_ms, 0, ALL),
    Row(AFTER_REQUEST_P50, lambda s: s.after_request_p50_ms, 1, ALL),
    Row(AFTER_REQUEST_P95, lambda s: s.after_request_p95_ms, 1, ALL),
    Row("model time p50 (ms)", lambda s: s.model_p50_ms, 0, ALL),
    Row("model time p95 (ms)", lambda s: s.model_p95_ms, 0, ALL),
    Row("overhead p50 (ms)", lambda s: s.overhead_p50_ms, 1, REPLAYED),
    Row("overhead p95 (ms)", lambda s: s.overhead_p95_ms, 1, REPLAYED),
    Row("overhead inside the server p50 (ms)", lambda s: s.server_overhead_p50_ms, 1, REPLAYED),
    Row("answered without the model", lambda s: _share(s.without_model_share), 1, REPLAYED, " %"),
    Row("prompt tokens per model run", lambda s: s.prompt_tokens_mean, 0, ALL),
    Row("tokens evaluated per model run", lambda s: s.evaluated_tokens_mean, 0, ALL),
    Row("evaluated / prompt tokens", lambda s: s.evaluated_share, 2, ALL),
    Row("peak RSS (MiB)", lambda s: s.peak_rss_mib, 0, REPLAYED),
    Row("wall time (s)", lambda s: s.wall_s, 0, ALL),
)

HEADLINE = (
    "latency p50 (ms)",
    "latency p95 (ms)",
    AFTER_REQUEST_P50,
    "latency p50, answers the model computed (ms)",
    "suggestions shown per 100 requests",
    "overhead p50 (ms)",
    "answered without the model",
    "tokens evaluated per model run",
    "keystrokes saved per 100 typed",
    "peak RSS (MiB)",
)

RATIO_ROWS = (
    "latency p50 (ms)",
    "latency p95 (ms)",
    AFTER_REQUEST_P50,
    AFTER_REQUEST_P95,
    "latency p50, answers the model computed (ms)",
    "latency p95, answers the model computed (ms)",
    "suggestions shown per 100 requests",
    "tokens evaluated per model run",
    "keystrokes saved per 100 typed",
    "peak RSS (MiB)",
)
"""Figures given as Ghostwright / contender (below 1: Ghostwright's is smaller)."""


def _row(label: str) -> Row:
    return next(row for row in ROWS if row.label == label)


def figure(report: BenchReport, name: str, get: Getter) -> Spread:
    """One figure of one contender over the runs."""
    values: list[float | None] = []
    for repeat in report.repeats:
        summary = repeat.contender(name)
        values.append(get(summary) if summary is not None else None)
    return Spread.of(values)


def _divide(ours: float | None, theirs: float | None) -> float | None:
    return ours / theirs if ours is not None and theirs else None


def ratio(report: BenchReport, name: str, get: Getter) -> Spread:
    """Ghostwright's figure over `name`'s, run by run."""
    values: list[float | None] = []
    for repeat in report.repeats:
        ours, theirs = repeat.contender("ghostwright"), repeat.contender(name)
        if ours is None or theirs is None:
            values.append(None)
        else:
            values.append(_divide(get(ours), get(theirs)))
    return Spread.of(values)


def contenders(report: BenchReport) -> list[str]:
    """The contenders this run has, in the report's order."""
    present = {summary.name for repeat in report.repeats for summary in repeat.contenders}
    return [name for name in CONTENDERS if name in present]


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def show(spread: Spread, digits: int, unit: str = "") -> str:
    """`median [low, high]`, or just the median for one run; "-" for nothing."""
    if spread.median is None:
        return "-"
    text = _number(spread.median, digits) + unit
    if spread.runs > 1:
        text += f" [{_number(spread.low, digits)}, {_number(spread.high, digits)}]"
    return text


def _significant(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def show_ratio(spread: Spread, unit: str = "") -> str:
    """A ratio to three significant digits, with its range over the runs."""
    if spread.median is None:
        return "-"
    text = _significant(spread.median) + unit
    if spread.runs > 1:
        text += f" [{_significant(spread.low)}, {_significant(spread.high)}]"
    return text


# -- sweeps -------------------------------------------------------------------------------------


def _sweep(repeat: RepeatResult, kind: str) -> tuple[SweepPoint, ...]:
    return repeat.sizes if kind == "sizes" else repeat.contexts


def sweep_values(report: BenchReport, kind: str) -> list[int]:
    return sorted({point.value for repeat in report.repeats for point in _sweep(repeat, kind)})


def sweep_figure(report: BenchReport, kind: str, value: int, get: Getter) -> Spread:
    values: list[float | None] = []
    for repeat in report.repeats:
        point = next((p for p in _sweep(repeat, kind) if p.value == value), None)
        values.append(get(point.summary) if point is not None else None)
    return Spread.of(values)


def sweep_ratio(report: BenchReport, kind: str, value: int, base: int, get: Getter) -> Spread:
    """The figure at `value` over the figure at `base`, run by run."""
    values: list[float | None] = []
    for repeat in report.repeats:
        points = {p.value: p.summary for p in _sweep(repeat, kind)}
        if value in points and base in points:
            values.append(_divide(get(points[value]), get(points[base])))
        else:
            values.append(None)
    return Spread.of(values)


# -- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One of the issue's targets and whether this run met it."""

    goal: str
    measured: str
    met: bool | None
    """None: not measured in this run."""


def _lower_by(report: BenchReport, name: str, get: Getter) -> Spread:
    """How many times lower Ghostwright's figure is than `name`'s, run by run."""
    values: list[float | None] = []
    for repeat in report.repeats:
        ours, theirs = repeat.contender("ghostwright"), repeat.contender(name)
        if ours is None or theirs is None:
            values.append(None)
        else:
            values.append(_divide(get(theirs), get(ours)))
    return Spread.of(values)


def _megabytes(mebibytes: float | None) -> float | None:
    return None if mebibytes is None else mebibytes * 1.048576


def _at_least(times: float) -> Callable[[float], bool]:
    return lambda value: value >= times


def _judge(spread: Spread, passes: Callable[[float], bool]) -> bool | None:
    return None if spread.median is None else passes(spread.median)


def targets(report: BenchReport) -> list[Target]:
    """Each target with its number from this run (medians over the runs).

    Latency targets are judged on the latency from the last key, the editor's debounce
    included; the ratio from the editor's request on is shown beside it, not judged.
    """
    found = []
    for name in ("naive", "stock"):
        for label, get, after_request, times in (
            ("p50", _row("latency p50 (ms)").get, _row(AFTER_REQUEST_P50).get, 3.0),
            ("p95", _row("latency p95 (ms)").get, _row(AFTER_REQUEST_P95).get, 2.0),
        ):
            lower = _lower_by(report, name, get)
            lower_after_request = _lower_by(report, name, after_request)
            found.append(
                Target(
                    f"latency {label} at least {times:g}x lower than the {TITLES[name]}",
                    f"{show_ratio(lower, 'x lower')}; from the editor's request on: "
                    f"{show_ratio(lower_after_request, 'x lower')}",
                    _judge(lower, _at_least(times)),
                )
            )
    overhead = figure(report, "ghostwright", lambda s: s.overhead_p50_ms)
    inside = figure(report, "ghostwright", lambda s: s.server_overhead_p50_ms)
    found.append(
        Target(
            "overhead under 3 ms p50",
            f"{show(overhead, 1)} ms end to end ({show(inside, 1)} ms inside the server)",
            _judge(overhead, lambda value: value < 3.0),
        )
    )
    without = figure(report, "ghostwright", lambda s: _share(s.without_model_share))
    found.append(
        Target(
            "at least 30 % of requests answered without the model",
            f"{show(without, 1)} %",
            _judge(without, lambda value: value >= 30.0),
        )
    )
    evaluated = figure(report, "ghostwright", lambda s: s.evaluated_share)
    found.append(
        Target(
            "tokens evaluated per request at most a quarter of the prompt on average",
            show_ratio(evaluated),
            _judge(evaluated, lambda value: value <= 0.25),
        )
    )
    sizes = sweep_values(report, "sizes")
    if 200 in sizes and 20000 in sizes:
        growth = sweep_ratio(report, "sizes", 20000, 200, lambda s: s.latency_p50_ms)
        measured = show_ratio(growth, "x")
    else:
        growth, measured = Spread(None, None, None, 0), "not measured (needs --sizes 200,20000)"
    found.append(
        Target(
            "latency p50 at 20,000 lines within 1.2x of 200 lines",
            measured,
            _judge(growth, lambda value: value <= 1.2),
        )
    )
    limit_mb = (report.model_bytes + RSS_HEADROOM_BYTES) / 1e6
    rss_mb = figure(report, "ghostwright", lambda s: _megabytes(s.peak_rss_mib))
    found.append(
        Target(
            f"peak RSS under model size + 300 MB ({limit_mb:,.0f} MB)",
            f"{show(rss_mb, 0)} MB",
            _judge(rss_mb, lambda value: value < limit_mb),
        )
    )
    return found


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("met" if met else "not met")


# -- text ---------------------------------------------------------------------------------------


def _markdown_table(rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return lines


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines


def figures_rows(report: BenchReport, labels: Sequence[str] | None = None) -> list[list[str]]:
    names = contenders(report)
    rows = [["", *(TITLES[name] for name in names)]]
    chosen = ROWS if labels is None else [_row(label) for label in labels]
    for row in chosen:
        cells = [
            show(figure(report, name, row.get), row.digits, row.unit) if name in row.applies else ""
            for name in names
        ]
        rows.append([row.label, *cells])
    return rows


def ratio_rows(report: BenchReport) -> list[list[str]]:
    others = [name for name in contenders(report) if name != "ghostwright"]
    rows = [["Ghostwright / ...", *(TITLES[name] for name in others)]]
    for label in RATIO_ROWS:
        row = _row(label)
        cells = [
            show_ratio(ratio(report, name, row.get)) if name in row.applies else ""
            for name in others
        ]
        rows.append([label, *cells])
    return rows


def size_rows(report: BenchReport) -> list[list[str]]:
    values = sweep_values(report, "sizes")
    if not values:
        return []
    rows = [
        [
            "document lines",
            "latency p50 (ms)",
            "latency p95 (ms)",
            "overhead p50 (ms)",
            "tokens evaluated",
            "p50 / smallest",
        ]
    ]
    for value in values:
        rows.append(
            [
                f"{value:,}",
                show(sweep_figure(report, "sizes", value, lambda s: s.latency_p50_ms), 0),
                show(sweep_figure(report, "sizes", value, lambda s: s.latency_p95_ms), 0),
                show(sweep_figure(report, "sizes", value, lambda s: s.overhead_p50_ms), 1),
                show(sweep_figure(report, "sizes", value, lambda s: s.evaluated_tokens_mean), 0),
                show_ratio(
                    sweep_ratio(report, "sizes", value, values[0], lambda s: s.latency_p50_ms)
                ),
            ]
        )
    return rows


def context_rows(report: BenchReport) -> list[list[str]]:
    values = sweep_values(report, "contexts")
    if not values:
        return []
    rows = [
        [
            "prefixTokens",
            "prompt tokens",
            "tokens evaluated",
            "model time p50 (ms)",
            "latency p50 (ms)",
            "latency p95 (ms)",
            "without the model",
        ]
    ]
    for value in values:

        def cell(get: Getter, digits: int, unit: str = "", value: int = value) -> str:
            return show(sweep_figure(report, "contexts", value, get), digits, unit)

        rows.append(
            [
                f"{value:,}",
                cell(lambda s: s.prompt_tokens_mean, 0),
                cell(lambda s: s.evaluated_tokens_mean, 0),
                cell(lambda s: s.model_p50_ms, 0),
                cell(lambda s: s.latency_p50_ms, 0),
                cell(lambda s: s.latency_p95_ms, 0),
                cell(lambda s: _share(s.without_model_share), 1, " %"),
            ]
        )
    return rows


def target_rows(report: BenchReport) -> list[list[str]]:
    return [
        ["target", "measured", ""],
        *([t.goal, t.measured, _verdict(t.met)] for t in targets(report)),
    ]


def _trace_lines(report: BenchReport) -> list[str]:
    return [
        f"{t.file}:{t.first_line}-{t.first_line + t.lines - 1}: {t.chars} chars, {t.keys} keys, "
        f"{t.corrections} corrections, {t.duration_s:.0f} s of typing, "
        f"in a document of {t.document_lines} lines"
        for t in report.traces
    ]


def _runs_phrase(report: BenchReport) -> str:
    runs = len(report.repeats)
    if runs == 1:
        return "One run: each figure is that run's."
    return (
        f"{runs} runs: each figure is the median of the runs' values, with their range "
        "[min, max]; ratios are taken run by run."
    )


def format_table(report: BenchReport) -> str:
    """The headline figures, ratios and targets as aligned plain text, for the terminal."""
    machine = report.machine
    lines = [
        f"Replay bench ({report.command})",
        f"{machine.device}, {machine.cores} cores, {machine.cpu}; model {report.model.name}",
        _runs_phrase(report),
        *(f"  {line}" for line in _trace_lines(report)),
        "",
        *_aligned(figures_rows(report, HEADLINE)),
        "",
        *_aligned(ratio_rows(report)),
        "",
    ]
    if size_rows(report):
        lines += ["Cost vs document size (Ghostwright):", *_aligned(size_rows(report)), ""]
    if context_rows(report):
        lines += [
            f"Cost vs context size (Ghostwright, {CONTEXT_SWEEP_LINES}-line documents):",
            *_aligned(context_rows(report)),
            "",
        ]
    lines += [*_aligned(target_rows(report)), ""]
    lines += report.notes
    lines.append(f"total wall time {report.wall_s:.1f} s")
    return "\n".join(lines)


def format_markdown(report: BenchReport, plots: Sequence[tuple[str, str]] = ()) -> str:
    """The report: headline, targets, machine, traces, every figure, sweeps, plots, method.

    `plots` are (title, path relative to the report) of the images written beside it.
    """
    machine = report.machine
    device = machine.device + (f" ({machine.gpu})" if machine.gpu else "")
    settings = ", ".join(f"{name} = {value}" for name, value in report.settings.items())
    images = [f"![{title}]({path})" for title, path in plots]
    sections = [
        f"# Ghostwright benchmark: replayed editing sessions ({machine.device})",
        "",
        "Generated by `ghostwright bench` (`make bench`); do not edit by hand, run it again. "
        f"Taken at {report.timestamp}, {report.wall_s / 60:.0f} min of wall time in all. "
        + _runs_phrase(report),
        "",
        "## Headline",
        "",
        *_markdown_table(figures_rows(report, HEADLINE)),
        "",
        "Ghostwright's figure over each contender's (below 1: Ghostwright's is smaller):",
        "",
        *_markdown_table(ratio_rows(report)),
        "",
        "## Targets",
        "",
        *_markdown_table(target_rows(report)),
        "",
        "## Machine and command",
        "",
        f"- device: {device}; llama-cpp-python {machine.llama_cpp_python}",
        f"- llama.cpp build: `{machine.system_info}`",
        f"- CPU: {machine.cpu}, {machine.cores} cores; {machine.platform}, Python {machine.python}",
        f"- llama.cpp threads: {machine.generation_threads} for token generation and"
        f" {machine.prompt_threads} for prompt evaluation in Ghostwright, the naive path and the"
        f" stock server; {machine.prompt_threads} for both in the limit, which runs alone",
        f"- model: `{report.model.name}` ({report.model_bytes / 1e6:.1f} MB)",
        f"- Ghostwright settings: defaults{' except ' + settings if settings else ''}",
        f"- command: `{report.command}`",
        "",
        "## What the simulated person wrote",
        "",
        *(f"- `{line}`" for line in _trace_lines(report)),
        "",
        "## Every figure",
        "",
        *_markdown_table(figures_rows(report)),
        "",
    ]
    if size_rows(report):
        sections += [
            "## Cost vs document size",
            "",
            "Ghostwright, the same typing in documents resized to each line count:",
            "",
            *_markdown_table(size_rows(report)),
            "",
        ]
    if context_rows(report):
        sections += [
            "## Cost vs context size",
            "",
            f"Ghostwright, the same typing in {CONTEXT_SWEEP_LINES:,}-line documents with each "
            "`prefixTokens` setting:",
            "",
            *_markdown_table(context_rows(report)),
            "",
        ]
    if images:
        sections += ["## Plots", "", *(f"{image}\n" for image in images)]
    sections += [
        "## How it is measured",
        "",
        *METHOD,
        "",
        "## Notes",
        "",
        *(f"- {note}" for note in report.notes),
        "",
    ]
    return "\n".join(sections)


METHOD = (
    "- A simulated person types a function of a real standard-library file (held-out packages) "
    "top to bottom: lognormal gaps, a pause before Enter and a longer one before a line's first "
    "key, auto-indentation, typos corrected with backspace. The editor sends one change per key, "
    f"asks after {DEBOUNCE_S * 1000:.0f} ms without a key, cancels the open request when a key "
    "comes, and accepts a suggestion on screen when it (or its first line) is what the person "
    "types next, skipping those keys.",
    "- Ghostwright: the real server over stdio (LSP), defaults, a fresh config and data "
    "directory. Naive path: the same model through llama-cpp-python's `create_completion`, the "
    "last 4,096 characters as the prompt, greedy, one line (for a fill-in-the-middle model the "
    "naive FIM integration: its FIM tokens around the last 2,000 characters before the cursor "
    "and the next 1,000 after it); it blocks the editor while it computes. Stock server: "
    "`python -m llama_cpp.server` on loopback with the naive path's "
    "prompts over streaming `/v1/completions`, the stream closed when a request is superseded. "
    "Limit: for each answer Ghostwright's model computed (every finished generation, those "
    "carried on into the cache after the editor cancelled their request included), llama.cpp's "
    "own time to evaluate the prompt tokens that were not in the KV cache (one batch) and the "
    "generated tokens (one by one), on Ghostwright's engine settings, plus the editor's "
    "debounce.",
    "- Latency: last key to the answer holding a suggestion, the editor's debounce included; "
    "a request the editor cancelled (a key came first) has none, so a contender that is often "
    "too slow shows few, fast answers: read latency with the suggestions shown per 100 "
    "requests and the keystrokes saved. Latency from the editor's request: the same with the "
    "editor's wait left out (the debounce, or longer where the naive path blocked the editor), "
    "what the contender itself took; the targets are judged on latency from the last key. "
    "Overhead: request sent to answer, minus the model time and Ghostwright's deliberate "
    "(adaptive debounce) wait. Model time: Ghostwright's event trace, llama.cpp's timings "
    "elsewhere (the stock server's from its own stderr). Answered without the model: from "
    "the cache, from a running generation (nothing, where the predictor hid what it joined), "
    "or skipped by the gate, over the requests answered. Tokens: per model run (Ghostwright: "
    "every generation its event trace reports), evaluated = prompt - "
    "reused from the KV cache. Peak RSS: VmHWM of the "
    "server process (for the naive path, of the fresh process it ran in). See "
    "`server/ghostwright_lab/bench/bench.py` for every definition.",
)


# -- plots --------------------------------------------------------------------------------------


def _pooled(report: BenchReport, name: str) -> list[float]:
    return sorted(value for repeat in report.repeats for value in repeat.latencies.get(name, ()))


def write_plots(report: BenchReport, directory: Path, prefix: str) -> list[tuple[str, Path]]:
    """PNG plots (matplotlib, Agg): latency CDF per contender, latency vs size and vs context.

    Returns (title, path) of each image written; none when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: no plots (pip install 'ghostwright[plot]')")
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written: list[tuple[str, Path]] = []
    figure_, axes = plt.subplots(figsize=(7, 4.5))
    for name in contenders(report):
        latencies = _pooled(report, name)
        if latencies:
            shares = [index / len(latencies) for index in range(len(latencies) + 1)]
            label = f"{TITLES[name]} ({len(latencies)} answers)"
            axes.step([latencies[0], *latencies], shares, where="post", label=label)
    axes.set_xscale("log")
    axes.set_xlabel("keystroke to suggestion (ms, log scale)")
    axes.set_ylabel("share of answers")
    axes.set_ylim(0, 1.02)
    axes.set_title(f"Latency distribution, all runs pooled ({report.machine.device})")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    path = directory / f"{prefix}-latency-cdf.png"
    figure_.tight_layout()
    figure_.savefig(path, dpi=110)
    plt.close(figure_)
    written.append(("Latency distribution per contender", path))
    for kind, xlabel, title in (
        ("sizes", "document lines (log scale)", "Latency vs document size"),
        ("contexts", "prefixTokens", "Latency vs context size"),
    ):
        values = sweep_values(report, kind)
        if not values:
            continue
        figure_, axes = plt.subplots(figsize=(7, 4.5))
        for label, get in (
            ("p50", lambda s: s.latency_p50_ms),
            ("p95", lambda s: s.latency_p95_ms),
        ):
            spreads = [sweep_figure(report, kind, value, get) for value in values]
            points = [(v, s) for v, s in zip(values, spreads, strict=True) if s.median is not None]
            if not points:
                continue
            medians = [s.median or 0.0 for _, s in points]
            below = [m - (s.low or m) for m, (_, s) in zip(medians, points, strict=True)]
            above = [(s.high or m) - m for m, (_, s) in zip(medians, points, strict=True)]
            axes.errorbar(
                [v for v, _ in points], medians, yerr=[below, above], marker="o", capsize=4,
                label=f"Ghostwright latency {label}",
            )  # fmt: skip
        if kind == "sizes":
            axes.set_xscale("log")
        axes.set_xticks(values, [f"{value:,}" for value in values])
        axes.minorticks_off()
        axes.set_ylim(bottom=0)
        axes.set_xlabel(xlabel)
        axes.set_ylabel("keystroke to suggestion (ms)")
        axes.set_title(f"{title} (median and range of the runs, {report.machine.device})")
        axes.grid(True, alpha=0.3)
        axes.legend()
        path = directory / f"{prefix}-latency-vs-{'size' if kind == 'sizes' else 'context'}.png"
        figure_.tight_layout()
        figure_.savefig(path, dpi=110)
        plt.close(figure_)
        written.append((title, path))
    return written


# -- files --------------------------------------------------------------------------------------


def report_json(report: BenchReport) -> dict[str, Any]:
    """The report as one JSON-ready object: every run's figures, and the aggregates."""
    payload = dataclasses.asdict(report)
    payload["options"]["out"] = str(report.options.out)
    payload["model"] = str(report.model)
    payload["aggregate"] = {
        "contenders": {
            name: {
                row.label: dataclasses.asdict(figure(report, name, row.get))
                for row in ROWS
                if name in row.applies
            }
            for name in contenders(report)
        },
        "ratios": {
            name: {
                label: dataclasses.asdict(ratio(report, name, _row(label).get))
                for label in RATIO_ROWS
            }
            for name in contenders(report)
            if name != "ghostwright"
        },
        "targets": [dataclasses.asdict(target) for target in targets(report)],
    }
    return payload


def report_name(report: BenchReport) -> str:
    """`report.md` for the CPU, `report-<device>.md` beside it for a GPU backend."""
    slug = report.machine.slug
    return "report.md" if slug == "cpu" else f"report-{slug}.md"


def write_report(report: BenchReport, out: Path) -> list[Path]:
    """`<out>/report[-<device>].md`, its plots under `<out>/plots/`, and the JSON of the run
    under `<out>/results/`; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    slug = report.machine.slug
    plots = write_plots(report, out / "plots", slug)
    results = out / "results"
    results.mkdir(exist_ok=True)
    json_path = results / f"{report.timestamp}-{slug}.json"
    json_path.write_text(json.dumps(report_json(report), indent=2) + "\n", encoding="utf-8")
    markdown_path = out / report_name(report)
    relative = [(title, path.relative_to(out).as_posix()) for title, path in plots]
    markdown_path.write_text(format_markdown(report, relative), encoding="utf-8")
    return [markdown_path, *(path for _, path in plots), json_path]
