"""objlib.regression against torch, scikit-learn and closed forms."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import mean_pinball_loss

import objlib
from objlib import regression as R

REDUCTIONS = ["mean", "sum", "none"]
LOSSES = [R.mse, R.mae, R.huber, R.quantile, R.log_cosh]


def _pair(n=257, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = scale * torch.randn(n, dtype=torch.float64, generator=g)
    target = scale * torch.randn(n, dtype=torch.float64, generator=g)
    return pred, target


def _reduce(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


# ------------------------------------------------------------------ agreement with references


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_mae_agree_with_torch_and_formula(reduction):
    pred, target = _pair()
    r = target - pred
    torch.testing.assert_close(R.mse(pred, target, reduction=reduction), F.mse_loss(pred, target, reduction=reduction))
    torch.testing.assert_close(R.mse(pred, target, reduction=reduction), _reduce(r**2, reduction))
    torch.testing.assert_close(R.mae(pred, target, reduction=reduction), F.l1_loss(pred, target, reduction=reduction))
    torch.testing.assert_close(R.mae(pred, target, reduction=reduction), _reduce(r.abs(), reduction))


@pytest.mark.parametrize("delta", [0.1, 1.0, 2.5, 100.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_huber_agrees_with_torch_and_formula(delta, reduction):
    pred, target = _pair()
    ours = R.huber(pred, target, delta=delta, reduction=reduction)
    torch.testing.assert_close(ours, F.huber_loss(pred, target, delta=delta, reduction=reduction))
    a = (target - pred).abs()
    formula = torch.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta))
    torch.testing.assert_close(ours, _reduce(formula, reduction))


@pytest.mark.parametrize("tau", [0.01, 0.1, 0.5, 0.77, 0.99])
def test_quantile_agrees_with_sklearn(tau):
    pred, target = _pair()
    ours = R.quantile(pred, target, tau=tau)
    ref = mean_pinball_loss(target.numpy(), pred.numpy(), alpha=tau)
    assert ours.dtype == torch.float64
    assert float(ours) == pytest.approx(ref, rel=1e-12)
    # the max form of the same loss, elementwise
    r = target - pred
    torch.testing.assert_close(
        R.quantile(pred, target, tau=tau, reduction="none"), torch.maximum(tau * r, (tau - 1) * r)
    )


def test_log_cosh_agrees_with_closed_form():
    pred, target = _pair(scale=20.0)
    r = (pred - target).numpy()
    np.testing.assert_allclose(
        R.log_cosh(pred, target, reduction="none").numpy(), np.log(np.cosh(r)), rtol=1e-12, atol=1e-15
    )
    # beyond cosh's range: the closed form |r| + log1p(exp(-2|r|)) - log 2
    big = torch.tensor([800.0, -1e4, 1e6], dtype=torch.float64)
    expected = big.abs() + torch.log1p(torch.exp(-2 * big.abs())) - math.log(2)
    torch.testing.assert_close(R.log_cosh(big, torch.zeros_like(big), reduction="none"), expected, rtol=1e-15, atol=0)
    # whereas the naive formula overflows in float32 already at |r| = 800
    assert torch.isinf(torch.cosh(torch.tensor(800.0)).log())
    assert float(R.log_cosh(torch.tensor([800.0]), torch.zeros(1))) == pytest.approx(800 - math.log(2))


def test_log_cosh_derivatives_are_tanh_and_sech2_everywhere():
    r = torch.tensor([-30.0, -3.0, -0.5, 0.0, 1e-9, 0.5, 3.0, 30.0], dtype=torch.float64, requires_grad=True)
    loss = R.log_cosh(r, torch.zeros_like(r), reduction="sum")
    (g,) = torch.autograd.grad(loss, r, create_graph=True)
    torch.testing.assert_close(g, torch.tanh(r))
    (h,) = torch.autograd.grad(g.sum(), r)
    torch.testing.assert_close(h, 1 / torch.cosh(r) ** 2, rtol=1e-10, atol=1e-12)
    assert float(h[3]) == 1.0  # curvature 1 at the origin: no kink, unlike mae


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize(
    "fn",
    [
        R.mse,
        R.mae,
        lambda p, t, **kw: R.huber(p, t, delta=0.7, **kw),
        lambda p, t, **kw: R.quantile(p, t, tau=0.3, **kw),
        R.log_cosh,
    ],
    ids=["mse", "mae", "huber", "quantile", "log_cosh"],
)
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_gradcheck(fn, reduction):
    pred, target = _pair(n=12)
    # keep residuals away from the kinks at 0 and +-delta, where only subgradients exist
    r = target - pred
    target = target + torch.where(r.abs() < 0.1, 0.5 * torch.sign(r) + (r == 0), torch.zeros_like(r))
    pred = pred.clone().requires_grad_()
    target = target.clone().requires_grad_()
    assert ((target - pred).abs() - 0.7).abs().min() > 1e-3
    assert torch.autograd.gradcheck(lambda p, t: fn(p, t, reduction=reduction), (pred, target))


@pytest.mark.parametrize("fn", LOSSES, ids=lambda f: f.__name__)
def test_finite_at_extreme_inputs(fn):
    pred = torch.tensor([1e4, -1e4, 0.0, 3e4], requires_grad=True)  # float32
    target = torch.tensor([-1e4, 1e4, 0.0, -3e4])
    loss = fn(pred, target)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()


# ------------------------------------------------------------------ properties

finite = st.floats(-1e3, 1e3, allow_nan=False, width=64)
vectors = st.integers(1, 20).flatmap(
    lambda n: st.tuples(st.lists(finite, min_size=n, max_size=n), st.lists(finite, min_size=n, max_size=n))
)


@given(vectors, st.floats(0.05, 5.0), st.floats(0.01, 0.99))
def test_properties(pair, delta, tau):
    pred = torch.tensor(pair[0], dtype=torch.float64)
    target = torch.tensor(pair[1], dtype=torch.float64)
    r = target - pred
    kw = dict(reduction="none")
    losses = {
        "mse": R.mse(pred, target, **kw),
        "mae": R.mae(pred, target, **kw),
        "huber": R.huber(pred, target, delta=delta, **kw),
        "quantile": R.quantile(pred, target, tau=tau, **kw),
        "log_cosh": R.log_cosh(pred, target, **kw),
    }
    for name, loss in losses.items():
        assert (loss >= 0).all(), name
        assert torch.isfinite(loss).all(), name
    # zero at a perfect prediction
    for fn in LOSSES:
        assert float(fn(target, target, reduction="sum")) == 0.0
    # symmetric in the residual (all but the quantile loss)
    for fn in (R.mse, R.mae, R.huber, R.log_cosh):
        torch.testing.assert_close(fn(pred, target, **kw), fn(target, pred, **kw))
    # the quantile loss mirrors: rho_tau(r) = rho_{1-tau}(-r); tau = 1/2 is half the absolute error
    torch.testing.assert_close(losses["quantile"], R.quantile(target, pred, tau=1 - tau, **kw))
    torch.testing.assert_close(R.quantile(pred, target, tau=0.5, **kw), 0.5 * losses["mae"])
    # Huber sits below both the half-square and the scaled absolute error
    slack = 1e-9 * (1 + r.abs() ** 2)
    assert (losses["huber"] <= 0.5 * losses["mse"] + slack).all()
    assert (losses["huber"] <= delta * losses["mae"] + slack).all()
    # log-cosh lies between |r| - log 2 and min(r^2 / 2, |r|)
    assert (losses["log_cosh"] <= torch.minimum(0.5 * losses["mse"], losses["mae"]) + slack).all()
    assert (losses["log_cosh"] >= losses["mae"] - math.log(2) - slack).all()


@pytest.mark.parametrize("tau", [0.1, 0.5, 0.9])
def test_constant_minimisers_are_mean_median_quantile(tau):
    y = torch.randn(401, dtype=torch.float64) ** 3
    grid = torch.linspace(float(y.min()), float(y.max()), 4001, dtype=torch.float64)

    def argmin(fn, **kw):
        consts = grid[:, None].expand(-1, len(y))
        values = fn(consts, y.expand_as(consts), reduction="none", **kw).mean(dim=1)
        return float(grid[values.argmin()])

    step = float(grid[1] - grid[0])
    assert argmin(R.mse) == pytest.approx(float(y.mean()), abs=step)
    assert argmin(R.mae) == pytest.approx(float(y.median()), abs=step)
    assert argmin(R.quantile, tau=tau) == pytest.approx(
        float(np.quantile(y.numpy(), tau, method="inverted_cdf")), abs=step
    )


# ------------------------------------------------------------------ types and inputs


def test_dtypes_numpy_and_lists():
    p64 = np.array([0.0, 1.0, 2.0])
    assert R.mse(p64, [0.0, 0.0, 0.0]).dtype == torch.float64
    assert R.mse(torch.zeros(3), torch.zeros(3)).dtype == torch.float32
    assert float(R.mae([1, 2, 3], [1, 2, 5])) == pytest.approx(2 / 3)  # integers are converted
    for fn in LOSSES:
        out = fn(torch.zeros(2, 3, dtype=torch.float64), np.ones((2, 3)), reduction="none")
        assert out.shape == (2, 3) and out.dtype == torch.float64


@pytest.mark.parametrize("fn", LOSSES, ids=lambda f: f.__name__)
def test_bad_inputs(fn):
    with pytest.raises(ValueError, match="pred"):
        fn(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="pred"):
        fn(torch.zeros(3, 1), torch.zeros(3))  # would broadcast to (3, 3) in torch
    with pytest.raises(ValueError, match="reduction"):
        fn(torch.zeros(3), torch.zeros(3), reduction="avg")
    with pytest.raises(ValueError, match="pred"):
        fn(torch.zeros(0), torch.zeros(0))
    with pytest.raises(TypeError, match="pred"):
        fn("abc", torch.zeros(3))


@pytest.mark.parametrize("tau", [0.0, 1.0, -0.5, 1.5, float("nan")])
def test_quantile_refuses_tau_outside_open_interval(tau):
    with pytest.raises(ValueError, match="tau"):
        R.quantile(torch.zeros(3), torch.zeros(3), tau=tau)


@pytest.mark.parametrize("delta", [0.0, -1.0])
def test_huber_refuses_non_positive_delta(delta):
    with pytest.raises(ValueError, match="delta"):
        R.huber(torch.zeros(3), torch.zeros(3), delta=delta)
    with pytest.raises(TypeError, match="delta"):
        R.huber(torch.zeros(3), torch.zeros(3), delta="1")


def test_public_names():
    assert set(R.__all__) == {"mse", "mae", "huber", "quantile", "log_cosh"}
    assert objlib.regression is R
