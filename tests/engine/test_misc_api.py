"""Odds and ends of torch's surface: default dtype, devices, ``is_tensor``, cuda/mps answers."""

from __future__ import annotations

import re

import pytest
import torch

import gradviz as gv


def norm(s: str) -> str:
    return re.sub(r"0x[0-9a-f]+", "0x", s).replace("gradviz", "torch")


@pytest.fixture
def float64_default():
    torch.set_default_dtype(torch.float64)
    gv.set_default_dtype(gv.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(torch.float32)
        gv.set_default_dtype(gv.float32)


def programs(t):
    t.manual_seed(0)
    return [
        t.get_default_dtype(),
        t.tensor([1.5, 2.0]),
        t.tensor(2.5),
        t.tensor([1, 2]) * 0.5,
        t.zeros(2),
        t.ones(2, 2),
        t.rand(3),
        t.randn(2),
        t.arange(0.0, 1.0, 0.25),
        t.linspace(0, 1, 3),
        t.full((2,), 1.5),
        t.tensor([1.0], dtype=t.float32),
        t.tensor([1, 2]).float(),
        t.empty(0),
    ]


def test_default_dtype_float64(float64_default) -> None:
    a, b = programs(torch), programs(gv)
    assert [norm(repr(x)) for x in b] == [norm(repr(x)) for x in a]


def test_default_dtype_float32_and_errors() -> None:
    assert repr(gv.get_default_dtype()) == "gradviz.float32" or gv.get_default_dtype() is gv.float32
    for t in (torch, gv):
        with pytest.raises(TypeError, match="only floating-point types are supported as the default type"):
            t.set_default_dtype(t.int64)
    assert [norm(repr(x)) for x in programs(gv)] == [norm(repr(x)) for x in programs(torch)]


def test_devices() -> None:
    for t in (torch, gv):
        x = t.ones(2)
        assert repr(x.device) == "device(type='cpu')"
        assert str(x.device) == "cpu"
        assert x.device == t.device("cpu")
        assert x.to("cpu") is x and x.cpu() is x
        assert x.to(t.device("cpu")) is x
        assert x.to("cpu", t.float64).dtype is t.float64
        assert repr(t.device("cpu", 0)) == "device(type='cpu', index=0)"
        assert str(t.device("cuda:1")) == "cuda:1" and t.device("cuda:1").index == 1
        assert t.device("cuda").type == "cuda"
        assert t.cuda.is_available() is False
        assert t.cuda.device_count() == 0
        assert t.backends.mps.is_available() is False
        with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
            t.device("foo")
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            x.cuda()


def test_is_tensor() -> None:
    for t in (torch, gv):
        assert t.is_tensor(t.ones(1)) and not t.is_tensor([1.0]) and not t.is_tensor(1.0)
        assert t.is_tensor(t.nn.Parameter(t.ones(1)))


def test_size_keyword_and_unknown_keywords() -> None:
    for t in (torch, gv):
        assert list(t.rand(size=(2,)).shape) == [2]
        assert list(t.zeros(size=(1, 2)).shape) == [1, 2]
        assert list(t.randn(size=[3]).shape) == [3]
        assert list(t.ones(size=(2,)).shape) == [2]
        assert list(t.empty(size=(2,)).shape) == [2]
        with pytest.raises(TypeError):
            t.zeros(2, foo=1)


def test_variable_and_autograd_backward() -> None:
    def prog(t):
        from_ = t.autograd.Variable
        x = from_(t.ones(2), requires_grad=True)
        assert isinstance(t.ones(1), from_)
        y = (x * 2).sum()
        t.autograd.backward([y])
        first = x.grad.tolist()
        t.autograd.backward(x * 3, grad_tensors=t.ones(2))
        return repr(x).replace("gradviz", "torch"), first, x.grad.tolist()

    assert prog(gv) == prog(torch)
