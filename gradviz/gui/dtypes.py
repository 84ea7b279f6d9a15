"""How the app writes a dtype: as the engine prints it (``gradviz.float32``), everywhere."""

from __future__ import annotations

from typing import Any

from ..engine import dtypes


def dtype_text(dtype: Any) -> str:
    """``gradviz.float32`` for a dtype, its name (``"float32"``) or a numpy dtype."""
    return repr(dtypes.to_dtype(dtype))
