"""objlib.ranking: agreement with torch / scikit-learn / brute-force pair loops, properties,
gradients, and refusal of bad input."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import dcg_score, ndcg_score

import objlib
from objlib.ranking import dcg, lambdarank, listnet, ndcg, pairwise_hinge, ranknet

F64 = torch.float64


def _random_queries(*batch, length=6, grades=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(*batch, length, generator=g, dtype=F64)
    relevance = torch.randint(0, grades, (*batch, length), generator=g).to(F64)
    return scores, relevance


# ---------------------------------------------------------------------------------------
# brute-force references: one query at a time, plain Python loops over documents
# ---------------------------------------------------------------------------------------


def _brute_dcg(scores, relevance, k=None, gain="exponential"):
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))  # sorted() is stable
    k = len(order) if k is None else min(k, len(order))
    total = 0.0
    for rank, doc in enumerate(order[:k], start=1):
        r = float(relevance[doc])
        g = 2.0**r - 1 if gain == "exponential" else r
        total += g / math.log2(rank + 1)
    return total


def _brute_ndcg(scores, relevance, k=None, gain="exponential"):
    ideal = _brute_dcg(relevance, relevance, k, gain)
    return 0.0 if ideal == 0 else _brute_dcg(scores, relevance, k, gain) / ideal


def _brute_ranknet(scores, relevance):
    terms = []
    for i in range(len(scores)):
        for j in range(len(scores)):
            if relevance[i] > relevance[j]:
                terms.append(torch.log1p(torch.exp(-(scores[i] - scores[j]))))
    return sum(terms) / len(terms) if terms else scores.sum() * 0


def _brute_lambdarank(scores, relevance, k=None, gain="exponential"):
    """Weights from actually swapping the two documents' scores and recomputing NDCG@k."""
    base = _brute_ndcg(scores.detach(), relevance, k, gain)
    total, pairs = scores.sum() * 0, 0
    for i in range(len(scores)):
        for j in range(len(scores)):
            if relevance[i] > relevance[j]:
                swapped = scores.detach().clone()
                swapped[i], swapped[j] = scores[j].detach(), scores[i].detach()
                weight = abs(_brute_ndcg(swapped, relevance, k, gain) - base)
                total = total + weight * torch.log1p(torch.exp(-(scores[i] - scores[j])))
                pairs += 1
    return total / max(pairs, 1)  # the mean over ordered pairs, as ranknet


# ---------------------------------------------------------------------------------------
# pairwise_hinge
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("margin", [0.0, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_pairwise_hinge_matches_margin_ranking_loss(margin, reduction):
    pos, neg = torch.randn(2, 5, 7, dtype=F64)
    ours = pairwise_hinge(pos, neg, margin=margin, reduction=reduction)
    ref = F.margin_ranking_loss(pos, neg, torch.ones_like(pos), margin=margin, reduction=reduction)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


def test_pairwise_hinge_triplet_form():
    """Triplet loss max(0, m + d(a,p) - d(a,n)) is the hinge on negative distances."""
    a, p, n = torch.randn(3, 8, 4, dtype=F64)
    d_ap, d_an = (a - p).norm(dim=1), (a - n).norm(dim=1)
    ref = F.triplet_margin_loss(a, p, n, margin=0.7, eps=0.0)
    torch.testing.assert_close(pairwise_hinge(-d_ap, -d_an, margin=0.7), ref, rtol=1e-12, atol=1e-12)


def test_pairwise_hinge_gradcheck_and_lists():
    pos, neg = torch.randn(2, 9, dtype=F64).unbind(0)
    pos.requires_grad_(True)
    neg.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: pairwise_hinge(a, b, margin=0.3), (pos, neg))
    assert pairwise_hinge([3.0, 0.0], [0.0, 0.0]).item() == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------
# ranknet
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ranknet_matches_pair_loop(reduction):
    scores, relevance = _random_queries(3, 4, length=7, seed=1)
    ours = ranknet(scores, relevance, reduction=reduction)
    per_query = torch.stack(
        [_brute_ranknet(s, r) for s, r in zip(scores.reshape(-1, 7), relevance.reshape(-1, 7), strict=True)]
    ).reshape(3, 4)
    ref = {"mean": per_query.mean(), "sum": per_query.sum(), "none": per_query}[reduction]
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


def test_ranknet_query_without_pairs_is_zero_and_counts_in_mean():
    scores = torch.tensor([[0.3, -1.0, 2.0], [1.0, 0.0, 0.0]], dtype=F64)
    relevance = torch.tensor([[2.0, 2.0, 2.0], [1.0, 0.0, 0.0]], dtype=F64)
    per_query = ranknet(scores, relevance, reduction="none")
    assert per_query[0].item() == 0.0
    assert ranknet(scores, relevance).item() == pytest.approx(per_query[1].item() / 2)
    # a single-document query has no pair either
    assert ranknet([1.0], [3.0]).item() == 0.0


def test_ranknet_gradcheck_and_extremes():
    scores, relevance = _random_queries(2, length=5, seed=2)
    scores.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: ranknet(s, relevance), (scores,))
    big = torch.tensor([1e4, -1e4, 0.0], requires_grad=True)
    loss = ranknet(big, torch.tensor([0.0, 1.0, 2.0]))  # badly wrong order: huge but finite
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(big.grad).all()
    assert loss.item() == pytest.approx((2e4 + 1e4 + 0.0) / 3, rel=1e-6)


@given(shift=st.floats(-50, 50), seed=st.integers(0, 10_000))
def test_ranknet_and_listnet_ignore_a_common_shift(shift, seed):
    scores, relevance = _random_queries(length=5, seed=seed)
    for loss in (ranknet, listnet):
        torch.testing.assert_close(loss(scores + shift, relevance), loss(scores, relevance), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------------------
# lambdarank
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [None, 1, 3, 20])
@pytest.mark.parametrize("gain", ["exponential", "linear"])
def test_lambdarank_matches_swap_loop(k, gain):
    scores, relevance = _random_queries(5, length=6, seed=3)
    scores.requires_grad_(True)
    ours = lambdarank(scores, relevance, k=k, gain=gain, reduction="none")
    ref = torch.stack([_brute_lambdarank(s, r, k, gain) for s, r in zip(scores, relevance, strict=True)])
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    # the weights are constants: gradients agree too (the "lambdas")
    (g_ours,) = torch.autograd.grad(ours.sum(), scores)
    (g_ref,) = torch.autograd.grad(ref.sum(), scores)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-12, atol=1e-12)


def test_lambdarank_weights_are_detached_and_reduce():
    scores, relevance = _random_queries(2, 3, length=5, seed=4)
    scores.requires_grad_(True)
    per_query = lambdarank(scores, relevance, reduction="none")
    assert per_query.shape == (2, 3)
    torch.testing.assert_close(lambdarank(scores, relevance), per_query.mean())
    torch.testing.assert_close(lambdarank(scores, relevance, reduction="sum"), per_query.sum())
    assert torch.autograd.gradcheck(lambda s: lambdarank(s, relevance, k=3), (scores,))


def test_lambdarank_ignores_pairs_below_k_and_all_irrelevant_queries():
    # document 3's only pair is with document 2; they hold ranks 4 and 3, so with k = 2
    # swapping them leaves NDCG@2 unchanged and document 3 gets no gradient
    scores = torch.tensor([4.0, 3.0, 2.0, 1.0], dtype=F64, requires_grad=True)
    relevance = torch.tensor([1.0, 1.0, 0.0, 1.0], dtype=F64)
    (grad_k2,) = torch.autograd.grad(lambdarank(scores, relevance, k=2), scores)
    (grad_all,) = torch.autograd.grad(lambdarank(scores, relevance), scores)
    assert grad_k2[3].item() == 0.0 and grad_k2[0].item() != 0.0
    assert grad_all[3].item() < 0.0  # without the cut-off it is pushed up
    assert lambdarank(scores, torch.zeros(4, dtype=F64)).item() == 0.0


# ---------------------------------------------------------------------------------------
# listnet
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_listnet_matches_formula(reduction):
    from scipy.special import log_softmax, softmax

    scores, relevance = _random_queries(4, 3, length=6, seed=5)
    s, r = scores.numpy(), relevance.numpy()
    per_query = torch.from_numpy(-(softmax(r, axis=-1) * log_softmax(s, axis=-1)).sum(-1))
    ref = {"mean": per_query.mean(), "sum": per_query.sum(), "none": per_query}[reduction]
    torch.testing.assert_close(listnet(scores, relevance, reduction=reduction), ref, rtol=1e-12, atol=1e-12)


def test_listnet_minimum_is_the_target_entropy():
    relevance = torch.tensor([3.0, 1.0, 0.0, 2.0], dtype=F64)
    scores = (relevance + 5.0).requires_grad_(True)
    loss = listnet(scores, relevance)
    p = torch.softmax(relevance, 0)
    assert loss.item() == pytest.approx(-(p * p.log()).sum().item(), abs=1e-12)
    (grad,) = torch.autograd.grad(loss, scores)
    assert grad.abs().max().item() < 1e-12


def test_listnet_gradcheck_and_extremes():
    scores, relevance = _random_queries(3, length=5, seed=6)
    scores.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: listnet(s, relevance), (scores,))
    big = torch.tensor([1e4, -1e4, 0.0], requires_grad=True)
    loss = listnet(big, torch.tensor([0.0, 1.0, 2.0]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(big.grad).all()


# ---------------------------------------------------------------------------------------
# dcg / ndcg
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [None, 1, 3, 6, 50])
def test_linear_gain_matches_sklearn(k):
    scores, relevance = _random_queries(12, length=6, grades=5, seed=7)
    s, r = scores.numpy(), relevance.numpy()
    assert ndcg(scores, relevance, k=k, gain="linear").item() == pytest.approx(ndcg_score(r, s, k=k), abs=1e-12)
    assert dcg(scores, relevance, k=k, gain="linear").item() == pytest.approx(dcg_score(r, s, k=k), abs=1e-12)


def test_all_irrelevant_query_has_ndcg_zero_like_sklearn():
    scores = np.array([[0.1, 0.5, 0.2], [0.3, 0.2, 0.1]])
    relevance = np.array([[0, 0, 0], [2, 0, 1]])
    ours = ndcg(scores, relevance, gain="linear", reduction="none")
    assert ours[0].item() == 0.0
    assert ours.mean().item() == pytest.approx(ndcg_score(relevance, scores), abs=1e-12)


@pytest.mark.parametrize("k", [None, 2, 4])
def test_exponential_gain_matches_loop(k):
    scores, relevance = _random_queries(3, 2, length=5, seed=8)
    ours = ndcg(scores, relevance, k=k, reduction="none")
    ours_dcg = dcg(scores, relevance, k=k, reduction="none")
    flat_s, flat_r = scores.reshape(-1, 5), relevance.reshape(-1, 5)
    ref = torch.tensor([_brute_ndcg(s, r, k) for s, r in zip(flat_s, flat_r, strict=True)], dtype=F64)
    ref_dcg = torch.tensor([_brute_dcg(s, r, k) for s, r in zip(flat_s, flat_r, strict=True)], dtype=F64)
    torch.testing.assert_close(ours, ref.reshape(3, 2), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours_dcg, ref_dcg.reshape(3, 2), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ndcg(scores, relevance, k=k, reduction="sum"), ref.sum(), rtol=1e-12, atol=1e-12)


def test_ties_are_ranked_in_list_order():
    relevance = torch.tensor([0.0, 1.0])
    assert ndcg(torch.zeros(2), relevance).item() == pytest.approx(1 / math.log2(3))
    assert ndcg(torch.zeros(2), relevance.flip(0)).item() == 1.0


@given(seed=st.integers(0, 10_000), k=st.one_of(st.none(), st.integers(1, 8)))
def test_ndcg_bounds_and_perfect_ranking(seed, k):
    scores, relevance = _random_queries(4, length=6, seed=seed)
    values = ndcg(scores, relevance, k=k, reduction="none")
    assert bool(((values >= 0) & (values <= 1 + 1e-12)).all())
    perfect = ndcg(relevance + 1e-3 * torch.arange(6, 0, -1, dtype=F64), relevance, k=k, reduction="none")
    has_relevant = relevance.amax(-1) > 0
    torch.testing.assert_close(perfect[has_relevant], torch.ones_like(perfect[has_relevant]))


def test_metrics_keep_dtype_and_accept_lists():
    assert ndcg([[0.2, 0.1]], [[1, 0]]).dtype == torch.get_default_dtype()
    assert ndcg(torch.tensor([[0.2, 0.1]], dtype=F64), [[1, 0]]).dtype == F64
    assert ndcg([[0.2, 0.1]], [[1, 0]]).item() == 1.0


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------

LOSSES = [ranknet, lambdarank, listnet, dcg, ndcg]


@pytest.mark.parametrize("fn", LOSSES)
def test_refuses_bad_input(fn):
    s, r = torch.randn(2, 4), torch.ones(2, 4)
    with pytest.raises(ValueError, match="scores"):
        fn(s, r[:, :3])
    with pytest.raises(ValueError, match="relevance"):
        fn(s, -r)
    with pytest.raises(ValueError, match="scores"):
        fn(torch.empty(0, 4), torch.empty(0, 4))
    with pytest.raises(ValueError, match="scores"):
        fn(torch.tensor(1.0), torch.tensor(1.0))
    with pytest.raises(ValueError, match="reduction"):
        fn(s, r, reduction="batchmean")
    with pytest.raises(TypeError, match="scores"):
        fn("abc", r)


@pytest.mark.parametrize("fn", [lambdarank, dcg, ndcg])
def test_refuses_bad_k_and_gain(fn):
    s, r = torch.randn(4), torch.ones(4)
    with pytest.raises(ValueError, match="k"):
        fn(s, r, k=0)
    with pytest.raises(TypeError, match="k"):
        fn(s, r, k=2.5)
    with pytest.raises(ValueError, match="gain"):
        fn(s, r, gain="quadratic")


def test_pairwise_hinge_refuses_bad_input():
    with pytest.raises(ValueError, match="neg_scores"):
        pairwise_hinge(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="pos_scores"):
        pairwise_hinge(torch.zeros(0), torch.zeros(0))
    with pytest.raises(ValueError, match="margin"):
        pairwise_hinge(torch.zeros(3), torch.zeros(3), margin=-1.0)
    with pytest.raises(ValueError, match="reduction"):
        pairwise_hinge(torch.zeros(3), torch.zeros(3), reduction="avg")


def test_value_checks_switch_skips_the_relevance_check():
    with objlib.value_checks(False):
        ranknet(torch.zeros(3), -torch.ones(3))  # refused only while checks are on
    with pytest.raises(ValueError, match="relevance"):
        ranknet(torch.zeros(3), -torch.ones(3))


def test_lambdarank_promotes_mixed_dtypes_like_the_rest_of_the_family():
    # float32 scores with float64 grades, and integer scores, raised a raw torch error before
    scores, relevance = _random_queries(3, length=6, seed=7)
    reference = lambdarank(scores, relevance, reduction="none")
    mixed = lambdarank(scores.float(), relevance, reduction="none")
    assert mixed.dtype == torch.float64
    torch.testing.assert_close(mixed, reference, rtol=1e-6, atol=1e-7)
    integer_scores = scores.round().long()
    torch.testing.assert_close(lambdarank(integer_scores, relevance), lambdarank(integer_scores.double(), relevance))
    for fn in (ranknet, listnet, ndcg, dcg):
        assert fn(scores.float(), relevance).dtype == torch.float64


def test_lambdarank_with_unit_weights_is_ranknet():
    # pairs are averaged in both losses: with every |delta NDCG| equal to 1 they coincide.
    # Two documents, grades 1 and 0: IDCG = 1 and swapping them changes NDCG by 1 - 1/log2(3);
    # with linear gains and k = 1 the swap changes NDCG@1 by exactly 1.
    scores = torch.tensor([[0.3, 1.2], [2.0, -1.0]], dtype=F64)
    relevance = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=F64)
    torch.testing.assert_close(
        lambdarank(scores, relevance, k=1, gain="linear", reduction="none"),
        ranknet(scores, relevance, reduction="none"),
    )
