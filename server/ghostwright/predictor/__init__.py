"""The acceptance predictor: features of a request and its suggestion, the shipped LightGBM
models that score them (gate before generating, filter after), and how they are trained."""
