"""KV cache reuse in the local engine, with the real default model loaded in-process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghostwright.engine.local import SHIFT_REUSE_MIN, WARM_CHUNK, LocalEngine
from ghostwright.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def engine(default_model_path: Path) -> Iterator[LocalEngine]:
    loaded = LocalEngine(default_model_path, Settings(context_size=2048))
    yield loaded
    loaded.close()


def generate(engine: LocalEngine, tokens: list[int]) -> tuple[str, int, int, int]:
    result = engine.generate(
        tokens, max_tokens=12, should_stop=lambda text: "\n" in text, cancelled=threading.Event()
    )
    return result.text, result.reused_tokens, result.shifted_tokens, result.evaluated_tokens


def test_a_moved_window_reuses_the_cached_run_by_shifting_it(engine: LocalEngine) -> None:
    source = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    head = engine.tokenize("".join(lines[:8]))
    rest = engine.tokenize("".join(lines[8:30]))
    assert len(rest) > 2 * SHIFT_REUSE_MIN
    generate(engine, head + rest)
    # The window moved down the file: the first lines fell off, the rest is cached but at
    # later positions.
    _, reused, shifted, evaluated = generate(engine, rest)
    assert shifted >= len(rest) - SHIFT_REUSE_MIN
    assert reused == shifted and evaluated == len(rest) - reused


def test_a_common_prefix_is_reused_without_shifting(engine: LocalEngine) -> None:
    tokens = engine.tokenize("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return")
    generate(engine, tokens)
    _, reused, shifted, evaluated = generate(engine, tokens + engine.tokenize(" a"))
    assert reused >= len(tokens) - 1 and shifted == 0 and evaluated <= 2


def test_unrelated_prompts_reuse_nothing(engine: LocalEngine) -> None:
    generate(engine, engine.tokenize("import os\nprint(os.getcwd())\n" * 4))
    _, reused, shifted, _ = generate(engine, engine.tokenize("class Point:\n    x: int\n"))
    assert shifted == 0 and reused <= 1


def test_shifted_cache_gives_a_sensible_continuation(engine: LocalEngine) -> None:
    """After a shift the model still continues the code it sees (not garbage)."""
    prelude = engine.tokenize("# " + "notes about nothing in particular. " * 12 + "\n")
    body = engine.tokenize(
        "def total(prices):\n    result = 0\n    for price in prices:\n        result += price\n"
        "    return result\n\n\ndef average(prices):\n    return total(prices) / len("
    )
    generate(engine, prelude + body)
    text, _, shifted, _ = generate(engine, body)
    assert shifted > 0
    assert text.strip().startswith("prices")


def test_a_warm_up_leaves_its_tokens_for_the_request_that_follows(engine: LocalEngine) -> None:
    document = engine.tokenize((EXAMPLES / "inventory.py").read_text(encoding="utf-8"))[:200]
    generate(engine, engine.tokenize("x = 1\n"))  # something else in the cache first
    assert engine.warm(document, threading.Event()) == len(document)
    _, reused, _, evaluated = generate(engine, document + engine.tokenize("\n\ndef f"))
    assert reused >= len(document) and evaluated <= 4
    assert engine.warm(document, threading.Event()) == 0  # all of it is there already


class CancelledAfter(threading.Event):
    """Reads as set from its `checks`+1-th look on: a request arriving mid-warm-up."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.left = checks

    def is_set(self) -> bool:
        self.left -= 1
        return self.left < 0


def test_a_cancelled_warm_up_stops_within_a_chunk_and_keeps_what_it_evaluated(
    engine: LocalEngine,
) -> None:
    document = engine.tokenize((EXAMPLES / "inventory.py").read_text(encoding="utf-8"))[:200]
    generate(engine, engine.tokenize("x = 1\n"))
    assert engine.warm(document, CancelledAfter(2)) == 2 * WARM_CHUNK
    _, reused, _, evaluated = generate(engine, document)
    assert reused == 2 * WARM_CHUNK and evaluated == len(document) - 2 * WARM_CHUNK


def test_a_drafted_generation_writes_the_same_text_in_fewer_model_steps(
    engine: LocalEngine,
) -> None:
    """Prompt lookup: a prompt that asks the model to copy code it was shown. The draft may
    only change how many tokens one step checks, never the text, and the KV cache afterwards
    holds exactly what a plain generation would have left (a later prompt reuses it)."""
    code = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")[:600]
    tokens = engine.tokenize(f"Original:\n{code}\nCopy:\n{code[:80]}")

    def run(lookahead: int) -> tuple[str, int]:
        engine.warm(engine.tokenize("unrelated = 0\n"), threading.Event())  # a cold start
        result = engine.generate(
            tokens,
            max_tokens=60,
            should_stop=lambda text: False,
            cancelled=threading.Event(),
            lookahead=lookahead,
        )
        return result.text, result.drafted_tokens

    plain, plain_drafted = run(0)
    drafted, drafted_tokens = run(10)
    assert drafted == plain and plain_drafted == 0
    assert drafted_tokens > 20  # most tokens came checked in batches, not one step each
    # The cache holds the prompt and the text's tokens, nothing rejected: continuing from
    # them evaluates only the new tail.
    follow = [*tokens, *engine.tokenize(drafted)]
    result = engine.generate(
        follow, max_tokens=1, should_stop=lambda text: True, cancelled=threading.Event()
    )
    assert result.reused_tokens >= len(tokens)


def test_a_rewrite_leaves_the_completion_prompt_in_its_kv_cache(engine: LocalEngine) -> None:
    """Next edits and repair run in the rewrite context: same weights, a KV cache of its own,
    so the completion's prompt is still cached when the person types on."""
    source = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    completion = engine.tokenize(source)[:300]
    generate(engine, completion)
    rewriter = engine.rewriter()
    assert rewriter is engine.rewriter() and rewriter.n_ctx <= engine.n_ctx
    rewrite = engine.tokenize("Fix this code:\n" + source[:400])
    _, _, _, rewrite_evaluated = generate(rewriter, rewrite)
    assert rewrite_evaluated == len(rewrite)
    # The completion's cache is untouched by the rewrite, and the rewrite's by the completion.
    assert engine.cached_tokens(completion) >= len(completion) - 1
    _, reused, _, evaluated = generate(engine, [*completion, *engine.tokenize("\n")])
    assert reused >= len(completion) - 1 and evaluated <= 3
    _, reused_rewrite, _, _ = generate(rewriter, rewrite)
    assert reused_rewrite == len(rewrite) - 1


def test_a_rewrite_context_closes_alone(default_model_path: Path) -> None:
    """Closing the rewrite context frees only its own KV cache: the model goes on completing;
    closing the model frees both."""
    loaded = LocalEngine(default_model_path, Settings(context_size=1024))
    try:
        rewriter = loaded.rewriter()
        generate(rewriter, loaded.tokenize("x = 1\n"))
        rewriter.close()
        text, _, _, _ = generate(loaded, loaded.tokenize("def add(a, b):\n    return"))
        assert text.strip()
    finally:
        loaded.close()


def test_the_prompt_time_estimate_follows_the_weights(engine: LocalEngine) -> None:
    """The cold window's planning estimate: the same for the same tokens every time (no
    timing in it), proportional to them, and none where layers run on a GPU."""
    if engine.gpu_layers:
        assert engine.prompt_seconds(100) is None
        return
    seconds = engine.prompt_seconds(100)
    assert seconds is not None and 0 < seconds < 1  # the 135M model: hundreds a second
    assert engine.prompt_seconds(200) == 2 * seconds == engine.prompt_seconds(100) * 2
