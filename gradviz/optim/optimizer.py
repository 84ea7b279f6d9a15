"""``optim.Optimizer``: parameter groups, per-parameter state, ``zero_grad`` and ``state_dict``.

Updates are computed on the parameters' numpy arrays with ATen's rounding (see ``_fma``) and
written back with ``copy_`` under ``no_grad``, so versions count up as in PyTorch.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

import numpy as np

from ..engine import Tensor, enable_grad, from_numpy, no_grad


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def _fma(a: np.ndarray, b: np.ndarray, scale: float) -> np.ndarray:
    """``a + scale * b`` rounded once, as ATen's ``add(a, b, alpha=scale)`` computes it on the CPU
    (a fused multiply-add in float32; emulated exactly enough in double: the product is exact)."""
    if a.dtype == np.float32:
        s = np.float64(np.float32(scale))
        return (a.astype(np.float64) + s * b.astype(np.float64)).astype(np.float32)
    return a + a.dtype.type(scale) * b


def _array(t: Tensor) -> np.ndarray:
    return np.asarray(t.numpy(force=True))


def _write(t: Tensor, values: np.ndarray) -> None:
    with no_grad():
        t.copy_(from_numpy(np.array(values, dtype=_array(t).dtype, order="C")))


class Optimizer:
    """Base class: holds ``param_groups`` (dicts of ``params`` and settings) and ``state``."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {params.type()}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = {**param_group, "params": params}
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {key}"
                )
            group.setdefault(key, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will "
                "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=3,
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        self._opt_called = True  # lr_scheduler warns when it steps before the optimizer
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, group)
        return loss

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        raise NotImplementedError

    # --- saving and loading ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`` as PyTorch."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = deepcopy(state_dict)
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
            )
        by_index = {i: p for g, s in zip(self.param_groups, groups) for i, p in zip(s["params"], g["params"])}
        self.state = defaultdict(dict)
        for i, s in state_dict["state"].items():
            p = by_index[i]
            self.state[p] = {
                k: (v.to(p.dtype) if isinstance(v, Tensor) and k != "step" else v) for k, v in s.items()
            }
        for g, s in zip(self.param_groups, groups):
            g.update({k: v for k, v in s.items() if k != "params"})

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        out = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    out += f"    {key}: {group[key]}\n"
        return out + ")"
