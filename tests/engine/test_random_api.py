"""Creation and random numbers against PyTorch: the same seed gives the same bits."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import gradviz as gv

SIZES = [1, 2, 5, 15, 16, 17, 31, 32, 33, 100, 1000, 4099]


def same(a, b) -> None:
    a_np, b_np = a.detach().numpy(), b.detach().numpy()
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    assert a_np.shape == b_np.shape
    np.testing.assert_array_equal(a_np, b_np)


def both(fn, seed: int = 0):
    torch.manual_seed(seed)
    gv.manual_seed(seed)
    return fn(torch), fn(gv)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_randn_rand_bits(n: int, dt: str) -> None:
    for seed in (0, 1, 12345):
        a, b = both(lambda t: t.randn(n, dtype=getattr(t, dt)), seed)
        same(b, a)
        a, b = both(lambda t: t.rand(n, dtype=getattr(t, dt)), seed)
        same(b, a)


def test_randn_many_float32() -> None:
    a, b = both(lambda t: t.randn(300, 700), 3)
    same(b, a)


def test_normal_cache_carries_between_small_calls() -> None:
    a, b = both(lambda t: [t.randn(3), t.randn(1), t.randn(20), t.randn(2)], 5)
    for x, y in zip(a, b):
        same(y, x)


def test_generator_objects() -> None:
    for seed in (0, 7, 2**40 + 3):
        ta, gb = torch.Generator().manual_seed(seed), gv.Generator().manual_seed(seed)
        assert gb.initial_seed() == ta.initial_seed()
        for fn in (
            lambda t, g: t.rand(20, generator=g),
            lambda t, g: t.randn(5, generator=g),
            lambda t, g: t.randn(40, generator=g),
            lambda t, g: t.randint(3, 10, (30,), generator=g),
            lambda t, g: t.randperm(25, generator=g),
            lambda t, g: t.normal(2.0, 3.0, (7,), generator=g),
            lambda t, g: t.bernoulli(t.full((9,), 0.3), generator=g),
            lambda t, g: t.multinomial(t.tensor([0.1, 0.5, 0.4]), 12, True, generator=g),
        ):
            same(fn(gv, gb), fn(torch, ta))
    assert gv.Generator().initial_seed() == torch.Generator().initial_seed() == 67280421310721
    assert repr(gv.Generator().device) == "device(type='cpu')"


def test_generator_state_round_trip() -> None:
    g = gv.Generator().manual_seed(4)
    gv.randn(3, generator=g)
    state = g.get_state()
    x = gv.randn(5, generator=g)
    g.set_state(state)
    same(gv.randn(5, generator=g), x)
    gv.manual_seed(1)
    s = gv.get_rng_state()
    y = gv.rand(4)
    gv.set_rng_state(s)
    same(gv.rand(4), y)


def test_global_generator_is_independent_of_private_ones() -> None:
    torch.manual_seed(3)
    gv.manual_seed(3)
    ta, gb = torch.Generator().manual_seed(9), gv.Generator().manual_seed(9)
    torch.rand(4, generator=ta)
    gv.rand(4, generator=gb)
    same(gv.rand(6), torch.rand(6))


@pytest.mark.parametrize("n", [0, 1, 2, 10, 257])
def test_randperm(n: int) -> None:
    a, b = both(lambda t: t.randperm(n), 11)
    same(b, a)
    a, b = both(lambda t: t.randperm(n, dtype=t.int32), 11)
    same(b, a)


def test_randint_forms() -> None:
    for fn in (
        lambda t: t.randint(10, (3, 4)),
        lambda t: t.randint(-5, 5, (20,)),
        lambda t: t.randint(0, 2**40, (6,)),
        lambda t: t.randint(3, 9, (5,), dtype=t.int32),
    ):
        a, b = both(fn, 2)
        same(b, a)


@pytest.mark.parametrize("n", [3, 16, 40])
def test_normal_forms(n: int) -> None:
    for fn in (
        lambda t: t.normal(1.5, 0.5, (n,)),
        lambda t: t.normal(t.arange(n, dtype=t.float32), 2.0),
        lambda t: t.normal(0.5, t.linspace(0.1, 2, n)),
        lambda t: t.normal(t.zeros(n, dtype=t.float64), t.ones(n, dtype=t.float64) * 3),
        lambda t: t.normal(t.zeros(2, n), t.ones(n)),
    ):
        a, b = both(fn, 4)
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-6, atol=1e-6)
        assert str(b.dtype).split(".")[-1] == str(a.dtype).split(".")[-1]


def test_bernoulli_and_multinomial() -> None:
    for fn in (
        lambda t: t.bernoulli(t.rand(50)),
        lambda t: t.bernoulli(t.rand(20, dtype=t.float64)),
        lambda t: t.bernoulli(t.zeros(7), 0.4),
        lambda t: t.multinomial(t.tensor([1.0, 2.0, 3.0, 4.0]), 3),
        lambda t: t.multinomial(t.tensor([1.0, 2.0, 3.0, 4.0]), 1),
        lambda t: t.multinomial(t.tensor([1.0, 2.0, 3.0, 4.0]), 1, True),
        lambda t: t.multinomial(t.tensor([[1.0, 2.0, 3.0], [0.0, 5.0, 1.0]]), 20, replacement=True),
        lambda t: t.multinomial(t.rand(3, 50, dtype=t.float64), 10),
    ):
        a, b = both(fn, 8)
        same(b, a)


def test_inplace_initialisers() -> None:
    for fn in (
        lambda t: t.empty(20).uniform_(-2, 3),
        lambda t: t.empty(5, dtype=t.float64).uniform_(),
        lambda t: t.empty(50).normal_(1.0, 2.0),
        lambda t: t.empty(6).normal_(),
        lambda t: t.empty(30).random_(),
        lambda t: t.empty(30, dtype=t.int64).random_(),
        lambda t: t.empty(30, dtype=t.int32).random_(),
        lambda t: t.empty(10).random_(5),
        lambda t: t.empty(10, dtype=t.int64).random_(2, 9),
        lambda t: t.empty(25).bernoulli_(0.3),
        lambda t: t.empty(25, dtype=t.float64).bernoulli_(t.rand(25)),
        lambda t: t.empty(25).exponential_(),
        lambda t: t.empty(25, dtype=t.float64).exponential_(2.5),
        lambda t: t.zeros(4).fill_(2.5),
    ):
        a, b = both(fn, 6)
        same(b, a)


def test_inplace_initialiser_on_leaf_that_requires_grad() -> None:
    for t in (torch, gv):
        w = t.zeros(3, requires_grad=True)
        with pytest.raises(
            RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"
        ):
            w.uniform_()
        with t.no_grad():
            w.normal_()
        assert w._version == 1


def test_rand_errors() -> None:
    for t in (torch, gv):
        with pytest.raises(RuntimeError) as e:
            t.randint(5, 3, (2,))
        assert "random_ expects 'from' to be less than 'to', but got from=5 >= to=3" in str(e.value)
        with pytest.raises(RuntimeError, match=r"cannot sample n_sample > prob_dist\.size"):
            t.multinomial(t.tensor([1.0, 2.0]), 3)


@pytest.mark.parametrize(
    "args",
    [
        (-1, 1, 7),
        (0, 1, 10),
        (0, 10, 5),
        (-3.3, 7.1, 13),
        (0.1, 0.7, 100),
        (2, -5, 9),
        (1e-3, 5e4, 1001),
        (0, 1, 1),
        (0, 1, 0),
    ],
)
@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int32"])
def test_linspace(args, dt: str) -> None:
    same(gv.linspace(*args, dtype=getattr(gv, dt)), torch.linspace(*args, dtype=getattr(torch, dt)))


def test_linspace_prints_as_torch() -> None:
    assert repr(gv.linspace(-1, 1, 7)) == repr(torch.linspace(-1, 1, 7))
    assert "-2.9802e-08" in repr(gv.linspace(-1, 1, 7))


@pytest.mark.parametrize("args", [(0, 3, 4), (-2, 2, 9), (0, 1, 5, 2.0), (1, 3, 3, 3)])
def test_logspace(args) -> None:
    a, b = torch.logspace(*args), gv.logspace(*args)
    np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-6)
    assert repr(b) == repr(a)
    np.testing.assert_allclose(
        gv.logspace(*args, dtype=gv.float64).numpy(),
        torch.logspace(*args, dtype=torch.float64).numpy(),
        rtol=1e-14,
    )


def test_empty_like_and_randint_like() -> None:
    x = gv.ones(2, 3, dtype=gv.float64)
    e = gv.empty_like(x)
    assert e.shape == x.shape and e.dtype is gv.float64
    a, b = both(lambda t: t.randint_like(t.ones(4, 2), 3, 10), 1)
    same(b, a)


def test_torch_random_module_and_manual_seed_result() -> None:
    torch.random.manual_seed(3)
    gv.random.manual_seed(3)
    same(gv.rand(5), torch.rand(5))
    assert gv.random.initial_seed() == torch.random.initial_seed() == 3
    assert isinstance(gv.manual_seed(2), gv.Generator)
    assert gv.manual_seed(2) is gv.default_generator


def test_data_utilities_take_the_engine_generator() -> None:
    import torch.utils.data as tdata

    import gradviz.utils.data as gdata

    a = [list(s) for s in gdata.random_split(range(10), [3, 7], generator=gv.Generator().manual_seed(42))]
    b = [list(s) for s in tdata.random_split(range(10), [3, 7], generator=torch.Generator().manual_seed(42))]
    assert a == b
    lg = gdata.DataLoader(
        gdata.TensorDataset(gv.arange(10)),
        batch_size=4,
        shuffle=True,
        generator=gv.Generator().manual_seed(1),
    )
    lt = tdata.DataLoader(
        tdata.TensorDataset(torch.arange(10)),
        batch_size=4,
        shuffle=True,
        generator=torch.Generator().manual_seed(1),
    )
    assert [x.tolist() for (x,) in lg] == [x.tolist() for (x,) in lt]


def test_fresh_generator_default_seed_numbers() -> None:
    same(gv.rand(4, generator=gv.Generator()), torch.rand(4, generator=torch.Generator()))
    assert gv.manual_seed(-1).initial_seed() == torch.manual_seed(-1).initial_seed()


@pytest.mark.parametrize("n", [1, 3, 15, 16, 17, 100, 1001])
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_normal_with_mean_and_std_is_bit_exact(n: int, dt: str) -> None:
    for seed in range(3):
        for fn in (
            lambda t: t.empty(n, dtype=getattr(t, dt)).normal_(0.3, 2.5),
            lambda t: t.empty(n, dtype=getattr(t, dt)).normal_(-1.7, 0.01),
            lambda t: t.normal(0.3, 2.5, (n,), dtype=getattr(t, dt)),
            lambda t: t.empty(n, dtype=getattr(t, dt)).uniform_(-0.7, 1.3),
        ):
            a, b = both(fn, seed)
            same(b, a)


def test_generator_repr_is_torchs() -> None:
    assert re.sub("0x[0-9a-f]+", "", repr(gv.Generator())) == re.sub(
        "0x[0-9a-f]+", "", repr(torch.Generator())
    )
