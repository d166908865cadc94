"""Unit tests for the completion pipeline's plain logic, and its wiring with a fake engine."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from ghostwright.completion.pipeline import CompletionPipeline, CompletionRequest, Suggestion
from ghostwright.completion.plan import Plan, StopCheck, indentation, plan_completion
from ghostwright.completion.postprocess import Surroundings, clean_suggestion
from ghostwright.engine.base import Engine, Generation, StopCondition, common_prefix
from ghostwright.prompt import ContextChunk, FimTokens
from ghostwright.settings import Settings

# --- plan_completion ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "suffix"),
    [
        ("x = foo(", "a, b)"),
        ("x = ", "1 + 2"),
        ("print(", ") + len(y)\n"),
        ("def ", "f():\n    pass\n"),
    ],
)
def test_no_completion_when_code_follows_the_cursor(prefix, suffix):
    assert plan_completion(prefix, suffix, 4) is None


@pytest.mark.parametrize(
    ("prefix", "suffix"),
    [("x = foo(", "a, b)"), ("    for (", ") {\n        s += 1;\n"), ("if ", " {\r\n")],
)
def test_a_fill_in_the_middle_model_completes_one_line_before_code(prefix, suffix):
    plan = plan_completion(prefix, suffix, 4, fill_in_middle=True)
    assert plan is not None
    assert (plan.max_lines, plan.midline) == (1, True)
    assert plan.line_rest == suffix.split("\n")[0].rstrip("\r")


def test_a_fill_in_the_middle_model_keeps_the_other_plans():
    blank = plan_completion("def f():\n    ", "\n    return x\n", 4, fill_in_middle=True)
    closers = plan_completion("x = foo(", ")\n", 4, fill_in_middle=True)
    assert blank is not None and (blank.max_lines, blank.midline) == (4, False)
    assert closers is not None and (closers.max_lines, closers.midline) == (1, False)


@pytest.mark.parametrize("rest", [")", "))", "]", "}", "')", '"]', ");", "):", ")  ", ").", "`,"])
def test_single_line_when_only_closers_follow(rest):
    plan = plan_completion("    x = foo(", rest + "\nnext_line()\n", 4)
    assert plan is not None
    assert plan.max_lines == 1
    assert plan.line_prefix == "    x = foo("
    assert plan.line_rest == rest
    assert plan.block_indent == 4


@pytest.mark.parametrize("suffix", ["", "\n", "   \nreturn x\n", "\r\nmore\r\n", "\t\n"])
def test_multi_line_when_the_rest_of_the_line_is_blank(suffix):
    plan = plan_completion("def f():\n    x = ", suffix, 6)
    assert plan is not None
    assert plan.max_lines == 6
    assert plan.line_prefix == "    x = "
    assert plan.line_rest.strip() == ""


def test_one_line_where_the_body_of_the_line_to_write_is_already_below():
    plan = plan_completion("def f(r):\n    ", "\n        r -= 1\n    return r\n", 4)
    assert plan is not None and plan.max_lines == 1


def test_code_on_the_next_line_does_not_prevent_completion():
    plan = plan_completion("x = 1\n", "\ny = some_call(2)\n", 3)
    assert plan is not None
    assert plan.max_lines == 3


def test_block_indent_is_the_cursor_line_indent_when_it_has_text():
    plan = plan_completion("class A:\n    def f(self):\n        return se", "\n", 4)
    assert plan is not None
    assert plan.block_indent == 8


def test_block_indent_comes_from_the_previous_non_blank_line_on_a_blank_line():
    prefix = "def f():\n    x = 1\n        \n\n"
    plan = plan_completion(prefix, "\n", 4)
    assert plan is not None
    assert plan.line_prefix == ""
    assert plan.block_indent == 4


def test_block_indent_with_crlf_lines():
    plan = plan_completion("def f():\r\n\tx = 1\r\n", "\r\n", 4)
    assert plan is not None
    assert plan.line_prefix == ""
    assert plan.block_indent == 4  # a tab counts as 4
    assert plan.line_rest == ""


def test_block_indent_is_zero_at_the_top_of_a_file():
    plan = plan_completion("", "", 4)
    assert plan == Plan(max_lines=4, line_prefix="", line_rest="", block_indent=0)


def test_indentation_counts_tabs_as_four():
    assert indentation("    x") == 4
    assert indentation("\tx") == 4
    assert indentation("\t  x") == 6
    assert indentation("x") == 0
    assert indentation("   ") == 3


# --- StopCheck ----------------------------------------------------------------------------------


def body_plan(max_lines: int = 4) -> Plan:
    """A blank line inside a function body indented by 4."""
    plan = plan_completion("def f():\n    x = 1\n", "\n", max_lines)
    assert plan is not None and plan.block_indent == 4
    return plan


def test_stop_check_waits_for_a_finished_line():
    stop = StopCheck(body_plan())
    assert stop("") is False
    assert stop("    y = 2") is False
    assert stop("    y = 2\n") is False
    assert stop("    y = 2\n    z = 3\n") is False


def test_stop_check_stops_at_a_finished_line_that_dedents_below_the_block():
    stop = StopCheck(body_plan())
    assert stop("    y = 2\ndef g") is False  # the dedented line is not finished yet
    assert stop("    y = 2\ndef g():\n") is True


def test_stop_check_ignores_blank_lines_inside_the_block():
    stop = StopCheck(body_plan(max_lines=10))
    assert stop("    y = 2\n\n    z = 3\n") is False


def test_stop_check_stops_at_max_lines():
    stop = StopCheck(body_plan(max_lines=2))
    assert stop("    a = 1\n") is False
    assert stop("    a = 1\n    b = 2\n") is True


def test_stop_check_single_line_plan_stops_at_the_first_newline():
    plan = plan_completion("x = foo(", ")", 4)
    assert plan is not None and plan.max_lines == 1
    stop = StopCheck(plan)
    assert stop("a, b") is False
    assert stop("a, b\n") is True


def test_stop_check_uses_a_lower_limit_when_the_suggestion_starts_further_left():
    # The cursor is on a blank line after an indented block; the suggestion starts a new
    # top-level def, so only a line left of column 0 (none) would end it by dedent.
    plan = plan_completion("def f():\n    return 1\n\n", "", 5)
    assert plan is not None and plan.block_indent == 4
    stop = StopCheck(plan)
    assert stop("def g():\n    return 2\n") is False


# --- postprocess --------------------------------------------------------------------------------


def test_postprocess_cuts_at_a_dedent_below_the_block():
    text = "    y = 2\n    z = 3\ndef g():\n    pass\n"
    assert postprocess(text, body_plan(max_lines=10)) == "    y = 2\n    z = 3"


def test_postprocess_keeps_deeper_indented_lines():
    text = "    if y:\n        z = 3\n    w = 4"
    assert postprocess(text, body_plan(max_lines=10)) == text


def test_postprocess_cuts_at_max_lines():
    text = "    a = 1\n    b = 2\n    c = 3\n    d = 4"
    assert postprocess(text, body_plan(max_lines=2)) == "    a = 1\n    b = 2"


def test_postprocess_strips_trailing_blank_lines_and_whitespace():
    text = "    a = 1   \n   \n\n"
    assert postprocess(text, body_plan(max_lines=10)) == "    a = 1"


def test_postprocess_normalises_crlf():
    assert postprocess("    a = 1\r\n    b = 2\r\n", body_plan()) == "    a = 1\n    b = 2"


def test_postprocess_blank_generation_is_empty():
    assert postprocess("  \n\n \n", body_plan()) == ""
    assert postprocess("", body_plan()) == ""


def test_postprocess_drops_a_duplicated_closing_suffix():
    plan = plan_completion("x = foo(", ")", 4)
    assert plan is not None
    assert postprocess("a, b)", plan) == "a, b"
    assert postprocess("a, b", plan) == "a, b"


def test_postprocess_drops_a_duplicated_multi_character_closer():
    plan = plan_completion("x = foo(bar[", "])\n", 4)
    assert plan is not None and plan.line_rest == "])"
    assert postprocess("1 ])", plan) == "1"


def test_postprocess_keeps_a_closer_that_the_suffix_does_not_repeat():
    plan = plan_completion("x = foo(", "]", 4)
    assert plan is not None
    assert postprocess("a)", plan) == "a)"


def test_postprocess_single_line_cuts_after_the_first_line():
    plan = plan_completion("x = foo(", ")", 4)
    assert plan is not None
    assert postprocess("a, b\ny = 2\n", plan) == "a, b"
    assert postprocess("a, b)\ny = 2\n", plan) == "a, b"


def test_postprocess_only_the_duplicated_closer_is_empty():
    plan = plan_completion("x = foo(", ")", 4)
    assert plan is not None
    assert postprocess(")", plan) == ""


# --- CompletionPipeline.complete with a fake engine ----------------------------------------


def canned(text: str, **overrides: Any) -> Generation:
    values: dict[str, Any] = {
        "text": text,
        "token_logprobs": (math.log(0.5), math.log(0.5)),
        "token_entropies": (0.1, 0.2),
        "prompt_tokens": 42,
        "reused_tokens": 30,
        "evaluated_tokens": 12,
        "model_ms": 5.0,
        "stop_reason": "stop_condition",
    }
    values.update(overrides)
    return Generation(**values)


@dataclass
class FakeEngine:
    """Records what the pipeline asked for; a canned generation, streamed to `on_text` one
    character (token) at a time."""

    result: Generation
    fim: FimTokens | None = None
    n_ctx: int = 4096
    bos: int | None = 1
    calls: list[dict[str, Any]] = field(default_factory=list)
    kv_cache: Sequence[int] | None = None
    """The tokens its KV cache holds; None: whatever prompt it is asked about (a warm cache)."""

    def prompt_bos(self) -> int | None:
        return self.bos

    def tokenize(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def cached_tokens(self, prompt: Sequence[int]) -> int:
        return len(prompt) if self.kv_cache is None else common_prefix(self.kv_cache, prompt)

    def prompt_seconds(self, tokens: int) -> float | None:
        return tokens / 200.0  # a 0.5B code model on 2 cores

    def generate(
        self,
        prompt: Sequence[int],
        *,
        heal_index: int | None = None,
        max_tokens: int,
        should_stop: StopCondition,
        cancelled: threading.Event,
        time_budget_ms: float | None = None,
        branch: int = 0,
        on_text: Any = None,
        temperature: float = 0.0,
        seed: int = 0,
    ) -> Generation:
        self.calls.append(
            {
                "prompt": tuple(prompt),
                "heal_index": heal_index,
                "max_tokens": max_tokens,
                "should_stop": should_stop,
                "cancelled": cancelled,
            }
        )
        if on_text is not None:  # one token per character, each with probability 1/2
            logprobs: list[float] = []
            for end in range(1, len(self.result.text) + 1):
                logprobs.append(math.log(0.5))
                on_text(self.result.text[:end], logprobs, [0.1] * end)
        return self.result


def postprocess(text: str, plan: Plan) -> str:
    """The text filters with nothing around the cursor to compare against."""
    return clean_suggestion(text, Surroundings(plan=plan, line_above=""))


def request(text: str, offset: int | None = None) -> CompletionRequest:
    return CompletionRequest(
        uri="file:///t.py",
        version=3,
        language_id="python",
        text=text,
        offset=len(text) if offset is None else offset,
    )


def test_fake_engine_satisfies_the_protocol():
    engine: Engine = FakeEngine(canned("x"))
    assert engine.n_ctx == 4096


def test_complete_prefix_mode_wiring():
    text = "def f():\n    x = 1\n"
    engine = FakeEngine(canned("    return x\ndef g():\n    pass\n"))
    cancelled = threading.Event()
    pipeline = CompletionPipeline(Settings(max_tokens=20, max_lines=4))
    suggestion = pipeline.complete(engine, request(text + "\n", offset=len(text)), cancelled)

    assert len(engine.calls) == 1
    call = engine.calls[0]
    assert call["prompt"] == (1, *[ord(c) for c in text])
    assert call["heal_index"] == len(call["prompt"]) - 1
    assert call["max_tokens"] == 20
    assert call["cancelled"] is cancelled
    should_stop = call["should_stop"]
    assert should_stop("    return x\ndef g():\n") is True
    assert should_stop("    return x\n") is False

    assert suggestion is not None
    assert suggestion.text == "    return x"
    assert suggestion.mode == "prefix"
    assert suggestion.confidence == pytest.approx(0.5)
    assert suggestion.prompt_tokens == 42
    assert suggestion.reused_tokens == 30
    assert suggestion.evaluated_tokens == 12
    assert suggestion.model_ms == 5.0
    assert suggestion.stop_reason == "stop_condition"
    assert suggestion.total_ms >= 0
    assert len(suggestion.id) == 32


def test_complete_fim_mode_sends_the_suffix():
    fim = FimTokens(prefix=-1, suffix=-2, middle=-3)
    engine = FakeEngine(canned("a, b)"), fim=fim, bos=None)
    text = "total = foo()\ny = 2\n"
    offset = text.index(")")
    suggestion = CompletionPipeline(Settings()).complete(
        engine, request(text, offset), threading.Event()
    )
    call = engine.calls[0]
    expected = (-1, *[ord(c) for c in "total = foo("], -2, *[ord(c) for c in ")\ny = 2\n"], -3)
    assert call["prompt"] == expected
    assert call["prompt"][call["heal_index"]] == ord("(")
    assert suggestion is not None
    assert suggestion.mode == "fim"
    assert suggestion.text == "a, b"  # the duplicated ")" is dropped


def test_complete_limits_the_prompt_to_the_context_budget():
    # n_ctx 200, max_tokens 64: budget 128, prefix at most 96 tokens, suffix at most 32.
    fim = FimTokens(prefix=-1, suffix=-2, middle=-3)
    engine = FakeEngine(canned("z"), fim=fim, n_ctx=200, bos=None)
    prefix = "".join(f"p{i:03d}\n" for i in range(100))
    suffix = "\n" + "".join(f"s{i:03d}\n" for i in range(100))
    pipeline = CompletionPipeline(Settings(max_tokens=64))
    pipeline.complete(engine, request(prefix + suffix, len(prefix)), threading.Event())
    prompt = engine.calls[0]["prompt"]
    prefix_part = prompt[1 : prompt.index(-2)]
    suffix_part = prompt[prompt.index(-2) + 1 : -1]
    assert 0 < len(prefix_part) <= 96
    assert 0 < len(suffix_part) <= 32
    assert len(prompt) + 64 <= 200


# --- the cold window ------------------------------------------------------------------------

COLD_PREFIX = "".join(f"value_{i:03d} = {i}\n" for i in range(100))  # 1,600 characters (tokens)
COLD_SUFFIX = "\n" + "".join(f"other_{i:03d} = {i}\n" for i in range(40))
COLD_SETTINGS = Settings(cold_prompt_tokens=200, prefix_tokens=1024, suffix_tokens=256)
FIM = FimTokens(prefix=-1, suffix=-2, middle=-3)


def cold_request() -> CompletionRequest:
    chunk = ContextChunk("other.py", "def helper():\n    return 1\n", file="other.py")
    return replace(request(COLD_PREFIX + COLD_SUFFIX, len(COLD_PREFIX)), context=(chunk,))


def test_a_request_with_nothing_in_the_kv_cache_gets_the_cold_window() -> None:
    """The full prompt would evaluate 1,300 tokens: the cold window's 200 (three quarters of it
    before the cursor, the rest after, no context from other files) answer instead."""
    engine = FakeEngine(canned("1"), fim=FIM, bos=None, kv_cache=())
    suggestion = CompletionPipeline(COLD_SETTINGS).complete(
        engine, cold_request(), threading.Event()
    )
    prompt = engine.calls[0]["prompt"]
    assert len(prompt) <= 200 + 3
    assert 0 < prompt.index(-2) - 1 <= 150  # the prefix window
    assert "helper" not in "".join(chr(t) for t in prompt if t > 0)
    assert suggestion is not None and suggestion.window == "cold"
    assert suggestion.context == ()  # the model saw none


def test_a_request_whose_full_window_is_cached_gets_it() -> None:
    full = FakeEngine(canned("1"), fim=FIM, bos=None)  # holds every prompt
    CompletionPipeline(COLD_SETTINGS).complete(full, cold_request(), threading.Event())
    full_prompt = full.calls[0]["prompt"]
    assert len(full_prompt) > 1000
    engine = FakeEngine(canned("1"), fim=FIM, bos=None, kv_cache=full_prompt[:-20])
    suggestion = CompletionPipeline(COLD_SETTINGS).complete(
        engine, cold_request(), threading.Event()
    )
    assert engine.calls[0]["prompt"] == full_prompt
    assert suggestion is not None and suggestion.window == "full"
    assert suggestion.context == cold_request().context


def test_a_short_document_asked_cold_leaves_out_the_context_from_other_files() -> None:
    """The whole document fits either window; the other file's chunk, not in the KV cache,
    would be most of what the person waits for (130 of the limit's 200 tokens): a cold
    request goes without it."""
    text = "def area(r):\n    return "
    chunk = ContextChunk("other.py", "x = 1\n" * 15, file="other.py")
    asked = replace(request(text + "\n"), offset=len(text), context=(chunk,))
    engine = FakeEngine(canned("1"), fim=FIM, bos=None, kv_cache=())
    suggestion = CompletionPipeline(COLD_SETTINGS).complete(engine, asked, threading.Event())
    assert "x = 1" not in "".join(chr(t) for t in engine.calls[0]["prompt"] if t > 0)
    assert suggestion is not None and suggestion.window == "cold"
    full = FakeEngine(canned("1"), fim=FIM, bos=None)  # it all is in the KV cache
    assert CompletionPipeline(COLD_SETTINGS).complete(full, asked, threading.Event()) is not None
    assert "x = 1" in "".join(chr(t) for t in full.calls[0]["prompt"] if t > 0)


def test_a_prompt_under_half_the_cold_window_with_little_to_save_is_not_cold() -> None:
    """Cheap to evaluate whatever the KV cache holds, and the cold window would save less than
    `COLD_SAVING_S` of evaluation: the full prompt, context and all."""
    text = "def area(r):\n    return "
    chunk = ContextChunk("other.py", "x = 1\n" * 4, file="other.py")
    asked = replace(request(text + "\n"), offset=len(text), context=(chunk,))
    engine = FakeEngine(canned("1"), fim=FIM, bos=None, kv_cache=())
    suggestion = CompletionPipeline(COLD_SETTINGS).complete(engine, asked, threading.Event())
    assert len(engine.calls[0]["prompt"]) <= 100
    assert suggestion is not None and suggestion.window == "full"


def test_a_short_prompt_leaves_out_uncached_context_worth_a_third_of_a_second() -> None:
    """Under half the cold window, but most of it context from another file that the KV cache
    does not hold (about 100 tokens, 0.5 s at this engine's 200 a second): the person would
    wait for it on a freshly opened document, so the cold window answers; once the context is
    cached, the full prompt does."""
    settings = replace(COLD_SETTINGS, cold_prompt_tokens=400)
    text = "def area(r):\n    return "
    chunk = ContextChunk("other.py", "x = 1\n" * 15, file="other.py")
    asked = replace(request(text + "\n"), offset=len(text), context=(chunk,))
    engine = FakeEngine(canned("1"), fim=FIM, bos=None, kv_cache=())
    suggestion = CompletionPipeline(settings).complete(engine, asked, threading.Event())
    assert "x = 1" not in "".join(chr(t) for t in engine.calls[0]["prompt"] if t > 0)
    assert suggestion is not None and suggestion.window == "cold"
    full = FakeEngine(canned("1"), fim=FIM, bos=None)  # it all is in the KV cache
    found = CompletionPipeline(settings).complete(full, asked, threading.Event())
    assert len(full.calls[0]["prompt"]) <= 200  # under half the window
    assert "x = 1" in "".join(chr(t) for t in full.calls[0]["prompt"] if t > 0)
    assert found is not None and found.window == "full"


def test_no_cold_window_when_it_is_turned_off() -> None:
    engine = FakeEngine(canned("1"), fim=FIM, bos=None, kv_cache=())
    settings = replace(COLD_SETTINGS, cold_prompt_tokens=0)
    suggestion = CompletionPipeline(settings).complete(engine, cold_request(), threading.Event())
    assert len(engine.calls[0]["prompt"]) > 1000
    assert suggestion is not None and suggestion.window == "full"


def test_complete_returns_none_when_code_follows_and_does_not_generate():
    engine = FakeEngine(canned("anything"))
    text = "x = foo(a, b)\n"
    result = CompletionPipeline(Settings()).complete(
        engine, request(text, text.index("a")), threading.Event()
    )
    assert result is None
    assert engine.calls == []


def test_complete_returns_none_when_cancelled():
    engine = FakeEngine(canned("    y = 2", stop_reason="cancelled"))
    result = CompletionPipeline(Settings()).complete(
        engine, request("def compute():\n    "), threading.Event()
    )
    assert result is None
    assert len(engine.calls) == 1


def test_complete_returns_none_for_an_empty_suggestion():
    engine = FakeEngine(canned("\n\n   \n", stop_reason="eos"))
    result = CompletionPipeline(Settings()).complete(engine, request("x = 1\n"), threading.Event())
    assert result is None


def test_complete_score_is_zero_without_logprobs():
    engine = FakeEngine(canned("1", token_logprobs=(), stop_reason="eos"))
    suggestion = CompletionPipeline(Settings()).complete(
        engine, request("total_count = "), threading.Event()
    )
    assert suggestion is not None
    assert suggestion.text == "1"
    assert suggestion.confidence == 0.0
    assert suggestion.stop_reason == "eos"


def test_complete_lines_are_reported_as_they_are_generated():
    """While the first candidate generates, each completed line reports the suggestion of the
    complete lines so far, cleaned like a finished one, with the statistics of its tokens."""
    text = "def f(r):\n    x = r * 2\n"
    generated = "    y = x + 1\n\n    z = y * 2\n    return z\ndef g():\n"
    engine = FakeEngine(canned(generated))
    pipeline = CompletionPipeline(Settings(max_tokens=64, max_lines=6))
    raw: list[str] = []
    reported: list[Suggestion] = []
    found = pipeline.candidates(
        engine,
        request(text + "\nprint(f(1))\n", offset=len(text)),
        threading.Event(),
        count=1,
        on_text=raw.append,
        on_lines=reported.append,
    )
    assert raw[-1] == generated and len(raw) == len(generated)
    # One report per line break that completes new text; the blank line and the dedented
    # `def g():` (outside the block) are cleaned away as in the finished suggestion.
    assert [s.text for s in reported] == [
        "    y = x + 1",
        "    y = x + 1\n\n    z = y * 2",
        "    y = x + 1\n\n    z = y * 2\n    return z",
    ]
    first = reported[0]
    assert first.generated_tokens == len("    y = x + 1\n")
    assert len(first.token_logprobs) == len(first.token_entropies) == first.generated_tokens
    assert first.confidence == pytest.approx(0.5)
    assert first.stop_reason == "stop_condition" and first.source == "model"
    assert found and found[0].text == reported[-1].text


def test_no_lines_are_reported_for_a_single_unfinished_line():
    engine = FakeEngine(canned("x + 1"))
    reported: list[Suggestion] = []
    found = CompletionPipeline(Settings()).candidates(
        engine,
        request("def f(x):\n    return ", offset=None),
        threading.Event(),
        count=1,
        on_lines=reported.append,
    )
    assert found and found[0].text == "x + 1"
    assert reported == []
