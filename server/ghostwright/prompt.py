"""Prompts as token lists: fill-in-the-middle where the vocabulary has FIM tokens, else prefix-only.

For HTTP backends the same windows are cut as text (`build_text_prompt`): the server has the
tokenizer and the FIM format.

The FIM token ids come from the model's own vocabulary (llama.cpp's `llama_vocab_fim_*`), never
from a hard-coded template, and the list is built by hand: `create_completion(suffix=...)` in
llama-cpp-python inserts token 0 instead of the FIM tokens. The prefix window starts at a line
boundary so that it does not slide with every keystroke, which keeps the KV cache reusable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Tokenizer = Callable[[str], list[int]]

# Characters of text looked at per token of budget before tokenizing: generous for code.
_CHARS_PER_TOKEN = 8
# How far past the earliest line that fits to look for a top-level line to anchor the window.
_ANCHOR_LINES = 64


@dataclass(frozen=True)
class FimTokens:
    """The model's fill-in-the-middle token ids."""

    prefix: int
    suffix: int
    middle: int | None
    """None for suffix-first formats that generate right after the prefix (Codestral)."""
    others: tuple[int, ...] = ()
    """Other FIM control and stop tokens (pad, repo, file separator, end of turn): generating
    one ends a suggestion."""
    order: str = "psm"
    """"psm" (prefix, suffix, middle) or "spm" (suffix, prefix)."""
    source: str = "vocabulary"
    """Where the ids came from: the GGUF vocabulary, or a family in `models/fim.toml`."""
    repo: int | None = None
    file_separator: int | None = None
    """The repository-level format's tokens (Qwen2.5-Coder's `<|repo_name|>`, `<|file_sep|>`),
    with which the model was trained to see other files of the project: both, or None."""

    @property
    def all_ids(self) -> frozenset[int]:
        ids = {self.prefix, self.suffix, *self.others}
        ids.update(t for t in (self.middle, self.repo, self.file_separator) if t is not None)
        return frozenset(ids)

    @property
    def sees_repository(self) -> bool:
        return self.repo is not None and self.file_separator is not None


@dataclass(frozen=True)
class ContextChunk:
    """Code from elsewhere that helps at the cursor: another file's definitions, this file's
    imports or enclosing scope headers when the prefix window does not reach them."""

    label: str
    """Where it comes from (a path, or "imports"/"scope"), shown to the model as a comment."""
    text: str
    file: str | None = None
    """The other file it is from (its name); None for this file's own code (imports, scopes)."""


@dataclass(frozen=True)
class Prompt:
    tokens: tuple[int, ...]
    mode: str
    """"fim" or "prefix"."""
    prefix_tokens: int
    suffix_tokens: int
    context_tokens: int
    heal_index: int | None
    """Index of the last token before the cursor, for token healing; None if there is none, or
    where a FIM model must not heal it (below)."""
    prefix_end: int = 0
    """Index just past the last token of the text before the cursor: the prompt up to there
    is what a warm-up can evaluate ahead."""


def _fits(lines: Sequence[str], start: int, max_tokens: int, tokenize: Tokenizer) -> bool:
    return len(tokenize("".join(lines[start:]))) <= max_tokens


def _tail_lines(text: str, max_tokens: int, tokenize: Tokenizer) -> list[int]:
    """Tokens of a run of whole trailing lines of `text` that fits `max_tokens`.

    The run starts at a stable place: the first top-level line (no indentation) at or after the
    earliest line that fits, if there is one within `_ANCHOR_LINES`. So the window start, and
    with it the KV cache, stays put while the person types, and moves in jumps. The current
    (last, partial) line is always kept; if it alone is too long, its tail is.
    """
    window = text[-max_tokens * _CHARS_PER_TOKEN :]
    if len(window) < len(text):
        first_break = window.find("\n")
        if first_break != -1:
            window = window[first_break + 1 :]
    lines = window.splitlines(keepends=True) or [""]
    if _fits(lines, 0, max_tokens, tokenize):
        return tokenize(window)
    last = len(lines) - 1
    if not _fits(lines, last, max_tokens, tokenize):
        return tokenize(lines[last])[-max_tokens:]
    low, high = 0, last  # lines[high:] fits, lines[low:] does not
    while high - low > 1:
        middle = (low + high) // 2
        if _fits(lines, middle, max_tokens, tokenize):
            high = middle
        else:
            low = middle
    start = high
    for candidate in range(high, min(high + _ANCHOR_LINES, last)):
        line = lines[candidate]
        if line.strip() and not line[0].isspace():
            start = candidate
            break
    return tokenize("".join(lines[start:]))


def _head_lines(text: str, max_tokens: int, tokenize: Tokenizer) -> list[int]:
    """Tokens of the longest run of whole leading lines of `text` that fits `max_tokens`."""
    if max_tokens <= 0:
        return []
    window = text[: max_tokens * _CHARS_PER_TOKEN]
    tokens = tokenize(window)
    while len(tokens) > max_tokens:
        last_break = window.rfind("\n", 0, max(len(window) - 1, 0))
        if last_break == -1:
            return tokens[:max_tokens]
        window = window[: last_break + 1]
        tokens = tokenize(window)
    return tokens


def build_prompt(
    prefix: str,
    suffix: str,
    *,
    tokenize: Tokenizer,
    fim: FimTokens | None,
    bos: int | None,
    max_prefix_tokens: int,
    max_suffix_tokens: int,
    context: Sequence[ContextChunk] = (),
    max_context_tokens: int = 0,
    comment: str = "#",
    file_name: str = "",
) -> Prompt:
    """The prompt for a completion at the point between `prefix` and `suffix`.

    Stable parts first, so consecutive keystrokes share a long token prefix in the KV cache:
    context chunks (as commented sections), then the prefix, then the suffix.
    FIM, PSM order: [bos] <fim_pre> context prefix <fim_suf> suffix <fim_mid>; SPM order:
    [bos] <fim_suf> suffix <fim_pre> context prefix. Prefix-only: [bos] context prefix.

    A model with the repository-level format (`FimTokens.sees_repository`) gets the chunks of
    other files as the files it was trained to see before the one being edited:
    [bos] <repo_name> project <file_sep> name code ... <file_sep> file_name <fim_pre> ..., this
    file's own chunks (imports, scope headers) staying in the prefix as commented sections.
    """
    head = [bos] if bos is not None else []
    repository: list[int] = []
    if fim is not None and fim.sees_repository and any(chunk.file for chunk in context):
        repository = _repository_tokens(fim, context, max_context_tokens, file_name, tokenize)
        context = [chunk for chunk in context if not chunk.file]
    head += repository
    context_budget = max(0, max_context_tokens - len(repository))
    context_ids = _context_tokens(context, context_budget, comment, tokenize)
    prefix_ids = _tail_lines(prefix, max_prefix_tokens, tokenize)
    if fim is None:
        tokens = head + context_ids + prefix_ids
        heal = len(tokens) - 1 if prefix_ids else None
        return Prompt(
            tuple(tokens),
            "prefix",
            len(prefix_ids),
            0,
            len(repository) + len(context_ids),
            heal,
            len(tokens),
        )
    suffix_ids = _head_lines(suffix, max_suffix_tokens, tokenize)
    middle = [] if fim.middle is None else [fim.middle]
    if fim.order == "spm":
        tokens = [*head, fim.suffix, *suffix_ids, fim.prefix, *context_ids, *prefix_ids, *middle]
        heal = len(head) + len(suffix_ids) + 1 + len(context_ids) + len(prefix_ids) - 1
    else:
        tokens = [*head, fim.prefix, *context_ids, *prefix_ids, fim.suffix, *suffix_ids, *middle]
        heal = len(head) + 1 + len(context_ids) + len(prefix_ids) - 1
    # A FIM model healing bare indentation (the cursor at the start of a line's code) writes
    # whitespace until it runs out of tokens (Qwen2.5-Coder: 128 spaces); it needs no healing
    # there, the indentation is whole.
    line = prefix[max(prefix.rfind("\n"), prefix.rfind("\r")) + 1 :]
    indentation_only = bool(line) and not line.strip()
    heal_index = heal if prefix_ids and not indentation_only else None
    return Prompt(
        tuple(tokens),
        "fim",
        len(prefix_ids),
        len(suffix_ids),
        len(repository) + len(context_ids),
        heal_index,
        heal + 1,
    )


REPOSITORY_NAME = "project"
"""What the repository-level format names the repository (the model only needs a name)."""


def _repository_tokens(
    fim: FimTokens,
    chunks: Sequence[ContextChunk],
    budget: int,
    file_name: str,
    tokenize: Tokenizer,
) -> list[int]:
    """<repo_name> project, then each other file's chunk that fits as <file_sep> name + code,
    then <file_sep> and this file's name: what comes before this file's FIM part."""
    assert fim.repo is not None and fim.file_separator is not None
    tokens = [fim.repo, *tokenize(REPOSITORY_NAME + "\n")]
    used = 0
    for chunk in chunks:
        if not chunk.file:
            continue
        body = chunk.text if chunk.text.endswith("\n") else chunk.text + "\n"
        ids = [fim.file_separator, *tokenize(f"{chunk.file}\n{body}")]
        if used + len(ids) > budget:
            break
        tokens += ids
        used += len(ids)
    return [*tokens, fim.file_separator, *tokenize(f"{file_name or 'untitled'}\n")]


def _section(chunk: ContextChunk, comment: str) -> str:
    """A context chunk as the model reads it: a comment naming where it comes from, then it."""
    body = chunk.text if chunk.text.endswith("\n") else chunk.text + "\n"
    return f"{comment} {chunk.label}\n{body}"


def _context_tokens(
    chunks: Sequence[ContextChunk], budget: int, comment: str, tokenize: Tokenizer
) -> list[int]:
    """Tokens of as many whole chunks as fit the budget, in the order given."""
    tokens: list[int] = []
    for chunk in chunks:
        ids = tokenize(_section(chunk, comment))
        if len(tokens) + len(ids) > budget:
            break
        tokens.extend(ids)
    if tokens:
        tokens.extend(tokenize(f"{comment} ---\n"))
    return tokens


# --- text prompts, for inference servers that tokenize themselves -------------------------------

CHARS_PER_TOKEN = 3
"""Characters counted per token of budget when the tokenizer is on a server (code averages 3 to 4
characters per token in the common code models' vocabularies: 3 keeps a prompt within budget)."""


def _characters(text: str) -> list[int]:
    """A tokenizer whose tokens are characters, so that the token windows above cut text by
    character budgets."""
    return [ord(character) for character in text]


def _text(codes: Sequence[int]) -> str:
    return "".join(map(chr, codes))


@dataclass(frozen=True)
class TextPrompt:
    """The prompt for an HTTP backend, as text: the server tokenizes it and (for /infill and
    Ollama) applies the model's FIM format itself. Cut the same way as a token prompt: whole
    lines, the window start anchored at a top-level line so the server's prompt cache is reused
    keystroke after keystroke."""

    prefix: str
    """The text before the cursor, within the prefix budget."""
    suffix: str
    """The text after the cursor, within the suffix budget."""
    context: tuple[ContextChunk, ...]
    """The context chunks that fit the context budget, in order."""
    comment: str = "#"

    @property
    def context_text(self) -> str:
        """The chunks as commented sections, as a token prompt has them ("" for none)."""
        if not self.context:
            return ""
        sections = "".join(_section(chunk, self.comment) for chunk in self.context)
        return f"{sections}{self.comment} ---\n"

    @property
    def line_start(self) -> int:
        """Where the cursor's line starts in `prefix`."""
        return max(self.prefix.rfind("\n"), self.prefix.rfind("\r")) + 1


def build_text_prompt(
    prefix: str,
    suffix: str,
    *,
    max_prefix_tokens: int,
    max_suffix_tokens: int,
    context: Sequence[ContextChunk] = (),
    max_context_tokens: int = 0,
    comment: str = "#",
) -> TextPrompt:
    """The text prompt at the point between `prefix` and `suffix`, budgets in tokens counted as
    `CHARS_PER_TOKEN` characters each."""
    prefix_text = _text(_tail_lines(prefix, max_prefix_tokens * CHARS_PER_TOKEN, _characters))
    suffix_text = _text(_head_lines(suffix, max_suffix_tokens * CHARS_PER_TOKEN, _characters))
    budget = max_context_tokens * CHARS_PER_TOKEN
    fitting: list[ContextChunk] = []
    used = 0
    for chunk in context:
        used += len(_section(chunk, comment))
        if used > budget:
            break
        fitting.append(chunk)
    return TextPrompt(prefix_text, suffix_text, tuple(fitting), comment)
