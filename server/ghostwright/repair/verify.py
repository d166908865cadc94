"""Whether a candidate fix works, and the smallest edits that make it.

A candidate passes when, with our checkers run again on the patched text:
(a) nothing in the edited lines fails to parse;
(b) the targeted problem is gone (one fewer problem with its code and message);
(d) a model's candidate keeps the code it replaces: a "fix" that comments out or rewrites the
    broken line into something else also makes the diagnostic go away.
(c) no problem is new. For Python, a syntax error hides everything from pyflakes, so while
    the original had one, some of pyflakes' findings in the patched text were hidden, not
    made (`_was_hidden`).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ghostwright.repair.diagnostics import Problem, check
from ghostwright.repair.fixes import Patch

SYNTAX_CODES = frozenset({"syntax", "missing", "indentation"})
"""Problem codes that mean the text does not parse."""
_CHAR_DIFF_LIMIT = 2000
"""Changed line blocks longer than this (characters) are replaced whole, not diffed by char."""


@dataclass(frozen=True)
class TextChange:
    """One minimal edit: replace text[start:end] (code points) with `text`."""

    start: int
    end: int
    text: str

    @property
    def size(self) -> int:
        return (self.end - self.start) + len(self.text)


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one candidate."""

    ok: bool
    reason: str
    """Why it failed, in words the model and the person can read ("" when it passed)."""
    problems: tuple[Problem, ...] = ()
    """Every problem in the patched text."""


def verify(
    language_id: str,
    text: str,
    before: Sequence[Problem],
    target: Problem | None,
    patch: Patch,
) -> Verdict:
    """Check `patch` against `target` (None: it must only fix no new problems in, e.g. for a
    problem another server reported that our checkers cannot see)."""
    patched = patch.apply(text)
    if patched == text:
        return Verdict(False, "it changes nothing")
    removed, inserted = text[patch.start : patch.end], patch.text
    if patch.origin == "model" and not keeps_code(language_id, removed, inserted):
        return Verdict(False, "it rewrites the code instead of fixing it")
    after = check(language_id, patched)
    region_start, region_end = _line_span(patched, patch.start, patch.start + len(patch.text))

    def in_region(problem: Problem) -> bool:
        return region_start <= problem.start <= region_end

    for problem in after:
        if problem.code in SYNTAX_CODES and in_region(problem):
            return Verdict(False, f"it does not parse: {problem.message}", tuple(after))
    expected = Counter(p.key for p in before)
    if target is not None:
        if expected[target.key] <= 0:
            return Verdict(False, "the problem is not in the document", tuple(after))
        expected[target.key] -= 1
        moved_to = _moved(target.start, patch)
        if any(p.key == target.key and p.start == moved_to for p in after):
            return Verdict(False, f"the problem remains: {target.message}", tuple(after))
    hidden_before = language_id == "python" and any(p.code in SYNTAX_CODES for p in before)
    seen: Counter[tuple[str, str]] = Counter()
    for problem in after:
        seen[problem.key] += 1
        if seen[problem.key] <= expected[problem.key]:
            continue
        if target is not None and problem.key == target.key:
            return Verdict(False, f"the problem remains: {problem.message}", tuple(after))
        if hidden_before and _was_hidden(problem, removed, inserted):
            continue
        return Verdict(False, f"it adds a problem: {problem.message}", tuple(after))
    return Verdict(True, "", tuple(after))


MIN_KEPT_SIMILARITY = 0.8
"""How alike (difflib ratio, comments and blanks ignored) a model's text and the code it
replaces must be."""
MAX_DELETED_SHARE = 0.1
"""Most of the replaced code (non-blank characters, comments ignored) a model's fix may delete;
at least `MIN_DELETED_ALLOWED` characters (a stray token) always may go."""
MIN_DELETED_ALLOWED = 2
_LINE_COMMENT = {"python": "#", "": "//"}
_BLANKS = re.compile(r"\s+")


def keeps_code(language_id: str, removed: str, inserted: str) -> bool:
    """Whether `inserted` is `removed` edited, not rewritten: it adds no comment, drops no
    line of code, deletes at most a little code, and stays alike."""
    marker = _LINE_COMMENT.get(language_id, _LINE_COMMENT[""])
    if inserted.count(marker) > removed.count(marker):
        return False
    if _code_lines(inserted, marker) < _code_lines(removed, marker):
        return False
    old = _BLANKS.sub("", _strip_comments(removed, marker))
    new = _BLANKS.sub("", _strip_comments(inserted, marker))
    if not old:
        return True
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    deleted = sum(
        i2 - i1 for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "insert" and tag != "equal"
    )
    if deleted > max(MIN_DELETED_ALLOWED, MAX_DELETED_SHARE * len(old)):
        return False
    return matcher.ratio() >= MIN_KEPT_SIMILARITY


def _strip_comments(text: str, marker: str) -> str:
    return "\n".join(line.split(marker, 1)[0] for line in text.split("\n"))


def _code_lines(text: str, marker: str) -> int:
    return sum(1 for line in _strip_comments(text, marker).split("\n") if line.strip())


def _was_hidden(problem: Problem, removed: str, inserted: str) -> bool:
    """Whether a pyflakes finding the patched Python text shows was in the original too, where
    a syntax error kept pyflakes from running: one about a name the patch neither adds nor
    removes. A syntax error never counts as hidden: one the patch reveals further down cannot
    be told from one it causes (a wrongly indented `try:` breaks the lines after it), so a fix
    in a file with two syntax errors is refused rather than risked."""
    if problem.code in SYNTAX_CODES or problem.name is None:
        return False
    word = re.compile(rf"(?<!\w){re.escape(problem.name.split(' as ')[-1])}(?!\w)")
    return len(word.findall(removed)) == len(word.findall(inserted))


def _moved(offset: int, patch: Patch) -> int | None:
    """Where `offset` is after the patch; None when the patch replaced it."""
    if offset < patch.start:
        return offset
    if offset >= patch.end and offset > patch.start:
        return offset + len(patch.text) - (patch.end - patch.start)
    return None


def _line_span(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end] widened to whole lines."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end < 0 else line_end


def minimal_changes(text: str, patch: Patch) -> list[TextChange]:
    """The edits that turn text into patch.apply(text), as small as a line-then-character diff
    makes them: the client sees a few characters change, not a whole function replaced."""
    old = text[patch.start : patch.end]
    new = patch.text
    changes: list[TextChange] = []
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    line_offsets = [0]
    for line in old_lines:
        line_offsets.append(line_offsets[-1] + len(line))
    lines = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in lines.get_opcodes():
        if tag == "equal":
            continue
        old_block = "".join(old_lines[i1:i2])
        new_block = "".join(new_lines[j1:j2])
        base = patch.start + line_offsets[i1]
        if len(old_block) + len(new_block) > _CHAR_DIFF_LIMIT or not old_block or not new_block:
            changes.append(TextChange(base, base + len(old_block), new_block))
            continue
        chars = difflib.SequenceMatcher(None, old_block, new_block, autojunk=False)
        for ctag, c1, c2, d1, d2 in chars.get_opcodes():
            if ctag != "equal":
                changes.append(TextChange(base + c1, base + c2, new_block[d1:d2]))
    return _merged(changes)


def _merged(changes: list[TextChange]) -> list[TextChange]:
    """Adjacent edits as one (a replace split into delete + insert at the same place)."""
    merged: list[TextChange] = []
    for change in changes:
        if merged and merged[-1].end == change.start:
            last = merged[-1]
            merged[-1] = TextChange(last.start, change.end, last.text + change.text)
        else:
            merged.append(change)
    return merged


def changed_size(changes: Sequence[TextChange]) -> int:
    """Characters removed plus inserted: what 'as little as possible' minimises."""
    return sum(change.size for change in changes)
