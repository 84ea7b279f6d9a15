"""nn.Module, nn.Parameter and the containers against PyTorch: names, order, reprs, state."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

import gradviz as gv


def both(build):
    """``build(lib)`` once with torch and once with gradviz, from the same seed."""
    torch.manual_seed(0)
    a = build(torch)
    gv.manual_seed(0)
    b = build(gv)
    return a, b


def net(lib):
    class Net(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = lib.nn.Linear(4, 3)
            self.act = lib.nn.ReLU()
            self.head = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Sigmoid())
            self.register_buffer("steps", lib.zeros(1))
            self.scale = lib.nn.Parameter(lib.ones(1))

        def forward(self, x):
            return self.head(self.act(self.fc1(x))) * self.scale

    return Net()


def test_parameter_repr_and_type() -> None:
    a, b = both(lambda lib: lib.nn.Parameter(lib.tensor([1.0, 2.0])))
    assert repr(b) == repr(a)
    assert str(b) == str(a)
    assert isinstance(b, gv.Tensor) and b.requires_grad and b.is_leaf
    assert type(b * 2) is gv.Tensor and type(b.detach()) is gv.Tensor
    frozen = gv.nn.Parameter(gv.ones(2), requires_grad=False)
    assert repr(frozen) == repr(torch.nn.Parameter(torch.ones(2), requires_grad=False))
    assert repr(gv.nn.Parameter()) == repr(torch.nn.Parameter())
    with pytest.raises(RuntimeError, match="floating point"):
        gv.nn.Parameter(gv.tensor([1, 2]))


def test_parameter_shares_memory() -> None:
    t = gv.zeros(3)
    p = gv.nn.Parameter(t)
    with gv.no_grad():
        p.add_(1)
    assert t.tolist() == [1.0, 1.0, 1.0]


def test_names_order_and_walks() -> None:
    a, b = both(net)
    assert [n for n, _ in b.named_parameters()] == [n for n, _ in a.named_parameters()]
    assert [n for n, _ in b.named_buffers()] == [n for n, _ in a.named_buffers()]
    assert [n for n, _ in b.named_modules()] == [n for n, _ in a.named_modules()]
    assert [n for n, _ in b.named_children()] == [n for n, _ in a.named_children()]
    assert [type(m).__name__ for m in b.modules()] == [type(m).__name__ for m in a.modules()]
    assert [type(m).__name__ for m in b.children()] == [type(m).__name__ for m in a.children()]
    assert list(b.state_dict()) == list(a.state_dict())
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.detach().numpy(), pb.detach().numpy())
    assert repr(b) == repr(a)


def test_shared_parameter_listed_once() -> None:
    def tied(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Linear(2, 2))
        m[1].weight = m[0].weight
        return m

    a, b = both(tied)
    assert [n for n, _ in b.named_parameters()] == [n for n, _ in a.named_parameters()]
    assert list(b.state_dict()) == list(a.state_dict())


def test_reprs() -> None:
    def layers(lib):
        nn = lib.nn
        return [
            nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1, bias=False), nn.Tanh())),
            nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU(), nn.ReLU(), nn.Identity()]),
            nn.ModuleList(),
            nn.Flatten(),
            nn.Flatten(0, 2),
            nn.Identity(),
            nn.Softmax(dim=1),
            nn.LogSoftmax(dim=-1),
            nn.MSELoss(),
            nn.L1Loss(reduction="sum"),
            nn.CrossEntropyLoss(),
            nn.NLLLoss(),
            nn.BCELoss(),
            nn.BCEWithLogitsLoss(),
            nn.Sigmoid(),
        ]

    a, b = both(layers)
    assert [repr(m) for m in b] == [repr(m) for m in a]


def test_sequential_indexing() -> None:
    a, b = both(lambda lib: lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1)))
    assert len(b) == len(a) == 3
    assert repr(b[0]) == repr(a[0]) and repr(b[-1]) == repr(a[-1])
    assert repr(b[1:]) == repr(a[1:])
    assert [type(m).__name__ for m in b] == [type(m).__name__ for m in a]
    with pytest.raises(IndexError, match="index 3 is out of range"):
        b[3]
    del a[0]
    del b[0]
    assert repr(b) == repr(a)
    a.append(torch.nn.Tanh())
    b.append(gv.nn.Tanh())
    assert repr(b) == repr(a)


def test_forward_and_call() -> None:
    a, b = both(net)
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    ya, yb = a(torch.tensor(x)), b(gv.tensor(x))
    np.testing.assert_allclose(yb.detach().numpy(), ya.detach().numpy(), rtol=1e-6)
    assert yb.grad_fn.name() == ya.grad_fn.name()
    ya.sum().backward()
    yb.sum().backward()
    for (n, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_allclose(pb.grad.numpy(), pa.grad.numpy(), rtol=1e-5, atol=1e-7, err_msg=n)


def test_zero_grad_train_eval_requires_grad() -> None:
    _, b = both(net)
    b(gv.ones(1, 4)).sum().backward()
    assert all(p.grad is not None for p in b.parameters())
    b.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in b.parameters())
    b.zero_grad()
    assert all(p.grad is None for p in b.parameters())
    assert b.training and b.head[0].training
    assert b.eval() is b and not b.training and not b.head[1].training
    b.train()
    assert b.head[1].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        b.train("yes")
    b.requires_grad_(False)
    assert not any(p.requires_grad for p in b.parameters())


def test_state_dict_round_trip() -> None:
    a, b = both(net)
    sa, sb = a.state_dict(), b.state_dict()
    assert type(sb).__name__ == "OrderedDict"
    assert repr(sb) == repr(sa)  # detached tensors, no requires_grad
    gv.manual_seed(1)
    other = net(gv)
    result = other.load_state_dict(sb)
    assert repr(result) == "<All keys matched successfully>"
    for (n, p), (_, q) in zip(other.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=n)
    assert other.fc1.weight.requires_grad
    # state_dict shares memory with the model, as in PyTorch
    with gv.no_grad():
        b.fc1.bias.fill_(7.0)
    assert sb["fc1.bias"].tolist() == [7.0, 7.0, 7.0]


def test_load_state_dict_errors() -> None:
    bad = {"weight": torch.zeros(3, 2), "extra": torch.zeros(1)}
    with pytest.raises(RuntimeError) as ta:
        torch.nn.Linear(2, 2).load_state_dict(bad)
    with pytest.raises(RuntimeError) as tb:
        gv.nn.Linear(2, 2).load_state_dict({k: gv.tensor(v.numpy()) for k, v in bad.items()})
    assert str(tb.value).replace("gradviz.Size", "torch.Size") == str(ta.value)
    ra = torch.nn.Linear(2, 2).load_state_dict({"weight": torch.zeros(2, 2)}, strict=False)
    rb = gv.nn.Linear(2, 2).load_state_dict({"weight": gv.zeros(2, 2)}, strict=False)
    assert repr(rb) == repr(ra)


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        (lambda lib, m: setattr(m, "weight", lib.zeros(2, 2)), TypeError),
        (lambda lib, m: m.nothing, AttributeError),
        (lambda lib, m: setattr(m, "bias", None), None),
    ],
)
def test_registration_errors(action, kind) -> None:
    messages = []
    for lib in (torch, gv):
        m = lib.nn.Linear(2, 2)
        if kind is None:
            action(lib, m)
            messages.append((m.bias, [n for n, _ in m.named_parameters()]))
        else:
            with pytest.raises(kind) as err:
                action(lib, m)
            messages.append(str(err.value))
    assert messages[0] == messages[1]


def test_missing_forward_and_early_assignment() -> None:
    for lib in (torch, gv):

        class NoForward(lib.nn.Module):
            pass

        class Early(lib.nn.Module):
            def __init__(self) -> None:
                self.fc = lib.nn.Linear(1, 1)  # noqa: B023 - used within the iteration

        with pytest.raises(
            NotImplementedError, match=r'Module \[NoForward\] is missing the required "forward" function'
        ):
            NoForward()(lib.ones(1))
        with pytest.raises(AttributeError, match=r"cannot assign module before Module.__init__\(\) call"):
            Early()


def test_deepcopy_pickle_and_double() -> None:
    _, b = both(net)
    c = copy.deepcopy(b)
    assert repr(c) == repr(b)
    assert isinstance(c.fc1.weight, gv.nn.Parameter)
    assert c.fc1.weight is not b.fc1.weight
    np.testing.assert_array_equal(c.fc1.weight.detach().numpy(), b.fc1.weight.detach().numpy())
    p = pickle.loads(pickle.dumps(b.fc1.weight))
    assert repr(p) == repr(b.fc1.weight)
    b.double()
    assert b.fc1.weight.dtype is gv.float64 and isinstance(b.fc1.weight, gv.nn.Parameter)
    assert b(gv.ones(1, 4, dtype=gv.float64)).dtype is gv.float64


def test_forward_hook() -> None:
    seen = []
    m = gv.nn.Linear(2, 1)
    handle = m.register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    m(gv.ones(3, 2))
    handle.remove()
    m(gv.ones(3, 2))
    assert seen == [gv.Size([3, 1])]
