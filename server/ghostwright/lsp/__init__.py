"""The LSP layer: pygls server, handlers, and LSP <-> domain conversion."""
