"""Inference backends behind one interface (`Engine`), and the model files they load."""
