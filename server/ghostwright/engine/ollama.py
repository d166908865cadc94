"""Ollama's `/api/generate` (`backend = "ollama"`).

Ollama applies the model's FIM template itself when the request has a `suffix`; the context
chunks go before the prefix in `prompt`, as commented sections. A model whose template cannot
insert ("does not support insert") is asked again prefix-only, with `raw` so that no chat
template wraps the code, and stays prefix-only. Log-probabilities are asked for
(`logprobs: true`, in recent Ollama versions); an older Ollama leaves them out and the
predictor sees them as missing. The answer streams as JSON lines
`{"response": ..., "done": false, "logprobs": [...]}`; the last has `"done": true`,
`done_reason` and `prompt_eval_count`.
"""

from __future__ import annotations

import json
from typing import Any

from ghostwright.engine.http import (
    SAMPLED_TEMPERATURE,
    BackendError,
    Chunk,
    HttpBackend,
    logprob_of,
)
from ghostwright.prompt import TextPrompt

_DONE = {"stop": "eos", "length": "max_tokens"}
KEEP_ALIVE = "30m"
"""How long Ollama keeps the model loaded after a request (its default is 5 minutes)."""


class Ollama(HttpBackend):
    kind = "ollama"
    _insert = True
    """Whether the model's template takes a suffix (fill-in-the-middle)."""

    @property
    def mode(self) -> str:
        return "fim" if self._insert else "prefix"

    def resolve_model(self) -> None:
        listed = self.get_json("/api/tags")
        names = [
            str(entry.get("name") or entry.get("model"))
            for entry in (listed.get("models") or [] if isinstance(listed, dict) else [])
            if isinstance(entry, dict)
        ]
        served = ", ".join(names) or "none: `ollama pull` one"
        if self.model is None:
            raise BackendError(
                f"backend = ollama needs backendModel, the model to ask {self.url} for "
                f"(it has: {served})."
            )
        if self.model not in names and f"{self.model}:latest" not in names:
            raise BackendError(
                f"The ollama server at {self.url} has no model {self.model!r} (it has: "
                f"{served}). Set backendModel to one of them, or `ollama pull {self.model}`."
            )

    def request(
        self, prompt: TextPrompt, max_tokens: int, time_budget_ms: float | None, branch: int
    ) -> tuple[str, dict[str, Any]]:
        options: dict[str, Any] = {
            "num_predict": max_tokens,
            "temperature": 0.0 if branch == 0 else SAMPLED_TEMPERATURE,
        }
        if branch:
            options["seed"] = branch
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt.context_text + prompt.prefix,
            "stream": True,
            "options": options,
            "logprobs": True,
            "keep_alive": KEEP_ALIVE,
        }
        if self._insert:
            # An empty suffix would make Ollama use the model's plain (chat) template instead of
            # its insert template: the end of a file is a line break away.
            body["suffix"] = prompt.suffix or "\n"
        else:
            body["raw"] = True
        return "/api/generate", body

    def retry_without(self, status: int, message: str) -> bool:
        if self._insert and "does not support insert" in message:
            self._insert = False
            return True
        return False

    def parse(self, line: str) -> Chunk | None:
        if not line.strip():
            return None
        data = json.loads(line)
        if "error" in data:
            return Chunk(error=str(data["error"]))
        logprobs = [logprob_of(entry) for entry in data.get("logprobs") or []]
        done = bool(data.get("done"))
        evaluated = data.get("prompt_eval_count")
        evaluated = evaluated if isinstance(evaluated, int) else None
        return Chunk(
            text=str(data.get("response") or ""),
            logprobs=() if None in logprobs else tuple(v for v in logprobs if v is not None),
            finished=done,
            stop_reason=_DONE.get(str(data.get("done_reason")), "eos") if done else None,
            prompt_tokens=evaluated,
            evaluated_tokens=evaluated,
        )
