"""`ghostwright train` (simulated rows, own or pooled telemetry) and `eval predictor`."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from ghostwright.cli.feedback import database_path, model_argument, model_settings
from ghostwright.errors import GhostwrightError

DEFAULT_VALIDATION = 300
DEFAULT_TRAIN = 900
DEFAULT_RUNS = 2


def add_commands(commands: Any, eval_commands: Any) -> None:
    """Register `train` and `eval predictor`."""
    train = commands.add_parser("train", help="train the acceptance predictor")
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--simulate",
        nargs="?",
        const="",
        metavar="CORPUS",
        help="simulated acceptance on real code (default corpus: the standard library)",
    )
    source.add_argument(
        "--from-telemetry",
        action="store_true",
        help="the user's own decisions; replaces the active model only if it validates better",
    )
    source.add_argument(
        "--from-parquet",
        metavar="DIR",
        help="a team's pooled exports (`ghostwright pool`, or the exports themselves)",
    )
    source.add_argument(
        "--next-edit",
        nargs="+",
        metavar="ROWS",
        help="the next-edit predictor, from `eval next-edit --rows` files (default --out: "
        "models/next-edit/predictor.json)",
    )
    train.add_argument("--n", type=int, default=DEFAULT_TRAIN, help="training positions")
    train.add_argument(
        "--validation", type=int, default=DEFAULT_VALIDATION, help="validation positions"
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--runs",
        type=int,
        default=DEFAULT_RUNS,
        help="simulation runs with further seeds, joined (--n and --validation are per run)",
    )
    train.add_argument(
        "--out",
        help="model directory (default for --simulate: the shipped predictor of the model's "
        "family, models/predictor/families/FAMILY, or models/predictor for the default model)",
    )
    model_argument(train)
    train.add_argument(
        "--dask", metavar="SCHEDULER", help="train with lightgbm.dask on this Dask scheduler"
    )
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.add_argument("--database", help="telemetry database (default: the user's)")
    train.set_defaults(run=cmd_train)

    predictor = eval_commands.add_parser(
        "predictor", help="the acceptance predictor on held-out packages, against a baseline"
    )
    predictor.add_argument("--validation", type=int, default=DEFAULT_VALIDATION)
    predictor.add_argument("--n", type=int, default=DEFAULT_TRAIN, help="baseline training rows")
    predictor.add_argument("--seed", type=int, default=0)
    predictor.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="simulation runs")
    predictor.add_argument("--plot", metavar="PNG", help="write ROC and PR curves here")
    model_argument(predictor)
    predictor.add_argument("--json", action="store_true", help="print one JSON object")
    predictor.set_defaults(run=cmd_eval_predictor)


def cmd_train(args: argparse.Namespace, stdout: TextIO) -> int:
    if args.next_edit:
        return _train_next_edit(args, stdout)
    if args.from_telemetry:
        return _train_from_telemetry(args, stdout)
    if args.from_parquet:
        return _train_from_parquet(args, stdout)
    from ghostwright.engine.fim import configured_family
    from ghostwright.predictor.model import family_directory, shipped_directory
    from ghostwright_lab.training.train import simulate_and_train

    settings = model_settings(args)
    family = configured_family(settings)
    default_out = family_directory(family) if family is not None else shipped_directory()
    out = Path(args.out) if args.out else default_out
    corpus = Path(args.simulate) if args.simulate else None
    report = simulate_and_train(
        corpus,
        out,
        args.n,
        args.validation,
        args.seed,
        dask_scheduler=args.dask,
        runs=args.runs,
        settings=settings,
        model_family=family,
    )
    metrics: Any = report.card.get("metrics")
    if args.json:
        print(
            json.dumps({"out": str(out), "card": report.card}, indent=2, default=str), file=stdout
        )
    else:
        print(f"wrote the predictor to {out}", file=stdout)
        if metrics:
            print(json.dumps(metrics.get("summary", metrics), indent=2, default=str), file=stdout)
    return 0


def _train_next_edit(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.edits.judge import SHIPPED_PREDICTOR
    from ghostwright_lab.training.next_edit import train_next_edit

    out = Path(args.out) if args.out else SHIPPED_PREDICTOR
    try:
        trained = train_next_edit([Path(path) for path in args.next_edit], out)
    except (OSError, ValueError, KeyError) as exc:
        raise GhostwrightError(f"cannot train the next-edit predictor: {exc}") from exc
    print(
        f"next-edit predictor: {trained.rows} rows ({trained.positives} right), threshold "
        f"{trained.predictor.threshold:.3f} keeps {100 * trained.kept:.1f} % of the right ones "
        f"and hides {100 * trained.hidden:.1f} % of the others; wrote {out}",
        file=stdout,
    )
    return 0


def _train_from_telemetry(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright_lab.training.personal import report_json, train_from_telemetry

    if args.dask:
        raise GhostwrightError("--dask trains simulated rows (--simulate) for now")
    from ghostwright.engine.fim import configured_family

    report = train_from_telemetry(
        database_path(args),
        out_dir=Path(args.out) if args.out else None,
        seed=args.seed,
        family=configured_family(model_settings(args)),
    )
    if args.json:
        print(json.dumps(report_json(report), indent=2), file=stdout)
    else:
        verdict = "replaced the active model" if report.replaced else "kept the active model"
        print(f"{report.rows} decided suggestions: {verdict} ({report.reason})", file=stdout)
        if report.active_auc is not None or report.new_auc is not None:
            print(f"held-out AUC: active {report.active_auc}, new {report.new_auc}", file=stdout)
    return 0


def _train_from_parquet(args: argparse.Namespace, stdout: TextIO) -> int:
    """A team's predictor from pooled telemetry: every decided suggestion of every member, the
    newest quarter held out for validation; on a Dask cluster with --dask."""
    from ghostwright.predictor.model import card_sha256
    from ghostwright.telemetry.pool import describe, events_of, read_pool
    from ghostwright_lab.training.personal import HOLDOUT, MIN_ROWS, rows_from_events
    from ghostwright_lab.training.train import train_from_rows

    if not args.out:
        raise GhostwrightError("--from-parquet needs --out DIR: where the team's model goes")
    source = Path(args.from_parquet)
    pool = read_pool([source])
    rows = [row for _, row in rows_from_events(events_of(pool.rows))]
    if len(rows) < MIN_ROWS or {row.label for row in rows} != {0, 1}:
        raise GhostwrightError(
            f"{source} holds {len(rows)} decided suggestions: training needs {MIN_ROWS} or "
            "more, with both accepts and rejects"
        )
    cut = int(len(rows) * (1.0 - HOLDOUT))
    out = Path(args.out)
    pooled = describe(pool, [source])
    data = {
        "source": "pooled telemetry",
        "users": pooled["users"],
        "events": pooled["rows"],
        "duplicates_dropped": pooled["duplicates_dropped"],
        "holdout": "the newest quarter of the decided suggestions",
    }
    # lightgbm.dask prints its progress: keep stdout for the report.
    with contextlib.redirect_stdout(sys.stderr):
        report = train_from_rows(
            rows[:cut], out, rows[cut:], seed=args.seed, data=data, dask_scheduler=args.dask
        )
    checksum = card_sha256(out)
    metrics: Any = report.card.get("metrics")
    if args.json:
        result = {"out": str(out), "sha256": checksum, **pooled, "card": report.card}
        print(json.dumps(result, indent=2, default=str), file=stdout)
    else:
        print(f"wrote the team predictor to {out} ({len(rows)} decided suggestions)", file=stdout)
        print(f"predictorSha256 = {checksum}", file=stdout)
        if metrics:
            print(json.dumps(metrics.get("summary", metrics), indent=2, default=str), file=stdout)
    return 0


def cmd_eval_predictor(args: argparse.Namespace, stdout: TextIO) -> int:
    from ghostwright.engine.fim import configured_family
    from ghostwright.predictor.model import load_active
    from ghostwright_lab.training.predictor_eval import (
        evaluate_predictor,
        format_table,
        plot,
        report_json,
    )
    from ghostwright_lab.training.simulate import simulated_rows

    settings = model_settings(args)
    training, validation, _ = simulated_rows(
        None,
        {"tune": args.n, "validation": args.validation},
        args.seed,
        runs=args.runs,
        settings=settings,
    )
    predictor = load_active(configured_family(settings))
    report = evaluate_predictor(validation, predictor, training_rows=training)
    if args.plot:
        plot(report, Path(args.plot))
    model = settings.model or "the default model"
    if args.json:
        payload = {**report_json(report), "model": model, "predictor": str(predictor.directory)}
        print(json.dumps(payload, indent=2), file=stdout)
    else:
        print(f"rows simulated with {model}; predictor {predictor.directory}", file=stdout)
        print(format_table(report), file=stdout)
    return 0
