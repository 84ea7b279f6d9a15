"""``torch.utils.data`` in the console: ``TensorDataset`` of session tensors and a ``DataLoader``
over it, batched and shuffled exactly as gradviz's (and PyTorch's) DataLoader does for the
same seed. A batch is the rows of each tensor picked by an index op (``x[[3, 0, 2]]``), so the
session records where the batch came from and replays the same batches without the generator."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import gradviz.engine as E
from gradviz.utils import data as engine_data

from .operators import index
from .values import ConsoleError, Function, Namespace, TensorValue, type_name

if TYPE_CHECKING:
    from .evaluate import Run

_LOADER_OPTIONS = ("batch_size", "shuffle", "drop_last")


class DatasetValue:
    """``TensorDataset(x, y)``: the tensors, row by row."""

    def __init__(self, tensors: list[TensorValue], rows: int) -> None:
        self.tensors = tensors
        self.rows = rows

    def __repr__(self) -> str:
        return "<torch.utils.data.dataset.TensorDataset object>"

    def __len__(self) -> int:
        return self.rows


class LoaderValue:
    """``DataLoader(ds, batch_size=..., shuffle=...)``; each walk draws a new order, as torch's."""

    def __init__(self, dataset: DatasetValue, options: dict[str, Any]) -> None:
        self.dataset = dataset
        self.options = dict(options)  # as given: what a recorded loop stores to build it again
        # gradviz's own DataLoader over the row numbers gives the batches' order
        self.loader = engine_data.DataLoader(engine_data.TensorDataset(E.arange(dataset.rows)), **options)

    def __repr__(self) -> str:
        return "<torch.utils.data.dataloader.DataLoader object>"

    def __len__(self) -> int:
        return len(self.loader)

    def walk(self, run: Run) -> Iterator[Any]:
        for (rows,) in self.loader:
            picked = rows.tolist()
            batch = [index(run, t, picked) for t in self.dataset.tensors]
            yield batch[0] if len(batch) == 1 else batch


def _tensor_dataset(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> DatasetValue:
    if kwargs or not args or not all(isinstance(a, TensorValue) for a in args):
        raise TypeError("TensorDataset() takes tensors, and only tensors")
    sizes = {a.tensor(run).shape[0] if a.tensor(run).ndim else None for a in args}
    if len(sizes) != 1 or None in sizes:
        raise ValueError("Size mismatch between tensors")
    return DatasetValue(list(args), sizes.pop())


def _data_loader(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> LoaderValue:
    names = ("dataset", *_LOADER_OPTIONS)
    if len(args) > len(names):
        raise TypeError(f"DataLoader() takes at most {len(names)} positional arguments in the console")
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names:
            raise ConsoleError(f"DataLoader(): '{k}=' is not available in the console")
        bound[k] = v
    dataset = bound.pop("dataset", None)
    if not isinstance(dataset, DatasetValue):
        raise ConsoleError(f"DataLoader() takes a TensorDataset in the console, not a {type_name(dataset)}")
    return LoaderValue(dataset, bound)


def build() -> Namespace:
    """``torch.utils.data``, and ``torch.utils`` holding it."""
    members = {
        "TensorDataset": Function("TensorDataset", _tensor_dataset),
        "DataLoader": Function("DataLoader", _data_loader),
    }
    return Namespace("torch.utils.data", members, engine_data)
