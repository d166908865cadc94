"""Infill tasks: holes cut from real-looking code, and the judges of a fill."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostwright_lab.evals.infill_eval import _position
from ghostwright_lab.evals.infill_tasks import (
    c_family_tasks,
    doctests_pass,
    line_matches,
    passes,
    python_tasks,
)

MODULE = '''import math


def hypotenuse(a, b):
    """The long side.

    >>> hypotenuse(3, 4)
    5.0
    """
    squares = a * a + b * b
    return math.sqrt(squares)


def clamp(value, low, high):
    """Between low and high.

    >>> clamp(5, 0, 3)
    3
    >>> clamp(-1, 0, 3)
    0
    """
    if value < low:
        return low
    return min(value, high)


def untested(x):
    return x + 1


class Box:
    def area(self, w, h):
        """
        >>> Box().area(2, 3)
        6
        """
        product = w * h
        return product
'''


@pytest.fixture()
def package(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "shapes").mkdir(parents=True)
    (root / "shapes" / "__init__.py").write_text("")
    (root / "shapes" / "geometry.py").write_text(MODULE)
    return root


def test_python_tasks_are_holes_the_doctests_judge(package: Path, tmp_path: Path) -> None:
    tasks = python_tasks(package, "shapes", ("line", "span", "midline"), 50, 0)
    kinds = {task.kind for task in tasks}
    assert kinds == {"line", "span", "midline"}
    for task in tasks:
        assert task.document.count("def ") == 1  # the function alone, with the imports
        assert task.document.startswith("import math\n\n\n")
        assert task.doctest is not None and task.doctest.module == "shapes.geometry"
        assert "untested" not in task.name  # no doctests, no tasks
        assert passes(task, task.truth, tmp_path / "judge")
        assert task.tested_module(task.truth) == MODULE
    method = [task for task in tasks if "Box.area" in task.name]
    assert method and all(task.document.split("\n")[3] == "class Box:" for task in method)


def test_a_wrong_fill_fails_and_a_different_right_one_passes(package: Path, tmp_path: Path) -> None:
    tasks = python_tasks(package, "shapes", ("line",), 50, 0)
    [square] = [task for task in tasks if task.truth.startswith("squares =")]
    assert passes(square, "squares = b ** 2 + a ** 2", tmp_path / "judge")
    assert not passes(square, "squares = a + b", tmp_path / "judge")


def test_a_fill_that_loops_forever_fails_after_the_timeout(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ghostwright_lab.evals.infill_tasks as infill_tasks

    monkeypatch.setattr(infill_tasks, "DOCTEST_TIMEOUT_S", 2.0)
    tasks = python_tasks(package, "shapes", ("line",), 50, 0)
    [square] = [task for task in tasks if task.truth.startswith("squares =")]
    assert not doctests_pass(square.doctest, square.tested_module("while True: pass"), tmp_path)


def test_a_span_is_replaced_by_one_line_with_its_indentation(package: Path) -> None:
    spans = python_tasks(package, "shapes", ("span",), 50, 0)
    [clamp] = [task for task in spans if task.truth == "if value < low:\n        return low"]
    line_start = clamp.document.rfind("\n", 0, clamp.offset) + 1
    assert clamp.document[line_start : clamp.offset] == "    "
    assert clamp.document[clamp.offset :].startswith("\n    return min(value, high)")


def test_midline_tasks_leave_code_after_the_cursor(package: Path) -> None:
    for task in python_tasks(package, "shapes", ("midline",), 50, 0):
        rest = task.document[task.offset :].split("\n", 1)[0]
        assert any(char.isalnum() for char in rest), rest


C_SOURCE = "\r\n".join(
    [
        "int f(int n) {",
        "    int s = 0;",
        "    for (int i = 0; i < n; i++) {",
        "        s += i;",
        "    }",
        "    if (s > 10) return 1;",
        "    return 0;",
        "}",
        "",
    ]
)


def test_c_family_tasks_cut_conditions_with_code_after_them(tmp_path: Path) -> None:
    source = tmp_path / "f.c"
    source.write_bytes(C_SOURCE.encode())
    tasks = c_family_tasks([source], 5, 5, 0)
    assert sorted(task.truth for task in tasks) == ["int i = 0; i < n; i++", "s > 10"]
    for task in tasks:
        assert task.language == "c" and task.doctest is None
        assert "\r\n" in task.document  # CRLF kept
        assert line_matches(task, task.truth)
        assert line_matches(task, "  " + task.truth.replace(" ", "  "))  # spacing is not judged
        assert not line_matches(task, task.truth + ") {")  # the echo of the rest is wrong
        assert not line_matches(task, task.truth + "\nmore")


def test_lsp_positions_count_utf16_units_and_every_line_break() -> None:
    assert _position("a\r\nb😀c", 5) == (1, 3)
    assert _position("x\ry\nz", 4) == (2, 0)


def test_the_eval_asks_every_contender_each_task_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Interleaved, so that the machine's speed drifting during a run slows every contender
    alike: each task goes to the server, then the naive paths, before the next task."""
    import asyncio
    import contextlib
    from collections.abc import AsyncIterator
    from dataclasses import dataclass

    from ghostwright_lab.evals import infill_eval
    from ghostwright_lab.evals.infill_tasks import InfillTask

    asked: list[tuple[str, str]] = []

    @contextlib.asynccontextmanager
    async def session(model: Path) -> AsyncIterator[object]:
        async def ask(number: int, task: InfillTask) -> tuple[str, float]:
            asked.append(("ghostwright", task.name))
            return "x", 1.0

        yield ask

    @dataclass
    class Result:
        text: str

    class Naive:
        def __init__(self, model: Path) -> None:
            self.warmed = False

        def complete(self, prefix: str, suffix: str, multi_line: bool = False) -> Result:
            if not self.warmed:
                self.warmed = True  # the untimed warm-up comes first, once
            else:
                name = "naive-fim-multi" if multi_line else "naive-fim"
                asked.append((name, prefix))
            return Result("y")

        def close(self) -> None:
            pass

    monkeypatch.setattr(infill_eval, "_ghostwright_session", session)
    monkeypatch.setattr(infill_eval, "NaiveFim", Naive)
    tasks = [InfillTask("line", "python", f"t{n}", f"t{n}", 2, "") for n in range(2)]
    found = asyncio.run(
        infill_eval._fills(tasks, Path("model.gguf"), infill_eval.CONTENDERS, lambda n: None)
    )
    assert asked == [
        ("ghostwright", "t0"),
        ("naive-fim", "t0"),
        ("naive-fim-multi", "t0"),
        ("ghostwright", "t1"),
        ("naive-fim", "t1"),
        ("naive-fim-multi", "t1"),
    ]
    assert found["ghostwright"] == [("x", 1.0), ("x", 1.0)]
    assert [text for text, _ in found["naive-fim"]] == ["y", "y"]
