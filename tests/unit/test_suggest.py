"""`Suggester`: the one way a suggestion is made, step by step, and the same answer whether the
language server's service asks or `suggest()` runs the steps in one go (the CLI, the evals, the
simulation). The model is a fake that answers canned text; the parse trees and the steps are
real."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from lsprotocol import types
from tests.unit.test_pipeline_logic import FakeEngine, canned

from ghostwright.completion.pipeline import CompletionPipeline, CompletionRequest
from ghostwright.completion.service import CompletionService
from ghostwright.completion.suggest import Suggester
from ghostwright.documents import Documents
from ghostwright.engine.manager import ModelManager
from ghostwright.predictor.decide import Decision, Judge
from ghostwright.settings import Settings
from ghostwright.syntax import SyntaxTree

URI = "file:///area.py"
TEXT = "def area(r):\n    result = \n    return result\n"
OFFSET = TEXT.index("result = ") + len("result = ")
SETTINGS = Settings(max_lines=4, speculate=False)


class ScoredJudge:
    """A judge with fixed scores: the gate's and the filter's, against a 0.5 threshold."""

    def __init__(self, gate: float, filter_score: float) -> None:
        self.gate_score, self.filter_score = gate, filter_score
        self.judged: list[str] = []

    def cursor(self, *_: Any) -> None:
        return None

    def gate(self, _: Any) -> Decision:
        return Decision("gate", self.gate_score, 0.5, {"gate": 1.0})

    def judge(self, _cursor: Any, text: str, *_: Any) -> Decision:
        self.judged.append(text)
        return Decision("filter", self.filter_score, 0.5, {"filter": 1.0})


def request(text: str = TEXT, offset: int = OFFSET) -> CompletionRequest:
    return CompletionRequest(URI, 1, "python", text, offset)


def suggester(judge: ScoredJudge | None = None) -> Suggester:
    return Suggester(CompletionPipeline(SETTINGS), cast(Judge, judge))


def test_suggest_runs_every_step_and_the_filter_scores_what_is_shown() -> None:
    engine = FakeEngine(canned("3.14 * r * r"))
    judge = ScoredJudge(gate=0.9, filter_score=0.8)
    answer = suggester(judge).suggest(engine, request(), SyntaxTree("python", TEXT))
    [shown] = answer.shown
    assert shown.text == "3.14 * r * r"
    assert [checked.text for checked in answer.checked] == ["3.14 * r * r"]
    assert answer.checked[0].decision is None  # checked: before the predictor's filter
    assert shown.decision is not None and shown.score == 0.8  # the predictor's, not the model's
    assert shown.confidence == 0.5  # each fake token has probability 1/2
    assert judge.judged == ["3.14 * r * r"] and answer.hidden == ()


def test_the_gate_skips_the_model_for_an_automatic_request_but_not_an_invoked_one() -> None:
    engine = FakeEngine(canned("3.14 * r * r"))
    judge = ScoredJudge(gate=0.1, filter_score=0.1)
    tree = SyntaxTree("python", TEXT)
    answer = suggester(judge).suggest(engine, request(), tree)
    assert answer.shown == () and engine.calls == []
    [gated] = answer.hidden
    assert gated.suggestion is None and gated.decision.stage == "gate"
    invoked = suggester(judge).suggest(engine, request(), tree, invoked=True)
    assert [s.text for s in invoked.shown] == ["3.14 * r * r"]  # asked for: never hidden
    assert len(engine.calls) >= 1


def test_the_filter_hides_a_low_score_and_says_so() -> None:
    engine = FakeEngine(canned("3.14 * r * r"))
    answer = suggester(ScoredJudge(gate=0.9, filter_score=0.2)).suggest(
        engine, request(), SyntaxTree("python", TEXT)
    )
    assert answer.shown == ()
    [hidden] = answer.hidden
    assert hidden.suggestion is not None and hidden.suggestion.text == "3.14 * r * r"
    assert [s.text for s in answer.checked] == ["3.14 * r * r"]


def test_the_parse_check_falls_back_to_the_first_line_of_what_breaks_the_parse() -> None:
    text = "def area(r):\n    return \n"
    offset = text.index("return ") + len("return ")
    engine = FakeEngine(canned("r * r\n    print(]"))
    answer = suggester().suggest(engine, request(text, offset), SyntaxTree("python", text))
    assert [s.text for s in answer.shown] == ["r * r"]
    # Without a tree (a speculation's text) nothing is checked: the cleaned text as it is.
    unchecked = suggester().suggest(engine, request(text, offset), None)
    assert [s.text for s in unchecked.shown] == ["r * r\n    print(]"]


def test_context_comes_from_the_other_documents_trees() -> None:
    other = "def circle_area(radius):\n    return 3.14159 * radius * radius\n"
    text = "import math\n\ndef total(rs):\n    return sum(circle_area(r) for r in rs) + "
    with_context = suggester().with_context(
        request(text, len(text)),
        SyntaxTree("python", text),
        [("file:///geometry.py", SyntaxTree("python", other))],
    )
    assert any("def circle_area(radius)" in chunk.text for chunk in with_context.context)
    assert with_context.comment == "#"
    assert suggester().with_context(request(text, len(text)), None).context == ()


class Models:
    def __init__(self, engine: Any) -> None:
        self.completion_engine, self.engine = engine, None

    async def run(self, work: Any) -> Any:
        return await asyncio.to_thread(work)


async def test_the_service_answers_what_suggest_answers_at_the_same_cursor() -> None:
    """The server's path (caches, flights, the model thread) and `suggest()` (the CLI's, the
    evals') run the same steps: the same text, score and window at the same cursor."""
    documents = Documents()
    documents.open(types.TextDocumentItem(uri=URI, language_id="python", version=1, text=TEXT))
    for invoked in (False, True):
        engine = FakeEngine(canned("3.14 * r * r\n    print(result)"))
        judge = ScoredJudge(gate=0.9, filter_score=0.7)
        service = CompletionService(cast(ModelManager, Models(engine)), SETTINGS, documents)
        service.judge = cast(Judge, judge)
        served = await service.complete(request(), invoked=invoked)
        direct = suggester(judge).suggest(
            FakeEngine(canned("3.14 * r * r\n    print(result)")),
            request(),
            documents.get(URI).tree,
            invoked=invoked,
        )
        assert [(s.text, s.score, s.window) for s in served] == [
            (s.text, s.score, s.window) for s in direct.shown
        ]
        assert served, invoked
