"""Validate a GGUF file before llama.cpp sees it, and read the metadata `doctor` reports.

llama.cpp aborts or crashes on some malformed files; reading the header, the metadata and the
tensor table in Python first turns every such file into a `ModelLoadError` that names the
reason (empty, not GGUF, unsupported version, truncated).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ghostwright.errors import ModelLoadError

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# GGUF metadata value types (gguf spec).
_UINT8, _INT8, _UINT16, _INT16, _UINT32, _INT32, _FLOAT32, _BOOL = range(8)
_STRING, _ARRAY, _UINT64, _INT64, _FLOAT64 = range(8, 13)
_SCALAR_FORMATS = {
    _UINT8: "<B",
    _INT8: "<b",
    _UINT16: "<H",
    _INT16: "<h",
    _UINT32: "<I",
    _INT32: "<i",
    _FLOAT32: "<f",
    _BOOL: "<?",
    _UINT64: "<Q",
    _INT64: "<q",
    _FLOAT64: "<d",
}

# ggml tensor types: (elements per block, bytes per block). Types missing here are skipped by
# the size check rather than guessed.
_GGML_BLOCKS: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 36),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
}

# Metadata arrays (the vocabulary) are skipped, not stored: only scalars and strings are kept.
MetadataValue = str | int | float | bool


@dataclass(frozen=True)
class GgufInfo:
    """What the file says about itself, enough to describe and sanity-check a model."""

    path: Path
    version: int
    size_bytes: int
    tensor_count: int
    metadata: dict[str, MetadataValue]

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name", self.path.stem))

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if isinstance(value, int) else None


class _Reader:
    """Bounds-checked little-endian reads; running off the end means the file is truncated."""

    def __init__(self, stream: BinaryIO, path: Path) -> None:
        self._stream = stream
        self._path = path

    def take(self, count: int) -> bytes:
        data = self._stream.read(count)
        if len(data) != count:
            raise ModelLoadError(self._path, "the file is truncated (it ends inside its header)")
        return data

    def unpack(self, fmt: str) -> int | float | bool:
        value: int | float | bool = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        return value

    def uint32(self) -> int:
        return int(self.unpack("<I"))

    def uint64(self) -> int:
        return int(self.unpack("<Q"))

    def string(self) -> str:
        length = self.uint64()
        if length > 1 << 24:
            raise ModelLoadError(self._path, f"a metadata string claims {length} bytes")
        return self.take(length).decode("utf-8", errors="replace")

    def skip(self, count: int) -> None:
        self._stream.seek(count, 1)

    def tell(self) -> int:
        return self._stream.tell()


def _read_value(reader: _Reader, value_type: int, path: Path) -> MetadataValue | None:
    if value_type in _SCALAR_FORMATS:
        return reader.unpack(_SCALAR_FORMATS[value_type])
    if value_type == _STRING:
        return reader.string()
    if value_type == _ARRAY:
        item_type = reader.uint32()
        count = reader.uint64()
        if item_type in _SCALAR_FORMATS:
            reader.skip(count * struct.calcsize(_SCALAR_FORMATS[item_type]))
        elif item_type == _STRING:
            for _ in range(count):
                reader.skip(reader.uint64())
        else:
            raise ModelLoadError(path, f"unsupported metadata array item type {item_type}")
        return None
    raise ModelLoadError(path, f"unknown metadata value type {value_type}")


def read_gguf(path: Path | str, *, check_tensors: bool = True) -> GgufInfo:
    """Read and check a GGUF file; raise `ModelLoadError` with the reason if it is unusable."""
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(path, "the file does not exist")
    if not path.is_file():
        raise ModelLoadError(path, "it is not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise ModelLoadError(path, "the file is empty")
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise ModelLoadError(path, f"the file is not readable ({exc.strerror})") from exc
    with stream:
        reader = _Reader(stream, path)
        if stream.read(4) != GGUF_MAGIC:
            raise ModelLoadError(path, "it is not a GGUF file (the magic bytes are missing)")
        version = reader.uint32()
        if version not in SUPPORTED_VERSIONS:
            raise ModelLoadError(path, f"GGUF version {version} is not supported (need 2 or 3)")
        tensor_count = reader.uint64()
        kv_count = reader.uint64()
        metadata: dict[str, MetadataValue] = {}
        for _ in range(kv_count):
            key = reader.string()
            value = _read_value(reader, reader.uint32(), path)
            if value is not None:
                metadata[key] = value
        if check_tensors:
            _check_tensor_data(reader, path, size, tensor_count, metadata)
    return GgufInfo(path, version, size, tensor_count, metadata)


def _check_tensor_data(
    reader: _Reader, path: Path, size: int, tensor_count: int, metadata: dict[str, MetadataValue]
) -> None:
    """Check that the data section holds every tensor the table describes."""
    needed_end = 0
    for _ in range(tensor_count):
        reader.string()
        n_dims = reader.uint32()
        elements = 1
        for _ in range(n_dims):
            elements *= reader.uint64()
        ggml_type = reader.uint32()
        offset = reader.uint64()
        block = _GGML_BLOCKS.get(ggml_type)
        nbytes = (elements // block[0]) * block[1] if block else 0
        needed_end = max(needed_end, offset + nbytes)
    alignment_value = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    alignment = int(alignment_value) if isinstance(alignment_value, int) else DEFAULT_ALIGNMENT
    data_start = _align(reader.tell(), alignment)
    if data_start + needed_end > size:
        missing = data_start + needed_end - size
        raise ModelLoadError(
            path, f"the file is truncated ({missing} bytes of tensor data are missing)"
        )


def _align(offset: int, alignment: int) -> int:
    return offset + (-offset % alignment)
