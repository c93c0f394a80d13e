r"""Divergences and distances between probability distributions (chapter 5).

Discrete distributions live along the **last axis**; every leading axis is a batch axis, and
``reduction`` (``"mean"`` by default) acts over the batch of per-distribution values. So
``kl(p, q)`` with ``p`` of shape ``(N, C)`` is the average of ``N`` divergences, which is
what torch calls ``reduction="batchmean"``, the real Kullback-Leibler divergence.

Conventions of the usual references, which differ from each other and from this module:

* ``torch.nn.functional.kl_div(input, target)`` takes ``input = log q`` and ``target = p``
  (the *reverse* of the order of its name), and its ``reduction="mean"`` divides by the number
  of *elements*, ``N * C``, which is not a divergence; only ``"batchmean"`` is.
* ``scipy.spatial.distance.jensenshannon`` returns the *square root* of the Jensen-Shannon
  divergence (a metric), in base ``e`` unless ``base`` is given; :func:`js` returns the
  divergence itself, in nats.
* ``ot.wasserstein_1d`` (POT) returns :math:`W_p^p`, the ``p``-th power of the distance;
  :func:`wasserstein_1d` returns :math:`W_p`, like ``scipy.stats.wasserstein_distance`` (p=1).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from . import _checks
from ._checks import (
    ConvergenceWarning,
    TensorLike,
    as_float_tensor,
    check_finite,
    check_int,
    check_nonempty,
    check_nonnegative,
    check_probability_vectors,
    check_reduction,
    check_same_shape,
    check_scalar,
    check_sums_to_one,
    promote_floats,
    reduce,
)

__all__ = [
    "kl",
    "distillation_loss",
    "js",
    "wasserstein_1d",
    "sliced_wasserstein",
    "sinkhorn",
    "sinkhorn_divergence",
    "gaussian_kl",
]


# ---------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------


def _distribution_pair(
    p: TensorLike, q: TensorLike, name_p: str = "p", name_q: str = "q"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Convert two batches of distributions to float tensors of one shape.

    They keep their dtypes, so that each is checked with its own dtype's tolerance (a float32
    softmax cast to float64 does not sum to 1 within float64 rounding); promote after checking.
    """
    p = as_float_tensor(p, name_p)
    q = as_float_tensor(q, name_q, like=p)
    if p.dim() == 0:
        raise ValueError(f"{name_p} must hold distributions along its last axis, got a scalar")
    check_same_shape(p, q, name_p, name_q)
    check_nonempty(p, name_p)
    return p, q


def _check_positive(x: torch.Tensor, name: str) -> None:
    """Strictly positive entries (variances); NaN fails."""
    if _checks.value_checks_enabled() and not bool((x > 0).all()):
        raise ValueError(f"{name} must be positive, got a minimum of {float(x.detach().min())}")


def _check_positive_total(w: torch.Tensor, name: str) -> None:
    """Weights that are not all zero (per distribution), so they can be normalised."""
    if _checks.value_checks_enabled() and not bool((w.sum(dim=-1) > 0).all()):
        raise ValueError(f"{name} must not be all zero: weights are normalised to sum to 1")


def _kl_terms(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Elementwise ``p log(p / q)`` with ``0 log(0 / q) = 0`` and finite gradients at ``p = 0``.

    Both logarithms only see the entries where ``p != 0`` (the others get a harmless 1), so no
    ``0 * inf`` appears, neither in the value nor in the gradient. A NaN in ``p`` counts as
    support and reaches the sum; a NaN in ``q`` where ``p = 0`` is carried by ``0 * q``.
    """
    support = p != 0
    p_safe = torch.where(support, p, 1.0)
    q_safe = torch.where(support, q, 1.0)
    return torch.where(support, p * (torch.log(p_safe) - torch.log(q_safe)), 0.0 * q)


class _KLOfProbabilities(torch.autograd.Function):
    r"""Row sums of ``p log(p / q)``, the values by ``xlogy`` and the gradients written out.

    ``xlogy(p, p) - xlogy(p, q)`` has exactly the conventions of :func:`kl` (0 where ``p = 0``,
    ``+inf`` where ``q = 0 < p``, NaN for NaN in either argument), and the backward,
    :math:`-p/q` for ``q`` and :math:`\log(p/q) + 1` for ``p``, both 0 where ``p = 0``, is
    built from differentiable operations, so second derivatives work. Nothing here reads the
    data, so this path needs no value check and compiles.
    """

    @staticmethod
    def forward(p, q):
        return torch.xlogy(p, p).sum(dim=-1) - torch.xlogy(p, q).sum(dim=-1)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, grad):
        p, q = ctx.saved_tensors
        grad = grad.unsqueeze(-1)
        outside = p == 0
        q_safe = q.masked_fill(outside, 1.0)  # p / q_safe is 0, not 0/0, where p = 0
        grad_p = grad_q = None
        if ctx.needs_input_grad[0]:
            p_safe = p.masked_fill(outside, 1.0)
            grad_p = (torch.log(p_safe) - torch.log(q_safe) + 1).masked_fill(outside, 0.0) * grad
        if ctx.needs_input_grad[1]:
            grad_q = -(p / q_safe) * grad
        return grad_p, grad_q


Q_FORMS = ("probs", "logits", "log_probs")


def _kl_rows_of_probabilities(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    check_sums_to_one(p, "p")
    check_sums_to_one(q, "q")
    p_common, q_common = promote_floats(p, q)
    if _checks.value_checks_enabled() and not p.requires_grad:
        # torch's fused kernel; its only failures, 0 log 0 (p = q = 0) and a negative entry,
        # both show up as NaN and send the call to the full check and the exact form below
        rows = F.kl_div(torch.log(q_common), p_common, reduction="none").sum(dim=-1)
        if not bool(torch.isnan(rows).any()):
            return rows
        check_probability_vectors(p, "p")
        check_probability_vectors(q, "q")
    return _KLOfProbabilities.apply(p_common, q_common)


def _check_log_probabilities(log_q: torch.Tensor, name: str) -> None:
    """Rows of log-probabilities: log-sum-exp 0 within the sum-to-one tolerance (NaN fails)."""
    if not _checks.value_checks_enabled():
        return
    atol = _checks.sum_to_one_tolerance(log_q.dtype, log_q.shape[-1])
    with torch.no_grad():
        worst = float(torch.logsumexp(log_q, dim=-1).abs().max())  # |log sum q| ~ |sum q - 1|
    if not worst <= atol:
        raise ValueError(f"{name} must hold log-probabilities: exp({name}) must sum to 1 along the last axis")


def _kl_rows_of_log_q(p: torch.Tensor, q: torch.Tensor, q_form: str, *, p_is_softmax: bool = False) -> torch.Tensor:
    r""":math:`\sum_k p_k (\log p_k - \log q_k)` with ``log q`` given or a log-softmax of logits.

    ``p_is_softmax``: ``p`` is a softmax of logits already checked, so it sums to 1 by
    construction and is not read again.
    """
    if not p_is_softmax:
        check_sums_to_one(p, "p")
    if q_form == "log_probs":
        _check_log_probabilities(q, "q")
    p_checked, q_given = p, q
    p, q = promote_floats(p, q)
    if q_form == "logits":
        log_q = torch.log_softmax(q, dim=-1)  # a NaN logit makes its whole row NaN
        carry = p != 0
    else:
        log_q = q
        carry = (p != 0) | torch.isnan(log_q)  # a NaN where p = 0 must reach the sum too
    if p.requires_grad:
        # the where-safe form: neither log p at p = 0 nor log q = -inf enters a gradient
        p_safe = torch.where(carry, p, 1.0)
        terms = torch.where(carry, p * (torch.log(p_safe) - torch.where(carry, log_q, 0.0)), 0.0)
        rows = terms.sum(dim=-1)
    else:
        # 0 * log q = 0 even where log q = -inf (a masked class): only p != 0 multiplies
        rows = torch.xlogy(p, p).sum(dim=-1) - torch.where(carry, p * log_q, 0.0).sum(dim=-1)
    if _checks.value_checks_enabled() and bool(torch.isnan(rows.detach()).any()):
        check_probability_vectors(p_checked, "p")
        _checks.raise_on_nan(rows, p=p_checked, q=q_given)
    return rows


# ---------------------------------------------------------------------------------------
# Kullback-Leibler and Jensen-Shannon
# ---------------------------------------------------------------------------------------


def kl(p: TensorLike, q: TensorLike, *, q_form: str = "probs", reduction: str = "mean") -> torch.Tensor:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p \,\|\, q)` between discrete distributions.

    .. math::

        \mathrm{KL}(p \,\|\, q) = \sum_{k} p_k \log \frac{p_k}{q_k},
        \qquad 0 \log \tfrac{0}{q} = 0, \qquad p_k \log \tfrac{p_k}{0} = +\infty \ (p_k > 0).

    The divergence is asymmetric and infinite as soon as ``q`` puts no mass where ``p`` does.

    Args:
        p: distributions of shape ``(..., C)``, non-negative, summing to 1 along the last axis.
        q: the second distribution, the same shape (no broadcasting), given as ``q_form`` says.
        q_form: ``"probs"`` (default): ``q`` holds probabilities, summing to 1;
            ``"logits"``: ``q`` holds logits ``z`` and :math:`q = \operatorname{softmax}(z)`,
            computed as :math:`\log q = z - \operatorname{logsumexp}(z)` without forming the
            probabilities (the distillation setting: a student's logits against a teacher's
            ``p``; a logit of ``-inf`` masks a class, which ``p`` must give 0);
            ``"log_probs"``: ``q`` holds :math:`\log q` (``-inf`` allowed), e.g. a model's
            ``log_softmax`` output. The two log forms are exact where the softmax or the
            logarithm of probabilities would underflow (logits of :math:`\pm 10^4`).
        reduction: ``"mean"`` (default) averages the per-distribution divergences over every
            leading axis (torch's ``"batchmean"``), ``"sum"`` adds them, ``"none"`` returns
            them with shape ``(...)``.

    Agrees with ``scipy.stats.entropy(p, q)`` per row and with
    ``torch.nn.functional.kl_div(q.log(), p, reduction="batchmean")`` (``q_form="logits"``:
    ``F.kl_div(F.log_softmax(z, -1), p, reduction="batchmean")``). Mind that ``F.kl_div`` takes
    ``log q`` *first* and ``p`` second, and that its ``reduction="mean"`` divides by the number
    of elements ``N * C``, which is not a divergence.

    Gradients: where ``p_k = 0`` the derivative with respect to ``p_k`` is reported as 0 (the
    one-sided derivative of :math:`p \log p` is :math:`-\infty`; when ``p`` comes from a
    softmax, the chain rule multiplies it by :math:`\partial p_k / \partial z = 0` anyway), and
    the derivative with respect to ``q_k`` is 0. So fitting either argument never produces NaN
    where the divergence is finite. With respect to logits the gradient is
    :math:`\operatorname{softmax}(z) - p` per row.

    Checks (value checks on): ``p`` sums to 1 and, for ``q_form="probs"``, so does ``q``: one
    pass over each; a negative entry or a NaN is found from the result and named. With value
    checks off nothing reads the data (the function compiles with ``fullgraph=True``), and a NaN
    in either argument gives NaN. Speed: with checks on and ``p`` without gradient, the
    probabilities form runs torch's fused ``F.kl_div`` kernel and falls back to the exact form
    only when that returns NaN (``0 log 0``, where ``p_k = q_k = 0``).

    Kullback and Leibler (1951), "On information and sufficiency"; for distillation, Hinton,
    Vinyals and Dean (2015), "Distilling the knowledge in a neural network".

    >>> import torch
    >>> round(float(kl(torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.1]))), 4)  # scipy.stats.entropy
    0.5108
    >>> logits = torch.tensor([9.0, 1.0]).log() + 3.0  # softmax: [0.9, 0.1] again
    >>> round(float(kl(torch.tensor([0.5, 0.5]), logits, q_form="logits")), 4)
    0.5108
    """
    p, q = _distribution_pair(p, q)
    check_reduction(reduction)
    if q_form == "probs":
        rows = _kl_rows_of_probabilities(p, q)
    elif q_form in ("logits", "log_probs"):
        rows = _kl_rows_of_log_q(p, q, q_form)
    else:
        raise ValueError(f"q_form must be one of {Q_FORMS}, got {q_form!r}")
    return reduce(rows, reduction)


def _check_logits(x: torch.Tensor, name: str) -> None:
    """Logits of a softmax: no NaN, no ``+inf``, a finite entry in every row (``-inf`` masks a class)."""
    if not _checks.value_checks_enabled() or bool(torch.isfinite(x).all()):
        return  # one pass in the common case; the rest only runs on non-finite logits
    if bool(torch.isnan(x).any()):
        raise ValueError(f"{name} must not contain NaN")
    if bool((x == math.inf).any()):
        raise ValueError(f"{name} must not contain +inf: its softmax is undefined")
    if not bool(torch.isfinite(x).any(dim=-1).all()):
        raise ValueError(f"{name} must have a finite logit in every row")


def distillation_loss(
    student_logits: TensorLike,
    teacher_logits: TensorLike,
    *,
    temperature: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Knowledge distillation: :math:`T^2` times the KL divergence of softened student from teacher.

    With student logits :math:`z`, teacher logits :math:`v` and a temperature :math:`T > 0`,

    .. math::

        \ell(z, v) = T^2 \, \mathrm{KL}\bigl(\operatorname{softmax}(v / T) \,\big\|\,
            \operatorname{softmax}(z / T)\bigr)
        = T^2 \sum_k p^T_k \bigl(\log p^T_k - \log q^T_k\bigr),

    :math:`p^T = \operatorname{softmax}(v/T)`, :math:`q^T = \operatorname{softmax}(z/T)`. A
    temperature above 1 softens both distributions, so the student also learns how the teacher
    ranks the wrong classes. The divergence alone has the gradient
    :math:`(q^T - p^T) / T` with respect to the student's logits, whose size falls like
    :math:`1/T^2` as :math:`T` grows; the factor :math:`T^2` makes it :math:`T\,(q^T - p^T)`,
    of the same size for every :math:`T`, so that the term's weight against a hard-label
    cross-entropy does not depend on :math:`T`. For large :math:`T` the loss tends to
    :math:`\frac{1}{2C} \lVert (z - \bar z) - (v - \bar v) \rVert^2` over :math:`C` classes
    (bars: row means), matching the centred logits, and its gradient to
    :math:`((z - \bar z) - (v - \bar v)) / C`.

    Args:
        student_logits: the student's logits :math:`z`, shape ``(..., C)``, classes along the
            last axis.
        teacher_logits: the teacher's logits :math:`v`, the same shape (no broadcasting). The
            gradient flows into them too if they require it: pass them detached to train the
            student only, as Hinton et al. do.
        temperature: :math:`T > 0`, applied to both.
        reduction: ``"mean"`` (default) averages the per-example losses over every leading
            axis (examples), ``"sum"`` adds them, ``"none"`` returns them with shape ``(...)``.

    A logit of ``-inf`` masks a class (the teacher must mask it too, or the loss is
    ``+inf``); NaN and ``+inf`` logits are refused with value checks on and give NaN with them
    off. Computed with :func:`kl` in its logits form, so it stays finite and exact for logits
    of :math:`\pm 10^4`. Hinton et al. add a weighted hard-label cross-entropy
    (:func:`objlib.classification.cross_entropy`) to this term; that sum is left to the caller.

    Agrees with ``T**2 * F.kl_div(F.log_softmax(z / T, -1), F.softmax(v / T, -1),
    reduction="batchmean")`` and with :math:`T^2` times ``scipy.stats.entropy`` per row.

    Hinton, Vinyals and Dean (2015), "Distilling the knowledge in a neural network".

    >>> import torch
    >>> teacher = torch.tensor([[2.0, 0.0, -2.0]])
    >>> round(float(distillation_loss(torch.zeros(1, 3), teacher, temperature=2.0)), 4)  # scipy
    1.0649
    """
    student = as_float_tensor(student_logits, "student_logits")
    teacher = as_float_tensor(teacher_logits, "teacher_logits", like=student)
    if student.dim() == 0:
        raise ValueError("student_logits must hold the logits of each example along its last axis, got a scalar")
    check_same_shape(student, teacher, "student_logits", "teacher_logits")
    check_nonempty(student, "student_logits")
    temperature = check_scalar(temperature, "temperature", low=0, low_inclusive=False)
    if math.isinf(temperature):
        raise ValueError("temperature must be finite, got inf")
    check_reduction(reduction)
    _check_logits(student, "student_logits")
    _check_logits(teacher, "teacher_logits")
    student, teacher = promote_floats(student, teacher)
    soft_targets = torch.softmax(teacher / temperature, dim=-1)
    rows = _kl_rows_of_log_q(soft_targets, student / temperature, "logits", p_is_softmax=True)
    return reduce(temperature**2 * rows, reduction)


def js(p: TensorLike, q: TensorLike, *, reduction: str = "mean") -> torch.Tensor:
    r"""Jensen-Shannon divergence between discrete distributions, in nats.

    .. math::

        \mathrm{JS}(p, q) = \tfrac12 \mathrm{KL}(p \,\|\, m) + \tfrac12 \mathrm{KL}(q \,\|\, m),
        \qquad m = \tfrac12 (p + q),

    symmetric and bounded, :math:`0 \le \mathrm{JS} \le \log 2`, with :math:`\log 2` exactly when
    the supports of ``p`` and ``q`` are disjoint (where its gradient along the simplex vanishes).

    Args:
        p, q: distributions of shape ``(..., C)`` (same shape), summing to 1 along the last axis.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the leading axes.

    Agrees with ``scipy.spatial.distance.jensenshannon(p, q) ** 2``: scipy returns the square
    root of the divergence (the Jensen-Shannon *distance*, a metric), in base ``e`` by default.
    Values are clamped at 0 from below against rounding.

    Lin (1991), "Divergence measures based on the Shannon entropy".

    >>> import torch
    >>> round(float(js(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))), 4)  # log 2
    0.6931
    """
    p, q = _distribution_pair(p, q)
    check_reduction(reduction)
    check_probability_vectors(p, "p")
    check_probability_vectors(q, "q")
    p, q = promote_floats(p, q)
    m = 0.5 * (p + q)
    rows = 0.5 * (_kl_terms(p, m) + _kl_terms(q, m)).sum(dim=-1)
    return reduce(rows.clamp_min(0.0), reduction)


# ---------------------------------------------------------------------------------------
# Wasserstein distance in one dimension
# ---------------------------------------------------------------------------------------


def _empirical(
    values: TensorLike, weights: TensorLike | None, name_v: str, name_w: str, like: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    values = as_float_tensor(values, name_v, like=like)
    if values.dim() == 0:
        raise ValueError(f"{name_v} must hold samples along its last axis, got a scalar")
    check_nonempty(values, name_v)
    check_finite(values, name_v)
    if weights is None:
        return values, None
    weights = as_float_tensor(weights, name_w, like=values)
    check_same_shape(values, weights, name_v, name_w)
    check_nonnegative(weights, name_w)
    _check_positive_total(weights, name_w)
    return values, weights


def _tracing() -> bool:
    """Whether torch.compile is tracing: then only torch operations may run."""
    return torch.compiler.is_compiling()


def _argsort_last(values: torch.Tensor) -> torch.Tensor:
    """The permutation that sorts ``values`` along the last axis (gather with it to sort).

    torch's CPU sort is several times slower than NumPy's SIMD sort (about 50-150 ms against
    7-20 ms for 2e5 float64 on the machine the benchmarks ran on), so CPU float tensors are
    argsorted by NumPy; other devices and dtypes use ``torch.argsort``.
    """
    if values.device.type == "cpu" and values.dtype in (torch.float32, torch.float64) and not _tracing():
        order = torch.from_numpy(np.argsort(values.detach().numpy(), axis=-1))
    else:
        order = torch.argsort(values, dim=-1)
    return order


def _sorted_cdf(values: torch.Tensor, weights: torch.Tensor | None):
    """Values sorted along the last axis and their cumulative weights, ending at exactly 1."""
    order = _argsort_last(values)
    sorted_values = torch.take_along_dim(values, order, dim=-1)
    if weights is None:
        n = values.shape[-1]
        cumulative = torch.arange(1, n + 1, dtype=values.dtype, device=values.device) / n
        return sorted_values, cumulative.expand(values.shape).contiguous()
    cumulative = torch.cumsum(torch.take_along_dim(weights, order, dim=-1), dim=-1)
    return sorted_values, cumulative / cumulative[..., -1:]


def _w1_between_cdfs(u_values, v_values, u_weights, v_weights) -> torch.Tensor:
    """W_1 as the area between the two CDFs: sum over the merged sorted values of |F_u - F_v| dx."""
    values = torch.cat([u_values, v_values], dim=-1)
    u_mass = u_weights / u_weights.sum(-1, keepdim=True) if u_weights is not None else None
    v_mass = v_weights / v_weights.sum(-1, keepdim=True) if v_weights is not None else None
    if u_mass is None:
        u_mass = torch.full_like(u_values, 1.0 / u_values.shape[-1])
    if v_mass is None:
        v_mass = torch.full_like(v_values, 1.0 / v_values.shape[-1])
    order = _argsort_last(values)
    # F_u - F_v just after each merged value: a running sum of +u mass and -v mass.
    cdf_gap = torch.cumsum(torch.take_along_dim(torch.cat([u_mass, -v_mass], dim=-1), order, dim=-1), dim=-1)
    dx = torch.diff(torch.take_along_dim(values, order, dim=-1), dim=-1)
    return (cdf_gap[..., :-1].abs() * dx).sum(dim=-1)


def _later(u_level: torch.Tensor, v_level: torch.Tensor) -> torch.Tensor:
    """The larger of two breakpoints; on a tie the v one (ties are ordered u first)."""
    return torch.where(v_level >= u_level, v_level, u_level)


def _power(x: torch.Tensor, p: float) -> torch.Tensor:
    return x if p == 1 else x.pow(p)


@contextlib.contextmanager
def _one_thread_on_cpu(device: torch.device) -> Iterator[None]:
    """Run torch's CPU kernels in this block on one thread, and restore the count after.

    The one-dimensional Wasserstein kernels are memory-bound passes (gather, cumsum, diff) over
    1e5-1e6 values, where a second thread gains little and, when another process keeps the
    other core busy, every parallel kernel waits for it: 3x slower at 2 threads than at 1 on a
    loaded 2-core machine. Like threadpoolctl for scikit-learn, this is per process: other
    Python threads calling torch meanwhile also run on one thread.
    """
    if device.type != "cpu" or torch.compiler.is_compiling() or torch.get_num_threads() == 1:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_order(p) -> float:
    """The order ``p`` of a Wasserstein distance: a finite number ``>= 1``."""
    p = check_scalar(p, "p", low=1)
    if math.isinf(p):
        raise ValueError("p must be finite, got inf")
    return p


def _root(cost: torch.Tensor, p: float) -> torch.Tensor:
    """``cost ** (1 / p)``, with a zero (not NaN) gradient where ``cost`` is 0; NaN stays NaN."""
    if p == 1:
        return cost
    zero = cost == 0  # False for NaN, which then goes through pow and stays NaN
    return torch.where(zero, 0.0, torch.where(zero, 1.0, cost).pow(1.0 / p))


def _wasserstein_pow(u_values, v_values, u_weights, v_weights, p: float) -> torch.Tensor:
    """:math:`W_p^p` along the last axis, inputs already checked (see :func:`wasserstein_1d`)."""
    dtype = torch.promote_types(u_values.dtype, v_values.dtype)
    u_values, v_values = u_values.to(dtype), v_values.to(dtype)
    u_weights = None if u_weights is None else u_weights.to(dtype)
    v_weights = None if v_weights is None else v_weights.to(dtype)

    if u_weights is None and v_weights is None and u_values.shape == v_values.shape:
        # Equal sizes and uniform weights: the quantile functions jump together, so the
        # optimal coupling pairs the k-th smallest u with the k-th smallest v.
        gaps = _sorted_cdf(u_values, None)[0] - _sorted_cdf(v_values, None)[0]
        return _power(gaps.abs(), p).mean(dim=-1)
    if p == 1:
        return _w1_between_cdfs(u_values, v_values, u_weights, v_weights)
    # Breakpoints t of the two step functions: the cumulative weights of u and of v.
    u_sorted, u_cdf = _sorted_cdf(u_values, u_weights)
    v_sorted, v_cdf = _sorted_cdf(v_values, v_weights)
    n, m = u_sorted.shape[-1], v_sorted.shape[-1]
    # F^{-1}(t) is the first sample whose cumulative weight reaches t.
    v_at_u = torch.searchsorted(v_cdf.detach(), u_cdf.detach()).clamp_(max=m - 1)  # F_v^{-1}(u_cdf)
    u_at_v = torch.searchsorted(u_cdf.detach(), v_cdf.detach(), right=True)
    # Each breakpoint t closes the piece (t_prev, t] of [0, 1]; t_prev is the largest
    # breakpoint of either list before t. Tied breakpoints are ordered u first, and
    # `_later` picks the v one among tied candidates, so that the gradient is that of one
    # consistent order (torch.maximum would split it between the two).
    u_cdf0 = F.pad(u_cdf, (1, 0))
    v_cdf0 = F.pad(v_cdf, (1, 0))
    u_width = u_cdf - _later(u_cdf0[..., :-1], torch.take_along_dim(v_cdf0, v_at_u, dim=-1))
    v_width = v_cdf - _later(torch.take_along_dim(u_cdf0, u_at_v, dim=-1), v_cdf0[..., :-1])
    u_gap = u_sorted - torch.take_along_dim(v_sorted, v_at_u, dim=-1)
    v_gap = torch.take_along_dim(u_sorted, u_at_v.clamp(max=n - 1), dim=-1) - v_sorted
    return (u_width * _power(u_gap.abs(), p)).sum(dim=-1) + (v_width * _power(v_gap.abs(), p)).sum(dim=-1)


def wasserstein_1d(
    u_values: TensorLike,
    v_values: TensorLike,
    u_weights: TensorLike | None = None,
    v_weights: TensorLike | None = None,
    *,
    p: float = 1,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Wasserstein distance :math:`W_p` between two empirical distributions on the real line.

    In one dimension the optimal coupling matches quantiles, so with :math:`F_u^{-1}` and
    :math:`F_v^{-1}` the quantile functions (inverse CDFs) of the two distributions,

    .. math::

        W_p(u, v) = \Bigl( \int_0^1 \bigl| F_u^{-1}(t) - F_v^{-1}(t) \bigr|^p \, dt \Bigr)^{1/p},

    an integral of a step function: its breakpoints are the merged cumulative weights of ``u``
    and ``v``. Three exact evaluations of it are used:

    * equal sizes and uniform weights: the mean of :math:`|u_{(k)} - v_{(k)}|^p` over the sorted
      samples (the optimal coupling matches order statistics);
    * ``p = 1``: the area between the CDFs, :math:`\int |F_u(x) - F_v(x)| \, dx`, as
      ``scipy.stats.wasserstein_distance`` computes it;
    * otherwise the quantile integral above, piece by piece.

    On a CPU the computation runs on one thread (see ``_one_thread_on_cpu``): its sorts and
    gathers gain little from a second thread and stall when another process keeps the other
    core busy. CUDA tensors stay on their device (torch's sort there, NumPy's on the CPU).
    With value checks off it compiles with ``torch.compile(fullgraph=True)`` (torch's sort
    replaces NumPy's while tracing).

    The result is differentiable in the values (through the sort) and in the weights. Where
    it has a kink the gradient is a one-sided derivative: at tied values, and, for ``p != 1``,
    at tied cumulative weights of ``u`` and ``v`` (common when both live on one grid), where the
    gradient is that of ``u``'s cumulative weights lying just below ``v``'s.

    Args:
        u_values: samples of shape ``(..., n)``; leading axes are a batch of distributions.
        v_values: samples of shape ``(..., m)`` with the same leading axes as ``u_values``.
        u_weights, v_weights: optional non-negative weights of the shapes of the values, not all
            zero; they are normalised to sum to 1. ``None`` means uniform weights.
        p: the order, a finite number ``>= 1``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the leading axes; a
            single pair of 1-D inputs gives a scalar either way.

    Returns :math:`W_p`, not :math:`W_p^p`. For ``p = 1`` it agrees with
    ``scipy.stats.wasserstein_distance``; for any ``p`` with ``ot.wasserstein_1d(..., p=p) **
    (1 / p)``: POT returns the ``p``-th power :math:`W_p^p`, and batches along trailing axes.

    Villani (2009), "Optimal transport: old and new"; Peyre and Cuturi (2019), "Computational
    optimal transport" (the one-dimensional case).

    >>> round(float(wasserstein_1d([0.0, 1.0, 3.0], [5.0, 6.0, 8.0])), 4)  # scipy's docs: 5.0
    5.0
    >>> round(float(wasserstein_1d([0.0, 1.0], [0.0, 1.0], [3.0, 1.0], [2.0, 2.0])), 4)  # 0.25
    0.25
    """
    device = u_values.device if isinstance(u_values, torch.Tensor) else torch.device("cpu")
    with _one_thread_on_cpu(device):
        u_values, u_weights = _empirical(u_values, u_weights, "u_values", "u_weights", None)
        v_values, v_weights = _empirical(v_values, v_weights, "v_values", "v_weights", u_values)
        if u_values.shape[:-1] != v_values.shape[:-1]:
            raise ValueError(
                "u_values and v_values must have the same leading (batch) axes, got "
                f"u_values: {tuple(u_values.shape)} and v_values: {tuple(v_values.shape)}"
            )
        p = _check_order(p)
        check_reduction(reduction)
        return reduce(_root(_wasserstein_pow(u_values, v_values, u_weights, v_weights, p), p), reduction)


def _point_cloud(x: TensorLike, name: str, like: torch.Tensor | None) -> torch.Tensor:
    x = as_float_tensor(x, name, like=like)
    if x.dim() != 2:
        raise ValueError(f"{name} must be a point cloud of shape (n, d), got shape {tuple(x.shape)}")
    check_nonempty(x, name)
    check_finite(x, name)
    return x


def sliced_wasserstein(
    x: TensorLike,
    y: TensorLike,
    x_weights: TensorLike | None = None,
    y_weights: TensorLike | None = None,
    *,
    n_projections: int = 50,
    p: float = 2,
    directions: TensorLike | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Sliced Wasserstein distance :math:`SW_p` between two point clouds in :math:`\mathbb R^d`.

    Project both clouds on random directions :math:`\theta` of the unit sphere, where
    Wasserstein distances are cheap (one sort, :func:`wasserstein_1d`), and average:

    .. math::

        SW_p(\mu, \nu) = \Bigl( \frac1P \sum_{k=1}^{P}
            W_p^p\bigl(\theta_k^\top \mu,\ \theta_k^\top \nu\bigr) \Bigr)^{1/p},
        \qquad \theta_k \sim \mathcal U(\mathbb S^{d-1}),

    a Monte Carlo estimate of :math:`(\mathbb E_\theta W_p^p)^{1/p}`, which is a distance between
    distributions (Rabin et al. 2011; Bonneel et al. 2015). It costs :math:`O(P (n + m) \log(n + m))`
    instead of the cubic cost of exact transport in :math:`d` dimensions, and is differentiable in
    the points and the weights, so it serves as a training loss between a generated and a data
    batch.

    Args:
        x: points of shape ``(n, d)``.
        y: points of shape ``(m, d)``, the same ``d``; ``m`` may differ from ``n``.
        x_weights, y_weights: optional non-negative weights ``(n,)`` and ``(m,)``, not all
            zero, normalised to sum to 1; ``None`` is uniform.
        n_projections: the number :math:`P` of random directions (POT's default, 50).
        p: the order, a finite number ``>= 1`` (default 2, as POT).
        directions: optional fixed directions of shape ``(P, d)``, one per row (normalised
            here); then ``n_projections`` and ``generator`` are unused. POT's
            ``projections`` argument is the transpose, ``(d, P)``.
        generator: a ``torch.Generator`` for the directions (on the device of ``x``), so that
            a call is reproducible; ``None`` uses torch's global generator.

    Returns :math:`SW_p`, a 0-dim tensor. It agrees with ``ot.sliced_wasserstein_distance(x, y,
    a, b, p=p, projections=directions.T)`` given the same directions. The directions are drawn
    afresh on each call, so the estimate is random (unbiased for :math:`SW_p^p`); fix
    ``generator`` or ``directions`` to compare values.

    Rabin, Peyre, Delon and Bernot (2011), "Wasserstein barycenter and its application to
    texture mixing"; Bonneel, Rabin, Peyre and Pfister (2015), "Sliced and Radon Wasserstein
    barycenters of measures".

    One direction along the first axis sees two points at distance 3:

    >>> float(sliced_wasserstein([[0.0, 0.0]], [[3.0, 4.0]], directions=[[1.0, 0.0]]))
    3.0
    """
    device = x.device if isinstance(x, torch.Tensor) else torch.device("cpu")
    with _one_thread_on_cpu(device):  # sorts and gathers: see wasserstein_1d
        return _sliced(x, y, x_weights, y_weights, n_projections, p, directions, generator)


def _sliced(
    x: TensorLike,
    y: TensorLike,
    x_weights: TensorLike | None,
    y_weights: TensorLike | None,
    n_projections: int,
    p: float,
    directions: TensorLike | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    x = _point_cloud(x, "x", None)
    y = _point_cloud(y, "y", x)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be points of one dimension d, got x: {tuple(x.shape)} and y: {tuple(y.shape)}")
    p = _check_order(p)
    dtype = torch.promote_types(x.dtype, y.dtype)
    x, y = x.to(dtype), y.to(dtype)
    if directions is None:
        n_projections = check_int(n_projections, "n_projections", low=1)
        directions = torch.randn(n_projections, x.shape[1], generator=generator, dtype=dtype, device=x.device)
    else:
        directions = as_float_tensor(directions, "directions", like=x).to(dtype)
        if directions.dim() != 2 or directions.shape[1] != x.shape[1] or directions.shape[0] == 0:
            raise ValueError(
                f"directions must have shape (P, d) = (P, {x.shape[1]}) with P >= 1, got {tuple(directions.shape)}"
            )
        check_finite(directions, "directions")
        if _checks.value_checks_enabled() and not bool((directions != 0).any(dim=1).all()):
            raise ValueError("directions must not hold a zero row: each row is normalised to unit length")
    unit = directions / directions.norm(dim=1, keepdim=True)
    # one 1-D problem per direction, along the last axis: (P, n) against (P, m)
    x_mass = _projected_weights(x_weights, "x_weights", x, unit)
    y_mass = _projected_weights(y_weights, "y_weights", y, unit)
    cost = _wasserstein_pow((x @ unit.T).T, (y @ unit.T).T, x_mass, y_mass, p)
    return _root(cost.mean(), p)


def _projected_weights(
    weights: TensorLike | None, name: str, points: torch.Tensor, directions: torch.Tensor
) -> torch.Tensor | None:
    """Weights of a point cloud, checked, repeated for every direction: ``(P, n)`` or None."""
    if weights is None:
        return None
    weights = as_float_tensor(weights, name, like=points).to(points.dtype)
    if weights.shape != points.shape[:1]:
        raise ValueError(f"{name} must have shape (n,) = ({points.shape[0]},), got {tuple(weights.shape)}")
    check_nonnegative(weights, name)
    _check_positive_total(weights, name)
    return weights.expand(directions.shape[0], -1)


# ---------------------------------------------------------------------------------------
# entropic optimal transport
# ---------------------------------------------------------------------------------------

#: Epsilon scaling divides epsilon by 2 per stage and runs this many iterations at each
#: intermediate epsilon before the last one (warm-started from the stage before).
_SCALING_FACTOR = 0.5
_ITERATIONS_PER_SCALE = 10
#: The convergence test (one host read) runs once every this many iterations.
_CHECK_EVERY = 10


def _default_tol(dtype: torch.dtype) -> float:
    """The L1 marginal violation a solve in ``dtype`` can reach: rounding floors it."""
    return 1e-9 if dtype == torch.float64 else 1e-5


def _epsilon_schedule(shifted_cost: torch.Tensor, epsilon: float, scaling: bool) -> list[float]:
    """Decreasing epsilons ending at ``epsilon``: halving from the cost's range when scaling."""
    stages = [epsilon]
    if scaling:
        current = float(shifted_cost.detach().max())  # the range of the cost, one host read
        while current * _SCALING_FACTOR > epsilon:
            current *= _SCALING_FACTOR
            stages.insert(-1, current)
    return stages


def _marginal_violation(log_kernel, u, v, a, b, rows: bool) -> torch.Tensor:
    """L1 distance of the plan's column sums to ``b`` (and of its row sums to ``a`` if asked)."""
    plan = torch.exp(log_kernel + u[:, None] + v[None, :])
    violation = (plan.sum(0) - b).abs().sum()
    return violation + (plan.sum(1) - a).abs().sum() if rows else violation


def _relax(x, x_new, omega: float):
    """Over-relaxed update x + omega (x_new - x); omega = 1 is Sinkhorn's own step."""
    return x_new if omega == 1 else torch.lerp(x, x_new, omega)


def _iterate_logsumexp(log_kernel, log_a, log_b, a, b, u, v, n_iter: int, tol: float, omega: float):
    """Sinkhorn in the log domain, each half-step a log-sum-exp over the whole matrix.

    Nothing in the loop reads a tensor on the host except the test every ``_CHECK_EVERY``
    iterations (none when ``tol`` is 0): the form for GPUs, where a read waits for the device.
    Returns ``(u, v, iterations, converged)``.
    """
    for iteration in range(n_iter):
        log_col = torch.logsumexp(log_kernel + u[:, None], dim=0)  # column sums, up to e^v
        if tol > 0 and iteration > 0 and iteration % _CHECK_EVERY == 0:
            violation = (torch.exp(v + log_col) - b).abs().sum()
            if omega != 1:
                violation = violation + (torch.exp(u + torch.logsumexp(log_kernel + v, dim=1)) - a).abs().sum()
            if float(violation.detach()) <= tol:
                return u, v, iteration, True
        v = _relax(v, log_b - log_col, omega)  # g-update: log-sum-exp over i
        u = _relax(u, log_a - torch.logsumexp(log_kernel + v[None, :], dim=1), omega)  # f-update, over j
    return u, v, n_iter, False


def _iterate_cached(log_kernel, log_a, log_b, a, b, u, v, n_iter: int, tol: float, omega: float):
    """The same iterations as :func:`_iterate_logsumexp`, as matrix-vector products.

    Each log-sum-exp is evaluated around the potentials ``(u_ref, v_ref)`` of the last
    *absorption*, with the exponentials ``kernel = exp(log_kernel + u_ref + v_ref)`` cached,
    so that an iteration costs two matrix-vector products instead of two ``exp`` over the
    matrix. When a potential drifts more than ``drift`` from its reference it is absorbed
    and ``kernel`` recomputed. A sum small enough to have lost digits to underflow is floored,
    which turns that step into a shorter ascent step of the dual (Schmitzer 2019). The drift
    test reads the potentials on the host every iteration: the form for CPUs, where that costs
    nothing and an ``exp`` over the matrix costs much.
    """
    info = torch.finfo(log_kernel.dtype)
    # Between two absorptions the potentials move by at most `drift`, so an entry of `kernel`
    # that underflowed (< tiny) weighs at most tiny * e^drift: below `floor`, a sum may have
    # lost digits and is floored there (a shorter step of the same ascent).
    drift = 20.0
    floor = max(log_kernel.shape) * info.tiny * math.exp(drift) / info.eps

    def moved(x: torch.Tensor, x_ref: torch.Tensor) -> bool:
        return float((x - x_ref).detach().abs().max()) > drift

    u_ref, v_ref, kernel = u, v, torch.exp(log_kernel + u[:, None] + v[None, :])
    for iteration in range(n_iter):
        col = torch.mv(kernel.t(), torch.exp(u - u_ref))  # column sums, up to the factor e^(v - v_ref)
        if tol > 0 and iteration > 0 and iteration % _CHECK_EVERY == 0:
            violation = (torch.exp(v - v_ref) * col - b).abs().sum()
            if omega != 1:  # over-relaxed rows are not exact either
                violation = violation + (torch.exp(u - u_ref) * torch.mv(kernel, torch.exp(v - v_ref)) - a).abs().sum()
            if float(violation.detach()) <= tol:
                return u, v, iteration, True
        v = _relax(v, v_ref + log_b - torch.log(col.clamp_min(floor)), omega)
        if moved(v, v_ref):  # absorb the potentials into a fresh kernel
            u_ref, v_ref, kernel = u, v, torch.exp(log_kernel + u[:, None] + v[None, :])
        row = torch.mv(kernel, torch.exp(v - v_ref))
        u = _relax(u, u_ref + log_a - torch.log(row.clamp_min(floor)), omega)
        if moved(u, u_ref):
            u_ref, v_ref, kernel = u, v, torch.exp(log_kernel + u[:, None] + v[None, :])
    return u, v, n_iter, False


def _iterate_symmetric(log_kernel, log_a, a, u, n_iter: int, tol: float):
    r"""Sinkhorn for :math:`\mathrm{OT}_\varepsilon(a, a)` with a symmetric cost: one potential.

    The alternating updates oscillate on a symmetric problem (their iteration map has an
    eigenvalue near -1) and converge slowly; averaging each update with the current potential,
    :math:`u \leftarrow \tfrac12 (u + \log a - \mathrm{LSE}_j(u_j + \log K_{ij}))`, removes the
    oscillation (Feydy et al. 2019, section 3). Returns ``(u, iterations, converged)``.
    """
    for iteration in range(n_iter):
        log_row = torch.logsumexp(log_kernel + u[None, :], dim=1)  # row sums, up to e^u
        if tol > 0 and iteration > 0 and iteration % _CHECK_EVERY == 0:
            violation = (torch.exp(u + log_row) - a).abs().sum()  # rows = columns here
            if float(violation.detach()) <= tol:
                return u, iteration, True
        u = 0.5 * (u + log_a - log_row)
    return u, n_iter, False


class _Solve(NamedTuple):
    log_plan: torch.Tensor
    iterations: int
    violation: float  # of the returned plan; NaN if it was not measured (tol = 0)


def _solve(a, b, cost, epsilon, max_iter, tol, epsilon_scaling, over_relaxation, *, cached=None) -> _Solve:
    """Sinkhorn on positive marginals; ``cached`` picks the CPU form (default: by device)."""
    if cached is None:
        cached = cost.device.type == "cpu"
    iterate = _iterate_cached if cached else _iterate_logsumexp
    # A constant shift of the cost leaves the plan unchanged and makes the log-kernel <= 0.
    shifted = cost - cost.detach().min()
    log_a, log_b = torch.log(a), torch.log(b)
    f, g = torch.zeros_like(a), torch.zeros_like(b)  # potentials in the units of the cost
    stages = _epsilon_schedule(shifted, epsilon, epsilon_scaling)
    done = 0
    for eps in stages[:-1]:  # warm starts: each stage begins from the previous potentials
        n_iter = min(_ITERATIONS_PER_SCALE, max_iter - done - 1)
        if n_iter <= 0:
            break
        u, v, _, _ = iterate(-shifted / eps, log_a, log_b, a, b, f / eps, g / eps, n_iter, 0.0, 1.0)
        f, g, done = eps * u, eps * v, done + n_iter
    log_kernel = -shifted / epsilon
    u, v, iterations, converged = iterate(
        log_kernel, log_a, log_b, a, b, f / epsilon, g / epsilon, max_iter - done, tol, over_relaxation
    )
    violation = math.nan
    if converged:
        violation = 0.0  # at most tol; the exact value was not kept
    elif tol > 0:
        violation = float(_marginal_violation(log_kernel, u, v, a, b, over_relaxation != 1).detach())
    return _Solve(log_kernel + u[:, None] + v[None, :], done + iterations, violation)


def _solve_symmetric(a, cost, epsilon, max_iter, tol, epsilon_scaling) -> _Solve:
    """:func:`_solve` for ``b = a`` and a symmetric ``cost``, by :func:`_iterate_symmetric`."""
    shifted = cost - cost.detach().min()
    log_a = torch.log(a)
    f = torch.zeros_like(a)
    done = 0
    for eps in _epsilon_schedule(shifted, epsilon, epsilon_scaling)[:-1]:
        n_iter = min(_ITERATIONS_PER_SCALE, max_iter - done - 1)
        if n_iter <= 0:
            break
        f, done = eps * _iterate_symmetric(-shifted / eps, log_a, a, f / eps, n_iter, 0.0)[0], done + n_iter
    log_kernel = -shifted / epsilon
    u, iterations, converged = _iterate_symmetric(log_kernel, log_a, a, f / epsilon, max_iter - done, tol)
    log_plan = log_kernel + u[:, None] + u[None, :]
    violation = math.nan
    if converged:
        violation = 0.0
    elif tol > 0:
        violation = float((torch.exp(log_plan).sum(1) - a).abs().sum().detach())
    return _Solve(log_plan, done + iterations, violation)


def _ot_inputs(
    a: TensorLike,
    b: TensorLike,
    cost: TensorLike,
    epsilon: float,
    max_iter: int,
    tol: float | None,
    over_relaxation: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float, int, float, float]:
    """Convert and check the arguments shared by :func:`sinkhorn` and its relatives."""
    cost = as_float_tensor(cost, "cost")
    a = as_float_tensor(a, "a", like=cost)
    b = as_float_tensor(b, "b", like=cost)
    for x, name in ((a, "a"), (b, "b")):
        if x.dim() != 1:
            raise ValueError(f"{name} must be a 1-D weight vector, got shape {tuple(x.shape)}")
        check_nonempty(x, name)
    if cost.shape != (a.shape[0], b.shape[0]):
        raise ValueError(
            f"cost must have shape (len(a), len(b)) = ({a.shape[0]}, {b.shape[0]}), got {tuple(cost.shape)}"
        )
    epsilon = check_scalar(epsilon, "epsilon", low=0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=1)
    over_relaxation = check_scalar(over_relaxation, "over_relaxation", low=1.0, high=2.0, high_inclusive=False)
    check_probability_vectors(a, "a")
    check_probability_vectors(b, "b")
    check_finite(cost, "cost")
    a, b, cost = promote_floats(a, b, cost)
    tol = _default_tol(cost.dtype) if tol is None else check_scalar(tol, "tol", low=0)
    return a, b, cost, epsilon, max_iter, tol, over_relaxation


def _entropic_plan(
    a, b, cost, epsilon, max_iter, tol, epsilon_scaling, over_relaxation, *, symmetric: bool = False
) -> tuple[torch.Tensor, _Solve]:
    """The plan on the supports of ``a`` and ``b`` (points without mass get zero rows/columns).

    ``symmetric=True`` promises ``b = a`` and a symmetric cost (a self-transport problem).
    """

    def solve(a: torch.Tensor, b: torch.Tensor, cost: torch.Tensor) -> _Solve:
        if symmetric:
            return _solve_symmetric(a, cost, epsilon, max_iter, tol, epsilon_scaling)
        return _solve(a, b, cost, epsilon, max_iter, tol, epsilon_scaling, over_relaxation)

    # A point without mass would get the potential -inf: solve on the supports, embed the plan.
    # (A NaN weight counts as mass, so that with value checks off it reaches the plan.)
    rows, cols = a != 0, b != 0
    if bool(rows.all()) and bool(cols.all()):
        solved = solve(a, b, cost)
        return torch.exp(solved.log_plan), solved
    rows, cols = torch.nonzero(rows).squeeze(1), torch.nonzero(cols).squeeze(1)
    solved = solve(a[rows], b[cols], cost[rows][:, cols])
    plan = cost.new_zeros(cost.shape).index_put((rows[:, None], cols[None, :]), torch.exp(solved.log_plan))
    return plan, solved


def _warn_if_not_converged(solved: _Solve, tol: float, max_iter: int, name: str = "sinkhorn") -> None:
    if tol > 0 and not solved.violation <= tol:
        warnings.warn(
            f"{name} stopped at max_iter={max_iter} before reaching tol={tol:.1e}: the plan's L1 marginal "
            f"violation is {solved.violation:.1e}. Raise max_iter or epsilon, or try epsilon_scaling=True "
            "and over_relaxation=1.8.",
            ConvergenceWarning,
            stacklevel=3,
        )


def sinkhorn(
    a: TensorLike,
    b: TensorLike,
    cost: TensorLike,
    *,
    epsilon: float,
    max_iter: int = 1000,
    tol: float | None = None,
    epsilon_scaling: bool = False,
    over_relaxation: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Entropy-regularised optimal transport by Sinkhorn's algorithm, in the log domain.

    Solves, for marginals ``a`` (n,) and ``b`` (m,) and a cost matrix ``C`` (n, m),

    .. math::

        P^\star = \arg\min_{P \ge 0,\ P \mathbf 1 = a,\ P^\top \mathbf 1 = b}
            \langle P, C \rangle - \varepsilon H(P), \qquad
        H(P) = -\sum_{ij} P_{ij} (\log P_{ij} - 1),

    whose solution is :math:`P^\star_{ij} = \exp\bigl((f_i + g_j - C_{ij}) / \varepsilon\bigr)`
    for dual potentials ``f``, ``g``. Sinkhorn alternates exact maximisations of the dual in
    ``g`` and in ``f``, written as log-sum-exps so that nothing underflows for tiny
    :math:`\varepsilon` (where the textbook form with :math:`K = e^{-C/\varepsilon}` does):

    .. math::

        g_j \leftarrow \varepsilon \log b_j
            - \varepsilon \log \sum_i e^{(f_i - C_{ij}) / \varepsilon}, \qquad
        f_i \leftarrow \varepsilon \log a_i
            - \varepsilon \log \sum_j e^{(g_j - C_{ij}) / \varepsilon}.

    Args:
        a: source weights, shape ``(n,)``, non-negative, summing to 1.
        b: target weights, shape ``(m,)``, non-negative, summing to 1.
        cost: cost matrix, shape ``(n, m)``, finite.
        epsilon: the entropic regularisation :math:`\varepsilon > 0`, in the units of ``cost``.
        max_iter: the most Sinkhorn iterations (one update of ``g`` and one of ``f`` each),
            counting those of the epsilon-scaling stages.
        tol: stop once the plan's L1 marginal violation :math:`\sum_j |\sum_i P_{ij} - b_j|`
            is at most ``tol`` (the row marginal is exact after every plain iteration; with
            over-relaxation the row violation is added). Checked every 10 iterations.
            ``None`` (default) picks what the dtype can reach: ``1e-9`` in float64, ``1e-5``
            in float32, whose rounding keeps the violation above about ``1e-6``. ``tol=0``
            runs exactly ``max_iter`` iterations and never warns.
        epsilon_scaling: solve first at :math:`\varepsilon_0` = the range of ``cost``, then
            halve it stage by stage down to ``epsilon``, 10 iterations per stage, each stage
            warm-started from the potentials of the one before (Schmitzer 2019). It changes the
            iterates, not the solution.
        over_relaxation: :math:`\omega \in [1, 2)`; the last stage's updates become
            :math:`f \leftarrow f + \omega (f_{\text{Sinkhorn}} - f)` (the same for ``g``), a
            successive over-relaxation with the same fixed point that converges locally for
            every :math:`\omega < 2` (Thibault et al. 2021; Lehmann et al. 2022). 1 is plain
            Sinkhorn.

    Returns:
        ``(plan, transport_cost)``: the plan :math:`P` of shape ``(n, m)`` and
        :math:`\langle P, C \rangle = \sum_{ij} P_{ij} C_{ij}`, a scalar (the transport cost of
        the entropic plan, without the entropy term). Both are differentiable in ``a``, ``b``
        and ``cost`` by automatic differentiation through the iterations.

    Warns:
        objlib.ConvergenceWarning: (a ``UserWarning``) when it stops at ``max_iter`` with a
            violation above ``tol``, saying what was reached, as POT does. An unconverged plan
            is not a coupling of ``a`` and ``b``, and its cost can lie below the exact optimum.

    Speed: small epsilons converge slowly (the rate of Sinkhorn degrades like
    :math:`1 - e^{-\max C / \varepsilon}`). On 10 x 10 random costs in [0, 1] at epsilon =
    1e-3, reaching ``tol=1e-9`` in float64 took a median of 2,980 iterations (90th
    percentile 15,000) plainly, 2,125 (13,410) with epsilon scaling, and 315 (1,560) with
    scaling and ``over_relaxation=1.8`` (``benchmarks/sinkhorn_iterations.py``).

    Agrees with POT: the plan with ``ot.sinkhorn(a, b, cost, reg=epsilon)`` (and with
    ``method="sinkhorn_log"``, which also works for small epsilon, where the default method
    underflows) and the cost with ``ot.sinkhorn2``. POT stops on the L2 norm of the violation.

    Implementation: on a CPU each log-sum-exp is a matrix-vector product around the last
    absorbed potentials (Schmitzer 2019, "Stabilized sparse scaling algorithms for entropy
    regularized transport problems"), which reads a potential on the host every iteration;
    on other devices (GPUs) every half-step is a log-sum-exp and nothing is read on the host
    between the convergence tests, one every 10 iterations. Points without mass get zero rows
    or columns. Unbatched: one pair of marginals per call. Not compilable as a whole with
    ``torch.compile(fullgraph=True)``: the stopping rule and the support of the marginals
    are read from the data; a fixed number of iterations of the update compiles.

    Cuturi (2013), "Sinkhorn distances: lightspeed computation of optimal transport"; the
    log-domain form: Peyre and Cuturi (2019), "Computational optimal transport", section 4.4.

    >>> import torch
    >>> plan, c = sinkhorn([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], epsilon=1.0)
    >>> round(float(c), 4)  # 1 / (1 + e), as ot.sinkhorn2 gives
    0.2689
    """
    a, b, cost, epsilon, max_iter, tol, over_relaxation = _ot_inputs(
        a, b, cost, epsilon, max_iter, tol, over_relaxation
    )
    plan, solved = _entropic_plan(a, b, cost, epsilon, max_iter, tol, epsilon_scaling, over_relaxation)
    _warn_if_not_converged(solved, tol, max_iter)
    return plan, (plan * cost).sum()


def _entropic_cost(plan, a, b, cost, epsilon, with_entropy: bool) -> torch.Tensor:
    r""":math:`\langle P, C\rangle`, plus :math:`\varepsilon \mathrm{KL}(P \| a \otimes b)` if asked."""
    value = (plan * cost).sum()
    if not with_entropy:
        return value
    support = plan > 0
    reference = a[:, None] * b[None, :]
    plan_safe, reference_safe = torch.where(support, plan, 1.0), torch.where(support, reference, 1.0)
    kl_terms = torch.where(support, plan * (torch.log(plan_safe) - torch.log(reference_safe)), 0.0)
    return value + epsilon * kl_terms.sum()


def sinkhorn_divergence(
    x: TensorLike,
    y: TensorLike,
    x_weights: TensorLike | None = None,
    y_weights: TensorLike | None = None,
    *,
    epsilon: float,
    p: float = 2,
    with_entropy: bool = True,
    max_iter: int = 1000,
    tol: float | None = None,
    epsilon_scaling: bool = True,
    over_relaxation: float = 1.0,
) -> torch.Tensor:
    r"""Sinkhorn divergence between two point clouds: entropic transport with its bias removed.

    Entropic transport :math:`\mathrm{OT}_\varepsilon` is biased: :math:`\mathrm{OT}_\varepsilon(
    \alpha, \alpha) > 0`, and minimising :math:`\mathrm{OT}_\varepsilon(\alpha, \beta)` over
    :math:`\alpha` shrinks :math:`\alpha` towards the inside of :math:`\beta`. The divergence
    subtracts the two self-transport terms,

    .. math::

        S_\varepsilon(\alpha, \beta) = \mathrm{OT}_\varepsilon(\alpha, \beta)
            - \tfrac12 \mathrm{OT}_\varepsilon(\alpha, \alpha)
            - \tfrac12 \mathrm{OT}_\varepsilon(\beta, \beta),

    which is zero at :math:`\alpha = \beta`, and interpolates between the Wasserstein cost
    (:math:`\varepsilon \to 0`) and a kernel MMD (:math:`\varepsilon \to \infty`). Here
    :math:`\alpha = \sum_i a_i \delta_{x_i}`, :math:`\beta = \sum_j b_j \delta_{y_j}` and the
    ground cost is :math:`c(x, y) = \|x - y\|_2^p`. Two conventions for
    :math:`\mathrm{OT}_\varepsilon`, with the same entropic plan :math:`P_\varepsilon`
    (:func:`sinkhorn`):

    * ``with_entropy=True`` (default; Feydy et al. 2019):
      :math:`\mathrm{OT}_\varepsilon = \langle P_\varepsilon, C\rangle
      + \varepsilon\,\mathrm{KL}(P_\varepsilon \,\|\, a \otimes b)`, the optimal value of the
      regularised problem. For :math:`p \in \{1, 2\}` the kernel :math:`e^{-c/\varepsilon}` is
      positive definite and then :math:`S_\varepsilon \ge 0`, with equality only at
      :math:`\alpha = \beta` (their Theorem 1).
    * ``with_entropy=False`` (Genevay et al. 2018): :math:`\mathrm{OT}_\varepsilon = \langle
      P_\varepsilon, C \rangle`, the transport cost of the entropic plan. This is what
      ``ot.bregman.empirical_sinkhorn_divergence(x, y, epsilon, a, b)`` computes (metric
      ``"sqeuclidean"``, i.e. ``p=2``), except that POT clamps negative values to 0 and
      objlib does not; this form can be negative.

    Args:
        x: points ``(n, d)``; y: points ``(m, d)``.
        x_weights, y_weights: ``(n,)`` and ``(m,)`` non-negative weights summing to 1, or
            ``None`` for uniform weights.
        epsilon: :math:`\varepsilon > 0`, in the units of the cost (squared distances for
            ``p=2``; geomloss's ``blur`` is :math:`\varepsilon^{1/p}` and its cost
            :math:`\|x - y\|^p / p`).
        p: the exponent of the ground cost, a number ``>= 1``.
        with_entropy: which :math:`\mathrm{OT}_\varepsilon`, see above.
        max_iter, tol, epsilon_scaling, over_relaxation: as :func:`sinkhorn`, for each of the
            three problems (epsilon scaling is on by default here, since the divergence is
            used with small epsilon); a non-converged problem warns.

    Returns a 0-dim tensor, differentiable in the points and the weights (through the
    iterations). Like :func:`sinkhorn` it does not compile as a whole with
    ``torch.compile(fullgraph=True)``: its stopping rules read the data.

    Feydy, Sejourne, Vialard, Amari, Trouve and Peyre (2019), "Interpolating between optimal
    transport and MMD using Sinkhorn divergences"; Genevay, Peyre and Cuturi (2018), "Learning
    generative models with Sinkhorn divergences".

    >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    >>> float(sinkhorn_divergence(x, x, epsilon=0.1))  # zero between equal clouds
    0.0
    """
    x = _point_cloud(x, "x", None)
    y = _point_cloud(y, "y", x)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be points of one dimension d, got x: {tuple(x.shape)} and y: {tuple(y.shape)}")
    p = _check_order(p)
    x, y = promote_floats(x, y)
    a = _cloud_weights(x_weights, "x_weights", x)
    b = _cloud_weights(y_weights, "y_weights", y)

    def ot_eps(
        u_points: torch.Tensor, u_weights: torch.Tensor, v_points: torch.Tensor, v_weights: torch.Tensor, pair: str
    ) -> torch.Tensor:
        cost = _squared_distances(u_points, v_points)
        if p != 2:
            cost = cost.sqrt().pow(p)
        u_w, v_w, cost, eps, n_iter, tol_, omega = _ot_inputs(
            u_weights, v_weights, cost, epsilon, max_iter, tol, over_relaxation
        )
        plan, solved = _entropic_plan(
            u_w, v_w, cost, eps, n_iter, tol_, epsilon_scaling, omega, symmetric=u_points is v_points
        )
        _warn_if_not_converged(solved, tol_, max_iter, f"sinkhorn_divergence (OT between {pair})")
        return _entropic_cost(plan, u_w, v_w, cost, eps, with_entropy)

    cross = ot_eps(x, a, y, b, "x and y")
    return cross - 0.5 * (ot_eps(x, a, x, a, "x and x") + ot_eps(y, b, y, b, "y and y"))


def _cloud_weights(weights: TensorLike | None, name: str, points: torch.Tensor) -> torch.Tensor:
    """Weights of a point cloud, uniform when ``None``, checked to be a distribution."""
    if weights is None:
        return torch.full(points.shape[:1], 1.0 / points.shape[0], dtype=points.dtype, device=points.device)
    weights = as_float_tensor(weights, name, like=points)
    if weights.shape != points.shape[:1]:
        raise ValueError(f"{name} must have shape (n,) = ({points.shape[0]},), got {tuple(weights.shape)}")
    check_probability_vectors(weights, name)
    return weights.to(points.dtype)


def _squared_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r""":math:`\|x_i - y_j\|^2`, exactly 0 on the diagonal of :math:`x = y` (cdist squared is not)."""
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


# ---------------------------------------------------------------------------------------
# Gaussians
# ---------------------------------------------------------------------------------------


def gaussian_kl(
    mu_p: TensorLike, var_p: TensorLike, mu_q: TensorLike, var_q: TensorLike, *, reduction: str = "mean"
) -> torch.Tensor:
    r"""KL divergence between Gaussians with diagonal covariances, in closed form.

    .. math::

        \mathrm{KL}\bigl(\mathcal N(\mu_p, \operatorname{diag}\sigma_p^2) \,\|\,
            \mathcal N(\mu_q, \operatorname{diag}\sigma_q^2)\bigr)
        = \frac12 \sum_{k} \Bigl( \log \frac{\sigma_{q,k}^2}{\sigma_{p,k}^2}
            + \frac{\sigma_{p,k}^2 + (\mu_{p,k} - \mu_{q,k})^2}{\sigma_{q,k}^2} - 1 \Bigr),

    summed over the last axis (the dimensions of one Gaussian). With ``q = N(0, I)`` this is
    the regulariser of a variational autoencoder's evidence lower bound.

    Args:
        mu_p, var_p, mu_q, var_q: means and variances (not standard deviations, not log
            variances), all of one shape ``(..., d)`` (no broadcasting); variances positive.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` over the leading axes.

    Kullback and Leibler (1951), "On information and sufficiency".

    >>> round(float(gaussian_kl([0.0], [1.0], [1.0], [2.0])), 4)  # (log 2) / 2
    0.3466
    """
    mu_p = as_float_tensor(mu_p, "mu_p")
    var_p = as_float_tensor(var_p, "var_p", like=mu_p)
    mu_q = as_float_tensor(mu_q, "mu_q", like=mu_p)
    var_q = as_float_tensor(var_q, "var_q", like=mu_p)
    if mu_p.dim() == 0:
        raise ValueError("mu_p must hold the d coordinates of each Gaussian along its last axis, got a scalar")
    for x, name in ((var_p, "var_p"), (mu_q, "mu_q"), (var_q, "var_q")):
        check_same_shape(mu_p, x, "mu_p", name)
    check_nonempty(mu_p, "mu_p")
    check_reduction(reduction)
    _check_positive(var_p, "var_p")
    _check_positive(var_q, "var_q")
    terms = torch.log(var_q) - torch.log(var_p) + (var_p + (mu_p - mu_q) ** 2) / var_q - 1
    rows = _checks.raise_on_nan(0.5 * terms.sum(dim=-1), mu_p=mu_p, var_p=var_p, mu_q=mu_q, var_q=var_q)
    return reduce(rows, reduction)
