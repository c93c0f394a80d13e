r"""Evaluation metrics: what a model is graded on, as opposed to what it is trained on.

Accuracy, F1, average precision, the expected calibration error and recall@k are step
functions of a model's output (they count, threshold or sort), so they have no useful
gradient and are never training objectives: chapters 3 and 4 train on a surrogate and grade
on these. Every function returns a torch tensor with no autograd history.

NaN policy: with value checks on, a NaN score, probability or label is a ``ValueError``; with
them off, a NaN in a query or a batch makes its metric NaN (a NaN score is never counted as
right or sorted to a place). Metrics read the data to count and sort (``f1_score``'s 0/0 test,
``average_precision``'s ties), so they are not meant for ``torch.compile(fullgraph=True)``.

Binary label coding, shared by :func:`accuracy`, :func:`f1_score`,
:func:`average_precision` and :func:`expected_calibration_error`: labels may be coded
``{-1, +1}`` or ``{0, 1}`` (or ``bool``); **the positive class is always 1** (``True``),
and the negative class is whichever of ``-1`` or ``0`` the tensor uses. A tensor that mixes
``-1`` and ``0`` is refused, because it cannot be one binary coding.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch

from ._checks import (
    TensorLike,
    as_float_tensor,
    as_index_tensor,
    as_tensor,
    check_class_indices,
    check_finite,
    check_int,
    check_ndim,
    check_nonempty,
    check_not_nan,
    check_probability_vectors,
    check_reduction,
    check_scalar,
    check_unit_interval,
    value_checks_enabled,
)

__all__ = [
    "accuracy",
    "f1_score",
    "f1_optimal_threshold",
    "F1Threshold",
    "average_precision",
    "expected_calibration_error",
    "reliability_curve",
    "ReliabilityCurve",
    "plot_reliability_diagram",
    "fit_temperature",
    "recall_at_k",
]


# ---------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------


def _binary_positive(labels: torch.Tensor, name: str) -> torch.Tensor:
    """Decode binary labels (``{-1,+1}``, ``{0,1}`` or bool) to a bool tensor, True = class 1."""
    labels = labels.detach()
    if labels.dtype == torch.bool:
        return labels
    if value_checks_enabled() and labels.numel():
        # One pass for the range; whole numbers in [-1, 1] are exactly {-1, 0, 1}.
        low, high = torch.aminmax(labels)
        in_domain = float(low) >= -1 and float(high) <= 1
        if in_domain and labels.is_floating_point():
            in_domain = bool((labels == labels.round()).all())
        if not in_domain:
            bad = labels[(labels != 1) & (labels != -1) & (labels != 0)].flatten()[:3].tolist()
            raise ValueError(f"{name} must be binary labels coded {{-1, +1}} or {{0, 1}}, got values such as {bad}")
        if float(low) == -1 and bool((labels == 0).any()):
            raise ValueError(f"{name} mixes -1 and 0: use one binary coding, {{-1, +1}} or {{0, 1}}")
    return labels == 1


def _nan_where(value: torch.Tensor, nan_rows: torch.Tensor) -> torch.Tensor:
    """``value`` with NaN where ``nan_rows`` (broadcast) is True: NaN data never scores a number."""
    return torch.where(nan_rows, torch.nan, value)


def _any_nan(x: torch.Tensor, dim=None) -> torch.Tensor:
    """Whether ``x`` holds a NaN (along ``dim``); always False for integer and bool tensors."""
    nan = torch.isnan(x) if x.is_floating_point() else torch.zeros_like(x, dtype=torch.bool)
    return nan.any() if dim is None else nan.any(dim=dim)


def _float_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """The floating dtype of the first floating tensor, else torch's default."""
    for t in tensors:
        if t.is_floating_point():
            return t.dtype
    return torch.get_default_dtype()


def _predictions_and_labels(x, labels, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) binary or (N, C) multiclass predictions ``x`` and their (N,) labels, checked."""
    x = as_float_tensor(x, name)
    check_ndim(x, name, (1, 2))
    check_nonempty(x, name)
    labels = as_tensor(labels, "labels")
    if labels.shape != x.shape[:1]:
        raise ValueError(
            f"labels must have shape (N,) = {tuple(x.shape[:1])} to match {name} {tuple(x.shape)}, "
            f"got {tuple(labels.shape)}"
        )
    return x, labels


def _top_label(probs, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-label confidence and correctness for (N,) binary or (N, C) multiclass probabilities."""
    probs, labels = _predictions_and_labels(probs, labels, "probs")
    if probs.dim() == 1:  # P(y = 1); the predicted class is 1 when P(y = 1) > 1/2
        check_unit_interval(probs, "probs")
        positive = _binary_positive(labels, "labels")
        predicted_positive = probs > 0.5
        confidence = torch.where(predicted_positive, probs, 1 - probs)
        correct = predicted_positive == positive
    else:
        check_probability_vectors(probs, "probs")
        labels = as_index_tensor(labels.detach(), "labels")
        check_class_indices(labels, probs.shape[1], "labels")
        confidence, predicted = probs.max(dim=1)  # the first maximum on ties, like argmax
        confidence = _nan_where(confidence, _any_nan(probs, dim=1))
        correct = predicted == labels
    return confidence.detach(), correct


def _ranked_binary(scores, labels, *, finite: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N,) scores and binary labels, checked: the scores, the labels as bools, and whether any is NaN."""
    scores = as_float_tensor(scores, "scores").detach()
    check_ndim(scores, "scores", 1)
    check_nonempty(scores, "scores")
    (check_finite if finite else check_not_nan)(scores, "scores")
    target = as_tensor(labels, "labels")
    if target.shape != scores.shape:
        raise ValueError(
            f"scores and labels must have the same shape (no broadcasting), "
            f"got scores: {tuple(scores.shape)} and labels: {tuple(target.shape)}"
        )
    return scores, _binary_positive(target, "labels"), _any_nan(scores) | _any_nan(target)


def _counts_at_thresholds(scores: torch.Tensor, positive: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Each distinct score as a threshold, highest first, with the TP and positive-prediction counts
    of the rule ``score >= threshold`` (tied scores enter together)."""
    order = torch.argsort(scores, descending=True, stable=True)
    sorted_scores = scores[order]
    tp = positive[order].to(scores.dtype).cumsum(0)
    predicted = torch.arange(1, scores.numel() + 1, dtype=scores.dtype, device=scores.device)
    # The last position of each run of tied scores is where a threshold ends.
    last_of_tie = torch.ones_like(positive)
    last_of_tie[:-1] = sorted_scores[1:] != sorted_scores[:-1]
    return sorted_scores[last_of_tie], tp[last_of_tie], predicted[last_of_tie]


def _bin_index(confidence: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Bin ``m`` (0-based) holds confidences in the right-closed interval (m/M, (m+1)/M]."""
    inner_edges = torch.arange(1, n_bins, dtype=confidence.dtype, device=confidence.device) / n_bins
    return torch.bucketize(confidence, inner_edges, right=False)


# ---------------------------------------------------------------------------------------
# classification metrics
# ---------------------------------------------------------------------------------------


def accuracy(scores: TensorLike, labels: TensorLike) -> torch.Tensor:
    r"""Fraction of examples classified correctly, from real-valued scores.

    .. math::

        \mathrm{acc} = \frac1N \sum_{i=1}^N \mathbb 1\{\hat y_i = y_i\}

    * Binary: ``scores`` of shape (N,), ``labels`` (N,) coded ``{-1,+1}`` or ``{0,1}``
      (see the module docstring). A positive score predicts class 1, a negative score the
      other class, and a score of exactly 0 counts as an error, so that
      ``accuracy = 1 - objlib.classification.zero_one`` (an example is correct when its
      margin :math:`y s` is strictly positive).
    * Multiclass: ``scores`` (N, C) (logits or probabilities), ``labels`` (N,) integer
      class indices; the prediction is the arg-max, the first one on ties.

    Returns a 0-dim tensor in the floating dtype of ``scores``. Not differentiable.

    >>> float(accuracy([2.0, -1.0, 0.5, -3.0], [1, -1, -1, -1]))
    0.75
    >>> float(accuracy([[2.0, 0.1], [0.3, 0.9]], [0, 0]))
    0.5
    """
    scores, labels = _predictions_and_labels(scores, labels, "scores")
    scores = scores.detach()
    check_not_nan(scores, "scores")
    if scores.dim() == 1:
        positive = _binary_positive(labels, "labels")
        correct = torch.where(positive, scores > 0, scores < 0)
    else:
        labels = as_index_tensor(labels.detach(), "labels")
        check_class_indices(labels, scores.shape[1], "labels")
        correct = scores.argmax(dim=1) == labels
    return _nan_where(correct.to(scores.dtype).mean(), _any_nan(scores) | _any_nan(labels))


def f1_score(pred_labels: TensorLike, labels: TensorLike, *, zero_division: float = 0.0) -> torch.Tensor:
    r"""Binary F1 score, the harmonic mean of precision and recall of the positive class.

    .. math::

        F_1 = \frac{2\,\mathrm{TP}}{2\,\mathrm{TP} + \mathrm{FP} + \mathrm{FN}}

    Both arguments are hard labels of shape (N,), each coded ``{-1,+1}`` or ``{0,1}`` or
    bool, independently of each other; the positive class is 1 (see the module docstring).
    When there is no positive in either tensor (``TP + FP + FN = 0``) the ratio is 0/0 and
    ``zero_division`` (default 0.0, in [0, 1]) is returned, as scikit-learn does.

    Equals ``sklearn.metrics.f1_score(labels, pred_labels)`` (van Rijsbergen 1979).
    Returns a 0-dim tensor of torch's default float dtype (float64 if either input is float64).

    >>> round(float(f1_score([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])), 6)  # TP=2, FP=1, FN=1: 4/6
    0.666667
    """
    pred = as_tensor(pred_labels, "pred_labels").detach()
    target = as_tensor(labels, "labels").detach()
    check_ndim(pred, "pred_labels", 1)
    check_nonempty(pred, "pred_labels")
    if pred.shape != target.shape:
        raise ValueError(
            f"pred_labels and labels must have the same shape (no broadcasting), "
            f"got pred_labels: {tuple(pred.shape)} and labels: {tuple(target.shape)}"
        )
    zero_division = check_scalar(zero_division, "zero_division", low=0.0, high=1.0)
    dtype = torch.float64 if torch.float64 in (pred.dtype, target.dtype) else torch.get_default_dtype()
    p = _binary_positive(pred, "pred_labels")
    t = _binary_positive(target, "labels")
    tp = (p & t).sum().to(dtype)
    denominator = p.sum().to(dtype) + t.sum().to(dtype)  # 2 TP + FP + FN = |predicted +| + |actual +|
    nan = _any_nan(pred) | _any_nan(target)  # with value checks off: NaN labels give NaN
    if float(denominator) == 0.0:
        return _nan_where(torch.tensor(zero_division, dtype=dtype, device=pred.device), nan)
    return _nan_where(2 * tp / denominator, nan)


class F1Threshold(NamedTuple):
    """The best threshold on a set of scores and the F1 it reaches (see :func:`f1_optimal_threshold`)."""

    threshold: torch.Tensor
    f1: torch.Tensor


def f1_optimal_threshold(scores: TensorLike, labels: TensorLike) -> F1Threshold:
    r"""The threshold on ``scores`` whose decisions have the largest F1 on the given data.

    .. math::

        t^* = \arg\max_{t} F_1\bigl(\mathbb 1[s_i \ge t],\ y_i\bigr),
        \qquad t \in \{s_1, \dots, s_N\}

    F1 is not an average of per-example losses, so the threshold that maximises it is not the
    one that maximises accuracy: plug-in classifiers estimate :math:`P(y = 1 \mid x)` (or any
    score that ranks like it) and then choose the threshold on held-out data, and for
    calibrated probabilities the best threshold is half the best F1 (Lipton, Elkan and
    Naryanaswamy 2014). Every distinct score is tried as the threshold ("predict positive
    when ``score >= t``"), so tied scores are always decided together; among thresholds with
    equal F1 the largest wins (the fewest positive predictions).

    ``scores`` (N,) real (probabilities, logits, any score where larger means "more
    positive"); ``labels`` (N,) binary, positive class 1 (see the module docstring).
    Returns an :class:`F1Threshold` ``(threshold, f1)`` of 0-dim tensors in the floating
    dtype of ``scores``; ``f1`` equals ``f1_score(scores >= threshold, labels)``. Without a
    positive label F1 is 0 for every threshold that predicts a positive and both are NaN,
    as :func:`average_precision` gives. One sort, O(N log N).

    >>> # thresholds 0.8, 0.4, 0.35, 0.1 give F1 = 2/3, 1/2, 4/5, 2/3
    >>> best = f1_optimal_threshold([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> round(float(best.threshold), 6), round(float(best.f1), 6)
    (0.35, 0.8)
    """
    scores, positive, nan_data = _ranked_binary(scores, labels, finite=False)
    n_pos = positive.sum().to(scores.dtype)
    if float(n_pos) == 0 or bool(nan_data):
        nan = scores.new_tensor(torch.nan)  # no positive, or NaN data (with value checks off)
        return F1Threshold(nan, nan.clone())
    thresholds, tp, predicted = _counts_at_thresholds(scores, positive)
    f1 = 2 * tp / (predicted + n_pos)  # 2 TP / (2 TP + FP + FN)
    best = int(torch.argmax(f1))  # the first maximum: the largest threshold
    return F1Threshold(thresholds[best], f1[best])


def average_precision(scores: TensorLike, labels: TensorLike) -> torch.Tensor:
    r"""Average precision: the area under the precision-recall curve, as a step sum.

    .. math::

        \mathrm{AP} = \sum_{k} (R_k - R_{k-1})\, P_k

    where :math:`P_k` and :math:`R_k` are the precision and recall when every example with
    a score at least the :math:`k`-th largest distinct score is predicted positive
    (:math:`R_0 = 0`). Tied scores enter together, at one threshold. No interpolation is
    applied. This is the definition of ``sklearn.metrics.average_precision_score``, with
    which it agrees (Zhu 2004, "Recall, precision and average precision").

    ``scores`` (N,) real, finite; ``labels`` (N,) binary, positive class 1 (see the module
    docstring). Without a positive, recall is undefined and the result is NaN, as
    :func:`recall_at_k` gives for a query without a relevant item (scikit-learn warns and
    returns 0 instead, which reads as the worst possible ranking). Returns a 0-dim tensor in
    the floating dtype of ``scores``.

    >>> round(float(average_precision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])), 6)  # sklearn's example
    0.833333
    """
    scores, positive, nan_data = _ranked_binary(scores, labels, finite=True)
    n_pos = positive.sum()
    if int(n_pos) == 0 or bool(nan_data):
        return scores.new_tensor(torch.nan)  # no positive, or NaN data (with value checks off)
    _, tp, predicted = _counts_at_thresholds(scores, positive)
    precision = tp / predicted
    recall = tp / n_pos.to(scores.dtype)
    recall_step = torch.diff(recall, prepend=recall.new_zeros(1))
    return (recall_step * precision).sum()


# ---------------------------------------------------------------------------------------
# calibration
# ---------------------------------------------------------------------------------------


def expected_calibration_error(probs: TensorLike, labels: TensorLike, *, n_bins: int = 15) -> torch.Tensor:
    r"""Expected calibration error (ECE) of the top-label confidence, with equal-width bins.

    .. math::

        \mathrm{ECE} = \sum_{m=1}^{M} \frac{|B_m|}{N}\,
        \bigl|\mathrm{acc}(B_m) - \mathrm{conf}(B_m)\bigr|

    where the confidence of an example is the probability of its predicted class,
    :math:`B_m` holds the examples whose confidence lies in the **right-closed** bin
    :math:`((m-1)/M,\ m/M]`, and acc/conf are the mean correctness and mean confidence in
    the bin; empty bins contribute nothing. This is the estimator of Naeini et al. (2015)
    in the form used by Guo et al. (2017), whose binning is right-closed as here.

    Args:
        probs: (N, C) class probabilities, rows summing to 1, with ``labels`` (N,) integer
            class indices; or (N,) probabilities :math:`P(y = 1)` of a binary problem, with
            ``labels`` (N,) binary (positive class 1, see the module docstring). In the
            binary case the predicted class is 1 when :math:`P(y=1) > 1/2` and the
            confidence is :math:`\max(p, 1 - p)`; in the multiclass case the prediction is
            the arg-max (the first one on ties).
        n_bins: number of equal-width bins M on [0, 1] (default 15, as Guo et al.).

    Returns a 0-dim tensor in the dtype of ``probs``, in [0, 1]. See :func:`reliability_curve`
    for the per-bin numbers and :func:`plot_reliability_diagram` for the figure.

    >>> # confidences 0.9, 0.8, 0.7, 0.6; correct, correct, correct, wrong
    >>> round(float(expected_calibration_error([0.9, 0.8, 0.3, 0.6], [1, 1, 0, 0], n_bins=5)), 6)
    0.3
    """
    n_bins = check_int(n_bins, "n_bins", low=1)
    confidence, correct = _top_label(probs, labels)
    bins = _bin_index(confidence, n_bins)
    gap = confidence.new_zeros(n_bins).index_add_(0, bins, correct.to(confidence.dtype) - confidence)
    return _nan_where(gap.abs().sum() / confidence.numel(), _any_nan(confidence))


class ReliabilityCurve(NamedTuple):
    """Per-bin summary of a reliability diagram (see :func:`reliability_curve`)."""

    confidence: torch.Tensor
    accuracy: torch.Tensor
    count: torch.Tensor  # type: ignore[assignment]  # shadows tuple.count, a public name since 0.1


def reliability_curve(probs: TensorLike, labels: TensorLike, *, n_bins: int = 15) -> ReliabilityCurve:
    r"""Mean confidence, accuracy and count of each confidence bin (a reliability diagram).

    Uses exactly the binning of :func:`expected_calibration_error` (bin ``m`` holds
    confidences in :math:`(m/M, (m+1)/M]`, 0-based), so that

    .. math::

        \mathrm{ECE} = \sum_m \frac{\mathrm{count}_m}{N}\,
        |\mathrm{accuracy}_m - \mathrm{confidence}_m| .

    Returns a :class:`ReliabilityCurve` ``(confidence, accuracy, count)`` of three tensors of
    shape (n_bins,): the first two in the dtype of ``probs`` and NaN for empty bins, the
    counts as int64. A perfectly calibrated model has ``accuracy == confidence`` in every bin
    (Guo et al. 2017; DeGroot and Fienberg 1983).

    >>> curve = reliability_curve([0.9, 0.8, 0.3, 0.6], [1, 1, 0, 0], n_bins=2)
    >>> curve.count.tolist(), [round(v, 3) for v in curve.accuracy.tolist()]
    ([0, 4], [nan, 0.75])
    """
    n_bins = check_int(n_bins, "n_bins", low=1)
    confidence, correct = _top_label(probs, labels)
    bins = _bin_index(confidence, n_bins)
    count = torch.bincount(bins, minlength=n_bins)
    conf_sum = confidence.new_zeros(n_bins).index_add_(0, bins, confidence)
    acc_sum = confidence.new_zeros(n_bins).index_add_(0, bins, correct.to(confidence.dtype))
    denominator = count.to(confidence.dtype)
    nan = torch.full_like(conf_sum, float("nan"))
    empty = count == 0
    empty = empty | _any_nan(confidence)  # NaN probabilities (value checks off): no bin is known
    mean_conf = torch.where(empty, nan, conf_sum / denominator.clamp(min=1))
    mean_acc = torch.where(empty, nan, acc_sum / denominator.clamp(min=1))
    return ReliabilityCurve(mean_conf, mean_acc, count)


def plot_reliability_diagram(
    probs: TensorLike, labels: TensorLike, *, n_bins: int = 15, ax: Any | None = None, label: str | None = None
) -> Any:
    """Draw a reliability diagram: accuracy against mean confidence of each bin.

    Non-empty bins of :func:`reliability_curve` are drawn as a line with markers, together
    with the diagonal of perfect calibration (drawn once per axes). Call it several times on
    one ``ax`` with different ``label`` values to compare models. matplotlib is imported
    only when this function is called.

    Returns the matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt

    curve = reliability_curve(probs, labels, n_bins=n_bins)
    if ax is None:
        _, ax = plt.subplots()
    if not any(line.get_label() == "perfect calibration" for line in ax.get_lines()):
        ax.plot([0, 1], [0, 1], linestyle="--", color="0.5", linewidth=1.0, label="perfect calibration")
    keep = curve.count > 0
    ax.plot(
        curve.confidence[keep].cpu().numpy(),
        curve.accuracy[keep].cpu().numpy(),
        marker="o",
        markersize=4,
        label=label,
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean confidence in bin")
    ax.set_ylabel("accuracy in bin")
    return ax


def _binary_as_two_logits(logits: torch.Tensor, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) logits of P(y = 1) as (N, 2) logits (0, s), and binary labels as indices 0/1."""
    positive = _binary_positive(as_tensor(labels, "labels"), "labels")
    return torch.stack([torch.zeros_like(logits), logits], dim=1), positive.long()


def fit_temperature(
    logits: TensorLike, labels: TensorLike, *, bounds: tuple[float, float] = (0.01, 100.0)
) -> torch.Tensor:
    r"""Temperature scaling: the temperature that minimises the negative log-likelihood.

    .. math::

        T^* = \arg\min_{T_{\min} \le T \le T_{\max}}\
        \frac1N \sum_{i=1}^N -\log \operatorname{softmax}(z_i / T)_{y_i}

    Guo et al. (2017) fit this single number on held-out data after training; dividing the
    logits by it changes no decision (the arg-max is the same) but can repair the
    calibration of an over-confident (:math:`T > 1`) or under-confident (:math:`T < 1`)
    model. The objective is convex in :math:`\beta = 1/T` (a log-sum-exp of functions
    linear in :math:`\beta` minus a linear one), so its derivative, the mean over examples of
    :math:`\mathbb E_{\operatorname{softmax}(\beta z_i)}[z] - z_{i, y_i}`, is increasing in
    :math:`\beta`, and its root is found in float64 by Newton's method (the second derivative is
    the mean variance of :math:`z` under the softmax), safeguarded by bisection. Where the unconstrained minimiser lies
    outside ``bounds`` (logits with no signal want :math:`T \to \infty`, logits that rank
    every example right want :math:`T \to 0`), the nearer bound is returned: by convexity
    it is the constrained minimiser.

    Args:
        logits: (N, C) logits with ``labels`` (N,) class indices; or (N,) logits of
            :math:`P(y = 1)` with ``labels`` (N,) binary (positive class 1, see the module
            docstring), scaled as :math:`\sigma(s / T)`.
        bounds: :math:`(T_{\min}, T_{\max})`, with :math:`0 < T_{\min} < T_{\max}`.

    Returns a 0-dim tensor in the floating dtype of ``logits``, with no autograd history.
    With value checks off, NaN logits give a NaN temperature.

    >>> # one example, logits (2, 0), label 0: the likelihood grows as T falls, to the bound
    >>> float(fit_temperature([[2.0, 0.0]], [0], bounds=(0.5, 4.0)))
    0.5
    >>> round(float(fit_temperature([[2.0, 0.0], [2.0, 0.0]], [0, 1])), 6)  # softmax(z / T) = (1/2, 1/2)
    100.0
    """
    t_min = check_scalar(bounds[0], "bounds", low=0.0, low_inclusive=False)
    t_max = check_scalar(bounds[1], "bounds", low=t_min, low_inclusive=False)
    logits = as_float_tensor(logits, "logits").detach()
    check_ndim(logits, "logits", (1, 2))
    check_nonempty(logits, "logits")
    check_finite(logits, "logits")
    dtype = logits.dtype
    if logits.dim() == 1:
        _, labels_t = _predictions_and_labels(logits, labels, "logits")
        z, index = _binary_as_two_logits(logits, labels_t)
    else:
        if logits.shape[1] < 2:
            raise ValueError(f"logits must hold at least 2 classes along axis 1, got shape {tuple(logits.shape)}")
        _, labels_t = _predictions_and_labels(logits, labels, "logits")
        index = as_index_tensor(labels_t.detach(), "labels")
        check_class_indices(index, logits.shape[1], "labels")
        z = logits
    if bool(_any_nan(z)):  # value checks off: no temperature is known
        return logits.new_tensor(torch.nan)
    z = z.to(torch.float64)
    true_logit = z.gather(1, index.to(z.device).unsqueeze(1)).squeeze(1)

    def slope_and_curvature(beta: float) -> tuple[float, float]:
        # d/d(beta) and d2/d(beta)2 of the mean NLL of softmax(beta z): E[z] - z_y and Var[z]
        p = torch.softmax(beta * z, dim=1)
        mean = (p * z).sum(dim=1)
        variance = (p * (z - mean[:, None]).square()).sum(dim=1)
        return float((mean - true_logit).mean()), float(variance.mean())

    lo, hi = 1 / t_max, 1 / t_min  # the bracket in beta = 1 / T
    if slope_and_curvature(lo)[0] >= 0:
        return torch.tensor(t_max, dtype=dtype, device=logits.device)
    if slope_and_curvature(hi)[0] <= 0:
        return torch.tensor(t_min, dtype=dtype, device=logits.device)
    beta = math.sqrt(lo * hi)
    for _ in range(200):  # Newton's method, kept inside the bracket by bisection (in log beta)
        slope, curvature = slope_and_curvature(beta)
        if slope < 0:
            lo = beta
        else:
            hi = beta
        step = beta - slope / curvature if curvature > 0 else math.nan
        if abs(step - beta) <= 4 * math.ulp(beta):  # converged: the step is rounding noise
            break
        if not lo < step < hi:  # outside the bracket (or no curvature): bisect instead
            step = math.sqrt(lo * hi)
        beta = step
    return torch.tensor(1 / beta, dtype=dtype, device=logits.device)


# ---------------------------------------------------------------------------------------
# retrieval
# ---------------------------------------------------------------------------------------


def recall_at_k(scores: TensorLike, relevance: TensorLike, k: int, *, reduction: str = "mean") -> torch.Tensor:
    r"""Recall@k: the fraction of a query's relevant items that are ranked in its top k.

    .. math::

        \mathrm{Recall@}k = \frac{|\{\text{relevant items}\} \cap \{\text{top } k \text{ by score}\}|}
                                 {|\{\text{relevant items}\}|}

    An item is relevant when its ``relevance`` is **> 0** (graded relevance counts as
    relevant at any positive grade). Items are ranked by decreasing score; among equal
    scores the item that comes first in the list ranks first (a stable sort), so the result
    is deterministic under ties.

    Args:
        scores: (..., L) model scores; the last axis lists the L candidates of one query.
        relevance: (..., L) relevance labels, same shape.
        k: cut-off, an int >= 1, by position or keyword; ``k >= L`` is the whole list (recall
            1 for a query with a relevant item), as :func:`objlib.ranking.ndcg` treats ``k``.
        reduction: ``"none"`` gives one value per query (shape ``scores.shape[:-1]``), NaN
            for a query with no relevant item; ``"mean"`` (default) and ``"sum"`` skip such
            queries (NaN if every query has none).

    Returns a tensor in the floating dtype of ``scores``. With value checks off, a query whose
    scores hold a NaN has recall NaN.

    >>> float(recall_at_k([0.9, 0.1, 0.8, 0.3], [1, 1, 0, 0], k=2))  # top 2: items 0, 2
    0.5
    """
    check_reduction(reduction)
    scores = as_float_tensor(scores, "scores").detach()
    relevance = as_float_tensor(relevance, "relevance", like=scores)
    check_ndim(scores, "scores", tuple(range(1, 9)))
    if scores.shape != relevance.shape:
        raise ValueError(
            f"scores and relevance must have the same shape (no broadcasting), "
            f"got scores: {tuple(scores.shape)} and relevance: {tuple(relevance.shape)}"
        )
    check_nonempty(scores, "scores")
    k = min(check_int(k, "k", low=1), scores.shape[-1])  # beyond the list: the whole list
    check_finite(scores, "scores")
    check_not_nan(relevance, "relevance")
    relevant = relevance > 0
    order = torch.sort(scores, dim=-1, descending=True, stable=True).indices
    dtype = torch.promote_types(scores.dtype, relevance.dtype)  # as torch promotes the two
    hits = relevant.gather(-1, order[..., :k]).sum(-1).to(dtype)
    total = relevant.sum(-1).to(dtype)
    recall = hits / total  # NaN where a query has no relevant item
    recall = _nan_where(recall, _any_nan(scores, dim=-1) | _any_nan(relevance, dim=-1))
    if reduction == "none":
        return recall
    has_relevant = total > 0
    if reduction == "sum":
        return recall[has_relevant].sum() if bool(has_relevant.any()) else recall.new_tensor(float("nan"))
    return recall[has_relevant].mean() if bool(has_relevant.any()) else recall.new_tensor(float("nan"))
