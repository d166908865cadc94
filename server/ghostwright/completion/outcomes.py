"""What became of each shown suggestion: the labels the acceptance predictor learns from.

An editor may report accepts (`ghostwright.accept`), partial accepts and dismissals, or
nothing at all; the server watches the document either way, so every shown suggestion ends
with a label:

- accepted: the accept command, or an edit that inserts the whole suggestion at its cursor
  (pasted in one change, or typed through to its end);
- accepted_partial: `ghostwright/partialAccept`, or an edit that inserts a leading part of it
  and then moves on;
- rejected: `ghostwright/dismiss` ("dismissed"), typing that departs from it ("typed_over"), a
  request at another place or in another document ("moved_away"), or no decision within
  20 s ("timeout");
- survived: 30 s and 120 s after an accept, how much of the accepted text is still where it
  was put (edit similarity of the text now at that place, 0..1).

The tracker is plain logic driven by the server's events and a clock; it emits events through
a callback and keeps the user's recent labels (`History`) for the predictor's features. Its
intervals (`OutcomeIntervals`) are given to it like its clock, so that a test of the real
server need not wait 30 s of real time for a survival check (`OUTCOME_INTERVALS_ENV`).
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import statistics
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from itertools import pairwise
from typing import Any

log = logging.getLogger(__name__)

_HISTORY = 5
OUTCOME_INTERVALS_ENV = "GHOSTWRIGHT_OUTCOME_INTERVALS"
"""Shorter intervals for the tests of the real server, as a JSON object of `OutcomeIntervals`
fields (`{"survival_checks_s": [1]}`). Not a setting: the intervals define the labels the
predictor is trained on, which every person's telemetry must share."""


@dataclass(frozen=True)
class OutcomeIntervals:
    """When the passing of time decides an outcome."""

    decision_timeout_s: float = 20.0
    """A suggestion neither accepted nor typed over within this time counts as rejected."""
    survival_checks_s: tuple[float, ...] = (30.0, 120.0)
    """After an accept, when to check whether the accepted text is still there."""

    def __post_init__(self) -> None:
        ascending = all(a < b for a, b in pairwise((0.0, *self.survival_checks_s)))
        if not (self.decision_timeout_s > 0 and ascending):
            raise ValueError(f"intervals must be positive and survival checks ascending: {self}")

    @property
    def tick_s(self) -> float:
        """How often `OutcomeTracker.tick` should run: an outcome is then at most a tenth of
        its interval late (every 2 s for the real intervals)."""
        return min(self.decision_timeout_s, *self.survival_checks_s) / 10.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> OutcomeIntervals:
        """The real intervals, or those `OUTCOME_INTERVALS_ENV` asks for (an invalid value is
        logged and the real intervals are kept)."""
        raw = (os.environ if environ is None else environ).get(OUTCOME_INTERVALS_ENV)
        if not raw:
            return REAL_INTERVALS
        try:
            given = json.loads(raw)
            if not isinstance(given, dict) or not set(given) <= {f.name for f in fields(cls)}:
                raise ValueError("expected an object of decision_timeout_s, survival_checks_s")
            checks = given.get("survival_checks_s", list(REAL_INTERVALS.survival_checks_s))
            if not isinstance(checks, list):
                raise ValueError("survival_checks_s must be a list of seconds")
            return cls(
                float(given.get("decision_timeout_s", REAL_INTERVALS.decision_timeout_s)),
                tuple(float(after) for after in checks),
            )
        except (ValueError, TypeError) as exc:
            log.warning(
                "%s=%r is invalid (%s); keeping the real intervals", OUTCOME_INTERVALS_ENV, raw, exc
            )
            return REAL_INTERVALS


REAL_INTERVALS = OutcomeIntervals()
"""The intervals every person's labels are made with."""


@dataclass
class Shown:
    """A suggestion on screen, waiting for its outcome."""

    id: str
    uri: str
    offset: int
    text: str
    shown_at: float
    typed: str = ""
    """What the person has typed at the suggestion's cursor since it was shown."""
    shown_as: str | None = None
    """The id of the remainder now on screen, when a cache answer continues this one."""


@dataclass(frozen=True)
class Outcome:
    """One label event: what happened to a suggestion, with the details the store keeps."""

    kind: str
    """accepted, accepted_partial, rejected or survived."""
    suggestion_id: str
    time: float
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class _Accepted:
    id: str
    uri: str
    offset: int
    text: str
    at: float
    checks_done: int = 0


@dataclass
class DecisionHistory:
    """The person's recent decisions in this session (features for the predictor)."""

    labels: deque[int] = field(default_factory=lambda: deque(maxlen=_HISTORY))
    last_decision_at: float | None = None
    accepted: int = 0
    decided: int = 0

    def add(self, label: int, now: float) -> None:
        self.labels.append(label)
        self.last_decision_at = now
        self.accepted += label
        self.decided += 1

    @property
    def accept_rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None


def _key(shown: Shown) -> str:
    """The id the editor knows a pending suggestion by."""
    return shown.shown_as or shown.id


DocumentText = Callable[[str], str | None]
"""The current text of a document by URI, None when it is not open."""


class OutcomeTracker:
    """Follows shown suggestions to their labels; emits `Outcome`s through `emit`."""

    def __init__(
        self,
        emit: Callable[[Outcome], None],
        document_text: DocumentText,
        clock: Callable[[], float] = time.time,
        intervals: OutcomeIntervals = REAL_INTERVALS,
    ) -> None:
        self._emit = emit
        self._document_text = document_text
        self._clock = clock
        self.intervals = intervals
        self._pending: dict[str, Shown] = {}
        """By suggestion id; at most one per document (a newer one replaces it)."""
        self._accepted: list[_Accepted] = []
        self.history = DecisionHistory()
        self._gaps: deque[float] = deque(maxlen=32)
        self._last_key: float | None = None

    # -- what the server reports ------------------------------------------------------------
    def cursor_at(self, uri: str, offset: int) -> None:
        """A completion request here: a suggestion elsewhere was left behind (moved away)."""
        now = self._clock()
        for old in list(self._pending.values()):
            if old.uri != uri or old.offset + len(old.typed) != offset:
                self._reject(old, "moved_away", now)

    def shown(self, suggestion_id: str, uri: str, offset: int, text: str) -> str | None:
        """A suggestion went to the editor at `offset`.

        When it is the rest of the pending one that the person typed into (a cache answer), it
        carries on in its place: its outcome is reported under the first one's id, which is
        returned; any other pending suggestion is rejected. Returns None for a new suggestion.
        """
        now = self._clock()
        continues: Shown | None = None
        for old in list(self._pending.values()):
            cursor = old.offset + len(old.typed)
            if old.uri == uri and cursor == offset and old.text[len(old.typed) :] == text:
                continues = self._pending.pop(_key(old))
            else:
                self._reject(old, "replaced" if old.uri == uri else "moved_away", now)
        if continues is None:
            self._pending[suggestion_id] = Shown(suggestion_id, uri, offset, text, now)
            return None
        continues.shown_as = suggestion_id
        self._pending[suggestion_id] = continues
        return continues.id

    def accept(self, suggestion_id: str) -> bool:
        """The editor's accept command; False for an id that is not (or no longer) pending."""
        shown = self._take(suggestion_id)
        if shown is None:
            return False
        self._accepted_whole(shown, "command", self._clock())
        return True

    def partial_accept(self, suggestion_id: str, accepted_chars: int) -> bool:
        """`accepted_chars` of what the editor shows (the remainder, after typing-through)."""
        shown = self._take(suggestion_id)
        if shown is None:
            return False
        chars = len(shown.typed) + max(0, accepted_chars)
        self._partial(shown, min(chars, len(shown.text)), "command")
        return True

    def _take(self, editor_id: str) -> Shown | None:
        """The pending suggestion the editor knows by `editor_id`, no longer pending."""
        return self._pending.pop(editor_id, None)

    def dismiss(self, suggestion_id: str) -> bool:
        shown = self._take(suggestion_id)
        if shown is None:
            return False
        self._reject(shown, "dismissed", self._clock())
        return True

    def document_changed(self, uri: str, start: int, removed: int, inserted: str) -> None:
        """One content change: infer accepts and rejects of the suggestion on this document."""
        now = self._clock()
        if self._last_key is not None and now - self._last_key < 2.0:
            self._gaps.append(now - self._last_key)
        self._last_key = now
        self._move_accepted(uri, start, removed, len(inserted))
        for shown in [s for s in self._pending.values() if s.uri == uri]:
            self._follow(shown, start, removed, inserted, now)

    def document_closed(self, uri: str) -> None:
        now = self._clock()
        for shown in [s for s in self._pending.values() if s.uri == uri]:
            self._reject(shown, "moved_away", now)
        self._accepted = [a for a in self._accepted if a.uri != uri]

    def tick(self) -> None:
        """Time-based outcomes: decision timeouts and due survival checks."""
        now = self._clock()
        for shown in list(self._pending.values()):
            if now - shown.shown_at >= self.intervals.decision_timeout_s:
                self._reject(shown, "timeout", now)
        for accepted in list(self._accepted):
            self._check_survival(accepted, now)

    def close(self) -> None:
        """Session end: pending suggestions count as not accepted."""
        now = self._clock()
        for shown in list(self._pending.values()):
            self._reject(shown, "session_end", now)

    @property
    def typing_gap_ms(self) -> float | None:
        return statistics.median(self._gaps) * 1000.0 if len(self._gaps) >= 3 else None

    # -- inference ----------------------------------------------------------------------------
    def _follow(self, shown: Shown, start: int, removed: int, inserted: str, now: float) -> None:
        cursor = shown.offset + len(shown.typed)
        if removed == 0 and start == cursor:
            typed = shown.typed + inserted
            if typed == shown.text or (len(inserted) > 1 and typed.startswith(shown.text)):
                del self._pending[_key(shown)]
                self._accepted_whole(shown, "typed" if len(inserted) == 1 else "inserted", now)
            elif shown.text.startswith(typed):
                shown.typed = typed
            else:
                self._reject(shown, "typed_over", now, matched=len(shown.typed))
            return
        if start + removed < shown.offset:
            shown.offset += len(inserted) - removed
        elif start <= cursor:
            self._reject(shown, "typed_over", now, matched=len(shown.typed))

    def _move_accepted(self, uri: str, start: int, removed: int, inserted: int) -> None:
        """Keep accepted regions where their text is when edits happen before them."""
        for accepted in self._accepted:
            if accepted.uri == uri and start + removed <= accepted.offset:
                accepted.offset += inserted - removed

    def _check_survival(self, accepted: _Accepted, now: float) -> None:
        checks = self.intervals.survival_checks_s
        while accepted.checks_done < len(checks):
            after = checks[accepted.checks_done]
            if now - accepted.at < after:
                return
            accepted.checks_done += 1
            text = self._document_text(accepted.uri)
            end = accepted.offset + len(accepted.text)
            window = "" if text is None else text[accepted.offset : end]
            similarity = difflib.SequenceMatcher(None, window, accepted.text).ratio()
            self._emit(
                Outcome(
                    "survived",
                    accepted.id,
                    now,
                    {"after_s": after, "similarity": round(similarity, 4)},
                )
            )
        self._accepted.remove(accepted)

    # -- labels -----------------------------------------------------------------------------
    def _accepted_whole(self, shown: Shown, how: str, now: float) -> None:
        self.history.add(1, now)
        self._accepted.append(_Accepted(shown.id, shown.uri, shown.offset, shown.text, now))
        self._emit(
            Outcome(
                "accepted",
                shown.id,
                now,
                {"how": how, "chars": len(shown.text), "lines": shown.text.count("\n") + 1},
            )
        )

    def _partial(self, shown: Shown, chars: int, how: str) -> None:
        now = self._clock()
        part = shown.text[:chars]
        self.history.add(1 if chars * 2 >= len(shown.text) else 0, now)
        if part:
            self._accepted.append(_Accepted(shown.id, shown.uri, shown.offset, part, now))
        self._emit(
            Outcome(
                "accepted_partial",
                shown.id,
                now,
                {
                    "how": how,
                    "chars": chars,
                    "of_chars": len(shown.text),
                    "lines": part.count("\n") + (1 if part else 0),
                },
            )
        )

    def _reject(self, shown: Shown, reason: str, now: float, matched: int = 0) -> None:
        self._pending.pop(_key(shown), None)
        self.history.add(0, now)
        data: dict[str, Any] = {"reason": reason}
        if matched:
            data["matched_chars"] = matched
        self._emit(Outcome("rejected", shown.id, now, data))
