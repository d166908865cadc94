"""Context chunks for a prompt, from the parse trees of this and the other open documents."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ghostwright.context.recent import RecentChunks, file_label
from ghostwright.prompt import ContextChunk
from ghostwright.syntax import SyntaxTree

# Characters before the cursor that the prefix window is assumed to cover (about 3 characters
# per token of a 1024-token window): context that sits within them is not repeated.
WINDOW_CHARS = 3000
# Lines before the cursor whose identifiers count as "used near the cursor".
NEARBY_LINES = 40

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMMENT = {"python": "#", "plaintext": "#"}


def comment_marker(language_id: str) -> str:
    """The line-comment marker used to label context chunks in a prompt."""
    return _COMMENT.get(language_id, "//")


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
            name = file_label(other_uri)
            chunks.append(ContextChunk(f"{name}, definitions", "\n".join(signatures), file=name))
    far_imports = [line for line in tree.imports() if line not in before]
    if far_imports and offset > WINDOW_CHARS:
        chunks.append(ContextChunk("imports", "\n".join(far_imports)))
    far_headers = [line for line in tree.scope_headers(offset) if line.strip() not in before]
    if far_headers:
        chunks.append(ContextChunk("enclosing scopes", "\n".join(far_headers)))
    return tuple(chunks)
