"""The lab's commands on the `ghostwright` command: `eval`, `bench` and `train`.

The core's parser finds `add_commands` through the `ghostwright.commands` entry point
(pyproject.toml), so that the core never imports the lab. Each command imports what it runs
when it runs: registering them costs `ghostwright serve` nothing but argparse.
"""

from __future__ import annotations

from typing import Any

from ghostwright_lab.cli import bench, evals, training


def add_commands(commands: Any) -> None:
    """Register the lab's commands on the `ghostwright` parser's subcommands."""
    evaluate = commands.add_parser("eval", help="measure suggestions against real code")
    eval_commands = evaluate.add_subparsers(dest="eval_command", required=True)
    evals.add_commands(eval_commands)
    training.add_commands(commands, eval_commands)
    bench.add_commands(commands)
