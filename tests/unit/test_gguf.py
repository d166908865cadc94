"""Unit tests for ghostwright.engine.gguf: the real default model, and malformed files."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from ghostwright.engine.gguf import read_gguf
from ghostwright.engine.models import default_model
from ghostwright.errors import ModelLoadError


@pytest.fixture(scope="module")
def model_path() -> Path:
    path = default_model().cached_path
    if not path.is_file():
        pytest.fail(f"the default model is not fetched at {path}")
    return path


def write_prefix(source: Path, target: Path, size: int) -> Path:
    """Copy the first `size` bytes of `source` to `target`."""
    with source.open("rb") as src, target.open("wb") as dst:
        remaining = size
        while remaining:
            chunk = src.read(min(remaining, 1 << 20))
            assert chunk
            dst.write(chunk)
            remaining -= len(chunk)
    return target


def gguf_string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def assert_load_error(path: Path, *reason_parts: str) -> ModelLoadError:
    with pytest.raises(ModelLoadError) as caught:
        read_gguf(path)
    error = caught.value
    message = str(error)
    assert str(path) in message
    assert error.path == str(path)
    for part in reason_parts:
        assert part in error.reason
        assert part in message
    return error


def test_default_model_reads_fine(model_path):
    info = read_gguf(model_path)
    assert info.architecture == "llama"
    assert info.context_length == 8192
    assert info.version in (2, 3)
    assert info.size_bytes == model_path.stat().st_size
    assert info.tensor_count > 0
    assert info.path == model_path
    assert isinstance(info.name, str) and info.name


def test_default_model_reads_from_a_string_path(model_path):
    assert read_gguf(str(model_path)).architecture == "llama"


def test_missing_file(tmp_path):
    assert_load_error(tmp_path / "nope.gguf", "does not exist")


def test_directory_is_not_a_model(tmp_path):
    assert_load_error(tmp_path, "not a regular file")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.gguf"
    path.write_bytes(b"")
    assert_load_error(path, "empty")


def test_text_file_is_not_gguf(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("this is just some text, not a model\n" * 10, encoding="utf-8")
    assert_load_error(path, "not a GGUF file")


def test_unsupported_version(tmp_path):
    path = tmp_path / "v99.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 99, 0, 0))
    assert_load_error(path, "version 99", "not supported")


def test_header_cut_inside_the_counts(tmp_path):
    path = tmp_path / "short.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<I", 3) + b"\x01\x00")
    assert_load_error(path, "truncated")


def pad_to(data: bytes, alignment: int = 32) -> bytes:
    return data + b"\x00" * (-len(data) % alignment)


def tiny_gguf(tensor_bytes: int = 16) -> bytes:
    """A small valid GGUF: metadata (a string, a uint32, a skipped array) and one F32 tensor."""
    metadata = (
        gguf_string("general.architecture")
        + struct.pack("<I", 8)
        + gguf_string("llama")
        + gguf_string("llama.context_length")
        + struct.pack("<I", 4)
        + struct.pack("<I", 2048)
        + gguf_string("tokenizer.ggml.scores")
        + struct.pack("<IIQ", 9, 6, 3)
        + struct.pack("<3f", 0.0, 1.0, 2.0)
    )
    # One tensor: name, 1 dimension of 4 elements, type F32 (0), offset 0 -> 16 bytes of data.
    tensor_info = gguf_string("w") + struct.pack("<IQIQ", 1, 4, 0, 0)
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, 3)
    return pad_to(header + metadata + tensor_info) + b"\x01" * tensor_bytes


def test_minimal_valid_file_with_metadata(tmp_path):
    path = tmp_path / "tiny.gguf"
    path.write_bytes(tiny_gguf())
    info = read_gguf(path)
    assert info.architecture == "llama"
    assert info.context_length == 2048
    assert info.tensor_count == 1
    assert "tokenizer.ggml.scores" not in info.metadata


def test_minimal_file_missing_tensor_bytes(tmp_path):
    path = tmp_path / "tiny.gguf"
    path.write_bytes(tiny_gguf(tensor_bytes=12))
    assert_load_error(path, "4 bytes of tensor data are missing")


def test_tensor_check_can_be_skipped(tmp_path):
    path = tmp_path / "tiny.gguf"
    path.write_bytes(tiny_gguf(tensor_bytes=0))
    assert read_gguf(path, check_tensors=False).context_length == 2048
    assert_load_error(path, "16 bytes of tensor data are missing")


def test_metadata_string_cut_short(tmp_path):
    body = gguf_string("general.architecture") + struct.pack("<I", 8) + struct.pack("<Q", 50)
    path = tmp_path / "cut.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + body + b"lla")
    assert_load_error(path, "truncated")


def test_unknown_metadata_value_type(tmp_path):
    body = gguf_string("general.weird") + struct.pack("<I", 77) + b"\x00" * 8
    path = tmp_path / "weird.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + body)
    assert_load_error(path, "unknown metadata value type 77")


def test_model_truncated_to_half(model_path, tmp_path):
    size = model_path.stat().st_size
    path = write_prefix(model_path, tmp_path / "half.gguf", size // 2)
    error = assert_load_error(path, "truncated")
    assert "bytes of tensor data are missing" in error.reason


def test_model_missing_only_its_last_1000_bytes(model_path, tmp_path):
    size = model_path.stat().st_size
    path = write_prefix(model_path, tmp_path / "short.gguf", size - 1000)
    assert_load_error(path, "truncated", "1000 bytes of tensor data are missing")


def test_model_cut_inside_its_header(model_path, tmp_path):
    path = write_prefix(model_path, tmp_path / "header.gguf", 4096)
    assert_load_error(path, "truncated")


def test_full_copy_reads_fine(model_path, tmp_path):
    # The control for the truncation tests: the same copying gives a readable file.
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(model_path, copy)
    assert read_gguf(copy).tensor_count == read_gguf(model_path).tensor_count
