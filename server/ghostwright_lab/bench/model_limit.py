"""The limit: the model's own time for the tokens a request needs, and nothing else.

For each answer Ghostwright computed with the model (shown at once, or carried on into the
cache after the editor cancelled its request), its log says how many prompt tokens the request
had, how many were already in the KV cache, and how many tokens the model generated.
Any server, however lean, has to evaluate at least the prompt tokens missing from the cache
(one batch) and then each generated token once (each step's logits give the next token, the
last one's the token that ends the answer); sampling, post-processing and everything else are
not counted. This module times exactly
that with llama.cpp on the same model and settings as Ghostwright's engine: it fills the KV
cache with `reused` tokens (untimed), then decodes the `evaluated` tokens as one batch and the
generated ones one by one, and reads llama.cpp's own timings (`llama_perf_context`: prompt
eval + eval). The tokens are real code (the traced file's); on a dense model the time does not
depend on which tokens they are, only on how many and at which positions.

It runs in a process of its own (see `bench`), after the replay, so it never competes with a
contender for the cores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LimitRequest:
    """What one model-computed answer cost the model at least."""

    prompt_tokens: int
    reused_tokens: int
    """Prompt tokens the KV cache already held."""
    generated_tokens: int
    """Tokens the model generated for the answer."""


@dataclass(frozen=True)
class LimitTiming:
    model_ms: float
    """llama.cpp's prompt-eval plus eval time for this request's tokens."""
    evaluated_tokens: int
    generated_tokens: int


@dataclass(frozen=True)
class EngineShape:
    """The llama.cpp context settings of Ghostwright's engine (see `engine.local`)."""

    n_ctx: int
    threads: int
    """For prompt evaluation and generation both: the limit runs with nothing beside it."""
    gpu_layers: int


def measure_limits(
    model_path: Path, shape: EngineShape, requests: Sequence[LimitRequest], filler: str
) -> list[LimitTiming]:
    """The model's own time for each request, in order (meant to run in a fresh process)."""
    import llama_cpp

    from ghostwright.engine.local import PROMPT_BATCH
    from ghostwright.logs import route_llama_log

    route_llama_log()

    gpu_layers = shape.gpu_layers if llama_cpp.llama_supports_gpu_offload() else 0
    llama = llama_cpp.Llama(
        model_path=str(model_path),
        n_ctx=shape.n_ctx,
        n_batch=min(PROMPT_BATCH, shape.n_ctx),
        n_ubatch=min(512, shape.n_ctx),
        n_threads=shape.threads,
        n_threads_batch=shape.threads,
        n_gpu_layers=gpu_layers,
        flash_attn=True,
        logits_all=False,
        verbose=False,
    )
    try:
        n_ctx = int(llama.n_ctx())
        pool: list[int] = llama.tokenize(filler.encode("utf-8"), add_bos=False, special=False)
        if not pool:
            pool = [int(llama.token_bos())]
        while len(pool) < n_ctx:
            pool = pool + pool
        timings = []
        for request in requests:
            generated = request.generated_tokens
            reused = max(0, min(request.reused_tokens, n_ctx - 2))
            evaluated = max(0, min(request.prompt_tokens - reused, n_ctx - 1 - reused))
            steps = max(0, min(generated, n_ctx - reused - evaluated))
            if llama.n_tokens > reused:
                llama.n_tokens = reused  # the next eval drops the KV cache from here on
            context = llama.ctx
            if llama.n_tokens < reused:
                llama.eval(pool[llama.n_tokens : reused])
                llama_cpp.llama_synchronize(context)
            llama_cpp.llama_perf_context_reset(context)
            position = reused
            if evaluated:
                llama.eval(pool[position : position + evaluated])
                llama_cpp.llama_synchronize(context)  # llama.cpp adds up its timings here
                position += evaluated
            for _ in range(steps):
                llama.eval(pool[position : position + 1])
                llama_cpp.llama_synchronize(context)
                position += 1
            perf = llama_cpp.llama_perf_context(context)
            timings.append(
                LimitTiming(float(perf.t_p_eval_ms + perf.t_eval_ms), evaluated, generated)
            )
        return timings
    finally:
        llama.close()
