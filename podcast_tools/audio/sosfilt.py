"""SciPy's second-order-section filter loop, without importing all of ``scipy.signal``.

Importing ``scipy.signal`` imports ``scipy.stats``, ``scipy.interpolate``, ``scipy.optimize`` and
more: about 75 MB resident, a third of the toolkit's memory while it masters. The meter needs only
the compiled loop behind ``scipy.signal.sosfilt``; this module loads that one extension module by
itself and calls it the way ``sosfilt`` does (a C-ordered copy of the samples filtered in place, the
state as (1, sections, 2)). Should an installed SciPy lay it out otherwise, ``scipy.signal.sosfilt``
itself is used. Both release the GIL while they filter.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

_LOADING = threading.Lock()  # the meter's channel threads ask at once; an extension loads once


def _compiled_loop() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None:
    """SciPy's `_sosfilt(sos, x, zi)` (filters `x` and updates `zi` in place), or None."""
    with _LOADING:
        return _load()


@functools.cache
def _load() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None:
    loaded = sys.modules.get("scipy.signal._sosfilt")  # scipy.signal, or an earlier load
    if loaded is not None:
        return getattr(loaded, "_sosfilt", None)
    try:
        found = importlib.util.find_spec("scipy")  # the package itself imports nothing heavy
        folders = found.submodule_search_locations if found else None
        if not folders:
            return None
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folders[0]) / "signal" / f"_sosfilt{suffix}"
            if path.is_file():
                name = "scipy.signal._sosfilt"
                loader = importlib.machinery.ExtensionFileLoader(name, str(path))
                spec = importlib.util.spec_from_file_location(name, path, loader=loader)
                if spec is None:
                    return None
                module = importlib.util.module_from_spec(spec)
                loader.exec_module(module)
                return module._sosfilt
    except (ImportError, OSError, AttributeError):
        return None
    return None


def sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filter the 1-D float32 signal `x` through the sections `sos` (n × 6, float32) from the
    state `zi` (n × 2): (filtered samples, state after them), as ``scipy.signal.sosfilt(sos, x,
    zi=zi)`` returns them."""
    loop = _compiled_loop()
    if loop is None:
        from scipy import signal

        return signal.sosfilt(sos, x, zi=zi)
    samples = np.array(x, dtype=np.float32, order="C").reshape(1, -1)
    state = np.array(zi, dtype=np.float32, order="C").reshape(1, -1, 2)
    loop(np.asarray(sos, dtype=np.float32), samples, state)
    return samples[0], state[0]
