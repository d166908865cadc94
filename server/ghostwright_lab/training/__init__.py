"""Training the acceptance predictor: rows simulated on real code, and people's own telemetry."""
