"""The naive path: what a user gets from the same model without Ghostwright.

The same GGUF through llama-cpp-python's own `create_completion`: a sliding window of the last
characters before the cursor as a plain prompt, greedy, one line, no caches, no filters, no
gate. llama-cpp-python still keeps whatever token prefix happens to match the previous call;
with a window that slides on every keystroke that is usually nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

WINDOW_CHARS = 4096
"""Characters of text before the cursor sent per request (about 1,000 tokens of code)."""


@dataclass(frozen=True)
class NaiveResult:
    text: str
    latency_ms: float
    model_ms: float
    prompt_tokens: int
    evaluated_tokens: int


class NaiveCompleter:
    """One `llama_cpp.Llama` used the plain way."""

    def __init__(self, model_path: Path, *, n_ctx: int = 2048, threads: int | None = None) -> None:
        import os

        import llama_cpp

        self._lib = llama_cpp
        cores = threads or os.cpu_count() or 1
        self._llama = llama_cpp.Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=cores,
            n_threads_batch=cores,
            verbose=False,
        )

    def complete(self, prefix: str, *, max_tokens: int = 64) -> NaiveResult:
        """Greedy single-line continuation of the last `WINDOW_CHARS` characters of `prefix`."""
        window = prefix[-WINDOW_CHARS:]
        context = self._llama.ctx
        self._lib.llama_perf_context_reset(context)
        started = time.perf_counter()
        output = self._llama.create_completion(
            window, max_tokens=max_tokens, temperature=0.0, stop=["\n"], echo=False
        )
        latency = (time.perf_counter() - started) * 1000.0
        perf = self._lib.llama_perf_context(context)
        text = str(output["choices"][0]["text"])  # type: ignore[index]
        usage = output["usage"]  # type: ignore[index]
        return NaiveResult(
            text=text,
            latency_ms=latency,
            model_ms=float(perf.t_p_eval_ms + perf.t_eval_ms),
            prompt_tokens=int(usage["prompt_tokens"]),
            evaluated_tokens=int(perf.n_p_eval),
        )

    def close(self) -> None:
        self._llama.close()
