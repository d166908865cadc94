"""Measuring Ghostwright: the naive baseline, the completion eval, and the typing benchmark."""
