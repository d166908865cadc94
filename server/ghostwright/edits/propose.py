"""The deterministic proposals for a document's latest change, and the first one that verifies.

One function per source, each answering for the latest hunk: `rename` (its other uses),
`call-arguments` (the other calls), `repeat` (the sibling lines of the same shape), `repair`
(a problem the change caused, fixed by repair's deterministic fixes: an import to add, one no
longer used, a misspelt name). The model's proposals (`edits.model`) come after these, when
none of them has anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from ghostwright.edits.calls import call_changes
from ghostwright.edits.history import Hunk
from ghostwright.edits.proposal import Proposal, check_region, verify_proposal
from ghostwright.edits.rename import rename_changes, renamed_identifier
from ghostwright.edits.repeat import repeat_changes
from ghostwright.repair.diagnostics import check
from ghostwright.repair.pipeline import Repairer
from ghostwright.repair.verify import SYNTAX_CODES, TextChange
from ghostwright.syntax import SyntaxTree

DETERMINISTIC_SOURCES = ("rename", "call-arguments", "repeat", "repair")


def deterministic_proposals(
    tree: SyntaxTree, last: Hunk, sources: Iterable[str] = DETERMINISTIC_SOURCES
) -> Iterator[Proposal]:
    """Candidates for the change `last`, most specific source first (not yet verified)."""
    wanted = set(sources)
    text = tree.text
    if "rename" in wanted:
        rename = renamed_identifier(text, last)
        changes = rename_changes(tree, rename) if rename is not None else None
        if rename is not None and changes:
            places = len(changes)
            label = f"rename {rename.old} → {rename.new} ({places} more place{'s' * (places > 1)})"
            yield Proposal("rename", tuple(changes), label)
    if "call-arguments" in wanted:
        changes = call_changes(tree, last)
        if changes:
            calls = len(changes)
            yield Proposal(
                "call-arguments",
                tuple(changes),
                f"the same arguments at {calls} other call{'s' * (calls > 1)}",
            )
    if "repeat" in wanted:
        changes = repeat_changes(text, last)
        if changes:
            lines = len(changes)
            yield Proposal(
                "repeat", tuple(changes), f"the same change on {lines} more line{'s' * (lines > 1)}"
            )
    if "repair" in wanted:
        yield from repair_proposals(tree, last)


def repair_proposals(tree: SyntaxTree, last: Hunk) -> Iterator[Proposal]:
    """Repair's deterministic fix for each problem the change `last` caused (one that was not
    there before it), nearest first. Syntax errors are left alone: right after a pause the
    person is often in the middle of a statement."""
    text = tree.text
    region = check_region(tree, last.start, last.end)
    current = region.of(text)
    start, end = last.start + region.shift, last.end + region.shift
    if start < len(region.prefix) or end > len(current):
        return
    previous = current[:start] + last.old + current[end:]
    after = check(tree.language_id, current)
    before = Counter(problem.key for problem in check(tree.language_id, previous))
    caused = []
    for problem in after:
        before[problem.key] -= 1
        if before[problem.key] < 0 and problem.code not in SYNTAX_CODES:
            if problem.code.startswith("undefined") and problem.name and problem.name in last.old:
                continue  # its binding was just renamed or removed: not a misspelling
            caused.append(problem)
    caused.sort(key=lambda problem: abs(problem.start - start))
    repairer = Repairer(None)
    for problem in caused:
        result = repairer.repair(tree.language_id, current, problem, problems=after)
        if result.fixed and all(c.start >= len(region.prefix) for c in result.changes):
            changes = tuple(
                TextChange(c.start - region.shift, c.end - region.shift, c.text)
                for c in result.changes
            )
            yield Proposal("repair", changes, f"fix: {problem.message}")


def first_verified(
    tree: SyntaxTree, candidates: Iterable[Proposal], last: Hunk | None
) -> tuple[Proposal | None, list[str]]:
    """The first candidate that passes `verify_proposal`, and why the ones before it failed."""
    refused: list[str] = []
    for candidate in candidates:
        reason = verify_proposal(tree, candidate, last)
        if reason is None:
            return candidate, refused
        refused.append(f"{candidate.source}: {reason}")
    return None, refused
