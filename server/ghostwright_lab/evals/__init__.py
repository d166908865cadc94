"""Evals: suggestions, fills and repairs judged against real code no one here wrote."""
