"""Tests for objlib.divergences against scipy, POT, torch and closed forms (float64)."""

import math
import warnings

import numpy as np
import ot
import pytest
import scipy.stats
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

import objlib
from objlib.divergences import gaussian_kl, js, kl, sinkhorn, wasserstein_1d

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
