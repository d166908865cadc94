"""The naive path: what a user gets from the same model without Ghostwright.

The same GGUF through llama-cpp-python's own `create_completion`: a sliding window of the last
characters before the cursor as a plain prompt, greedy, one line, no caches, no filters, no
gate. llama-cpp-python still keeps whatever token prefix happens to match the previous call;
with a window that slides on every keystroke that is usually nothing. The stock server
contender (`stock_server`) sends the same prompts (`naive_prompt`, `COMPLETION_PARAMS`).

In the replay the call blocks the editor, so keys typed meanwhile wait, and a result that
arrives after a key was typed is dropped. Nothing else runs beside it, so its replay keeps a
simulated clock: the gaps are not slept, only the model calls take real time, and the timeline
is what the person would have lived through. `replay_naive` runs in a process of its own (see
`bench`), so that its peak RSS is the naive path's alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghostwright.engine.local import llama_threads
from ghostwright.errors import GhostwrightError
from ghostwright.logs import route_llama_log
from ghostwright_lab.bench.replay import DEBOUNCE_S, ContenderRun, RequestOutcome, peak_rss_kib
from ghostwright_lab.bench.typing_trace import Trace, TraceCursor, accepted_part, apply_key

log = logging.getLogger(__name__)

WINDOW_CHARS = 4096
"""Characters of text before the cursor sent per request (about 1,000 tokens of code)."""

N_CTX = 2048
"""Context window of the naive model and of the stock server: the window's tokens and the
longest answer fit with room to spare."""

COMPLETION_PARAMS: dict[str, Any] = {"max_tokens": 64, "temperature": 0.0, "stop": ["\n"]}
NAIVE_PREFIX_CHARS = 2000
NAIVE_SUFFIX_CHARS = 1000
NAIVE_MAX_TOKENS = 256
"""Greedy, one line, at most 64 tokens: the same for the naive path and the stock server."""


def naive_prompt(prefix: str) -> str:
    """The prompt for a cursor after `prefix`: its last `WINDOW_CHARS` characters."""
    return prefix[-WINDOW_CHARS:]


@dataclass(frozen=True)
class NaiveResult:
    text: str
    latency_ms: float
    model_ms: float
    prompt_tokens: int
    evaluated_tokens: int


class NaiveCompleter:
    """One `llama_cpp.Llama` used the plain way (all layers on the GPU where the build can)."""

    def __init__(self, model_path: Path, *, n_ctx: int = N_CTX, threads: int = 0) -> None:
        import llama_cpp

        route_llama_log()
        generation_threads, prompt_threads = llama_threads(threads)  # as Ghostwright's engine
        self._llama = llama_cpp.Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=generation_threads,
            n_threads_batch=prompt_threads,
            n_gpu_layers=-1,
            verbose=False,
        )

    def complete(self, prefix: str, suffix: str = "") -> NaiveResult:
        """Greedy single-line continuation of the last `WINDOW_CHARS` characters of `prefix`
        (the text after the cursor, `suffix`, is not seen: a plain model has no place for it)."""
        return _timed_completion(self._llama, naive_prompt(prefix), echo=False, **COMPLETION_PARAMS)

    def close(self) -> None:
        self._llama.close()


class NaiveFim:
    """The plain fill-in-the-middle integration of a FIM model, the shape of llama.cpp's
    `/infill` without its caches: the model's FIM tokens around the last 2,000 characters
    before the cursor and the next 1,000 after it, greedy; one line, or until the model ends
    the middle (at most 256 tokens)."""

    def __init__(self, model_path: Path, threads: int = 0) -> None:
        import llama_cpp

        from ghostwright.engine.local import read_fim_tokens

        fim = read_fim_tokens(model_path)  # the tokens Ghostwright's prompt uses too
        if fim is None or fim.middle is None:
            raise GhostwrightError(f"{model_path.name} has no PSM FIM tokens: naive FIM cannot run")
        self._fim = (fim.prefix, fim.suffix, fim.middle)
        generation, prompt = llama_threads(threads)
        self._llama = llama_cpp.Llama(
            model_path=str(model_path),
            n_ctx=4096,
            n_threads=generation,
            n_threads_batch=prompt,
            n_gpu_layers=-1,
            verbose=False,
        )

    def complete(self, prefix: str, suffix: str, multi_line: bool = False) -> NaiveResult:
        """The model's fill between `prefix` and `suffix`: one line, or (`multi_line`) until
        the model ends the middle."""

        def tokens(text: str) -> list[int]:
            ids: list[int] = self._llama.tokenize(text.encode("utf-8"), add_bos=False)
            return ids

        pre, suf, mid = self._fim
        prompt = [pre, *tokens(prefix[-NAIVE_PREFIX_CHARS:]), suf]
        prompt += [*tokens(suffix[:NAIVE_SUFFIX_CHARS]), mid]
        return _timed_completion(
            self._llama,
            prompt,
            max_tokens=NAIVE_MAX_TOKENS if multi_line else 64,
            temperature=0.0,
            stop=None if multi_line else ["\n"],
        )

    def close(self) -> None:
        self._llama.close()


def _timed_completion(llama: Any, prompt: str | list[int], **params: Any) -> NaiveResult:
    """One `create_completion` with its wall time and llama.cpp's own timings."""
    import llama_cpp

    context = llama.ctx
    llama_cpp.llama_perf_context_reset(context)
    started = time.perf_counter()
    output: Any = llama.create_completion(prompt, **params)
    latency = (time.perf_counter() - started) * 1000.0
    perf = llama_cpp.llama_perf_context(context)
    return NaiveResult(
        text=str(output["choices"][0]["text"]),
        latency_ms=latency,
        model_ms=float(perf.t_p_eval_ms + perf.t_eval_ms),
        prompt_tokens=int(output["usage"]["prompt_tokens"]),
        evaluated_tokens=int(perf.n_p_eval),
    )


Completer = Callable[[str, str], NaiveResult]
"""A naive path's call: the text before the cursor and the text after it, to its answer."""


def _naive_outcome(
    result: NaiveResult, last_key: float, asked: float, *, on_time: bool
) -> RequestOutcome:
    suggested = bool(result.text.strip())
    arrived = asked + result.latency_ms / 1000.0
    return RequestOutcome(
        latency_ms=(arrived - last_key) * 1000.0 if suggested else None,
        asked_ms=(asked - last_key) * 1000.0,
        shown=suggested and on_time,
        source="model",
        model_ms=result.model_ms,
        overhead_ms=max(0.0, result.latency_ms - result.model_ms),
        prompt_tokens=result.prompt_tokens,
        reused_tokens=result.prompt_tokens - result.evaluated_tokens,
    )


def replay_naive_trace(
    complete: Completer, trace: Trace, speed: float
) -> tuple[list[RequestOutcome], list[int]]:
    """One region with a blocking completer on a simulated clock (seconds from its start).

    The person presses keys at their own times; the editor handles a key at that time or, when
    a call blocks it, when the call returns. The debounce runs from whichever is later, and a
    result that arrives after the person's next key is never shown. After the last key the
    person stops, and the last request's answer is shown. Returns the outcome of each request
    and the length of each accept.
    """
    outcomes: list[RequestOutcome] = []
    accepts: list[int] = []
    cursor = TraceCursor(trace)
    before = trace.region.document[: trace.region.offset]
    after = trace.region.document[trace.region.offset :]
    last_key = busy_until = 0.0
    while (key := cursor.peek()) is not None:
        due = last_key + key.gap_s / speed
        fire = max(last_key, busy_until) + DEBOUNCE_S / speed
        on_screen = ""
        if fire < due:
            result = complete(before, after)
            busy_until = fire + result.latency_ms / 1000.0
            outcome = _naive_outcome(result, last_key, fire, on_time=busy_until <= due)
            outcomes.append(outcome)
            on_screen = result.text if outcome.shown else ""
        accepted = accepted_part(on_screen, cursor.remaining) if on_screen else ""
        if accepted:
            before += accepted
            cursor.accept(len(accepted))
            accepts.append(len(accepted))
        else:
            before = apply_key(before, cursor.advance())
        last_key = due
    result = complete(before, after)
    asked = max(last_key, busy_until) + DEBOUNCE_S / speed
    outcomes.append(_naive_outcome(result, last_key, asked, on_time=True))
    return outcomes, accepts


def naive_completer(model_path: Path, threads: int = 0) -> NaiveCompleter | NaiveFim:
    """The naive path for this model: the naive FIM integration where the model has FIM
    tokens, else the plain prompt."""
    try:
        return NaiveFim(model_path, threads=threads)
    except GhostwrightError:
        return NaiveCompleter(model_path, threads=threads)


def replay_naive(
    traces: Sequence[Trace], model_path: Path, speed: float, threads: int = 0
) -> ContenderRun:
    """Write every trace's region with the naive path in the editor's place, with the
    llama.cpp threads Ghostwright's `threads` setting gives: for a fill-in-the-middle model
    the naive FIM integration (`NaiveFim`, one line), for any other the plain prompt.

    Meant to run in a fresh process: its peak RSS is this process's.
    """
    completer = naive_completer(model_path, threads)
    outcomes: list[RequestOutcome] = []
    accepts: list[int] = []
    try:
        started = time.perf_counter()
        for trace in traces:
            log.info("naive: writing %s (%d keys)", trace.region.path, len(trace.keys))
            found, accepted = replay_naive_trace(completer.complete, trace, speed)
            outcomes += found
            accepts += accepted
        wall = time.perf_counter() - started
    finally:
        completer.close()
    return ContenderRun(
        name="naive",
        outcomes=tuple(outcomes),
        accepts=tuple(accepts),
        typed_chars=sum(len(trace.region.text) for trace in traces),
        wall_s=wall,
        peak_rss_kib=peak_rss_kib("self"),
        notes=(
            "naive: simulated clock, so its replay wall time is the time spent in model calls; "
            "it ran in a process of its own, whose peak RSS is reported",
        ),
    )
