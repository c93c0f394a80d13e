"""objlib.erm against closed forms, numerical integration, linear programs and brute force."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.optimize import linprog

from objlib import erm
from objlib.classification import hinge, zero_one

F64 = torch.float64


# ---------------------------------------------------------------------------------------
# empirical risk
# ---------------------------------------------------------------------------------------


def test_empirical_risk_with_objlib_loss_and_plain_callable():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(50, generator=g, dtype=F64, requires_grad=True)
    labels = torch.where(torch.rand(50, generator=g) < 0.5, 1, -1)
    r = erm.empirical_risk(hinge, scores, labels)
    expected = torch.clamp(1 - labels * scores, min=0).mean()
    assert float(r.detach()) == pytest.approx(float(expected.detach()), abs=1e-15)
    r.backward()  # keeps autograd history
    assert scores.grad is not None
    r01 = erm.empirical_risk(zero_one, scores.detach(), labels)
    assert float(r01) == pytest.approx(float(((labels * scores.detach()) <= 0).double().mean()), abs=1e-15)
    sq = erm.empirical_risk(lambda p, y: (p - y) ** 2, scores.detach(), labels.to(F64))
    assert float(sq) == pytest.approx(float(((scores.detach() - labels) ** 2).mean()), abs=1e-14)


def test_empirical_risk_refuses():
    with pytest.raises(TypeError, match="loss_fn"):
        erm.empirical_risk(3.0, [1.0], [1.0])
    with pytest.raises(ValueError, match="loss_fn"):
        erm.empirical_risk(lambda p, y: (torch.as_tensor(p) - torch.as_tensor(y)).mean(), [1.0], [1.0])
    with pytest.raises(ValueError, match="loss_fn"):
        erm.empirical_risk(lambda p, y: torch.zeros(0), [], [])


# ---------------------------------------------------------------------------------------
# VC bound and closed-form growth functions
# ---------------------------------------------------------------------------------------


def test_vc_bound_hand_computed_value():
    # n = 1000, d = 3, delta = 0.05:  8/1000 * (3 ln(2000 e / 3) + ln 80)
    by_hand = math.sqrt(0.008 * (3 * (math.log(2000 / 3) + 1) + math.log(80)))
    assert by_hand == pytest.approx(0.4638, abs=1e-4)
    assert erm.vc_generalization_bound(1000, 3, 0.05) == pytest.approx(by_hand, rel=1e-14)
    # d = 0: only the confidence term
    assert erm.vc_generalization_bound(50, 0, 0.1) == pytest.approx(math.sqrt(8 / 50 * math.log(40)), rel=1e-14)


def test_vc_bound_monotone():
    ns = [5, 10, 20, 50, 100, 1000, 10**4, 10**6]
    values = [erm.vc_generalization_bound(n, 4, 0.05) for n in ns]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    dims = [erm.vc_generalization_bound(100, d, 0.05) for d in range(0, 20)]
    assert all(a < b for a, b in zip(dims, dims[1:], strict=False))
    deltas = [erm.vc_generalization_bound(100, 3, delta) for delta in (0.001, 0.01, 0.1, 0.5, 0.9)]
    assert all(a > b for a, b in zip(deltas, deltas[1:], strict=False))
    # rate: quadrupling n roughly halves the bound (up to the log factor)
    ratio = erm.vc_generalization_bound(4 * 10**6, 3, 0.05) / erm.vc_generalization_bound(10**6, 3, 0.05)
    assert 0.5 < ratio < 0.53


@pytest.mark.parametrize(
    "args, err, match",
    [
        ((0, 1, 0.1), ValueError, "n"),
        ((10, -1, 0.1), ValueError, "vc_dim"),
        ((10, 1, 0.0), ValueError, "delta"),
        ((10, 1, 1.0), ValueError, "delta"),
        ((3, 7, 0.1), ValueError, "n"),
        ((10.5, 1, 0.1), TypeError, "n"),
        ((10, 1.0, 0.1), TypeError, "vc_dim"),
    ],
)
def test_vc_bound_refuses(args, err, match):
    with pytest.raises(err, match=match):
        erm.vc_generalization_bound(*args)


def test_sauer_shelah_bound():
    for n in range(0, 15):
        for d in range(0, 6):
            brute = sum(math.comb(n, i) for i in range(0, d + 1) if i <= n)
            assert erm.sauer_shelah_bound(n, d) == brute
            if n <= d:
                assert erm.sauer_shelah_bound(n, d) == 2**n
            elif d >= 1:
                assert erm.sauer_shelah_bound(n, d) <= (math.e * n / d) ** d
    # the closed-form growth functions meet the bound with their VC dimensions
    for n in range(0, 15):
        assert erm.threshold_growth(n) == erm.sauer_shelah_bound(n, 1)
        assert erm.interval_growth(n) == erm.sauer_shelah_bound(n, 2)
        assert erm.halfplane_growth(n) <= erm.sauer_shelah_bound(n, 3)
    with pytest.raises(ValueError, match="n"):
        erm.sauer_shelah_bound(-1, 2)
    with pytest.raises(TypeError, match="vc_dim"):
        erm.sauer_shelah_bound(3, 2.0)


def test_halfplane_growth_is_cover_count():
    for n in range(1, 12):
        cover = 2 * sum(math.comb(n - 1, k) for k in range(3))
        assert erm.halfplane_growth(n) == cover
    assert erm.halfplane_growth(0) == 1


# ---------------------------------------------------------------------------------------
# labelings on the line: against a brute-force sweep of the parameters
# ---------------------------------------------------------------------------------------


def _as_set(labelings: torch.Tensor) -> set:
    return {tuple(r) for r in labelings.tolist()}


def _sweep_values(x: np.ndarray) -> np.ndarray:
    """Candidate parameters: every point, every midpoint, and beyond both ends."""
    u = np.unique(x)
    mids = (u[1:] + u[:-1]) / 2
    return np.concatenate([u, mids, [u[0] - 1, u[-1] + 1]])


@given(st.lists(st.integers(-4, 4), min_size=1, max_size=8))
def test_threshold_labelings_match_sweep(values):
    x = np.array(values, dtype=float)
    brute = {tuple(np.where(x > t, 1, -1)) for t in _sweep_values(x)}
    got = erm.threshold_labelings(torch.tensor(x))
    assert _as_set(got) == brute
    assert got.shape[0] == len(brute) == erm.threshold_growth(len(np.unique(x)))


@given(st.lists(st.integers(-4, 4), min_size=1, max_size=8))
def test_interval_labelings_match_sweep(values):
    x = np.array(values, dtype=float)
    cand = _sweep_values(x)
    brute = {tuple(np.where((x >= a) & (x <= b), 1, -1)) for a in cand for b in cand}
    got = erm.interval_labelings(torch.tensor(x)[:, None])
    assert _as_set(got) == brute
    assert got.shape[0] == erm.interval_growth(len(np.unique(x)))


def test_labelings_are_unique_and_mask_ordered():
    lab = erm.interval_labelings([0.5, -1.0, 2.0, 0.0])
    masks = [(sum(2**i for i, v in enumerate(row) if v == 1)) for row in lab.tolist()]
    assert masks == sorted(set(masks))
    assert lab.dtype == torch.int64 and set(lab.unique().tolist()) <= {-1, 1}


def test_vc_dimensions_on_the_line():
    g = torch.Generator().manual_seed(1)
    for _ in range(50):
        x = torch.randn(3, generator=g, dtype=F64)
        assert erm.shatters(erm.threshold_labelings, x[:1])
        assert not erm.shatters(erm.threshold_labelings, x[:2])
        assert erm.shatters(erm.interval_labelings, x[:2])
        assert not erm.shatters(erm.interval_labelings, x)


# ---------------------------------------------------------------------------------------
# linear classifiers in the plane: against a linear program
# ---------------------------------------------------------------------------------------


def _lp_separable(points: np.ndarray, labels: np.ndarray) -> bool:
    """Strict separability: is {y_i (w.x_i + b) >= 1} feasible? (a scaled margin)"""
    if (labels == 1).all() or (labels == -1).all():
        return True
    a_ub = -labels[:, None] * np.c_[points, np.ones(len(points))]
    res = linprog(np.zeros(3), A_ub=a_ub, b_ub=-np.ones(len(points)), bounds=[(None, None)] * 3, method="highs")
    return res.status == 0


def _lp_labelings(points: np.ndarray) -> set:
    n = len(points)
    return {lab for lab in itertools.product([-1, 1], repeat=n) if _lp_separable(points, np.array(lab))}


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7])
def test_linear_labelings_match_lp_random_points(n):
    g = torch.Generator().manual_seed(n)
    for _ in range(3 if n <= 5 else 1):
        points = torch.randn(n, 2, generator=g, dtype=F64)
        got = erm.linear_classifier_labelings(points)
        assert _as_set(got) == _lp_labelings(points.numpy())
        assert got.shape[0] == erm.halfplane_growth(n)  # general position with probability 1


def test_linear_labelings_match_lp_degenerate_integer_points():
    # collinear triples, repeated points, a point inside a triangle, a square
    configs = [
        [[0, 0], [1, 0], [2, 0]],
        [[0, 0], [1, 1], [2, 2], [3, 3]],
        [[0, 0], [0, 0], [1, 0]],
        [[0, 0], [4, 0], [0, 4], [1, 1]],
        [[0, 0], [1, 0], [0, 1], [1, 1], [2, 0]],
        [[0, 0], [2, 0], [1, 0], [1, 1], [1, -1]],
    ]
    for pts in configs:
        points = np.array(pts, dtype=float)
        assert _as_set(erm.linear_classifier_labelings(points)) == _lp_labelings(points), pts
    g = torch.Generator().manual_seed(9)
    for _ in range(4):  # small integer grid: many collinear and repeated points
        points = torch.randint(0, 3, (6, 2), generator=g).to(F64)
        assert _as_set(erm.linear_classifier_labelings(points)) == _lp_labelings(points.numpy())


def test_vc_dimension_of_halfplanes_is_three():
    assert erm.shatters(erm.linear_classifier_labelings, [[0.0, 0.0], [1.0, 0.0], [0.3, 0.8]])
    assert not erm.shatters(erm.linear_classifier_labelings, [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    xor = [[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    assert erm.count_labelings(erm.linear_classifier_labelings, xor) == 14
    g = torch.Generator().manual_seed(2)
    for _ in range(100):
        points = torch.randn(4, 2, generator=g, dtype=F64)
        assert not erm.shatters(erm.linear_classifier_labelings, points)
        assert erm.shatters(erm.linear_classifier_labelings, points[:3])


def test_linear_labelings_contain_complements_and_constants():
    g = torch.Generator().manual_seed(3)
    points = torch.randn(6, 2, generator=g, dtype=F64)
    labs = _as_set(erm.linear_classifier_labelings(points))
    assert (1,) * 6 in labs and (-1,) * 6 in labs
    assert all(tuple(-v for v in lab) in labs for lab in labs)  # flip (w, b) -> (-w, -b), up to ties


def test_linear_labelings_refuse():
    with pytest.raises(ValueError, match="points"):
        erm.linear_classifier_labelings(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="points"):
        erm.linear_classifier_labelings(torch.zeros(17, 2))
    with pytest.raises(ValueError, match="points"):
        erm.linear_classifier_labelings([[0.0, float("nan")]])
    with pytest.raises(ValueError, match="points"):
        erm.threshold_labelings(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="points"):
        erm.interval_labelings(torch.zeros(17))


# ---------------------------------------------------------------------------------------
# finite classes, shattering, growth function
# ---------------------------------------------------------------------------------------


def test_finite_class_and_counting():
    thresholds = [lambda x, t=t: torch.where(x[:, 0] > t, 1, -1) for t in (-10.0, 0.15, 0.25, 10.0)]
    cls = erm.finite_class(thresholds)
    points = torch.tensor([[0.1], [0.2], [0.3]])
    assert _as_set(cls(points)) == {(1, 1, 1), (-1, 1, 1), (-1, -1, 1), (-1, -1, -1)}
    assert erm.count_labelings(cls, points) == 4
    assert not erm.shatters(cls, points)
    assert erm.shatters(cls, points[:1])
    # a tensor of labelings, any coding, repeated rows counted once
    table = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1], [1, 1]])
    assert erm.count_labelings(table) == 4 and erm.shatters(table)
    assert erm.shatters(2 * table - 1, [[0.0], [1.0]])
    assert not erm.shatters(table[:3].bool())


def test_growth_function_matches_closed_forms():
    g = torch.Generator().manual_seed(4)
    for n in range(1, 7):
        sets_1d = [torch.randn(n, generator=g, dtype=F64) for _ in range(3)]
        assert erm.growth_function(erm.threshold_labelings, sets_1d) == erm.threshold_growth(n)
        assert erm.growth_function(erm.interval_labelings, sets_1d) == erm.interval_growth(n)
        sets_2d = torch.randn(3, n, 2, generator=g, dtype=F64)
        assert erm.growth_function(erm.linear_classifier_labelings, sets_2d) == erm.halfplane_growth(n)
    # a degenerate candidate only lowers the count; the maximum picks the best set
    assert erm.growth_function(erm.interval_labelings, [[0.0, 0.0, 0.0]]) == 2
    assert erm.growth_function(erm.interval_labelings, [[0.0, 0.0, 0.0], [0.0, 1.0, 2.0]]) == 7


def test_shattering_refuses():
    with pytest.raises(ValueError, match="points"):
        erm.shatters(erm.threshold_labelings)
    with pytest.raises(ValueError, match="points"):
        erm.shatters(torch.ones(2, 3), [[0.0], [1.0]])
    with pytest.raises(ValueError, match="hypothesis_class"):
        erm.shatters(torch.tensor([[2, 1]]))
    with pytest.raises(ValueError, match="hypothesis_class"):
        erm.count_labelings(torch.ones(3))
    with pytest.raises(ValueError, match="point_sets"):
        erm.growth_function(erm.threshold_labelings, [])
    with pytest.raises(TypeError, match="hypothesis_class"):
        erm.growth_function(torch.ones(2, 2), [[0.0, 1.0]])
    with pytest.raises(ValueError, match="hypotheses"):
        erm.finite_class([])
    with pytest.raises(TypeError, match="hypotheses"):
        erm.finite_class([1])


# ---------------------------------------------------------------------------------------
# Gaussian mixture: Bayes classifier and risks
# ---------------------------------------------------------------------------------------

MIXTURES_1D = [(1.0, -1.0, 1.0, 0.5), (2.0, 0.5, 0.7, 0.3), (-0.5, 1.5, 2.0, 0.8), (0.0, 0.0, 1.0, 0.35)]


def _densities(mp, mn, s, p):
    return (lambda x: p * stats.norm.pdf(x, mp, s)), (lambda x: (1 - p) * stats.norm.pdf(x, mn, s))


@pytest.mark.parametrize("mp, mn, s, p", MIXTURES_1D)
def test_posterior_and_bayes_risk_1d_match_integration(mp, mn, s, p):
    mix = erm.GaussianMixture2(mp, mn, std=s, prior_pos=p)
    fp, fn = _densities(mp, mn, s, p)
    x = np.linspace(-5, 5, 41)
    eta = fp(x) / (fp(x) + fn(x))
    np.testing.assert_allclose(mix.posterior(torch.tensor(x)).numpy(), eta, rtol=1e-12, atol=1e-15)
    lo, hi = min(mp, mn) - 12 * s, max(mp, mn) + 12 * s
    bayes, _ = integrate.quad(
        lambda t: min(fp(t), fn(t)), lo, hi, points=[mp, mn], limit=200, epsabs=1e-13, epsrel=1e-12
    )
    assert float(mix.bayes_risk()) == pytest.approx(bayes, abs=1e-9)
    # the closed form of the docstring
    delta = abs(mp - mn) / s
    lam = math.log(p / (1 - p))
    if delta > 0:
        closed = p * stats.norm.cdf(-delta / 2 - lam / delta) + (1 - p) * stats.norm.cdf(-delta / 2 + lam / delta)
    else:
        closed = min(p, 1 - p)
    assert float(mix.bayes_risk()) == pytest.approx(closed, abs=1e-14)


@pytest.mark.parametrize("mp, mn, s, p", MIXTURES_1D)
def test_linear_rule_risk_1d_matches_integration(mp, mn, s, p):
    mix = erm.GaussianMixture2(mp, mn, std=s, prior_pos=p)
    fp, fn = _densities(mp, mn, s, p)
    g = torch.Generator().manual_seed(5)
    for _ in range(5):
        w, b = (torch.randn(2, generator=g, dtype=F64) * 2).tolist()
        t = -b / w  # predict +1 where w x + b > 0
        lo, hi = min(mp, mn) - 12 * s, max(mp, mn) + 12 * s
        t = min(max(t, lo), hi)
        pos_side = (t, hi) if w > 0 else (lo, t)
        neg_side = (lo, t) if w > 0 else (t, hi)
        expected = (
            integrate.quad(fn, *pos_side, epsabs=1e-13, epsrel=1e-12)[0]
            + integrate.quad(fp, *neg_side, epsabs=1e-13, epsrel=1e-12)[0]
        )
        assert float(mix.linear_rule_risk(w, b)) == pytest.approx(expected, abs=1e-9)
        assert float(mix.linear_rule_risk(w, b)) >= float(mix.bayes_risk()) - 1e-15
    # constant rules
    assert float(mix.linear_rule_risk(0.0, 1.0)) == pytest.approx(1 - p, abs=1e-15)
    assert float(mix.linear_rule_risk(0.0, -1.0)) == pytest.approx(p, abs=1e-15)


def test_bayes_risk_2d_matches_monte_carlo_and_is_least():
    mix = erm.GaussianMixture2([1.0, 0.5], [-0.5, -0.5], std=1.2, prior_pos=0.4)
    x, y = mix.sample(200_000, generator=torch.Generator().manual_seed(6))
    err = (mix.bayes_classifier(x) != y).double().mean()
    r = float(mix.bayes_risk())
    se = math.sqrt(r * (1 - r) / len(y))
    assert abs(float(err) - r) < 4 * se
    g = torch.Generator().manual_seed(7)
    for _ in range(20):
        w, b = torch.randn(2, generator=g, dtype=F64), torch.randn((), generator=g, dtype=F64)
        rule = float(mix.linear_rule_risk(w, b))
        assert rule >= r - 1e-15
        mc = float(((x @ w + b > 0).long() * 2 - 1 != y).double().mean())
        assert abs(mc - rule) < 4 * math.sqrt(rule * (1 - rule) / len(y)) + 1e-12


def test_linear_rule_risk_gradcheck():
    mix = erm.GaussianMixture2([1.0, 0.0], [-1.0, 0.5], std=0.8, prior_pos=0.3)
    w = torch.tensor([0.7, -0.2], dtype=F64, requires_grad=True)
    b = torch.tensor(0.1, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(mix.linear_rule_risk, (w, b))
    # the Bayes rule is a stationary point of the true risk
    wb, bb = mix.bayes_rule
    wb, bb = wb.clone().requires_grad_(True), bb.clone().requires_grad_(True)
    gw, gb = torch.autograd.grad(mix.linear_rule_risk(wb, bb), (wb, bb))
    assert float(gw.abs().max()) < 1e-12 and abs(float(gb)) < 1e-12


def test_risk_by_integration_matches_exact_linear_and_quad():
    mix = erm.GaussianMixture2(1.0, -1.0, std=1.0, prior_pos=0.6)
    for w, b in [(1.0, 0.2), (-2.0, 0.5), (3.0, -1.0)]:
        numeric = float(mix.risk(lambda x, w=w, b=b: w * x[:, 0] + b))
        assert numeric == pytest.approx(float(mix.linear_rule_risk(w, b)), abs=1e-4)
    # a non-linear rule: +1 inside [-0.5, 2]
    fp, fn = _densities(1.0, -1.0, 1.0, 0.6)
    inside = integrate.quad(fn, -0.5, 2)[0]
    outside = integrate.quad(fp, -np.inf, -0.5)[0] + integrate.quad(fp, 2, np.inf)[0]
    rule = lambda x: ((x[:, 0] >= -0.5) & (x[:, 0] <= 2)).long()  # noqa: E731  labels {0, 1}
    assert float(mix.risk(rule)) == pytest.approx(inside + outside, abs=1e-4)
    assert float(mix.risk(mix.bayes_classifier)) == pytest.approx(float(mix.bayes_risk()), abs=1e-4)


def test_sampling():
    mix = erm.GaussianMixture2([2.0, -1.0], [0.0, 1.0], std=0.5, prior_pos=0.3)
    x, y = mix.sample(200_000, generator=torch.Generator().manual_seed(8))
    assert x.shape == (200_000, 2) and x.dtype == F64 and y.dtype == torch.int64
    assert set(y.unique().tolist()) == {-1, 1}
    assert float((y == 1).double().mean()) == pytest.approx(0.3, abs=0.005)
    np.testing.assert_allclose(x[y == 1].mean(0).numpy(), [2.0, -1.0], atol=0.01)
    np.testing.assert_allclose(x[y == -1].std(0).numpy(), [0.5, 0.5], atol=0.01)
    x2, y2 = mix.sample(10, generator=torch.Generator().manual_seed(8))
    x3, y3 = mix.sample(10, generator=torch.Generator().manual_seed(8))
    assert torch.equal(x2, x3) and torch.equal(y2, y3)
    assert mix.dim == 2 and "GaussianMixture2" in repr(mix)


def test_mixture_refuses():
    with pytest.raises(ValueError, match="std"):
        erm.GaussianMixture2(1.0, -1.0, std=0.0)
    with pytest.raises(ValueError, match="prior_pos"):
        erm.GaussianMixture2(1.0, -1.0, prior_pos=1.0)
    with pytest.raises(ValueError, match="mean_pos"):
        erm.GaussianMixture2([1.0, 0.0], [1.0])
    mix = erm.GaussianMixture2([1.0, 0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="x"):
        mix.posterior(torch.zeros(3))
    with pytest.raises(ValueError, match="weight"):
        mix.linear_rule_risk([1.0], 0.0)
    with pytest.raises(ValueError, match="bias"):
        mix.linear_rule_risk([1.0, 0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="d = 2"):
        mix.risk(lambda x: x[:, 0])
    with pytest.raises(ValueError, match="n"):
        mix.sample(-1)


def test_linear_rule_risk_batched_matches_single_rules():
    mix = erm.GaussianMixture2([1.0, 0.0], [-1.0, 0.5], std=0.8, prior_pos=0.3)
    g = torch.Generator().manual_seed(10)
    w = torch.randn(7, 2, generator=g, dtype=F64)
    w[3] = 0.0  # a constant rule inside the batch
    b = torch.randn(7, generator=g, dtype=F64)
    batched = mix.linear_rule_risk(w, b)
    assert batched.shape == (7,)
    single = torch.stack([mix.linear_rule_risk(w[i], b[i]) for i in range(7)])
    torch.testing.assert_close(batched, single, rtol=0, atol=1e-15)
    assert float(batched[3]) == pytest.approx(0.7 if float(b[3]) > 0 else 0.3, abs=1e-15)
    # gradients stay finite at the constant rule
    w.requires_grad_(True)
    mix.linear_rule_risk(w, b).sum().backward()
    assert torch.isfinite(w.grad).all()
    with pytest.raises(ValueError, match="bias"):
        mix.linear_rule_risk(w.detach(), b[:3])


# ---------------------------------------------------------------------------------------
# marginal mixtures: the best rule on some coordinates, and an approximation error
# ---------------------------------------------------------------------------------------


def test_marginal_risks_equal_the_full_mixture_with_zero_weights():
    mix = erm.GaussianMixture2([1.0, 0.5, -0.3], [-0.5, -0.5, 0.4], std=0.9, prior_pos=0.35)
    g = torch.Generator().manual_seed(11)
    w = torch.randn(6, 2, generator=g, dtype=F64)
    b = torch.randn(6, generator=g, dtype=F64)
    full_w = torch.zeros(6, 3, dtype=F64)
    full_w[:, [0, 2]] = w
    torch.testing.assert_close(
        mix.marginal([0, 2]).linear_rule_risk(w, b), mix.linear_rule_risk(full_w, b), rtol=0, atol=1e-15
    )
    sub = mix.marginal(1)
    assert sub.dim == 1 and sub.std == mix.std and sub.prior_pos == mix.prior_pos
    assert sub.mean_pos.tolist() == [0.5] and sub.mean_neg.tolist() == [-0.5]


@pytest.mark.parametrize("coordinate", [0, 1])
def test_marginal_bayes_risk_is_the_least_risk_of_rules_on_one_coordinate(coordinate):
    mp, mn, s, p = [1.0, 0.5], [-0.5, -0.5], 1.0, 0.35
    mix = erm.GaussianMixture2(mp, mn, std=s, prior_pos=p)
    marginal_bayes = float(mix.marginal(coordinate).bayes_risk())
    # reference: integrate min of the two class densities of x_coordinate with scipy
    fp, fn = _densities(mp[coordinate], mn[coordinate], s, p)
    lo, hi = min(mp[coordinate], mn[coordinate]) - 12 * s, max(mp[coordinate], mn[coordinate]) + 12 * s
    by_quad, _ = integrate.quad(lambda t: min(fp(t), fn(t)), lo, hi, limit=200, epsabs=1e-13, epsrel=1e-12)
    assert marginal_bayes == pytest.approx(by_quad, abs=1e-9)
    # no threshold on that coordinate (either orientation) does better, on the full mixture
    weights = torch.zeros(2 * 4001, 2, dtype=F64)
    weights[:4001, coordinate], weights[4001:, coordinate] = 1.0, -1.0
    cuts = torch.linspace(-6, 6, 4001, dtype=F64)
    risks = mix.linear_rule_risk(weights, torch.cat([-cuts, cuts]))
    assert float(risks.min()) >= marginal_bayes - 1e-12
    assert float(risks.min()) == pytest.approx(marginal_bayes, abs=1e-6)
    # reading one coordinate only costs something: the approximation error is positive
    assert marginal_bayes > float(mix.bayes_risk()) + 1e-3
    # all coordinates: the marginal is the mixture itself
    assert float(mix.marginal([0, 1]).bayes_risk()) == pytest.approx(float(mix.bayes_risk()), abs=1e-15)


def test_marginal_refuses():
    mix = erm.GaussianMixture2([1.0, 0.5], [-0.5, -0.5])
    with pytest.raises(ValueError, match="dims"):
        mix.marginal(2)
    with pytest.raises(ValueError, match="dims"):
        mix.marginal([0, 0])
    with pytest.raises(ValueError, match="dims"):
        mix.marginal([])
    with pytest.raises(TypeError, match="dims"):
        mix.marginal(0.5)
    with pytest.raises(TypeError, match="dims"):
        mix.marginal(True)
