"""Tests for objlib.gaming: best-of-n selection against an enumeration of every draw, Monte Carlo
selection and closed forms; its KL against a numerical integral (float64)."""

import itertools
import math
from fractions import Fraction

import pytest
import scipy.integrate
import torch
from hypothesis import given
from hypothesis import strategies as st

import objlib
from objlib.divergences import kl
from objlib.gaming import best_of_n_kl, best_of_n_probs


def enumerated(scores, base, n):
    """Best-of-n by enumerating all K^n draws in exact arithmetic; ties split among the tied draws."""
    out = [Fraction(0)] * len(scores)
    for draw in itertools.product(range(len(scores)), repeat=n):
        chance = math.prod((base[d] for d in draw), start=Fraction(1))
        best = max(scores[d] for d in draw)
        tied = [d for d in draw if scores[d] == best]
        for d in tied:
            out[d] += chance / len(tied)
    return torch.tensor([float(x) for x in out], dtype=torch.float64)


CASES = [
    ([0.5, 0.2, 0.5, -1.0, 0.2], [1, 2, 3, 1, 3]),  # two tie groups
    ([3.0, 1.0, 2.0, 0.0], [1, 1, 1, 1]),  # distinct scores, uniform
    ([1.0, 1.0, 0.0, 2.0], [2, 0, 1, 1]),  # a zero-probability candidate tied with another
    ([-math.inf, 0.0, math.inf, 0.0], [1, 3, 1, 2]),  # infinite scores are only an order
    ([0.0, 1.0, 2.0], [0, 1, 1]),  # nothing below the second: the lowest has no mass
]


@pytest.mark.parametrize(("scores", "weights"), CASES)
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_best_of_n_probs_matches_an_enumeration_of_every_draw(scores, weights, n):
    base = [Fraction(w, sum(weights)) for w in weights]
    probs = torch.tensor([float(p) for p in base], dtype=torch.float64)
    got = best_of_n_probs(torch.tensor(scores, dtype=torch.float64), n, base_probs=probs)
    assert torch.allclose(got, enumerated(scores, base, n), atol=1e-15, rtol=0)


def test_best_of_n_probs_matches_monte_carlo_selection():
    g = torch.Generator().manual_seed(0)
    scores = torch.tensor([0.0, 1.0, 1.0, 2.0, -1.0, 0.5], dtype=torch.float64)
    base = torch.tensor([0.3, 0.1, 0.2, 0.05, 0.25, 0.1], dtype=torch.float64)
    n, reps = 5, 200_000
    draws = torch.multinomial(base, reps * n, replacement=True, generator=g).view(reps, n)
    # random tie-breaking: a tiny random jitter below the smallest gap between scores
    jitter = 1e-3 * torch.rand(reps, n, generator=g, dtype=torch.float64)
    picked = draws.gather(1, (scores[draws] + jitter).argmax(1, keepdim=True)).squeeze(1)
    freq = torch.bincount(picked, minlength=6).double() / reps
    exact = best_of_n_probs(scores, n, base_probs=base)
    se = (exact * (1 - exact) / reps).sqrt()
    assert ((freq - exact).abs() <= 5 * se + 1e-12).all(), (freq, exact)


def test_uniform_base_and_distinct_scores_give_the_rank_formula():
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(4, 50, generator=g, dtype=torch.float64)
    for n in (1, 2, 7, 1000):
        got = best_of_n_probs(scores, n)
        rank = scores.argsort(-1).argsort(-1).double() + 1  # 1 for the lowest score
        assert torch.allclose(got, (rank / 50) ** n - ((rank - 1) / 50) ** n, atol=1e-15)
    assert torch.allclose(best_of_n_probs(scores, 1), torch.full_like(scores, 1 / 50), atol=1e-15, rtol=0)


@given(
    st.lists(st.integers(-3, 3), min_size=1, max_size=9),
    st.integers(1, 60),
    st.integers(0, 2**31 - 1),
)
def test_properties_distribution_order_only_and_more_draws_score_higher(values, n, seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.tensor(values, dtype=torch.float64)
    base = torch.rand(len(values), generator=g, dtype=torch.float64) + 0.01
    base /= base.sum()
    probs = best_of_n_probs(scores, n, base_probs=base)
    assert (probs >= 0).all() and abs(probs.sum().item() - 1) < 1e-12
    # only the order of the scores matters
    assert torch.allclose(best_of_n_probs(torch.exp(scores) - 5, n, base_probs=base), probs, atol=1e-15)
    # relabelling the candidates relabels the result
    perm = torch.randperm(len(values), generator=g)
    assert torch.allclose(best_of_n_probs(scores[perm], n, base_probs=base[perm]), probs[perm], atol=1e-15)
    # one more draw can only raise the expected score (stochastic dominance)
    more = best_of_n_probs(scores, n + 1, base_probs=base)
    assert (more * scores).sum() >= (probs * scores).sum() - 1e-12


def test_batches_are_rows():
    g = torch.Generator().manual_seed(2)
    scores = torch.randint(0, 4, (2, 3, 6), generator=g).double()
    base = torch.softmax(torch.randn(2, 3, 6, generator=g, dtype=torch.float64), -1)
    got = best_of_n_probs(scores, 3, base_probs=base)
    for i, j in itertools.product(range(2), range(3)):
        assert torch.allclose(got[i, j], best_of_n_probs(scores[i, j], 3, base_probs=base[i, j]), atol=0)


def test_the_top_candidates_keep_their_precision_for_huge_n_and_tiny_tails():
    K = 10**6
    scores = torch.arange(K, dtype=torch.float64)
    for n in (3, 10**4, 10**9):
        probs = best_of_n_probs(scores, n)
        assert torch.isfinite(probs).all() and abs(probs.sum().item() - 1) < 1e-9
        for k in (1, 2, 1000):  # the k-th best: (1 - (k-1)/K)^n - (1 - k/K)^n, in log space
            hi, lo = n * math.log1p(-(k - 1) / K), n * math.log1p(-k / K)
            expected = math.exp(hi) * -math.expm1(lo - hi)
            assert probs[K - k].item() == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_a_top_candidate_of_tiny_base_mass_keeps_its_precision():
    K, tiny = 1000, 1e-15
    base = torch.full((K,), (1 - tiny) / (K - 1), dtype=torch.float64)
    base[-1] = tiny
    scores = torch.arange(K, dtype=torch.float64)
    for n in (1, 10, 10**6):  # 1 - (1 - tiny)^n, with no cancellation
        expected = -math.expm1(n * math.log1p(-tiny))
        assert best_of_n_probs(scores, n, base_probs=base)[-1].item() == pytest.approx(expected, rel=1e-12)


def test_gradcheck_in_the_base_distribution():
    scores = torch.tensor([0.3, -1.0, 0.3, 2.0, 0.7], dtype=torch.float64)
    w = (torch.rand(5, dtype=torch.float64) + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda w: best_of_n_probs(scores, 4, base_probs=w / w.sum()), (w,))


def test_mixed_dtypes_are_promoted():
    scores32 = torch.tensor([1.0, 0.0, 2.0])
    base64 = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    assert best_of_n_probs(scores32, 2, base_probs=base64).dtype == torch.float64
    assert best_of_n_probs(torch.tensor([3, 1, 2]), 2).dtype == torch.get_default_dtype()
    assert torch.allclose(best_of_n_probs([3, 1, 2], 2), best_of_n_probs([3.0, 1.0, 2.0], 2))


def test_best_of_n_probs_refuses_bad_input():
    with pytest.raises(ValueError, match="n must lie in"):
        best_of_n_probs([1.0, 2.0], 0)
    for n in (2.0, True, "3"):
        with pytest.raises(TypeError, match="n must be an int"):
            best_of_n_probs([1.0, 2.0], n)
    with pytest.raises(ValueError, match="scores must have a last axis"):
        best_of_n_probs(1.0, 2)
    with pytest.raises(ValueError, match="scores is empty"):
        best_of_n_probs(torch.zeros(0), 2)
    with pytest.raises(ValueError, match="base_probs"):
        best_of_n_probs([1.0, 2.0], 2, base_probs=[1.0])
    with pytest.raises(ValueError, match="base_probs must sum to 1"):
        best_of_n_probs([1.0, 2.0], 2, base_probs=[0.5, 0.6])
    with pytest.raises(ValueError, match="base_probs must be non-negative"):
        best_of_n_probs([1.0, 2.0], 2, base_probs=[1.5, -0.5])
    with pytest.raises(ValueError, match="base_probs"):
        best_of_n_probs([1.0, 2.0], 2, base_probs=[math.nan, 1.0])
    with pytest.raises(ValueError, match="scores must not contain NaN"):
        best_of_n_probs([1.0, math.nan], 2)
    with pytest.raises(TypeError, match="scores"):
        best_of_n_probs("abc", 2)


def test_nan_scores_propagate_with_checks_off():
    scores = torch.tensor([[1.0, math.nan, 0.0], [1.0, 2.0, 0.0]])
    with objlib.value_checks(False):
        got = best_of_n_probs(scores, 3)
    assert got[0].isnan().all() and torch.isfinite(got[1]).all()


# ---------------------------------------------------------------------------------------
# best_of_n_kl
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 64, 1000])
def test_best_of_n_kl_matches_the_integral_for_continuous_scores(n, f64):
    # the selected quantile F has density n F^(n-1), and the log-ratio is log(n F^(n-1))
    integral, _ = scipy.integrate.quad(lambda f: n * f ** (n - 1) * (math.log(n) + (n - 1) * math.log(f)), 0, 1)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(f64)
    try:
        value = best_of_n_kl(n)
    finally:
        torch.set_default_dtype(previous)
    assert value.dtype == f64 and value.item() == pytest.approx(integral, abs=1e-9)


def test_best_of_n_kl_bounds_the_exact_divergence_on_a_finite_set():
    g = torch.Generator().manual_seed(3)
    base = torch.full((20_000,), 1 / 20_000, dtype=torch.float64)
    scores = torch.randn(20_000, generator=g, dtype=torch.float64)
    ns = torch.tensor([1, 2, 10, 100, 1000])
    exact = torch.stack([kl(best_of_n_probs(scores, int(n)), base) for n in ns])
    formula = best_of_n_kl(ns).double()
    assert (exact <= formula + 1e-12).all()
    assert torch.allclose(exact[:4], formula[:4], atol=0.01)  # many candidates: nearly continuous
    # with ties and an uneven base the bound still holds (Beirami et al. 2024)
    tied = torch.randint(0, 5, (30,), generator=g).double()
    uneven = torch.softmax(torch.randn(30, generator=g, dtype=torch.float64), -1)
    for n in (2, 8, 50):
        assert kl(best_of_n_probs(tied, n, base_probs=uneven), uneven) <= best_of_n_kl(n) + 1e-12


def test_best_of_n_kl_takes_integers_only():
    assert best_of_n_kl(1).item() == 0.0 and best_of_n_kl([1, 2]).shape == (2,)
    with pytest.raises(ValueError, match="n must be at least 1"):
        best_of_n_kl([3, 0])
    with pytest.raises(TypeError, match="n must hold integers"):
        best_of_n_kl(2.5)
    with pytest.raises(TypeError, match="n must hold integers"):
        best_of_n_kl(True)
