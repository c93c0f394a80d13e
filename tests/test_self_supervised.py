"""Tests for objlib.self_supervised against brute-force loops, torch, pytorch-metric-learning and
optax (float64), and, with two gloo processes, the multi-process form of the contrastive losses."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import objlib
from objlib import _distributed_workers as workers
from objlib.classification import logistic
from objlib.self_supervised import (
    alignment,
    clip_loss,
    info_nce,
    masked_token_loss,
    next_token_loss,
    nt_xent,
    uniformity,
)

F64 = torch.float64


def randn(*shape, seed, scale=1.0):
    return scale * torch.randn(*shape, dtype=F64, generator=torch.Generator().manual_seed(seed))


def cosine(a, b):
    return float(a @ b / (a.norm() * b.norm()))


def picked_out_of(scores, positive=0):
    """-log softmax(scores)[positive] in plain Python floats: the brute-force cross-entropy."""
    top = max(scores)
    return -(scores[positive] - top - math.log(sum(math.exp(s - top) for s in scores)))


# ---------------------------------------------------------------------------------------
# brute-force references
# ---------------------------------------------------------------------------------------


def info_nce_loop(query, positive, negatives, tau):
    """Per query: the positive first, then its negatives (the others' positives if None)."""
    losses = []
    for i, q in enumerate(query):
        if negatives is None:
            candidates = [positive[i]] + [p for j, p in enumerate(positive) if j != i]
        elif negatives.dim() == 2:
            candidates = [positive[i], *negatives]
        else:
            candidates = [positive[i], *negatives[i]]
        losses.append(picked_out_of([cosine(q, c) / tau for c in candidates]))
    return torch.tensor(losses, dtype=F64)


def nt_xent_loop(z1, z2, tau):
    views = torch.cat([z1, z2])
    n = len(z1)
    losses = []
    for i, v in enumerate(views):
        partner = (i + n) % (2 * n)
        others = [k for k in range(2 * n) if k != i]
        scores = [cosine(v, views[k]) / tau for k in others]
        losses.append(picked_out_of(scores, others.index(partner)))
    return torch.tensor(losses, dtype=F64)


def clip_loop(images, texts, scale):
    losses = []
    for i in range(len(images)):
        to_texts = [scale * cosine(images[i], t) for t in texts]
        to_images = [scale * cosine(texts[i], x) for x in images]
        losses.append(0.5 * (picked_out_of(to_texts, i) + picked_out_of(to_images, i)))
    return torch.tensor(losses, dtype=F64)


# ---------------------------------------------------------------------------------------
# masked_token_loss
# ---------------------------------------------------------------------------------------


def token_batch(seed, batch=3, length=7, vocab=5):
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(batch, length, vocab, dtype=F64, generator=g)
    tokens = torch.randint(0, vocab, (batch, length), generator=g)
    mask = torch.rand(batch, length, generator=g) < 0.4
    mask[0, 0] = True
    return logits, tokens, mask


def test_masked_token_loss_matches_cross_entropy_on_the_masked_positions():
    logits, tokens, mask = token_batch(1)
    targets = torch.where(mask, tokens, -100)  # what Hugging Face passes: unmasked targets are -100
    per_token = masked_token_loss(logits, targets, mask, reduction="none")
    loop = torch.zeros(mask.shape, dtype=F64)
    for b, t in mask.nonzero().tolist():
        loop[b, t] = picked_out_of(logits[b, t].tolist(), int(tokens[b, t]))
    torch.testing.assert_close(per_token, loop, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(masked_token_loss(logits, targets, mask), F.cross_entropy(logits[mask], tokens[mask]))
    torch.testing.assert_close(masked_token_loss(logits, tokens, mask, reduction="sum"), loop.sum())
    # the mean is over masked tokens, not sequences: F.cross_entropy with ignore_index agrees
    ref = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=-100)
    torch.testing.assert_close(masked_token_loss(logits, targets, mask), ref, rtol=1e-12, atol=1e-14)


def test_masked_token_loss_gradcheck_and_zero_gradient_off_the_mask():
    logits, tokens, mask = token_batch(2, batch=2, length=4, vocab=3)
    logits.requires_grad_()
    assert torch.autograd.gradcheck(lambda z: masked_token_loss(z, tokens, mask), (logits,))
    assert torch.autograd.gradcheck(lambda z: masked_token_loss(z, tokens, mask, reduction="none"), (logits,))
    masked_token_loss(logits, tokens, mask).backward()
    assert (logits.grad[~mask] == 0).all() and (logits.grad[mask] != 0).any()


def test_masked_token_loss_empty_mask():
    logits, tokens, mask = token_batch(3)
    nothing = torch.zeros_like(mask)
    with pytest.raises(ValueError, match="mask has no True entry"):
        masked_token_loss(logits, tokens, nothing)
    assert masked_token_loss(logits, tokens, nothing, reduction="sum").item() == 0
    with objlib.value_checks(False):
        assert math.isnan(masked_token_loss(logits, tokens, nothing).item())


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda z, y, m: (z[0], y, m), ValueError, "logits must have 3 dimension"),
        (lambda z, y, m: (z, y[:, :-1], m), ValueError, r"targets must have shape \(B, T\)"),
        (lambda z, y, m: (z, y, m[:1]), ValueError, r"mask must have shape \(B, T\)"),
        (lambda z, y, m: (z, y, m.long()), TypeError, "mask must be a bool tensor"),
        (lambda z, y, m: (z, torch.where(m, 9, y), m), ValueError, "targets must hold class indices"),
        (lambda z, y, m: (z, y + 0.5, m), ValueError, "targets must hold integer"),
        (lambda z, y, m: (torch.where(m[..., None], math.nan, z), y, m), ValueError, "logits must not hold NaN"),
        (lambda z, y, m: (z[:, :0], y[:, :0], m[:, :0]), ValueError, "logits is empty"),
        (lambda z, y, m: ("logits", y, m), TypeError, "logits must be a tensor"),
    ],
)
def test_masked_token_loss_refuses_bad_input(change, error, match):
    with pytest.raises(error, match=match):
        masked_token_loss(*change(*token_batch(4)))


def test_masked_token_loss_ignores_unmasked_targets_but_nan_logits_propagate_without_checks():
    logits, tokens, mask = token_batch(5)
    junk = torch.where(mask, tokens, 10**6)  # out of range, but never predicted
    assert torch.equal(masked_token_loss(logits, junk, mask), masked_token_loss(logits, tokens, mask))
    logits[0, 0, 1] = math.nan  # position (0, 0) is masked
    with objlib.value_checks(False):
        assert math.isnan(masked_token_loss(logits, tokens, mask).item())


# ---------------------------------------------------------------------------------------
# next_token_loss
# ---------------------------------------------------------------------------------------


def test_next_token_loss_matches_shifted_cross_entropy_and_a_loop():
    logits, tokens, _ = token_batch(6)
    batch, length, vocab = logits.shape
    ref = F.cross_entropy(logits[:, :-1].reshape(-1, vocab), tokens[:, 1:].reshape(-1))
    torch.testing.assert_close(next_token_loss(logits, tokens), ref, rtol=1e-12, atol=1e-14)
    loop = torch.tensor(
        [
            [picked_out_of(logits[b, t].tolist(), int(tokens[b, t + 1])) for t in range(length - 1)]
            for b in range(batch)
        ],
        dtype=F64,
    )
    torch.testing.assert_close(next_token_loss(logits, tokens, reduction="none"), loop, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(next_token_loss(logits, tokens, reduction="sum"), loop.sum(), rtol=1e-12, atol=1e-12)


def test_next_token_loss_leaves_padding_out_of_the_mean():
    logits, tokens, _ = token_batch(7, length=9)
    pad = 0  # a real vocabulary index used as padding
    tokens[0, 5:] = pad
    tokens[1, 2:] = pad
    per = next_token_loss(logits, tokens, ignore_index=pad, reduction="none")
    kept = tokens[:, 1:] != pad
    assert (per[~kept] == 0).all() and (per[kept] > 0).all()
    mean = next_token_loss(logits, tokens, ignore_index=pad)
    torch.testing.assert_close(mean, per.sum() / kept.sum(), rtol=1e-12, atol=1e-14)
    ref = F.cross_entropy(logits[:, :-1].reshape(-1, 5), tokens[:, 1:].reshape(-1), ignore_index=pad)
    torch.testing.assert_close(mean, ref, rtol=1e-12, atol=1e-14)
    # -100 as padding, outside the vocabulary, is accepted only when it is ignore_index
    padded = torch.where(tokens == pad, -100, tokens)
    assert torch.isfinite(next_token_loss(logits, padded, ignore_index=-100))
    with pytest.raises(ValueError, match="tokens must hold class indices"):
        next_token_loss(logits, padded)


def test_next_token_loss_of_uniform_logits_is_log_vocabulary():
    tokens = torch.randint(0, 11, (4, 6))
    loss = next_token_loss(torch.zeros(4, 6, 11, dtype=F64), tokens)
    assert abs(loss.exp().item() - 11) < 1e-12  # perplexity = vocabulary size


def test_next_token_loss_gradcheck_and_no_gradient_from_the_last_position():
    logits, tokens, _ = token_batch(8, batch=2, length=4, vocab=3)
    logits.requires_grad_()
    assert torch.autograd.gradcheck(lambda z: next_token_loss(z, tokens), (logits,))
    tokens[0, 2] = 2
    assert torch.autograd.gradcheck(lambda z: next_token_loss(z, tokens, ignore_index=2, reduction="none"), (logits,))
    next_token_loss(logits, tokens).backward()
    assert (logits.grad[:, -1] == 0).all()


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((torch.zeros(2, 1, 3), [[0], [1]]), {}, ValueError, "at least 2 positions"),
        ((torch.zeros(2, 3, 3), [[0, 1, 2]]), {}, ValueError, r"tokens must have shape \(B, T\)"),
        ((torch.zeros(1, 3, 3), [[0, 1, 3]]), {}, ValueError, "tokens must hold class indices"),
        ((torch.zeros(1, 3, 3), [[0, 1, 1]]), {"ignore_index": 1}, ValueError, "every target equals ignore_index"),
        ((torch.zeros(1, 3, 3), [[0, 1, 1]]), {"ignore_index": 1.0}, TypeError, "ignore_index must be an int"),
        ((torch.full((1, 3, 3), math.inf), [[0, 1, 1]]), {}, ValueError, "logits must not hold NaN or \\+inf"),
        ((torch.zeros(1, 3, 3), [[0, 1, 1]]), {"reduction": "batchmean"}, ValueError, "reduction"),
    ],
)
def test_next_token_loss_refuses_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        next_token_loss(*args, **kwargs)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_token_losses_finite_at_extreme_logits(dtype):
    logits = torch.tensor(
        [[[1e4, -1e4, 0.0], [-1e4, 1e4, -math.inf], [0.0, 0.0, 0.0]]], dtype=dtype, requires_grad=True
    )
    tokens = torch.tensor([[0, 0, 1]])
    value = next_token_loss(logits, tokens)  # predicts 0 from row 0 (sure of 0), 1 from row 1 (sure of 1)
    value.backward()
    assert value.item() == 0 and torch.isfinite(logits.grad).all()
    wrong = masked_token_loss(logits, torch.tensor([[1, 0, 2]]), torch.tensor([[True, True, False]]))
    assert wrong.item() == pytest.approx(2e4)  # both masked tokens are 2e4 nats from the argmax


def test_token_losses_accept_lists_and_keep_dtype():
    out = next_token_loss([[[0.0, 1.0], [1.0, 0.0]]], [[1, 0]])
    assert out.dtype == torch.get_default_dtype()
    out = masked_token_loss(np.zeros((1, 2, 3)), np.array([[0, 2]]), np.array([[True, False]]))
    assert out.dtype == F64 and abs(out.item() - math.log(3)) < 1e-12


# ---------------------------------------------------------------------------------------
# info_nce
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("negatives_shape", [None, (6, 5), (4, 6, 5)])
def test_info_nce_matches_a_brute_force_loop(negatives_shape):
    q, p = randn(4, 5, seed=1), randn(4, 5, seed=2)
    negatives = None if negatives_shape is None else randn(*negatives_shape, seed=3)
    loop = info_nce_loop(q, p, negatives, 0.3)
    out = info_nce(q, p, negatives, temperature=0.3, reduction="none")
    torch.testing.assert_close(out, loop, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(info_nce(q, p, negatives, temperature=0.3), loop.mean(), rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(info_nce(q, p, negatives, temperature=0.3, reduction="sum"), loop.sum())


def test_info_nce_in_batch_is_cross_entropy_of_the_similarity_matrix():
    q, p = randn(16, 8, seed=4), randn(16, 8, seed=5)
    similarity = F.normalize(q, dim=1) @ F.normalize(p, dim=1).T
    ref = F.cross_entropy(similarity / 0.07, torch.arange(16))
    torch.testing.assert_close(info_nce(q, p, temperature=0.07), ref, rtol=1e-12, atol=1e-13)


def test_info_nce_with_one_negative_is_the_logistic_loss_of_the_margin():
    q, p, n = randn(10, 3, seed=6), randn(10, 3, seed=7), randn(10, 1, 3, seed=8)
    margin = (F.cosine_similarity(q, p) - F.cosine_similarity(q, n[:, 0])) / 0.5
    ref = logistic(margin, torch.ones(10, dtype=F64), reduction="none")
    torch.testing.assert_close(info_nce(q, p, n, temperature=0.5, reduction="none"), ref, rtol=1e-12, atol=1e-14)


def test_info_nce_shared_queue_equals_the_same_negatives_for_every_query():
    q, p, queue = randn(5, 4, seed=9), randn(5, 4, seed=10), randn(7, 4, seed=11)
    per_query = queue.expand(5, 7, 4)
    torch.testing.assert_close(info_nce(q, p, queue, reduction="none"), info_nce(q, p, per_query, reduction="none"))


def test_info_nce_is_cosine_scale_invariant():
    q, p, n = randn(6, 4, seed=12), randn(6, 4, seed=13), randn(3, 4, seed=14)
    scales = torch.rand(6, 1, dtype=F64) * 10 + 0.1
    torch.testing.assert_close(info_nce(q * scales, p, n * 3.0), info_nce(q, p, n), rtol=1e-12, atol=1e-13)


@given(st.integers(1, 6), st.integers(1, 5), st.floats(0.05, 2.0), st.integers(0, 10**6))
def test_info_nce_lies_between_its_extremes(n, k, tau, seed):
    # cosine similarities are in [-1, 1], so each loss is between log(1 + K e^{-2/tau}) and log(1 + K e^{2/tau})
    q, p, negatives = randn(n, 3, seed=seed), randn(n, 3, seed=seed + 1), randn(n, k, 3, seed=seed + 2)
    losses = info_nce(q, p, negatives, temperature=tau, reduction="none")
    assert (losses >= math.log1p(k * math.exp(-2 / tau)) - 1e-12).all()
    assert (losses <= math.log1p(k * math.exp(2 / tau)) + 1e-12).all()


@pytest.mark.parametrize("negatives_shape", [None, (3, 4), (3, 2, 4)])
def test_info_nce_gradcheck(negatives_shape):
    q, p = randn(3, 4, seed=15).requires_grad_(), randn(3, 4, seed=16).requires_grad_()
    inputs = (q, p) if negatives_shape is None else (q, p, randn(*negatives_shape, seed=17).requires_grad_())
    assert torch.autograd.gradcheck(lambda *x: info_nce(*x, temperature=0.4, reduction="none"), inputs)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_contrastive_losses_finite_at_tiny_temperature(dtype):
    q, p = randn(8, 4, seed=18).to(dtype).requires_grad_(), randn(8, 4, seed=19).to(dtype).requires_grad_()
    losses = [
        info_nce(q, p, temperature=1e-4),
        info_nce(q, p, p[:3], temperature=1e-4),
        nt_xent(q, p, temperature=1e-4),
        clip_loss(q, p, logit_scale=1e4),
    ]
    for loss in losses:
        (gq, gp) = torch.autograd.grad(loss, (q, p))
        assert torch.isfinite(loss) and torch.isfinite(gq).all() and torch.isfinite(gp).all()
    # a query whose positive is its nearest candidate has a loss near 0 at a tiny temperature
    assert info_nce(q, q.detach() * 2, temperature=1e-3).item() < 1e-6


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((randn(3, 4, seed=0), randn(3, 5, seed=0)), {}, ValueError, "query and positive must have the same shape"),
        ((randn(3, 4, seed=0), randn(4, 4, seed=0)), {}, ValueError, "query and positive must have the same shape"),
        ((randn(4, seed=0), randn(4, seed=0)), {}, ValueError, "query must have 2 dimension"),
        ((randn(3, 4, seed=0), randn(3, 4, seed=0), randn(2, 5, seed=0)), {}, ValueError, "negatives must have shape"),
        (
            (randn(3, 4, seed=0), randn(3, 4, seed=0), randn(2, 2, 4, seed=0)),
            {},
            ValueError,
            "negatives must have shape",
        ),
        ((randn(3, 4, seed=0), randn(3, 4, seed=0), randn(0, 4, seed=0)), {}, ValueError, "negatives is empty"),
        ((randn(0, 4, seed=0), randn(0, 4, seed=0)), {}, ValueError, "query is empty"),
        ((randn(3, 4, seed=0), randn(3, 4, seed=0)), {"temperature": 0.0}, ValueError, "temperature must lie in"),
        ((randn(3, 4, seed=0), randn(3, 4, seed=0)), {"temperature": "0.1"}, TypeError, "temperature must be a real"),
        (
            (randn(3, 4, seed=0), randn(3, 4, seed=0)),
            {"temperature": torch.tensor(0.1, requires_grad=True)},
            TypeError,
            "temperature must be a number",
        ),
        ((randn(3, 4, seed=0), randn(3, 4, seed=0)), {"reduction": "avg"}, ValueError, "reduction"),
        ((randn(3, 4, seed=0), randn(3, 4, seed=0)), {"group": object()}, ValueError, "no initialised process group"),
    ],
)
def test_info_nce_refuses_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        info_nce(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# nt_xent
# ---------------------------------------------------------------------------------------


def test_nt_xent_matches_a_brute_force_loop_and_the_masked_similarity_matrix():
    z1, z2 = randn(5, 4, seed=20), randn(5, 4, seed=21)
    loop = nt_xent_loop(z1, z2, 0.5)
    torch.testing.assert_close(nt_xent(z1, z2, reduction="none"), loop, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(nt_xent(z1, z2, reduction="sum"), loop.sum(), rtol=1e-12, atol=1e-12)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    similarity = (z @ z.T / 0.2).masked_fill(torch.eye(10, dtype=torch.bool), -math.inf)
    ref = F.cross_entropy(similarity, torch.cat([torch.arange(5, 10), torch.arange(5)]))
    torch.testing.assert_close(nt_xent(z1, z2, temperature=0.2), ref, rtol=1e-12, atol=1e-13)


def test_nt_xent_matches_pytorch_metric_learning():
    losses = pytest.importorskip("pytorch_metric_learning.losses")
    z1, z2 = randn(12, 6, seed=22), randn(12, 6, seed=23)
    labels = torch.cat([torch.arange(12), torch.arange(12)])
    ref = losses.NTXentLoss(temperature=0.3)(torch.cat([z1, z2]), labels)
    torch.testing.assert_close(nt_xent(z1, z2, temperature=0.3), ref, rtol=1e-10, atol=1e-12)


def test_nt_xent_matches_optax_ntxent_for_two_views_and_differs_with_more():
    jax = pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    z1, z2, z3 = randn(8, 5, seed=24), randn(8, 5, seed=25), randn(8, 5, seed=26)
    with jax.enable_x64(True):
        labels = np.concatenate([np.arange(8), np.arange(8)])
        ref = float(optax.losses.ntxent(torch.cat([z1, z2]).numpy(), labels, temperature=0.5))
        # three views per example: optax scores each positive against the negatives only,
        # leaving the third view out of the denominator; no pairing of nt_xent's views does that
        three = float(optax.losses.ntxent(torch.cat([z1, z2, z3]).numpy(), np.tile(np.arange(8), 3), 0.5))
    assert abs(nt_xent(z1, z2).item() - ref) < 1e-12
    pairs = [nt_xent(a, b).item() for a, b in [(z1, z2), (z1, z3), (z2, z3)]]
    assert abs(sum(pairs) / 3 - three) > 1e-3


def test_nt_xent_of_identical_orthogonal_views_is_known():
    z = torch.eye(4, dtype=F64)  # each view's partner has cosine 1, the 6 others cosine 0
    expected = math.log(1 + 6 * math.exp(-1 / 0.5))
    torch.testing.assert_close(nt_xent(z, z), torch.tensor(expected, dtype=F64))


def test_nt_xent_gradcheck():
    z1, z2 = randn(3, 4, seed=27).requires_grad_(), randn(3, 4, seed=28).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: nt_xent(a, b, temperature=0.3, reduction="none"), (z1, z2))


def test_nt_xent_symmetric_in_its_views():
    z1, z2 = randn(6, 3, seed=29), randn(6, 3, seed=30)
    torch.testing.assert_close(nt_xent(z1, z2), nt_xent(z2, z1), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------
# clip_loss
# ---------------------------------------------------------------------------------------


def test_clip_loss_matches_a_loop_and_the_plain_formulation():
    images, texts = randn(6, 4, seed=31), randn(6, 4, seed=32)
    loop = clip_loop(images, texts, 5.0)
    torch.testing.assert_close(
        clip_loss(images, texts, logit_scale=5.0, reduction="none"), loop, rtol=1e-12, atol=1e-13
    )
    logits = 5.0 * F.normalize(images, dim=1) @ F.normalize(texts, dim=1).T
    labels = torch.arange(6)
    ref = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    torch.testing.assert_close(clip_loss(images, texts, logit_scale=torch.tensor(5.0)), ref, rtol=1e-12, atol=1e-13)


def test_clip_loss_is_two_info_nce_directions_and_symmetric():
    images, texts = randn(7, 3, seed=33), randn(7, 3, seed=34)
    both = (info_nce(images, texts, temperature=0.25) + info_nce(texts, images, temperature=0.25)) / 2
    torch.testing.assert_close(clip_loss(images, texts, logit_scale=4.0), both, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(clip_loss(texts, images, logit_scale=4.0), both, rtol=1e-12, atol=1e-13)


def test_clip_loss_gradcheck_including_the_logit_scale():
    images, texts = randn(3, 4, seed=35).requires_grad_(), randn(3, 4, seed=36).requires_grad_()
    t = torch.tensor(math.log(1 / 0.07), dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, t: clip_loss(a, b, logit_scale=t.exp()), (images, texts, t))
    # the loss of matched, well separated pairs falls as the scale grows: d loss / d t < 0
    eye = torch.eye(3, 4, dtype=F64)
    (grad,) = torch.autograd.grad(clip_loss(eye, eye, logit_scale=t.exp()), t)
    assert grad < 0


@pytest.mark.parametrize(
    "scale, error, match",
    [
        (0.0, ValueError, "logit_scale must be positive"),
        (-1.0, ValueError, "logit_scale must be positive"),
        (math.inf, ValueError, "logit_scale must be positive and finite"),
        (torch.ones(2), ValueError, "logit_scale must hold a single number"),
        ("10", TypeError, "logit_scale must be a positive number"),
        (True, TypeError, "logit_scale must be a positive number"),
    ],
)
def test_clip_loss_refuses_bad_logit_scale(scale, error, match):
    with pytest.raises(error, match=match):
        clip_loss(randn(3, 2, seed=0), randn(3, 2, seed=1), logit_scale=scale)


def test_clip_loss_needs_logit_scale_by_keyword():
    with pytest.raises(TypeError):
        clip_loss(randn(3, 2, seed=0), randn(3, 2, seed=1))  # type: ignore[call-arg]


# ---------------------------------------------------------------------------------------
# policies shared by the contrastive losses
# ---------------------------------------------------------------------------------------

CONTRASTIVE = {
    "info_nce": lambda a, b, **kw: info_nce(a, b, **kw),
    "info_nce_queue": lambda a, b, **kw: info_nce(a, b, b[:2].detach() + 1, **kw),
    "nt_xent": lambda a, b, **kw: nt_xent(a, b, **kw),
    "clip_loss": lambda a, b, **kw: clip_loss(a, b, logit_scale=10.0, **kw),
    "alignment": lambda a, b, **kw: alignment(a, b, **kw),
}


@pytest.mark.parametrize("name", CONTRASTIVE)
def test_contrastive_nan_is_refused_with_checks_on_and_propagates_with_them_off(name):
    a, b = randn(4, 3, seed=37), randn(4, 3, seed=38)
    a[1, 2] = math.nan
    with pytest.raises(ValueError, match="must be finite"):
        CONTRASTIVE[name](a, b)
    with objlib.value_checks(False):
        assert torch.isnan(CONTRASTIVE[name](a, b)).item()
        assert torch.isnan(CONTRASTIVE[name](b, a, reduction="none")).any()


@pytest.mark.parametrize("name", CONTRASTIVE)
def test_contrastive_mixed_dtypes_promote_like_torch(name):
    a32, b64 = randn(4, 3, seed=39).float(), randn(4, 3, seed=40)
    out = CONTRASTIVE[name](a32, b64)
    assert out.dtype == F64
    torch.testing.assert_close(out, CONTRASTIVE[name](a32.double(), b64), rtol=1e-12, atol=1e-13)
    ints = CONTRASTIVE[name](torch.tensor([[1, 0], [0, 2], [1, 1]]), torch.tensor([[2, 1], [0, 1], [1, 0]]))
    assert ints.dtype == torch.get_default_dtype() and torch.isfinite(ints)


def test_info_nce_negatives_promote_the_dtype():
    q, p, n = randn(3, 4, seed=41).float(), randn(3, 4, seed=42).float(), randn(5, 4, seed=43)
    out = info_nce(q, p, n)
    assert out.dtype == F64
    torch.testing.assert_close(out, info_nce(q.double(), p.double(), n), rtol=1e-12, atol=1e-13)


def test_clip_loss_keeps_the_embedding_dtype_under_a_float64_scale():
    # a 0-dim float64 scale does not promote float32 embeddings, as in torch arithmetic
    out = clip_loss(randn(3, 2, seed=0).float(), randn(3, 2, seed=1).float(), logit_scale=torch.tensor(3.0, dtype=F64))
    assert out.dtype == torch.float32


# ---------------------------------------------------------------------------------------
# alignment and uniformity
# ---------------------------------------------------------------------------------------


def test_alignment_and_uniformity_match_wang_and_isola_formulas():
    x, y = F.normalize(randn(9, 4, seed=44), dim=1), F.normalize(randn(9, 4, seed=45), dim=1)
    # the two functions of the paper's listing, written with torch.norm and torch.pdist
    assert abs(alignment(x, y).item() - (x - y).norm(dim=1).pow(2).mean().item()) < 1e-12
    assert abs(alignment(x, y, alpha=1.0).item() - (x - y).norm(dim=1).mean().item()) < 1e-12
    ref = torch.pdist(x, p=2).pow(2).mul(-2).exp().mean().log()
    assert abs(uniformity(x).item() - ref.item()) < 1e-12
    loop = [math.exp(-3 * float((x[i] - x[j]).square().sum())) for i in range(9) for j in range(i + 1, 9)]
    assert abs(uniformity(x * 4, t=3.0).item() - math.log(sum(loop) / len(loop))) < 1e-12


@given(st.integers(2, 8), st.integers(1, 4), st.integers(0, 10**6))
def test_alignment_and_uniformity_bounds(n, d, seed):
    z1, z2 = randn(n, d, seed=seed), randn(n, d, seed=seed + 1)
    assert -1e-12 <= alignment(z1, z2).item() <= 4 + 1e-12
    assert -8 - 1e-12 <= uniformity(z1).item() <= 1e-12  # squared distances lie in [0, 4]
    assert abs(uniformity(z1[:1].expand(n, d)).item()) < 1e-12  # one point: the maximum, 0


def test_alignment_and_uniformity_gradcheck_and_coincident_pairs():
    z1, z2 = randn(4, 3, seed=46).requires_grad_(), randn(4, 3, seed=47).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: alignment(a, b, alpha=1.5, reduction="none"), (z1, z2))
    assert torch.autograd.gradcheck(lambda a: uniformity(a, t=1.5), (z1,))
    same = z1.detach().clone().requires_grad_()
    alignment(same, same.detach(), alpha=1.0).backward()  # |x|^(1/2) at 0: value and gradient 0
    assert torch.isfinite(same.grad).all()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: uniformity(randn(1, 3, seed=0)), ValueError, "at least 2 embeddings"),
        (lambda: uniformity(randn(3, 3, seed=0), t=0), ValueError, "t must lie in"),
        (lambda: alignment(randn(3, 3, seed=0), randn(3, 3, seed=0), alpha=-1), ValueError, "alpha must lie in"),
        (lambda: alignment(randn(3, 3, seed=0), randn(2, 3, seed=0)), ValueError, "z1 and z2 must have the same"),
    ],
)
def test_alignment_and_uniformity_refuse_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------------------
# two processes: the contract's statement, with gradients
# ---------------------------------------------------------------------------------------

WORLD = 2


def _distributed_cases():
    """(loss name, full batch, arguments every rank passes whole), in float64."""

    def leaf(*shape, seed):
        return randn(*shape, seed=seed).requires_grad_()

    return {
        "info_nce in-batch": (
            "info_nce",
            {"query": leaf(6, 5, seed=50), "positive": leaf(6, 5, seed=51)},
            {"temperature": 0.2},
        ),
        "info_nce queue": (
            "info_nce",
            {"query": leaf(6, 5, seed=52), "positive": leaf(6, 5, seed=53)},
            {"negatives": leaf(4, 5, seed=54), "temperature": 0.3},
        ),
        "info_nce per-query": (
            "info_nce",
            {"query": leaf(6, 5, seed=55), "positive": leaf(6, 5, seed=56), "negatives": leaf(6, 3, 5, seed=57)},
            {},
        ),
        "nt_xent": ("nt_xent", {"z1": leaf(6, 5, seed=58), "z2": leaf(6, 5, seed=59)}, {"temperature": 0.4}),
        "clip_loss": (
            "clip_loss",
            {"image_emb": leaf(6, 5, seed=60), "text_emb": leaf(6, 5, seed=61)},
            {"logit_scale": torch.tensor(7.0, dtype=F64, requires_grad=True)},
        ),
    }


@pytest.fixture(scope="module")
def two_processes():
    """Every case run once in 2 gloo processes (one start-up for the module)."""
    if not torch.distributed.is_available():
        pytest.skip("this torch build has no torch.distributed")
    cases = {**_distributed_cases(), **UNEQUAL}
    results = workers.run_processes(workers.losses_and_gradients, list(cases.values()), world_size=WORLD, timeout=60)
    by_rank = {name: [rank_results[i] for rank_results in results] for i, name in enumerate(cases)}
    return cases, by_rank


# Rank 0 passes 2 rows, rank 1 passes 4: gloo would abort; every rank must raise instead.
UNEQUAL = {
    "info_nce unequal": ("info_nce", {"query": randn(6, 3, seed=0), "positive": randn(6, 3, seed=1)}, {}, [2, 4]),
    "nt_xent unequal": ("nt_xent", {"z1": randn(6, 3, seed=0), "z2": randn(6, 3, seed=1)}, {}, [2, 4]),
    "clip_loss unequal": (
        "clip_loss",
        {"image_emb": randn(6, 3, seed=0), "text_emb": randn(6, 3, seed=1)},
        {"logit_scale": 2.0},
        [2, 4],
    ),
}


@pytest.mark.parametrize(
    ("name", "names"),
    list(zip(UNEQUAL, ["query and positive", "z1 and z2", "image_emb and text_emb"], strict=True)),
)
def test_two_processes_refuse_unequal_batches_on_every_rank(two_processes, name, names):
    _, by_rank = two_processes
    for result in by_rank[name]:
        assert result.get("error") == f"{names} must have the same batch size on every rank, got sizes [2, 4] by rank"


def _one_process(case):
    """The loss on the concatenated batch in one process, and its gradients."""
    loss_name, batch, shared = case
    inputs = {
        k: v.detach().clone().requires_grad_(v.requires_grad)
        for k, v in {**batch, **shared}.items()
        if isinstance(v, torch.Tensor)
    }
    loss = workers.LOSSES[loss_name](**inputs, **{k: v for k, v in shared.items() if not isinstance(v, torch.Tensor)})
    loss.backward()
    return loss.detach(), {k: v.grad for k, v in inputs.items() if v.requires_grad}


@pytest.mark.parametrize("name", list(_distributed_cases()))
def test_two_processes_average_to_the_one_process_loss_with_world_size_times_its_gradients(two_processes, name):
    cases, by_rank = two_processes
    case = cases[name]
    loss, grads = _one_process(case)
    ranks = by_rank[name]
    # the mean of the ranks' losses is the one-process loss on the concatenated batch
    torch.testing.assert_close(sum(r["loss"] for r in ranks) / WORLD, loss, rtol=1e-12, atol=1e-13)
    _, batch, shared = case
    for key in batch:  # each rank's local embeddings: world_size times the one-process gradient
        gathered = torch.cat([r["grads"][key] for r in ranks])
        torch.testing.assert_close(gathered, WORLD * grads[key], rtol=1e-10, atol=1e-12)
    for key in (k for k, v in shared.items() if isinstance(v, torch.Tensor) and v.requires_grad):
        # a tensor every rank holds (a parameter, a queue): DDP's average is the one-process gradient
        torch.testing.assert_close(sum(r["grads"][key] for r in ranks) / WORLD, grads[key], rtol=1e-10, atol=1e-12)
    assert all(r["warnings"] == 0 for r in ranks)  # torch's deprecation warning does not leak


@pytest.mark.parametrize("name", ["info_nce in-batch", "nt_xent", "clip_loss"])
def test_two_processes_use_the_other_ranks_negatives(two_processes, name):
    # a rank that contrasted only its own half would return the one-process loss of that half
    cases, by_rank = two_processes
    loss_name, batch, shared = cases[name]
    half = {k: v.detach()[:3] for k, v in batch.items()}
    alone = workers.LOSSES[loss_name](
        **half, **{k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in shared.items()}
    )
    assert abs(by_rank[name][0]["loss"].item() - alone.item()) > 1e-3


def test_a_gather_without_gradient_would_fail_the_gradient_comparison():
    # The usual bug: the gathered copies are detached, so each rank's positives get only the
    # gradient of its own queries. The comparison above is sharp enough to see it.
    q, p = randn(6, 5, seed=50), randn(6, 5, seed=51).requires_grad_()
    labels = torch.arange(3)
    rank0 = F.cross_entropy(
        F.normalize(q[:3], dim=1) / 0.2 @ F.normalize(torch.cat([p[:3], p[3:].detach()]), dim=1).T, labels
    )
    (buggy,) = torch.autograd.grad(rank0, p)
    one = p.detach().clone().requires_grad_()
    (right,) = torch.autograd.grad(info_nce(q, one, temperature=0.2), one)
    assert (buggy[:3] - WORLD * right[:3]).abs().max() > 1e-2


def test_uniformity_nan_policy_and_integer_inputs():
    z = randn(5, 3, seed=48)
    z[2, 0] = math.nan
    with pytest.raises(ValueError, match="z must be finite"):
        uniformity(z)
    with objlib.value_checks(False):
        assert math.isnan(uniformity(z).item())
    assert uniformity(torch.tensor([[1, 0], [0, 1], [1, 1]])).dtype == torch.get_default_dtype()


def test_token_losses_take_integer_logits_as_the_default_float():
    logits = torch.zeros(1, 3, 4, dtype=torch.long)
    out = next_token_loss(logits, [[0, 1, 2]])
    assert out.dtype == torch.get_default_dtype() and abs(out.item() - math.log(4)) < 1e-6
    out = masked_token_loss(logits, [[0, 1, 2]], [[False, True, True]])
    assert out.dtype == torch.get_default_dtype() and abs(out.item() - math.log(4)) < 1e-6


META_CASES = {
    "masked_token_loss": lambda: masked_token_loss(
        torch.zeros(2, 5, 4, device="meta"),
        torch.zeros(2, 5, dtype=torch.long, device="meta"),
        torch.zeros(2, 5, dtype=torch.bool, device="meta"),
    ),
    "next_token_loss": lambda: next_token_loss(
        torch.zeros(2, 5, 4, device="meta"), torch.zeros(2, 5, dtype=torch.long, device="meta"), ignore_index=0
    ),
    "info_nce": lambda: info_nce(torch.zeros(4, 3, device="meta"), torch.zeros(4, 3, device="meta")),
    "info_nce queue": lambda: info_nce(
        torch.zeros(4, 3, device="meta"), torch.zeros(4, 3, device="meta"), torch.zeros(6, 3, device="meta")
    ),
    "nt_xent": lambda: nt_xent(torch.zeros(4, 3, device="meta"), torch.zeros(4, 3, device="meta")),
    "clip_loss": lambda: clip_loss(
        torch.zeros(4, 3, device="meta"), torch.zeros(4, 3, device="meta"), logit_scale=torch.ones((), device="meta")
    ),
    "alignment": lambda: alignment(torch.zeros(4, 3, device="meta"), torch.zeros(4, 3, device="meta"), alpha=1.0),
    "uniformity": lambda: uniformity(torch.zeros(4, 3, device="meta")),
}


@pytest.mark.parametrize("name", META_CASES)
def test_with_value_checks_off_nothing_reads_the_data(name):
    # the meta device has shapes but no values: a host read (a check, boolean indexing) raises
    with objlib.value_checks(False):
        assert META_CASES[name]().device.type == "meta"
