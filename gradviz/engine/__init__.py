"""A numpy autograd engine with PyTorch's names, semantics, reprs and errors."""

from __future__ import annotations

from . import _malloc
from . import ops as _ops  # noqa: F401 - attaches the op methods to Tensor
from .autograd import grad
from .creation import (
    arange,
    as_tensor,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_rng_state,
    initial_seed,
    linspace,
    logspace,
    manual_seed,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    set_rng_state,
    tensor,
    zeros,
    zeros_like,
)
from .device import backends, cuda, device
from .dtypes import (
    bool_,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    result_type,
    set_default_dtype,
    uint8,
)
from .formatting import set_printoptions
from .function import AccumulateGrad, Function, Node
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .ops import *  # noqa: F403
from .ops import __all__ as _op_names
from .random import Generator, default_generator
from .size import Size
from .tensor import Tensor

float = float32
double = float64
half = float16
long = int64
int = int32
short = int16

_malloc.tune()  # large arrays reuse freed memory instead of page-faulting it in again

__all__ = [
    "AccumulateGrad", "Function", "Node", "Size", "Tensor", "arange", "as_tensor", "bool_", "double",
    "dtype", "empty", "enable_grad", "eye", "float", "float16", "float32", "float64", "from_numpy",
    "full", "full_like", "grad", "half", "initial_seed", "int", "int8", "int16", "int32", "int64",
    "is_grad_enabled", "linspace", "long", "manual_seed", "no_grad", "ones", "ones_like",
    "promote_types", "rand", "rand_like", "randint", "randn", "randn_like", "result_type", "seed",
    "set_grad_enabled", "set_printoptions", "short", "tensor", "uint8", "zeros", "zeros_like",
    "Generator", "backends", "bernoulli", "cuda", "default_generator", "device", "empty_like",
    "get_default_dtype", "get_rng_state", "inference_mode", "is_inference_mode_enabled", "is_tensor", "is_storage", "logspace", "multinomial",
    "normal", "randint_like", "randperm", "set_default_dtype", "set_rng_state",
    *_op_names,
]  # fmt: skip


def is_tensor(obj: object) -> bool:
    return isinstance(obj, Tensor)


def is_storage(obj: object) -> bool:
    return False
