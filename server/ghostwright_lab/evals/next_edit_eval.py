"""`ghostwright eval next-edit`: do proposed next edits match what the authors did next?

Tasks come from real history (`edit_tasks`): the next hunks of a file between two releases of
a package, and renames of real locals at their binding. Ghostwright's proposals are made by the
same pieces the server runs (`edits.propose`, `edits.model`, `edits.proposal`, the next-edit
predictor), without the settle wait; the naive baseline is the same model asked to rewrite the
same window with no history and no verification (`model_proposal(with_history=False)`).

Measured per contender, and for Ghostwright per source:
- verified (Ghostwright, per source): proposals that passed verification, and how many of them
  were right, before the predictor;
- shown: proposals offered (after verification and the predictor, for Ghostwright);
- hits: shown proposals whose result equals the text with the later hunks they touch applied
  (exact), and the mean edit similarity of that region (difflib ratio) over shown proposals;
- hit rate (hits over tasks) and precision (hits over shown);
- latency p50/p95 of the whole decision per task, and of each source's step;
- for renames, edits outside the binding's references (must be zero).
"""

from __future__ import annotations

import difflib
import json
import os
import platform
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ghostwright.documents import Edit
from ghostwright.edits.history import EditHistory
from ghostwright.edits.judge import NextEditPredictor, features_of
from ghostwright.edits.model import model_proposal
from ghostwright.edits.proposal import Proposal
from ghostwright.edits.propose import (
    DETERMINISTIC_SOURCES,
    deterministic_proposals,
    first_verified,
)
from ghostwright.engine.base import Engine
from ghostwright.progress import progress
from ghostwright.repair.verify import TextChange
from ghostwright.syntax import SyntaxTree
from ghostwright_lab.edit_tasks import (
    EditTask,
    history_tasks,
    python_files,
    release_files,
    rename_tasks,
)
from ghostwright_lab.stats import percentile

_URI = "file:///eval.py"


@dataclass
class SourceStats:
    verified: int = 0
    """Proposals that passed verification (before the predictor)."""
    verified_hits: int = 0
    shown: int = 0
    hits: int = 0
    latencies_ms: list[float] = field(default_factory=list)


@dataclass
class ContenderStats:
    tasks: int = 0
    shown: int = 0
    hits: int = 0
    similarity: float = 0.0
    outside_edits: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    sources: dict[str, SourceStats] = field(default_factory=dict)

    def source(self, name: str) -> SourceStats:
        return self.sources.setdefault(name, SourceStats())

    def as_dict(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "shown": self.shown,
            "hits": self.hits,
            "hit_rate": _ratio(self.hits, self.tasks),
            "precision": _ratio(self.hits, self.shown),
            "similarity": _ratio(self.similarity, self.shown),
            "outside_edits": self.outside_edits,
            "latency_p50_ms": percentile(self.latencies_ms, 50),
            "latency_p95_ms": percentile(self.latencies_ms, 95),
            "sources": {
                name: {
                    "verified": stats.verified,
                    "verified_hits": stats.verified_hits,
                    "shown": stats.shown,
                    "hits": stats.hits,
                    "precision": _ratio(stats.hits, stats.shown),
                    "latency_p50_ms": percentile(stats.latencies_ms, 50),
                    "latency_p95_ms": percentile(stats.latencies_ms, 95),
                }
                for name, stats in sorted(self.sources.items())
            },
        }


@dataclass(frozen=True)
class NextEditOptions:
    split: str = "validation"
    kinds: tuple[str, ...] = ("history", "rename")
    renames: int = 100
    corpus: Path | None = None
    """Python files for the rename tasks instead of the split's (held-out checks, tests)."""
    limit: int | None = None
    """Most history tasks (the first ones, in order); None: all."""
    seed: int = 0
    naive: bool = True
    rows: Path | None = None
    """Write one JSON line per verified proposal (features, label) for `train next-edit`."""
    predictor: NextEditPredictor | None = None


@dataclass
class NextEditReport:
    split: str
    model: str | None
    machine: str
    tasks: dict[str, int]
    ghostwright: dict[str, ContenderStats]
    naive: dict[str, ContenderStats]


def evaluate_next_edits(
    options: NextEditOptions, engine: Engine | None, model_name: str | None
) -> NextEditReport:
    tasks: dict[str, list[EditTask]] = {}
    if "history" in options.kinds:
        tasks["history"] = history_tasks(options.split)[: options.limit]
    if "rename" in options.kinds:
        files = (
            python_files(options.corpus)
            if options.corpus is not None
            else _rename_files(options.split)
        )
        tasks["rename"] = rename_tasks(files, options.renames, options.seed)
    rows = options.rows.open("w", encoding="utf-8") if options.rows is not None else None
    ours: dict[str, ContenderStats] = {}
    naive: dict[str, ContenderStats] = {}
    try:
        for kind, kind_tasks in tasks.items():
            ours[kind] = ContenderStats()
            with progress(f"ghostwright {kind}", len(kind_tasks), unit="tasks") as advance:
                for task in kind_tasks:
                    _run_ghostwright(task, engine, options.predictor, ours[kind], rows)
                    advance(1)
            if options.naive and engine is not None and kind == "history":
                naive[kind] = ContenderStats()
                with progress(f"naive {kind}", len(kind_tasks), unit="tasks") as advance:
                    for task in kind_tasks:
                        _run_naive(task, engine, naive[kind])
                        advance(1)
    finally:
        if rows is not None:
            rows.close()
    return NextEditReport(
        split=options.split,
        model=model_name,
        machine=f"{os.cpu_count()} cores, {platform.platform()}",
        tasks={kind: len(kind_tasks) for kind, kind_tasks in tasks.items()},
        ghostwright=ours,
        naive=naive,
    )


def _rename_files(split: str) -> list[tuple[str, str, str]]:
    """Tune: the standard library's `json`, `email` and `logging` packages; validation: the
    held-out releases."""
    if split == "validation":
        return release_files("validation")
    import logging as stdlib_logging

    root = Path(stdlib_logging.__file__).parent.parent
    return [file for name in ("json", "email", "logging") for file in python_files(root / name)]


def _replay(task: EditTask) -> EditHistory:
    history = EditHistory()
    for step, (start, deleted, inserted) in enumerate(task.replayed):
        # Ten seconds apart: each replayed hunk stays a hunk of its own.
        history.record(_URI, [Edit(start, len(deleted), inserted, deleted)], step * 10.0)
    return history


def _run_ghostwright(
    task: EditTask,
    engine: Engine | None,
    predictor: NextEditPredictor | None,
    stats: ContenderStats,
    rows: Any,
) -> None:
    started = time.perf_counter()
    tree = SyntaxTree("python", task.text)
    hunks = _replay(task).hunks(_URI)
    if not hunks:
        return
    last = hunks[-1]
    proposal: Proposal | None = None
    for source in DETERMINISTIC_SOURCES:
        step = time.perf_counter()
        proposal, _ = first_verified(tree, deterministic_proposals(tree, last, [source]), last)
        stats.source(source).latencies_ms.append((time.perf_counter() - step) * 1000.0)
        if proposal is not None:
            break
    if proposal is None and engine is not None:
        step = time.perf_counter()
        candidate = model_proposal(engine, task.path, task.text, hunks, threading.Event())
        if candidate is not None:
            proposal, _ = first_verified(tree, [candidate], last)
        stats.source("model").latencies_ms.append((time.perf_counter() - step) * 1000.0)
    stats.tasks += 1
    shown = proposal is not None
    if proposal is not None:
        features = features_of(task.text, proposal, task.cursor, hunks)
        exact, similarity, outside = judge_proposal(task, proposal)
        if rows is not None:
            row = {"kind": task.kind, "source": proposal.source, "label": int(exact)}
            rows.write(json.dumps({**row, "features": asdict(features)}) + "\n")
        if predictor is not None and predictor.score(features) < predictor.threshold:
            shown = False
    stats.latencies_ms.append((time.perf_counter() - started) * 1000.0)
    if proposal is None:
        return
    by_source = stats.source(proposal.source)
    by_source.verified += 1
    by_source.verified_hits += exact
    if not shown:
        return
    stats.shown += 1
    by_source.shown += 1
    stats.hits += exact
    by_source.hits += exact
    stats.similarity += similarity
    stats.outside_edits += outside


def _run_naive(task: EditTask, engine: Engine, stats: ContenderStats) -> None:
    started = time.perf_counter()
    hunks = _replay(task).hunks(_URI)
    proposal = model_proposal(
        engine, task.path, task.text, hunks, threading.Event(), with_history=False
    )
    stats.latencies_ms.append((time.perf_counter() - started) * 1000.0)
    stats.tasks += 1
    if proposal is None:
        return
    exact, similarity, _ = judge_proposal(task, proposal)
    stats.shown += 1
    stats.hits += exact
    stats.similarity += similarity


def _apply(text: str, changes: Iterable[TextChange]) -> str:
    return Proposal("target", tuple(sorted(changes, key=lambda c: c.start)), "").apply(text)


def _lines(text: str, changes: Sequence[TextChange]) -> set[int]:
    return {
        line
        for change in changes
        for line in range(text.count("\n", 0, change.start), text.count("\n", 0, change.end) + 1)
    }


def judge_proposal(task: EditTask, proposal: Proposal) -> tuple[bool, float, int]:
    """(exact hit, edit similarity of the changed region, edits outside every target)."""
    text = task.text
    proposed_lines = _lines(text, proposal.changes)
    touched = [t for t in task.targets if _lines(text, t) & proposed_lines]
    wanted = {change for target in task.targets for change in target}
    outside = sum(1 for change in proposal.changes if change not in wanted)
    if not touched:
        return False, 0.0, outside
    expected = _apply(text, [change for target in touched for change in target])
    got = proposal.apply(text)
    if got == expected:
        return True, 1.0, outside
    starts = [c.start for c in proposal.changes] + [c.start for t in touched for c in t]
    ends = [c.end for c in proposal.changes] + [c.end for t in touched for c in t]
    head = text.rfind("\n", 0, min(starts)) + 1
    tail_at = text.find("\n", max(ends))
    tail = 0 if tail_at < 0 else len(text) - tail_at
    ratio = difflib.SequenceMatcher(
        None, got[head : len(got) - tail], expected[head : len(expected) - tail], autojunk=False
    ).ratio()
    return False, ratio, outside


def _ratio(part: float, whole: int) -> float | None:
    return part / whole if whole else None


def report_json(report: NextEditReport) -> dict[str, Any]:
    return {
        "split": report.split,
        "model": report.model,
        "machine": report.machine,
        "tasks": report.tasks,
        "ghostwright": {kind: stats.as_dict() for kind, stats in report.ghostwright.items()},
        "naive": {kind: stats.as_dict() for kind, stats in report.naive.items()},
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def format_table(report: NextEditReport) -> str:
    lines = [
        f"Next-edit eval ({report.split} split), model {report.model or 'none'}; {report.machine}",
        "Tasks: " + ", ".join(f"{n} {kind}" for kind, n in report.tasks.items()),
        "",
        "| tasks | contender | source | verified (hits) | shown | hits | hit rate | precision "
        "| similarity | p50 ms | p95 ms | outside edits |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, stats in report.ghostwright.items():
        rows = [("ghostwright", "all", stats.as_dict())]
        for name, source in stats.as_dict()["sources"].items():
            rows.append(("ghostwright", name, source))
        if kind in report.naive:
            rows.append(("naive", "model", report.naive[kind].as_dict()))
        for contender, source_name, data in rows:
            whole = source_name == "all" or contender == "naive"
            verified = f"{data['verified']} ({data['verified_hits']})" if "verified" in data else ""
            lines.append(
                f"| {kind} | {contender} | {source_name} | {verified} | {data['shown']} | "
                f"{data['hits']} | "
                f"{_percent(data.get('hit_rate')) if whole else ''} | "
                f"{_percent(data['precision'])} | "
                f"{_percent(data.get('similarity')) if whole else ''} | "
                f"{_ms(data['latency_p50_ms'])} | {_ms(data['latency_p95_ms'])} | "
                f"{data.get('outside_edits', '') if whole else ''} |"
            )
    for kind, stats in report.ghostwright.items():
        if kind in report.naive:
            ours, theirs = stats.as_dict()["precision"], report.naive[kind].as_dict()["precision"]
            if ours is not None and theirs:
                lines.append(f"\n{kind}: precision ghostwright/naive {ours / theirs:.2f}x")
    return "\n".join(lines)
