"""objlib.classification against torch, scikit-learn, the torchvision focal formula and direct counts."""

import math

import numpy as np
import pytest
import sklearn.metrics
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import hinge_loss

import objlib
from objlib import classification as C

REDUCTIONS = ["mean", "sum", "none"]
MARGIN_LOSSES = [C.hinge, C.squared_hinge, C.logistic, C.exponential]


def _reduce(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def _binary(n=300, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    scores = scale * torch.randn(n, dtype=torch.float64, generator=g)
    labels = torch.where(torch.rand(n, generator=g) < 0.4, 1.0, -1.0).double()
    return scores, labels


def torchvision_focal(logits, targets, gamma=2.0, alpha=0.25, reduction="none"):
    """The formula of torchvision.ops.sigmoid_focal_loss, written out in torch."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha is not None and alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return _reduce(loss, reduction)


# ------------------------------------------------------------------ the 0/1 loss


def test_zero_one_binary_is_the_error_count():
    scores, labels = _binary()
    scores[:5] = 0.0  # abstentions count as errors
    s, y = scores.numpy(), labels.numpy()
    count = int(np.sum(np.sign(s) != y))
    assert float(C.zero_one(scores, labels, reduction="sum")) == count
    assert float(C.zero_one(scores, labels)) == pytest.approx(count / len(s), abs=0)
    per = C.zero_one(scores, labels, reduction="none")
    assert per.dtype == torch.float64 and set(per.tolist()) <= {0.0, 1.0}
    assert per[:5].tolist() == [1.0] * 5


def test_zero_one_multiclass_is_the_argmax_error_count():
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(200, 7, generator=g)
    labels = torch.randint(0, 7, (200,), generator=g)
    count = int(sum(int(np.argmax(row)) != int(lab) for row, lab in zip(scores.numpy(), labels.numpy(), strict=True)))
    assert float(C.zero_one(scores, labels, reduction="sum")) == count
    assert C.zero_one(scores, labels).dtype == torch.float32


def test_zero_one_is_not_differentiable_but_surrogates_bound_it():
    scores, labels = _binary()
    scores.requires_grad_()
    assert not C.zero_one(scores, labels).requires_grad
    z = C.zero_one(scores.detach(), labels, reduction="none")
    assert (C.hinge(scores, labels, reduction="none") >= z).all()
    assert (C.squared_hinge(scores, labels, reduction="none") >= z).all()
    assert (C.exponential(scores, labels, reduction="none") >= z).all()
    assert (C.logistic(scores, labels, reduction="none") / math.log(2) >= z).all()


# ------------------------------------------------------------------ margin losses


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_losses_agree_with_references(reduction):
    s, y = _binary()
    m = y * s
    kw = dict(reduction=reduction)
    torch.testing.assert_close(C.hinge(s, y, **kw), _reduce(torch.clamp(1 - m, min=0), reduction))
    torch.testing.assert_close(C.hinge(s, y, margin=0.3, **kw), _reduce(torch.clamp(0.3 - m, min=0), reduction))
    torch.testing.assert_close(C.squared_hinge(s, y, **kw), _reduce(torch.clamp(1 - m, min=0) ** 2, reduction))
    torch.testing.assert_close(
        C.squared_hinge(s, y, margin=2.0, **kw), _reduce(torch.clamp(2 - m, min=0) ** 2, reduction)
    )
    torch.testing.assert_close(C.logistic(s, y, **kw), F.binary_cross_entropy_with_logits(s, (y + 1) / 2, **kw))
    torch.testing.assert_close(C.logistic(s, y, **kw), _reduce(torch.log1p(torch.exp(-m)), reduction))
    torch.testing.assert_close(C.exponential(s, y, **kw), _reduce(torch.from_numpy(np.exp(-m.numpy())), reduction))


def test_hinge_agrees_with_sklearn():
    s, y = _binary()
    assert float(C.hinge(s, y)) == pytest.approx(hinge_loss(y.numpy(), s.numpy()), rel=1e-12)
    # integer labels from a list are accepted
    assert float(C.hinge(s, y.long().tolist())) == pytest.approx(hinge_loss(y.numpy(), s.numpy()), rel=1e-12)


# ------------------------------------------------------------------ likelihood losses


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_agrees_with_torch_and_formula(reduction):
    g = torch.Generator().manual_seed(2)
    x = 4 * torch.randn(50, 3, dtype=torch.float64, generator=g)
    t = torch.rand(50, 3, dtype=torch.float64, generator=g)
    t[:10] = t[:10].round()
    for pw in [None, 3.0, torch.tensor([0.5, 1.0, 4.0], dtype=torch.float64)]:
        ours = C.binary_cross_entropy(x, t, pos_weight=pw, reduction=reduction)
        torch.testing.assert_close(
            ours,
            F.binary_cross_entropy_with_logits(
                x, t, pos_weight=None if pw is None else torch.as_tensor(pw), reduction=reduction
            ),
        )
        w = 1.0 if pw is None else torch.as_tensor(pw, dtype=torch.float64)
        formula = -(w * t * F.logsigmoid(x) + (1 - t) * F.logsigmoid(-x))
        torch.testing.assert_close(ours, _reduce(formula, reduction))
    # with 0/1 targets it is the logistic loss of the margin (2t - 1) x
    hard = t.round()
    torch.testing.assert_close(C.binary_cross_entropy(x, hard), C.logistic(x, 2 * hard - 1))


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.9, 1.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_agrees_with_torch_and_formula(label_smoothing, reduction):
    g = torch.Generator().manual_seed(3)
    n, k = 40, 6
    z = 3 * torch.randn(n, k, dtype=torch.float64, generator=g)
    idx = torch.randint(0, k, (n,), generator=g)
    probs = torch.softmax(torch.randn(n, k, dtype=torch.float64, generator=g), dim=1)
    kw = dict(label_smoothing=label_smoothing, reduction=reduction)
    for target in (idx, probs):
        torch.testing.assert_close(C.cross_entropy(z, target, **kw), F.cross_entropy(z, target, **kw))
    # the formula: -sum_k q_k log softmax(z)_k with q = (1 - eps) y + eps / K
    q = (1 - label_smoothing) * F.one_hot(idx, k).double() + label_smoothing / k
    formula = -(q * torch.log_softmax(z, dim=1)).sum(dim=1)
    torch.testing.assert_close(C.cross_entropy(z, idx, **kw), _reduce(formula, reduction))
    # and, without smoothing, the negative log of the softmax probability of the class
    nll = -torch.log(torch.softmax(z, 1)[torch.arange(n), idx])
    torch.testing.assert_close(C.cross_entropy(z, idx, reduction="none"), nll)


def test_cross_entropy_accepts_spatial_logits_like_torch():
    g = torch.Generator().manual_seed(4)
    z = torch.randn(3, 5, 4, 2, dtype=torch.float64, generator=g)
    idx = torch.randint(0, 5, (3, 4, 2), generator=g)
    probs = torch.softmax(torch.randn(3, 5, 4, 2, dtype=torch.float64, generator=g), dim=1)
    for target in (idx, probs):
        for reduction in REDUCTIONS:
            torch.testing.assert_close(
                C.cross_entropy(z, target, reduction=reduction, label_smoothing=0.2),
                F.cross_entropy(z, target, reduction=reduction, label_smoothing=0.2),
            )
    # probabilities along axis 1, not the last axis, are checked
    with pytest.raises(ValueError, match="target"):
        C.cross_entropy(z, torch.softmax(torch.randn(3, 5, 4, 2, dtype=torch.float64), dim=-1))


def test_cross_entropy_of_two_classes_is_binary_cross_entropy():
    x, y = _binary()
    t = (y + 1) / 2
    two = torch.stack([torch.zeros_like(x), x], dim=1)
    torch.testing.assert_close(C.cross_entropy(two, t.long()), C.binary_cross_entropy(x, t))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("alpha", [None, 0.0, 0.25, 0.8, 1.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_focal_agrees_with_torchvision_formula(gamma, alpha, reduction):
    g = torch.Generator().manual_seed(5)
    x = (4 * torch.randn(64, 3, dtype=torch.float64, generator=g)).requires_grad_()
    t = (torch.rand(64, 3, generator=g) < 0.3).double()
    ours = C.focal(x, t, gamma=gamma, alpha=alpha, reduction=reduction)
    ref = torchvision_focal(x, t, gamma=gamma, alpha=alpha, reduction=reduction)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-14)
    w = torch.randn(ref.shape, dtype=torch.float64, generator=g)  # a random upstream gradient
    (g_ours,) = torch.autograd.grad(ours, x, w)
    (g_ref,) = torch.autograd.grad(ref, x, w)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-10, atol=1e-14)


def test_focal_reduces_to_cross_entropy():
    x, y = _binary()
    t = (y + 1) / 2
    torch.testing.assert_close(C.focal(x, t, gamma=0.0, alpha=None), C.binary_cross_entropy(x, t))
    # alpha alone is class-weighted cross-entropy: alpha on positives, 1 - alpha on negatives
    weighted = (0.25 * t + 0.75 * (1 - t)) * C.binary_cross_entropy(x, t, reduction="none")
    torch.testing.assert_close(C.focal(x, t, gamma=0.0, alpha=0.25, reduction="none"), weighted)
    # the modulating factor only ever shrinks the loss
    assert (
        C.focal(x, t, gamma=2.0, alpha=None, reduction="none") <= C.binary_cross_entropy(x, t, reduction="none")
    ).all()


@pytest.mark.parametrize("gamma", [0.1, 0.5, 0.9])
def test_focal_gradient_finite_for_small_gamma_where_torchvision_fails(gamma):
    # saturated logits on the right side: 1 - p_t underflows to 0, where d/dp (1 - p_t)^gamma is infinite
    x = torch.tensor([1e4, -1e4, 200.0, -200.0, 60.0, -60.0], requires_grad=True)
    t = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    (g_tv,) = torch.autograd.grad(torchvision_focal(x, t, gamma=gamma, reduction="sum"), x)
    assert not torch.isfinite(g_tv).all()  # the torchvision formula gives NaN here
    loss = C.focal(x, t, gamma=gamma, reduction="none")
    (g,) = torch.autograd.grad(loss.sum(), x)
    assert torch.isfinite(loss).all() and torch.isfinite(g).all()
    # and the values are right: these examples are easy, loss and gradient are (nearly) zero
    assert float(loss.detach().max()) < 1e-20 and float(g.abs().max()) < 1e-20
    # and in float64 at moderate logits, where the torchvision formula is accurate, the two agree
    x64 = torch.tensor([5.0, -5.0, 2.0, -1.0], dtype=torch.float64, requires_grad=True)
    t64 = torch.tensor([1.0, 0.0, 1.0, 1.0], dtype=torch.float64)
    (a,) = torch.autograd.grad(C.focal(x64, t64, gamma=gamma, reduction="sum"), x64)
    (b,) = torch.autograd.grad(torchvision_focal(x64, t64, gamma=gamma, reduction="sum"), x64)
    torch.testing.assert_close(a, b, rtol=1e-9, atol=0)


def test_focal_down_weights_easy_examples():
    # per-example gradient of focal relative to cross-entropy (positives, logit x, p_t = sigmoid(x))
    x = torch.tensor([-8.0, 0.0, 1.0, 2.0, 4.0, 6.0], dtype=torch.float64, requires_grad=True)
    t = torch.ones(6, dtype=torch.float64)
    (gf,) = torch.autograd.grad(C.focal(x, t, gamma=2.0, alpha=None, reduction="sum"), x)
    (gc,) = torch.autograd.grad(C.binary_cross_entropy(x, t, reduction="sum"), x)
    ratio = gf / gc
    # a badly misclassified example keeps (about) its full cross-entropy gradient ...
    assert abs(float(ratio[0]) - 1) < 0.01
    # ... while correctly classified ones (p_t >= 1/2) get less, the less the more confident
    assert (ratio[1:] < 1).all() and (ratio[2:] < ratio[1:-1]).all()
    assert float(ratio[-1]) < 1e-4


# ------------------------------------------------------------------ gradients and extremes


def _gc_binary(n=10, seed=6):
    g = torch.Generator().manual_seed(seed)
    s = (2 * torch.randn(n, dtype=torch.float64, generator=g)).requires_grad_()
    y = torch.where(torch.rand(n, generator=g) < 0.5, 1.0, -1.0).double()
    return s, y


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_gradcheck_margin_losses(reduction):
    s, y = _gc_binary()
    s = s.detach()
    # keep margins away from the hinge's kink at m - y s = 0
    s = torch.where((1 - y * s).abs() < 0.1, s + 0.5, s).requires_grad_()
    for fn in MARGIN_LOSSES:
        assert torch.autograd.gradcheck(lambda s_, fn=fn: fn(s_, y, reduction=reduction), (s,)), fn.__name__


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_likelihood_losses(reduction):
    g = torch.Generator().manual_seed(7)
    x = (3 * torch.randn(4, 3, dtype=torch.float64, generator=g)).requires_grad_()
    soft = torch.rand(4, 3, dtype=torch.float64, generator=g).requires_grad_()
    hard = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    idx = torch.randint(0, 3, (4,), generator=g)
    probs = torch.softmax(torch.randn(4, 3, dtype=torch.float64, generator=g), dim=1)
    pw = torch.tensor([0.5, 2.0, 3.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda a, b: C.binary_cross_entropy(a, b, pos_weight=pw, reduction=reduction), (x, soft)
    )
    assert torch.autograd.gradcheck(lambda a: C.cross_entropy(a, idx, label_smoothing=0.1, reduction=reduction), (x,))
    assert torch.autograd.gradcheck(lambda a: C.cross_entropy(a, probs, reduction=reduction), (x,))
    for gamma, alpha in [(2.0, 0.25), (0.5, None), (0.0, 0.9), (3.0, 1.0)]:
        assert torch.autograd.gradcheck(
            lambda a, gamma=gamma, alpha=alpha: C.focal(a, hard, gamma=gamma, alpha=alpha, reduction=reduction), (x,)
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_finite_at_logits_1e4(dtype):
    s = torch.tensor([1e4, -1e4, 1e4, -1e4, 0.0], dtype=dtype, requires_grad=True)
    y = torch.tensor([1.0, 1.0, -1.0, -1.0, 1.0], dtype=dtype)
    t = (y + 1) / 2
    z = torch.stack([s, -s, torch.zeros_like(s)], dim=1).detach().requires_grad_()
    cls = torch.tensor([0, 1, 2, 0, 1])
    for loss in [
        C.hinge(s, y),
        C.squared_hinge(s, y),
        C.logistic(s, y),
        C.binary_cross_entropy(s, t, pos_weight=2.0),
        C.focal(s, t),
        C.focal(s, t, gamma=0.5, alpha=None),
        C.cross_entropy(z, cls, label_smoothing=0.1),
    ]:
        gs = torch.autograd.grad(loss, [s, z], allow_unused=True)
        assert torch.isfinite(loss)
        assert all(gr is None or torch.isfinite(gr).all() for gr in gs)
    assert float(C.logistic(s.detach(), y, reduction="none")[1]) == pytest.approx(1e4)
    # the exponential loss is finite wherever its value is representable, e.g. on the right side
    right = C.exponential(s[[0, 3]], y[[0, 3]], reduction="sum")
    (g,) = torch.autograd.grad(right, s)
    assert float(right.detach()) == 0.0 and torch.isfinite(g).all()


# ------------------------------------------------------------------ properties

margins = st.floats(-50, 50, allow_nan=False)


@given(st.lists(st.tuples(margins, st.sampled_from([-1.0, 1.0])), min_size=1, max_size=30))
def test_margin_loss_properties(rows):
    s = torch.tensor([r[0] for r in rows], dtype=torch.float64)
    y = torch.tensor([r[1] for r in rows], dtype=torch.float64)
    z = C.zero_one(s, y, reduction="none")
    for fn in MARGIN_LOSSES:
        loss = fn(s, y, reduction="none")
        assert (loss >= 0).all()
        # a function of the margin y s only
        torch.testing.assert_close(loss, fn(y * s, torch.ones_like(y), reduction="none"))
        # non-increasing in the margin
        assert (fn(s + y, y, reduction="none") <= loss).all()
    for fn in (C.hinge, C.squared_hinge, C.exponential):
        assert (fn(s, y, reduction="none") >= z).all()
    # logistic = binary cross-entropy with t = (y + 1) / 2; focal with gamma 0 and no alpha too
    t = (y + 1) / 2
    torch.testing.assert_close(C.logistic(s, y), C.binary_cross_entropy(s, t))
    torch.testing.assert_close(C.focal(s, t, gamma=0.0, alpha=None), C.binary_cross_entropy(s, t))


@given(st.integers(2, 6), st.integers(1, 8), st.floats(0.0, 1.0), st.integers(0, 2**16))
def test_cross_entropy_properties(k, n, eps, seed):
    g = torch.Generator().manual_seed(seed)
    z = 5 * torch.randn(n, k, dtype=torch.float64, generator=g)
    idx = torch.randint(0, k, (n,), generator=g)
    loss = C.cross_entropy(z, idx, label_smoothing=eps, reduction="none")
    assert (loss >= -1e-12).all()
    # shift invariance of the softmax
    torch.testing.assert_close(C.cross_entropy(z + 7.0, idx, label_smoothing=eps, reduction="none"), loss)
    # smoothing = cross-entropy against the smoothed probability vector
    q = (1 - eps) * F.one_hot(idx, k).double() + eps / k
    torch.testing.assert_close(C.cross_entropy(z, q, reduction="none"), loss)


# ------------------------------------------------------------------ types and bad inputs


def test_types_numpy_and_lists():
    assert C.hinge(np.array([1.0, -2.0]), [1, -1]).dtype == torch.float64
    assert C.logistic([0.5, -2.0], np.array([1, -1])).dtype == torch.float32
    assert C.cross_entropy(np.zeros((2, 3)), np.array([0, 2])).dtype == torch.float64
    assert C.cross_entropy([[0.0, 0.0]], [1.0]).dtype == torch.float32  # whole-number floats are indices
    assert C.focal(np.zeros(3), [0, 1, 1]).dtype == torch.float64
    assert C.binary_cross_entropy(torch.zeros(3, dtype=torch.float64), [0, 0.5, 1]).dtype == torch.float64
    assert float(C.zero_one(np.array([[0.1, 0.9]]), [1])) == 0.0


@pytest.mark.parametrize("fn", MARGIN_LOSSES + [C.zero_one], ids=lambda f: f.__name__)
def test_margin_losses_refuse_bad_input(fn):
    with pytest.raises(ValueError, match="labels"):
        fn(torch.zeros(3), torch.tensor([1.0, 0.0, -1.0]))  # 0/1 labels are not +-1
    with pytest.raises(ValueError, match="labels"):
        fn(torch.zeros(3), torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="scores"):
        fn(torch.zeros(0), torch.zeros(0))
    with pytest.raises(ValueError, match="reduction"):
        fn(torch.zeros(3), torch.ones(3), reduction="batchmean")
    with pytest.raises(TypeError, match="scores"):
        fn(None, torch.ones(3))
    with objlib.value_checks(False):  # the documented switch skips the label check
        fn(torch.zeros(3), torch.tensor([1.0, 0.0, -1.0]))


def test_zero_one_refuses_bad_multiclass_input():
    with pytest.raises(ValueError, match="labels"):
        C.zero_one(torch.zeros(4, 3), torch.tensor([0, 1, 3, 2]))
    with pytest.raises(ValueError, match="labels"):
        C.zero_one(torch.zeros(4, 3), torch.tensor([0, -1, 1, 2]))
    with pytest.raises(ValueError, match="labels"):
        C.zero_one(torch.zeros(4, 3), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels"):
        C.zero_one(torch.zeros(4, 3), torch.tensor([0.5, 1, 2, 0]))
    with pytest.raises(ValueError, match="scores"):
        C.zero_one(torch.zeros(4, 3, 2), torch.tensor([0, 1, 2, 0]))


@pytest.mark.parametrize("margin", [-0.1, float("nan")])
def test_hinge_refuses_negative_margin(margin):
    for fn in (C.hinge, C.squared_hinge):
        with pytest.raises(ValueError, match="margin"):
            fn(torch.zeros(3), torch.ones(3), margin=margin)


def test_binary_cross_entropy_refuses_bad_input():
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="targets"):
        C.binary_cross_entropy(x, torch.full((4, 2), 1.5))
    with pytest.raises(ValueError, match="targets"):
        C.binary_cross_entropy(x, torch.full((4, 2), -0.1))
    with pytest.raises(ValueError, match="targets"):
        C.binary_cross_entropy(x, torch.full((4, 2), float("nan")))
    with pytest.raises(ValueError, match="logits"):
        C.binary_cross_entropy(x, torch.zeros(4))
    with pytest.raises(ValueError, match="logits"):
        C.binary_cross_entropy(torch.zeros(0), torch.zeros(0))
    with pytest.raises(ValueError, match="pos_weight"):
        C.binary_cross_entropy(x, torch.zeros(4, 2), pos_weight=-1.0)
    with pytest.raises(ValueError, match="pos_weight"):
        C.binary_cross_entropy(x, torch.zeros(4, 2), pos_weight=torch.ones(4))
    with pytest.raises(ValueError, match="reduction"):
        C.binary_cross_entropy(x, torch.zeros(4, 2), reduction="batchmean")


def test_cross_entropy_refuses_bad_input():
    z = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="target"):
        C.cross_entropy(z, torch.tensor([0, 1, 3, 2]))
    with pytest.raises(ValueError, match="target"):
        C.cross_entropy(z, torch.tensor([0, -1, 1, 2]))  # torch's ignore_index is not supported
    with pytest.raises(ValueError, match="target"):
        C.cross_entropy(z, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="target"):
        C.cross_entropy(z, torch.tensor([[0.5, 0.5, 0.5]] * 4))  # rows sum to 1.5
    with pytest.raises(ValueError, match="target"):
        C.cross_entropy(z, torch.tensor([[1.2, -0.2, 0.0]] * 4))  # negative entries
    with pytest.raises(ValueError, match="logits"):
        C.cross_entropy(torch.zeros(3), torch.tensor(0))
    with pytest.raises(ValueError, match="logits"):
        C.cross_entropy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))
    for eps in (-0.1, 1.1):
        with pytest.raises(ValueError, match="label_smoothing"):
            C.cross_entropy(z, torch.tensor([0, 1, 2, 0]), label_smoothing=eps)
    with pytest.raises(ValueError, match="reduction"):
        C.cross_entropy(z, torch.tensor([0, 1, 2, 0]), reduction="batchmean")


def test_focal_refuses_bad_input():
    x = torch.zeros(4)
    t = torch.tensor([0.0, 1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="targets"):
        C.focal(x, torch.tensor([0.0, 1.0, 0.5, 0.0]))  # focal needs 0/1 labels
    with pytest.raises(ValueError, match="targets"):
        C.focal(x, torch.tensor([0.0, 1.0, -1.0, 0.0]))
    with pytest.raises(ValueError, match="logits"):
        C.focal(x, torch.zeros(3))
    with pytest.raises(ValueError, match="logits"):
        C.focal(torch.zeros(0), torch.zeros(0))
    with pytest.raises(ValueError, match="gamma"):
        C.focal(x, t, gamma=-0.5)
    for alpha in (-0.1, 1.5):
        with pytest.raises(ValueError, match="alpha"):
            C.focal(x, t, alpha=alpha)
    with pytest.raises(ValueError, match="reduction"):
        C.focal(x, t, reduction="avg")


# ---------------------------------------------------------------------------------------
# multiclass (Crammer-Singer) hinge
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, classes", [(40, 3), (25, 7), (1, 3)])
def test_multiclass_hinge_matches_sklearn(n, classes):
    g = torch.Generator().manual_seed(n + classes)
    scores = 2 * torch.randn(n, classes, generator=g, dtype=torch.float64)
    labels = torch.randint(0, classes, (n,), generator=g)
    ref = sklearn.metrics.hinge_loss(labels.numpy(), scores.numpy(), labels=np.arange(classes))
    assert abs(C.multiclass_hinge(scores, labels).item() - ref) < 1e-12
    per_example = C.multiclass_hinge(scores, labels, reduction="none")
    # brute force: the largest rival score, one example at a time
    for i in range(n):
        rivals = [scores[i, k].item() for k in range(classes) if k != labels[i]]
        assert abs(per_example[i].item() - max(0.0, 1 + max(rivals) - scores[i, labels[i]].item())) < 1e-12
    assert abs(C.multiclass_hinge(scores, labels, reduction="sum").item() - n * ref) < 1e-10


def test_multiclass_hinge_bounds_the_error_and_reduces_to_the_binary_hinge():
    g = torch.Generator().manual_seed(3)
    scores = torch.randn(200, 5, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 5, (200,), generator=g)
    errors = C.zero_one(scores, labels, reduction="none")
    assert (C.multiclass_hinge(scores, labels, reduction="none") >= errors).all()
    s = torch.randn(30, generator=g, dtype=torch.float64)
    y = torch.where(torch.rand(30, generator=g) < 0.5, -1.0, 1.0).double()
    two_class = torch.stack([-s / 2, s / 2], dim=1)
    torch.testing.assert_close(C.multiclass_hinge(two_class, (y > 0).long()), C.hinge(s, y), rtol=1e-14, atol=0)


def test_multiclass_hinge_gradient_goes_to_the_true_class_and_the_best_rival():
    scores = torch.tensor([[1.0, 0.8, -2.0, 0.5]], dtype=torch.float64, requires_grad=True)
    C.multiclass_hinge(scores, torch.tensor([0]), reduction="sum").backward()
    assert scores.grad.tolist() == [[-1.0, 1.0, 0.0, 0.0]]
    extreme = torch.tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    assert C.multiclass_hinge(extreme, torch.tensor([1])).item() == pytest.approx(2e4 + 1)
    wide = 3 * torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    assert torch.autograd.gradcheck(
        lambda s: C.multiclass_hinge(s, torch.tensor([0, 2, 1, 1]), margin=0.7), (wide.requires_grad_(),)
    )


def test_multiclass_hinge_refuses_bad_input():
    s = torch.zeros(3, 4)
    with pytest.raises(ValueError, match="labels must hold class indices"):
        C.multiclass_hinge(s, torch.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match="labels must have shape"):
        C.multiclass_hinge(s, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="scores must have 2"):
        C.multiclass_hinge(torch.zeros(3), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="at least 2 classes"):
        C.multiclass_hinge(torch.zeros(3, 1), torch.tensor([0, 0, 0]))
    with pytest.raises(ValueError, match="margin"):
        C.multiclass_hinge(s, torch.tensor([0, 1, 1]), margin=-1.0)
    with pytest.raises(ValueError, match="labels must hold integer"):
        C.multiclass_hinge(s, torch.tensor([0.5, 1.0, 1.0]))


# ---------------------------------------------------------------------------------------
# pos_weight as torch users write it
# ---------------------------------------------------------------------------------------


def test_pos_weight_is_differentiable_and_accepts_torchs_shapes():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(6, generator=g, dtype=torch.float64)
    t = torch.rand(6, generator=g, dtype=torch.float64)
    w = torch.tensor([2.5], dtype=torch.float64, requires_grad=True)  # the usual (1,) idiom
    loss = C.binary_cross_entropy(x, t, pos_weight=w)
    torch.testing.assert_close(loss, F.binary_cross_entropy_with_logits(x, t, pos_weight=w.detach()))
    (grad,) = torch.autograd.grad(loss, w)
    torch.testing.assert_close(grad, (t * F.softplus(-x)).mean().reshape(1))  # d loss / d w_+
    assert torch.autograd.gradcheck(lambda x, w: C.binary_cross_entropy(x, t, pos_weight=w), (x.requires_grad_(), w))
    # a 0-d logit with a (1,) weight keeps the shape of the logit
    scalar = C.binary_cross_entropy(
        torch.tensor(0.3), torch.tensor(1.0), pos_weight=torch.tensor([2.0]), reduction="none"
    )
    assert scalar.shape == () and abs(scalar.item() - 2.0 * F.softplus(torch.tensor(-0.3)).item()) < 1e-6
    # one weight per class along the last axis, also differentiable
    logits = torch.randn(4, 3, generator=g, dtype=torch.float64)
    targets = (torch.rand(4, 3, generator=g) < 0.5).double()
    per_class = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64, requires_grad=True)
    ours = C.binary_cross_entropy(logits, targets, pos_weight=per_class, reduction="none")
    torch.testing.assert_close(
        ours, F.binary_cross_entropy_with_logits(logits, targets, pos_weight=per_class.detach(), reduction="none")
    )
    ours.sum().backward()
    assert per_class.grad is not None and torch.isfinite(per_class.grad).all()


def test_public_names():
    expected = {
        "zero_one",
        "hinge",
        "multiclass_hinge",
        "squared_hinge",
        "logistic",
        "exponential",
        "binary_cross_entropy",
        "cross_entropy",
        "focal",
    }
    assert set(C.__all__) == expected
    assert objlib.classification is C
