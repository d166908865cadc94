"""The repair pipeline: a problem in, a verified minimal fix (or an honest no) out.

1. Deterministic candidates (`fixes`): where the parse tree or checker says what is missing.
2. The model (`model_fix`), only if none of those verifies: greedy plus samples of the
   problem's unit rewritten from the broken line; when none verifies, one more round with the
   verification failure in the prompt.
3. Every candidate is verified (`verify`); of those that pass, the one changing the fewest
   characters wins and is returned as minimal `TextChange`s. None passing means no fix: the
   document is never touched by an unverified candidate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import tree_sitter

from ghostwright.engine.base import Engine
from ghostwright.repair.diagnostics import Problem, check
from ghostwright.repair.fixes import Patch, deterministic_patches
from ghostwright.repair.model_fix import Unit, model_patches
from ghostwright.repair.verify import TextChange, Verdict, changed_size, minimal_changes, verify
from ghostwright.syntax import language

log = logging.getLogger(__name__)

MODEL_GENERATIONS = 3
"""Model runs in the first round: one greedy, the rest sampled."""
RETRY_GENERATIONS = 2
"""Model runs in the second round, with the first round's failure in the prompt."""
MODEL_BUDGET_S = 20.0
"""Time the model may take for one problem; no generation starts after it."""
MAX_UNIT_LINES = 40
"""A unit longer than this is narrowed to a window of lines around the problem."""
WINDOW_LINES = 8
"""Lines on each side of the problem in such a window."""
MAX_PROBLEMS_PER_UNIT = 8
"""Most problems `repair_unit` works through one after another."""

_UNIT_TYPE_WORDS = ("function", "method", "constructor", "class", "lambda", "closure")
_UNIT_TYPE_ENDS = ("definition", "declaration", "item", "expression", "specifier")


@dataclass(frozen=True)
class RepairResult:
    """What repairing one problem produced."""

    problem: Problem
    changes: tuple[TextChange, ...] = ()
    """Minimal edits of the verified fix; empty when there is none."""
    origin: str | None = None
    """`deterministic` or `model`; None without a fix."""
    candidates: int = 0
    """Candidates verified (passing or not)."""
    model_runs: int = 0
    deterministic_ms: float = 0.0
    model_ms: float = 0.0
    total_ms: float = 0.0
    failure: str = ""
    """Why there is no fix, for the person (empty with a fix)."""
    fixed_text: str | None = None
    """The whole document with the fix applied."""

    @property
    def fixed(self) -> bool:
        return bool(self.changes)


@dataclass
class _Search:
    """The best verified candidate so far."""

    text: str
    best: Patch | None = None
    best_size: int = 0
    candidates: int = 0
    last_failure: str = ""
    failures: list[str] = field(default_factory=list)

    def consider(self, patch: Patch, verdict: Verdict) -> None:
        self.candidates += 1
        if not verdict.ok:
            self.last_failure = verdict.reason
            self.failures.append(verdict.reason)
            return
        size = changed_size(minimal_changes(self.text, patch))
        if self.best is None or size < self.best_size:
            self.best, self.best_size = patch, size


class Repairer:
    """Repairs problems in one language's text; `engine` None means deterministic fixes only."""

    def __init__(self, engine: Engine | None, *, use_deterministic: bool = True) -> None:
        self.engine = engine
        self.use_deterministic = use_deterministic

    def repair(
        self,
        language_id: str,
        text: str,
        target: Problem | None,
        *,
        near: Problem | None = None,
        problems: Sequence[Problem] | None = None,
        cancelled: threading.Event | None = None,
    ) -> RepairResult:
        """A verified fix for `target`, one of `problems` (our checkers' view of `text`; run
        when not given). `target` None with `near` set: a problem another tool reported that
        ours do not see: candidates then only need to parse and add no problem, and must
        change `near`'s lines."""
        cancelled = cancelled or threading.Event()
        started = time.perf_counter()
        before = list(problems) if problems is not None else check(language_id, text)
        subject = target or near
        if subject is None:
            raise ValueError("repair needs a target problem or a place (`near`)")
        search = _Search(text)

        def try_all(patches: Iterable[Patch]) -> None:
            for patch in patches:
                if cancelled.is_set():
                    return
                if target is None and not _touches(patch, subject):
                    continue
                search.consider(patch, verify(language_id, text, before, target, patch))

        if self.use_deterministic:
            try_all(deterministic_patches(language_id, text, subject))
        deterministic_ms = (time.perf_counter() - started) * 1000.0
        model_runs = 0
        if search.best is None and self.engine is not None and not cancelled.is_set():
            unit = enclosing_unit(language_id, text, subject)
            deadline = time.perf_counter() + MODEL_BUDGET_S
            feedback = None
            for round_index, generations in enumerate((MODEL_GENERATIONS, RETRY_GENERATIONS)):
                if round_index:
                    feedback = search.last_failure or None
                try_all(
                    model_patches(
                        self.engine,
                        language_id,
                        text,
                        subject,
                        unit,
                        generations=generations,
                        feedback=feedback,
                        cancelled=cancelled,
                        deadline=deadline,
                        seed=round_index * 100,
                    )
                )
                model_runs += generations
                if search.best is not None or cancelled.is_set():
                    break
        total_ms = (time.perf_counter() - started) * 1000.0
        common = {
            "problem": subject,
            "candidates": search.candidates,
            "model_runs": model_runs,
            "deterministic_ms": deterministic_ms,
            "model_ms": total_ms - deterministic_ms,
            "total_ms": total_ms,
        }
        if search.best is None:
            return RepairResult(failure=_failure(search, self.engine, cancelled), **common)  # type: ignore[arg-type]
        return RepairResult(
            changes=tuple(minimal_changes(text, search.best)),
            origin=search.best.origin,
            fixed_text=search.best.apply(text),
            **common,  # type: ignore[arg-type]
        )

    def repair_unit(
        self,
        language_id: str,
        text: str,
        start: int,
        end: int,
        *,
        cancelled: threading.Event | None = None,
    ) -> tuple[str, list[RepairResult]]:
        """Fix the problems in text[start:end] one after another, each verified on the text the
        previous fixes left; returns the final text and each step's result."""
        results: list[RepairResult] = []
        unresolved: set[tuple[str, str]] = set()
        for _ in range(MAX_PROBLEMS_PER_UNIT):
            problems = check(language_id, text)
            inside = [p for p in problems if start <= p.start <= end and p.key not in unresolved]
            if not inside:
                break
            result = self.repair(
                language_id, text, inside[0], problems=problems, cancelled=cancelled
            )
            results.append(result)
            if result.fixed_text is None:
                unresolved.add(inside[0].key)
                continue
            end += len(result.fixed_text) - len(text)
            text = result.fixed_text
        return text, results


def _touches(patch: Patch, problem: Problem) -> bool:
    """Whether the patch changes the problem's lines (for problems our checkers cannot see)."""
    return patch.start <= problem.end and patch.end >= problem.start


def _failure(search: _Search, engine: Engine | None, cancelled: threading.Event) -> str:
    if cancelled.is_set():
        return "cancelled"
    if search.candidates == 0:
        return "no candidate fix" + ("" if engine is not None else " (the model is not loaded)")
    return f"none of {search.candidates} candidate fixes verified (last: {search.last_failure})"


def enclosing_unit(language_id: str, text: str, problem: Problem) -> Unit:
    """The smallest function, method or class around the problem (a top-level statement when
    there is none), in whole lines; narrowed to a window of lines when it is long."""
    problem_row = text.count("\n", 0, problem.start)
    first_row, last_row = problem_row, problem_row
    grammar = language(language_id)
    if grammar is not None:
        source = text.encode("utf-8", "surrogatepass")
        tree = tree_sitter.Parser(grammar).parse(source)
        prefix = text[: problem.start].encode("utf-8", "surrogatepass")
        node = tree.root_node.descendant_for_byte_range(len(prefix), len(prefix))
        unit = _unit_node(node) if node is not None else None
        if unit is not None:
            first_row, last_row = unit.start_point.row, unit.end_point.row
            if unit.end_point.column == 0 and last_row > first_row:
                last_row -= 1
    else:
        first_row, last_row = problem_row - WINDOW_LINES, problem_row + WINDOW_LINES
    if last_row - first_row + 1 > MAX_UNIT_LINES:
        first_row = max(first_row, problem_row - WINDOW_LINES)
        last_row = min(last_row, problem_row + WINDOW_LINES)
    starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
    first_row = max(0, min(first_row, problem_row))
    last_row = min(len(starts) - 1, max(last_row, problem_row))
    end = starts[last_row + 1] - 1 if last_row + 1 < len(starts) else len(text)
    if end > starts[last_row] and text[end - 1] == "\r":
        end -= 1
    return Unit(start=starts[first_row], line_start=starts[problem_row], end=end)


def _unit_node(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The innermost function/class-like ancestor, else the top-level statement."""
    current: tree_sitter.Node | None = node
    top = None
    while current is not None and current.parent is not None:
        kind = current.type
        if any(word in kind for word in _UNIT_TYPE_WORDS) and kind.endswith(_UNIT_TYPE_ENDS):
            return current
        top = current
        current = current.parent
    return top
