"""optim.lr_scheduler against PyTorch: the learning rates step by step, state_dict, warnings."""

from __future__ import annotations

import warnings

import pytest
import torch

import gradviz as gv

SCHEDULERS = {
    "step": lambda s, o: s.StepLR(o, step_size=3, gamma=0.5),
    "multistep": lambda s, o: s.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "exponential": lambda s, o: s.ExponentialLR(o, gamma=0.9),
    "lambda": lambda s, o: s.LambdaLR(o, lambda epoch: 0.95**epoch),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_learning_rates_match(name: str) -> None:
    seen = []
    for lib in (torch, gv):
        params = [lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(1))]
        opt = lib.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.3}], lr=0.1, momentum=0.9)
        sched = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
        lrs = [sched.get_last_lr()]
        for _ in range(12):
            for p in params:
                p.grad = lib.ones_like(p)
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        state = sched.state_dict()
        state.pop("lr_lambdas", None)
        seen.append((lrs, repr(opt), state, [p.tolist() for p in params]))
    assert seen[1] == seen[0]


def test_warns_when_stepped_before_the_optimizer() -> None:
    messages = []
    for lib in (torch, gv):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1)
        sched = lib.optim.lr_scheduler.StepLR(opt, 1)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            sched.step()
        messages.append([str(x.message) for x in w])
    assert messages[1] == messages[0] and messages[0]
