"""Next edits: after a change, the edit that follows it, anywhere near, shown only verified.

Modules: `history` (didChange edits coalesced into hunks), `rename` and `calls` (deterministic
propagation through tree-sitter), `propose` (the deterministic sources, repair's fixes among
them, and the first proposal that verifies), `model` (the model rewriting the lines after the
change), `proposal` (the proposal and its verification), `judge` (the next-edit predictor),
`service` (settling, cancellation, outcomes: what the language server calls).
"""
