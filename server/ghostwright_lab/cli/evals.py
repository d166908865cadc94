"""`ghostwright eval completion`, `eval infill`, `eval repair` and `eval next-edit`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from ghostwright.cli.repair import load_engine
from ghostwright.errors import GhostwrightError


def add_commands(eval_commands: Any) -> None:
    """Register `eval completion`, `eval infill`, `eval repair` and `eval next-edit`."""
    completion = eval_commands.add_parser(
        "completion", help="suggestions vs. what the author wrote, at sampled cursor positions"
    )
    completion.add_argument(
        "--corpus", metavar="DIR", help="Python files to sample (default: the standard library)"
    )
    completion.add_argument(
        "--language",
        choices=("python", "c", "cpp", "java", "javascript", "typescript"),
        default="python",
        help="python: the standard library (or --corpus); others: the split's source corpora "
        "fetched from PyPI, npm and Debian",
    )
    completion.add_argument("--n", type=int, default=50, help="cursor positions (default 50)")
    completion.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    completion.add_argument(
        "--split",
        choices=("tune", "validation", "all"),
        default="validation",
        help="held-out validation packages, the rest (tune), or all (default validation)",
    )
    completion.add_argument(
        "--naive", action="store_true", help="also run the plain model path and compare"
    )
    completion.add_argument("--json", action="store_true", help="print one JSON object")
    completion.set_defaults(run=_cmd_eval_completion)
    infill = eval_commands.add_parser(
        "infill",
        help="fill holes in real code (lines, spans, mid-line), judged by the code's doctests",
    )
    infill.add_argument("--split", choices=("tune", "validation"), default="validation")
    infill.add_argument(
        "--kinds", default="line,span,midline", help="task kinds (default line,span,midline)"
    )
    infill.add_argument("--n", type=int, default=20, help="tasks per kind and corpus (default 20)")
    infill.add_argument(
        "--languages",
        default="python,c,cpp,java,javascript,typescript",
        help="Python (doctested packages) and C-family corpora (mid-line conditions)",
    )
    infill.add_argument("--seed", type=int, default=0)
    infill.add_argument("--model", help="a registry name or a GGUF path (default: the setting)")
    infill.add_argument(
        "--contenders",
        default="ghostwright,naive-fim,naive-fim-multi",
        help="comma-separated (default all three)",
    )
    infill.add_argument("--json", action="store_true", help="print one JSON object")
    infill.set_defaults(run=_cmd_eval_infill)
    evaluate = eval_commands.add_parser(
        "repair", help="inject real errors into real code and measure the verified fixes"
    )
    evaluate.add_argument("--corpus", metavar="DIR", help="default: the standard library")
    evaluate.add_argument("--split", choices=("tune", "validation", "all"), default="validation")
    evaluate.add_argument("--n", type=int, default=20, help="cases per error kind (default 20)")
    evaluate.add_argument(
        "--model-only",
        type=int,
        default=5,
        help="cases per kind also repaired with the rules off (default 5)",
    )
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--no-model", action="store_true", help="rules only")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(run=cmd_eval_repair)
    next_edit = eval_commands.add_parser(
        "next-edit",
        help="proposed next edits vs. what the authors did next (release diffs, renames)",
    )
    next_edit.add_argument("--split", choices=("tune", "validation"), default="validation")
    next_edit.add_argument("--kinds", default="history,rename", help="default history,rename")
    next_edit.add_argument("--renames", type=int, default=100, help="rename tasks (default 100)")
    next_edit.add_argument(
        "--corpus", metavar="DIR", help="Python files for the renames (default: the split's)"
    )
    next_edit.add_argument("--limit", type=int, help="most release-history tasks (default all)")
    next_edit.add_argument("--seed", type=int, default=0)
    next_edit.add_argument(
        "--model",
        default="qwen2.5-coder-0.5b",
        help="a registry name or a GGUF path for the model source and the naive baseline "
        "(default qwen2.5-coder-0.5b); `none`: deterministic sources only",
    )
    next_edit.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    next_edit.add_argument(
        "--no-predictor", action="store_true", help="show every verified proposal"
    )
    next_edit.add_argument(
        "--rows", metavar="FILE", help="write each verified proposal's features and label (JSONL)"
    )
    next_edit.add_argument("--json", action="store_true", help="print one JSON object")
    next_edit.set_defaults(run=_cmd_eval_next_edit)


def _cmd_eval_completion(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright_lab.evals.completion_eval import (
        EvalOptions,
        evaluate_completion,
        format_table,
        report_json,
    )

    options = EvalOptions(
        corpus=Path(args.corpus) if args.corpus else None,
        split=args.split,
        language=args.language,
        n=args.n,
        seed=args.seed,
        naive=args.naive,
    )
    report = evaluate_completion(options)
    print(
        json.dumps(report_json(report), indent=2) if args.json else format_table(report),
        file=stdout,
    )
    return 0


def model_path(name: str) -> Path:
    """A GGUF path, or the cached file of a fetched registry model."""
    from ghostwright.engine.models import find_model, is_fetched

    path = Path(name)
    if path.is_file():
        return path
    spec = find_model(name)
    if not is_fetched(spec):
        raise GhostwrightError(f"run `ghostwright model fetch {spec.name}` first")
    return spec.cached_path


def _cmd_eval_next_edit(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.edits.judge import NextEditPredictor
    from ghostwright_lab.evals.next_edit_eval import (
        NextEditOptions,
        evaluate_next_edits,
        format_table,
        report_json,
    )

    engine = None
    model_name = None
    if args.model != "none":
        from ghostwright.engine.local import LocalEngine
        from ghostwright.settings import resolve_settings

        path = model_path(args.model)
        engine, model_name = LocalEngine(path, resolve_settings().settings), path.name
    options = NextEditOptions(
        split=args.split,
        kinds=tuple(args.kinds.split(",")),
        renames=args.renames,
        corpus=Path(args.corpus) if args.corpus else None,
        limit=args.limit,
        seed=args.seed,
        naive=not args.no_naive,
        rows=Path(args.rows) if args.rows else None,
        predictor=None if args.no_predictor else NextEditPredictor.load(),
    )
    report = evaluate_next_edits(options, engine, model_name)
    print(
        json.dumps(report_json(report), indent=2) if args.json else format_table(report),
        file=stdout,
    )
    return 0


def _cmd_eval_infill(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright_lab.evals.infill_eval import (
        InfillOptions,
        evaluate_infill,
        format_table,
        report_json,
    )

    model = model_path(args.model) if args.model else None
    options = InfillOptions(
        split=args.split,
        kinds=tuple(args.kinds.split(",")),
        per_kind=args.n,
        languages=tuple(args.languages.split(",")),
        seed=args.seed,
        model=model,
        contenders=tuple(args.contenders.split(",")),
    )
    report = evaluate_infill(options)
    print(
        json.dumps(report_json(report), indent=2) if args.json else format_table(report),
        file=stdout,
    )
    return 0


def cmd_eval_repair(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright_lab.evals.repair_eval import format_report, run_repair_eval

    engine, model_name = None, None
    if not args.no_model:
        engine, model_name, _ = load_engine()

    report = run_repair_eval(
        engine,
        corpus=Path(args.corpus) if args.corpus else None,
        split=args.split,
        per_kind=args.n,
        model_only_per_kind=0 if args.no_model else args.model_only,
        seed=args.seed,
        model_name=model_name,
    )
    if args.json:
        print(json.dumps(report.as_dict(), indent=2), file=stdout)
    else:
        print(format_report(report), file=stdout)
    return 0 if report.totals()["unverified_offered"] == 0 else 1
