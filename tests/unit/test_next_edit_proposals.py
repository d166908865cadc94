"""Unit tests for next-edit proposals: verification, the deterministic sources (repair's among
them), the first that verifies, and the next-edit predictor's features, score and file."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tests.hunks import hunk_between

from ghostwright.edits.history import Hunk
from ghostwright.edits.judge import NextEditFeatures, NextEditPredictor, features_of
from ghostwright.edits.proposal import (
    MAX_CHANGED_CHARS,
    MAX_CHANGES,
    WHOLE_CHECK_LINES,
    Proposal,
    Region,
    check_region,
    verify_proposal,
)
from ghostwright.edits.propose import (
    deterministic_proposals,
    first_verified,
    repair_proposals,
)
from ghostwright.repair.verify import TextChange
from ghostwright.syntax import SyntaxTree

# The person renamed the parameter `result` to `total`; its uses still say `result`.
RENAMED = "def f(total):\n    y = result + 1\n    return result * y\n"
LAST = Hunk(6, "result", "total", 0.0)
FIRST_USE = RENAMED.index("result")
SECOND_USE = RENAMED.rindex("result")


def rename_uses(*texts: str) -> Proposal:
    """A proposal replacing the two uses of `result` with the given texts."""
    return Proposal(
        "rename",
        (
            TextChange(FIRST_USE, FIRST_USE + 6, texts[0]),
            TextChange(SECOND_USE, SECOND_USE + 6, texts[1]),
        ),
        "rename",
    )


def after_change(before: str, after: str, language_id: str = "python") -> tuple[SyntaxTree, Hunk]:
    """The tree of `after` (updated from `before` as the server's is) and the hunk between."""
    hunk = hunk_between(before, after)
    tree = SyntaxTree(language_id, before)
    tree.apply_edit(hunk.start, hunk.start + len(hunk.old), hunk.new)
    assert tree.text == after
    return tree, hunk


# --- Proposal --------------------------------------------------------------------------------


def test_a_proposal_applies_its_changes_in_order() -> None:
    proposal = rename_uses("total", "total")
    assert proposal.start == FIRST_USE
    assert proposal.end == SECOND_USE + 6
    assert proposal.apply(RENAMED) == "def f(total):\n    y = total + 1\n    return total * y\n"


# --- verification ----------------------------------------------------------------------------


def test_a_correct_rename_verifies() -> None:
    tree = SyntaxTree("python", RENAMED)
    assert verify_proposal(tree, rename_uses("total", "total"), LAST) is None


def test_an_empty_proposal_is_refused() -> None:
    tree = SyntaxTree("python", RENAMED)
    assert verify_proposal(tree, Proposal("rename", (), ""), LAST) == "it changes nothing"


def test_overlapping_edits_are_refused() -> None:
    tree = SyntaxTree("python", RENAMED)
    proposal = Proposal(
        "rename",
        (
            TextChange(FIRST_USE, FIRST_USE + 6, "total"),
            TextChange(FIRST_USE + 2, FIRST_USE + 6, "x"),
        ),
        "",
    )
    assert verify_proposal(tree, proposal, LAST) == "its edits overlap"


def test_an_edit_of_the_last_change_is_refused() -> None:
    tree = SyntaxTree("python", RENAMED)
    undoing = Proposal("rename", (TextChange(6, 11, "result"),), "")
    assert verify_proposal(tree, undoing, LAST) == "it changes what was just typed"
    inside = Proposal("rename", (TextChange(8, 8, "x"),), "")
    assert verify_proposal(tree, inside, LAST) == "it changes what was just typed"
    overlapping_end = Proposal("rename", (TextChange(10, 12, "l,"),), "")
    assert verify_proposal(tree, overlapping_end, LAST) == "it changes what was just typed"


def test_an_insertion_next_to_the_last_change_is_allowed() -> None:
    tree = SyntaxTree("python", RENAMED)
    after = Proposal("rename", (TextChange(11, 11, "=0"),), "")
    before = Proposal("rename", (TextChange(6, 6, "*"),), "")
    assert verify_proposal(tree, after, LAST) is None
    assert verify_proposal(tree, before, LAST) is None


def test_a_change_adding_an_undefined_name_is_refused() -> None:
    tree = SyntaxTree("python", RENAMED)
    reason = verify_proposal(tree, rename_uses("totl", "total"), LAST)
    assert reason == "it adds a problem: undefined name 'totl'"


def test_a_syntax_error_on_an_edited_line_is_refused() -> None:
    tree = SyntaxTree("python", RENAMED)
    reason = verify_proposal(tree, rename_uses("total)", "total"), LAST)
    assert reason is not None
    assert reason.startswith("it does not parse: ")


def test_a_syntax_error_already_there_elsewhere_does_not_block() -> None:
    text = "def f(total):\n    y = result + 1\n    return result * y\n\nz = (\n"
    tree = SyntaxTree("python", text)
    assert verify_proposal(tree, rename_uses("total", "total"), LAST) is None


def test_too_many_places_or_characters_are_refused() -> None:
    tree = SyntaxTree("python", RENAMED)
    places = tuple(TextChange(30 + i, 30 + i, "") for i in range(MAX_CHANGES + 1))
    assert verify_proposal(tree, Proposal("rename", places, ""), None) == "it rewrites too much"
    long = "total" + " " * MAX_CHANGED_CHARS
    assert verify_proposal(tree, rename_uses(long, "total"), LAST) == "it rewrites too much"


MODEL_TEXT = (
    "def f(n):\n    for i in range(10):\n        print(i)\n        print(i * 2)\n    return n\n"
)
MODEL_LAST = Hunk(6, "", "n", 0.0)


def model(start: int, end: int, text: str) -> Proposal:
    return Proposal("model", (TextChange(start, end, text),), "model")


def test_a_model_proposal_that_comments_code_out_is_refused() -> None:
    tree = SyntaxTree("python", MODEL_TEXT)
    line = MODEL_TEXT.index("print(i)")
    reason = verify_proposal(tree, model(line, line, "# "), MODEL_LAST)
    assert reason == "it rewrites the code instead of editing it"


def test_a_model_proposal_that_drops_a_line_is_refused() -> None:
    tree = SyntaxTree("python", MODEL_TEXT)
    line = MODEL_TEXT.index("        print(i * 2)")
    dropped = model(line, line + len("        print(i * 2)\n"), "")
    assert verify_proposal(tree, dropped, MODEL_LAST) == (
        "it rewrites the code instead of editing it"
    )
    # The same deletion from a deterministic source is no model rewrite: only pyflakes checks.
    assert verify_proposal(tree, Proposal("repair", dropped.changes, ""), MODEL_LAST) is None


def test_a_model_proposal_replacing_one_token_verifies() -> None:
    tree = SyntaxTree("python", MODEL_TEXT)
    ten = MODEL_TEXT.index("10")
    assert verify_proposal(tree, model(ten, ten + 2, "n"), MODEL_LAST) is None
    grown = MODEL_TEXT.index("(i)") + 2
    assert verify_proposal(tree, model(grown, grown, " * n"), MODEL_LAST) is None


def test_checks_run_on_the_top_level_statements_of_a_long_document() -> None:
    head = "import os\n\n"
    filler = "".join(f"x_{i} = {i}\n" for i in range(WHOLE_CHECK_LINES))
    text = head + filler + RENAMED + filler
    tree = SyntaxTree("python", text)
    start = len(head + filler)
    assert check_region(tree, start + 20, start + 30) == Region(start, start + len(RENAMED))
    short = SyntaxTree("python", RENAMED)
    assert check_region(short, 20, 30) == Region(0, len(RENAMED))
    # The unused `os` far away is not this proposal's concern; the rename in its region is.
    shifted = Proposal(
        "rename",
        (
            TextChange(start + FIRST_USE, start + FIRST_USE + 6, "total"),
            TextChange(start + SECOND_USE, start + SECOND_USE + 6, "total"),
        ),
        "",
    )
    last = Hunk(start + 6, "result", "total", 0.0)
    assert verify_proposal(tree, shifted, last) is None


# --- the deterministic sources ---------------------------------------------------------------


def test_removing_the_last_use_of_an_import_proposes_removing_the_import() -> None:
    before = "import json\n\ndef f(x):\n    return json.dumps(x)\n"
    tree, last = after_change(before, "import json\n\ndef f(x):\n    return str(x)\n")
    (proposal,) = list(repair_proposals(tree, last))
    assert proposal.source == "repair"
    assert proposal.label == "fix: 'json' imported but unused"
    assert proposal.changes == (TextChange(0, 12, ""),)
    chosen, refused = first_verified(tree, deterministic_proposals(tree, last), last)
    assert chosen == proposal
    assert refused == []
    assert chosen.apply(tree.text) == "\ndef f(x):\n    return str(x)\n"


def test_using_os_path_without_importing_os_proposes_the_import() -> None:
    before = "def f(p):\n    return p\n"
    tree, last = after_change(before, "def f(p):\n    return os.path.join(p)\n")
    chosen, refused = first_verified(tree, deterministic_proposals(tree, last), last)
    assert chosen is not None
    assert chosen.source == "repair"
    assert chosen.label == "fix: undefined name 'os'"
    assert chosen.apply(tree.text) == "import os\ndef f(p):\n    return os.path.join(p)\n"
    assert refused == []


def test_a_syntax_error_the_change_caused_is_not_proposed() -> None:
    tree, last = after_change("def f(p):\n    return p\n", "def f(p):\n    return (p\n")
    assert list(repair_proposals(tree, last)) == []
    assert first_verified(tree, deterministic_proposals(tree, last), last) == (None, [])


def test_a_problem_that_was_there_before_the_change_is_not_proposed() -> None:
    before = "import os\n\ndef f(p):\n    return p\n"
    tree, last = after_change(before, "import os\n\ndef f(p):\n    return p + 1\n")
    assert list(repair_proposals(tree, last)) == []


def test_a_name_that_became_undefined_by_a_rename_is_left_to_the_rename() -> None:
    before = (
        "def f(items):\n    total = 0\n    for i in items:\n        total += i\n    return total\n"
    )
    tree, last = after_change(before, before.replace("    total = 0", "    totl = 0"))
    chosen, _ = first_verified(tree, deterministic_proposals(tree, last), last)
    assert chosen is not None
    assert chosen.source == "rename"
    assert chosen.label == "rename total → totl (2 more places)"
    assert chosen.apply(tree.text) == before.replace("total", "totl")
    assert list(repair_proposals(tree, last)) == []


def test_sources_are_tried_in_order_and_only_those_asked_for() -> None:
    before = "def f(result):\n    return result\n"
    tree, last = after_change(before, "def f(total):\n    return result\n")
    (rename,) = list(deterministic_proposals(tree, last, ("rename",)))
    assert rename.label == "rename result → total (1 more place)"
    assert rename.apply(tree.text) == "def f(total):\n    return total\n"
    assert [p.source for p in deterministic_proposals(tree, last, ("repair",))] == []
    assert list(deterministic_proposals(tree, last, ())) == []


def test_call_arguments_source_labels_its_calls() -> None:
    tree, last = after_change("f(a)\nf(b)\nf(c)\n", "f(a, 1)\nf(b)\nf(c)\n")
    (proposal,) = list(deterministic_proposals(tree, last, ("call-arguments",)))
    assert proposal.label == "the same arguments at 2 other calls"
    assert proposal.apply(tree.text) == "f(a, 1)\nf(b, 1)\nf(c, 1)\n"


def test_first_verified_skips_refused_candidates_and_says_why() -> None:
    tree = SyntaxTree("python", RENAMED)
    bad = rename_uses("totl", "total")
    good = rename_uses("total", "total")
    chosen, refused = first_verified(tree, [bad, Proposal("repair", (), ""), good], LAST)
    assert chosen is good
    assert refused == [
        "rename: it adds a problem: undefined name 'totl'",
        "repair: it changes nothing",
    ]
    assert first_verified(tree, [bad], LAST) == (
        None,
        ["rename: it adds a problem: undefined name 'totl'"],
    )


# --- the next-edit predictor -------------------------------------------------------------------


def test_features_of_a_proposal() -> None:
    text = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n"
    proposal = Proposal(
        "call-arguments",
        (TextChange(text.index("c"), text.index("c") + 1, "cc"), TextChange(24, 25, "")),
        "",
    )
    hunks = [Hunk(0, "", "x", 0.0), Hunk(0, "zz", "a", 1.0)]
    features = features_of(text, proposal, cursor=2, hunks=hunks)
    assert features == NextEditFeatures(
        rename=0.0,
        call_arguments=1.0,
        repeat=0.0,
        repair=0.0,
        model=0.0,
        places=2.0,
        log_chars=math.log1p(1 + 2 + 1),
        log_distance_lines=math.log1p(2),
        log_span_lines=math.log1p(2),
        hunks=2.0,
        log_last_chars=math.log1p(3),
    )
    assert features.vector() == [
        0.0,
        1.0,
        0.0,
        0.0,
        0.0,
        2.0,
        math.log1p(4),
        math.log1p(2),
        math.log1p(2),
        2.0,
        math.log1p(3),
    ]


def test_features_without_history() -> None:
    proposal = Proposal("model", (TextChange(0, 0, "x"),), "")
    features = features_of("a\n", proposal, cursor=0, hunks=[])
    assert (features.model, features.hunks, features.log_last_chars) == (1.0, 0.0, 0.0)
    assert features.log_distance_lines == 0.0


def test_the_predictor_is_a_logistic_regression() -> None:
    proposal = Proposal("rename", (TextChange(0, 1, "ab"),), "")
    features = features_of("a\n", proposal, 0, [Hunk(0, "x", "yz", 0.0)])
    predictor = NextEditPredictor({"rename": 2.0, "places": -1.0, "unknown": 9.0}, 0.5, 0.6)
    assert math.isclose(predictor.score(features), 1 / (1 + math.exp(-1.5)))
    assert NextEditPredictor({}, 0.0, 0.5).score(features) == 0.5
    assert NextEditPredictor({"places": 1e6}, 0.0, 0.5).score(features) == 1 / (1 + math.exp(-50))


def test_the_predictor_loads_what_it_saves(tmp_path: Path) -> None:
    predictor = NextEditPredictor({"rename": 1.25, "places": -0.5}, -0.75, 0.4)
    path = tmp_path / "predictor.json"
    path.write_text(json.dumps(predictor.to_json()), encoding="utf-8")
    assert NextEditPredictor.load(path) == predictor


def test_a_missing_or_broken_predictor_file_loads_as_none(tmp_path: Path) -> None:
    assert NextEditPredictor.load(tmp_path / "absent.json") is None
    broken = tmp_path / "broken.json"
    for content in (
        "{",
        "[]",
        '{"weights": {}, "bias": 0}',
        '{"weights": 1, "bias": 0, "threshold": 0}',
    ):
        broken.write_text(content, encoding="utf-8")
        assert NextEditPredictor.load(broken) is None, content
    wrong_type = {"weights": {"rename": "high"}, "bias": 0, "threshold": 0.5}
    broken.write_text(json.dumps(wrong_type), encoding="utf-8")
    assert NextEditPredictor.load(broken) is None


def test_a_long_file_is_checked_in_the_outermost_function_of_the_edits() -> None:
    """A method of a long file is checked alone, as the body of a `class _:`; a problem
    outside it does not count, one inside it does."""
    filler = "".join(f"def f{i}():\n    return undefined_{i}\n" for i in range(600))
    method = (
        "class Box:\n"
        "    @staticmethod\n"
        "    def area(width, height):\n"
        "        result = width * height\n"
        "        return result\n"
    )
    text = filler + method
    tree = SyntaxTree("python", text)
    start = text.index("return result") + len("return ")
    region = check_region(tree, start, start + len("result"))
    assert region.prefix == "class _:\n"
    assert region.of(text) == "class _:\n" + method[len("class Box:\n") :]
    good = Proposal("rename", (TextChange(start + 6, start + 6, " * 2"),), "")
    assert verify_proposal(tree, good, None) is None
    bad = Proposal("rename", (TextChange(start + 6, start + 6, " + missing"),), "")
    assert verify_proposal(tree, bad, None) == "it adds a problem: undefined name 'missing'"
