"""The structural half of completion: what the parse tree says before and after the model.

Before: context for the prompt (this file's imports and enclosing scope headers when the prefix
window does not reach them, signatures of symbols used near the cursor that other open
documents define, recently edited code from other files) and whether the cursor opens an empty
block. After: cut a suggestion at the end of the syntactic unit it completes, and refuse one
that makes the document parse worse (falling back to its first line).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass

from ghostwright.completion.plan import plan_completion
from ghostwright.completion.postprocess import unclosed_brackets
from ghostwright.prompt import ContextChunk
from ghostwright.syntax import SyntaxTree

# Characters before the cursor that the prefix window is assumed to cover (about 3 characters
# per token of a 1024-token window): context that sits within them is not repeated.
WINDOW_CHARS = 3000
# Lines before the cursor whose identifiers count as "used near the cursor".
NEARBY_LINES = 40
RING_CAPACITY = 16
RING_CHUNK_LINES = 64
# A new ring chunk replaces an old one this similar (llama.vim's 0.9); a chunk this similar to
# the text around the cursor is left out of the prompt (llama.vim's 0.5).
DUPLICATE_SIMILARITY = 0.9
REDUNDANT_SIMILARITY = 0.5

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMMENT = {"python": "#", "plaintext": "#"}
_OPENER_LINE = re.compile(r":\s*$")


def comment_marker(language_id: str) -> str:
    """The line-comment marker used to label context chunks in a prompt."""
    return _COMMENT.get(language_id, "//")


@dataclass(frozen=True)
class _RingChunk:
    uri: str
    text: str


class RecentChunks:
    """A ring buffer of recently edited code from all documents (llama.vim's extra context)."""

    def __init__(self) -> None:
        self._chunks: deque[_RingChunk] = deque(maxlen=RING_CAPACITY)

    def remember(self, uri: str, text: str, offset: int) -> None:
        """Keep the lines around `offset` of a document the person worked in."""
        lines = text.splitlines()
        if not lines:
            return
        row = text.count("\n", 0, offset)
        start = max(0, row - RING_CHUNK_LINES // 2)
        chunk = "\n".join(lines[start : start + RING_CHUNK_LINES]).strip("\n")
        if not chunk.strip():
            return
        for old in list(self._chunks):
            if old.uri == uri and _similar(old.text, chunk) > DUPLICATE_SIMILARITY:
                self._chunks.remove(old)
        self._chunks.append(_RingChunk(uri, chunk))

    def for_prompt(self, uri: str, around_cursor: str) -> list[ContextChunk]:
        """Chunks of other documents, oldest first (stable), minus near-copies of the cursor's."""
        return [
            ContextChunk(_label(chunk.uri), chunk.text, file=_label(chunk.uri))
            for chunk in self._chunks
            if chunk.uri != uri and _similar(chunk.text, around_cursor) <= REDUNDANT_SIMILARITY
        ]

    def forget(self, uri: str) -> None:
        for old in [chunk for chunk in self._chunks if chunk.uri == uri]:
            self._chunks.remove(old)


def _similar(a: str, b: str) -> float:
    """Shared lines over all lines (llama.vim's chunk similarity): 1 for the same lines, 0 for
    none in common. Cheap enough to compare every ring chunk on every request."""
    lines_a, lines_b = a.splitlines(), b.splitlines()
    if not lines_a or not lines_b:
        return 0.0
    common = sum((Counter(lines_a) & Counter(lines_b)).values())
    return 2.0 * common / (len(lines_a) + len(lines_b))


def _label(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


def gather_context(
    uri: str,
    tree: SyntaxTree,
    offset: int,
    others: Iterable[tuple[str, SyntaxTree]],
    recent: RecentChunks,
) -> tuple[ContextChunk, ...]:
    """Context chunks for a prompt, most stable first."""
    text = tree.text
    before = text[max(0, offset - WINDOW_CHARS) : offset]
    around = text[max(0, offset - 2000) : offset + 500]
    chunks: list[ContextChunk] = list(recent.for_prompt(uri, around))
    nearby = set(_IDENTIFIER.findall("\n".join(text[:offset].splitlines()[-NEARBY_LINES:])))
    for other_uri, other in others:
        if other_uri == uri or other.language_id != tree.language_id:
            continue
        signatures = [
            signature
            for name, signature in other.definitions().items()
            if name.rsplit(".", 1)[-1] in nearby
        ]
        if signatures:
            name = _label(other_uri)
            chunks.append(ContextChunk(f"{name}, definitions", "\n".join(signatures), file=name))
    far_imports = [line for line in tree.imports() if line not in before]
    if far_imports and offset > WINDOW_CHARS:
        chunks.append(ContextChunk("imports", "\n".join(far_imports)))
    far_headers = [line for line in tree.scope_headers(offset) if line.strip() not in before]
    if far_headers:
        chunks.append(ContextChunk("enclosing scopes", "\n".join(far_headers)))
    return tuple(chunks)


def refine_suggestion(
    tree: SyntaxTree, offset: int, text: str, *, fill_in_middle: bool = False
) -> str:
    """Cut at the end of the syntactic unit, then keep only what does not break the parse.

    A suggestion may end inside an unfinished construct (a block opener, an open bracket),
    which is fine: the check closes it first. One that adds real errors falls back to its first
    line, else to nothing.

    Where the model saw the code after the cursor (`fill_in_middle`) and the cursor is on a
    blank line with code of its block below (`fills_gap`), the suggestion fills a gap that may
    take several statements: it is not cut after the first (the generation's stops already
    ended it before the code below and at the block's end).
    """
    if not tree.has_tree:
        return text
    if not (fill_in_middle and fills_gap(tree.text, offset)):
        end = tree.with_insertion(offset, text).unit_end(offset)
        if end is not None and offset < end < offset + len(text):
            text = text[: end - offset].rstrip()
    baseline = tree.error_count()
    line_start = max(tree.text.rfind("\n", 0, offset), tree.text.rfind("\r", 0, offset)) + 1
    line_prefix = tree.text[line_start:offset]
    for candidate in (text, text.split("\n", 1)[0]):
        if candidate.strip() and _parses_as_well(tree, offset, candidate, line_prefix, baseline):
            return candidate
    return ""


def fills_gap(text: str, offset: int) -> bool:
    """The cursor is on a blank line in the middle of a block: code of the same block follows
    below, so a fill-in-the-middle model is filling a gap (of one statement or several).
    The blank line is checked first: the plan looks far up the text for the block's indent."""
    line_start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    line_end = min(
        (i for i in (text.find("\n", offset), text.find("\r", offset)) if i >= 0), default=len(text)
    )
    if text[line_start:line_end].strip():
        return False
    plan = plan_completion(text[:offset], text[offset:], 2, fill_in_middle=True)
    return plan is not None and plan.inside_block


def _parses_as_well(
    tree: SyntaxTree, offset: int, candidate: str, line_prefix: str, baseline: int
) -> bool:
    """Whether the document with `candidate` at `offset` has no more parse errors than now:
    as it is (it may finish a pair the editor already closed), or closed by `_closing` (it may
    stop inside a construct the person is still writing)."""
    if tree.errors_with_insertion(offset, candidate) <= baseline:
        return True
    closing = _closing(line_prefix + candidate, tree.language_id)
    return bool(closing) and tree.errors_with_insertion(offset, candidate + closing) <= baseline


def _closing(text: str, language_id: str) -> str:
    """What finishes an unfinished suggestion for the parse check: closing brackets (outside
    string literals), or a body for a Python block opener outside any bracket. `text` starts at
    the beginning of the cursor's line."""
    owed = unclosed_brackets(text)
    last_line = text.rsplit("\n", 1)[-1]
    if owed or language_id != "python" or not _OPENER_LINE.search(last_line):
        return owed
    indent = len(last_line) - len(last_line.lstrip())
    return "\n" + " " * (indent + 4) + "pass"
