"""`ghostwright eval repair`: realistic errors injected into real code, repaired, and judged
by checks independent of the repair pipeline's own.

Each case takes a real file (held-out standard-library packages by default, as for
completion), makes one error of a kind people make, finds our diagnostic for it, and asks the
pipeline for a fix. A fix counts as fixed when the repaired file compiles and the injected
problem is gone (for names: pyflakes no longer reports it); `restored` when it also parses to
the same AST as the original. A fix offered that fails those checks is `unverified`: the
pipeline must never produce one. The model-only rate is measured separately with the
deterministic rules switched off.
"""

from __future__ import annotations

import ast
import io
import itertools
import logging
import random
import threading
import time
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ghostwright.engine.base import Engine
from ghostwright.progress import progress
from ghostwright.repair.diagnostics import Problem, check
from ghostwright.repair.pipeline import Repairer, RepairResult
from ghostwright.repair.verify import SYNTAX_CODES
from ghostwright_lab.corpus import Split, corpus_files, default_corpus
from ghostwright_lab.stats import percentile

log = logging.getLogger(__name__)

SYNTAX_KINDS = ("colon", "bracket", "comma", "string", "indentation")
NAME_KINDS = ("misspelled-name", "missing-import")
KINDS = SYNTAX_KINDS + NAME_KINDS


@dataclass(frozen=True)
class Injection:
    """One error made in one real file."""

    kind: str
    file: str
    line: int
    original: str
    broken: str
    name: str | None = None
    """For name kinds: the name that is now undefined."""


@dataclass
class KindReport:
    """Outcomes for one kind of error."""

    kind: str
    cases: int = 0
    detected: int = 0
    fixed: int = 0
    restored: int = 0
    unverified: int = 0
    by_model: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    model_only_cases: int = 0
    model_only_fixed: int = 0

    def row(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "cases": self.cases,
            "detected": self.detected,
            "fixed": self.fixed,
            "fixed_rate": _rate(self.fixed, self.cases),
            "restored": self.restored,
            "unverified_offered": self.unverified,
            "fixed_by_model": self.by_model,
            "latency_ms_p50": _percentile(self.latencies_ms, 50),
            "latency_ms_p95": _percentile(self.latencies_ms, 95),
            "model_only_cases": self.model_only_cases,
            "model_only_fixed": self.model_only_fixed,
            "model_only_rate": _rate(self.model_only_fixed, self.model_only_cases),
        }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    """`stats.percentile`, to a tenth of a millisecond for the report."""
    value = percentile(values, q)
    return None if value is None else round(value, 1)


# --- injecting errors ------------------------------------------------------------------------


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return []


def _offset(text: str, row: int, column: int) -> int:
    """Offset of a tokenize (1-based row, 0-based column) position."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts[row - 1] + column


def _delete(text: str, start: int, end: int) -> str:
    return text[:start] + text[end:]


_Maker = Callable[[str, random.Random], tuple[str, int, str | None] | None]


def _colon(text: str, rng: random.Random) -> tuple[str, int, str | None] | None:
    tokens = _tokens(text)
    spots = [
        token
        for token, after in itertools.pairwise(tokens)
        if token.type == tokenize.OP
        and token.string == ":"
        and after.type in (tokenize.NEWLINE, tokenize.COMMENT)
    ]
    if not spots:
        return None
    token = rng.choice(spots)
    start = _offset(text, *token.start)
    return _delete(text, start, start + 1), token.start[0], None


def _bracket(text: str, rng: random.Random) -> tuple[str, int, str | None] | None:
    spots = [t for t in _tokens(text) if t.type == tokenize.OP and t.string in ")]}"]
    if not spots:
        return None
    token = rng.choice(spots)
    start = _offset(text, *token.start)
    return _delete(text, start, start + 1), token.start[0], None


_VALUE_TOKENS = (tokenize.NAME, tokenize.NUMBER, tokenize.STRING)


def _comma(text: str, rng: random.Random) -> tuple[str, int, str | None] | None:
    tokens = _tokens(text)
    spots = [
        here
        for before, here, after in zip(tokens, tokens[1:], tokens[2:], strict=False)
        if here.type == tokenize.OP
        and here.string == ","
        and before.type in _VALUE_TOKENS
        and after.type in _VALUE_TOKENS
        and here.start[0] == after.start[0]
        and after.start[1] > here.end[1]
    ]
    if not spots:
        return None
    token = rng.choice(spots)
    start = _offset(text, *token.start)
    return _delete(text, start, start + 1), token.start[0], None


def _string(text: str, rng: random.Random) -> tuple[str, int, str | None] | None:
    spots = [
        t
        for t in _tokens(text)
        if t.type == tokenize.STRING
        and t.start[0] == t.end[0]
        and not t.string.endswith(('"""', "'''"))
        and len(t.string) >= 3
    ]
    if not spots:
        return None
    token = rng.choice(spots)
    end = _offset(text, *token.end)
    return _delete(text, end - 1, end), token.start[0], None


def _indentation(text: str, rng: random.Random) -> tuple[str, int, str | None] | None:
    tokens = _tokens(text)
    starts = []
    for previous, token in itertools.pairwise(tokens):
        # A statement that starts a line after another statement of the same block.
        if (
            previous.type == tokenize.NEWLINE
            and token.type == tokenize.NAME
            and token.start[1] >= 4
            and token.string not in ("else", "elif", "except", "finally", "case")
        ):
            starts.append(token)
    if not starts:
        return None
    token = rng.choice(starts)
    start = _offset(text, token.start[0], 0)
    if rng.random() < 0.5:
        return text[:start] + "  " + text[start:], token.start[0], None  # unexpected indent
    return _delete(text, start, start + 1), token.start[0], None  # unindent mismatch


def _misspelled_name(text: str, rng: random.Random) -> tuple[str, int, str | None] | None:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    identifiers = {t.string for t in _tokens(text) if t.type == tokenize.NAME}
    spots: list[tuple[ast.Name, str]] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        stored = {
            n.id
            for n in ast.walk(function)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Load)
                and node.id in stored
                and len(node.id) >= 4
            ):
                spots.append((node, node.id))
    rng.shuffle(spots)
    for node, name in spots:
        index = rng.randrange(1, len(name) - 1)
        typo = name[:index] + name[index + 1] + name[index] + name[index + 2 :]
        if typo == name or typo in identifiers:
            typo = name[:index] + name[index + 1 :]
        if typo in identifiers or not typo.isidentifier():
            continue
        start = _offset(text, node.lineno, node.col_offset)
        return text[:start] + typo + text[start + len(name) :], node.lineno, typo
    return None


def _missing_import(text: str, rng: random.Random) -> tuple[str, int, str | None] | None:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    spots = []
    for statement in tree.body:
        if (
            isinstance(statement, ast.Import)
            and len(statement.names) == 1
            and statement.names[0].asname is None
            and "." not in statement.names[0].name
            and f"{statement.names[0].name}." in text
        ):
            spots.append(statement)
    if not spots:
        return None
    statement = rng.choice(spots)
    start = _offset(text, statement.lineno, 0)
    end = _offset(text, statement.lineno + 1, 0)
    return _delete(text, start, end), statement.lineno, statement.names[0].name


MAKERS: dict[str, _Maker] = {
    "colon": _colon,
    "bracket": _bracket,
    "comma": _comma,
    "string": _string,
    "indentation": _indentation,
    "misspelled-name": _misspelled_name,
    "missing-import": _missing_import,
}


def injections(files: Sequence[Path], root: Path, per_kind: int, seed: int) -> list[Injection]:
    """`per_kind` injected errors of each kind, each in a random file that compiles."""
    rng = random.Random(seed)
    found: list[Injection] = []
    for kind in KINDS:
        made = attempts = 0
        while made < per_kind and attempts < per_kind * 20:
            attempts += 1
            path = rng.choice(list(files))
            try:
                original = path.read_text(encoding="utf-8")
                compile(original, str(path), "exec", dont_inherit=True)
            except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
                continue
            result = MAKERS[kind](original, rng)
            if result is None:
                continue
            broken, line, name = result
            if kind in SYNTAX_KINDS and _compiles(broken):
                continue
            if kind in NAME_KINDS and not any(
                p.code == "undefined-name" and p.name == name for p in check("python", broken)
            ):
                continue  # the name was only mentioned in strings or comments
            found.append(Injection(kind, str(path.relative_to(root)), line, original, broken, name))
            made += 1
    return found


def _compiles(text: str) -> bool:
    try:
        compile(text, "<eval>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


# --- judging -----------------------------------------------------------------------------


def target_of(injection: Injection, problems: Sequence[Problem]) -> Problem | None:
    """Our diagnostic for the injected error: the syntax error, or the undefined name."""
    if injection.kind in SYNTAX_KINDS:
        return next((p for p in problems if p.code in SYNTAX_CODES), None)
    return next(
        (p for p in problems if p.code == "undefined-name" and p.name == injection.name), None
    )


def judge(injection: Injection, fixed_text: str) -> tuple[bool, bool]:
    """(fixed, restored) by checks of our own, independent of the pipeline's verification."""
    if not _compiles(fixed_text):
        return False, False
    if injection.kind in NAME_KINDS:
        still = [
            p
            for p in check("python", fixed_text)
            if p.code == "undefined-name" and p.name == injection.name
        ]
        if still:
            return False, False
    restored = ast.dump(ast.parse(fixed_text)) == ast.dump(ast.parse(injection.original))
    return True, restored


@dataclass
class RepairEvalReport:
    kinds: dict[str, KindReport]
    corpus: str
    split: str
    seed: int
    model: str | None
    seconds: float

    def totals(self) -> dict[str, object]:
        syntax = [self.kinds[k] for k in SYNTAX_KINDS if k in self.kinds]
        everything = list(self.kinds.values())
        latencies = [ms for report in everything for ms in report.latencies_ms]
        return {
            "syntax_cases": sum(r.cases for r in syntax),
            "syntax_fixed_rate": _rate(sum(r.fixed for r in syntax), sum(r.cases for r in syntax)),
            "all_fixed_rate": _rate(
                sum(r.fixed for r in everything), sum(r.cases for r in everything)
            ),
            "unverified_offered": sum(r.unverified for r in everything),
            "model_only_rate": _rate(
                sum(r.model_only_fixed for r in everything),
                sum(r.model_only_cases for r in everything),
            ),
            "latency_ms_p50": _percentile(latencies, 50),
            "latency_ms_p95": _percentile(latencies, 95),
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "corpus": self.corpus,
            "split": self.split,
            "seed": self.seed,
            "model": self.model,
            "seconds": round(self.seconds, 1),
            "kinds": [report.row() for report in self.kinds.values()],
            "totals": self.totals(),
        }


def run_repair_eval(
    engine: Engine | None,
    *,
    corpus: Path | None = None,
    split: Split = "validation",
    per_kind: int = 20,
    model_only_per_kind: int = 5,
    seed: int = 0,
    model_name: str | None = None,
) -> RepairEvalReport:
    started = time.perf_counter()
    root = corpus or default_corpus()
    cases = injections(corpus_files(root, split), root, per_kind, seed)
    reports = {kind: KindReport(kind) for kind in KINDS}
    full = Repairer(engine)
    model_only = Repairer(engine, use_deterministic=False) if engine is not None else None
    model_only_done: dict[str, int] = dict.fromkeys(KINDS, 0)
    with progress("repairs", len(cases), unit="cases") as advance:
        for index, injection in enumerate(cases):
            report = reports[injection.kind]
            report.cases += 1
            problems = check("python", injection.broken)
            target = target_of(injection, problems)
            if target is None:
                advance(1)
                continue
            report.detected += 1
            result = full.repair("python", injection.broken, target, problems=problems)
            report.latencies_ms.append(result.total_ms)
            _score(report, injection, result, model=False)
            if model_only is not None and model_only_done[injection.kind] < model_only_per_kind:
                model_only_done[injection.kind] += 1
                report.model_only_cases += 1
                alone = model_only.repair(
                    "python",
                    injection.broken,
                    target,
                    problems=problems,
                    cancelled=threading.Event(),
                )
                _score(report, injection, alone, model=True)
            advance(1)
            log.debug(
                "[%d/%d] %s %s:%d: %s in %.0f ms",
                index + 1,
                len(cases),
                injection.kind,
                injection.file,
                injection.line,
                result.origin or "no fix",
                result.total_ms,
            )
    return RepairEvalReport(
        reports, str(root), split, seed, model_name, time.perf_counter() - started
    )


def _score(report: KindReport, injection: Injection, result: RepairResult, *, model: bool) -> None:
    if result.fixed_text is None:
        return
    fixed, restored = judge(injection, result.fixed_text)
    if not fixed:
        report.unverified += 1
        return
    if model:
        report.model_only_fixed += 1
        return
    report.fixed += 1
    report.restored += int(restored)
    report.by_model += int(result.origin == "model")


def format_report(report: RepairEvalReport) -> str:
    header = (
        f"{'kind':<16}{'cases':>6}{'found':>6}{'fixed':>7}{'same AST':>9}{'unverif.':>9}"
        f"{'by model':>9}{'p50 ms':>8}{'p95 ms':>8}{'model only':>12}"
    )
    lines = [
        f"Repair of injected errors: {report.split} split of {report.corpus}, seed {report.seed}, "
        f"model {report.model or 'none (rules only)'}",
        header,
    ]
    for kind_report in report.kinds.values():
        row = kind_report.row()
        model_only = (
            f"{kind_report.model_only_fixed}/{kind_report.model_only_cases}"
            if kind_report.model_only_cases
            else "-"
        )
        lines.append(
            f"{kind_report.kind:<16}{kind_report.cases:>6}{kind_report.detected:>6}"
            f"{_pct(row['fixed_rate']):>7}{kind_report.restored:>9}{kind_report.unverified:>9}"
            f"{kind_report.by_model:>9}{_num(row['latency_ms_p50']):>8}"
            f"{_num(row['latency_ms_p95']):>8}{model_only:>12}"
        )
    totals = report.totals()
    lines.append(
        f"Injected syntax errors fixed and verified: {_pct(totals['syntax_fixed_rate'])}; all "
        f"kinds: {_pct(totals['all_fixed_rate'])}; unverified fixes offered: "
        f"{totals['unverified_offered']}; model alone (rules off): "
        f"{_pct(totals['model_only_rate'])}; latency p50 {_num(totals['latency_ms_p50'])} ms, "
        f"p95 {_num(totals['latency_ms_p95'])} ms; {report.seconds:.0f} s in all."
    )
    return "\n".join(lines)


def _pct(value: object) -> str:
    return f"{float(value) * 100:.1f}%" if isinstance(value, int | float) else "-"


def _num(value: object) -> str:
    return f"{float(value):.0f}" if isinstance(value, int | float) else "-"
