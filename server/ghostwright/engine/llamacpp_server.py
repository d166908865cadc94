"""The llama.cpp server's `/infill` endpoint (`backend = "llamacpp"`), as llama.vim uses it.

The server holds the model's FIM tokens and builds the prompt itself:
`[input_extra] <FIM_PRE> input_prefix <FIM_SUF> input_suffix <FIM_MID> prompt` (the repo-level
pattern with file separators where the model has those tokens). Ghostwright sends the lines
before the cursor's line as `input_prefix` and the cursor's line up to the cursor as `prompt`,
so the long stable part stays a common prefix keystroke after keystroke (`cache_prompt`); the
context chunks go in `input_extra` as `{filename, text}`. The server also stops by itself at a
line indented less than the cursor's (`n_indent`) and at the first line break after the time
budget (`t_max_predict_ms`). The answer streams as server-sent events
`data: {"content": ..., "stop": false, "completion_probabilities": [...]}`; the last one has
`"stop": true`, `stop_type`, `timings` (`prompt_n`, `cache_n`) and `tokens_evaluated`.
"""

from __future__ import annotations

import json
from typing import Any

from ghostwright.engine.http import SAMPLED_TEMPERATURE, Chunk, HttpBackend, logprob_of
from ghostwright.prompt import TextPrompt

_STOP_TYPES = {"eos": "eos", "word": "eos", "limit": "max_tokens"}


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class LlamaCppServer(HttpBackend):
    kind = "llamacpp"

    def request(
        self, prompt: TextPrompt, max_tokens: int, time_budget_ms: float | None, branch: int
    ) -> tuple[str, dict[str, Any]]:
        start = prompt.line_start
        line = prompt.prefix[start:]
        body: dict[str, Any] = {
            "input_prefix": prompt.prefix[:start],
            "input_suffix": prompt.suffix,
            "input_extra": [{"filename": c.label, "text": c.text} for c in prompt.context],
            "prompt": line,
            "n_predict": max_tokens,
            "n_indent": len(line) - len(line.lstrip(" \t")),
            "cache_prompt": True,
            "stream": True,
            "n_probs": 1,
            "temperature": 0.0 if branch == 0 else SAMPLED_TEMPERATURE,
        }
        if branch:
            body["seed"] = branch
        if time_budget_ms is not None:
            body["t_max_predict_ms"] = int(time_budget_ms)
        if self.model:
            body["model"] = self.model
        return "/infill", body

    def parse(self, line: str) -> Chunk | None:
        if line.startswith("error:"):
            return Chunk(error=line[len("error:") :].strip())
        if not line.startswith("data:"):
            return None
        data = json.loads(line[len("data:") :])
        if "error" in data:
            return Chunk(error=str(data["error"]))
        probabilities = data.get("completion_probabilities") or []
        logprobs = [logprob_of(entry) for entry in probabilities]
        timings = data.get("timings") or {}
        finished = bool(data.get("stop"))
        return Chunk(
            text=str(data.get("content") or ""),
            logprobs=() if None in logprobs else tuple(v for v in logprobs if v is not None),
            finished=finished,
            stop_reason=_STOP_TYPES.get(str(data.get("stop_type")), "eos") if finished else None,
            prompt_tokens=_int(data.get("tokens_evaluated")),
            reused_tokens=_int(timings.get("cache_n")),
            evaluated_tokens=_int(timings.get("prompt_n")),
        )
