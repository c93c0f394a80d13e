"""objlib.structured: the CRF against brute-force enumeration of all K^T paths and against
pytorch-crf, the structured hinge against its formula, gradients, stability, bad input."""

import itertools
import math

import pytest
import torch
import torchcrf
from hypothesis import given, settings
from hypothesis import strategies as st

import objlib
from objlib.structured import (
    PAD_TAG,
    _backward_logspace,
    _backward_matmul,
    _forward_logspace,
    _forward_matmul,
    _log_partition_logspace,
    crf_decode,
    crf_hamming_hinge,
    crf_log_partition,
    crf_nll,
    crf_score,
    structured_hinge,
)

F64 = torch.float64


def _random_crf(batch, length, num_tags, *, seed=0, ends=True, masked=True, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    emissions = scale * torch.randn(batch, length, num_tags, generator=g, dtype=F64)
    transitions = torch.randn(num_tags, num_tags, generator=g, dtype=F64)
    start = torch.randn(num_tags, generator=g, dtype=F64) if ends else None
    end = torch.randn(num_tags, generator=g, dtype=F64) if ends else None
    tags = torch.randint(0, num_tags, (batch, length), generator=g)
    mask = None
    if masked:
        lengths = torch.randint(1, length + 1, (batch,), generator=g)
        lengths[0] = length
        mask = torch.arange(length) < lengths[:, None]
    return emissions, tags, transitions, start, end, mask


# ---------------------------------------------------------------------------------------
# brute force: enumerate every path of every sequence
# ---------------------------------------------------------------------------------------


def _length(mask, b, length):
    return length if mask is None else int(mask[b].sum())


def _path_score_loop(emissions, path, transitions, start, end, b):
    score = emissions[b, 0, path[0]] + (0 if start is None else start[path[0]])
    for t in range(1, len(path)):
        score = score + transitions[path[t - 1], path[t]] + emissions[b, t, path[t]]
    return score + (0 if end is None else end[path[-1]])


def _all_paths(emissions, transitions, start, end, mask, b):
    n = _length(mask, b, emissions.shape[1])
    paths = list(itertools.product(range(emissions.shape[2]), repeat=n))
    scores = torch.stack([_path_score_loop(emissions, p, transitions, start, end, b) for p in paths])
    return paths, scores


def _brute_log_z(emissions, transitions, start, end, mask):
    return torch.stack(
        [
            torch.logsumexp(_all_paths(emissions, transitions, start, end, mask, b)[1], 0)
            for b in range(emissions.shape[0])
        ]
    )


SIZES = [(1, 1), (1, 4), (2, 1), (2, 5), (3, 1), (3, 3), (3, 5)]  # (K, T), K^T <= 243


# ---------------------------------------------------------------------------------------
# log partition, score, nll
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_tags,length", SIZES)
@pytest.mark.parametrize("ends,masked", [(True, True), (False, False), (True, False), (False, True)])
def test_log_partition_matches_enumeration(num_tags, length, ends, masked):
    emissions, _, transitions, start, end, mask = _random_crf(
        4, length, num_tags, seed=num_tags * 10 + length, ends=ends, masked=masked
    )
    ours = crf_log_partition(emissions, transitions, start=start, end=end, mask=mask)
    ref = _brute_log_z(emissions, transitions, start, end, mask)
    assert ours.shape == (4,) and ours.dtype == F64
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("num_tags,length", [(2, 4), (3, 5)])
def test_score_and_nll_match_enumeration(num_tags, length):
    emissions, tags, transitions, start, end, mask = _random_crf(5, length, num_tags, seed=7)
    if mask is not None:
        tags = tags.masked_fill(~mask, PAD_TAG)  # padded tags are ignored, whatever they hold
    score = crf_score(emissions, tags, transitions, start=start, end=end, mask=mask)
    nll = crf_nll(emissions, tags, transitions, start=start, end=end, mask=mask, reduction="none")
    for b in range(5):
        path = tuple(tags[b, : _length(mask, b, length)].tolist())
        paths, scores = _all_paths(emissions, transitions, start, end, mask, b)
        ref_score = scores[paths.index(path)]
        assert score[b].item() == pytest.approx(ref_score.item(), abs=1e-12)
        assert nll[b].item() == pytest.approx((torch.logsumexp(scores, 0) - ref_score).item(), abs=1e-12)


def test_probabilities_of_all_paths_sum_to_one():
    emissions, _, transitions, start, end, mask = _random_crf(1, 4, 3, seed=8, masked=False)
    paths = torch.tensor(list(itertools.product(range(3), repeat=4)))
    nll = crf_nll(emissions.expand(len(paths), -1, -1), paths, transitions, start=start, end=end, reduction="none")
    assert bool((nll >= 0).all())
    assert torch.exp(-nll).sum().item() == pytest.approx(1.0, abs=1e-12)


def test_gradient_of_log_partition_is_the_tag_marginals():
    emissions, _, transitions, start, end, mask = _random_crf(3, 4, 3, seed=9)
    emissions.requires_grad_(True)
    (grad,) = torch.autograd.grad(
        crf_log_partition(emissions, transitions, start=start, end=end, mask=mask).sum(), emissions
    )
    marginals = torch.zeros_like(emissions)
    for b in range(3):
        paths, scores = _all_paths(emissions.detach(), transitions, start, end, mask, b)
        probs = torch.softmax(scores, 0)
        for p, prob in zip(paths, probs, strict=True):
            for t, k in enumerate(p):
                marginals[b, t, k] += prob
    torch.testing.assert_close(grad, marginals, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("masked", [True, False])
def test_nll_matches_pytorch_crf(reduction, masked):
    emissions, tags, transitions, start, end, mask = _random_crf(8, 7, 5, seed=10, masked=masked)
    crf = torchcrf.CRF(5, batch_first=True).to(F64)
    with torch.no_grad():
        crf.transitions.copy_(transitions)
        crf.start_transitions.copy_(start)
        crf.end_transitions.copy_(end)
    ref = -crf(
        emissions,
        tags,
        mask=torch.ones_like(tags, dtype=torch.bool) if mask is None else mask,
        reduction=reduction,
    )
    ours = crf_nll(emissions, tags, transitions, start=start, end=end, mask=mask, reduction=reduction)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    # torchcrf's "token_mean" is our "sum" over the number of real tokens
    if masked:
        token_mean = -crf(emissions, tags, mask=mask, reduction="token_mean")
        ours_sum = crf_nll(emissions, tags, transitions, start=start, end=end, mask=mask, reduction="sum")
        torch.testing.assert_close(ours_sum / mask.sum(), token_mean, rtol=1e-12, atol=1e-12)


def test_nll_gradients_match_pytorch_crf():
    emissions, tags, transitions, start, end, mask = _random_crf(6, 9, 4, seed=11)
    crf = torchcrf.CRF(4, batch_first=True).to(F64)
    with torch.no_grad():
        crf.transitions.copy_(transitions)
        crf.start_transitions.copy_(start)
        crf.end_transitions.copy_(end)
    x1 = emissions.clone().requires_grad_(True)
    x2 = emissions.clone().requires_grad_(True)
    params = [p.clone().requires_grad_(True) for p in (transitions, start, end)]
    (-crf(x2, tags, mask=mask, reduction="mean")).backward()
    crf_nll(x1, tags, params[0], start=params[1], end=params[2], mask=mask).backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(params, (crf.transitions, crf.start_transitions, crf.end_transitions), strict=True):
        torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-10, atol=1e-12)


def test_nll_gradcheck():
    emissions, tags, transitions, start, end, mask = _random_crf(3, 4, 3, seed=12)
    inputs = tuple(x.clone().requires_grad_(True) for x in (emissions, transitions, start, end))
    assert torch.autograd.gradcheck(
        lambda e, a, b, c: crf_nll(e, tags, a, start=b, end=c, mask=mask, reduction="sum"), inputs
    )


def test_fast_and_textbook_recursions_agree_and_fallback_is_exact():
    emissions, _, transitions, start, _, _ = _random_crf(5, 12, 6, seed=13)
    fast = _forward_matmul(emissions, transitions, start)
    torch.testing.assert_close(fast, _forward_logspace(emissions, transitions, start), rtol=1e-12, atol=1e-12)
    # transition scores spanning far more than float64's exponent range: the product form
    # would underflow, so it declines and the log-space recursion gives the exact answer
    wide = transitions.clone()
    wide[0, 1:] = -2000.0
    emissions[:, :, 1:] -= 1500.0  # the best path is pushed through tag 0
    assert _forward_matmul(emissions[:2, :4, :3], wide[:3, :3], start[:3]) is None
    ours = crf_log_partition(emissions[:2, :4, :3], wide[:3, :3], start=start[:3])
    ref = _brute_log_z(emissions[:2, :4, :3], wide[:3, :3], start[:3], None, None)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-9)
    inputs = (emissions[:2, :4, :3].clone().requires_grad_(True), wide[:3, :3].clone().requires_grad_(True))
    assert torch.autograd.gradcheck(lambda e, a: crf_log_partition(e, a).sum(), inputs)


def test_backward_recursions_agree():
    emissions, _, transitions, _, end, mask = _random_crf(6, 9, 4, seed=21)
    for m in (mask, None):
        fast = _backward_matmul(emissions, transitions, end, m)
        torch.testing.assert_close(fast, _backward_logspace(emissions, transitions, end, m), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize("ends", [True, False])
def test_custom_gradient_equals_autograd_through_the_textbook_recursion(masked, ends):
    emissions, _, transitions, start, end, mask = _random_crf(7, 8, 5, seed=22, masked=masked, ends=ends)
    lengths = None if mask is None else mask.sum(1)
    leaves = [x.clone().requires_grad_(True) for x in (emissions, transitions, start, end) if x is not None]
    weights = torch.randn(7, dtype=F64)  # an arbitrary upstream gradient

    def unpack(xs):
        return (xs[0], xs[1], xs[2], xs[3]) if ends else (xs[0], xs[1], None, None)

    e, a, b, c = unpack(leaves)
    ours = torch.autograd.grad((crf_log_partition(e, a, start=b, end=c, mask=mask) * weights).sum(), leaves)
    e_ref = e if mask is None else e.masked_fill(~mask.unsqueeze(2), 0.0)
    ref = torch.autograd.grad((_log_partition_logspace(e_ref, a, b, c, lengths) * weights).sum(), leaves)
    for g_ours, g_ref in zip(ours, ref, strict=True):
        torch.testing.assert_close(g_ours, g_ref, rtol=1e-10, atol=1e-12)


def test_second_derivatives():
    emissions, _, transitions, start, end, mask = _random_crf(2, 4, 3, seed=23)
    inputs = tuple(x.clone().requires_grad_(True) for x in (emissions, transitions, start, end))
    assert torch.autograd.gradgradcheck(lambda e, a, b, c: crf_log_partition(e, a, start=b, end=c, mask=mask), inputs)


def test_padded_positions_are_ignored_whatever_they_hold():
    emissions, tags, transitions, start, end, mask = _random_crf(5, 6, 3, seed=24)
    dirty = emissions.masked_fill(~mask.unsqueeze(2), math.nan).requires_grad_(True)
    clean = emissions.masked_fill(~mask.unsqueeze(2), 0.0).requires_grad_(True)
    kw = dict(start=start, end=end, mask=mask)
    tags = tags.masked_fill(~mask, 99)
    nll_dirty = crf_nll(dirty, tags, transitions, **kw)
    nll_dirty.backward()
    crf_nll(clean, tags, transitions, **kw).backward()
    torch.testing.assert_close(nll_dirty, crf_nll(clean, tags, transitions, **kw))
    torch.testing.assert_close(dirty.grad, clean.grad)
    assert torch.equal(crf_decode(dirty, transitions, **kw), crf_decode(clean, transitions, **kw))


def test_forbidden_transitions_of_minus_infinity():
    emissions, _, transitions, _, _, _ = _random_crf(2, 4, 3, seed=14, ends=False, masked=False)
    transitions[:, 2] = -math.inf  # tag 2 can only start a sequence
    ours = crf_log_partition(emissions, transitions)
    ref = _brute_log_z(emissions, transitions, None, None, None)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    assert bool((crf_decode(emissions, transitions)[:, 1:] != 2).all())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_huge_emissions_stay_finite(dtype):
    emissions, tags, transitions, start, end, mask = _random_crf(4, 5, 3, seed=15, scale=1e4)
    inputs = [x.to(dtype).requires_grad_(True) for x in (emissions, transitions, start, end)]
    nll = crf_nll(inputs[0], tags, inputs[1], start=inputs[2], end=inputs[3], mask=mask)
    nll.backward()
    # non-negative up to rounding of scores of size 5e4
    assert torch.isfinite(nll) and nll.item() >= -5e4 * 10 * torch.finfo(dtype).eps
    assert all(bool(torch.isfinite(x.grad).all()) for x in inputs)
    # the float64 result agrees with the enumeration even at this scale
    if dtype == torch.float64:
        ref = _brute_log_z(emissions[:1], transitions, start, end, mask[:1])
        z = crf_log_partition(emissions[:1], transitions, start=start, end=end, mask=mask[:1])
        torch.testing.assert_close(z, ref, rtol=1e-13, atol=0.0)


def test_float32_inputs_and_promotion():
    emissions, tags, transitions, start, end, mask = _random_crf(3, 5, 3, seed=16)
    z32 = crf_log_partition(emissions.float(), transitions.float(), start=start.float(), end=end.float(), mask=mask)
    assert z32.dtype == torch.float32
    torch.testing.assert_close(
        z32.double(),
        crf_log_partition(emissions, transitions, start=start, end=end, mask=mask),
        rtol=1e-5,
        atol=1e-5,
    )
    mixed = crf_log_partition(emissions.float(), transitions, mask=mask)  # float32 and float64 -> float64
    assert mixed.dtype == F64
    listed = crf_log_partition(emissions.tolist(), transitions.tolist(), mask=mask.int().tolist())
    assert listed.dtype == torch.get_default_dtype()  # Python floats become torch's default dtype
    torch.testing.assert_close(
        listed.double(), crf_log_partition(emissions, transitions, mask=mask), rtol=1e-5, atol=1e-5
    )


# ---------------------------------------------------------------------------------------
# Viterbi
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_tags,length", SIZES)
@pytest.mark.parametrize("ends,masked", [(True, True), (False, False)])
def test_decode_matches_brute_force_argmax(num_tags, length, ends, masked):
    emissions, _, transitions, start, end, mask = _random_crf(
        6, length, num_tags, seed=100 + num_tags * 10 + length, ends=ends, masked=masked
    )
    ours = crf_decode(emissions, transitions, start=start, end=end, mask=mask)
    assert ours.shape == (6, length) and ours.dtype == torch.long
    for b in range(6):
        n = _length(mask, b, length)
        paths, scores = _all_paths(emissions, transitions, start, end, mask, b)
        assert tuple(ours[b, :n].tolist()) == paths[int(scores.argmax())]
        assert bool((ours[b, n:] == PAD_TAG).all())


def test_decode_matches_pytorch_crf():
    emissions, _, transitions, start, end, mask = _random_crf(10, 12, 6, seed=17)
    crf = torchcrf.CRF(6, batch_first=True).to(F64)
    with torch.no_grad():
        crf.transitions.copy_(transitions)
        crf.start_transitions.copy_(start)
        crf.end_transitions.copy_(end)
    ours = crf_decode(emissions, transitions, start=start, end=end, mask=mask)
    theirs = crf.decode(emissions, mask=mask)
    for b in range(10):
        assert ours[b, : len(theirs[b])].tolist() == theirs[b]


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000))
def test_viterbi_path_scores_at_least_the_gold_and_has_lowest_nll(seed):
    emissions, tags, transitions, start, end, mask = _random_crf(4, 6, 3, seed=seed)
    best = crf_decode(emissions, transitions, start=start, end=end, mask=mask)
    kw = dict(start=start, end=end, mask=mask)
    assert bool(
        (crf_score(emissions, best, transitions, **kw) >= crf_score(emissions, tags, transitions, **kw) - 1e-12).all()
    )
    assert bool((crf_nll(emissions, best, transitions, **kw, reduction="none") >= 0).all())


# ---------------------------------------------------------------------------------------
# structured hinge
# ---------------------------------------------------------------------------------------


def _random_hinge(n=6, y=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, y, generator=g, dtype=F64)
    target = torch.randint(0, y, (n,), generator=g)
    task_loss = torch.rand(n, y, generator=g, dtype=F64) * 3
    task_loss[torch.arange(n), target] = 0
    return scores, target, task_loss


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_structured_hinge_matches_formula(reduction):
    scores, target, task_loss = _random_hinge(seed=1)
    per_example = torch.tensor(
        [max(float(task_loss[i, y] + scores[i, y]) for y in range(5)) - float(scores[i, target[i]]) for i in range(6)],
        dtype=F64,
    )
    ref = {"mean": per_example.mean(), "sum": per_example.sum(), "none": per_example}[reduction]
    torch.testing.assert_close(
        structured_hinge(scores, target, task_loss, reduction=reduction), ref, rtol=1e-12, atol=1e-12
    )


@given(seed=st.integers(0, 10_000))
def test_structured_hinge_bounds_the_task_loss_of_the_prediction(seed):
    scores, target, task_loss = _random_hinge(seed=seed)
    loss = structured_hinge(scores, target, task_loss, reduction="none")
    predicted = scores.argmax(1)
    assert bool((loss >= task_loss[torch.arange(6), predicted] - 1e-12).all())
    assert bool((loss >= 0).all())
    # zero once the target beats every candidate by its task loss
    margin_met = scores.clone()
    margin_met[torch.arange(6), target] = (scores + task_loss).amax(1) + 0.1
    assert structured_hinge(margin_met, target, task_loss).item() == 0.0


def test_structured_hinge_gradcheck_and_extremes():
    scores, target, task_loss = _random_hinge(seed=2)
    scores.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: structured_hinge(s, target, task_loss), (scores,))
    big = (1e4 * torch.randn(6, 5)).requires_grad_(True)
    loss = structured_hinge(big, target, task_loss.float())
    loss.backward()
    assert torch.isfinite(loss) and bool(torch.isfinite(big.grad).all())


@pytest.mark.parametrize("num_tags,length", [(2, 4), (3, 3), (3, 5)])
@pytest.mark.parametrize("ends,masked", [(True, True), (False, False)])
def test_crf_hamming_hinge_is_structured_hinge_over_all_paths(num_tags, length, ends, masked):
    emissions, tags, transitions, start, end, mask = _random_crf(
        5, length, num_tags, seed=200 + num_tags + length, ends=ends, masked=masked
    )
    ours = crf_hamming_hinge(emissions, tags, transitions, start=start, end=end, mask=mask, reduction="none")
    for b in range(5):
        n = _length(mask, b, length)
        paths, scores = _all_paths(emissions, transitions, start, end, mask, b)
        gold = tuple(tags[b, :n].tolist())
        hamming = torch.tensor([[sum(a != c for a, c in zip(p, gold, strict=True)) for p in paths]], dtype=F64)
        ref = structured_hinge(scores[None], torch.tensor([paths.index(gold)]), hamming)
        assert ours[b].item() == pytest.approx(ref.item(), abs=1e-12)


def test_crf_hamming_hinge_gradcheck_and_zero_at_a_wide_margin():
    emissions, tags, transitions, start, end, mask = _random_crf(3, 5, 3, seed=20)
    inputs = tuple(x.clone().requires_grad_(True) for x in (emissions, transitions, start, end))
    assert torch.autograd.gradcheck(
        lambda e, a, b, c: crf_hamming_hinge(e, tags, a, start=b, end=c, mask=mask, reduction="sum"), inputs
    )
    confident = emissions + 30.0 * torch.nn.functional.one_hot(tags, 3)
    loss = crf_hamming_hinge(confident, tags, transitions, start=start, end=end, mask=mask, reduction="none")
    assert bool((loss == 0).all())
    # and it refuses what every CRF function refuses
    with pytest.raises(ValueError, match="tags"):
        crf_hamming_hinge(emissions, tags + 3, transitions)


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------


def test_crf_refuses_bad_input():
    emissions, tags, transitions, start, end, mask = _random_crf(2, 4, 3, seed=18)
    kw = dict(start=start, end=end, mask=mask)
    with pytest.raises(ValueError, match="emissions"):
        crf_log_partition(emissions[0], transitions)
    with pytest.raises(ValueError, match="emissions"):
        crf_log_partition(emissions[:, :0], transitions)
    with pytest.raises(ValueError, match="transitions"):
        crf_log_partition(emissions, transitions[:2])
    with pytest.raises(ValueError, match="start"):
        crf_log_partition(emissions, transitions, start=start[:2])
    with pytest.raises(ValueError, match="end"):
        crf_nll(emissions, tags, transitions, end=torch.zeros(3, 1))
    with pytest.raises(ValueError, match="mask"):
        crf_nll(emissions, tags, transitions, mask=mask[:, :3])
    first_off = mask.clone()
    first_off[1, 0] = False
    with pytest.raises(ValueError, match=r"mask\[:, 0\]"):
        crf_nll(emissions, tags, transitions, mask=first_off)
    holes = torch.ones(2, 4, dtype=torch.bool)
    holes[0, 2] = False
    with pytest.raises(ValueError, match="prefix"):
        crf_decode(emissions, transitions, mask=holes)
    with pytest.raises(ValueError, match="mask"):
        crf_nll(emissions, tags, transitions, mask=2 * mask.long())
    with pytest.raises(ValueError, match="tags"):
        crf_nll(emissions, tags[:, :3], transitions, **kw)
    bad_tags = tags.clone()
    bad_tags[0, 0] = 3
    with pytest.raises(ValueError, match="tags"):
        crf_nll(emissions, bad_tags, transitions, **kw)
    bad_tags[0, 0] = -1
    with pytest.raises(ValueError, match="tags"):
        crf_score(emissions, bad_tags, transitions, **kw)
    with pytest.raises(ValueError, match="reduction"):
        crf_nll(emissions, tags, transitions, **kw, reduction="token_mean")
    with pytest.raises(TypeError, match="emissions"):
        crf_decode("abc", transitions)


def test_crf_value_checks_can_be_switched_off():
    emissions, tags, transitions, start, end, mask = _random_crf(2, 4, 3, seed=19)
    with objlib.value_checks(False):
        fast = crf_nll(emissions, tags, transitions, start=start, end=end, mask=mask)
    torch.testing.assert_close(fast, crf_nll(emissions, tags, transitions, start=start, end=end, mask=mask))


def test_structured_hinge_refuses_bad_input():
    scores, target, task_loss = _random_hinge(seed=3)
    with pytest.raises(ValueError, match="scores"):
        structured_hinge(scores[0], target[:1], task_loss[0])
    with pytest.raises(ValueError, match="scores"):
        structured_hinge(torch.empty(0, 5), torch.empty(0), torch.empty(0, 5))
    with pytest.raises(ValueError, match="target"):
        structured_hinge(scores, target[:3], task_loss)
    with pytest.raises(ValueError, match="task_loss"):
        structured_hinge(scores, target, task_loss[:, :4])
    bad_target = target.clone()
    bad_target[0] = 5
    with pytest.raises(ValueError, match="target"):
        structured_hinge(scores, bad_target, task_loss)
    negative = task_loss.clone()
    negative[0, (target[0] + 1) % 5] = -0.5
    with pytest.raises(ValueError, match="task_loss"):
        structured_hinge(scores, target, negative)
    nonzero = task_loss.clone()
    nonzero[1, target[1]] = 0.2
    with pytest.raises(ValueError, match="task_loss"):
        structured_hinge(scores, target, nonzero)
    with pytest.raises(ValueError, match="reduction"):
        structured_hinge(scores, target, task_loss, reduction="max")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [1e4, 1e10, 1e30])
def test_gradients_stay_normalised_at_huge_emissions(dtype, scale):
    # beyond the contract's 1e4 the values stayed finite but the product-form gradients lost their
    # normalisation (inf at 1e10 in float32, rows summing to 0 at 1e30): now they are the
    # textbook recursion's, marginals that sum to 1 at every unmasked step
    emissions, tags, transitions, start, end, mask = _random_crf(3, 5, 4, seed=31)
    emissions = (scale * emissions).to(dtype).requires_grad_()
    transitions = transitions.to(dtype).requires_grad_()
    kw = dict(start=start.to(dtype), end=end.to(dtype), mask=mask)
    log_z = crf_log_partition(emissions, transitions, **kw)
    assert torch.isfinite(log_z).all()
    g_emissions, g_transitions = torch.autograd.grad(log_z.sum(), (emissions, transitions))
    assert torch.isfinite(g_emissions).all() and torch.isfinite(g_transitions).all()
    step_sums = g_emissions.sum(-1)
    torch.testing.assert_close(step_sums[mask], torch.ones_like(step_sums[mask]), rtol=0, atol=1e-5)
    transitions_taken = (mask.sum(1) - 1).sum().to(dtype)  # one pair marginal per step after the first
    torch.testing.assert_close(g_transitions.sum(), transitions_taken, rtol=1e-5, atol=0)
    # the same numbers as autograd through the textbook recursion
    from objlib.structured import _log_partition_logspace

    leaf_e = emissions.detach().masked_fill(~mask.unsqueeze(2), 0.0).requires_grad_()
    leaf_t = transitions.detach().requires_grad_()
    ref = _log_partition_logspace(leaf_e, leaf_t, kw["start"], kw["end"], mask.sum(1))
    ref_e, ref_t = torch.autograd.grad(ref.sum(), (leaf_e, leaf_t))
    tol = 1e-4 if dtype == torch.float32 else 1e-9
    torch.testing.assert_close(g_emissions, ref_e, rtol=0, atol=tol)
    torch.testing.assert_close(g_transitions, ref_t, rtol=0, atol=tol * 10)


def test_decode_refuses_nan_and_nll_reads_no_data_with_checks_off():
    emissions, tags, transitions, _, _, mask = _random_crf(2, 4, 3, seed=32)
    bad = emissions.clone()
    bad[0, 1, 2] = math.nan
    with pytest.raises(ValueError, match="emissions must not contain NaN"):
        crf_decode(bad, transitions, mask=mask)
    with objlib.value_checks(False):
        meta = [x.to("meta") for x in (emissions, tags, transitions)]
        assert crf_nll(*meta).device.type == "meta"  # the fast path's host reads are skipped
        assert crf_log_partition(meta[0], meta[2]).shape == (2,)
