"""Unit tests for the completion eval: corpus split, position picking, metrics and reporting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghostwright.settings import Settings
from ghostwright_lab.corpus import (
    MAX_FILE_LINES,
    CorpusError,
    corpus_files,
    pick_positions,
    positions_in,
    split_of,
)
from ghostwright_lab.evals.completion_eval import (
    Attempt,
    EvalReport,
    Machine,
    compare,
    first_line,
    format_table,
    percentile,
    report_json,
    summarize,
)

SOURCE = '''\
import os

NAME = "a = b(c)"  # x = y(z)


def greet(name, loud=False):
    """Say hello = f(x)."""
    if loud == True:
        return name.upper()
    return f"hi {name}"
'''

# --- positions -------------------------------------------------------------------------------


def _where(source: str) -> set[tuple[int, int, str]]:
    return {(p.line, p.column, p.kind) for p in positions_in(Path("m.py"), source)}


def test_positions_are_statement_starts_and_after_equals_or_paren() -> None:
    assert _where(SOURCE) == {
        (3, 0, "statement"),
        (3, 6, "after_equals"),
        (6, 0, "statement"),
        (6, 10, "after_paren"),
        (6, 21, "after_equals"),
        (7, 4, "statement"),
        (8, 4, "statement"),
        (9, 8, "statement"),
        (10, 4, "statement"),
    }


def test_no_position_inside_strings_or_comments_nor_at_double_equals() -> None:
    columns_on_line_3 = {column for line, column, _ in _where(SOURCE) if line == 3}
    assert columns_on_line_3 == {0, 6}  # not inside the string, not inside the comment
    assert not {kind for line, _, kind in _where(SOURCE) if line in (7, 8) and kind != "statement"}


def test_no_position_without_text_before_or_without_content_after() -> None:
    # Line 1 has nothing before it; `upper(` is followed by `)` only.
    assert (1, 0, "statement") not in _where(SOURCE)
    assert not any(line == 9 and kind == "after_paren" for line, _, kind in _where(SOURCE))


def test_document_drops_the_rest_of_the_line_and_keeps_the_lines_after() -> None:
    (position,) = [p for p in positions_in(Path("m.py"), SOURCE) if (p.line, p.column) == (6, 21)]
    assert position.target == "False):"
    assert position.prefix.endswith("def greet(name, loud=")
    assert position.document[position.offset :].startswith('\n    """Say hello')
    assert position.document == SOURCE.replace("loud=False):", "loud=")


JAVA = """class A {\r
    int f(int x) {\r
        int y = g(x, 2);\r
        // z = h(x)\r
        String s = "a = b(";\r
        return y;\r
    }\r
}\r
"""


def test_other_languages_take_positions_from_their_tree() -> None:
    where = {(p.line, p.column, p.kind) for p in positions_in(Path("A.java"), JAVA)}
    assert where == {
        (2, 4, "statement"),
        (2, 10, "after_paren"),
        (3, 8, "statement"),
        (3, 15, "after_equals"),
        (3, 18, "after_paren"),
        (5, 8, "statement"),
        (5, 18, "after_equals"),
        (6, 8, "statement"),
    }  # nothing in the comment or the string; CRLF lines
    (call,) = [p for p in positions_in(Path("A.java"), JAVA) if (p.line, p.column) == (3, 18)]
    assert call.language == "java" and call.target == "x, 2);"
    assert call.document.split("\n")[2] == "        int y = g(\r"


def test_code_that_does_not_tokenize_gives_what_precedes_the_error() -> None:
    assert _where("x = 1\ny = (\n") == {(1, 3, "after_equals"), (2, 0, "statement")}


def _tree(root: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _module(index: int) -> str:
    return "\n".join(f"value_{index}_{k} = compute({k})" for k in range(10)) + "\n"


def test_picking_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    files = _tree(tmp_path, {f"m{i}.py": _module(i) for i in range(5)})
    first = pick_positions(files, 7, seed=3)
    assert first == pick_positions(files, 7, seed=3)
    assert first != pick_positions(files, 7, seed=4)
    assert len(first) == 7 and len(set(first)) == 7


def test_picking_spreads_over_files(tmp_path: Path) -> None:
    files = _tree(tmp_path, {f"m{i}.py": _module(i) for i in range(5)})
    assert len({p.file for p in pick_positions(files, 5, seed=0)}) == 5
    counts = [sum(p.file == f for p in pick_positions(files, 12, seed=0)) for f in files]
    assert sorted(counts) == [2, 2, 2, 3, 3]


def test_picking_stops_when_the_corpus_runs_out(tmp_path: Path) -> None:
    files = _tree(tmp_path, {"a.py": "x = 1\ny = f(2)\n", "b.py": "pass\n"})
    (tmp_path / "c.py").write_bytes(b"\xff\xfe not utf-8")
    picked = pick_positions([*files, tmp_path / "c.py"], 50, seed=0)
    assert {(p.line, p.kind) for p in picked} == {
        (1, "after_equals"),
        (2, "statement"),
        (2, "after_equals"),
        (2, "after_paren"),
    }


# --- corpus and split ------------------------------------------------------------------------


def test_split_is_by_top_level_package() -> None:
    assert split_of(Path("json/decoder.py")) == "validation"
    assert split_of(Path("email/mime/text.py")) == "validation"
    assert split_of(Path("json.py")) == "validation"
    assert split_of(Path("asyncio/events.py")) == "tune"
    assert split_of(Path("jsonrpc/x.py")) == "tune"


def test_corpus_files_respect_the_split_and_skip_tests_and_huge_files(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "json/decoder.py": "x = 1\n",
            "argparse.py": "x = 1\n",
            "asyncio/events.py": "x = 1\n",
            "test/test_json.py": "x = 1\n",
            "json/tests/helper.py": "x = 1\n",
            "unittest/test_case.py": "x = 1\n",
            "site-packages/pkg/mod.py": "x = 1\n",
            "huge.py": "x = 1\n" * (MAX_FILE_LINES + 1),
            "notes.txt": "x = 1\n",
        },
    )
    validation = [str(p.relative_to(tmp_path)) for p in corpus_files(tmp_path, "validation")]
    tune = [str(p.relative_to(tmp_path)) for p in corpus_files(tmp_path, "tune")]
    every = [str(p.relative_to(tmp_path)) for p in corpus_files(tmp_path, "all")]
    assert validation == ["json/decoder.py"]
    assert tune == ["argparse.py", "asyncio/events.py"]
    assert every == ["argparse.py", "asyncio/events.py", "json/decoder.py"]


def test_missing_corpus_or_empty_split_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not a directory"):
        corpus_files(tmp_path / "nope", "all")
    _tree(tmp_path, {"argparse.py": "x = 1\n"})
    with pytest.raises(CorpusError, match="validation is the packages email, http, json"):
        corpus_files(tmp_path, "validation")


# --- metrics ---------------------------------------------------------------------------------


def test_first_line_is_right_stripped() -> None:
    assert first_line(" foo(x)  \r\n    bar()\n") == " foo(x)"
    assert first_line("\nfoo") == ""


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([float(v) for v in range(1, 101)], 95) == pytest.approx(95.05)
    assert percentile([1.0, 2.0], 100) == 2.0


def test_summary_on_canned_answers() -> None:
    targets = [" compute(x)", "return a + b  ", "name)", "self.x = 1"]
    attempts = [
        Attempt(" compute(x)\n    more()", 10.0, 8.0),  # exact on the first line
        Attempt("return a + b", 20.0, 15.0),  # exact: both sides right-stripped
        Attempt("nam)", 30.0, 25.0),  # near miss
        Attempt(None, 40.0, None),  # declined
    ]
    summary = summarize(targets, attempts)
    assert (summary.positions, summary.shown, summary.exact) == (4, 3, 2)
    assert summary.shown_rate == 0.75
    assert summary.precision == pytest.approx(2 / 3)
    assert summary.exact_over_all == 0.5
    assert summary.edit_similarity == pytest.approx((1.0 + 1.0 + 8 / 9) / 3)
    assert summary.latency_p50_ms == 25.0
    assert summary.latency_p95_ms == pytest.approx(38.5)
    assert summary.model_p50_ms == 15.0


def test_summary_when_nothing_is_shown() -> None:
    summary = summarize(["x"], [Attempt(None, 5.0, None)])
    assert summary.precision is None and summary.edit_similarity is None
    assert summary.exact_over_all == 0.0 and summary.model_p50_ms is None
    with pytest.raises(ValueError, match="1 targets but 0 attempts"):
        summarize(["x"], [])


def test_ratios_are_ghostwright_over_naive() -> None:
    ours = summarize(["a", "b"], [Attempt("a", 10.0, 5.0), Attempt(None, 30.0, None)])
    naive = summarize(["a", "b"], [Attempt("x", 40.0, 40.0), Attempt("b", 60.0, 60.0)])
    ratios = compare(ours, naive)
    assert ratios.precision == pytest.approx(1.0 / 0.5)
    assert ratios.exact_over_all == pytest.approx(1.0)
    assert ratios.latency_p50 == pytest.approx(20.0 / 50.0)
    nothing = summarize(["a"], [Attempt(None, 1.0, None)])
    assert compare(ours, nothing).precision is None  # nothing to divide by


def _report(naive: bool) -> EvalReport:
    ours = summarize(["a", "b"], [Attempt("a", 10.0, 5.0), Attempt(None, 30.0, None)])
    theirs = summarize(["a", "b"], [Attempt("x", 40.0, 40.0), Attempt("b", 60.0, 60.0)])
    return EvalReport(
        corpus=Path("/lib/python3.11"),
        split="validation",
        language="python",
        seed=0,
        files_in_split=60,
        files_sampled=2,
        positions_by_kind={"statement": 1, "after_equals": 1},
        model=Path("/models/m.gguf"),
        settings=Settings(),
        machine=Machine("Linux", "3.11.7", 2),
        ghostwright=ours,
        naive=theirs if naive else None,
        ratios=compare(ours, theirs) if naive else None,
    )


def test_table_is_aligned_with_a_column_per_side() -> None:
    table = format_table(_report(naive=True)).splitlines()
    assert "2 positions in 2 of 60 files (validation split" in table[0]
    assert table[1] == "Positions: 1 after_equals, 1 statement"
    header, *rows = table[4:]
    assert header.split() == ["ghostwright", "naive", "ghostwright/naive"]
    precision = next(row for row in rows if row.startswith("precision"))
    assert precision.split()[1:] == ["100.0", "%", "50.0", "%", "2.00x"]
    assert len({len(row) for row in rows if "x" in row.split()[-1]}) == 1  # ratios right-aligned
    single = format_table(_report(naive=False)).splitlines()
    assert single[4].split() == ["ghostwright"]


def test_json_has_both_sides_ratios_machine_and_settings() -> None:
    payload = json.loads(json.dumps(report_json(_report(naive=True))))
    assert payload["ghostwright"]["shown"] == 1 and payload["naive"]["shown"] == 2
    assert payload["ratios"] == {
        "precision": 2.0,
        "exact_over_all": 1.0,
        "latency_p50": 0.4,
        "latency_p95": pytest.approx(29.0 / 59.0),
    }
    assert payload["machine"]["cores"] == 2 and payload["settings"]["max_tokens"] > 0
    assert json.loads(json.dumps(report_json(_report(naive=False))))["naive"] is None
