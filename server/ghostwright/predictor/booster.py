"""LightGBM's own library scoring one row at a time, without the `lightgbm` Python package.

Importing `lightgbm` imports pandas, scikit-learn, pyarrow and SciPy when they are installed
(its compatibility layer looks for them at import time): about 190 MB of resident memory that
the language server never uses, more than the default completion model itself. Scoring needs
none of it: `lib_lightgbm`'s C API loads a model from its text format and predicts one row
(`LGBM_BoosterPredictForMatSingleRowFast`, prepared once per model), including SHAP
contributions. So the server calls that API through ctypes, from the library file the
installed `lightgbm` package ships, and the package itself is imported only to train.

Scores are LightGBM's own, bit for bit (the tests compare with `lightgbm.Booster.predict`).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import platform
import threading
from collections.abc import Sequence
from pathlib import Path

_DTYPE_FLOAT64 = 1
_PREDICT_NORMAL = 0
_PREDICT_CONTRIB = 3
_PARAMETERS = b"num_threads=1"
"""One thread: the model thread's llama.cpp keeps every core busy, and OpenMP's spin-up costs
more than one row."""

_library: ctypes.CDLL | None = None
_library_lock = threading.Lock()


class BoosterError(Exception):
    """LightGBM's library is missing or refused a model; the message is LightGBM's."""


def library_path() -> Path:
    """The `lib_lightgbm` shared library of the installed `lightgbm` package (not imported)."""
    spec = importlib.util.find_spec("lightgbm")
    if spec is None or not spec.submodule_search_locations:
        raise BoosterError("the lightgbm package is not installed")
    package = Path(next(iter(spec.submodule_search_locations)))
    name = {"Windows": "lib_lightgbm.dll", "Darwin": "lib_lightgbm.dylib"}.get(
        platform.system(), "lib_lightgbm.so"
    )
    for candidate in (package / "lib" / name, package / "bin" / name, package.parent / name):
        if candidate.is_file():
            return candidate
    raise BoosterError(f"the lightgbm package at {package} has no {name}")


def _lib() -> ctypes.CDLL:
    global _library
    with _library_lock:
        if _library is None:
            library = ctypes.CDLL(str(library_path()))
            library.LGBM_GetLastError.restype = ctypes.c_char_p
            _library = library
        return _library


def _check(code: int) -> None:
    if code != 0:
        message = _lib().LGBM_GetLastError()
        raise BoosterError(message.decode("utf-8", "replace") if message else "unknown error")


class _RowPredictor:
    """A prepared single-row prediction of one kind (LightGBM's FastConfig)."""

    def __init__(self, handle: ctypes.c_void_p, kind: int, columns: int, outputs: int) -> None:
        self._config = ctypes.c_void_p()
        _check(
            _lib().LGBM_BoosterPredictForMatSingleRowFastInit(
                handle,
                ctypes.c_int(kind),
                ctypes.c_int(0),
                ctypes.c_int(-1),
                ctypes.c_int(_DTYPE_FLOAT64),
                ctypes.c_int32(columns),
                ctypes.c_char_p(_PARAMETERS),
                ctypes.byref(self._config),
            )
        )
        self._columns = columns
        self._row = (ctypes.c_double * columns)()
        self._out = (ctypes.c_double * outputs)()
        self._out_length = ctypes.c_int64()
        self._lock = threading.Lock()

    def __call__(self, row: Sequence[float]) -> list[float]:
        if len(row) != self._columns:
            raise BoosterError(f"the model takes {self._columns} features, not {len(row)}")
        with self._lock:  # the prepared buffers are shared by every call
            self._row[:] = list(row)
            _check(
                _lib().LGBM_BoosterPredictForMatSingleRowFast(
                    self._config,
                    self._row,
                    ctypes.byref(self._out_length),
                    self._out,
                )
            )
            return list(self._out[: self._out_length.value])

    def close(self) -> None:
        if self._config:
            _lib().LGBM_FastConfigFree(self._config)
            self._config = ctypes.c_void_p()


class NativeBooster:
    """A binary LightGBM model loaded from its text format: probability and contributions of
    one row. Safe to call from several threads (calls are serialized)."""

    def __init__(self, model_text: str) -> None:
        self._handle = ctypes.c_void_p()
        iterations = ctypes.c_int()
        _check(
            _lib().LGBM_BoosterLoadModelFromString(
                ctypes.c_char_p(model_text.encode("utf-8")),
                ctypes.byref(iterations),
                ctypes.byref(self._handle),
            )
        )
        features = ctypes.c_int()
        _check(_lib().LGBM_BoosterGetNumFeature(self._handle, ctypes.byref(features)))
        self.num_feature = features.value
        self._predict = _RowPredictor(self._handle, _PREDICT_NORMAL, self.num_feature, 1)
        self._contrib: _RowPredictor | None = None

    def predict(self, row: Sequence[float]) -> float:
        """The model's probability for one row (NaN: missing)."""
        return self._predict(row)[0]

    def contributions(self, row: Sequence[float]) -> list[float]:
        """SHAP contributions of each feature to the log-odds, then the bias (LightGBM's
        `pred_contrib`)."""
        if self._contrib is None:
            outputs = self.num_feature + 1
            self._contrib = _RowPredictor(self._handle, _PREDICT_CONTRIB, self.num_feature, outputs)
        return self._contrib(row)

    def close(self) -> None:
        """Free the library's memory (also done when the object is collected)."""
        for predictor in (self._predict, self._contrib):
            if predictor is not None:
                predictor.close()
        if self._handle:
            _lib().LGBM_BoosterFree(self._handle)
            self._handle = ctypes.c_void_p()

    def __del__(self) -> None:
        # At interpreter shutdown the library may be gone already.
        with contextlib.suppress(Exception):
            self.close()
