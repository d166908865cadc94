"""`ghostwright repair FILE` (the lab has `ghostwright eval repair`)."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ghostwright.engine.base import Engine
from ghostwright.errors import GhostwrightError
from ghostwright.syntax import language_of_path

MAX_FIXES = 50
"""Most fixes one `ghostwright repair` run makes."""


def add_commands(commands: Any) -> None:
    repair = commands.add_parser(
        "repair", help="print a file's problems and their verified fixes as a diff"
    )
    repair.add_argument("file")
    repair.add_argument("--line", type=int, help="only the problems on this 1-based line")
    repair.add_argument("--json", action="store_true", help="print one JSON object")
    repair.add_argument("--write", action="store_true", help="write the fixed file back")
    repair.add_argument(
        "--no-model", action="store_true", help="deterministic fixes only (no model load)"
    )
    repair.set_defaults(run=cmd_repair)


def load_engine() -> tuple[Engine, str, float]:
    from ghostwright.engine.local import LocalEngine
    from ghostwright.engine.models import resolve_model_path
    from ghostwright.settings import resolve_settings

    settings = resolve_settings().settings
    started = time.perf_counter()
    path = resolve_model_path(settings)
    engine = LocalEngine(path, settings)
    return engine, path.name, (time.perf_counter() - started) * 1000.0


def cmd_repair(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.repair.diagnostics import Problem, check
    from ghostwright.repair.pipeline import Repairer, RepairResult

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GhostwrightError(f"cannot read {path}: {exc}") from exc
    language_id = language_of_path(path)
    problems = check(language_id, text)

    def row_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    def selected(problem: Problem, current: str) -> bool:
        on_line = args.line is None or current.count("\n", 0, problem.start) + 1 == args.line
        return on_line and (problem.severity == 1 or problem.code == "unused-import")

    chosen = [p for p in problems if args.line is None or row_of(p.start) == args.line]
    engine, model_name, load_ms = (None, None, 0.0)
    repairer = Repairer(None)
    results: list[RepairResult] = []
    fixed_text = text
    given_up: set[tuple[str, str]] = set()
    # One problem at a time, checking again after each fix: a fixed syntax error lets pyflakes
    # see the file, and fixes move later problems.
    for _ in range(MAX_FIXES):
        current = check(language_id, fixed_text)
        pending = [p for p in current if selected(p, fixed_text) and p.key not in given_up]
        if not pending:
            break
        problem = pending[0]
        result = repairer.repair(language_id, fixed_text, problem, problems=current)
        if not result.fixed and not args.no_model and engine is None:
            engine, model_name, load_ms = load_engine()
            repairer = Repairer(engine)
            result = repairer.repair(language_id, fixed_text, problem, problems=current)
        results.append(result)
        if result.fixed_text is None:
            given_up.add(problem.key)
        else:
            fixed_text = result.fixed_text
    diff = "".join(
        difflib.unified_diff(
            text.splitlines(keepends=True),
            fixed_text.splitlines(keepends=True),
            fromfile=f"a/{path.name}",
            tofile=f"b/{path.name}",
        )
    )
    if args.write and fixed_text != text:
        path.write_text(fixed_text, encoding="utf-8")
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(path),
                    "language": language_id,
                    "problems": [
                        {
                            "line": row_of(p.start),
                            "column": p.start - (text.rfind("\n", 0, p.start) + 1) + 1,
                            "message": p.message,
                            "code": p.code,
                            "severity": "error" if p.severity == 1 else "warning",
                        }
                        for p in chosen
                    ],
                    "fixes": [
                        {
                            "message": r.problem.message,
                            "fixed": r.fixed,
                            "origin": r.origin,
                            "failure": r.failure or None,
                            "candidates": r.candidates,
                            "model_runs": r.model_runs,
                            "ms": round(r.total_ms, 1),
                        }
                        for r in results
                    ],
                    "model": model_name,
                    "model_load_ms": round(load_ms, 1),
                    "diff": diff,
                    "written": bool(args.write and fixed_text != text),
                },
                indent=2,
            ),
            file=stdout,
        )
        return 0
    if not chosen:
        print(f"{path}: no problems found", file=stdout)
        return 0
    for problem in chosen:
        column = problem.start - (text.rfind("\n", 0, problem.start) + 1) + 1
        print(
            f"{path}:{row_of(problem.start)}:{column}: {problem.message} [{problem.code}]",
            file=stdout,
        )
    for result in results:
        outcome = f"fixed ({result.origin})" if result.fixed else f"not fixed: {result.failure}"
        print(
            f"  {result.problem.message}: {outcome}, {result.candidates} candidates, "
            f"{result.model_runs} model runs, {result.total_ms:.0f} ms",
            file=sys.stderr,
        )
    if model_name:
        print(f"  model {model_name} loaded in {load_ms:.0f} ms", file=sys.stderr)
    if diff:
        print(diff, end="", file=stdout)
        if args.write:
            print(f"written to {path}", file=sys.stderr)
    return 0 if all(r.fixed for r in results) else 1
