"""The feedback-loop commands of the core: `export`, `pool` and `explain` (training and
`eval predictor` are the lab's, `ghostwright_lab.cli.training`)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any, TextIO

from ghostwright.errors import GhostwrightError
from ghostwright.settings import Settings


def add_commands(commands: Any) -> None:
    """Register the commands on the `ghostwright` parser's subcommands."""
    export = commands.add_parser("export", help="write the telemetry events to a file")
    export.add_argument("--format", choices=("jsonl", "parquet"), required=True)
    export.add_argument("--out", required=True, help="output file")
    export.add_argument("--since", help="only events at or after this date (YYYY-MM-DD)")
    export.add_argument(
        "--include-code", action="store_true", help="code text, where it was stored by consent"
    )
    export.add_argument("--database", help="telemetry database (default: the user's)")
    export.set_defaults(run=cmd_export)

    pool = commands.add_parser(
        "pool", help="merge exports of many people into one dataset (each event once)"
    )
    pool.add_argument("inputs", nargs="+", help="export files, or directories of them")
    pool.add_argument("--out", required=True, help="output file (.parquet or .jsonl)")
    pool.add_argument("--json", action="store_true", help="print one JSON object")
    pool.set_defaults(run=cmd_pool)

    explain = commands.add_parser("explain", help="why a suggestion was shown or hidden")
    explain.add_argument("id", help="suggestion id (the accept command's argument, the log)")
    explain.add_argument("--database", help="telemetry database (default: the user's)")
    model_argument(explain)
    explain.set_defaults(run=cmd_explain)


def model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        help="simulate with this model (a registry name or a GGUF path; default: the configured "
        "one); the predictor is the one for its family",
    )


def model_settings(args: argparse.Namespace) -> Settings:
    """The resolved settings, with --model (where given) as the model."""
    from ghostwright.settings import resolve_settings

    settings = resolve_settings().settings
    return dataclasses.replace(settings, model=args.model) if args.model else settings


def database_path(args: argparse.Namespace) -> Path:
    from ghostwright.telemetry.store import default_database_path

    return Path(args.database) if args.database else default_database_path()


def cmd_export(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.telemetry.export import export_events

    since = None
    if args.since:
        try:
            day = datetime.date.fromisoformat(args.since)
        except ValueError:
            raise GhostwrightError(f"--since {args.since!r} is not a date (YYYY-MM-DD)") from None
        since = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC).timestamp()
    count = export_events(
        database_path(args),
        Path(args.out),
        format=args.format,
        since=since,
        include_code=args.include_code,
    )
    print(f"wrote {count} events to {args.out}", file=stdout)
    return 0


def cmd_pool(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.telemetry.pool import describe, read_pool, write_pool

    out = Path(args.out)
    if out.suffix not in (".parquet", ".jsonl"):
        raise GhostwrightError(f"--out {out} must end in .parquet or .jsonl")
    inputs = [Path(name) for name in args.inputs]
    pool = read_pool(inputs)
    write_pool(pool, out, format=out.suffix[1:])
    report = describe(pool, inputs)
    if args.json:
        print(json.dumps({"out": str(out), **report}, indent=2), file=stdout)
    else:
        print(
            f"wrote {report['rows']} events of {report['users']} users to {out} "
            f"({len(pool.files)} files, {pool.duplicates} duplicates dropped)",
            file=stdout,
        )
    return 0


def cmd_explain(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.engine.fim import configured_family
    from ghostwright.predictor.decide import Decision
    from ghostwright.predictor.features import Stage
    from ghostwright.predictor.model import load_active
    from ghostwright.telemetry.store import TelemetryStore

    store = TelemetryStore(database_path(args))
    try:
        events = [e for e in store.events() if e.suggestion_id == args.id]
    finally:
        store.close()
    decided = [e for e in events if e.kind in ("shown", "hidden")]
    if not decided:
        raise GhostwrightError(f"no shown or hidden suggestion {args.id} in the telemetry")
    event = decided[0]
    data = event.data
    features = {k: float(v) for k, v in dict(data.get("features") or {}).items() if v is not None}
    # The predictor of the configured model's family, as the server would load it now.
    predictor = load_active(configured_family(model_settings(args)))
    stage: Stage = "context" if data.get("stage") == "gate" else "suggestion"
    decision = Decision(
        str(data.get("stage")),
        float(data.get("score") or 0.0),
        float(data.get("threshold") or 0.0),
        features,
    )
    when = datetime.datetime.fromtimestamp(event.time, datetime.UTC).isoformat(timespec="seconds")
    print(f"suggestion {args.id}: {event.kind} at {when} ({data.get('language')})", file=stdout)
    print(
        f"{decision.stage} score {decision.score:.3f}, threshold {decision.threshold:.3f}: "
        f"{'shown' if decision.show else 'hidden'}",
        file=stdout,
    )
    outcomes = [e.kind for e in events if e.kind not in ("shown", "hidden")]
    print(f"outcome: {', '.join(outcomes) if outcomes else 'none recorded'}", file=stdout)
    print(f"contributions to the log-odds ({predictor.directory}):", file=stdout)
    for name, value in predictor.contributions(features, stage)[:15]:
        shown = features.get(name)
        value_text = "" if shown is None else f" (= {shown:g})"
        print(f"  {value:+.3f}  {name}{value_text}", file=stdout)
    return 0
