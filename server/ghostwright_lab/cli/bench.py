"""`ghostwright bench`: replayed editing sessions against Ghostwright and its rivals."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO


def add_commands(commands: Any) -> None:
    """Register `bench`."""
    bench = commands.add_parser(
        "bench",
        help="replay a person typing real code against Ghostwright, the naive path, a stock "
        "server and the model's limit; write bench/report.md",
    )
    bench.add_argument(
        "--files", type=int, default=3, help="files to type in: small, medium, large (default 3)"
    )
    bench.add_argument("--lines", type=int, default=4, help="lines typed per file (default 4)")
    bench.add_argument(
        "--repeat", type=int, default=3, help="runs of everything; figures are medians (default 3)"
    )
    bench.add_argument("--seed", type=int, default=0, help="trace seed (default 0)")
    bench.add_argument(
        "--speed", type=float, default=1.0, help="typing speed factor (default 1.0: real time)"
    )
    bench.add_argument("--no-naive", action="store_true", help="leave out the naive path")
    bench.add_argument(
        "--no-stock", action="store_true", help="leave out the stock server (llama_cpp.server)"
    )
    bench.add_argument(
        "--sizes",
        type=_line_counts,
        default=(200, 2000, 20000),
        metavar="N,N,...",
        help="also replay Ghostwright with documents resized to these line counts "
        "(cost vs size; default 200,2000,20000; none to skip)",
    )
    bench.add_argument(
        "--contexts",
        type=_line_counts,
        default=(256, 1024),
        metavar="N,N,...",
        help="also replay Ghostwright with these prefixTokens settings in 2,000-line documents "
        "(cost vs context; default 256,1024; none to skip)",
    )
    bench.add_argument(
        "--model",
        help="the model every contender runs (a registry name or a GGUF path; default: the "
        "configured one)",
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help="a small trace through every contender and sweep, once (CI: fails on errors only)",
    )
    bench.add_argument(
        "--out",
        default=None,
        help="report directory (default bench; with --quick a new temporary directory)",
    )
    bench.add_argument(
        "--next-edit",
        action="store_true",
        help="instead: next edits through the server (rename proposals in a 20,000-line file, "
        "model proposals and their cancellation with --fim-model); writes OUT/next-edit.md",
    )
    bench.add_argument(
        "--fim-model",
        default="qwen2.5-coder-0.5b",
        help="with --next-edit: the model of the model proposals (default qwen2.5-coder-0.5b; "
        "none to skip them)",
    )
    bench.set_defaults(run=_cmd_bench)


def _cmd_bench(args: argparse.Namespace, stdout: TextIO) -> int:
    import tempfile

    if args.next_edit:
        return _cmd_bench_next_edit(args, stdout)

    from ghostwright_lab.bench.bench import BenchOptions, failures, run_bench
    from ghostwright_lab.bench.bench_report import format_table, write_report

    if args.out is not None:
        out = Path(args.out)
    elif args.quick:  # a smoke test must not overwrite the committed report
        out = Path(tempfile.mkdtemp(prefix="ghostwright-bench-quick-"))
    else:
        out = Path("bench")
    options = BenchOptions(
        files=args.files,
        lines=args.lines,
        seed=args.seed,
        speed=args.speed,
        naive=not args.no_naive,
        out=out,
        sizes=tuple(args.sizes),
        contexts=tuple(args.contexts),
        repeat=args.repeat,
        stock=not args.no_stock,
        quick=args.quick,
        model=args.model,
    )
    report = run_bench(options)
    print(format_table(report), file=stdout)
    for path in write_report(report, report.options.out):
        print(f"wrote {path}", file=stdout)
    problems = failures(report)
    for problem in problems:
        print(f"ghostwright bench: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _cmd_bench_next_edit(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.engine.models import resolve_model_path
    from ghostwright.settings import resolve_settings
    from ghostwright_lab.bench.next_edit_bench import (
        NextEditBenchOptions,
        format_report,
        run_next_edit_bench,
    )
    from ghostwright_lab.cli.evals import model_path

    settings = resolve_settings().settings
    model = model_path(args.model) if args.model else resolve_model_path(settings)
    fim_model = None if args.fim_model == "none" else model_path(args.fim_model)
    report = run_next_edit_bench(NextEditBenchOptions(model=model, fim_model=fim_model))
    table = format_report(report)
    print(table, file=stdout)
    out = Path(args.out or "bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "next-edit.md").write_text(table + "\n", encoding="utf-8")
    print(f"wrote {out / 'next-edit.md'}", file=stdout)
    return 0


def _line_counts(text: str) -> tuple[int, ...]:
    """Positive numbers separated by commas; "none" (or nothing) for none."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas: {text!r}"
        ) from None
    if not counts or any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"expected positive counts: {text!r}")
    return counts
