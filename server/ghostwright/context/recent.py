"""The ring of recently edited code from all documents (llama.vim's extra context)."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from ghostwright.prompt import ContextChunk

RING_CAPACITY = 16
RING_CHUNK_LINES = 64
# A new ring chunk replaces an old one this similar (llama.vim's 0.9); a chunk this similar to
# the text around the cursor is left out of the prompt (llama.vim's 0.5).
DUPLICATE_SIMILARITY = 0.9
REDUNDANT_SIMILARITY = 0.5


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
            ContextChunk(file_label(chunk.uri), chunk.text, file=file_label(chunk.uri))
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


def file_label(uri: str) -> str:
    """The name a prompt gives a document: its file name."""
    return uri.rsplit("/", 1)[-1]
