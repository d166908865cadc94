"""A simulated person writing a region of a real file, key by key, the same way for one seed.

`ghostwright bench` replays these traces against the server and against the naive path, so both
see the same keystrokes with the same pauses. The person is modelled on what matters to a
completion engine, not on typing research in general:

- Gaps between keys are lognormal around about 120 ms: most keys come fast, a few after a
  hesitation, and an editor's 50 ms debounce fires in some gaps but not in all.
- Line ends are where people stop: a pause before Enter (the person reads the line over, with
  the cursor at its end) and a longer one before the first key of the next line (they think
  about what comes next, with the cursor on a fresh, indented line). Both are where an editor
  asks and where a multi-line suggestion helps.
- Enter also inserts the next line's leading indentation at once, as editors auto-indent; no
  one types indentation space by space, and a server must not be judged on that.
- Now and then a letter or digit is mistyped, noticed after zero to two more keys, deleted with
  backspace and typed again: a server sees a text it will never see again and must cope.

The region is a window of whole lines starting at a function definition (the person writes a
function); the document the editor opens is the file with that window's text removed, so the
code after it is there, as when editing in the middle of a file.
"""

from __future__ import annotations

import bisect
import math
import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

MIN_ACCEPT_CHARS = 2
"""Shorter accepts save nothing: the Tab key that accepts is a keystroke too."""

_DEFINITION = re.compile(r"[ \t]*(?:async[ \t]+)?def[ \t]")


@dataclass(frozen=True)
class TypingStyle:
    """How the simulated person types; the defaults are one plausible programmer."""

    key_median_s: float = 0.12
    key_sigma: float = 0.4
    line_pause_median_s: float = 0.6
    """Before the first key of a line."""
    line_pause_sigma: float = 0.5
    line_end_pause_median_s: float = 0.3
    """Before Enter, at the end of a line."""
    typo_rate: float = 0.02
    """Chance that a letter or digit is mistyped and later corrected."""
    notice_median_s: float = 0.35
    """Before the first backspace of a correction: the person has to see the mistake."""
    backspace_median_s: float = 0.08
    """Between the backspaces of one correction (a held or repeated key)."""
    min_gap_s: float = 0.02
    max_gap_s: float = 4.0
    """Longer pauses would only stretch the run; nothing new happens in them."""


@dataclass(frozen=True)
class Keystroke:
    """One key: `delete` characters removed before the cursor, then `insert` typed at it."""

    gap_s: float
    """Time since the previous key (or since the region started, for the first one)."""
    insert: str = ""
    delete: int = 0


@dataclass(frozen=True)
class Step:
    """The keys that type `region[start:end]`, a correction included when there is one.

    Between steps the text typed so far is exactly a prefix of the region: the only moments
    when the person can compare a suggestion with what they are about to write.
    """

    start: int
    end: int
    keys: tuple[Keystroke, ...]


@dataclass(frozen=True)
class Region:
    """A window of whole lines of a real file, and the document without it."""

    path: Path
    first_line: int
    """0-based."""
    line_count: int
    text: str
    """What the person writes: the window's lines, without the last line break."""
    document: str
    """The file with `text` removed; the cursor line is empty, the rest of the file follows."""
    offset: int
    """Where the person writes in `document`."""


@dataclass(frozen=True)
class Trace:
    """A region and how the simulated person types it."""

    region: Region
    steps: tuple[Step, ...]

    @property
    def keys(self) -> tuple[Keystroke, ...]:
        return tuple(key for step in self.steps for key in step.keys)

    @property
    def duration_s(self) -> float:
        """How long typing the whole region takes at speed 1, without any accepts."""
        return sum(key.gap_s for key in self.keys)

    @property
    def corrections(self) -> int:
        return sum(1 for step in self.steps if any(key.delete for key in step.keys))


def apply_key(text: str, key: Keystroke) -> str:
    """The text before the cursor after `key`."""
    kept = text[: len(text) - key.delete] if key.delete else text
    return kept + key.insert


def replay(keys: tuple[Keystroke, ...] | list[Keystroke]) -> str:
    """What typing `keys` into an empty place produces."""
    text = ""
    for key in keys:
        text = apply_key(text, key)
    return text


def _leading_blanks(text: str, start: int) -> str:
    end = start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[start:end]


class _Clock:
    """Draws the person's gaps from one seeded generator."""

    def __init__(self, rng: random.Random, style: TypingStyle) -> None:
        self._rng = rng
        self._style = style

    def _lognormal(self, median_s: float, sigma: float) -> float:
        gap = self._rng.lognormvariate(math.log(median_s), sigma)
        return min(max(gap, self._style.min_gap_s), self._style.max_gap_s)

    def key(self) -> float:
        return self._lognormal(self._style.key_median_s, self._style.key_sigma)

    def line_pause(self) -> float:
        return self._lognormal(self._style.line_pause_median_s, self._style.line_pause_sigma)

    def line_end_pause(self) -> float:
        return self._lognormal(self._style.line_end_pause_median_s, self._style.line_pause_sigma)

    def notice(self) -> float:
        return self._lognormal(self._style.notice_median_s, self._style.key_sigma)

    def backspace(self) -> float:
        return self._lognormal(self._style.backspace_median_s, self._style.key_sigma)


def _correction(text: str, start: int, gap_s: float, rng: random.Random, clock: _Clock) -> Step:
    """A mistyped key at `start`, up to two more keys, then backspaces and the right keys."""
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    extra = min(rng.randint(0, 2), line_end - start - 1)
    intended = text[start]
    wrong = rng.choice([c for c in string.ascii_lowercase if c != intended.lower()])
    keys = [Keystroke(gap_s, insert=wrong)]
    keys += [Keystroke(clock.key(), insert=text[start + n]) for n in range(1, extra + 1)]
    keys.append(Keystroke(clock.notice(), delete=1))
    keys += [Keystroke(clock.backspace(), delete=1) for _ in range(extra)]
    keys += [Keystroke(clock.key(), insert=text[start + n]) for n in range(extra + 1)]
    return Step(start, start + extra + 1, tuple(keys))


def type_region(
    text: str, rng: random.Random, style: TypingStyle | None = None
) -> tuple[Step, ...]:
    """The steps of a person typing `text` from its first character, which starts a line."""
    style = style or TypingStyle()
    clock = _Clock(rng, style)
    steps: list[Step] = []
    index = 0
    indentation = _leading_blanks(text, 0)
    if indentation:
        steps.append(Step(0, len(indentation), (Keystroke(clock.line_pause(), indentation),)))
        index = len(indentation)
    line_start = True
    while index < len(text):
        char = text[index]
        if char == "\n":
            end = index + 1 + len(_leading_blanks(text, index + 1))
            steps.append(Step(index, end, (Keystroke(clock.line_end_pause(), text[index:end]),)))
            index, line_start = end, True
            continue
        gap = clock.line_pause() if line_start else clock.key()
        line_start = False
        if char.isascii() and char.isalnum() and rng.random() < style.typo_rate:
            step = _correction(text, index, gap, rng, clock)
        else:
            step = Step(index, index + 1, (Keystroke(gap, char),))
        steps.append(step)
        index = step.end
    return tuple(steps)


def cut_region(path: Path, text: str, first_line: int, line_count: int) -> Region:
    """The window of `line_count` lines from `first_line` (0-based), removed from `text`."""
    lines = text.splitlines(keepends=True)
    if not 0 <= first_line < first_line + line_count <= len(lines):
        raise ValueError(f"lines {first_line}..{first_line + line_count} are not all in {path}")
    start = sum(len(line) for line in lines[:first_line])
    last = lines[first_line + line_count - 1]
    end = start + sum(len(line) for line in lines[first_line : first_line + line_count])
    end -= len(last) - len(last.rstrip("\r\n"))
    return Region(
        path=path,
        first_line=first_line,
        line_count=line_count,
        text=text[start:end],
        document=text[:start] + text[end:],
        offset=start,
    )


def resize_document(trace: Trace, lines: int, filler: Sequence[Path]) -> Trace:
    """The same typing in a document of about `lines` lines, to measure what size costs.

    A longer file keeps a window of whole lines around the region (more of what follows it than
    of what precedes it is dropped first); a shorter one gets real code from `filler` files
    appended after it, as when editing near the top of a big file. The region's own text and
    the lines right around it do not change, so only the document's size differs.
    """
    region = trace.region
    before = region.document[: region.offset]
    after = region.document[region.offset :]
    have = before.count("\n") + after.count("\n") + region.text.count("\n") + 1
    if have > lines:
        lines_before = before.splitlines(keepends=True)
        keep_before = min(len(lines_before), max(0, (lines - region.line_count) // 2))
        before = "".join(lines_before[len(lines_before) - keep_before :])
        room = max(1, lines - keep_before - region.line_count)
        after = "".join(after.splitlines(keepends=True)[:room])
    else:
        extra: list[str] = []
        missing = lines - have
        for path in filler:
            if missing <= 0:
                break
            try:
                chunk = path.read_text(encoding="utf-8").splitlines(keepends=True)[:missing]
            except (OSError, UnicodeDecodeError):
                continue
            extra += chunk
            missing -= len(chunk)
        after = after + ("" if after.endswith("\n") else "\n") + "".join(extra)
    resized = replace(region, document=before + after, offset=len(before))
    return Trace(resized, trace.steps)


def definition_lines(text: str, line_count: int) -> list[int]:
    """0-based lines that start a function with at least `line_count` lines of file from there."""
    lines = text.splitlines()
    return [
        number
        for number, line in enumerate(lines[: len(lines) - line_count + 1])
        if _DEFINITION.match(line)
    ]


def trace_file(
    path: Path, line_count: int, seed: int, style: TypingStyle | None = None
) -> Trace | None:
    """A trace for one file: a window at a random function, typed; None if none fits.

    The generator is seeded with the seed and the file's name, so each file's trace stays the
    same when other files are added to or dropped from a run.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    rng = random.Random(f"{seed}:{path.name}:{line_count}")
    starts = definition_lines(text, line_count)
    if not starts:
        return None
    region = cut_region(path, text, rng.choice(starts), line_count)
    return Trace(region, type_region(region.text, rng, style))


def accepted_part(suggestion: str, remaining: str) -> str:
    """What the person accepts of `suggestion` when `remaining` is what they are about to type.

    All of it when it is a prefix of what comes next; else its first line when that is (an
    editor's accept-line); else nothing. A blank or one-character accept is not worth a key.
    """
    if remaining.startswith(suggestion):
        accepted = suggestion
    else:
        first_line = suggestion.split("\n", 1)[0]
        accepted = first_line if remaining.startswith(first_line) else ""
    return accepted if len(accepted) >= MIN_ACCEPT_CHARS and accepted.strip() else ""


class TraceCursor:
    """Where the person is in a trace; accepting a suggestion jumps over the keys it typed."""

    def __init__(self, trace: Trace) -> None:
        self._text = trace.region.text
        self._steps = list(trace.steps)
        self._starts = [step.start for step in trace.steps]
        self._step = 0
        self._key = 0

    def peek(self) -> Keystroke | None:
        """The next key the person would press, None when the region is written."""
        while self._step < len(self._steps):
            keys = self._steps[self._step].keys
            if self._key < len(keys):
                return keys[self._key]
            self._step, self._key = self._step + 1, 0
        return None

    def advance(self) -> Keystroke:
        key = self.peek()
        if key is None:
            raise IndexError("the trace is finished")
        self._key += 1
        return key

    @property
    def clean(self) -> bool:
        """True between steps: what is typed is exactly a prefix of the region."""
        self.peek()
        return self._key == 0

    @property
    def offset(self) -> int:
        """Characters of the region written, when `clean`."""
        self.peek()
        return self._steps[self._step].start if self._step < len(self._steps) else len(self._text)

    @property
    def remaining(self) -> str:
        return self._text[self.offset :]

    def accept(self, chars: int) -> None:
        """The person accepted the next `chars` characters of the region."""
        if not self.clean or not 0 < chars <= len(self.remaining):
            raise ValueError(f"cannot accept {chars} characters here")
        target = self.offset + chars
        index = bisect.bisect_right(self._starts, target) - 1
        step = self._steps[index]
        if target >= step.end:
            index += 1
        elif target > step.start:
            rest = Keystroke(step.keys[0].gap_s, self._text[target : step.end])
            self._steps[index] = Step(target, step.end, (rest,))
        self._step, self._key = index, 0
