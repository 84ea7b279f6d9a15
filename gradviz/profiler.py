"""``torch.profiler`` and ``torch.autograd.profiler`` as far as gradviz has them:
``record_function``, which here groups the ops made inside it into a box of the graph (there is
no profiler to label). See ``gradviz.engine.scopes``."""

from __future__ import annotations

from .engine.scopes import record_function

__all__ = ["record_function"]
