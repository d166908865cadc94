"""The typing benchmark: replayed editing sessions against Ghostwright and its rivals."""
