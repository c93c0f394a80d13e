"""Classification losses: the 0/1 loss, its margin surrogates and the likelihood losses.

Two label conventions appear, each the natural one for its family:

* margin losses (:func:`zero_one` binary, :func:`hinge`, :func:`squared_hinge`,
  :func:`logistic`, :func:`exponential`) take real scores :math:`s` and labels
  :math:`y \\in \\{-1, +1\\}` and are functions of the margin :math:`y s`;
* likelihood losses (:func:`binary_cross_entropy`, :func:`focal`, :func:`cross_entropy`)
  take logits and targets in :math:`[0, 1]` (or class indices / probability vectors).

Losses never take probabilities: they are written with ``logsigmoid`` / ``softplus`` /
``logsumexp`` so that values and gradients stay finite for logits of :math:`\\pm 10^4`.
Where PyTorch has a fused kernel for the same formula (:func:`binary_cross_entropy`,
:func:`cross_entropy`) objlib checks the inputs and then calls it; the formula is in the
docstring and ``tests/test_classification.py`` shows the two agree.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from . import _checks
from ._checks import (
    TensorLike,
    as_float_tensor,
    as_index_tensor,
    check_class_indices,
    check_ndim,
    check_nonempty,
    check_nonnegative,
    check_probability_vectors,
    check_reduction,
    check_same_shape,
    check_scalar,
    check_sign_labels,
    promote_floats,
    raise_on_nan,
    reduce,
)

__all__ = [
    "zero_one",
    "hinge",
    "multiclass_hinge",
    "squared_hinge",
    "logistic",
    "exponential",
    "binary_cross_entropy",
    "cross_entropy",
    "focal",
]


# ---------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------


def _scores_labels(
    scores: TensorLike, labels: TensorLike, reduction: str, *, names: tuple[str, str] = ("scores", "labels")
) -> tuple[torch.Tensor, torch.Tensor]:
    """Float scores and +-1 labels of one shape and dtype, checked."""
    check_reduction(reduction)
    scores = as_float_tensor(scores, names[0])
    labels = as_float_tensor(labels, names[1], like=scores)
    check_same_shape(scores, labels, *names)
    check_nonempty(scores, names[0])
    check_sign_labels(labels, names[1])
    scores, labels = promote_floats(scores, labels.detach())
    return scores, labels


def _check_binary_targets(t: torch.Tensor, name: str) -> None:
    """Targets that are exactly 0 or 1: t (1 - t) is zero exactly there (NaN and inf fail).

    Two passes (``addcmul``, ``aminmax``); switched off with the value checks.
    """
    if _checks.value_checks_enabled():
        t = t.detach()
        lo, hi = torch.aminmax(torch.addcmul(t, t, t, value=-1.0))  # t - t^2
        if not (float(lo) == 0.0 and float(hi) == 0.0):
            bad = t[(t != 0) & (t != 1)].flatten()[:3].tolist()
            raise ValueError(f"{name} must be 0 or 1, got values such as {bad}")


# ---------------------------------------------------------------------------------------
# the 0/1 loss and its margin surrogates
# ---------------------------------------------------------------------------------------


def zero_one(scores: TensorLike, labels: TensorLike, *, reduction: str = "mean") -> torch.Tensor:
    r"""The 0/1 loss: the error rate of a classifier's decisions.

    Binary, ``scores`` of shape (N,) and ``labels`` in :math:`\{-1, +1\}`:

    .. math::

        \ell(s, y) = \mathbb 1[y s \le 0]

    (a score of exactly 0 is an abstention and counts as an error). Multiclass,
    ``scores`` of shape (N, C) and integer ``labels`` in :math:`[0, C)`:
    :math:`\ell = \mathbb 1[\arg\max_k s_k \ne y]` (ties go to the first maximum, as in
    ``torch.argmax``).

    It is the quantity surrogate losses stand in for (Vapnik 1998): piecewise constant,
    so its gradient is zero almost everywhere. It is returned as a float tensor (in the
    dtype of ``scores``) but is not differentiable; use it to evaluate, not to train.

    Args:
        scores: real scores (N,) or (N, C).
        labels: (N,) labels, +-1 for binary scores, class indices for multiclass.
        reduction: ``"mean"`` (the error rate) | ``"sum"`` (the error count) | ``"none"``.

    >>> float(zero_one([2.0, -1.0, 0.0, 0.5], [1, 1, 1, -1]))  # three of four wrong
    0.75
    >>> float(zero_one([[2.0, 1.0], [0.0, 3.0]], [0, 0]))
    0.5
    """
    check_reduction(reduction)
    scores = as_float_tensor(scores, "scores")
    check_ndim(scores, "scores", (1, 2))
    check_nonempty(scores, "scores")
    scores = scores.detach()
    if scores.dim() == 1:
        labels = as_float_tensor(labels, "labels", like=scores).detach()
        check_same_shape(scores, labels, "scores", "labels")
        check_sign_labels(labels, "labels")
        margin = labels * scores  # float64 labels promote float32 scores, as torch does
        # a NaN score is neither right nor wrong: it stays NaN (the comparison would say "right")
        errors = torch.where(torch.isnan(margin), margin, (margin <= 0).to(scores.dtype))
    else:
        labels = as_index_tensor(labels, "labels")
        if labels.shape != scores.shape[:1]:
            raise ValueError(
                f"labels must have shape (N,) = {tuple(scores.shape[:1])} for scores of shape "
                f"{tuple(scores.shape)}, got {tuple(labels.shape)}"
            )
        check_class_indices(labels, scores.shape[1], "labels")
        errors = (scores.argmax(dim=1) != labels.to(scores.device)).to(scores.dtype)
        errors = torch.where(torch.isnan(scores).any(dim=1), torch.nan, errors)  # argmax would pick the NaN
    return raise_on_nan(reduce(errors, reduction), scores=scores)


def hinge(scores: TensorLike, labels: TensorLike, *, margin: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    r"""Hinge loss, the convex surrogate of the support vector machine.

    .. math::

        \ell(s, y) = \max(0,\ m - y s), \qquad y \in \{-1, +1\}

    It upper-bounds the 0/1 loss for margin :math:`m = 1`, is zero once an example is on
    the right side with margin :math:`m`, and gives sparse support vectors (Cortes and
    Vapnik 1995).

    Args:
        scores: real scores, any shape.
        labels: -1 or +1, the same shape as ``scores``.
        margin: the margin :math:`m \ge 0` (``margin=0`` is the perceptron loss).
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all elements.

    With ``margin=1`` it agrees with ``sklearn.metrics.hinge_loss(labels, scores)``.

    >>> float(hinge([2.0, 0.5, -1.0], [1, 1, 1]))  # (0 + 0.5 + 2) / 3
    0.8333333134651184
    """
    margin = check_scalar(margin, "margin", low=0.0)
    scores, labels = _scores_labels(scores, labels, reduction)
    return raise_on_nan(reduce(F.relu(margin - labels * scores), reduction), scores=scores)


def squared_hinge(
    scores: TensorLike, labels: TensorLike, *, margin: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    r"""Squared hinge loss: the hinge squared, differentiable at the margin.

    .. math::

        \ell(s, y) = \max(0,\ m - y s)^2, \qquad y \in \{-1, +1\}

    The loss of the L2-SVM (Mangasarian and Musicant 2001); ``LinearSVC``'s default loss
    in scikit-learn. Unlike the hinge it is smooth and penalises large violations
    quadratically; like the hinge it is zero beyond the margin.

    Args:
        scores: real scores, any shape.
        labels: -1 or +1, the same shape as ``scores``.
        margin: the margin :math:`m \ge 0`.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all elements.

    >>> float(squared_hinge([2.0, 0.5, -1.0], [1, 1, 1]))  # (0 + 0.25 + 4) / 3
    1.4166666269302368
    """
    margin = check_scalar(margin, "margin", low=0.0)
    scores, labels = _scores_labels(scores, labels, reduction)
    return raise_on_nan(reduce(F.relu(margin - labels * scores).square(), reduction), scores=scores)


def multiclass_hinge(
    scores: TensorLike, labels: TensorLike, *, margin: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    r"""Multiclass hinge loss of Crammer and Singer: the true class must beat every other by a margin.

    .. math::

        \ell(s, y) = \max\bigl(0,\ m + \max_{k \ne y} s_k - s_y\bigr)
        = \max_{k} \bigl(s_k + m\,\mathbb 1[k \ne y]\bigr) - s_y

    It is zero once the score of the true class exceeds every other score by the margin
    :math:`m`, and, for :math:`m = 1`, it upper-bounds the multiclass 0/1 loss
    (:func:`zero_one`). Only the strongest rival class gets a gradient (the others are not
    involved); ties among the rivals share it. With two classes and scores
    :math:`(-s/2, s/2)` it is the binary :func:`hinge` of the margin :math:`y s`, with
    :math:`y = \pm 1` (Crammer and Singer 2001).

    Args:
        scores: real scores of shape (N, C), C >= 2 classes.
        labels: (N,) integer class indices in :math:`[0, C)`.
        margin: the margin :math:`m \ge 0`.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over the N examples.

    Agrees with ``sklearn.metrics.hinge_loss(labels, scores, labels=range(C))``, the mean over
    examples (scikit-learn's multiclass hinge is this Crammer-Singer form).

    >>> float(multiclass_hinge([[2.0, 1.5, -1.0], [0.0, 1.0, 0.5]], [0, 0]))  # (0.5 + 2) / 2
    1.25
    """
    check_reduction(reduction)
    margin = check_scalar(margin, "margin", low=0.0)
    scores = as_float_tensor(scores, "scores")
    check_ndim(scores, "scores", 2)
    check_nonempty(scores, "scores")
    if scores.shape[1] < 2:
        raise ValueError(f"scores must hold at least 2 classes along axis 1, got shape {tuple(scores.shape)}")
    labels = as_index_tensor(labels, "labels")
    if labels.shape != scores.shape[:1]:
        raise ValueError(
            f"labels must have shape (N,) = {tuple(scores.shape[:1])} for scores of shape "
            f"{tuple(scores.shape)}, got {tuple(labels.shape)}"
        )
    if labels.device != scores.device:
        raise ValueError(f"labels is on {labels.device} but scores are on {scores.device}")
    check_class_indices(labels, scores.shape[1], "labels")
    is_true = torch.arange(scores.shape[1], device=scores.device) == labels.unsqueeze(1)  # (N, C)
    true_score = scores.gather(1, labels.unsqueeze(1)).squeeze(1)
    best_rival = scores.masked_fill(is_true, -torch.inf).amax(dim=1)
    loss = F.relu(margin + best_rival - true_score)
    return raise_on_nan(reduce(loss, reduction), scores=scores)


def logistic(scores: TensorLike, labels: TensorLike, *, reduction: str = "mean") -> torch.Tensor:
    r"""Logistic loss of the margin (binary cross-entropy with labels in {-1, +1}).

    .. math::

        \ell(s, y) = \log(1 + e^{-y s}) = -\log\sigma(y s), \qquad y \in \{-1, +1\}

    The negative log-likelihood of the logistic model :math:`P(y \mid x) = \sigma(y s)`
    (Cox 1958); a calibrated surrogate whose minimiser recovers
    :math:`s = \log\frac{P(y=1\mid x)}{P(y=-1\mid x)}`. Computed as
    :math:`\operatorname{logaddexp}(0, -y s)`, finite with finite gradients for any finite
    margin.

    Args:
        scores: real scores (logits), any shape.
        labels: -1 or +1, the same shape as ``scores``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all elements.

    Agrees with ``F.binary_cross_entropy_with_logits(scores, (labels + 1) / 2)``.

    >>> round(float(logistic([0.0, 1e4], [1, -1], reduction="sum")), 4)  # log 2 + 1e4
    10000.6934
    """
    scores, labels = _scores_labels(scores, labels, reduction)
    # softplus(-y s) = logaddexp(0, -y s): exact for every margin (F.softplus switches to the
    # identity above 20, F.logsigmoid is slow on small tensors with several threads)
    loss = reduce(torch.logaddexp(scores.new_zeros(()), -labels * scores), reduction)
    return raise_on_nan(loss, scores=scores)


def exponential(scores: TensorLike, labels: TensorLike, *, reduction: str = "mean") -> torch.Tensor:
    r"""Exponential loss of the margin, the loss AdaBoost minimises.

    .. math::

        \ell(s, y) = e^{-y s}, \qquad y \in \{-1, +1\}

    (Freund and Schapire 1997; Friedman, Hastie and Tibshirani 2000). It upper-bounds the
    0/1 loss and is convex, but grows exponentially in the violation, which makes it
    sensitive to label noise. Note: it is finite for every finite margin but exceeds the
    float range once :math:`-y s > 88.7` (float32) or :math:`> 709.8` (float64), where it
    returns ``inf`` -- the true value is not representable, so no formula can avoid this.

    Args:
        scores: real scores, any shape.
        labels: -1 or +1, the same shape as ``scores``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all elements.

    >>> round(float(exponential([0.0, 1.0], [1, -1], reduction="none")[1]), 6)  # e
    2.718282
    """
    scores, labels = _scores_labels(scores, labels, reduction)
    return raise_on_nan(reduce(torch.exp(-labels * scores), reduction), scores=scores)


# ---------------------------------------------------------------------------------------
# likelihood losses on logits
# ---------------------------------------------------------------------------------------


def binary_cross_entropy(
    logits: TensorLike, targets: TensorLike, *, pos_weight: TensorLike | None = None, reduction: str = "mean"
) -> torch.Tensor:
    r"""Binary cross-entropy on logits (the Bernoulli negative log-likelihood).

    .. math::

        \ell(x, t) = -\big[\, w_+\, t \log\sigma(x) + (1 - t)\log(1 - \sigma(x)) \,\big]
        = w_+\, t\,\operatorname{softplus}(-x) + (1 - t)\operatorname{softplus}(x)

    with :math:`w_+` = ``pos_weight`` (1 by default). With 0/1 targets it is the
    :func:`logistic` loss of the margin :math:`(2t - 1)x`; with soft targets in
    :math:`[0, 1]` it is the cross-entropy between two Bernoulli distributions
    (Cox 1958). ``pos_weight > 1`` up-weights the positive class, e.g. by
    #negatives / #positives under class imbalance.

    Args:
        logits: real logits, any shape.
        targets: probabilities in :math:`[0, 1]`, the same shape as ``logits``.
        pos_weight: optional non-negative weight of the positive term, a number or a
            tensor of shape (C,) where C is the size of the last axis of ``logits`` (one
            weight per class, broadcast along the last axis as in PyTorch).
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all elements.

    Checks its inputs, then calls ``F.binary_cross_entropy_with_logits``, the fused,
    stable kernel of the same formula.

    >>> round(float(binary_cross_entropy([0.0, 2.0], [1.0, 0.0], reduction="sum")), 6)
    2.820075
    """
    check_reduction(reduction)
    logits = as_float_tensor(logits, "logits")
    targets = as_float_tensor(targets, "targets", like=logits)
    check_same_shape(logits, targets, "logits", "targets")
    check_nonempty(logits, "logits")
    _checks.check_unit_interval(targets, "targets")
    if pos_weight is not None:
        pos_weight = _pos_weight(pos_weight, logits)
    if pos_weight is None:
        logits, targets = promote_floats(logits, targets)
    else:
        logits, targets, pos_weight = promote_floats(logits, targets, pos_weight)
    if pos_weight is not None and pos_weight.requires_grad:
        # torch's fused kernel is not differentiable in pos_weight: the formula, written stably
        zero = logits.new_zeros(())
        loss = pos_weight * targets * torch.logaddexp(zero, -logits) + (1 - targets) * torch.logaddexp(zero, logits)
        loss = reduce(loss, reduction)
    else:
        loss = F.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos_weight, reduction=reduction)
    return raise_on_nan(loss, logits=logits, targets=targets, pos_weight=pos_weight)


def _pos_weight(pos_weight, logits: torch.Tensor) -> torch.Tensor:
    """A number, a (1,) tensor (torch's idiom for one weight) or one weight per class (C,)."""
    pos_weight = as_float_tensor(pos_weight, "pos_weight", like=logits)
    classes = logits.shape[-1] if logits.dim() else 1
    if pos_weight.dim() > 1 or (pos_weight.dim() == 1 and pos_weight.shape[0] not in (1, classes)):
        raise ValueError(
            f"pos_weight must be a number or have shape (1,) or (C,) = ({classes},) matching the last "
            f"axis of logits, got shape {tuple(pos_weight.shape)}"
        )
    check_nonnegative(pos_weight, "pos_weight")
    return pos_weight.reshape(()) if pos_weight.numel() == 1 else pos_weight


def cross_entropy(
    logits: TensorLike, target: TensorLike, *, label_smoothing: float = 0.0, reduction: str = "mean"
) -> torch.Tensor:
    r"""Categorical cross-entropy on logits (the softmax negative log-likelihood).

    .. math::

        \ell(z, q) = -\sum_{k=1}^C q_k \log \operatorname{softmax}(z)_k
        = \operatorname{logsumexp}(z) - \sum_k q_k z_k,
        \qquad q = (1 - \varepsilon)\, y + \varepsilon / C

    where :math:`y` is the one-hot vector of a class index (or a given probability vector)
    and :math:`\varepsilon` = ``label_smoothing``. With :math:`\varepsilon = 0` and a
    class index :math:`c` it is :math:`-\log \operatorname{softmax}(z)_c`, the negative
    log-likelihood; label smoothing mixes the target with the uniform distribution,
    which keeps the optimal logits finite and the model less over-confident (Szegedy et
    al. 2016; Müller, Kornblith and Hinton 2019).

    Args:
        logits: (N, C) logits, or (N, C, d1, d2, ...) for per-position classes as in
            PyTorch.
        target: class indices of shape (N,) (or (N, d1, ...)) in :math:`[0, C)`, or
            probability vectors of the same shape as ``logits`` (class axis 1,
            non-negative, summing to 1).
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over the examples (and positions).

    Checks its inputs, then calls ``F.cross_entropy(..., label_smoothing=...)``, the fused
    kernel of the same formula.

    >>> round(float(cross_entropy([[2.0, 0.0, 0.0]], [0])), 6)  # log(e^2 + 2) - 2
    0.239545
    """
    check_reduction(reduction)
    label_smoothing = check_scalar(label_smoothing, "label_smoothing", low=0.0, high=1.0)
    logits = as_float_tensor(logits, "logits")
    if logits.dim() < 2:
        raise ValueError(f"logits must have shape (N, C) or (N, C, d1, ...), got shape {tuple(logits.shape)}")
    check_nonempty(logits, "logits")
    index_shape = logits.shape[:1] + logits.shape[2:]
    if isinstance(target, torch.Tensor) and target.is_floating_point() and target.shape == logits.shape:
        is_prob = True
    else:
        target = _checks.as_tensor(target, "target")
        is_prob = target.shape == logits.shape and target.dim() >= 2
    if is_prob:
        target = as_float_tensor(target, "target", like=logits)
        check_probability_vectors(target if target.dim() == 2 else target.movedim(1, -1), "target")
        logits, target = promote_floats(logits, target)
    elif target.shape == index_shape:
        target = as_index_tensor(target, "target")
        check_class_indices(target, logits.shape[1], "target")
    else:
        raise ValueError(
            f"target must be class indices of shape {tuple(index_shape)} or probabilities of shape "
            f"{tuple(logits.shape)} for logits of shape {tuple(logits.shape)}, got {tuple(target.shape)}"
        )
    loss = F.cross_entropy(logits, target, label_smoothing=label_smoothing, reduction=reduction)
    return raise_on_nan(loss, logits=logits, target=target)


class _FocalFunction(torch.autograd.Function):
    """Sigmoid focal loss per element, with its gradient computed in the same pass.

    With ``v = (1 - 2t) x`` (the logit of ``1 - p_t`` for 0/1 targets) one element's loss is
    ``a_t * ce * w`` with ``ce = softplus(v) = -log p_t`` and
    ``w = (1 - p_t)**gamma = exp(gamma * log_q)``, ``log_q = v - ce = log(1 - p_t)``; and

        dloss/dx = ((1 - alpha) - t) * w * (q + gamma * ce * (1 - q)),   q = exp(log_q) = 1 - p_t,

    where ``(1 - alpha) - t`` equals ``a_t * (1 - 2t)`` for 0/1 targets (``1 - 2t`` without
    alpha weighting). Every factor is in [0, 1] except ``ce``, which multiplies
    ``1 - q = p_t = exp(-ce)``, so the gradient is finite for every gamma >= 0 and finite
    logit. Forward saves only the gradient; backward is one multiplication. Nine
    elementwise passes in all, against about thirty for autograd through the formula.
    """

    @staticmethod
    def forward(ctx, x, t, gamma, alpha, reduction, need_grad):
        v = x * torch.rsub(t, 1.0, alpha=2.0)  # (1 - 2t) x, the logit of 1 - p_t
        ce = torch.logaddexp(x.new_zeros(()), v)  # softplus(v) = -log p_t
        log_q = v.sub_(ce)  # log(1 - p_t), in v's memory
        w = torch.mul(log_q, gamma).exp_()  # (1 - p_t) ** gamma
        if need_grad:
            q = log_q.exp_()  # 1 - p_t, in log_q's memory
            bracket = torch.addcmul(q, ce, torch.rsub(q, 1.0), value=gamma)
            if alpha is None:
                coeff = torch.rsub(t, 1.0, alpha=2.0)  # 1 - 2t
            else:
                coeff = torch.rsub(t, 1.0 - alpha)  # (1 - alpha) - t = a_t (1 - 2t)
            grad = bracket.mul_(w).mul_(coeff)
        loss = ce.mul_(w)
        if alpha is not None:
            a_t = torch.rsub(t, 1.0 - alpha, alpha=1.0 - 2.0 * alpha)  # alpha t + (1 - alpha)(1 - t)
            if reduction == "none":
                loss = loss.mul_(a_t)
            else:
                loss = torch.dot(loss.reshape(-1), a_t.reshape(-1))
        elif reduction != "none":
            loss = loss.sum()
        if reduction == "mean":
            n = x.numel()
            loss = loss / n
            if need_grad:
                grad = grad.div_(n)
        ctx.save_for_backward(grad if need_grad else None)
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        return grad * grad_output, None, None, None, None, None


def focal(
    logits: TensorLike, targets: TensorLike, *, gamma: float = 2.0, alpha: float | None = 0.25, reduction: str = "mean"
) -> torch.Tensor:
    r"""Sigmoid focal loss: cross-entropy that down-weights easy, well-classified examples.

    .. math::

        \ell(x, t) = -\alpha_t\,(1 - p_t)^\gamma \log p_t, \qquad
        p_t = t\,\sigma(x) + (1 - t)(1 - \sigma(x)), \quad
        \alpha_t = \alpha t + (1 - \alpha)(1 - t)

    (Lin et al. 2017). The modulating factor :math:`(1 - p_t)^\gamma` is near 0 for an
    example the model already gets right with confidence, so the many easy negatives of
    a heavily imbalanced problem stop dominating the gradient; :math:`\gamma = 0` and
    ``alpha=None`` give :func:`binary_cross_entropy`.

    Computed in log space: with :math:`v = (1 - 2t)x`, :math:`-\log p_t =
    \operatorname{softplus}(v)`, :math:`\log(1 - p_t) = \log\sigma(v) = v -
    \operatorname{softplus}(v)` and :math:`(1 - p_t)^\gamma = \exp(\gamma \log\sigma(v))`.
    This agrees with the formula of ``torchvision.ops.sigmoid_focal_loss`` but, unlike it,
    keeps values and gradients finite for saturated logits (:math:`|x| = 10^4`) and for
    :math:`0 < \gamma < 1`, where :math:`\frac{d}{dp}(1 - p_t)^\gamma` is unbounded. The
    gradient has a hand-written backward (first order only; no double backward).

    Args:
        logits: real logits, any shape.
        targets: 0/1 labels (as in the paper and torchvision), the same shape as ``logits``.
        gamma: focusing parameter :math:`\gamma \ge 0`; the paper uses 2.
        alpha: class weight :math:`\alpha \in [0, 1]` of the positives (the paper uses
            0.25), or ``None`` for no weighting.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all elements (torchvision's
            default is ``"none"``, objlib's is ``"mean"``).

    Two examples: x = 0, t = 1 gives 0.5**2 log 2; x = 3, t = 0 gives sigmoid(3)**2 softplus(3):

    >>> round(float(focal([0.0, 3.0], [1.0, 0.0], alpha=None, reduction="sum")), 5)
    2.93957
    """
    check_reduction(reduction)
    gamma = check_scalar(gamma, "gamma", low=0.0)
    if alpha is not None:
        alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0)
    logits = as_float_tensor(logits, "logits")
    targets = as_float_tensor(targets, "targets", like=logits)
    check_same_shape(logits, targets, "logits", "targets")
    check_nonempty(logits, "logits")
    logits, targets = promote_floats(logits, targets.detach())
    _check_binary_targets(targets, "targets")
    need_grad = logits.requires_grad and torch.is_grad_enabled()  # else skip the gradient work
    loss = _FocalFunction.apply(logits, targets, gamma, alpha, reduction, need_grad)
    return raise_on_nan(loss, logits=logits, targets=targets)
