"""The local backend: one persistent llama.cpp context, driven token by token.

Ghostwright builds prompts as token lists and runs its own decode loop instead of
`Llama.create_completion`, so that it controls the KV cache (the longest common prefix with
the previous prompt is kept, only the rest is evaluated), records each chosen token's
log-probability and the entropy of its distribution without `logits_all`, and checks stop
conditions and cancellation after every token.
"""

from __future__ import annotations

import bisect
import codecs
import copy
import ctypes
import logging
import math
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ghostwright.engine.base import (
    Generation,
    StopCondition,
    StopRule,
    TextCallback,
    common_prefix,
    lookup_draft,
)
from ghostwright.engine.fim import resolve_fim
from ghostwright.engine.gguf import GgufInfo, read_gguf
from ghostwright.errors import ModelLoadError
from ghostwright.logs import route_llama_log
from ghostwright.prompt import FimTokens
from ghostwright.settings import Settings

log = logging.getLogger(__name__)


def llama_build_info() -> dict[str, Any]:
    """The llama.cpp build: version and whether it can offload layers to a GPU."""
    import llama_cpp

    route_llama_log()
    system = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    return {
        "llama_cpp_python": llama_cpp.__version__,
        "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
        "system_info": system.strip(),
    }


def _single_token(llama: Any, text: str) -> int | None:
    """The id of the one vocabulary token spelled `text` (special tokens included), or None."""
    try:
        tokens = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    except (RuntimeError, ValueError):
        return None
    return int(tokens[0]) if len(tokens) == 1 else None


def read_fim_tokens(path: Path) -> FimTokens | None:
    """FIM tokens of a model file, loading only its vocabulary (fast, no weights)."""
    import llama_cpp

    route_llama_log()
    info = read_gguf(path, check_tensors=False)
    llama = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    try:
        vocab = llama_cpp.llama_model_get_vocab(llama.model)
        return resolve_fim(llama_cpp, vocab, info, lambda text: _single_token(llama, text))
    finally:
        llama.close()


WARM_CHUNK = 32
"""Tokens per decode call of a warm-up: a request waits at most one chunk for it to stop
(~0.3 s for a 0.5B model on 2 cores)."""
PROMPT_BATCH = 2048
"""Tokens per decode call: a whole prompt window fits one batch."""
SHIFT_REUSE_MIN = 32
"""The shortest run of cached tokens worth moving to a new position rather than re-evaluating:
a run's keys were computed with the tokens before it, so tiny runs would carry more of the
removed text's influence than they save (llama.vim suggests 256 for large prompts)."""
CPU_PROMPT_BYTES_PER_S = 93e9
"""Weight bytes times prompt tokens a second on a CPU: a prompt token costs about one pass over
the weights. From the 2-core reference machine: Qwen2.5-Coder-0.5B Q4_K_M (491 MB) evaluates
about 190 prompt tokens a second (170-235 measured); SmolLM2-135M (98 MB) about five times as
many."""
REWRITE_CONTEXT = 2048
"""Tokens of the rewrite context's KV cache (`LocalEngine.rewriter`): a next edit's prompt
is a few hundred tokens, a repair's a unit of code; longer repair prompts lose their start."""


_KV_BYTES_PER_VALUE = 2
"""The KV cache holds f16 keys and values."""
_OVERHEAD_BYTES = 64 * 1024 * 1024
"""Compute buffers and the rest of a loaded model, beyond weights and KV cache."""


def required_bytes(info: GgufInfo, n_ctx: int) -> int:
    """About how much memory the model takes loaded: weights, KV cache for `n_ctx`, buffers."""
    arch = info.architecture

    def number(key: str) -> int:
        value = info.metadata.get(f"{arch}.{key}")
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0

    layers, width = number("block_count"), number("embedding_length")
    heads, kv_heads = number("attention.head_count"), number("attention.head_count_kv")
    kv_width = width * kv_heads // heads if heads and kv_heads else width
    kv_cache = 2 * layers * n_ctx * kv_width * _KV_BYTES_PER_VALUE
    return info.size_bytes + kv_cache + _OVERHEAD_BYTES


def memory_headroom_bytes() -> int | None:
    """Memory this process can still take: the system's available memory, and the address
    space left under this process's limit (`ulimit -v`), whichever is smaller; None when
    neither is known (not Linux)."""
    import resource

    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            with open("/proc/self/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmSize:"):
                        limits.append(soft - int(line.split()[1]) * 1024)
        except OSError:
            pass
    return min(limits) if limits else None


def physical_cores(cpus: Path = Path("/sys/devices/system/cpu")) -> int:
    """Physical cores this process may run on, hyperthread siblings counted once (as llama.cpp
    counts them for its own default); the logical count where the topology is not readable."""
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
    cores = set()
    for cpu in allowed:
        siblings = cpus / f"cpu{cpu}" / "topology" / "thread_siblings_list"
        try:
            cores.add(siblings.read_text(encoding="ascii").strip())
        except OSError:
            return max(1, len(allowed))
    return max(1, len(cores))


def llama_threads(setting: int, cores: int | None = None) -> tuple[int, int]:
    """(token generation, prompt evaluation) threads for the `threads` setting.

    `threads = N` uses N for both. 0 evaluates prompts on every physical core and generates on
    all but one: generating one token is a few small matrix products whose threads wait for
    each other at every step, so one thread slowed by the editor (or the server's own work on a
    keystroke) slows them all. Measured on 2 cores while an editor replayed typing: 13.6 ms per
    token on 2 threads, 9.3 ms on 1 (`make bench` uses the same split for every contender).
    """
    if setting > 0:
        return setting, setting
    available = cores if cores is not None else physical_cores()
    return max(1, available - 1), max(1, available)


def _check_memory(path: Path, required: int, headroom: int | None) -> None:
    """Refuse a model that cannot fit, with the numbers, instead of letting the OS kill the
    server (and the editor's completions with it) halfway through loading."""
    if headroom is not None and required > headroom:
        raise ModelLoadError(
            path,
            f"it needs about {required // 2**20} MB of memory and only {max(headroom, 0) // 2**20}"
            " MB are available; close other programs, lower `contextSize`, or choose a smaller"
            " model or quantization",
        )


class _Sampler:
    """Draws a token from the `top_k` most likely ones, softened by a temperature."""

    top_k = 40

    def __init__(self, temperature: float, seed: int) -> None:
        self._temperature = temperature
        self._random = np.random.default_rng(seed)

    def draw(self, logits: npt.NDArray[np.float32]) -> int:
        best = np.argpartition(-logits, self.top_k)[: self.top_k]
        scaled = logits[best].astype(np.float64) / self._temperature
        weights = np.exp(scaled - scaled.max())
        return int(best[self._random.choice(len(best), p=weights / weights.sum())])


class LocalEngine:
    """A GGUF model loaded in-process. Not thread-safe: one thread at a time may use it."""

    def __init__(self, path: Path, settings: Settings) -> None:
        import llama_cpp

        route_llama_log()
        self.info: GgufInfo = read_gguf(path)
        self.path = path
        self._lib = llama_cpp
        gpu_layers = settings.gpu_layers if llama_cpp.llama_supports_gpu_offload() else 0
        train_ctx = self.info.context_length or settings.context_size
        n_ctx = min(settings.context_size, train_ctx)
        generation_threads, prompt_threads = llama_threads(settings.threads)
        rewrite_ctx = min(REWRITE_CONTEXT, n_ctx)
        required = required_bytes(self.info, n_ctx + rewrite_ctx)
        _check_memory(path, required, memory_headroom_bytes())
        try:
            # One batch holds a whole prompt window, so a cold prompt is a single decode call;
            # flash attention is faster on CPU too (measured: 700 tokens 5.0 s vs 6.0 s here).
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_batch=min(PROMPT_BATCH, n_ctx),
                n_ubatch=min(512, n_ctx),
                n_threads=generation_threads,
                n_threads_batch=prompt_threads,
                n_gpu_layers=gpu_layers,
                flash_attn=True,
                logits_all=False,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(path, f"llama.cpp refused it ({exc})") from exc
        self.n_ctx: int = self._llama.n_ctx()
        self.n_vocab: int = self._llama.n_vocab()
        self.gpu_layers = gpu_layers
        self._vocab = llama_cpp.llama_model_get_vocab(self._llama.model)
        self.fim = resolve_fim(
            llama_cpp, self._vocab, self.info, lambda text: _single_token(self._llama, text)
        )
        self.add_bos: bool = bool(llama_cpp.llama_vocab_get_add_bos(self._vocab))
        self.bos: int = int(llama_cpp.llama_vocab_bos(self._vocab))
        self._context, self._batch, self._n_batch = (
            self._llama._ctx,
            self._llama._batch,
            self._llama.n_batch,
        )
        memory = llama_cpp.llama_get_memory(self._context.ctx)
        self._can_shift = bool(memory) and bool(llama_cpp.llama_memory_can_shift(memory))
        self._kv_tokens: list[int] = []
        self._rewrite_ctx = rewrite_ctx
        self._rewriter: LocalEngine | None = None
        self._shares_weights = False
        """True for a rewrite context: the weights belong to the engine that made it."""
        self._pieces: dict[int, bytes] = {}
        self._sorted_pieces: list[tuple[bytes, int]] | None = None
        self._piece_keys: list[bytes] = []

    def prompt_bos(self) -> int | None:
        return self.bos if self.add_bos and self.bos >= 0 else None

    def tokenize(self, text: str) -> list[int]:
        """Tokens of plain text; special-token markup in the text is not interpreted."""
        if not text:
            return []
        tokens: list[int] = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        return tokens

    def chat_prompt(
        self, messages: Sequence[tuple[str, str]], reply_start: str
    ) -> list[int] | None:
        """Tokens of a chat in the model's own chat template (GGUF `tokenizer.chat_template`),
        with the assistant's reply begun by `reply_start`; None when the model has no template
        (a base model: use a plain-text prompt)."""
        template = self._llama.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        bos = self._piece(self.bos).decode("utf-8", "replace") if self.bos >= 0 else ""
        eos_id = int(self._lib.llama_vocab_eos(self._vocab))
        eos = self._piece(eos_id).decode("utf-8", "replace") if eos_id >= 0 else ""
        try:
            formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
            rendered = formatter(
                messages=[{"role": role, "content": content} for role, content in messages]  # type: ignore[misc]
            ).prompt
        except Exception as exc:  # a template llama-cpp-python's Jinja cannot render
            log.warning("the model's chat template failed (%s); using a plain prompt", exc)
            return None
        text = rendered + reply_start
        add_bos = self.add_bos and not (bos and text.startswith(bos))
        tokens: list[int] = self._llama.tokenize(
            text.encode("utf-8"), add_bos=add_bos, special=True
        )
        return tokens

    def _is_end(self, token: int) -> bool:
        if self._lib.llama_vocab_is_eog(self._vocab, token):
            return True
        return self.fim is not None and token in self.fim.all_ids

    def _piece(self, token: int) -> bytes:
        """The bytes a token stands for (control tokens render as nothing); cached per token."""
        piece = self._pieces.get(token)
        if piece is None:
            size = 64
            while True:
                buffer = ctypes.create_string_buffer(size)
                written = self._lib.llama_token_to_piece(self._vocab, token, buffer, size, 0, False)
                if written >= 0:
                    piece = buffer.raw[:written]
                    break
                size = -written
            self._pieces[token] = piece
        return piece

    def _decode(
        self,
        tokens: Sequence[int],
        start: int,
        cancelled: threading.Event,
        every_row: bool = False,
    ) -> bool:
        """Evaluate `tokens` at positions from `start`; False if cancelled between batches.
        Logits are kept for the last token, or with `every_row` for each token of a single
        batch (a draft's verification)."""
        context, batch, n_batch = self._context, self._batch, self._n_batch
        for offset in range(0, len(tokens), n_batch):
            if cancelled.is_set():
                return False
            chunk = tokens[offset : offset + n_batch]
            batch.set_batch(batch=chunk, n_past=start + offset, logits_all=every_row)
            context.decode(batch)
            self._kv_tokens.extend(chunk)
        return True

    def _forget_after(self, kept: int) -> None:
        """Drop the KV cache's tokens from position `kept` on (a draft's rejected tail)."""
        if kept >= len(self._kv_tokens):
            return
        if not self._context.kv_cache_seq_rm(0, kept, -1):
            raise RuntimeError("llama.cpp could not drop a rejected draft from the KV cache")
        del self._kv_tokens[kept:]

    def _reuse_prefix(self, prompt: Sequence[int]) -> tuple[int, int]:
        """Keep what of the KV cache `prompt` can use; return (tokens kept, of them shifted).

        First the longest common prefix. Then, where the model's memory can shift positions
        (`llama_memory_can_shift`), runs of at least `SHIFT_REUSE_MIN` cached tokens that the
        prompt still holds but earlier (a context chunk dropped, the prefix window moved down
        the file) are moved into place: the cells in between are removed and the run's
        positions shifted (its keys re-rotated), instead of evaluating the run again. This is
        llama.cpp server's `--cache-reuse`, done in-process.
        """
        cache = self._kv_tokens
        common = self.cached_tokens(prompt)
        # The last prompt token is always re-evaluated so that fresh logits exist.
        limit = len(prompt) - 1
        common = min(common, limit)
        shifted = 0
        context = self._context
        if self._can_shift and common < len(cache):
            kept = list(cache[:common])
            head_c = head_p = common
            while head_c < len(cache) and head_p < limit:
                match = 0
                while (
                    head_c + match < len(cache)
                    and head_p + match < limit
                    and cache[head_c + match] == prompt[head_p + match]
                ):
                    match += 1
                if match >= SHIFT_REUSE_MIN:
                    if not context.kv_cache_seq_rm(0, head_p, head_c):
                        break
                    context.kv_cache_seq_shift(0, head_c, head_c + match, head_p - head_c)
                    kept += cache[head_c : head_c + match]
                    shifted += match
                    head_c += match
                    head_p += match
                else:
                    head_c += 1
            common = len(kept)
            self._kv_tokens = cache = kept
            # Cells past the shifted runs still hold their old positions: drop them below.
            if not context.kv_cache_seq_rm(0, common, -1):
                context.kv_cache_clear()  # type: ignore[no-untyped-call]
                self._kv_tokens = []
                return 0, 0
            return common, shifted
        if common < len(cache):
            if not context.kv_cache_seq_rm(0, common, -1):
                context.kv_cache_clear()  # type: ignore[no-untyped-call]
                common = 0
            del cache[common:]
        return common, shifted

    def _consistent_tokens(self, pending: bytes) -> list[int]:
        """Tokens whose text agrees with `pending`: a prefix of it, or starting with all of it."""
        if self._sorted_pieces is None:
            pieces = sorted((self._piece(token), token) for token in range(self.n_vocab))
            self._sorted_pieces = [(piece, token) for piece, token in pieces if piece]
            self._piece_keys = [piece for piece, _ in self._sorted_pieces]
        start = bisect.bisect_left(self._piece_keys, pending)
        allowed = []
        for piece, token in self._sorted_pieces[start:]:
            if not piece.startswith(pending):
                break
            allowed.append(token)
        for length in range(1, len(pending)):
            index = bisect.bisect_left(self._piece_keys, pending[:length])
            if index < len(self._piece_keys) and self._piece_keys[index] == pending[:length]:
                allowed.append(self._sorted_pieces[index][1])
        return allowed

    def _next_token_stats(
        self, pending: bytes, rank: int, sampler: _Sampler | None = None, row: int = -1
    ) -> tuple[int, float, float]:
        """Greedy choice from the logits of the last decode's output `row` (-1: its last
        token), with its log-probability and the entropy.

        While `pending` (healed prompt text) is not yet reproduced, only tokens consistent with
        it may be chosen; `rank` > 0 takes the rank-th best token instead of the best; a
        `sampler` draws the token instead. Log-probability and entropy are always of the full
        distribution.
        """
        pointer = self._context.get_logits_ith(row)
        logits = np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))
        if pending:
            allowed = np.asarray(self._consistent_tokens(pending), dtype=np.intc)
            token = int(allowed[int(np.argmax(logits[allowed]))])
        elif sampler is not None:
            token = sampler.draw(logits)
        elif rank == 0:
            token = int(np.argmax(logits))
        else:
            best = np.argpartition(-logits, rank)[: rank + 1]
            token = int(best[np.argsort(-logits[best])][rank])
        peak = float(logits.max())
        shifted = logits - peak
        weights = np.exp(shifted)
        total = float(weights.sum())
        log_total = math.log(total)
        probabilities = weights / total
        entropy = float(log_total - float(np.dot(probabilities, shifted)))
        return token, float(logits[token]) - peak - log_total, entropy

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
        on_text: TextCallback | None = None,
        temperature: float = 0.0,
        seed: int = 0,
        lookahead: int = 0,
    ) -> Generation:
        """Greedy generation after `prompt`, reusing whatever of it is still in the KV cache.

        Token healing: when `heal_index` is given, that prompt token (the last token of the text
        before the cursor, often a partial word or bare indentation) is removed from the prompt
        and generation is constrained to start with its text, which is not returned. The model
        then picks the natural tokenization across the cursor instead of a rare one.

        `time_budget_ms` ends generation at the first line break after the budget is spent, so
        suggestions end on line boundaries (llama.vim's `t_max_predict_ms`). `branch` = k > 0
        takes the k-th best token at the first free step (after healing) and continues greedily:
        a distinct alternative candidate. `on_text` sees the text generated so far and its token
        statistics after each token (for reuse of a running generation). `temperature` > 0
        samples each token instead (top-k, reproducible for a given `seed`): repair's extra
        candidates. `lookahead` > 0 drafts tokens by prompt lookup (see `lookup_draft`).
        """
        sampler = _Sampler(temperature, seed) if temperature > 0 else None
        pending = b""
        if heal_index is not None and len(prompt) > 1:
            pending = self._piece(prompt[heal_index])
            prompt = [*prompt[:heal_index], *prompt[heal_index + 1 :]]
        if not prompt:
            raise ValueError("cannot generate from an empty prompt")
        if len(prompt) >= self.n_ctx:
            raise ValueError(f"prompt of {len(prompt)} tokens does not fit n_ctx={self.n_ctx}")
        started = time.perf_counter()
        reused, shifted = self._reuse_prefix(prompt)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = ""
        logprobs: list[float] = []
        entropies: list[float] = []
        stop_reason = "max_tokens"
        if not self._decode(prompt[reused:], reused, cancelled):
            stop_reason = "cancelled"
            max_tokens = 0
        stop_rule = StopRule(should_stop, time_budget_ms)
        stop_rule.start()
        branched = False
        history = list(prompt)
        row = -1  # the output row of the last decode that holds the next token's logits
        drafted: list[int] = []  # evaluated after the last chosen token, not yet confirmed
        accepted_drafts = 0
        for _ in range(max_tokens):
            if cancelled.is_set():
                stop_reason = "cancelled"
                break
            rank = branch if not pending and not branched else 0
            branched = branched or not pending
            token, logprob, entropy = self._next_token_stats(pending, rank, sampler, row)
            if self._is_end(token):
                stop_reason = "eos"
                break
            logprobs.append(logprob)
            entropies.append(entropy)
            piece = self._piece(token)
            consumed = min(len(pending), len(piece))
            pending = pending[consumed:]
            fresh = decoder.decode(piece[consumed:])
            text += fresh
            if on_text is not None:
                on_text(text, logprobs, entropies)
            stopped = stop_rule.reason(text, fresh)
            if stopped is not None:
                stop_reason = stopped
                break
            if len(self._kv_tokens) - len(drafted) >= self.n_ctx - 1:
                stop_reason = "context_full"
                break
            history.append(token)
            if drafted and drafted[0] == token:
                # The draft guessed this token and it is evaluated already: the next
                # token's logits are the following row of the same batch.
                drafted.pop(0)
                row += 1
                accepted_drafts += 1
                continue
            if drafted:
                self._forget_after(len(self._kv_tokens) - len(drafted))
            drafted = []
            # A rejected draft must be dropped from the cache again, which a recurrent
            # model's memory cannot do; llama.cpp reports those as unable to shift.
            if lookahead > 0 and sampler is None and not pending and self._can_shift:
                room = min(lookahead, max_tokens - len(logprobs) - 1)
                room = min(room, self.n_ctx - 2 - len(self._kv_tokens))
                drafted = lookup_draft(history, room)
            self._decode([token, *drafted], len(self._kv_tokens), cancelled, bool(drafted))
            row = 0 if drafted else -1
        text += decoder.decode(b"", final=True)
        return Generation(
            text=text,
            token_logprobs=tuple(logprobs),
            token_entropies=tuple(entropies),
            prompt_tokens=len(prompt),
            reused_tokens=reused,
            evaluated_tokens=len(prompt) - reused,
            shifted_tokens=shifted,
            model_ms=(time.perf_counter() - started) * 1000.0,
            stop_reason=stop_reason,
            generated_tokens=len(logprobs),
            drafted_tokens=accepted_drafts,
        )

    def cached_tokens(self, prompt: Sequence[int]) -> int:
        return common_prefix(self._kv_tokens, prompt)

    def prompt_seconds(self, tokens: int) -> float | None:
        """From the weights' size on a CPU (`CPU_PROMPT_BYTES_PER_S`); None with layers on a
        GPU, where a prompt costs a small fraction of that."""
        if self.gpu_layers != 0:
            return None
        return tokens * self.info.size_bytes / CPU_PROMPT_BYTES_PER_S

    def warm(self, tokens: Sequence[int], cancelled: threading.Event) -> int:
        """Evaluate `tokens` into the KV cache ahead of a request whose prompt starts with them
        (llama.vim's warm-up), a few at a time so that `cancelled` (a request arriving) stops it
        within one chunk; what was evaluated stays for the request. Returns tokens evaluated."""
        if not tokens or len(tokens) >= self.n_ctx:
            return 0
        reused, _ = self._reuse_prefix([*tokens, -1])  # -1: keep every token of `tokens`
        evaluated = 0
        for start in range(reused, len(tokens), WARM_CHUNK):
            chunk = tokens[start : start + WARM_CHUNK]
            if not self._decode(chunk, len(self._kv_tokens), cancelled):
                break
            evaluated += len(chunk)
        return evaluated

    def rewriter(self) -> LocalEngine:
        """This model with a second llama.cpp context (a KV cache of its own, `REWRITE_CONTEXT`
        tokens) on the same loaded weights, made at first use.

        Next edits and repair rewrite a window after the person pauses; in the completion's
        context their prompt would replace the completion's (one KV cache), and the next
        keystroke's completion would evaluate its whole window again: seconds for a code model
        on a CPU. Apart, both stay warm. Same thread rule: one thread at a time for both.
        """
        if self._rewriter is None:
            from llama_cpp import _internals

            params = type(self._llama.context_params).from_buffer_copy(self._llama.context_params)
            params.n_ctx = self._rewrite_ctx
            params.n_batch = params.n_ubatch = min(params.n_ubatch, self._rewrite_ctx)
            side = copy.copy(self)
            try:
                side._context = _internals.LlamaContext(
                    model=self._llama._model, params=params, verbose=False
                )
            except (ValueError, RuntimeError, MemoryError) as exc:
                # Rewrites then share the completion's context, as they did before.
                log.warning("no second llama.cpp context for rewrites (%s); sharing one", exc)
                self._rewriter = self
                return self
            side._n_batch = int(params.n_batch)
            side._batch = _internals.LlamaBatch(
                n_tokens=side._n_batch, embd=0, n_seq_max=1, verbose=False
            )
            side.n_ctx = side._context.n_ctx()
            side._kv_tokens = []
            side._rewriter = side
            side._shares_weights = True
            self._rewriter = side
        return self._rewriter

    def close(self) -> None:
        """Free the model (and its rewrite context); a rewrite context frees only its own."""
        if self._shares_weights:
            self._batch.close()  # type: ignore[no-untyped-call]
            self._context.close()  # type: ignore[no-untyped-call]
            return
        if self._rewriter is not None and self._rewriter is not self:
            self._rewriter.close()
        self._rewriter = None
        self._llama.close()
