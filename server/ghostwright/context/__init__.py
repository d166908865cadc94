"""Context selection: what the prompt shows the model besides the text around the cursor.

`gather.gather_context` picks, most stable first: recently edited code of other files (the ring
of `recent.RecentChunks`, llama.vim's extra context), signatures of symbols used near the cursor
that other open documents define, and this file's imports and enclosing scope headers when the
prefix window does not reach them. The prompt layer fits the chunks into its token budget.
"""
