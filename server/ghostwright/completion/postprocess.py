"""Post-processing: named filters that turn raw model text into what is worth showing.

Each filter takes the text and what it needs of the cursor's surroundings, and returns the text
to keep ("" for nothing). `clean_suggestion` applies them in order. Filters that need the parse
tree (cut at the end of the syntactic unit, the parse check) are
`ghostwright.completion.parse_check`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ghostwright.completion.plan import Plan, gap_lines, scope_lines

_OPENERS, _CLOSERS = "([{", ")]}"
_QUOTES = "\"'`"
# Lines shorter than this ("}", "else:", "pass") legitimately repeat; longer repeats are loops.
_MIN_REPEAT_CHARS = 6


@dataclass(frozen=True)
class Surroundings:
    """What the filters look at around the cursor."""

    plan: Plan
    line_above: str
    """The last non-blank line before the cursor line (stripped)."""


def surroundings_of(prefix: str, plan: Plan) -> Surroundings:
    above = prefix[: len(prefix) - len(plan.line_prefix)][-4096:].splitlines()
    return Surroundings(
        plan=plan,
        line_above=next((line.strip() for line in reversed(above) if line.strip()), ""),
    )


def limit_to_block(text: str, around: Surroundings) -> str:
    """Keep the lines within the line limit and the cursor's block (indentation)."""
    return "\n".join(scope_lines(text.split("\n"), around.plan))


def cut_at_suffix_duplicate(text: str, around: Surroundings) -> str:
    """Cut where the suggestion runs into the code below the cursor (`plan.gap_lines`).

    Small models often run on into the next existing lines; showing them would duplicate
    them. Lines are compared with their indentation: a deeper copy (`return None` inside a new
    guard) is new code, not the line below. In the middle of a block a blank line ends the
    suggestion too.
    """
    return "\n".join(gap_lines(text.split("\n"), around.plan))


def drop_repeated_lines(text: str, around: Surroundings) -> str:
    """Cut at a line that repeats the line above the cursor or the line before it.

    Repetition is the typical failure of greedy decoding with small models. The cursor's line,
    once the suggestion completes it, counts as the line before the suggestion's second line.
    """
    lines = text.split("\n")
    previous = around.line_above
    for index, line in enumerate(lines):
        written = (around.plan.line_prefix + line if index == 0 else line).strip()
        whole_line = index > 0 or not around.plan.line_prefix.strip()
        if whole_line and len(written) >= _MIN_REPEAT_CHARS and written == previous:
            return "\n".join(lines[:index])
        if written:
            previous = written
    return text


def code_characters(text: str) -> Iterator[str]:
    """The characters of `text` outside string literals (quotes `'`, `"` and backquotes, with
    backslash escapes; a line break ends an unterminated literal)."""
    quote = ""
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote or char == "\n":
                quote = ""
        elif char in _QUOTES:
            quote = char
        else:
            yield char


def bracket_balance(text: str) -> int:
    """Opening minus closing brackets outside string literals: negative when the text closes
    more than it opens."""
    balance = 0
    for char in code_characters(text):
        if char in _OPENERS:
            balance += 1
        elif char in _CLOSERS:
            balance -= 1
    return balance


def unclosed_brackets(text: str) -> str:
    """The closers that `text` still owes, innermost first (`f(a, [1` gives `])`); brackets in
    string literals and stray closers are ignored."""
    owed: list[str] = []
    for char in code_characters(text):
        if char in _OPENERS:
            owed.append(_CLOSERS[_OPENERS.index(char)])
        elif owed and char == owed[-1]:
            owed.pop()
    return "".join(reversed(owed))


def trim_closing_overlap(text: str, around: Surroundings) -> str:
    """Drop closers at the end of a one-line suggestion that the rest of the line already has.

    With `print(|)` and a suggestion `len(x))`, inserting it as-is would close twice; with
    `console.log(|);` and `items.length)`, the same; with `key = "|"` and `abc"`, the quote.
    The trim is the longest tail of the suggestion that is also the start of the rest of the
    line, taken only when the line would otherwise be over-closed (more closing brackets than
    opening ones, or an unpaired quote), and only as far as mends it.
    """
    plan = around.plan
    rest = plan.line_rest.strip()
    if not rest or "\n" in text or not _over_closed(plan.line_prefix + text + rest, rest):
        return text
    for size in range(min(len(rest), len(text)), 0, -1):
        kept = text[:-size]
        if text.endswith(rest[:size]) and not _over_closed(plan.line_prefix + kept + rest, rest):
            return kept.rstrip()
    return text


def trim_echo_of_line_rest(text: str, around: Surroundings) -> str:
    """Mid-line: cut where the suggestion starts to repeat the code after the cursor.

    A fill-in-the-middle model asked at `for (|) {` sees `) {` after the cursor and often writes
    it again (`int i = 0; i < n; i++) {`), or starts to and then goes its own way
    (`groupby(|, key) for _ in g)` filled with `iterable, key))`). The cut is at the earliest
    point where what follows in the suggestion begins the way the rest of the line begins (its
    first `ECHO_CHARS` characters, spaces not counted, or all of a shorter rest; or the whole
    tail is a start of the rest), and what comes before it closes every bracket it opens:
    `f(|)` with `g(x))` keeps `g(x)`.
    """
    rest = _squeezed(around.plan.line_rest)
    if not around.plan.midline or not rest:
        return text
    line = text.split("\n", 1)[0]
    start = rest[:ECHO_CHARS]
    for cut in range(1, len(line)):
        tail = _squeezed(line[cut:])
        echoes = tail.startswith(start) or (bool(tail) and rest.startswith(tail))
        if echoes and line[:cut].strip() and bracket_balance(line[:cut]) == 0:
            return line[:cut].rstrip()
    return line


ECHO_CHARS = 3
"""How much of the rest of the line a suggestion must begin to write again to count as an
echo of it."""


def _squeezed(text: str) -> str:
    return "".join(text.split())


def _over_closed(line: str, rest: str) -> bool:
    """More closing brackets than opening ones, or an odd count of a quote that the rest of
    the line holds (an escaped quote does not count)."""
    if bracket_balance(line) < 0:
        return True
    unescaped = line.replace("\\\\", "").replace('\\"', "").replace("\\'", "")
    return any(unescaped.count(quote) % 2 for quote in _QUOTES if quote in rest)


def drop_trailing_blank_lines(text: str, around: Surroundings) -> str:
    lines = text.split("\n")
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines).rstrip()


def drop_blank(text: str, around: Surroundings) -> str:
    """Nothing worth showing: empty or whitespace only."""
    return text if text.strip() else ""


FILTERS = (
    limit_to_block,
    cut_at_suffix_duplicate,
    drop_repeated_lines,
    drop_trailing_blank_lines,
    trim_echo_of_line_rest,
    trim_closing_overlap,
    drop_blank,
)


def clean_suggestion(raw: str, around: Surroundings) -> str:
    """Apply every filter in order; "" means nothing should be shown."""
    text = raw.replace("\r\n", "\n")
    for apply in FILTERS:
        text = apply(text, around)
        if not text:
            return ""
    return text
