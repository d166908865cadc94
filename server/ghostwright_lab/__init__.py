"""The lab: what measures and trains Ghostwright, never run by the editor.

`bench` replays a person typing against the server and its rivals, `evals` judge suggestions
and repairs against real code, `training` simulates labelled suggestions and trains the
acceptance predictor. The lab imports the serving core (`ghostwright`) freely; the core never
imports the lab (an import-linter contract in `make lint`). Its commands reach the `ghostwright`
command through the `ghostwright.commands` entry point (`ghostwright_lab.cli`).
"""
