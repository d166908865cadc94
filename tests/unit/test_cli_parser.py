"""The `ghostwright` parser: the lab's commands come through the entry point, and are looked up
only when the arguments name no command of the core (so `serve` starts without them)."""

from __future__ import annotations

import argparse

from ghostwright.cli import build_parser


def commands_of(parser: argparse.ArgumentParser) -> set[str]:
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(subparsers.choices)


def test_a_core_command_is_parsed_without_the_labs_commands() -> None:
    for argv in (["serve"], ["--log-level", "DEBUG", "serve", "--tcp", ":1"], ["complete", "x"]):
        assert "bench" not in commands_of(build_parser(argv)), argv
    assert build_parser(["serve"]).parse_args(["serve"]).command == "serve"


def test_the_labs_commands_are_there_when_named_or_when_all_are_listed() -> None:
    for argv in (None, [], ["--help"], ["--log-level", "bench", "eval"], ["bench", "--quick"]):
        assert {"eval", "train", "bench", "serve"} <= commands_of(build_parser(argv)), argv
    args = build_parser(["--log-level", "WARNING", "bench"]).parse_args(
        ["--log-level", "WARNING", "bench"]
    )
    assert args.command == "bench" and args.log_level == "WARNING"
