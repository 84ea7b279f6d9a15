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


# Each makes or moves a tensor (or module) onto a device: a CPU-only torch refuses all but the
# CPU, in its own words; gradviz must refuse the same way, not silently compute on the CPU.
DEVICE_PROGRAMS = [
    "x.to('cuda')", "x.to('cuda:0')", "x.to(t.device('cuda'))", "x.to(device='cuda', dtype=t.float64)",
    "x.to('cuda', non_blocking=True)", "x.to('mps')", "x.to(0)", "x.cuda()", "x.cuda(0)", "x.cuda('cpu')",
    "t.zeros(2, device='cuda')", "t.zeros(2, device='cuda:1')", "t.zeros(2, device=0)", "t.zeros(2, device='mps')",
    "t.ones(2, device='cuda')", "t.empty(2, device='cuda')", "t.full((2,), 1.0, device='mps')",
    "t.tensor([1.0], device='cuda')", "t.tensor([1.0], device='mps')", "t.as_tensor([1.0], device='cuda')",
    "t.arange(3, device='cuda')", "t.linspace(0, 1, 3, device='cuda')", "t.eye(2, device='cuda')",
    "t.rand(2, device='cuda')", "t.randn(2, device='mps')", "t.randint(0, 3, (2,), device='cuda')",
    "t.randperm(3, device='cuda')", "t.normal(0.0, 1.0, (2,), device='cuda')", "t.zeros_like(x, device='cuda')",
    "t.ones_like(x, device='cuda')", "t.rand_like(x, device='cuda')", "x.new_zeros(2, device='cuda')",
    "x.new_tensor([1.0], device='mps')", "t.nn.Linear(2, 2).cuda()", "t.nn.Linear(2, 2).to('cuda')",
    "t.nn.Linear(2, 2).to(0)",
    # and what keeps working
    "x.to('cpu')", "x.to('cpu', t.float64)", "x.to(device='cpu', dtype=t.float64)", "x.to(t.float16)",
    "x.to(t.ones(1, dtype=t.float64))", "t.zeros(2, device='cpu')", "t.ones(2, device=t.device('cpu'))",
    "t.zeros_like(x, device='cpu')", "t.nn.Linear(2, 2).to('cpu', t.float64).weight.dtype",
    "t.nn.Linear(2, 2).to(t.ones(1, dtype=t.float64)).bias.dtype",
    "t.device('cuda' if t.cuda.is_available() else 'cpu')", "t.backends.mps.is_available()",
]  # fmt: skip


def _outcome(t, src: str) -> str:
    names = {"t": t, "x": t.ones(2)}
    try:
        return norm(repr(eval(src, names)))
    except Exception as e:  # the refusal, by kind and first words
        return f"{type(e).__name__}: {str(e)[:60]}"


@pytest.mark.parametrize("src", DEVICE_PROGRAMS)
def test_devices_other_than_the_cpu_are_refused_as_torch_does(src: str) -> None:
    assert _outcome(gv, src) == _outcome(torch, src)


def test_is_inference() -> None:
    def prog(t):
        x = t.ones(2, requires_grad=True)
        out = [x.is_inference(), t.is_inference_mode_enabled()]
        with t.inference_mode():
            y, z = x * 2, t.zeros(2)
            out += [y.is_inference(), z.is_inference(), t.is_inference_mode_enabled(), y.requires_grad]
            with t.inference_mode(False):
                out += [(x * 2).is_inference(), t.is_inference_mode_enabled()]
        with t.no_grad():
            out.append((x * 2).is_inference())
        out += [(y + 1).is_inference(), t.nn.Parameter(t.ones(1)).is_inference()]
        f = t.inference_mode()(lambda a: a * 2)
        return [*out, f(x).is_inference(), t.is_inference_mode_enabled()]

    assert prog(gv) == prog(torch)


def test_stride() -> None:
    def prog(t):
        x = t.arange(24.0).reshape(2, 3, 4)
        views = [x, x.transpose(0, 2), x[:, 1], x.permute(2, 0, 1), t.ones(3).expand(2, 3), t.tensor(1.0)]
        views += [x.flip(0), x @ x.transpose(1, 2), x.sum(0), x[::2], x.mT, x.unsqueeze(1), t.zeros(2, 0, 3)]
        return [v.stride() for v in views] + [x.stride(1), x.stride(-1), x.stride(axis=0)]

    assert prog(gv) == prog(torch)
