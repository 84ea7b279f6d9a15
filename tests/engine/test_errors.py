"""Errors parity with PyTorch: the same exception type and the same message, and nothing half-done."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch

import gradviz as gv


def F(L: Any) -> Any:
    return torch.nn.functional if L is torch else gv.nn.functional


def norm(s: str) -> str:
    return s.replace("torch.", "gradviz.").replace("torch::", "gradviz::")


def raised(fn: Any, L: Any) -> BaseException:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(L)
        except Exception as e:
            return e
    raise AssertionError(f"{'torch' if L is torch else 'gradviz'} did not raise")


def first_line(msg: str) -> str:
    """The message up to its first hint or list: what went wrong, with the sizes involved."""
    return msg.split("\n")[0].split(" Hint:")[0].split(" The only supported types")[0]


def _backward_twice(L: Any) -> None:
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _backward_twice_exp(L: Any) -> None:
    x = L.tensor([1.0, 2.0], requires_grad=True)
    z = x.exp()
    z.sum().backward()
    z.sum().backward()


def _backward_twice_shared(L: Any) -> None:
    x = L.tensor([1.0, 2.0], requires_grad=True)
    h = x.sigmoid()
    (h * 2).sum().backward()
    (h * 3).sum().backward()


def _grad_twice(L: Any) -> None:
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = (x**3).sum()
    L.autograd.grad(y, x)
    L.autograd.grad(y, x)


def _inplace_modified_saved(L: Any) -> None:
    x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    z = y * y
    y.add_(1)
    z.sum().backward()


def _inplace_modified_output(L: Any) -> None:
    x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()
    y.mul_(2)
    y.sum().backward()


def _inplace_modified_leaf(L: Any) -> None:
    x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = L.ones(2, 3, dtype=L.float64)
    y = x * w
    w.add_(1)
    y.sum().backward()


def _leaf_setitem(L: Any) -> None:
    x = L.ones(3, requires_grad=True)
    x[0] = 5.0


def _leaf_iadd(L: Any) -> None:
    x = L.ones(3, requires_grad=True)
    x += 1


# (id, fn) pairs: fn(L) must raise in both libraries with the same type and message.
EXACT = [
    # autograd
    ("backward_twice", _backward_twice),
    ("backward_twice_exp", _backward_twice_exp),
    ("backward_twice_shared", _backward_twice_shared),
    ("grad_twice", _grad_twice),
    ("nonscalar_backward", lambda L: (L.ones(3, requires_grad=True) * 2).backward()),
    ("nonscalar_backward_2d", lambda L: (L.ones(2, 2, requires_grad=True) + 1).backward()),
    ("backward_no_grad", lambda L: L.ones(1).backward()),
    ("backward_no_grad_sum", lambda L: L.ones(3).sum().backward()),
    ("backward_under_no_grad", lambda L: _under_no_grad(L)),
    ("backward_int_scalar", lambda L: L.tensor(3).backward()),
    ("gradient_shape", lambda L: (L.ones(2, requires_grad=True) * 2).backward(L.ones(3))),
    ("gradient_shape_2d", lambda L: (L.ones(2, 3, requires_grad=True) * 2).backward(L.ones(3, 2))),
    ("requires_grad_int", lambda L: L.tensor([1, 2], requires_grad=True)),
    ("requires_grad_bool", lambda L: L.tensor([True], requires_grad=True)),
    ("requires_grad_int_method", lambda L: L.tensor([1, 2]).requires_grad_()),
    ("requires_grad_int_attr", lambda L: setattr(L.tensor([1, 2]), "requires_grad", True)),
    ("requires_grad_zeros_int", lambda L: L.zeros(2, dtype=L.int64, requires_grad=True)),
    ("requires_grad_arange", lambda L: L.arange(3, requires_grad=True)),
    ("requires_grad_false_nonleaf", lambda L: (L.ones(2, requires_grad=True) * 2).requires_grad_(False)),
    ("retain_grad_no_grad", lambda L: L.ones(2).retain_grad()),
    ("leaf_add_", lambda L: L.ones(3, requires_grad=True).add_(1)),
    ("leaf_sub_", lambda L: L.ones(3, requires_grad=True).sub_(1)),
    ("leaf_mul_", lambda L: L.ones(3, requires_grad=True).mul_(2)),
    ("leaf_div_", lambda L: L.ones(3, requires_grad=True).div_(2)),
    ("leaf_zero_", lambda L: L.ones(3, requires_grad=True).zero_()),
    ("leaf_fill_", lambda L: L.ones(3, requires_grad=True).fill_(2.0)),
    ("leaf_clamp_", lambda L: L.ones(3, requires_grad=True).clamp_(0, 1)),
    ("leaf_iadd", _leaf_iadd),
    ("leaf_setitem", _leaf_setitem),
    ("leaf_setitem_ellipsis", lambda L: L.ones(3, requires_grad=True).__setitem__(..., 1.0)),
    ("leaf_setitem_list", lambda L: L.ones(3, requires_grad=True).__setitem__([0, 1], 1.0)),
    ("leaf_setitem_slice", lambda L: L.ones(3, requires_grad=True).__setitem__(slice(0, 2), 1.0)),
    (
        "leaf_setitem_mask",
        lambda L: L.ones(3, requires_grad=True).__setitem__(L.tensor([True, False, True]), 1.0),
    ),
    ("numpy_requires_grad", lambda L: L.ones(2, requires_grad=True).numpy()),
    ("numpy_nonleaf", lambda L: (L.ones(2, requires_grad=True) * 2).numpy()),
    (
        "grad_unused",
        lambda L: L.autograd.grad((L.ones(2, requires_grad=True) * 2).sum(), [L.ones(2, requires_grad=True)]),
    ),
    ("grad_input_no_grad", lambda L: L.autograd.grad((L.ones(2, requires_grad=True) * 2).sum(), [L.ones(2)])),
    # shapes
    ("add_bcast", lambda L: L.ones(2, 3) + L.ones(4)),
    ("mul_bcast", lambda L: L.ones(2, 3) * L.ones(3, 2)),
    ("sub_bcast_3d", lambda L: L.ones(5, 2, 3) - L.ones(4, 1, 3)),
    ("div_bcast", lambda L: L.ones(3) / L.ones(2)),
    ("pow_bcast", lambda L: L.ones(3) ** L.ones(2)),
    ("eq_bcast", lambda L: L.ones(3) == L.ones(2)),
    ("lt_bcast", lambda L: L.ones(3, 1) < L.ones(2, 4)),
    ("where_bcast", lambda L: L.where(L.ones(3) > 0, L.ones(2), L.ones(3))),
    ("grad_bcast", lambda L: L.ones(2, 3, requires_grad=True) + L.ones(4)),
    ("matmul_1d_1d", lambda L: L.ones(3) @ L.ones(4)),
    ("matmul_2d_1d", lambda L: L.ones(2, 3) @ L.ones(4)),
    ("matmul_1d_2d", lambda L: L.ones(3) @ L.ones(4, 5)),
    ("matmul_2d_2d", lambda L: L.ones(2, 3) @ L.ones(4, 5)),
    ("matmul_3d_2d", lambda L: L.ones(5, 2, 3) @ L.ones(4, 5)),
    ("matmul_3d_3d", lambda L: L.ones(5, 2, 3) @ L.ones(5, 4, 5)),
    ("matmul_batch", lambda L: L.ones(5, 2, 3) @ L.ones(4, 3, 5)),
    ("matmul_2d_3d", lambda L: L.ones(2, 3) @ L.ones(5, 4, 2)),
    ("matmul_2d_3d_grad", lambda L: L.ones(2, 3, requires_grad=True) @ L.ones(5, 4, 2)),
    ("matmul_3d_1d", lambda L: L.ones(5, 2, 3) @ L.ones(4)),
    ("matmul_1d_3d", lambda L: L.ones(4) @ L.ones(5, 3, 2)),
    ("matmul_1d_3d_grad", lambda L: L.ones(4, requires_grad=True) @ L.ones(5, 3, 2)),
    ("matmul_4d", lambda L: L.ones(2, 1, 2, 3) @ L.ones(3, 4, 3, 2)),
    ("matmul_0d", lambda L: L.tensor(2.0) @ L.ones(2)),
    ("matmul_dtype_dot", lambda L: L.ones(3) @ L.ones(3, dtype=L.float64)),
    ("matmul_dtype_mv", lambda L: L.ones(2, 3) @ L.ones(3, dtype=L.float64)),
    ("matmul_dtype_mm", lambda L: L.ones(2, 3) @ L.ones(3, 2, dtype=L.float64)),
    ("matmul_dtype_mm_int", lambda L: L.ones(2, 3) @ L.ones(3, 2, dtype=L.int64)),
    ("matmul_dtype_bmm", lambda L: L.ones(2, 2, 3, dtype=L.float64) @ L.ones(2, 3, 2)),
    ("matmul_int_float", lambda L: L.ones(3, dtype=L.int64) @ L.ones(3)),
    ("matmul_scalar", lambda L: L.ones(3) @ 2),
    ("matmul_func_scalar", lambda L: L.matmul(L.ones(3), 2)),
    ("mm_1d", lambda L: L.mm(L.ones(3), L.ones(3, 2))),
    ("mm_vec", lambda L: L.ones(2, 3).mm(L.ones(3))),
    ("dot_2d", lambda L: L.dot(L.ones(2, 3), L.ones(3))),
    ("bmm_2d", lambda L: L.bmm(L.ones(2, 3), L.ones(3, 2))),
    ("linear_mismatch", lambda L: F(L).linear(L.ones(4, 3), L.ones(5, 2), L.ones(5))),
    ("linear_0d", lambda L: F(L).linear(L.tensor(1.0), L.ones(5, 2))),
    ("view_invalid", lambda L: L.ones(2, 3).view(4)),
    ("view_invalid_infer", lambda L: L.ones(2, 3).view(-1, 4)),
    ("view_two_infer", lambda L: L.ones(2, 3).view(-1, -1)),
    ("view_noncontiguous", lambda L: L.ones(2, 3).t().view(6)),
    ("reshape_invalid", lambda L: L.ones(2, 3).reshape(5)),
    ("expand_invalid", lambda L: L.ones(2, 3).expand(4, 3)),
    ("cat_mismatch", lambda L: L.cat([L.ones(2, 3), L.ones(2, 4)])),
    ("cat_ndim", lambda L: L.cat([L.ones(2, 3), L.ones(3)])),
    ("cat_empty_list", lambda L: L.cat([])),
    ("cat_0d", lambda L: L.cat([L.tensor(1.0), L.tensor(2.0)])),
    ("stack_mismatch", lambda L: L.stack([L.ones(2, 3), L.ones(3, 2)])),
    ("stack_empty", lambda L: L.stack([])),
    ("mse_bcast", lambda L: F(L).mse_loss(L.ones(2, 3), L.ones(4))),
    # dims
    ("sum_dim", lambda L: L.ones(2, 3).sum(2)),
    ("sum_dim_neg", lambda L: L.ones(2, 3).sum(-3)),
    ("mean_dim", lambda L: L.ones(2, 3).mean(dim=5)),
    ("max_dim", lambda L: L.ones(2, 3).max(dim=2)),
    ("softmax_dim", lambda L: L.ones(2, 3).softmax(2)),
    ("log_softmax_dim", lambda L: L.ones(3).log_softmax(1)),
    ("transpose_dim", lambda L: L.ones(2, 3).transpose(0, 2)),
    ("unsqueeze_dim", lambda L: L.ones(2, 3).unsqueeze(3)),
    ("squeeze_dim", lambda L: L.ones(2, 3).squeeze(2)),
    ("flatten_dims", lambda L: L.ones(2, 3, 4).flatten(2, 1)),
    ("cat_dim", lambda L: L.cat([L.ones(2), L.ones(2)], dim=1)),
    ("stack_dim", lambda L: L.stack([L.ones(2), L.ones(2)], dim=2)),
    ("t_3d", lambda L: L.ones(2, 3, 4).t()),
    ("size_dim", lambda L: L.ones(2, 3).size(2)),
    ("max_empty", lambda L: L.ones(0).max()),
    ("max_empty_dim", lambda L: L.ones(0, 3).max(dim=0)),
    # creation
    ("ragged", lambda L: L.tensor([[1, 2], [3]])),
    ("ragged_first_short", lambda L: L.tensor([[1], [2, 3]])),
    ("ragged_deep", lambda L: L.tensor([[[1, 2], [3, 4]], [[5, 6], [7]]])),
    ("ragged_float", lambda L: L.tensor([[1.0, 2.0], [3.0, 4.0], [5.0]])),
    ("ragged_mixed_depth", lambda L: L.tensor([[1, 2], 3])),
    ("ragged_scalar_first", lambda L: L.tensor([1, [2, 3]])),
    ("ragged_float_scalar_first", lambda L: L.tensor([1.5, [2.0]])),
    ("ragged_bool_scalar_first", lambda L: L.tensor([True, [2]])),
    ("ragged_float_deep", lambda L: L.tensor([[1.0, 2], 3.0])),
    ("none_in_list", lambda L: L.tensor([1, None])),
    ("none_nested", lambda L: L.tensor([[1], [None]])),
    ("string_data", lambda L: L.tensor("abc")),
    ("string_in_list", lambda L: L.tensor([1.0, "a"])),
    ("none_data", lambda L: L.tensor(None)),
    ("dict_data", lambda L: L.tensor({"a": 1})),
    ("multi_elem_tensor_in_list", lambda L: L.tensor([L.ones(2), L.ones(2)])),
    ("negative_size", lambda L: L.zeros(-1)),
    ("negative_size_2d", lambda L: L.ones(2, -3)),
    ("negative_size_tuple", lambda L: L.zeros((2, -3))),
    ("negative_size_empty", lambda L: L.empty(-1)),
    ("negative_size_rand", lambda L: L.rand(-1)),
    ("negative_size_randn", lambda L: L.randn(2, -1)),
    ("negative_size_full", lambda L: L.full((-1,), 2.0)),
    ("arange_zero_step", lambda L: L.arange(0, 5, 0)),
    ("linspace_negative", lambda L: L.linspace(0, 1, -1)),
    ("from_numpy_list", lambda L: L.from_numpy([1, 2])),
    # conversion
    ("item_many", lambda L: L.ones(2).item()),
    ("item_empty", lambda L: L.ones(0).item()),
    ("float_many", lambda L: float(L.ones(2))),
    ("int_many", lambda L: int(L.ones(2))),
    ("float_empty", lambda L: float(L.ones(0))),
    ("bool_many", lambda L: bool(L.ones(2))),
    ("bool_empty", lambda L: bool(L.ones(0))),
    ("len_0d", lambda L: len(L.tensor(1.0))),
    ("iter_0d", lambda L: iter(L.tensor(1.0))),
    ("index_float_tensor", lambda L: L.ones(3)[L.tensor([1.0])]),
    ("index_0d_tensor", lambda L: L.tensor(1.0)[0]),
    # dtypes and ops
    ("sub_bool", lambda L: L.tensor([True]) - L.tensor([False])),
    ("sub_bool_scalar", lambda L: L.ones(2) - True),
    ("rsub_bool", lambda L: 1 - L.tensor([True])),
    ("neg_bool", lambda L: -L.tensor([True, False])),
    ("mean_int", lambda L: L.tensor([1, 2]).mean()),
    ("mean_bool", lambda L: L.tensor([True]).mean()),
    ("int_neg_pow", lambda L: L.tensor([1, 2]) ** -1),
    ("clamp_none", lambda L: L.ones(2).clamp()),
    ("argmax_bool", lambda L: L.tensor([True, False]).argmax()),
    ("where_cond_float", lambda L: L.where(L.ones(2), L.ones(2), L.zeros(2))),
    ("where_cond_int", lambda L: L.where(L.tensor([1, 0]), L.ones(2), L.zeros(2))),
    # indexing
    ("index_oob", lambda L: L.ones(4, 3)[5]),
    ("index_oob_neg", lambda L: L.ones(4, 3)[-5]),
    ("index_oob_dim1", lambda L: L.ones(4, 3)[:, 3]),
    ("index_oob_list", lambda L: L.ones(4, 3)[[5]]),
    ("index_oob_tensor", lambda L: L.ones(4, 3)[L.tensor([0, 9])]),
    ("index_oob_pair", lambda L: L.ones(4, 3)[[0, 1], [7, 0]]),
    ("index_too_many", lambda L: L.ones(4, 3)[0, 0, 0]),
    ("index_neg_step", lambda L: L.ones(4)[::-1]),
    ("index_zero_step", lambda L: L.ones(4)[::0]),
    ("index_float", lambda L: L.ones(4)[1.5]),
    ("index_mask_shape", lambda L: L.ones(4, 3)[L.tensor([True, False, True])]),
    ("index_mask_list_shape", lambda L: L.ones(4, 3)[[True, False]]),
    # losses
    ("nll_target_oob", lambda L: F(L).nll_loss(L.zeros(2, 3), L.tensor([0, 7]))),
    ("ce_target_oob", lambda L: F(L).cross_entropy(L.zeros(2, 3), L.tensor([3, 0]))),
    ("ce_batch", lambda L: F(L).cross_entropy(L.zeros(4, 3), L.tensor([0, 1, 2]))),
    ("nll_float_target", lambda L: F(L).nll_loss(L.zeros(2, 3), L.tensor([0.0, 1.0]))),
    ("nll_int32_target", lambda L: F(L).nll_loss(L.zeros(2, 3), L.tensor([0, 1], dtype=L.int32))),
    ("ce_int32_target", lambda L: F(L).cross_entropy(L.zeros(2, 3), L.tensor([0, 1], dtype=L.int32))),
    # grad assignment
    ("grad_assign_shape", lambda L: setattr(L.ones(2, requires_grad=True), "grad", L.ones(3))),
    (
        "grad_assign_dtype",
        lambda L: setattr(L.ones(2, requires_grad=True), "grad", L.ones(2, dtype=L.float64)),
    ),
    (
        "grad_assign_half",
        lambda L: setattr(L.ones(2, requires_grad=True), "grad", L.ones(2, dtype=L.float16)),
    ),
    ("grad_assign_long", lambda L: setattr(L.ones(2, requires_grad=True), "grad", L.ones(2, dtype=L.int64))),
    (
        "grad_assign_f32_to_f64",
        lambda L: setattr(L.ones(2, dtype=L.float64, requires_grad=True), "grad", L.ones(2)),
    ),
    ("grad_assign_type", lambda L: setattr(L.ones(2, requires_grad=True), "grad", [1.0, 2.0])),
    ("movedim_repeated", lambda L: L.ones(2, 3, 4).movedim((0, 0), (1, 2))),
    ("movedim_repeated_destination", lambda L: L.ones(2, 3, 4).movedim((0, 1), (2, 2))),
    ("movedim_counts", lambda L: L.ones(2, 3, 4).movedim((0, 1), (1,))),
    ("movedim_range", lambda L: L.ones(2, 3).movedim(5, 0)),
]


def _under_no_grad(L: Any) -> None:
    x = L.ones(2, requires_grad=True)
    with L.no_grad():
        y = (x * 2).sum()
    y.backward()


@pytest.mark.parametrize(("name", "fn"), EXACT, ids=[n for n, _ in EXACT])
def test_same_error(name: str, fn: Any) -> None:
    et, eg = raised(fn, torch), raised(fn, gv)
    assert type(eg) is type(et), f"{type(eg).__name__}: {eg}  vs torch {type(et).__name__}: {et}"
    assert norm(str(eg)) == norm(str(et))


# Where PyTorch's message carries C++ or version-specific detail gradviz cannot mirror, the
# type and the first sentence (what went wrong, with the sizes involved) must still agree.
PREFIX = [
    # PyTorch adds a hint about torch.autograd.set_detect_anomaly, which gradviz does not have.
    ("inplace_modified_saved", _inplace_modified_saved),
    ("inplace_modified_output", _inplace_modified_output),
    ("inplace_modified_leaf", lambda L: _inplace_modified_leaf(L)),
    # PyTorch lists dtypes (complex, uint16...) that gradviz does not support.
    ("from_numpy_object", lambda L: L.from_numpy(np.array([1, "a"], dtype=object))),
]


@pytest.mark.parametrize(("name", "fn"), PREFIX, ids=[n for n, _ in PREFIX])
def test_same_error_prefix(name: str, fn: Any) -> None:
    et, eg = raised(fn, torch), raised(fn, gv)
    assert type(eg) is type(et)
    assert norm(first_line(str(eg))) == norm(first_line(str(et)))


# --- nothing is half-done -------------------------------------------------------------------------


def test_failed_backward_leaves_grads_untouched() -> None:
    x = gv.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    g = x.grad.clone()
    with pytest.raises(RuntimeError):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), g.numpy())


def test_failed_nonscalar_backward_changes_nothing() -> None:
    x = gv.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError):
        y.backward()
    assert x.grad is None
    y.sum().backward()  # the graph was not consumed
    assert x.grad.tolist() == [2.0, 2.0]


def test_failed_gradient_shape_changes_nothing() -> None:
    x = gv.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with pytest.raises(RuntimeError):
        y.backward(gv.ones(3))
    assert x.grad is None
    y.backward(gv.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]).astype(np.float32), rtol=1e-6)


def test_failed_inplace_on_leaf_changes_nothing() -> None:
    for op in [
        lambda x: x.add_(1),
        lambda x: x.zero_(),
        lambda x: x.mul_(3),
        lambda x: x.__setitem__(0, 9.0),
    ]:
        x = gv.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError):
            op(x)
        assert x.tolist() == [1.0, 2.0]
        assert x.is_leaf and x.requires_grad and x.grad_fn is None


def test_failed_requires_grad_on_int_changes_nothing() -> None:
    t = gv.tensor([1, 2])
    with pytest.raises(RuntimeError):
        t.requires_grad_()
    assert not t.requires_grad


def test_failed_ops_record_nothing() -> None:
    x = gv.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        x + gv.ones(4)
    with pytest.raises(RuntimeError):
        x @ gv.ones(4, 2)
    y = x * 2
    y.sum().backward()
    assert x.grad.tolist() == [[2.0] * 3] * 2


def test_inplace_on_leaf_allowed_under_no_grad() -> None:
    for L in (torch, gv):
        x = L.ones(3, requires_grad=True)
        with L.no_grad():
            x.add_(1)
            x.mul_(2)
            x[0] = 10.0
            x.zero_()
            x += 5
        assert x.tolist() == [5.0, 5.0, 5.0]
        assert x.is_leaf and x.requires_grad


def test_grad_warning_on_non_leaf() -> None:
    msgs = []
    for L in (torch, gv):
        x = L.ones(2, requires_grad=True)
        y = x * 2
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            assert y.grad is None
        assert len(w) == 1 and issubclass(w[0].category, UserWarning)
        msgs.append(str(w[0].message))
    assert norm(msgs[1]) == norm(msgs[0].split(" (Triggered internally")[0])
