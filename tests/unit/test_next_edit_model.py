"""Unit tests for ghostwright.edits.model: the model's next edit, with a fake engine whose tokens
are characters (so the prompt can be read back) and which writes a scripted reply a token at a
time, asking the stop condition after each as the real engines do."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ghostwright.edits.history import Hunk
from ghostwright.edits.model import (
    EARLIER_HUNKS,
    FORWARD_LINES,
    LINES_BEFORE,
    UNCHANGED_LINES,
    model_proposal,
)
from ghostwright.edits.proposal import Proposal
from ghostwright.engine.base import Generation, StopCondition
from ghostwright.prompt import FimTokens
from ghostwright.repair.verify import TextChange

BOS, REPO, FILE_SEP = -1, -2, -3
SPECIAL = {BOS: "<bos>", REPO: "<repo>", FILE_SEP: "<sep>"}
REPOSITORY_FIM = FimTokens(prefix=-10, suffix=-11, middle=-12, repo=REPO, file_separator=FILE_SEP)
PATH = "file:///work/project/table.py"

LINES = [f"v{i} = {i}" for i in range(20)]
CHANGED_LINE = 8
TEXT = "".join(line + "\n" for line in LINES)
# The person changed `w8` into `v8` on line 8.
LAST = Hunk(TEXT.index("v8 = 8"), "w", "v", 10.0)


def lines(first: int, stop: int, source: list[str] = LINES) -> str:
    return "".join(line + "\n" for line in source[first:stop])


class ScriptedEngine:
    """Writes `reply` one character (token) at a time until the stop condition, the end of the
    reply (EOS), the token limit or cancellation."""

    n_ctx = 8192

    def __init__(
        self,
        reply: str,
        fim: FimTokens | None = REPOSITORY_FIM,
        cancel_at: int | None = None,
    ) -> None:
        self.reply = reply
        self.fim = fim
        self.cancel_at = cancel_at
        """Set the caller's cancel event once this many characters are written."""
        self.prompts: list[list[int]] = []
        self.written: list[str] = []

    def prompt_bos(self) -> int | None:
        return BOS

    def tokenize(self, text: str) -> list[int]:
        return [ord(char) for char in text]

    def cached_tokens(self, prompt: Sequence[int]) -> int:
        return 0

    def warm(self, tokens: Sequence[int], cancelled: threading.Event) -> int:
        return 0

    def chat_prompt(
        self, messages: Sequence[tuple[str, str]], reply_start: str
    ) -> list[int] | None:
        return None

    def generate(
        self,
        prompt: Sequence[int],
        *,
        max_tokens: int,
        should_stop: StopCondition,
        cancelled: threading.Event,
        time_budget_ms: float | None = None,
        **_: object,
    ) -> Generation:
        self.prompts.append(list(prompt))
        text, reason = "", "eos"
        for char in self.reply:
            if self.cancel_at is not None and len(text) == self.cancel_at:
                cancelled.set()
            if cancelled.is_set():
                reason = "cancelled"
                break
            if len(text) == max_tokens:
                reason = "max_tokens"
                break
            text += char
            if should_stop(text):
                reason = "stop_condition"
                break
        self.written.append(text)
        return Generation(
            text=text,
            token_logprobs=(),
            token_entropies=(),
            prompt_tokens=len(prompt),
            reused_tokens=0,
            evaluated_tokens=len(prompt),
            model_ms=1.0,
            stop_reason=reason,
            generated_tokens=len(text),
        )


def decode(tokens: Sequence[int]) -> str:
    return "".join(SPECIAL.get(token) or chr(token) for token in tokens)


def propose(
    engine: ScriptedEngine, hunks: Sequence[Hunk] = (LAST,), **options: bool
) -> Proposal | None:
    return model_proposal(engine, PATH, TEXT, list(hunks), threading.Event(), **options)


def test_the_prompt_shows_earlier_changes_then_the_window_before_now_and_updated() -> None:
    earlier = [Hunk(0, f"old{i}", f"new{i}", float(i)) for i in range(EARLIER_HUNKS + 1)]
    engine = ScriptedEngine("")
    propose(engine, [*earlier, LAST])
    first = CHANGED_LINE - LINES_BEFORE
    stop = CHANGED_LINE + 1 + FORWARD_LINES
    was = [*LINES[:CHANGED_LINE], "w8 = 8", *LINES[CHANGED_LINE + 1 :]]
    diffs = "".join(
        f"<sep>table.py.diff\noriginal:\nold{i}\nupdated:\nnew{i}\n"
        for i in range(1, EARLIER_HUNKS + 1)
    )
    (prompt,) = engine.prompts
    assert decode(prompt) == (
        "<bos><repo>project\n"
        + diffs
        + "<sep>original/table.py\n"
        + lines(first, stop, was)
        + "<sep>current/table.py\n"
        + lines(first, stop)
        + "<sep>updated/table.py\n"
        + lines(first, CHANGED_LINE + 1)
    )


def test_the_baseline_without_history_rewrites_the_whole_window() -> None:
    engine = ScriptedEngine("")
    propose(engine, [Hunk(0, "x", "y", 0.0), LAST], with_history=False)
    first = CHANGED_LINE - LINES_BEFORE
    stop = CHANGED_LINE + 1 + FORWARD_LINES
    (prompt,) = engine.prompts
    assert decode(prompt) == (
        "<bos><repo>project\n<sep>current/table.py\n"
        + lines(first, stop)
        + "<sep>updated/table.py\n"
    )


def test_a_rewritten_line_becomes_the_minimal_change_and_the_model_stops_back_in_step() -> None:
    engine = ScriptedEngine("v9 = 90\nv10 = 10\nv11 = 11\nv12 = 12\n")
    proposal = propose(engine)
    assert engine.written == ["v9 = 90\nv10 = 10\n"]
    nine = TEXT.index("v9 = 9") + len("v9 = 9")
    assert proposal == Proposal("model", (TextChange(nine, nine, "0"),), "edit 1 line (model)")
    assert proposal.apply(TEXT) == TEXT.replace("v9 = 9\n", "v9 = 90\n")


def test_a_difference_after_copied_lines_is_found() -> None:
    reply = "v9 = 9\nv10 = x\nv11 = y\nv12 = 12\nv13 = 13\n"
    assert UNCHANGED_LINES == 2
    engine = ScriptedEngine(reply)
    proposal = propose(engine)
    assert engine.written == ["v9 = 9\nv10 = x\nv11 = y\nv12 = 12\n"]
    assert proposal is not None
    assert proposal.label == "edit 2 lines (model)"
    assert proposal.apply(TEXT) == TEXT.replace("v10 = 10\nv11 = 11\n", "v10 = x\nv11 = y\n")


def test_copying_the_lines_proposes_nothing_and_stops_after_unchanged_lines() -> None:
    engine = ScriptedEngine(lines(CHANGED_LINE + 1, 20))
    assert propose(engine) is None
    assert engine.written == [lines(CHANGED_LINE + 1, CHANGED_LINE + 1 + UNCHANGED_LINES)]


def test_copying_to_the_end_of_the_model_output_proposes_nothing() -> None:
    engine = ScriptedEngine("v9 = 9\n")
    assert propose(engine) is None
    assert engine.written == ["v9 = 9\n"]


def test_a_cancelled_generation_proposes_nothing() -> None:
    engine = ScriptedEngine("v9 = 90\nv10 = 10\n", cancel_at=5)
    assert propose(engine) is None
    assert engine.written == ["v9 = "]
    already = threading.Event()
    already.set()
    engine = ScriptedEngine("v9 = 90\nv10 = 10\n")
    assert model_proposal(engine, PATH, TEXT, [LAST], already) is None
    assert engine.written == []  # stopped while the prompt was evaluated: nothing generated


def test_a_code_fence_ends_what_the_model_wrote() -> None:
    engine = ScriptedEngine("v9 = 90\n```\nv10 = 10\n")
    proposal = propose(engine)
    assert engine.written == ["v9 = 90\n```"]
    assert proposal is not None
    assert proposal.apply(TEXT) == TEXT.replace("v9 = 9\n", "v9 = 90\n")


def test_an_unfinished_last_line_is_dropped_unless_the_model_ended() -> None:
    nine = TEXT.index("v9 = 9") + len("v9 = 9")
    ended = ScriptedEngine("v9 = 90")
    assert propose(ended) == Proposal(
        "model", (TextChange(nine, nine, "0"),), "edit 1 line (model)"
    )
    ended_mid_line = ScriptedEngine("v9 = 9\nv10 = 100")
    proposal = propose(ended_mid_line)
    assert proposal is not None
    assert proposal.apply(TEXT) == TEXT.replace("v10 = 10\n", "v10 = 100\n")


def test_an_end_after_a_line_break_leaves_the_lines_after_it() -> None:
    nine = TEXT.index("v9 = 9") + len("v9 = 9")
    engine = ScriptedEngine("v9 = 90\n")
    assert propose(engine) == Proposal(
        "model", (TextChange(nine, nine, "0"),), "edit 1 line (model)"
    )
    assert engine.written == ["v9 = 90\n"]


def test_a_model_without_repository_markup_is_not_asked() -> None:
    engine = ScriptedEngine("v9 = 90\n", fim=FimTokens(prefix=-10, suffix=-11, middle=-12))
    assert propose(engine) is None
    assert engine.prompts == []
    no_fim = ScriptedEngine("v9 = 90\n", fim=None)
    assert propose(no_fim) is None
    assert no_fim.prompts == []


def test_no_history_or_no_room_in_the_context_is_not_asked() -> None:
    engine = ScriptedEngine("v9 = 90\n")
    assert propose(engine, []) is None
    small = ScriptedEngine("v9 = 90\n")
    small.n_ctx = 50
    assert propose(small) is None
    assert engine.prompts == [] and small.prompts == []


def test_a_change_near_the_top_starts_the_window_at_the_first_line() -> None:
    engine = ScriptedEngine("")
    top = Hunk(TEXT.index("v1 = 1"), "w", "v", 0.0)
    propose(engine, [top])
    (prompt,) = engine.prompts
    text = decode(prompt)
    assert text.endswith("<sep>updated/table.py\n" + lines(0, 2))
    assert "<sep>current/table.py\n" + lines(0, 2 + FORWARD_LINES) + "<sep>" in text


def test_lines_the_model_inserts_or_deletes_are_followed_back_into_step() -> None:
    inserted = ScriptedEngine("v9 = 9\nnew = 0\nv10 = 10\nv11 = 11\nv12 = 12\n")
    proposal = propose(inserted)
    assert proposal is not None
    assert proposal.apply(TEXT) == TEXT.replace("v9 = 9\n", "v9 = 9\nnew = 0\n")
    assert inserted.written == ["v9 = 9\nnew = 0\nv10 = 10\nv11 = 11\n"]
    deleted = ScriptedEngine("v9 = 9\nv11 = 11\nv12 = 12\nv13 = 13\n")
    proposal = propose(deleted)
    assert proposal is not None
    assert proposal.apply(TEXT) == TEXT.replace("v10 = 10\n", "")


def test_a_crlf_window_keeps_its_line_breaks() -> None:
    crlf = TEXT.replace("\n", "\r\n")
    last = Hunk(crlf.index("v8 = 8"), "w", "v", 10.0)
    engine = ScriptedEngine("v9 = 90\r\nv10 = 10\r\nv11 = 11\r\n")
    proposal = model_proposal(engine, PATH, crlf, [last], threading.Event())
    assert proposal is not None
    assert proposal.apply(crlf) == crlf.replace("v9 = 9\r\n", "v9 = 90\r\n")
