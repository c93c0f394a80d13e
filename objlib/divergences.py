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

import math

import numpy as np
import torch
import torch.nn.functional as F

from . import _checks
from ._checks import (
    as_float_tensor,
    check_finite,
    check_nonempty,
    check_nonnegative,
    check_probability_vectors,
    check_reduction,
    check_same_shape,
    check_scalar,
    reduce,
)

__all__ = ["kl", "js", "wasserstein_1d", "sinkhorn", "gaussian_kl"]


# ---------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------


def _distribution_pair(p, q, name_p: str = "p", name_q: str = "q") -> tuple[torch.Tensor, torch.Tensor]:
    """Convert two batches of distributions to float tensors of one shape and dtype."""
    p = as_float_tensor(p, name_p)
    q = as_float_tensor(q, name_q, like=p)
    if p.dim() == 0:
        raise ValueError(f"{name_p} must hold distributions along its last axis, got a scalar")
    check_same_shape(p, q, name_p, name_q)
    check_nonempty(p, name_p)
    dtype = torch.promote_types(p.dtype, q.dtype)
    return p.to(dtype), q.to(dtype)


def _check_sums_to_one(x: torch.Tensor, name: str) -> None:
    """The row-sum half of ``_checks.check_probability_vectors`` (same tolerance), one pass.

    :func:`kl` checks the sign of the entries for free: a negative entry makes its fused
    kernel return NaN, which sends it to the full check.
    """
    if not _checks.value_checks_enabled():
        return
    atol = (1e-8 if x.dtype == torch.float64 else 1e-4) * max(1, x.shape[-1])
    with torch.no_grad():
        worst = float((x.sum(dim=-1) - 1).abs().max())
    if worst > atol:
        raise ValueError(f"{name} must sum to 1 along the last axis, got a row sum {worst:.3g} away from 1")


def _check_positive(x: torch.Tensor, name: str) -> None:
    """Strictly positive entries (variances)."""
    if _checks.value_checks_enabled() and not bool((x > 0).all()):
        raise ValueError(f"{name} must be positive, got a minimum of {float(x.min())}")


def _check_positive_total(w: torch.Tensor, name: str) -> None:
    """Weights that are not all zero (per distribution), so they can be normalised."""
    if _checks.value_checks_enabled() and not bool((w.sum(dim=-1) > 0).all()):
        raise ValueError(f"{name} must not be all zero: weights are normalised to sum to 1")


def _kl_terms(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Elementwise ``p log(p / q)`` with ``0 log(0 / q) = 0`` and finite gradients at ``p = 0``.

    Both logarithms only see the entries where ``p > 0`` (the others get a harmless 1), so no
    ``0 * inf`` appears, neither in the value nor in the gradient.
    """
    support = p > 0
    p_safe = torch.where(support, p, 1.0)
    q_safe = torch.where(support, q, 1.0)
    return torch.where(support, p * (torch.log(p_safe) - torch.log(q_safe)), 0.0)


# ---------------------------------------------------------------------------------------
# Kullback-Leibler and Jensen-Shannon
# ---------------------------------------------------------------------------------------


def kl(p, q, *, reduction: str = "mean") -> torch.Tensor:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p \,\|\, q)` between discrete distributions.

    .. math::

        \mathrm{KL}(p \,\|\, q) = \sum_{k} p_k \log \frac{p_k}{q_k},
        \qquad 0 \log \tfrac{0}{q} = 0, \qquad p_k \log \tfrac{p_k}{0} = +\infty \ (p_k > 0).

    The divergence is asymmetric and infinite as soon as ``q`` puts no mass where ``p`` does.

    Args:
        p: distributions of shape ``(..., C)``, non-negative, summing to 1 along the last axis.
        q: distributions of the same shape (no broadcasting).
        reduction: ``"mean"`` (default) averages the per-distribution divergences over every
            leading axis (torch's ``"batchmean"``), ``"sum"`` adds them, ``"none"`` returns
            them with shape ``(...)``.

    Agrees with ``scipy.stats.entropy(p, q)`` per row and with
    ``torch.nn.functional.kl_div(q.log(), p, reduction="batchmean")``. Mind that ``F.kl_div``
    takes ``log q`` *first* and ``p`` second, and that its ``reduction="mean"`` divides by the
    number of elements ``N * C``, which is not a divergence.

    Gradients: where ``p_k = 0`` the derivative with respect to ``p_k`` is reported as 0 (the
    one-sided derivative of :math:`p \log p` is :math:`-\infty`; when ``p`` comes from a
    softmax, the chain rule multiplies it by :math:`\partial p_k / \partial z = 0` anyway), and
    the derivative with respect to ``q_k`` is 0. So fitting either argument never produces NaN
    where the divergence is finite.

    Speed: the value is computed by torch's fused ``F.kl_div`` kernel; its only failures,
    ``0 \cdot \log 0`` where ``p_k = q_k = 0`` and negative entries, both show up as NaN and
    send the call to the formula above (``_kl_terms``), after the full input check. A tensor
    ``p`` that requires grad always takes that path, because ``F.kl_div``'s gradient in ``p``
    is NaN where ``p_k = 0``.

    Kullback and Leibler (1951), "On information and sufficiency".

    >>> import torch
    >>> round(float(kl(torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.1]))), 4)  # scipy.stats.entropy
    0.5108
    """
    p, q = _distribution_pair(p, q)
    check_reduction(reduction)
    _check_sums_to_one(p, "p")
    _check_sums_to_one(q, "q")
    if not p.requires_grad:
        rows = F.kl_div(torch.log(q), p, reduction="none").sum(dim=-1)
        if not bool(torch.isnan(rows).any()):
            return reduce(rows, reduction)
    check_probability_vectors(p.detach(), "p")
    check_probability_vectors(q.detach(), "q")
    return reduce(_kl_terms(p, q).sum(dim=-1), reduction)


def js(p, q, *, reduction: str = "mean") -> torch.Tensor:
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
    check_probability_vectors(p.detach(), "p")
    check_probability_vectors(q.detach(), "q")
    m = 0.5 * (p + q)
    rows = 0.5 * (_kl_terms(p, m) + _kl_terms(q, m)).sum(dim=-1)
    return reduce(rows.clamp_min(0.0), reduction)


# ---------------------------------------------------------------------------------------
# Wasserstein distance in one dimension
# ---------------------------------------------------------------------------------------


def _empirical(values, weights, name_v: str, name_w: str, like: torch.Tensor | None):
    values = as_float_tensor(values, name_v, like=like)
    if values.dim() == 0:
        raise ValueError(f"{name_v} must hold samples along its last axis, got a scalar")
    check_nonempty(values, name_v)
    if weights is None:
        return values, None
    weights = as_float_tensor(weights, name_w, like=values)
    check_same_shape(values, weights, name_v, name_w)
    check_nonnegative(weights, name_w)
    _check_positive_total(weights, name_w)
    return values, weights


def _argsort_last(values: torch.Tensor) -> torch.Tensor:
    """The permutation that sorts ``values`` along the last axis (gather with it to sort).

    torch's CPU sort is several times slower than NumPy's SIMD sort (about 50-150 ms against
    7-20 ms for 2e5 float64 on the machine the benchmarks ran on), so CPU float tensors are
    argsorted by NumPy; other devices and dtypes use ``torch.argsort``.
    """
    if values.device.type == "cpu" and values.dtype in (torch.float32, torch.float64):
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


def wasserstein_1d(
    u_values,
    v_values,
    u_weights=None,
    v_weights=None,
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
    u_values, u_weights = _empirical(u_values, u_weights, "u_values", "u_weights", None)
    v_values, v_weights = _empirical(v_values, v_weights, "v_values", "v_weights", u_values)
    if u_values.shape[:-1] != v_values.shape[:-1]:
        raise ValueError(
            "u_values and v_values must have the same leading (batch) axes, got "
            f"u_values: {tuple(u_values.shape)} and v_values: {tuple(v_values.shape)}"
        )
    p = check_scalar(p, "p", low=1)
    if math.isinf(p):
        raise ValueError("p must be finite, got inf")
    check_reduction(reduction)
    dtype = torch.promote_types(u_values.dtype, v_values.dtype)
    u_values, v_values = u_values.to(dtype), v_values.to(dtype)
    u_weights = None if u_weights is None else u_weights.to(dtype)
    v_weights = None if v_weights is None else v_weights.to(dtype)

    if u_weights is None and v_weights is None and u_values.shape == v_values.shape:
        # Equal sizes and uniform weights: the quantile functions jump together, so the
        # optimal coupling pairs the k-th smallest u with the k-th smallest v.
        gaps = _sorted_cdf(u_values, None)[0] - _sorted_cdf(v_values, None)[0]
        cost = _power(gaps.abs(), p).mean(dim=-1)
    elif p == 1:
        cost = _w1_between_cdfs(u_values, v_values, u_weights, v_weights)
    else:
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
        cost = (u_width * _power(u_gap.abs(), p)).sum(dim=-1) + (v_width * _power(v_gap.abs(), p)).sum(dim=-1)

    if p != 1:  # W_p = (W_p^p)^(1/p), with a zero (not NaN) gradient where the distance is 0
        positive = cost > 0
        cost = torch.where(positive, torch.where(positive, cost, 1.0).pow(1.0 / p), 0.0)
    return reduce(cost, reduction)


# ---------------------------------------------------------------------------------------
# entropic optimal transport
# ---------------------------------------------------------------------------------------


def sinkhorn(a, b, cost, *, epsilon: float, max_iter: int = 1000, tol: float = 1e-9):
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
        max_iter: the most Sinkhorn iterations (one update of ``g`` and one of ``f`` each).
        tol: stop once the plan's L1 marginal violation
            :math:`\sum_j |\sum_i P_{ij} - b_j|` is at most ``tol``; the row marginal is exact
            after every iteration, so this is the whole violation. Checked every 10
            iterations; ``tol=0`` runs ``max_iter`` iterations. In float32 rounding keeps the
            violation above about ``1e-6``.

    Returns:
        ``(plan, transport_cost)``: the plan :math:`P` of shape ``(n, m)`` and
        :math:`\langle P, C \rangle = \sum_{ij} P_{ij} C_{ij}`, a scalar (the transport cost of
        the entropic plan, without the entropy term). Both are differentiable in ``a``, ``b``
        and ``cost`` by automatic differentiation through the iterations.

    Agrees with POT: the plan with ``ot.sinkhorn(a, b, cost, reg=epsilon)`` (and with
    ``method="sinkhorn_log"``, which also works for small epsilon, where the default method
    underflows) and the cost with ``ot.sinkhorn2``. POT stops on the L2 norm of the violation.

    Implementation: each log-sum-exp is evaluated around a shift, the potentials
    :math:`(\bar f, \bar g)` of the last *absorption*, with the exponentials
    :math:`K_{ij} = e^{(\bar f_i + \bar g_j - C_{ij})/\varepsilon} \le 1` cached, so that

    .. math::

        \log \sum_i e^{(f_i - C_{ij})/\varepsilon}
        = -\bar g_j / \varepsilon
          + \log \sum_i K_{ij} \, e^{(f_i - \bar f_i)/\varepsilon}

    is a matrix-vector product. When a potential moves more than :math:`20 \varepsilon` away
    from its shift, it is absorbed and ``K`` recomputed (one ``exp`` over the matrix); so early
    iterations at tiny epsilon cost one ``exp`` each, later ones two matrix-vector products.
    A sum small enough to have lost digits to underflow is floored, which turns that step into a
    shorter ascent step of the dual: the fixed point is unchanged (Schmitzer 2019, "Stabilized
    sparse scaling algorithms for entropy regularized transport problems"). Points without mass
    get zero rows or columns. Unbatched: one pair of marginals per call.

    Cuturi (2013), "Sinkhorn distances: lightspeed computation of optimal transport"; the
    log-domain form: Peyre and Cuturi (2019), "Computational optimal transport", section 4.4.

    >>> import torch
    >>> plan, c = sinkhorn([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], epsilon=1.0)
    >>> round(float(c), 4)  # 1 / (1 + e), as ot.sinkhorn2 gives
    0.2689
    """
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
    if isinstance(max_iter, bool) or not isinstance(max_iter, int):
        raise TypeError(f"max_iter must be an int, got {type(max_iter).__name__}")
    check_scalar(max_iter, "max_iter", low=1)
    tol = check_scalar(tol, "tol", low=0)
    check_probability_vectors(a.detach(), "a")
    check_probability_vectors(b.detach(), "b")
    check_finite(cost, "cost")
    dtype = torch.promote_types(torch.promote_types(a.dtype, b.dtype), cost.dtype)
    a, b, cost = a.to(dtype), b.to(dtype), cost.to(dtype)

    # A point without mass would get the potential -inf: solve on the supports, embed the plan.
    rows, cols = torch.nonzero(a > 0).squeeze(1), torch.nonzero(b > 0).squeeze(1)
    if rows.numel() < a.numel() or cols.numel() < b.numel():
        small, _ = sinkhorn(a[rows], b[cols], cost[rows][:, cols], epsilon=epsilon, max_iter=max_iter, tol=tol)
        plan = cost.new_zeros(cost.shape).index_put((rows[:, None], cols[None, :]), small)
        return plan, (plan * cost).sum()

    # Scaled potentials u = f / eps, v = g / eps. Shifting the cost by a constant leaves the
    # plan unchanged and makes the log-kernel <= 0, so the first plan has entries <= 1.
    log_kernel = -cost / epsilon
    log_kernel = log_kernel - log_kernel.detach().max()
    log_a, log_b = torch.log(a), torch.log(b)
    info = torch.finfo(dtype)
    # Between two absorptions the potentials move by at most `drift`, so an entry of `kernel`
    # that underflowed (< tiny) weighs at most tiny * e^drift: below `floor`, a sum may have
    # lost digits and is floored there (a shorter step of the same ascent).
    drift = 20.0
    floor = max(cost.shape) * info.tiny * math.exp(drift) / info.eps
    u, v = torch.zeros_like(a), torch.zeros_like(b)
    u_ref, v_ref, kernel = u, v, torch.exp(log_kernel)  # kernel: the plan at (u_ref, v_ref)

    def moved(x, x_ref) -> bool:
        return float((x - x_ref).detach().abs().max()) > drift

    for iteration in range(max_iter):
        col = torch.mv(kernel.t(), torch.exp(u - u_ref))  # column sums, up to the factor e^(v - v_ref)
        if iteration % 10 == 0 and iteration > 0:
            violation = (torch.exp(v - v_ref) * col - b).abs().sum()  # the rows are exact here
            if float(violation.detach()) <= tol:
                break
        v = v_ref + log_b - torch.log(col.clamp_min(floor))  # g-update: log-sum-exp over i
        if moved(v, v_ref):  # absorb the potentials into a fresh kernel
            u_ref, v_ref, kernel = u, v, torch.exp(log_kernel + u[:, None] + v[None, :])
        row = torch.mv(kernel, torch.exp(v - v_ref))
        u = u_ref + log_a - torch.log(row.clamp_min(floor))  # f-update: log-sum-exp over j
        if moved(u, u_ref):
            u_ref, v_ref, kernel = u, v, torch.exp(log_kernel + u[:, None] + v[None, :])
    plan = torch.exp(log_kernel + u[:, None] + v[None, :])
    return plan, (plan * cost).sum()


# ---------------------------------------------------------------------------------------
# Gaussians
# ---------------------------------------------------------------------------------------


def gaussian_kl(mu_p, var_p, mu_q, var_q, *, reduction: str = "mean") -> torch.Tensor:
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
    return reduce(0.5 * terms.sum(dim=-1), reduction)
