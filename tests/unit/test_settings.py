"""Unit tests for ghostwright.settings: layers, precedence, sources and warnings."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from ghostwright.settings import (
    DEFAULTS,
    ENV_NAMES,
    Settings,
    camel_case,
    editor_section,
    resolve_settings,
)


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ghostwright.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def no_file(tmp_path: Path) -> Path:
    """A settings file path that does not exist, so the user's real file is never read."""
    return tmp_path / "missing" / "ghostwright.toml"


def test_defaults_when_no_layer_sets_anything(no_file):
    resolved = resolve_settings(environ={}, file=no_file)
    assert resolved.settings == Settings()
    assert resolved.settings.model is None
    assert resolved.settings.max_tokens == 128
    assert resolved.settings.max_lines == 4
    assert resolved.settings.enabled is True
    assert resolved.settings.log_level == "INFO"
    assert resolved.warnings == ()
    assert set(resolved.sources) == {f.name for f in dataclasses.fields(Settings)}
    assert set(resolved.sources.values()) == {DEFAULTS}


def test_camel_case_names_and_env_names():
    assert camel_case("max_tokens") == "maxTokens"
    assert camel_case("model") == "model"
    assert camel_case("gpu_layers") == "gpuLayers"
    assert ENV_NAMES["model"] == "GHOSTWRIGHT_MODEL"
    assert ENV_NAMES["max_tokens"] == "GHOSTWRIGHT_MAX_TOKENS"


# --- File layer ---------------------------------------------------------------------------------


def test_file_layer_with_a_ghostwright_table(tmp_path):
    path = write_toml(
        tmp_path,
        '[ghostwright]\nmax_tokens = 100\nmodel = "/models/a.gguf"\nenabled = false\n'
        'log_level = "debug"\n',
    )
    resolved = resolve_settings(environ={}, file=path)
    assert resolved.settings.max_tokens == 100
    assert resolved.settings.model == "/models/a.gguf"
    assert resolved.settings.enabled is False
    assert resolved.settings.log_level == "DEBUG"
    assert resolved.sources["max_tokens"] == str(path)
    assert resolved.sources["enabled"] == str(path)
    assert resolved.sources["max_lines"] == DEFAULTS
    assert resolved.warnings == ()


def test_file_layer_with_top_level_keys(tmp_path):
    path = write_toml(tmp_path, "max_lines = 7\ncontext_size = 2048\n")
    resolved = resolve_settings(environ={}, file=path)
    assert resolved.settings.max_lines == 7
    assert resolved.settings.context_size == 2048
    assert resolved.sources["max_lines"] == str(path)


def test_file_values_are_not_parsed_from_text(tmp_path):
    # Only the environment layer converts strings; a quoted number in TOML is a type error.
    path = write_toml(tmp_path, '[ghostwright]\nmax_tokens = "32"\nenabled = "yes"\n')
    resolved = resolve_settings(environ={}, file=path)
    assert resolved.settings.max_tokens == 128
    assert resolved.settings.enabled is True
    assert resolved.sources["max_tokens"] == DEFAULTS
    assert len(resolved.warnings) == 2
    assert any("max_tokens" in w and "expected an integer" in w for w in resolved.warnings)


def test_broken_toml_warns_and_is_ignored(tmp_path):
    path = write_toml(tmp_path, "[ghostwright\nmax_tokens = = 3\n")
    resolved = resolve_settings(environ={}, file=path)
    assert resolved.settings == Settings()
    assert len(resolved.warnings) == 1
    assert str(path) in resolved.warnings[0]
    assert "cannot be read" in resolved.warnings[0]
    assert set(resolved.sources.values()) == {DEFAULTS}


def test_ghostwright_key_that_is_not_a_table_warns(tmp_path):
    path = write_toml(tmp_path, "ghostwright = 5\n")
    resolved = resolve_settings(environ={}, file=path)
    assert resolved.settings == Settings()
    assert len(resolved.warnings) == 1
    assert "must be a table" in resolved.warnings[0]


def test_broken_file_does_not_stop_the_other_layers(tmp_path):
    path = write_toml(tmp_path, "not toml at all ][")
    resolved = resolve_settings(
        environ={"GHOSTWRIGHT_MAX_LINES": "2"}, editor={"maxTokens": 10}, file=path
    )
    assert resolved.settings.max_lines == 2
    assert resolved.settings.max_tokens == 10
    assert len(resolved.warnings) == 1


# --- Environment layer --------------------------------------------------------------------------


def test_environment_model_and_max_tokens(no_file):
    resolved = resolve_settings(
        environ={"GHOSTWRIGHT_MODEL": "/srv/m.gguf", "GHOSTWRIGHT_MAX_TOKENS": "32"}, file=no_file
    )
    assert resolved.settings.model == "/srv/m.gguf"
    assert resolved.settings.max_tokens == 32
    assert isinstance(resolved.settings.max_tokens, int)
    assert resolved.sources["model"] == "environment"
    assert resolved.sources["max_tokens"] == "environment"
    assert resolved.warnings == ()


def test_environment_model_expands_the_home_directory(no_file):
    resolved = resolve_settings(environ={"GHOSTWRIGHT_MODEL": "~/m.gguf"}, file=no_file)
    assert resolved.settings.model == os.path.expanduser("~/m.gguf")
    assert not resolved.settings.model.startswith("~")


def test_environment_blank_model_means_unset(no_file):
    resolved = resolve_settings(environ={"GHOSTWRIGHT_MODEL": "  "}, file=no_file)
    assert resolved.settings.model is None


@pytest.mark.parametrize("bad", ["abc", "3.5", "", "--5", "1e3"])
def test_environment_bad_integer_warns_and_keeps_the_default(no_file, bad):
    resolved = resolve_settings(environ={"GHOSTWRIGHT_MAX_TOKENS": bad}, file=no_file)
    assert resolved.settings.max_tokens == 128
    assert resolved.sources["max_tokens"] == DEFAULTS
    assert len(resolved.warnings) == 1
    warning = resolved.warnings[0]
    assert warning.startswith("environment:")
    assert "max_tokens" in warning
    assert repr(bad) in warning
    assert "keeping 128" in warning


def test_environment_bad_value_keeps_the_file_value(tmp_path):
    path = write_toml(tmp_path, "[ghostwright]\nmax_tokens = 100\n")
    resolved = resolve_settings(environ={"GHOSTWRIGHT_MAX_TOKENS": "abc"}, file=path)
    assert resolved.settings.max_tokens == 100
    assert resolved.sources["max_tokens"] == str(path)
    assert "keeping 100" in resolved.warnings[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), ("on", True), ("0", False), ("off", False)],
)
def test_environment_booleans(no_file, raw, expected):
    resolved = resolve_settings(environ={"GHOSTWRIGHT_ENABLED": raw}, file=no_file)
    assert resolved.settings.enabled is expected
    assert resolved.warnings == ()


def test_environment_negative_integer(no_file):
    resolved = resolve_settings(environ={"GHOSTWRIGHT_GPU_LAYERS": "-1"}, file=no_file)
    assert resolved.settings.gpu_layers == -1
    assert resolved.sources["gpu_layers"] == "environment"


def test_unrelated_environment_variables_are_ignored(no_file):
    resolved = resolve_settings(environ={"MAX_TOKENS": "5", "PATH": "/bin"}, file=no_file)
    assert resolved.settings == Settings()
    assert resolved.warnings == ()


# --- Editor layer -------------------------------------------------------------------------------


def test_editor_camel_case_keys(no_file):
    resolved = resolve_settings(
        editor={"maxTokens": 20, "maxLines": 1, "logLevel": "warning", "gpuLayers": 0},
        environ={},
        file=no_file,
    )
    s = resolved.settings
    assert (s.max_tokens, s.max_lines, s.log_level, s.gpu_layers) == (20, 1, "WARNING", 0)
    assert resolved.sources["max_tokens"] == "editor"
    assert resolved.sources["log_level"] == "editor"
    assert resolved.warnings == ()


def test_editor_nested_ghostwright_section(no_file):
    resolved = resolve_settings(
        editor={"ghostwright": {"maxTokens": 12, "enabled": False}}, environ={}, file=no_file
    )
    assert resolved.settings.max_tokens == 12
    assert resolved.settings.enabled is False
    assert resolved.sources["enabled"] == "editor"
    assert resolved.warnings == ()


def test_editor_section_helper():
    assert editor_section({"ghostwright": {"a": 1}, "b": 2}) == {"a": 1}
    assert editor_section({"maxTokens": 3}) == {"maxTokens": 3}
    assert editor_section(None) == {}
    assert editor_section(["maxTokens"]) == {}


def test_editor_strings_are_not_parsed(no_file):
    # Editors send JSON: "32" for an integer is a type error there, unlike in the environment.
    resolved = resolve_settings(editor={"maxTokens": "32"}, environ={}, file=no_file)
    assert resolved.settings.max_tokens == 128
    assert len(resolved.warnings) == 1
    assert resolved.warnings[0].startswith("editor:")


def test_editor_boolean_for_integer_is_invalid(no_file):
    resolved = resolve_settings(editor={"maxTokens": True}, environ={}, file=no_file)
    assert resolved.settings.max_tokens == 128
    assert "expected an integer" in resolved.warnings[0]


# --- Precedence and validation ------------------------------------------------------------------


def test_precedence_editor_over_env_over_file_over_default(tmp_path):
    path = write_toml(
        tmp_path,
        "[ghostwright]\nmax_tokens = 100\nmax_lines = 10\nprefix_tokens = 500\n",
    )
    resolved = resolve_settings(
        editor={"maxTokens": 7},
        environ={"GHOSTWRIGHT_MAX_TOKENS": "32", "GHOSTWRIGHT_MAX_LINES": "3"},
        file=path,
    )
    s = resolved.settings
    assert s.max_tokens == 7
    assert s.max_lines == 3
    assert s.prefix_tokens == 500
    assert s.suffix_tokens == 256
    assert resolved.sources["max_tokens"] == "editor"
    assert resolved.sources["max_lines"] == "environment"
    assert resolved.sources["prefix_tokens"] == str(path)
    assert resolved.sources["suffix_tokens"] == DEFAULTS
    assert resolved.warnings == ()


def test_invalid_editor_value_keeps_the_environment_value(tmp_path):
    path = write_toml(tmp_path, "[ghostwright]\nmax_tokens = 100\n")
    resolved = resolve_settings(
        editor={"maxTokens": 0}, environ={"GHOSTWRIGHT_MAX_TOKENS": "32"}, file=path
    )
    assert resolved.settings.max_tokens == 32
    assert resolved.sources["max_tokens"] == "environment"
    assert len(resolved.warnings) == 1
    assert "between 1 and 4096" in resolved.warnings[0]
    assert "keeping 32" in resolved.warnings[0]


@pytest.mark.parametrize(
    ("key", "value", "phrase"),
    [
        ("contextSize", 100, "between 256"),
        ("threads", -1, "between 0 and 512"),
        ("gpuLayers", -2, "-1 (all) or more"),
        ("maxLines", 0, "between 1 and 200"),
        ("prefixTokens", 8, "between 16"),
        ("suffixTokens", -1, "between 0"),
        ("logLevel", "loud", "one of DEBUG"),
        ("logLevel", 3, "expected a string"),
        ("enabled", "yes", "expected true or false"),
        ("model", 42, "expected a path string"),
        ("maxTokens", 3.0, "expected an integer"),
    ],
)
def test_out_of_range_and_wrong_type_values_warn(no_file, key, value, phrase):
    resolved = resolve_settings(editor={key: value}, environ={}, file=no_file)
    assert resolved.settings == Settings()
    assert len(resolved.warnings) == 1
    assert phrase in resolved.warnings[0]
    assert set(resolved.sources.values()) == {DEFAULTS}


@pytest.mark.parametrize(
    ("key", "name", "value"),
    [
        ("contextSize", "context_size", 256),
        ("threads", "threads", 512),
        ("maxTokens", "max_tokens", 4096),
        ("suffixTokens", "suffix_tokens", 0),
        ("gpuLayers", "gpu_layers", -1),
    ],
)
def test_range_boundaries_are_accepted(no_file, key, name, value):
    resolved = resolve_settings(editor={key: value}, environ={}, file=no_file)
    assert resolved.warnings == ()
    assert getattr(resolved.settings, name) == value
    assert resolved.sources[name] == "editor"


def test_unknown_keys_warn_in_every_layer(tmp_path):
    path = write_toml(tmp_path, "[ghostwright]\nmax_tokenz = 5\n")
    resolved = resolve_settings(editor={"maxTokenz": 5, "maxTokens": 9}, environ={}, file=path)
    assert resolved.settings.max_tokens == 9
    assert len(resolved.warnings) == 2
    assert any(w.startswith(str(path)) and "'max_tokenz'" in w for w in resolved.warnings)
    assert any(w.startswith("editor:") and "'maxTokenz'" in w for w in resolved.warnings)
    assert all("unknown setting" in w for w in resolved.warnings)


def test_empty_editor_layer_changes_nothing(no_file):
    resolved = resolve_settings(editor={}, environ={"GHOSTWRIGHT_MAX_LINES": "2"}, file=no_file)
    assert resolved.settings.max_lines == 2
    assert resolved.sources["max_lines"] == "environment"


def test_predictor_threshold_is_unset_or_a_number_between_0_and_1(no_file: Path) -> None:
    assert Settings().predictor_threshold is None
    env = {"GHOSTWRIGHT_PREDICTOR_THRESHOLD": "0.25"}
    assert resolve_settings(file=no_file, environ=env).settings.predictor_threshold == 0.25
    for bad in ("high", "1.5", "-0.1", "nan"):
        env = {"GHOSTWRIGHT_PREDICTOR_THRESHOLD": bad}
        resolved = resolve_settings(file=no_file, environ=env)
        assert resolved.settings.predictor_threshold is None
        assert any("predictor_threshold" in warning for warning in resolved.warnings)
    editor = resolve_settings(file=no_file, environ={}, editor={"predictorThreshold": 0})
    assert editor.settings.predictor_threshold == 0.0
    cleared = resolve_settings(
        file=no_file,
        environ={"GHOSTWRIGHT_PREDICTOR_THRESHOLD": "0.5"},
        editor={"predictorThreshold": None},
    )
    assert cleared.settings.predictor_threshold is None
    flag = resolve_settings(file=no_file, environ={}, editor={"predictorThreshold": True})
    assert flag.settings.predictor_threshold is None


def test_telemetry_settings(no_file: Path) -> None:
    defaults = Settings()
    assert defaults.telemetry and not defaults.telemetry_code
    assert defaults.telemetry_retention_days == 90
    env = {"GHOSTWRIGHT_TELEMETRY": "off", "GHOSTWRIGHT_TELEMETRY_CODE": "yes"}
    settings = resolve_settings(file=no_file, environ=env).settings
    assert not settings.telemetry and settings.telemetry_code
    bad = resolve_settings(file=no_file, environ={}, editor={"telemetryRetentionDays": 0})
    assert bad.settings.telemetry_retention_days == 90 and bad.warnings
