"""Tests for objlib.divergences against scipy, POT, torch and closed forms (float64)."""

import math
import warnings

import numpy as np
import ot
import pytest
import scipy.special
import scipy.stats
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

import objlib
from objlib._checks import ConvergenceWarning
from objlib.divergences import (
    Q_FORMS,
    distillation_loss,
    gaussian_kl,
    js,
    kl,
    sinkhorn,
    sinkhorn_divergence,
    sliced_wasserstein,
    wasserstein_1d,
)

LN2 = math.log(2.0)


def random_simplex(*shape, generator=None, zeros=0.0):
    """Rows on the simplex; a fraction `zeros` of the entries set to exactly 0."""
    x = torch.rand(*shape, generator=generator, dtype=torch.float64) + 0.05
    if zeros:
        x = torch.where(torch.rand(*shape, generator=generator, dtype=torch.float64) < zeros, 0.0, x)
        x[..., 0] += 0.1  # no row is all zero
    return x / x.sum(dim=-1, keepdim=True)


@st.composite
def distribution_pairs(draw, max_len=8):
    n = draw(st.integers(1, max_len))
    weights = st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n).filter(lambda w: sum(w) > 1e-3)
    p = torch.tensor(draw(weights), dtype=torch.float64)
    q = torch.tensor(draw(weights), dtype=torch.float64)
    return p / p.sum(), q / q.sum()


# ---------------------------------------------------------------------------------------
# kl
# ---------------------------------------------------------------------------------------


def test_kl_matches_scipy_entropy_per_row():
    g = torch.Generator().manual_seed(1)
    p = random_simplex(20, 9, generator=g, zeros=0.3)
    q = random_simplex(20, 9, generator=g)
    q = torch.where((p == 0) & (torch.rand(20, 9, generator=g, dtype=torch.float64) < 0.5), 0.0, q)
    q = q / q.sum(-1, keepdim=True)
    ref = torch.tensor(scipy.stats.entropy(p.numpy(), q.numpy(), axis=-1))
    torch.testing.assert_close(kl(p, q, reduction="none"), ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(kl(p, q), ref.mean(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(kl(p, q, reduction="sum"), ref.sum(), rtol=1e-12, atol=1e-14)


def test_kl_matches_torch_kl_div_batchmean():
    g = torch.Generator().manual_seed(2)
    p = random_simplex(16, 30, generator=g, zeros=0.2)
    q = random_simplex(16, 30, generator=g)
    ref = F.kl_div(q.log(), p, reduction="batchmean")
    torch.testing.assert_close(kl(p, q), ref, rtol=1e-12, atol=1e-14)
    # F.kl_div's own "mean" divides by N * C: not the divergence.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about exactly this
        torch.testing.assert_close(F.kl_div(q.log(), p, reduction="mean") * 30, ref)


def test_kl_fused_path_and_formula_path_agree():
    g = torch.Generator().manual_seed(3)
    p = random_simplex(5, 12, generator=g, zeros=0.3)
    q = random_simplex(5, 12, generator=g)
    fused = kl(p, q, reduction="none")  # p without grad: F.kl_div kernel
    formula = kl(p.clone().requires_grad_(), q, reduction="none")  # p with grad: the where-safe formula
    torch.testing.assert_close(fused, formula.detach(), rtol=1e-13, atol=1e-15)


def test_kl_batch_axes_and_inf_where_q_misses_mass():
    g = torch.Generator().manual_seed(4)
    p = random_simplex(2, 3, 5, generator=g)
    q = random_simplex(2, 3, 5, generator=g)
    assert kl(p, q, reduction="none").shape == (2, 3)
    p1 = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    q1 = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    assert kl(p1, q1).item() == math.inf
    assert math.isfinite(kl(q1, p1).item())  # asymmetric: the reverse direction is finite
    torch.testing.assert_close(kl(q1, p1), torch.tensor(math.log(2.0), dtype=torch.float64))


@given(distribution_pairs())
def test_kl_nonnegative_and_zero_iff_equal(pair):
    p, q = pair
    assert kl(p, q).item() >= -1e-15
    assert abs(kl(p, p).item()) < 1e-15


def test_kl_gradients_finite_at_zero_mass():
    p = torch.tensor([[0.0, 0.3, 0.7], [0.5, 0.5, 0.0]], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]], dtype=torch.float64, requires_grad=True)
    kl(p, q).backward()
    assert torch.isfinite(p.grad).all() and torch.isfinite(q.grad).all()
    assert p.grad[0, 0] == 0 and q.grad[0, 0] == 0 and q.grad[1, 2] == 0
    # d/dq_k of -p_k log q_k, averaged over the 2 rows
    torch.testing.assert_close(q.grad[1, :2], -p[1, :2].detach() / q[1, :2].detach() / 2)


def test_kl_reverse_direction_through_saturated_softmax_has_finite_gradient():
    # Fitting q = softmax(z) in KL(q || p) with logits +-1e4: q has exact zeros.
    z = torch.tensor([1e4, 0.0, -1e4, 3.0], dtype=torch.float64, requires_grad=True)
    p = torch.softmax(torch.tensor([0.0, 1.0, 2.0, 0.5], dtype=torch.float64), -1)
    kl(torch.softmax(z, -1), p).backward()
    assert torch.isfinite(z.grad).all()


def test_kl_gradcheck():
    g = torch.Generator().manual_seed(5)
    p = random_simplex(3, 4, generator=g).requires_grad_()
    q = random_simplex(3, 4, generator=g).requires_grad_()
    with objlib.value_checks(False):  # finite differences leave the simplex
        assert torch.autograd.gradcheck(lambda p, q: kl(p, q, reduction="none"), (p, q))
        assert torch.autograd.gradcheck(lambda q: kl(p.detach(), q), (q,))  # the fused path


def test_kl_keeps_dtype_and_accepts_lists():
    out = kl([0.5, 0.5], [0.9, 0.1])
    assert out.dtype == torch.get_default_dtype()
    assert kl(torch.tensor([0.5, 0.5], dtype=torch.float64), torch.tensor([0.9, 0.1], dtype=torch.float64)).dtype == (
        torch.float64
    )
    assert abs(out.item() - scipy.stats.entropy([0.5, 0.5], [0.9, 0.1])) < 1e-6


def test_kl_with_value_checks_off_still_computes():
    with objlib.value_checks(False):
        assert abs(kl([0.5, 0.5], [0.9, 0.1]).item() - scipy.stats.entropy([0.5, 0.5], [0.9, 0.1])) < 1e-6


def test_kl_from_logits_matches_kl_div_of_log_softmax():
    g = torch.Generator().manual_seed(30)
    p = random_simplex(12, 9, generator=g, zeros=0.3)
    z = 3 * torch.randn(12, 9, generator=g, dtype=torch.float64)
    ref = F.kl_div(F.log_softmax(z, -1), p, reduction="batchmean")
    torch.testing.assert_close(kl(p, z, q_form="logits"), ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(kl(p, F.log_softmax(z, -1), q_form="log_probs"), ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(kl(p, torch.softmax(z, -1)), ref, rtol=1e-12, atol=1e-14)
    rows = torch.tensor(scipy.stats.entropy(p.numpy(), torch.softmax(z, -1).numpy(), axis=-1))
    torch.testing.assert_close(kl(p, z, q_form="logits", reduction="none"), rows, rtol=1e-12, atol=1e-14)


def test_kl_from_logits_gradient_is_softmax_minus_p_and_survives_extreme_logits():
    g = torch.Generator().manual_seed(31)
    p = random_simplex(4, 6, generator=g, zeros=0.3)
    z = (1e4 * torch.randn(4, 6, generator=g, dtype=torch.float64)).requires_grad_()
    value = kl(p, z, q_form="logits", reduction="sum")
    (grad,) = torch.autograd.grad(value, z)
    torch.testing.assert_close(grad, torch.softmax(z.detach(), -1) - p, rtol=0, atol=1e-12)
    # where the softmax underflows to 0 the probabilities form says inf; the logits form is exact
    exact = (p * (torch.log(torch.where(p > 0, p, 1.0)) - F.log_softmax(z.detach(), -1))).sum()
    assert torch.isfinite(value) and abs(value.item() - exact.item()) <= 1e-9 * exact.item()
    assert kl(p, torch.softmax(z.detach(), -1), reduction="sum").item() == math.inf


def test_kl_from_logits_accepts_masked_classes():
    # a logit of -inf masks a class; the teacher gives it 0: 0 * log 0 = 0, no NaN anywhere
    z = torch.tensor([[0.5, -math.inf, 1.0], [2.0, 0.0, -math.inf]], dtype=torch.float64, requires_grad=True)
    p = torch.tensor([[0.3, 0.0, 0.7], [0.5, 0.5, 0.0]], dtype=torch.float64)
    value = kl(p, z, q_form="logits")
    finite_z = z.detach().clone()
    finite_z[torch.isinf(finite_z)] = -1e300  # the same softmax
    torch.testing.assert_close(value, kl(p, torch.softmax(finite_z, -1)), rtol=1e-12, atol=0)
    value.backward()
    assert torch.isfinite(z.grad).all() and z.grad[0, 1] == 0
    p_grad = p.clone().requires_grad_()
    kl(p_grad, z.detach(), q_form="logits").backward()
    assert torch.isfinite(p_grad.grad).all()
    # mass on a masked class: the divergence is infinite, as for probabilities
    assert kl(torch.tensor([0.5, 0.5]), torch.tensor([0.0, -math.inf]), q_form="logits").item() == math.inf


def test_kl_gradcheck_in_every_form_and_second_order():
    g = torch.Generator().manual_seed(32)
    p = random_simplex(3, 4, generator=g).requires_grad_()  # inside the simplex: finite differences
    q = random_simplex(3, 4, generator=g).requires_grad_()
    z = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    with objlib.value_checks(False):  # finite differences leave the simplex
        assert torch.autograd.gradcheck(lambda z: kl(p.detach(), z, q_form="logits", reduction="none"), (z,))
        assert torch.autograd.gradcheck(lambda p, z: kl(p, z, q_form="log_probs", reduction="none"), (p, z))
        assert torch.autograd.gradcheck(lambda p, q: kl(p, q, reduction="none"), (p, q))  # the exact form
        assert torch.autograd.gradgradcheck(lambda p, q: kl(p, q, reduction="none"), (p, q))
        assert torch.autograd.gradgradcheck(lambda z: kl(p.detach(), z, q_form="logits"), (z,))


@pytest.mark.parametrize(
    "q, q_form, match",
    [
        ([[0.1, 0.2]], "log_probs", "q must hold log-probabilities"),
        ([[0.1, math.nan]], "logits", "q must not contain NaN"),
        ([[0.1, 0.2]], "softmax", "q_form must be one of"),
    ],
)
def test_kl_log_forms_refuse_bad_input(q, q_form, match):
    with pytest.raises(ValueError, match=match):
        kl([[0.5, 0.5]], q, q_form=q_form)


def test_kl_with_value_checks_off_reads_no_data_and_keeps_nan():
    with objlib.value_checks(False):
        for q_form in Q_FORMS:
            out = kl(torch.rand(2, 3, device="meta"), torch.rand(2, 3, device="meta"), q_form=q_form)
            assert out.device.type == "meta"
        p = torch.tensor([[0.0, 0.5, 0.5]], dtype=torch.float64)
        for q, q_form in (
            ([[math.nan, 0.5, 0.5]], "probs"),
            ([[math.nan, 0.0, 0.0]], "logits"),
            ([[math.nan, -1.0, -1.0]], "log_probs"),
        ):
            assert torch.isnan(kl(p, torch.tensor(q, dtype=torch.float64), q_form=q_form))
        assert torch.isnan(kl(torch.tensor([[math.nan, 0.5, 0.5]]), torch.tensor([[0.2, 0.3, 0.5]])))


@pytest.mark.parametrize(
    "p, q, match",
    [
        ([1.5, -0.5], [0.5, 0.5], "p must be non-negative"),
        ([1.0, 0.0], [1.5, -0.5], "q must be non-negative"),
        ([0.5, 0.4], [0.5, 0.5], "p must sum to 1"),
        ([0.5, 0.5], [0.7, 0.5], "q must sum to 1"),
        ([0.5, 0.5], [0.2, 0.3, 0.5], "p and q must have the same shape"),
        (torch.empty(0, 3), torch.empty(0, 3), "p is empty"),
        (1.0, 1.0, "p must hold distributions"),
    ],
)
def test_kl_refuses_bad_input(p, q, match):
    with pytest.raises(ValueError, match=match):
        kl(p, q)


@pytest.mark.parametrize("fn", [kl, js])
def test_unknown_reduction_refused(fn):
    with pytest.raises(ValueError, match="reduction"):
        fn([0.5, 0.5], [0.5, 0.5], reduction="batchmean")


# ---------------------------------------------------------------------------------------
# distillation_loss
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [0.5, 1.0, 4.0])
def test_distillation_loss_matches_torch_and_scipy(temperature):
    g = torch.Generator().manual_seed(40)
    z, v = 3 * torch.randn(2, 7, 5, generator=g, dtype=torch.float64)
    t = temperature
    ref = t**2 * F.kl_div(F.log_softmax(z / t, -1), F.softmax(v / t, -1), reduction="batchmean")
    torch.testing.assert_close(distillation_loss(z, v, temperature=t), ref, rtol=1e-12, atol=1e-14)
    rows = t**2 * scipy.stats.entropy(
        scipy.special.softmax(v.numpy() / t, -1), scipy.special.softmax(z.numpy() / t, -1), axis=-1
    )
    torch.testing.assert_close(distillation_loss(z, v, temperature=t, reduction="none"), torch.tensor(rows))
    torch.testing.assert_close(distillation_loss(z, v, temperature=t, reduction="sum"), torch.tensor(rows.sum()))


def test_distillation_loss_reduces_over_every_leading_axis():
    g = torch.Generator().manual_seed(41)
    z, v = torch.randn(2, 3, 4, 6, generator=g, dtype=torch.float64)
    rows = distillation_loss(z, v, temperature=2.0, reduction="none")
    assert rows.shape == (3, 4)
    torch.testing.assert_close(distillation_loss(z, v, temperature=2.0), rows.mean())
    torch.testing.assert_close(rows[1], distillation_loss(z[1], v[1], temperature=2.0, reduction="none"))


def test_distillation_loss_is_zero_exactly_when_logits_agree_up_to_a_shift():
    g = torch.Generator().manual_seed(42)
    v = torch.randn(6, 4, generator=g, dtype=torch.float64)
    shifts = torch.randn(6, 1, generator=g, dtype=torch.float64)
    assert distillation_loss(v + shifts, v, temperature=3.0).abs() < 1e-14
    other = v + 0.1 * torch.randn(6, 4, generator=g, dtype=torch.float64)
    assert (distillation_loss(other, v, temperature=3.0, reduction="none") > 0).all()


def test_distillation_loss_gradient_is_temperature_times_softmax_gap():
    g = torch.Generator().manual_seed(43)
    z = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(5, 4, generator=g, dtype=torch.float64)
    for t in (1.0, 2.0, 8.0):
        (grad,) = torch.autograd.grad(distillation_loss(z, v, temperature=t, reduction="sum"), z)
        expected = t * (torch.softmax(z.detach() / t, -1) - torch.softmax(v / t, -1))
        torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-15)


def test_distillation_loss_tends_to_matching_centred_logits_at_high_temperature():
    # Hinton et al., section 2.1: for large T the loss is (1 / 2C) ||(z - mean z) - (v - mean v)||^2
    g = torch.Generator().manual_seed(44)
    z, v = torch.randn(2, 10, 6, generator=g, dtype=torch.float64)
    gap = (z - z.mean(-1, keepdim=True)) - (v - v.mean(-1, keepdim=True))
    limit = (gap**2).sum(-1) / (2 * 6)
    errors = [
        (distillation_loss(z, v, temperature=t, reduction="none") - limit).abs().max().item()
        for t in (10.0, 100.0, 1000.0)
    ]
    assert errors[0] < 0.1 * limit.max() and errors[2] < 1e-3 * limit.max()
    assert all(5 < big / small < 20 for big, small in zip(errors, errors[1:], strict=False))  # shrinks like 1/T
    # and its gradient to the gap over C: the same size for every T, thanks to the factor T^2
    leaf = z.clone().requires_grad_()
    (grad,) = torch.autograd.grad(distillation_loss(leaf, v, temperature=1000.0, reduction="sum"), leaf)
    torch.testing.assert_close(grad, gap / 6, rtol=0, atol=1e-3)


def test_distillation_loss_is_exact_for_extreme_logits_and_masked_classes():
    g = torch.Generator().manual_seed(45)
    z = (1e4 * torch.randn(3, 5, generator=g, dtype=torch.float64)).requires_grad_()
    v = 1e4 * torch.randn(3, 5, generator=g, dtype=torch.float64)
    value = distillation_loss(z, v, temperature=2.0)
    ref = 4 * F.kl_div(F.log_softmax(z.detach() / 2, -1), F.softmax(v / 2, -1), reduction="batchmean")
    assert torch.isfinite(value) and abs(value.item() - ref.item()) <= 1e-12 * ref.item()
    value.backward()
    assert torch.isfinite(z.grad).all()
    masked_v = torch.tensor([[1.0, -math.inf, 0.0]], dtype=torch.float64)
    masked_z = torch.tensor([[0.0, -math.inf, 1.0]], dtype=torch.float64, requires_grad=True)
    out = distillation_loss(masked_z, masked_v, temperature=2.0)
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(masked_z.grad).all()
    torch.testing.assert_close(
        out, distillation_loss(masked_z.detach()[:, [0, 2]], masked_v[:, [0, 2]], temperature=2.0)
    )
    # the student rules out a class the teacher allows: infinite, as KL is
    assert distillation_loss(masked_z.detach(), torch.zeros(1, 3), temperature=2.0).item() == math.inf


def test_distillation_loss_gradcheck_in_both_arguments():
    g = torch.Generator().manual_seed(46)
    z = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z, v: distillation_loss(z, v, temperature=1.7, reduction="none"), (z, v))
    assert torch.autograd.gradgradcheck(lambda z, v: distillation_loss(z, v, temperature=0.6), (z, v))


def test_distillation_loss_promotes_dtypes_and_accepts_lists():
    z32 = torch.tensor([[0.2, -1.0, 0.5]], dtype=torch.float32)
    v64 = torch.tensor([[1.0, 0.0, -1.0]], dtype=torch.float64)
    out = distillation_loss(z32, v64, temperature=2.0)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, distillation_loss(z32.double(), v64, temperature=2.0))
    assert distillation_loss([[0.2, -1.0, 0.5]], [[1.0, 0.0, -1.0]]).dtype == torch.get_default_dtype()


def test_distillation_loss_nan_policy():
    z = torch.tensor([[0.0, math.nan, 1.0]], dtype=torch.float64)
    v = torch.tensor([[1.0, 0.0, -1.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="student_logits must not contain NaN"):
        distillation_loss(z, v)
    with pytest.raises(ValueError, match="teacher_logits must not contain NaN"):
        distillation_loss(v, z)
    with objlib.value_checks(False):
        assert torch.isnan(distillation_loss(z, v))
        assert torch.isnan(distillation_loss(v, z))


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (([[0.0, 1.0]], [[0.0, 1.0, 2.0]]), {}, ValueError, "student_logits.*teacher_logits"),
        ((1.0, 1.0), {}, ValueError, "student_logits must hold"),
        ((torch.zeros(0, 3), torch.zeros(0, 3)), {}, ValueError, "student_logits"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"temperature": 0.0}, ValueError, "temperature"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"temperature": -2.0}, ValueError, "temperature"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"temperature": math.inf}, ValueError, "temperature"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"temperature": "2"}, TypeError, "temperature"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"reduction": "batchmean"}, ValueError, "reduction"),
        (([[0.0, math.inf]], [[0.0, 1.0]]), {}, ValueError, r"student_logits must not contain \+inf"),
        (([[0.0, 1.0]], [[-math.inf, -math.inf]]), {}, ValueError, "teacher_logits must have a finite logit"),
        (([[0.0, 1.0j]], [[0.0, 1.0]]), {}, TypeError, "student_logits"),
    ],
)
def test_distillation_loss_refuses_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        distillation_loss(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# js
# ---------------------------------------------------------------------------------------


def test_js_matches_scipy_jensenshannon_squared():
    g = torch.Generator().manual_seed(6)
    p = random_simplex(25, 7, generator=g, zeros=0.3)
    q = random_simplex(25, 7, generator=g, zeros=0.3)
    ref = torch.tensor(jensenshannon(p.numpy(), q.numpy(), axis=-1) ** 2)  # scipy returns the square root
    torch.testing.assert_close(js(p, q, reduction="none"), ref, rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(js(p, q), ref.mean(), rtol=1e-10, atol=1e-14)


@given(distribution_pairs())
def test_js_symmetric_and_bounded(pair):
    p, q = pair
    value = js(p, q).item()
    assert 0.0 <= value <= LN2 + 1e-12
    assert abs(value - js(q, p).item()) < 1e-14
    assert js(p, p).item() < 1e-15


def test_js_is_ln2_with_flat_gradient_on_disjoint_supports():
    p = torch.tensor([0.6, 0.4, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([0.0, 0.0, 0.3, 0.7], dtype=torch.float64)
    value = js(p, q)
    assert abs(value.item() - LN2) < 1e-15
    (grad,) = torch.autograd.grad(value, p)
    assert torch.isfinite(grad).all()
    # Along the simplex (moving mass between p's own atoms) the gradient vanishes.
    assert abs((grad[0] - grad[1]).item()) < 1e-15


def test_js_gradcheck():
    g = torch.Generator().manual_seed(7)
    p = random_simplex(2, 5, generator=g).requires_grad_()
    q = random_simplex(2, 5, generator=g).requires_grad_()
    with objlib.value_checks(False):  # finite differences leave the simplex
        assert torch.autograd.gradcheck(lambda p, q: js(p, q, reduction="none"), (p, q))


@pytest.mark.parametrize(
    "p, q, match",
    [
        ([1.5, -0.5], [0.5, 0.5], "p must be non-negative"),
        ([0.5, 0.5], [0.3, 0.3], "q must sum to 1"),
        ([0.5, 0.5], [[0.5, 0.5]], "same shape"),
        (torch.empty(3, 0), torch.empty(3, 0), "p is empty"),
    ],
)
def test_js_refuses_bad_input(p, q, match):
    with pytest.raises(ValueError, match=match):
        js(p, q)


# ---------------------------------------------------------------------------------------
# wasserstein_1d
# ---------------------------------------------------------------------------------------


def _samples(seed, n, m, ties=False):
    g = torch.Generator().manual_seed(seed)
    if ties:
        u = torch.randint(0, 5, (n,), generator=g).double()
        v = torch.randint(0, 5, (m,), generator=g).double()
    else:
        u = torch.randn(n, generator=g, dtype=torch.float64)
        v = 2 * torch.randn(m, generator=g, dtype=torch.float64) + 1
    uw = torch.rand(n, generator=g, dtype=torch.float64)
    vw = torch.rand(m, generator=g, dtype=torch.float64)
    return u, v, uw, vw


@pytest.mark.parametrize("n, m, ties", [(30, 30, False), (17, 40, False), (25, 12, True), (1, 6, False)])
def test_wasserstein_p1_matches_scipy(n, m, ties):
    u, v, uw, vw = _samples(n + m, n, m, ties)
    ref = scipy.stats.wasserstein_distance(u.numpy(), v.numpy())
    assert abs(wasserstein_1d(u, v).item() - ref) < 1e-12
    ref_w = scipy.stats.wasserstein_distance(u.numpy(), v.numpy(), uw.numpy(), vw.numpy())
    assert abs(wasserstein_1d(u, v, uw, vw).item() - ref_w) < 1e-12
    ref_half = scipy.stats.wasserstein_distance(u.numpy(), v.numpy(), uw.numpy())
    assert abs(wasserstein_1d(u, v, uw).item() - ref_half) < 1e-12


@pytest.mark.parametrize("p", [1, 1.5, 2, 3, 7.5])
@pytest.mark.parametrize("n, m, ties", [(30, 30, False), (17, 40, False), (25, 12, True)])
def test_wasserstein_any_p_matches_pot_root(p, n, m, ties):
    u, v, uw, vw = _samples(3 * n + m, n, m, ties)
    # POT returns W_p ** p and assumes weights that sum to 1.
    ref_w = ot.wasserstein_1d(u.numpy(), v.numpy(), (uw / uw.sum()).numpy(), (vw / vw.sum()).numpy(), p=p) ** (1 / p)
    assert abs(wasserstein_1d(u, v, uw, vw, p=p).item() - ref_w) < 1e-11
    ref = ot.wasserstein_1d(u.numpy(), v.numpy(), p=p) ** (1 / p)
    assert abs(wasserstein_1d(u, v, p=p).item() - ref) < 1e-11


def test_wasserstein_zero_weights_drop_their_samples():
    u, v, uw, vw = _samples(8, 10, 9)
    uw[[2, 5]] = 0.0
    u_far = u.clone()
    u_far[[2, 5]] = 1e3  # where a weightless sample sits does not matter
    for p in (1, 2):
        full = wasserstein_1d(u_far, v, uw, vw, p=p)
        keep = uw > 0
        torch.testing.assert_close(full, wasserstein_1d(u[keep], v, uw[keep], vw, p=p), rtol=1e-13, atol=1e-14)


def test_wasserstein_uniform_fast_path_matches_general_path():
    u, v, _, _ = _samples(9, 50, 50)
    ones = torch.ones(50, dtype=torch.float64)
    for p in (1, 2.5):
        torch.testing.assert_close(wasserstein_1d(u, v, p=p), wasserstein_1d(u, v, ones, ones, p=p), rtol=1e-13, atol=0)


def test_wasserstein_batched_equals_loop():
    g = torch.Generator().manual_seed(10)
    u = torch.randn(2, 3, 20, generator=g, dtype=torch.float64)
    v = torch.randn(2, 3, 13, generator=g, dtype=torch.float64)
    vw = torch.rand(2, 3, 13, generator=g, dtype=torch.float64)
    out = wasserstein_1d(u, v, None, vw, p=2, reduction="none")
    assert out.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            torch.testing.assert_close(out[i, j], wasserstein_1d(u[i, j], v[i, j], None, vw[i, j], p=2))
    torch.testing.assert_close(wasserstein_1d(u, v, None, vw, p=2), out.mean())
    torch.testing.assert_close(wasserstein_1d(u, v, None, vw, p=2, reduction="sum"), out.sum())


@given(
    st.lists(st.floats(-100, 100), min_size=1, max_size=12),
    st.lists(st.floats(-100, 100), min_size=1, max_size=12),
    st.floats(-50, 50),
)
def test_wasserstein_properties(xs, ys, shift):
    u = torch.tensor(xs, dtype=torch.float64)
    v = torch.tensor(ys, dtype=torch.float64)
    w1, w2, w3 = (wasserstein_1d(u, v, p=p).item() for p in (1, 2, 3))
    assert w1 >= 0 and abs(w1 - wasserstein_1d(v, u).item()) < 1e-9
    assert w1 <= w2 + 1e-9 <= w3 + 2e-9  # W_p grows with p (Jensen)
    assert abs(wasserstein_1d(u + shift, u, p=2).item() - abs(shift)) < 1e-9  # a translation costs its length
    assert wasserstein_1d(u, u, p=2).item() == 0.0


def test_wasserstein_gradient_is_informative_without_overlap():
    # Two samples far apart: d W1 / d shift = 1, whatever the distance.
    v = torch.tensor([0.0, 0.1, 0.2], dtype=torch.float64)
    for gap in (5.0, 50.0):
        shift = torch.tensor(gap, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(wasserstein_1d(v + shift, v), shift)
        assert abs(grad.item() - 1.0) < 1e-12


def test_wasserstein_weight_gradient_on_a_shared_grid():
    # A bump on a grid, shifted by whole grid steps: every cumulative weight of u ties with one of
    # v. W_1 is differentiable there and autograd must match finite differences; W_2 has small
    # kinks there, and autograd must give a slope between the one-sided ones.
    grid = torch.arange(-1.0, 3.0 + 1e-9, 0.01, dtype=torch.float64)

    def bump(center):
        b = torch.clamp(1 - ((grid - center) / 0.2) ** 2, min=0) ** 2
        return b / b.sum()

    base = bump(torch.tensor(0.0, dtype=torch.float64))
    h = 1e-7
    for shift, p in [(0.5, 1), (1.0, 1), (0.1, 1), (0.5, 2), (0.1, 2)]:

        def distance(t, p=p):
            return wasserstein_1d(grid, grid, base, bump(torch.tensor(t, dtype=torch.float64)), p=p).item()

        theta = torch.tensor(shift, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(wasserstein_1d(grid, grid, base, bump(theta), p=p), theta)
        left = (distance(shift) - distance(shift - h)) / h
        right = (distance(shift + h) - distance(shift)) / h
        if p == 1:
            assert abs(left - right) < 1e-6 and abs(grad.item() - left) < 1e-6
        else:
            assert min(left, right) - 1e-6 <= grad.item() <= max(left, right) + 1e-6


def test_wasserstein_gradient_finite_at_zero_distance():
    u = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64, requires_grad=True)
    for p in (1, 2):
        (grad,) = torch.autograd.grad(wasserstein_1d(u, u.detach().clone(), p=p), u)
        assert torch.equal(grad, torch.zeros(3, dtype=torch.float64))


def test_wasserstein_gradcheck():
    u, v, uw, vw = _samples(11, 6, 5)
    args = tuple(x.clone().requires_grad_() for x in (u, v, uw, vw))
    for p in (1, 2, 3.5):
        assert torch.autograd.gradcheck(lambda *a, p=p: wasserstein_1d(*a, p=p), args)
    u2 = u[:5].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: wasserstein_1d(a, b, p=2), (u2, v.clone().requires_grad_()))


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([0.0, 1.0], [1.0, 2.0]), {"p": 0.5}, "p must lie in"),
        (([0.0, 1.0], [1.0, 2.0]), {"p": math.inf}, "p must be finite"),
        (([0.0, 1.0], [1.0, 2.0], [1.0, -1.0]), {}, "u_weights must be non-negative"),
        (([0.0, 1.0], [1.0, 2.0], None, [0.0, 0.0]), {}, "v_weights must not be all zero"),
        (([0.0, 1.0], [1.0, 2.0], [1.0, 1.0, 1.0]), {}, "u_values and u_weights must have the same shape"),
        (([], [1.0, 2.0]), {}, "u_values is empty"),
        (([0.0], []), {}, "v_values is empty"),
        (([[0.0, 1.0]], [1.0, 2.0]), {}, "same leading"),
        ((0.0, [1.0, 2.0]), {}, "u_values must hold samples"),
        (([0.0, 1.0], [1.0, 2.0]), {"reduction": "avg"}, "reduction"),
    ],
)
def test_wasserstein_refuses_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        wasserstein_1d(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# sliced_wasserstein
# ---------------------------------------------------------------------------------------


def _clouds(seed, n=30, m=20, d=3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = 0.5 * torch.randn(m, d, generator=g, dtype=torch.float64) + 1.0
    directions = torch.randn(9, d, generator=g, dtype=torch.float64)
    xw = torch.rand(n, generator=g, dtype=torch.float64)
    yw = torch.rand(m, generator=g, dtype=torch.float64)
    return x, y, directions, xw, yw


@pytest.mark.parametrize("p", [1, 2, 3.5])
@pytest.mark.parametrize("n, m", [(30, 20), (25, 25)])
def test_sliced_wasserstein_matches_pot_with_the_same_directions(p, n, m):
    x, y, directions, xw, yw = _clouds(int(10 * p) + n, n, m)
    unit = directions / directions.norm(dim=1, keepdim=True)
    ref = ot.sliced_wasserstein_distance(x.numpy(), y.numpy(), p=p, projections=unit.T.numpy())
    assert abs(sliced_wasserstein(x, y, p=p, directions=directions).item() - ref) < 1e-12
    a, b = (xw / xw.sum()).numpy(), (yw / yw.sum()).numpy()
    ref_w = ot.sliced_wasserstein_distance(x.numpy(), y.numpy(), a, b, p=p, projections=unit.T.numpy())
    assert abs(sliced_wasserstein(x, y, xw, yw, p=p, directions=directions).item() - ref_w) < 1e-12


def test_sliced_wasserstein_is_the_mean_of_projected_1d_distances():
    # brute force: one wasserstein_1d per direction, each a sort of the projected samples
    x, y, directions, _, _ = _clouds(31, 12, 12)
    unit = directions / directions.norm(dim=1, keepdim=True)
    per_direction = [wasserstein_1d(x @ u, y @ u, p=2).item() ** 2 for u in unit]
    expected = math.sqrt(sum(per_direction) / len(per_direction))
    assert abs(sliced_wasserstein(x, y, directions=directions).item() - expected) < 1e-13


def test_sliced_wasserstein_random_directions_follow_the_generator():
    x, y, _, _, _ = _clouds(32)
    first = sliced_wasserstein(x, y, generator=torch.Generator().manual_seed(5))
    again = sliced_wasserstein(x, y, generator=torch.Generator().manual_seed(5))
    other = sliced_wasserstein(x, y, generator=torch.Generator().manual_seed(6))
    assert first.item() == again.item() and first.item() != other.item()
    # the same directions, drawn here the way the function draws them
    directions = torch.randn(50, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    assert sliced_wasserstein(x, y, directions=directions).item() == first.item()


def test_sliced_wasserstein_properties():
    x, y, directions, _, _ = _clouds(33)
    assert sliced_wasserstein(x, x, directions=directions).item() == 0.0
    forward = sliced_wasserstein(x, y, directions=directions)
    torch.testing.assert_close(forward, sliced_wasserstein(y, x, directions=directions), rtol=1e-13, atol=0)
    # a translation by t moves every projection by u.t: SW_2^2 = mean over directions of (u.t)^2
    shift = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    unit = directions / directions.norm(dim=1, keepdim=True)
    expected = ((unit @ shift) ** 2).mean().sqrt()
    torch.testing.assert_close(sliced_wasserstein(x + shift, x, directions=directions), expected, rtol=1e-12, atol=0)
    # never more than the full W_2 (each projection is 1-Lipschitz), here the exact OT cost
    n = x.shape[0]
    exact = math.sqrt(ot.emd2(np.full(n, 1 / n), np.full(n, 1 / n), (torch.cdist(x, x + shift) ** 2).numpy()))
    assert sliced_wasserstein(x + shift, x, directions=directions).item() <= exact + 1e-12


def test_sliced_wasserstein_gradcheck_and_training_signal():
    x, y, directions, xw, yw = _clouds(34, 6, 5, d=2)
    args = tuple(t.clone().requires_grad_() for t in (x, y, xw, yw))
    for p in (1, 2):
        assert torch.autograd.gradcheck(
            lambda *a, p=p: sliced_wasserstein(*a, p=p, directions=directions[:4, :2]), args
        )
    # gradient descent on the points of x pulls them onto y
    moving = x.clone().requires_grad_()
    start = sliced_wasserstein(moving, y, directions=directions[:, :2]).item()
    optimizer = torch.optim.SGD([moving], lr=0.5)
    for step in range(25):
        optimizer.zero_grad()
        sliced_wasserstein(moving, y, generator=torch.Generator().manual_seed(step), n_projections=20).backward()
        optimizer.step()
    assert sliced_wasserstein(moving, y, directions=directions[:, :2]).item() < 0.3 * start


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (([[0.0, 1.0]], [[0.0, 1.0, 2.0]]), {}, ValueError, "same dimension|one dimension d"),
        (([0.0, 1.0], [[0.0, 1.0]]), {}, ValueError, "x must be a point cloud"),
        ((torch.empty(0, 2), [[0.0, 1.0]]), {}, ValueError, "x is empty"),
        (([[0.0, math.nan]], [[0.0, 1.0]]), {}, ValueError, "x must be finite"),
        (([[0.0, 1.0]], [[0.0, 1.0]], [1.0, 2.0]), {}, ValueError, "x_weights must have shape"),
        (([[0.0, 1.0]], [[0.0, 1.0]], None, [-1.0]), {}, ValueError, "y_weights must be non-negative"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"p": 0.5}, ValueError, "p must lie in"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"n_projections": 0}, ValueError, "n_projections"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"n_projections": 2.0}, TypeError, "n_projections"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"directions": [[1.0, 0.0, 0.0]]}, ValueError, "directions must have"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"directions": [[0.0, 0.0]]}, ValueError, "directions must not"),
    ],
)
def test_sliced_wasserstein_refuses_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        sliced_wasserstein(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# sinkhorn
# ---------------------------------------------------------------------------------------


def _ot_problem(seed, n=30, m=25, uniform=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g, dtype=torch.float64)
    y = torch.rand(m, 2, generator=g, dtype=torch.float64)
    cost = torch.cdist(x, y) ** 2
    cost = cost / cost.max()  # costs in [0, 1]
    if uniform:
        a, b = torch.full((n,), 1 / n, dtype=torch.float64), torch.full((m,), 1 / m, dtype=torch.float64)
    else:
        a = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
        b = torch.rand(m, generator=g, dtype=torch.float64) + 0.1
        a, b = a / a.sum(), b / b.sum()
    return a, b, cost


def _pot(fn, a, b, cost, eps, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(a.numpy(), b.numpy(), cost.numpy(), reg=eps, numItermax=100_000, stopThr=1e-14, **kwargs)


@pytest.mark.parametrize("eps", [0.1, 0.05])
def test_sinkhorn_matches_pot_default(eps):
    a, b, cost = _ot_problem(12)
    plan, value = sinkhorn(a, b, cost, epsilon=eps, max_iter=20_000, tol=1e-13)
    np.testing.assert_allclose(plan.numpy(), _pot(ot.sinkhorn, a, b, cost, eps), rtol=1e-9, atol=1e-14)
    assert abs(value.item() - _pot(ot.sinkhorn2, a, b, cost, eps)) < 1e-12


def test_sinkhorn_matches_pot_log_domain_for_small_epsilon():
    a, b, cost = _ot_problem(13)
    plan, value = sinkhorn(a, b, cost, epsilon=1e-2, max_iter=50_000, tol=1e-12)
    ref = _pot(ot.sinkhorn, a, b, cost, 1e-2, method="sinkhorn_log")
    np.testing.assert_allclose(plan.numpy(), ref, rtol=0, atol=1e-12)
    assert abs(value.item() - _pot(ot.sinkhorn2, a, b, cost, 1e-2, method="sinkhorn_log")) < 1e-12
    # epsilon = 1e-3 converges slowly: compare the iterates after the same number of steps.
    plan, _ = sinkhorn(a, b, cost, epsilon=1e-3, max_iter=300, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ot.sinkhorn(a, b, cost, reg=1e-3, method="sinkhorn_log", numItermax=300, stopThr=0)
    torch.testing.assert_close(plan, ref, rtol=1e-9, atol=1e-14)


def test_sinkhorn_stays_finite_where_pot_default_underflows():
    g = torch.Generator().manual_seed(14)
    cost = 0.8 + 0.2 * torch.rand(20, 20, generator=g, dtype=torch.float64)  # e^{-C/eps} = 0 for eps = 1e-3
    a = b = torch.full((20,), 0.05, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        broken = ot.sinkhorn(a.numpy(), b.numpy(), cost.numpy(), reg=1e-3)
        ref = ot.sinkhorn(a, b, cost, reg=1e-3, method="sinkhorn_log", numItermax=500, stopThr=0)
    assert not (np.isfinite(broken).all() and abs(broken.sum() - 1) < 1e-3)  # NaN or all-zero plan
    plan, _ = sinkhorn(a, b, cost, epsilon=1e-3, max_iter=500, tol=0.0)
    torch.testing.assert_close(plan, ref, rtol=1e-9, atol=1e-14)
    for dtype in (torch.float64, torch.float32):
        plan, value = sinkhorn(a.to(dtype), b.to(dtype), cost.to(dtype), epsilon=1e-3, max_iter=50_000, tol=1e-5)
        assert torch.isfinite(plan).all() and torch.isfinite(value)
        assert (plan.sum(0) - b.to(dtype)).abs().sum() <= 1e-5
        assert (plan.sum(1) - a.to(dtype)).abs().sum() <= 1e-5


@pytest.mark.parametrize("iters", [1, 7, 40])
def test_sinkhorn_iterates_match_pot_at_equal_iteration_count(iters):
    a, b, cost = _ot_problem(15, uniform=True)
    plan, _ = sinkhorn(a, b, cost, epsilon=0.05, max_iter=iters, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ot.sinkhorn(a, b, cost, reg=0.05, method="sinkhorn_log", numItermax=iters, stopThr=0)
    torch.testing.assert_close(plan, ref, rtol=1e-10, atol=1e-15)


def test_sinkhorn_tolerance_is_the_l1_marginal_violation():
    a, b, cost = _ot_problem(16)
    for tol in (1e-3, 1e-6, 1e-10):
        plan, _ = sinkhorn(a, b, cost, epsilon=0.01, max_iter=100_000, tol=tol)
        assert (plan.sum(0) - b).abs().sum() <= tol
        assert (plan.sum(1) - a).abs().sum() <= 1e-14  # the row marginal is exact
    loose, _ = sinkhorn(a, b, cost, epsilon=0.01, max_iter=100_000, tol=1e-2)
    assert (loose.sum(0) - b).abs().sum() > 1e-6  # it did stop early


def test_sinkhorn_zero_mass_points_and_shifted_costs():
    a, b, cost = _ot_problem(17, n=8, m=6)
    a = a.clone()
    a[[1, 4]] = 0.0
    a = a / a.sum()
    plan, value = sinkhorn(a, b, cost, epsilon=0.02, max_iter=10_000, tol=1e-13)
    assert (plan[[1, 4]] == 0).all()
    ref = _pot(ot.sinkhorn, a, b, cost, 0.02, method="sinkhorn_log")
    np.testing.assert_allclose(plan.numpy(), ref, rtol=0, atol=1e-12)
    # Adding a constant to the cost leaves the plan unchanged and shifts the cost by it.
    shifted, value_shifted = sinkhorn(a, b, cost - 3.0, epsilon=0.02, max_iter=10_000, tol=1e-13)
    torch.testing.assert_close(shifted, plan, rtol=0, atol=1e-12)
    assert abs(value_shifted.item() - (value.item() - 3.0)) < 1e-10


def test_sinkhorn_cost_approaches_exact_transport_cost():
    a, b, cost = _ot_problem(18, n=12, m=12, uniform=True)
    exact = ot.emd2(a.numpy(), b.numpy(), cost.numpy())
    epsilons = (0.1, 0.03, 0.01)
    gaps = [sinkhorn(a, b, cost, epsilon=eps, max_iter=100_000, tol=1e-9)[1].item() - exact for eps in epsilons]
    assert all(gap >= -1e-9 for gap in gaps)  # the entropic plan is a coupling: never below the optimum
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.005


def test_sinkhorn_gradcheck():
    a, b, cost = _ot_problem(19, n=3, m=4)
    args = (a.clone().requires_grad_(), b.clone().requires_grad_(), cost.clone().requires_grad_())

    def fn(a, b, cost):
        plan, value = sinkhorn(a, b, cost, epsilon=0.3, max_iter=30, tol=0.0)
        return plan, value

    with objlib.value_checks(False):  # finite differences leave the simplex
        assert torch.autograd.gradcheck(fn, args)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]]), {"epsilon": 0.0}, "epsilon"),
        (([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]]), {"epsilon": -1.0}, "epsilon"),
        (([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0, 2.0], [1.0, 0.0, 2.0]]), {"epsilon": 0.1}, "cost must have shape"),
        (([0.5, 0.6], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]]), {"epsilon": 0.1}, "a must sum to 1"),
        (([0.5, 0.5], [1.5, -0.5], [[0.0, 1.0], [1.0, 0.0]]), {"epsilon": 0.1}, "b must be non-negative"),
        (([[0.5, 0.5]], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]]), {"epsilon": 0.1}, "a must be a 1-D"),
        (([], [1.0], torch.empty(0, 1)), {"epsilon": 0.1}, "a is empty"),
        (([0.5, 0.5], [0.5, 0.5], [[0.0, math.nan], [1.0, 0.0]]), {"epsilon": 0.1}, "cost must be finite"),
        (([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]]), {"epsilon": 0.1, "max_iter": 0}, "max_iter"),
        (([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]]), {"epsilon": 0.1, "tol": -1.0}, "tol"),
    ],
)
def test_sinkhorn_refuses_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sinkhorn(*args, **kwargs)


def test_sinkhorn_max_iter_must_be_int():
    with pytest.raises(TypeError, match="max_iter"):
        sinkhorn([1.0], [1.0], [[0.0]], epsilon=0.1, max_iter=10.0)


def _small_problems(count, seed=0, n=10):
    g = torch.Generator().manual_seed(seed)
    for _ in range(count):
        cost = torch.rand(n, n, generator=g, dtype=torch.float64)
        a = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
        b = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
        yield a / a.sum(), b / b.sum(), cost


def test_sinkhorn_warns_when_it_stops_before_tol_and_says_what_it_reached():
    a, b, cost = next(_small_problems(1))
    with pytest.warns(ConvergenceWarning, match=r"max_iter=50 before reaching tol=1\.0e-09.*violation is \d"):
        plan, value = sinkhorn(a, b, cost, epsilon=1e-3, max_iter=50)
    assert (plan.sum(0) - b).abs().sum() > 1e-6  # it really had not converged
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sinkhorn(a, b, cost, epsilon=1e-3, max_iter=50, tol=0.0)  # a fixed number of iterations: no warning
        sinkhorn(a, b, cost, epsilon=0.1, max_iter=10_000)  # converged: no warning


def test_sinkhorn_default_tol_is_what_the_dtype_can_reach():
    a, b, cost = _ot_problem(40, n=50, m=40)
    a, b, cost = a.float(), b.float(), cost.float()
    with pytest.warns(ConvergenceWarning):  # float32 rounding keeps the violation above 1e-9
        sinkhorn(a, b, cost, epsilon=0.01, max_iter=3000, tol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan, _ = sinkhorn(a, b, cost, epsilon=0.01, max_iter=3000)  # the float32 default, 1e-5
    assert (plan.sum(0) - b).abs().sum() <= 1e-5
    a64, b64 = a.double() / a.double().sum(), b.double() / b.double().sum()
    plan64, _ = sinkhorn(
        a64, b64, cost.double(), epsilon=0.01, max_iter=20_000, epsilon_scaling=True, over_relaxation=1.8
    )
    assert (plan64.sum(0) - b64).abs().sum() <= 1e-9  # the float64 default


def test_sinkhorn_unconverged_plan_can_cost_less_than_the_optimum():
    # the silent failure the warning exists for: a plan off its marginals undercuts the exact cost
    found = False
    for a, b, cost in _small_problems(20, seed=1):
        exact = ot.emd2(a.numpy(), b.numpy(), cost.numpy())
        with pytest.warns(ConvergenceWarning):
            _, value = sinkhorn(a, b, cost, epsilon=1e-3, max_iter=100)
        found |= value.item() < exact - 1e-6
    assert found


@pytest.mark.parametrize("cached", [True, False])
@pytest.mark.parametrize("scaling, omega", [(False, 1.0), (True, 1.0), (True, 1.8)])
def test_sinkhorn_acceleration_keeps_the_solution(cached, scaling, omega):
    from objlib.divergences import _solve

    a, b, cost = _ot_problem(41, n=20, m=15)
    solved = _solve(a, b, cost, 0.01, 50_000, 1e-12, scaling, omega, cached=cached)
    assert solved.violation <= 1e-12
    ref = _pot(ot.sinkhorn, a, b, cost, 0.01, method="sinkhorn_log")
    np.testing.assert_allclose(solved.log_plan.exp().numpy(), ref, rtol=0, atol=1e-11)
    plan, _ = sinkhorn(
        a, b, cost, epsilon=0.01, max_iter=50_000, tol=1e-12, epsilon_scaling=scaling, over_relaxation=omega
    )
    np.testing.assert_allclose(plan.numpy(), ref, rtol=0, atol=1e-11)


def test_sinkhorn_scaling_and_over_relaxation_need_fewer_iterations():
    from objlib.divergences import _solve

    counts = {"plain": [], "scaled": [], "scaled + over-relaxed": []}
    for a, b, cost in _small_problems(9, seed=2):
        for name, scaling, omega in (
            ("plain", False, 1.0),
            ("scaled", True, 1.0),
            ("scaled + over-relaxed", True, 1.8),
        ):
            counts[name].append(_solve(a, b, cost, 1e-3, 5000, 1e-9, scaling, omega).iterations)
    median = {name: float(np.median(c)) for name, c in counts.items()}
    assert median["scaled"] < median["plain"]
    assert median["scaled + over-relaxed"] < 0.5 * median["scaled"]


def test_sinkhorn_loop_for_gpus_reads_the_host_only_at_its_checks(monkeypatch):
    from objlib.divergences import _iterate_logsumexp

    a, b, cost = _ot_problem(42, n=12, m=9)
    args = (
        -cost / 0.05,
        a.log(),
        b.log(),
        a,
        b,
        torch.zeros(12, dtype=torch.float64),
        torch.zeros(9, dtype=torch.float64),
    )
    reads = []
    for method in ("__float__", "__bool__", "item"):
        original = getattr(torch.Tensor, method)
        monkeypatch.setattr(torch.Tensor, method, lambda self, *x, _o=original: reads.append(1) or _o(self, *x))
    _iterate_logsumexp(*args, 100, 1e-30, 1.0)
    assert 0 < len(reads) <= 100 // 10
    # with tol = 0 nothing is read at all: the loop runs on the meta device, where nothing can be
    meta = tuple(x.to("meta") for x in args)
    u, v, iterations, converged = _iterate_logsumexp(*meta, 30, 0.0, 1.0)
    assert u.device.type == "meta" and iterations == 30 and not converged


def test_sinkhorn_with_a_nan_marginal():
    a = torch.tensor([0.5, math.nan, 0.5], dtype=torch.float64)
    b = torch.full((2,), 0.5, dtype=torch.float64)
    cost = torch.rand(3, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="a must"):
        sinkhorn(a, b, cost, epsilon=0.1)
    with objlib.value_checks(False), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan, value = sinkhorn(a, b, cost, epsilon=0.1)
    assert torch.isnan(plan).any() and torch.isnan(value)  # never a plausible plan


def test_sinkhorn_over_relaxation_is_checked():
    with pytest.raises(ValueError, match="over_relaxation"):
        sinkhorn([1.0], [1.0], [[0.0]], epsilon=0.1, over_relaxation=2.0)


# ---------------------------------------------------------------------------------------
# sinkhorn_divergence
# ---------------------------------------------------------------------------------------


def _entropic_ot_by_pot(x, y, a, b, eps, with_entropy):
    """OT_eps from POT's log-domain plan: <P, C> (+ eps KL(P || a b^T))."""
    cost = ot.dist(x.numpy(), y.numpy())  # squared Euclidean
    plan = _pot(ot.sinkhorn, a, b, torch.from_numpy(cost), eps, method="sinkhorn_log")
    value = (plan * cost).sum()
    if with_entropy:
        ref = np.outer(a.numpy(), b.numpy())
        value += eps * scipy.special.xlogy(plan, plan / ref).sum()
    return value


@pytest.mark.parametrize("with_entropy", [True, False])
def test_sinkhorn_divergence_matches_its_three_transport_problems(with_entropy):
    x, y, _, xw, yw = _clouds(43, 7, 5, d=2)
    a, b = xw / xw.sum(), yw / yw.sum()
    expected = _entropic_ot_by_pot(x, y, a, b, 0.5, with_entropy) - 0.5 * (
        _entropic_ot_by_pot(x, x, a, a, 0.5, with_entropy) + _entropic_ot_by_pot(y, y, b, b, 0.5, with_entropy)
    )
    value = sinkhorn_divergence(x, y, a, b, epsilon=0.5, with_entropy=with_entropy, max_iter=20_000, tol=1e-13)
    assert abs(value.item() - expected) < 1e-10


def test_sinkhorn_divergence_without_entropy_is_pots():
    x, y, _, _, _ = _clouds(44, 12, 10, d=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ot.bregman.empirical_sinkhorn_divergence(x.numpy(), y.numpy(), 0.5, stopThr=1e-14, numIterMax=100_000)
    ours = sinkhorn_divergence(x, y, epsilon=0.5, with_entropy=False, max_iter=20_000, tol=1e-13)
    assert ref > 0 and abs(ours.item() - ref) < 1e-10  # POT clamps at 0; the case is positive


def test_sinkhorn_divergence_is_zero_at_equality_and_positive_elsewhere():
    x, _, _, xw, _ = _clouds(45, 8, 8, d=2)
    a = xw / xw.sum()
    assert abs(sinkhorn_divergence(x, x, a, a, epsilon=0.05).item()) < 1e-12
    g = torch.Generator().manual_seed(46)
    for trial in range(12):
        n, m = 3 + trial % 5, 2 + trial % 7
        x = torch.randn(n, 2, generator=g, dtype=torch.float64)
        y = torch.randn(m, 2, generator=g, dtype=torch.float64) * (0.5 + trial / 10)
        eps = [0.01, 0.1, 1.0, 10.0][trial % 4]
        assert sinkhorn_divergence(x, y, epsilon=eps, max_iter=20_000).item() > 0
        assert sinkhorn_divergence(x, y, epsilon=eps, p=1, max_iter=20_000).item() > 0


def test_sinkhorn_divergence_removes_the_entropic_bias():
    # OT_eps(x, x) > 0 for the biased cost, while S_eps(x, x) = 0; and the debiased divergence is
    # smallest at the target, the biased one at a shrunken copy of it
    x, _, _, _, _ = _clouds(47, 30, 30, d=2)
    shrink = [0.6, 0.8, 1.0, 1.2]
    debiased = [sinkhorn_divergence(s * x, x, epsilon=0.5).item() for s in shrink]
    biased = []
    for s in shrink:
        cost = torch.cdist(s * x, x) ** 2
        uniform = torch.full((30,), 1 / 30, dtype=torch.float64)
        plan, _ = sinkhorn(uniform, uniform, cost, epsilon=0.5, epsilon_scaling=True)
        biased.append(_entropic_ot_by_pot(s * x, x, uniform, uniform, 0.5, True))
    assert int(np.argmin(debiased)) == 2 and int(np.argmin(biased)) < 2


def test_sinkhorn_divergence_gradcheck():
    x, y, _, xw, yw = _clouds(48, 4, 3, d=2)
    args = (x.clone().requires_grad_(), y.clone().requires_grad_())
    assert torch.autograd.gradcheck(
        lambda x, y: sinkhorn_divergence(x, y, epsilon=0.5, max_iter=40, tol=0.0, epsilon_scaling=False), args
    )


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([[0.0, 1.0]], [[0.0, 1.0, 2.0]]), {"epsilon": 0.1}, "one dimension d"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"epsilon": 0.0}, "epsilon"),
        (([[0.0, 1.0]], [[0.0, 1.0]], [0.5]), {"epsilon": 0.1}, "x_weights must sum to 1"),
        (([[0.0, 1.0]], [[0.0, math.inf]]), {"epsilon": 0.1}, "y must be finite"),
        (([[0.0, 1.0]], [[0.0, 1.0]]), {"epsilon": 0.1, "p": 0.5}, "p must lie in"),
    ],
)
def test_sinkhorn_divergence_refuses_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sinkhorn_divergence(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# gaussian_kl
# ---------------------------------------------------------------------------------------


def _gaussians(seed, shape):
    g = torch.Generator().manual_seed(seed)
    mu_p, mu_q = (torch.randn(*shape, generator=g, dtype=torch.float64) for _ in range(2))
    var_p, var_q = (torch.rand(*shape, generator=g, dtype=torch.float64) * 2 + 0.1 for _ in range(2))
    return mu_p, var_p, mu_q, var_q


def test_gaussian_kl_matches_torch_distributions():
    mu_p, var_p, mu_q, var_q = _gaussians(20, (6, 4))
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu_p, var_p.sqrt()), torch.distributions.Normal(mu_q, var_q.sqrt())
    ).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu_p, var_p, mu_q, var_q, reduction="none"), ref, rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(gaussian_kl(mu_p, var_p, mu_q, var_q), ref.mean(), rtol=1e-13, atol=1e-14)
    # The VAE regulariser against N(0, I): 0.5 * sum(mu^2 + var - 1 - log var)
    vae = 0.5 * (mu_p**2 + var_p - 1 - var_p.log()).sum(-1)
    zeros, ones = torch.zeros_like(mu_p), torch.ones_like(var_p)
    torch.testing.assert_close(gaussian_kl(mu_p, var_p, zeros, ones, reduction="none"), vae, rtol=1e-13, atol=1e-14)


def test_gaussian_kl_matches_monte_carlo():
    mu_p, var_p, mu_q, var_q = _gaussians(21, (3,))
    g = torch.Generator().manual_seed(22)
    n = 400_000
    x = mu_p + var_p.sqrt() * torch.randn(n, 3, generator=g, dtype=torch.float64)
    p = torch.distributions.Normal(mu_p, var_p.sqrt())
    q = torch.distributions.Normal(mu_q, var_q.sqrt())
    log_ratio = (p.log_prob(x) - q.log_prob(x)).sum(-1)
    estimate, stderr = log_ratio.mean().item(), (log_ratio.std() / math.sqrt(n)).item()
    # The estimate is a mean of n i.i.d. terms: within 5 standard errors but for a 6e-7 chance.
    assert abs(gaussian_kl(mu_p, var_p, mu_q, var_q).item() - estimate) < 5 * stderr


@given(st.floats(-5, 5), st.floats(0.05, 5), st.floats(-5, 5), st.floats(0.05, 5))
def test_gaussian_kl_nonnegative_zero_at_equality(mu_p, var_p, mu_q, var_q):
    args = [torch.tensor([x], dtype=torch.float64) for x in (mu_p, var_p, mu_q, var_q)]
    assert gaussian_kl(*args).item() >= -1e-15
    assert abs(gaussian_kl(args[0], args[1], args[0], args[1]).item()) < 1e-15


def test_gaussian_kl_gradcheck():
    args = tuple(x.requires_grad_() for x in _gaussians(23, (2, 3)))
    assert torch.autograd.gradcheck(lambda *a: gaussian_kl(*a, reduction="none"), args)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([0.0], [0.0], [0.0], [1.0]), {}, "var_p must be positive"),
        (([0.0], [1.0], [0.0], [-1.0]), {}, "var_q must be positive"),
        (([0.0], [1.0], [0.0, 1.0], [1.0, 1.0]), {}, "mu_q"),
        (([], [], [], []), {}, "mu_p is empty"),
        ((0.0, 1.0, 0.0, 1.0), {}, "mu_p must hold"),
        (([0.0], [1.0], [0.0], [1.0]), {"reduction": "x"}, "reduction"),
    ],
)
def test_gaussian_kl_refuses_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gaussian_kl(*args, **kwargs)
