"""optim.SGD and optim.Adam against PyTorch: the same parameters after N steps from the same
start and gradients, state_dict keys and values, reprs and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradviz as gv

RNG = np.random.default_rng(3)
START = [RNG.standard_normal((20, 30)).astype(np.float32), RNG.standard_normal(30).astype(np.float32)]
GRADS = [[(RNG.standard_normal(p.shape) * 0.1).astype(np.float32) for p in START] for _ in range(25)]

CONFIGS = {
    "sgd": lambda o, ps: o.SGD(ps, lr=0.1),
    "sgd_momentum": lambda o, ps: o.SGD(ps, lr=0.05, momentum=0.9),
    "sgd_everything": lambda o, ps: o.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd_nesterov": lambda o, ps: o.SGD(ps, lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True),
    "sgd_maximize": lambda o, ps: o.SGD(ps, lr=0.05, momentum=0.5, maximize=True),
    "sgd_groups": lambda o, ps: o.SGD(
        [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.5}], lr=0.1, momentum=0.9
    ),
    "adam": lambda o, ps: o.Adam(ps, lr=0.01),
    "adam_betas_wd": lambda o, ps: o.Adam(ps, lr=0.02, betas=(0.8, 0.99), weight_decay=0.1, eps=1e-6),
    "adam_amsgrad": lambda o, ps: o.Adam(ps, lr=0.01, amsgrad=True),
    "adamw": lambda o, ps: o.AdamW(ps, lr=0.01),
}
# torch 2.13's float32 sqrt on the CPU is not correctly rounded (about 1 value in 5 is one ulp
# off, on every CPU capability), numpy's is: Adam's denominators can differ in the last bit,
# and a few parameters end a few ulps apart after 25 steps.
SQRT_RTOL = 1e-6


def _train(lib, config: str, steps: int = 25):
    params = [lib.nn.Parameter(lib.tensor(p.copy())) for p in START]
    opt = CONFIGS[config](lib.optim, params)
    for grads in GRADS[:steps]:
        opt.zero_grad()
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g.copy())
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt


@pytest.mark.parametrize("config", list(CONFIGS))
def test_parameters_after_steps(config: str) -> None:
    pa, oa = _train(torch, config)
    pb, ob = _train(gv, config)
    for a, b in zip(pa, pb):
        if config.startswith("sgd"):
            np.testing.assert_array_equal(b, a)  # bit-exact: ATen's fused add is emulated exactly
        else:
            np.testing.assert_allclose(b, a, rtol=SQRT_RTOL, atol=1e-8)
            assert np.mean(a != b) < 0.25  # most values are still bit-exact (1-2% more differ per step)
    assert repr(ob) == repr(oa)
    sa, sb = oa.state_dict(), ob.state_dict()
    assert sb["param_groups"] == sa["param_groups"]
    assert sorted(sb["state"]) == sorted(sa["state"])
    for key in sa["state"]:
        assert list(sb["state"][key]) == list(sa["state"][key])
        for name, va in sa["state"][key].items():
            vb = sb["state"][key][name]
            assert repr(vb.dtype).split(".")[-1] == repr(va.dtype).split(".")[-1]
            np.testing.assert_allclose(vb.numpy(), va.numpy(), rtol=1e-5, atol=1e-9, err_msg=name)
    if "adam" in config:
        assert repr(sb["state"][0]["step"]) == repr(sa["state"][0]["step"])


def test_skips_parameters_without_grad_and_zero_grad() -> None:
    for lib in (torch, gv):
        a, b = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([a, b], lr=0.5, momentum=0.9)
        a.grad = lib.ones(2)
        opt.step()
        assert a.tolist() == [0.5, 0.5] and b.tolist() == [1.0, 1.0]
        assert len(opt.state_dict()["state"]) == 1
        opt.zero_grad(set_to_none=False)
        assert a.grad.tolist() == [0.0, 0.0]
        opt.zero_grad()
        assert a.grad is None


def test_step_with_closure_and_model() -> None:
    results = []
    for lib in (torch, gv):
        lib.manual_seed(0)
        model = lib.nn.Linear(3, 1)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        x, y = lib.rand(8, 3), lib.rand(8, 1)

        def closure(lib=lib, model=model, opt=opt, x=x, y=y):
            opt.zero_grad()
            loss = lib.nn.functional.mse_loss(model(x), y)
            loss.backward()
            return loss

        loss = opt.step(closure)
        results.append((round(loss.item(), 6), model.weight.detach().numpy().copy()))
    assert results[0][0] == results[1][0]
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-6)


def test_load_state_dict_resumes() -> None:
    _, full = _train(gv, "adam", steps=10)
    params = [gv.nn.Parameter(gv.tensor(p.copy())) for p in START]
    opt = gv.optim.Adam(params, lr=0.01)
    opt.load_state_dict(full.state_dict())
    assert opt.state_dict()["state"][0]["step"].item() == 10.0
    assert opt.param_groups[0]["lr"] == 0.01


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.optim.SGD([], lr=0.1),
        lambda lib: lib.optim.SGD([lib.nn.Parameter(lib.ones(1)) * 2], lr=0.1),
        lambda lib: lib.optim.SGD(lib.nn.Parameter(lib.ones(1)), lr=0.1),
        lambda lib: lib.optim.SGD([1.0], lr=0.1),
        lambda lib: lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=-0.1),
        lambda lib: lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1, nesterov=True),
        lambda lib: lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1, momentum=-1),
        lambda lib: lib.optim.Adam([lib.nn.Parameter(lib.ones(1))], betas=(1.0, 0.9)),
        lambda lib: lib.optim.Adam([lib.nn.Parameter(lib.ones(1))], betas=(0.9, -0.1)),
        lambda lib: lib.optim.Adam([lib.nn.Parameter(lib.ones(1))], eps=-1),
        lambda lib: lib.optim.Adam([lib.nn.Parameter(lib.ones(1))], lr=-1),
    ],
)
def test_errors_match(make) -> None:
    with pytest.raises(Exception) as ta:
        make(torch)
    with pytest.raises(Exception) as tb:
        make(gv)
    assert type(tb.value) is type(ta.value)
    assert str(tb.value) == str(ta.value)
