"""The completion pipeline: gate, prompt, generate, post-process, score."""
