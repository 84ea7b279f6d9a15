"""utils.data against PyTorch: batches, shuffle order under a seed, what the loader leaves of the
global generator, random_split, collation and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import gradviz as gv
import gradviz.utils.data as gdata


def _batches(loader, epochs: int = 2):
    out = []
    for _ in range(epochs):
        for batch in loader:
            out.append([b.tolist() for b in batch] if isinstance(batch, list) else batch.tolist())
    return out


@pytest.mark.parametrize("seed", [0, 1, 42, 12345])
@pytest.mark.parametrize(
    ("n", "batch_size", "shuffle", "drop_last"),
    [
        (10, 4, True, False),
        (10, 4, False, False),
        (100, 16, True, True),
        (7, 3, True, False),
        (5, 8, True, False),
        (300, 64, True, False),
    ],
)
def test_loader_order_matches_torch(
    seed: int, n: int, batch_size: int, shuffle: bool, drop_last: bool
) -> None:
    def make(lib, data):
        ds = data.TensorDataset(lib.arange(n), lib.arange(n) * 0.5)
        return data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)

    torch.manual_seed(seed)
    la = make(torch, tdata)
    ba, after_a = _batches(la), torch.rand(3)
    gv.manual_seed(seed)
    lb = make(gv, gdata)
    bb, after_b = _batches(lb), gv.rand(3)
    assert bb == ba
    assert len(lb) == len(la)
    # every pass draws from the global generator as torch's does, shuffled or not
    np.testing.assert_array_equal(after_b.numpy(), after_a.numpy())


def test_batch_types_and_reprs() -> None:
    torch.manual_seed(3)
    xa, ya = torch.rand(6, 2), torch.tensor([0, 1, 0, 1, 1, 0])
    gv.manual_seed(3)
    xb, yb = gv.rand(6, 2), gv.tensor([0, 1, 0, 1, 1, 0])
    ba = next(iter(tdata.DataLoader(tdata.TensorDataset(xa, ya), batch_size=4)))
    bb = next(iter(gdata.DataLoader(gdata.TensorDataset(xb, yb), batch_size=4)))
    assert type(bb) is type(ba) is list
    assert repr(bb) == repr(ba)
    assert repr(gdata.TensorDataset(xb, yb)[1]) == repr(tdata.TensorDataset(xa, ya)[1])


class _Pairs:
    """A plain map-style dataset of (float array, int) pairs, no tensors."""

    def __init__(self, lib) -> None:
        self.lib = lib

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int):
        return {"x": np.full(2, i, np.float32), "y": i, "w": float(i) / 2, "name": f"s{i}"}


def test_default_collate_of_plain_samples() -> None:
    a = list(tdata.DataLoader(_Pairs(torch), batch_size=2))
    b = list(gdata.DataLoader(_Pairs(gv), batch_size=2))
    assert len(a) == len(b) == 3
    for ba, bb in zip(a, b):
        assert list(bb) == list(ba)
        for key in ba:
            assert repr(bb[key]).replace("gradviz.", "torch.") == repr(ba[key]), key


def test_custom_dataset_and_collate_fn_and_no_batching() -> None:
    class Squares(gdata.Dataset):
        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int):
            return gv.tensor([float(i), float(i * i)])

    assert [b.tolist() for b in gdata.DataLoader(Squares(), batch_size=3)] == [
        [[0.0, 0.0], [1.0, 1.0], [2.0, 4.0]],
        [[3.0, 9.0]],
    ]
    assert list(gdata.DataLoader(Squares(), batch_size=2, collate_fn=len)) == [2, 2]
    assert [b.tolist() for b in gdata.DataLoader(Squares(), batch_size=None)][1] == [1.0, 1.0]


@pytest.mark.parametrize("seed", [0, 5, 99])
@pytest.mark.parametrize("lengths", [[0.5, 0.3, 0.2], [7, 13], [0.34, 0.33, 0.33]])
def test_random_split_matches_torch(seed: int, lengths) -> None:
    torch.manual_seed(seed)
    a = [list(s.indices) for s in tdata.random_split(range(20), lengths)]
    after_a = torch.rand(2)
    gv.manual_seed(seed)
    b = [list(s.indices) for s in gdata.random_split(range(20), lengths)]
    after_b = gv.rand(2)
    assert b == a
    np.testing.assert_array_equal(after_b.numpy(), after_a.numpy())


def test_subset_loader_after_split() -> None:
    out = []
    for lib, data in ((torch, tdata), (gv, gdata)):
        lib.manual_seed(8)
        ds = data.TensorDataset(lib.arange(30).float().unsqueeze(1), lib.arange(30) * 2)
        train, test = data.random_split(ds, [24, 6])
        loader = data.DataLoader(train, batch_size=5, shuffle=True)
        out.append(([x.tolist() for x, _ in loader], [int(y) for _, y in test]))
    assert out[1] == out[0]


def test_private_generator_matches_torch_generator() -> None:
    for seed in [0, 7, 2**40 + 3]:
        ta = torch.Generator().manual_seed(seed)
        gb = gdata.Generator(seed)
        assert gb.randperm(50) == torch.randperm(50, generator=ta).tolist()
        assert gb.randint(10, 40) == torch.randint(10, (40,), generator=ta).tolist()
    ds_a, ds_b = tdata.TensorDataset(torch.arange(12)), gdata.TensorDataset(gv.arange(12))
    la = tdata.DataLoader(ds_a, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(4))
    lb = gdata.DataLoader(ds_b, batch_size=5, shuffle=True, generator=gdata.Generator(4))
    assert _batches(lb) == _batches(la)


def test_random_sampler_with_replacement() -> None:
    ga, gb = torch.Generator().manual_seed(1), gdata.Generator(1)
    a = list(tdata.RandomSampler(range(10), replacement=True, num_samples=40, generator=ga))
    b = list(gdata.RandomSampler(range(10), replacement=True, num_samples=40, generator=gb))
    assert b == a


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, data: data.TensorDataset(lib.zeros(3), lib.zeros(4)),
        lambda lib, data: data.DataLoader(data.TensorDataset(lib.zeros(3)), batch_size=0),
        lambda lib, data: data.DataLoader(data.TensorDataset(lib.zeros(3)), sampler=[0, 1], shuffle=True),
        lambda lib, data: data.random_split(range(10), [3, 3]),
    ],
)
def test_errors_match(make) -> None:
    with pytest.raises(Exception) as ta:
        make(torch, tdata)
    with pytest.raises(Exception) as tb:
        make(gv, gdata)
    assert type(tb.value) is type(ta.value)
    assert str(tb.value) == str(ta.value)
