"""numpy's ``axis=`` and ``keepdims=``: torch's C++ ops take them for ``dim`` and ``keepdim``, its
Python functions (``torch.norm``, ``split``, ``unique``, ``F.softmax``) don't. Each case runs in
live torch and in gradviz; the registry's ``numpy_names`` flag is checked against which of torch's
callables are C++ builtins."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as TF  # noqa: N812

import gradviz
import gradviz.nn.functional as GF  # noqa: N812
from gradviz.engine import registry

# (expression, names it may use): t is torch or gradviz, x a 2x3 float tensor, b a bool one,
# i an index tensor. Each registered op with a dim/keepdim parameter appears in some case.
ACCEPTED = [
    "t.sum(x, axis=0)", "x.sum(axis=1, keepdims=True)", "t.sum(x, axis=(0, 1))", "t.mean(x, axis=[0])",
    "x.mean(axis=0, keepdims=True)", "t.std(x, axis=1)", "x.var(axis=0, correction=0, keepdims=True)",
    "t.amax(x, axis=1, keepdims=True)", "x.amin(axis=0)", "t.max(x, axis=0)", "x.max(axis=1, keepdims=True)",
    "t.min(x, axis=1)", "x.min(axis=0, keepdims=True)", "t.argmax(x, axis=1)", "x.argmax(axis=0, keepdims=True)",
    "t.argmin(x, axis=0)", "x.argmin(axis=1, keepdims=True)", "t.prod(x, axis=1)", "x.prod(axis=0, keepdims=True)",
    "t.all(b, axis=0)", "b.all(axis=1, keepdims=True)", "t.any(b, axis=1)", "b.any(axis=0, keepdims=True)",
    "t.logsumexp(x, axis=1)", "x.logsumexp(axis=0, keepdims=True)", "t.median(x, axis=1)",
    "x.median(axis=0, keepdims=True)", "t.cumsum(x, axis=1)", "x.cumprod(axis=0)", "t.cumprod(x, axis=1)",
    "x.cumsum(axis=0)", "t.softmax(x, axis=0)", "x.log_softmax(axis=1)", "t.log_softmax(x, axis=0)",
    "x.softmax(axis=1)", "t.sort(x, axis=0)", "x.sort(axis=1, descending=True)", "t.argsort(x, axis=0)",
    "x.argsort(axis=1)", "t.topk(x, 2, axis=1)", "x.topk(1, axis=0)", "t.cat([x, x], axis=1)",
    "t.concat([x, x], axis=0)", "t.concatenate([x, x], axis=1)", "t.stack([x, x], axis=2)",
    "t.unsqueeze(x, axis=1)", "x.unsqueeze(axis=0)", "t.squeeze(x[:1], axis=0)", "x[:, :1].squeeze(axis=1)",
    "t.gather(x, 1, i)", "t.gather(x, axis=1, index=i)", "x.gather(axis=0, index=i)",
    "t.index_select(x, axis=1, index=i[0])", "x.index_select(axis=0, index=i[0, :1])", "t.chunk(x, 2, axis=1)",
    "x.chunk(3, axis=1)", "x.size(axis=1)", "x.stride(axis=0)",
]  # fmt: skip
# torch refuses these with a TypeError (Python functions, an alias given beside its name, or an
# op without keepdim); gradviz must too.
REFUSED = [
    "t.norm(x, axis=0)", "x.norm(axis=1)", "t.norm(x, dim=0, keepdims=True)", "t.split(x, 1, axis=1)",
    "x.split(1, axis=0)", "t.unique(x, axis=0)", "x.unique(axis=0)", "F.softmax(x, axis=0)",
    "F.log_softmax(x, axis=1)", "t.sum(x, dim=0, axis=1)", "t.sum(x, 0, axis=1)", "x.sum(0, axis=1)",
    "t.sum(x, 0, keepdim=True, keepdims=True)", "t.cumsum(x, 0, keepdims=True)", "x.softmax(0, keepdims=True)",
    "t.sort(x, axis=0, dim=1)",
]  # fmt: skip


def scope(t) -> dict:
    x = t.tensor([[1.0, -2.0, 3.0], [4.0, 0.5, -6.0]])
    return {
        "t": t,
        "F": TF if t is torch else GF,
        "x": x,
        "b": x > 0,
        "i": t.tensor([[0, 1, 0], [1, 0, 1]]),
    }


def same(got, want) -> None:
    """Tensors (and tuples of them, as sort's) alike in type, shape, dtype and values (float32 exp
    may differ from torch's in the last bit, which is not what these tests are about)."""
    assert type(got).__name__ == type(want).__name__
    if isinstance(want, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            same(g, w)
    elif isinstance(want, torch.Tensor):
        assert got.shape == want.shape and str(got.dtype) == str(want.dtype).replace("torch", "gradviz")
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    else:
        assert got == want


@pytest.mark.parametrize("src", ACCEPTED)
def test_numpy_names_accepted_as_torch_does(src: str) -> None:
    same(eval(src, scope(gradviz)), eval(src, scope(torch)))


@pytest.mark.parametrize("src", REFUSED)
def test_numpy_names_refused_as_torch_does(src: str) -> None:
    with pytest.raises(TypeError) as want:
        eval(src, scope(torch))
    with pytest.raises(TypeError) as got:
        eval(src, scope(gradviz))
    alias = "axis" if "axis" in src else "keepdims"
    assert alias in str(want.value) and f"unexpected keyword argument '{alias}'" in str(got.value)


def _torch_callables(info: registry.OpInfo):
    for syntax in info.syntax:
        if syntax == "function":
            yield syntax, getattr(torch, info.name)
        elif syntax == "method":
            yield syntax, getattr(torch.Tensor, info.method or info.name)
        elif syntax == "F":
            yield syntax, getattr(TF, info.name)


def test_numpy_names_follow_which_torch_ops_are_cpp() -> None:
    """An op takes the aliases exactly where torch's callable is a C++ builtin (its argument
    parser adds them); the cases above cover every op that has a dim or keepdim."""
    text = " ".join(ACCEPTED + REFUSED)
    for info in registry.ops():
        params = inspect.signature(info.fn).parameters
        if not {"dim", "keepdim"} & set(params):
            continue
        for syntax, theirs in _torch_callables(info):
            cpp = not inspect.isfunction(theirs)
            if syntax == "F":
                ours = getattr(GF, info.name)
                assert (ours is info.fn) == cpp, info.name  # F.softmax: the unwrapped op
            else:
                assert info.numpy_names == cpp, (info.name, syntax)
        assert f"{info.name}(" in text, f"no axis= case for {info.name}"


def test_aliases_keep_gradients() -> None:
    def grads(t):
        x = t.tensor([[1.0, -2.0, 3.0], [4.0, 0.5, -6.0]], requires_grad=True)
        (x.sum(axis=0, keepdims=True) * t.softmax(x, axis=1)).amax(axis=1).sum().backward()
        return x.grad.numpy()

    np.testing.assert_allclose(grads(gradviz), grads(torch), rtol=1e-6)
