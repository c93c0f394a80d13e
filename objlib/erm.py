r"""Empirical risk minimisation and VC theory: the tools of chapter 2.

* :func:`empirical_risk` -- the average loss on a sample, the quantity ERM minimises.
* :func:`vc_generalization_bound` -- how far empirical risk can be from true risk, uniformly
  over a class of VC dimension d (Vapnik and Chervonenkis 1971).
* Hypothesis classes as *labeling functions*: a class is represented by the function
  ``points -> labelings`` that returns every labeling (a row of +-1) the class realises on
  the given points. :func:`threshold_labelings`, :func:`interval_labelings` and
  :func:`linear_classifier_labelings` are exact for three classic classes;
  :func:`finite_class` turns a list of classifiers into one. On top of that:
  :func:`count_labelings`, :func:`shatters` and :func:`growth_function`, with the closed
  forms :func:`threshold_growth`, :func:`interval_growth`, :func:`halfplane_growth` and the
  Sauer-Shelah bound :func:`sauer_shelah_bound`.
* :class:`GaussianMixture2` -- a two-class distribution known exactly, so that its true
  risks, Bayes classifier and Bayes risk can be computed rather than estimated; its
  :meth:`~GaussianMixture2.marginal` on a subset of the coordinates gives the least risk of
  any classifier that reads only those, hence an approximation error in closed form.

Labelings are int64 tensors of shape (K, n) with entries -1 and +1, one row per labeling,
without repeats, ordered by the bit mask :math:`\sum_i 2^i [y_i = +1]`.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any

import torch

from ._checks import (
    TensorLike,
    as_float_tensor,
    as_tensor,
    check_int,
    check_ndim,
    check_nonempty,
    check_not_nan,
    check_scalar,
    raise_on_nan,
    value_checks_enabled,
)

__all__ = [
    "empirical_risk",
    "vc_generalization_bound",
    "sauer_shelah_bound",
    "threshold_growth",
    "interval_growth",
    "halfplane_growth",
    "threshold_labelings",
    "interval_labelings",
    "linear_classifier_labelings",
    "finite_class",
    "count_labelings",
    "shatters",
    "growth_function",
    "GaussianMixture2",
]

_MAX_POINTS = 16  # 2^16 labelings: the enumeration functions refuse larger point sets


def _as_float64(x, name: str) -> torch.Tensor:
    """A float64 tensor; Python numbers and lists go straight to float64 (never via float32)."""
    if isinstance(x, torch.Tensor):
        return as_float_tensor(x, name).to(torch.float64)
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a tensor, array or sequence of numbers, got {type(x).__name__}")
    try:
        return torch.as_tensor(x, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a tensor, array or sequence of numbers ({err})") from None


# ---------------------------------------------------------------------------------------
# empirical risk and the VC bound
# ---------------------------------------------------------------------------------------


def empirical_risk(loss_fn: Callable, predictions: Any, targets: Any) -> torch.Tensor:
    r"""Empirical risk: the average of a per-example loss over a sample.

    .. math::

        \hat R_n(f) = \frac1n \sum_{i=1}^n L\bigl(f(x_i), y_i\bigr)

    the estimate of the true risk :math:`R(f) = \mathbb E[L(f(x), y)]` that empirical risk
    minimisation minimises (Vapnik 1991).

    Args:
        loss_fn: ``loss_fn(predictions, targets)``. If it has a ``reduction`` keyword (every
            objlib loss does) it is called with ``reduction="none"``; otherwise it must return
            one loss per example (or per element) itself.
        predictions: :math:`f(x_i)` for the n examples (scores, logits, regression outputs).
        targets: :math:`y_i`.

    Returns the mean of the per-example losses, a 0-dim tensor that keeps autograd history.

    >>> from objlib.classification import zero_one
    >>> float(empirical_risk(zero_one, torch.tensor([2.0, -1.0, 0.5, 3.0]), torch.tensor([1, 1, -1, 1])))
    0.5
    >>> float(empirical_risk(lambda p, y: (p - y) ** 2, torch.tensor([1.0, 3.0]), torch.tensor([1.0, 1.0])))
    2.0
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    try:
        takes_reduction = "reduction" in inspect.signature(loss_fn).parameters
    except (TypeError, ValueError):  # builtins without a signature
        takes_reduction = False
    losses = loss_fn(predictions, targets, reduction="none") if takes_reduction else loss_fn(predictions, targets)
    losses = as_float_tensor(losses, "loss_fn(predictions, targets)")
    if losses.dim() == 0:
        raise ValueError(
            "loss_fn must return one loss per example, got a scalar: "
            "give a loss with a `reduction` keyword or one that does not average"
        )
    check_nonempty(losses, "loss_fn(predictions, targets)")
    return raise_on_nan(losses.mean(), **{"loss_fn(predictions, targets)": losses})


def vc_generalization_bound(n: int, vc_dim: int, delta: float) -> float:
    r"""Uniform deviation between true and empirical 0/1 risk for a class of VC dimension d.

    With probability at least :math:`1 - \delta` over an i.i.d. sample of size n, **every**
    classifier :math:`f` in a class of VC dimension :math:`d` satisfies

    .. math::

        |R(f) - \hat R_n(f)| \le \varepsilon(n, d, \delta)
        = \sqrt{\frac{8}{n}\Bigl(d \ln\frac{2 e n}{d} + \ln\frac4\delta\Bigr)} ,

    in particular :math:`R(f) \le \hat R_n(f) + \varepsilon`. This is the uniform
    convergence inequality of Vapnik and Chervonenkis (1971),
    :math:`P\{\sup_f |R(f) - \hat R_n(f)| > \varepsilon\} \le 4\,\Pi(2n)\, e^{-n\varepsilon^2/8}`,
    solved for :math:`\varepsilon`, with the growth function bounded by the Sauer-Shelah
    lemma :math:`\Pi(m) \le (e m / d)^d` for :math:`m \ge d` (see Vapnik 1998;
    Shalev-Shwartz and Ben-David 2014, ch. 6). For :math:`d = 0` (a single classifier) the
    term :math:`d \ln(2en/d)` is its limit 0. The value may exceed 1, when the bound says
    nothing.

    Args:
        n: sample size, an int with :math:`2n \ge d`.
        vc_dim: VC dimension d, an int :math:`\ge 0`.
        delta: failure probability in (0, 1).

    Returns a Python float. It decreases in n and in delta and increases in d.

    >>> round(vc_generalization_bound(1000, 3, 0.05), 4)
    0.4638
    """
    n = check_int(n, "n", low=1)
    vc_dim = check_int(vc_dim, "vc_dim", low=0)
    delta = check_scalar(delta, "delta", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    if 2 * n < vc_dim:
        raise ValueError(f"n must be at least vc_dim / 2 = {vc_dim / 2} for this form of the bound, got {n}")
    capacity = vc_dim * math.log(2 * math.e * n / vc_dim) if vc_dim > 0 else 0.0
    return math.sqrt(8.0 / n * (capacity + math.log(4.0 / delta)))


# ---------------------------------------------------------------------------------------
# growth functions in closed form
# ---------------------------------------------------------------------------------------


def sauer_shelah_bound(n: int, vc_dim: int) -> int:
    r"""Sauer-Shelah bound on the growth function of a class of VC dimension d.

    .. math::

        \Pi(n) \le \sum_{i=0}^{d} \binom{n}{i}

    (equal to :math:`2^n` when :math:`n \le d`, polynomial :math:`\le (en/d)^d` when
    :math:`n \ge d`). Sauer (1972), Shelah (1972); Shalev-Shwartz and Ben-David (2014),
    Lemma 6.10. Returns an exact Python int.

    >>> sauer_shelah_bound(10, 3)  # 1 + 10 + 45 + 120
    176
    """
    n = check_int(n, "n", low=0)
    vc_dim = check_int(vc_dim, "vc_dim", low=0)
    return sum(math.comb(n, i) for i in range(min(vc_dim, n) + 1))


def threshold_growth(n: int) -> int:
    r"""Growth function of thresholds on the line, :math:`x \mapsto \mathrm{sign}(x - t)`: n + 1.

    >>> threshold_growth(4)
    5
    """
    return check_int(n, "n", low=0) + 1


def interval_growth(n: int) -> int:
    r"""Growth function of intervals on the line (+1 inside [a, b]): n(n + 1)/2 + 1.

    >>> interval_growth(4)
    11
    """
    n = check_int(n, "n", low=0)
    return n * (n + 1) // 2 + 1


def halfplane_growth(n: int) -> int:
    r"""Growth function of linear classifiers :math:`\mathrm{sign}(w^\top x + b)` in the plane.

    .. math::

        \Pi(n) = 2 \sum_{k=0}^{2} \binom{n-1}{k} = n^2 - n + 2 \quad (n \ge 1),

    attained by any n points in general position (no three collinear), by Cover's (1965)
    function counting theorem applied to the lifted points :math:`(x, 1) \in \mathbb R^3`.

    >>> [halfplane_growth(n) for n in range(1, 6)]
    [2, 4, 8, 14, 22]
    """
    n = check_int(n, "n", low=0)
    return 1 if n == 0 else n * n - n + 2


# ---------------------------------------------------------------------------------------
# labelings realised by a class on given points
# ---------------------------------------------------------------------------------------


def _sorted_unique_labelings(positive: torch.Tensor) -> torch.Tensor:
    """Bool (K, n) -> unique int64 (K', n) +-1 rows ordered by their bit mask."""
    n = positive.shape[1]
    weights = 2 ** torch.arange(n, dtype=torch.int64)
    masks = torch.unique((positive.to(torch.int64) * weights).sum(1))
    bits = (masks[:, None] // weights) % 2
    return 2 * bits - 1


def _points_1d(points) -> torch.Tensor:
    x = _as_float64(points, "points")
    check_not_nan(x, "points")  # labelings are integers: a NaN point would be labelled anyway
    if x.dim() == 2 and x.shape[1] == 1:
        x = x[:, 0]
    check_ndim(x, "points", 1)
    if x.numel() > _MAX_POINTS:
        raise ValueError(f"points must hold at most {_MAX_POINTS} points, got {x.numel()}")
    return x.detach().cpu().to(torch.float64)


def threshold_labelings(points: TensorLike) -> torch.Tensor:
    r"""Every labeling that thresholds :math:`h_t(x) = +1` if :math:`x > t` else -1 realise.

    Exact: a threshold below every point, or at each distinct point value, gives all the
    distinct labelings, :math:`m + 1` of them for :math:`m` distinct values (the VC
    dimension of this class is 1).

    Args:
        points: (n,) or (n, 1) real values, n <= 16.

    Returns (K, n) int64 labelings in {-1, +1}.

    >>> threshold_labelings([0.3, 0.1]).tolist()
    [[-1, -1], [1, -1], [1, 1]]
    """
    x = _points_1d(points)
    if x.numel() == 0:
        return torch.zeros(1, 0, dtype=torch.int64)
    cuts = torch.cat([x.min().reshape(1) - 1, torch.unique(x)])
    return _sorted_unique_labelings(x[None, :] > cuts[:, None])


def interval_labelings(points: TensorLike) -> torch.Tensor:
    r"""Every labeling that intervals :math:`h_{a,b}(x) = +1` if :math:`a \le x \le b` realise.

    Exact: the empty interval (all -1) and every interval from one distinct point value to
    another, :math:`m(m+1)/2 + 1` labelings for :math:`m` distinct values (VC dimension 2).

    Args:
        points: (n,) or (n, 1) real values, n <= 16.

    Returns (K, n) int64 labelings in {-1, +1}.

    >>> interval_labelings([0.0, 1.0]).tolist()
    [[-1, -1], [1, -1], [-1, 1], [1, 1]]
    """
    x = _points_1d(points)
    values = torch.unique(x)
    rows = [torch.zeros_like(x, dtype=torch.bool)]
    for i in range(values.numel()):
        for j in range(i, values.numel()):
            rows.append((x >= values[i]) & (x <= values[j]))
    return _sorted_unique_labelings(torch.stack(rows))


# Exact planar predicates on rational coordinates (every float is a rational number).


def _orient(a, b, c) -> int:
    """Sign of the cross product (b - a) x (c - a): +1 left turn, -1 right turn, 0 collinear."""
    det = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (det > 0) - (det < 0)


def _on_segment(p, a, b) -> bool:
    """p lies on the closed segment [a, b] (which may be a single point)."""
    return (
        _orient(a, b, p) == 0
        and min(a[0], b[0]) <= p[0] <= max(a[0], b[0])
        and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])
    )


def _segments_meet(a, b, c, d) -> bool:
    """The closed segments [a, b] and [c, d] share a point."""
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if o1 * o2 < 0 and o3 * o4 < 0:
        return True
    return _on_segment(c, a, b) or _on_segment(d, a, b) or _on_segment(a, c, d) or _on_segment(b, c, d)


def _in_triangle(p, a, b, c) -> bool:
    """p lies in the closed convex hull of a, b, c (possibly a degenerate triangle)."""
    if _orient(a, b, c) == 0:
        return _on_segment(p, a, b) or _on_segment(p, b, c) or _on_segment(p, a, c)
    signs = (_orient(a, b, p), _orient(b, c, p), _orient(c, a, p))
    return not (min(signs) < 0 < max(signs))


def linear_classifier_labelings(points: TensorLike) -> torch.Tensor:
    r"""Every labeling of points in the plane realised by :math:`\mathrm{sign}(w^\top x + b)`.

    The classifier predicts +1 where :math:`w^\top x + b > 0` and -1 elsewhere, with
    :math:`w \in \mathbb R^2, b \in \mathbb R` free (so the two constant labelings count).
    A labeling with positive set :math:`P` and negative set :math:`N` is realised exactly
    when :math:`P` and :math:`N` can be strictly separated by a line, i.e. when their convex
    hulls are disjoint. **Exact method** (no LP, no tolerance): by Kirchberger's theorem
    (1903) two finite sets in the plane are strictly separable if and only if every subset
    of at most 4 = d + 2 of their points is. So every pair of disjoint index sets
    :math:`(A, B)` with :math:`|A| + |B| \le 4` whose convex hulls meet (equal points, a
    point on a segment, a point in a triangle, two crossing segments) is found with
    orientation tests in exact rational arithmetic (every float is a rational), and a
    labeling is realised if and only if it puts no such :math:`A` wholly on one side and
    :math:`B` wholly on the other.

    Args:
        points: (n, 2) real coordinates, n <= 16; repeated points are allowed.

    Returns (K, n) int64 labelings in {-1, +1}; :math:`K = n^2 - n + 2` for points in
    general position (:func:`halfplane_growth`).

    >>> linear_classifier_labelings([[0, 0], [1, 0], [2, 0]]).shape[0]  # 3 collinear: 8 - 2
    6
    """
    x = _as_float64(points, "points")
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {tuple(x.shape)}")
    n = x.shape[0]
    if n > _MAX_POINTS:
        raise ValueError(f"points must hold at most {_MAX_POINTS} points, got {n}")
    if value_checks_enabled() and not bool(torch.isfinite(x).all()):
        raise ValueError("points must be finite, got NaN or inf entries")
    p = [(Fraction(u), Fraction(v)) for u, v in x.detach().cpu().to(torch.float64).tolist()]

    conflicts: list[tuple[int, int]] = []  # (mask of A, mask of B) with meeting hulls

    def bits(idx: Sequence[int]) -> int:
        return sum(1 << i for i in idx)

    for i, j in itertools.combinations(range(n), 2):
        if p[i] == p[j]:
            conflicts.append((bits([i]), bits([j])))
    for i in range(n):
        others = [k for k in range(n) if k != i]
        for j, k in itertools.combinations(others, 2):
            if _on_segment(p[i], p[j], p[k]):
                conflicts.append((bits([i]), bits([j, k])))
        for j, k, m in itertools.combinations(others, 3):
            if _in_triangle(p[i], p[j], p[k], p[m]):
                conflicts.append((bits([i]), bits([j, k, m])))
    for quad in itertools.combinations(range(n), 4):
        a, b, c, d = quad
        for (i, j), (k, m) in (((a, b), (c, d)), ((a, c), (b, d)), ((a, d), (b, c))):
            if _segments_meet(p[i], p[j], p[k], p[m]):
                conflicts.append((bits([i, j]), bits([k, m])))

    masks = torch.arange(2**n, dtype=torch.int64)
    realised = torch.ones(2**n, dtype=torch.bool)
    if conflicts:
        a_masks, b_masks = torch.tensor(conflicts, dtype=torch.int64).T
        for start in range(0, a_masks.numel(), 512):
            a, b = a_masks[start : start + 512, None], b_masks[start : start + 512, None]
            a_pos_b_neg = ((masks & a) == a) & ((masks & b) == 0)
            b_pos_a_neg = ((masks & b) == b) & ((masks & a) == 0)
            realised &= ~(a_pos_b_neg | b_pos_a_neg).any(0)
    kept = masks[realised]
    weights = 2 ** torch.arange(n, dtype=torch.int64)
    return 2 * ((kept[:, None] // weights) % 2) - 1


def finite_class(hypotheses: Iterable[Callable]) -> Callable[[torch.Tensor], torch.Tensor]:
    """Turn a finite list of classifiers into a labeling function for :func:`shatters`.

    Each hypothesis maps points (n, ...) to n predictions; a prediction > 0 is +1 and any
    other is -1 (so labels in {-1, +1}, {0, 1}, bool, or real scores all work). The returned
    function maps points to the distinct labelings the hypotheses realise, as (K, n) int64.

    >>> constant_classes = finite_class([lambda x: -torch.ones(len(x)), lambda x: torch.ones(len(x))])
    >>> constant_classes(torch.zeros(3, 1)).tolist()
    [[-1, -1, -1], [1, 1, 1]]
    """
    hypotheses = list(hypotheses)
    if not hypotheses:
        raise ValueError("hypotheses must hold at least one classifier")
    for h in hypotheses:
        if not callable(h):
            raise TypeError(f"hypotheses must be callables, got {type(h).__name__}")

    def labelings(points) -> torch.Tensor:
        outputs = [torch.as_tensor(h(points)).detach().reshape(-1).cpu() for h in hypotheses]
        for out in outputs:
            check_not_nan(out, "hypotheses(points)")  # NaN > 0 would read as the label -1
        rows = [out > 0 for out in outputs]
        if len({r.numel() for r in rows}) != 1:
            raise ValueError("hypotheses must each return one prediction per point")
        return _sorted_unique_labelings(torch.stack(rows))

    return labelings


def _labelings_of(hypothesis_class, points) -> torch.Tensor:
    """Labelings realised by a class given as a labeling function or as a (K, n) tensor."""
    if callable(hypothesis_class):
        if points is None:
            raise ValueError("points must be given when hypothesis_class is a labeling function")
        labelings = as_tensor(hypothesis_class(points), "hypothesis_class(points)")
    else:
        labelings = as_tensor(hypothesis_class, "hypothesis_class")
        if points is not None and labelings.dim() == 2 and labelings.shape[1] != len(points):
            raise ValueError(
                f"hypothesis_class holds labelings of {labelings.shape[1]} points but points has {len(points)}"
            )
    check_ndim(labelings, "hypothesis_class", 2)
    if labelings.shape[1] > 62:
        raise ValueError(f"hypothesis_class labels {labelings.shape[1]} points; at most 62 are supported")
    if value_checks_enabled() and labelings.dtype != torch.bool:
        if not bool(((labelings == 1) | (labelings == -1) | (labelings == 0)).all()):
            raise ValueError("hypothesis_class labelings must hold labels in {-1, +1} or {0, 1}")
    return labelings


def count_labelings(hypothesis_class: Callable[[Any], Any] | TensorLike, points: TensorLike | None = None) -> int:
    """Number of distinct labelings a class realises on ``points`` (positive class = 1).

    ``hypothesis_class`` is a labeling function (``points -> (K, n)``, e.g.
    :func:`linear_classifier_labelings`) or a (K, n) tensor of labelings, coded
    {-1, +1}, {0, 1} or bool; repeated rows count once.

    >>> count_labelings(threshold_labelings, [0.1, 0.2, 0.3])
    4
    """
    labelings = _labelings_of(hypothesis_class, points)
    return int(torch.unique(labelings == 1, dim=0).shape[0]) if labelings.shape[0] else 0


def shatters(hypothesis_class: Callable[[Any], Any] | TensorLike, points: TensorLike | None = None) -> bool:
    r"""Whether a class shatters the points: realises all :math:`2^n` labelings of them.

    ``hypothesis_class`` is a labeling function (``points -> (K, n)``) or a (K, n) tensor of
    the labelings the class realises (then ``points`` may be omitted). A class of VC
    dimension d shatters some set of d points and no set of d + 1 (Vapnik and
    Chervonenkis 1971).

    >>> shatters(linear_classifier_labelings, [[0, 0], [1, 0], [0, 1]])
    True
    >>> shatters(linear_classifier_labelings, [[0, 0], [1, 1], [1, 0], [0, 1]])  # XOR
    False
    """
    labelings = _labelings_of(hypothesis_class, points)
    return count_labelings(labelings) == 2 ** labelings.shape[1]


def growth_function(hypothesis_class: Callable, point_sets: Iterable[TensorLike]) -> int:
    r"""Largest number of labelings the class realises on any of the given point sets.

    .. math::

        \Pi_{\mathcal H}(n) = \max_{x_1, \dots, x_n} |\{(h(x_1), \dots, h(x_n)) : h \in \mathcal H\}|

    The maximum here runs over the candidate sets in ``point_sets`` (an iterable of point
    arrays, or a tensor whose first axis indexes the sets), so the result is a lower bound
    on :math:`\Pi(n)`, equal to it when a maximising set is among the candidates (for the
    line and the plane, any set of distinct points, resp. points in general position).

    >>> growth_function(interval_labelings, [[0.0, 1.0, 2.0], [0.0, 0.0, 1.0]])  # 3 distinct: 7
    7
    """
    if not callable(hypothesis_class):
        raise TypeError(f"hypothesis_class must be a labeling function, got {type(hypothesis_class).__name__}")
    counts = [count_labelings(hypothesis_class, points) for points in point_sets]
    if not counts:
        raise ValueError("point_sets must hold at least one set of points")
    return max(counts)


# ---------------------------------------------------------------------------------------
# a distribution known exactly
# ---------------------------------------------------------------------------------------


class GaussianMixture2:
    r"""Two Gaussian classes with a shared isotropic covariance, known exactly.

    .. math::

        P(y = +1) = \pi, \qquad x \mid y \sim \mathcal N(\mu_y, \sigma^2 I_d),
        \quad y \in \{-1, +1\}.

    Its posterior is logistic in a linear function of x,

    .. math::

        P(y = +1 \mid x) = \operatorname{sigmoid}(w^\top x + b),\quad
        w = \frac{\mu_+ - \mu_-}{\sigma^2},\quad
        b = \frac{\|\mu_-\|^2 - \|\mu_+\|^2}{2\sigma^2} + \ln\frac{\pi}{1 - \pi},

    so the Bayes-optimal classifier :math:`\mathrm{sign}(w^\top x + b)` is linear, and with
    :math:`\Delta = \|\mu_+ - \mu_-\| / \sigma` and :math:`\lambda = \ln(\pi / (1 - \pi))`
    its risk, the Bayes risk, is

    .. math::

        R^* = \pi\, \Phi\Bigl(-\frac\Delta2 - \frac\lambda\Delta\Bigr)
              + (1 - \pi)\, \Phi\Bigl(-\frac\Delta2 + \frac\lambda\Delta\Bigr)

    (:math:`\min(\pi, 1 - \pi)` when :math:`\Delta = 0`), with :math:`\Phi` the standard
    normal CDF (see e.g. Devroye, Gyorfi and Lugosi 1996, ch. 2; Hastie et al. 2009, 4.3).

    Args:
        mean_pos, mean_neg: :math:`\mu_+, \mu_-`, numbers (d = 1) or vectors of one length d.
        std: :math:`\sigma > 0`.
        prior_pos: :math:`\pi \in (0, 1)`.

    Everything is computed in float64; samples are float64 of shape (n, d), labels int64 in
    {-1, +1}.

    >>> mix = GaussianMixture2(1.0, -1.0)
    >>> round(float(mix.bayes_risk()), 6)  # Phi(-1)
    0.158655
    """

    def __init__(self, mean_pos: TensorLike, mean_neg: TensorLike, *, std: float = 1.0, prior_pos: float = 0.5) -> None:
        mean_pos = _as_float64(mean_pos, "mean_pos").detach().reshape(-1)
        mean_neg = _as_float64(mean_neg, "mean_neg").detach().reshape(-1)
        if mean_pos.shape != mean_neg.shape:
            raise ValueError(
                f"mean_pos and mean_neg must have the same length, got {mean_pos.numel()} and {mean_neg.numel()}"
            )
        check_nonempty(mean_pos, "mean_pos")
        if not bool(torch.isfinite(mean_pos).all() and torch.isfinite(mean_neg).all()):
            raise ValueError("mean_pos and mean_neg must be finite")
        self.mean_pos = mean_pos
        self.mean_neg = mean_neg
        self.std = check_scalar(std, "std", low=0.0, low_inclusive=False)
        self.prior_pos = check_scalar(
            prior_pos, "prior_pos", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )

    def __repr__(self) -> str:
        return (
            f"GaussianMixture2(mean_pos={self.mean_pos.tolist()}, mean_neg={self.mean_neg.tolist()}, "
            f"std={self.std}, prior_pos={self.prior_pos})"
        )

    @property
    def dim(self) -> int:
        """Dimension d of x."""
        return self.mean_pos.numel()

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw n i.i.d. pairs: ``x`` (n, d) float64 and ``y`` (n,) int64 in {-1, +1}."""
        n = check_int(n, "n", low=0)
        positive = torch.rand(n, generator=generator, dtype=torch.float64) < self.prior_pos
        noise = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        x = torch.where(positive[:, None], self.mean_pos, self.mean_neg) + self.std * noise
        return x, torch.where(positive, 1, -1)

    def _x(self, x) -> torch.Tensor:
        x = _as_float64(x, "x")
        if x.dim() == 1 and self.dim == 1:
            x = x[:, None]
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {tuple(x.shape)}")
        return x

    @property
    def bayes_rule(self) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(w, b)`` of the Bayes-optimal linear rule; :math:`w^\top x + b` is the log-odds."""
        var = self.std**2
        weight = (self.mean_pos - self.mean_neg) / var
        bias = (self.mean_neg.square().sum() - self.mean_pos.square().sum()) / (2 * var)
        return weight, bias + math.log(self.prior_pos / (1 - self.prior_pos))

    def log_odds(self, x: TensorLike) -> torch.Tensor:
        r""":math:`\ln P(y=+1 \mid x) / P(y=-1 \mid x) = w^\top x + b`, shape (n,)."""
        weight, bias = self.bayes_rule
        return self._x(x) @ weight + bias

    def posterior(self, x: TensorLike) -> torch.Tensor:
        r""":math:`\eta(x) = P(y = +1 \mid x)`, shape (n,), for x of shape (n, d) (or (n,) if d = 1)."""
        return torch.sigmoid(self.log_odds(x))

    def bayes_classifier(self, x: TensorLike) -> torch.Tensor:
        r"""The Bayes-optimal decision: +1 where :math:`\eta(x) > 1/2`, else -1 (int64, (n,))."""
        return torch.where(self.log_odds(x) > 0, 1, -1)

    def linear_rule_risk(self, weight: TensorLike, bias: TensorLike) -> torch.Tensor:
        r"""Exact 0/1 risk of the rule :math:`x \mapsto +1` if :math:`w^\top x + b > 0`, else -1.

        .. math::

            R(w, b) = \pi\, \Phi\Bigl(-\frac{w^\top\mu_+ + b}{\sigma\|w\|}\Bigr)
                      + (1 - \pi)\, \Phi\Bigl(\frac{w^\top\mu_- + b}{\sigma\|w\|}\Bigr)

        because :math:`w^\top x + b` is normal given y. For :math:`w = 0` the rule is constant
        (+1 if :math:`b > 0`). Differentiable in ``weight`` and ``bias`` wherever
        :math:`w \ne 0`: the *true* 0/1 risk is smooth even though the empirical one is a step
        function.

        Args:
            weight: (d,) for one rule (a number if d = 1), or (K, d) for K rules at once.
            bias: a number, or (K,) with a (K, d) ``weight``.

        Returns a float64 tensor of shape () or (K,).

        >>> mix = GaussianMixture2(1.0, -1.0)
        >>> # thresholds at 0 and at 1: Phi(-1) and (Phi(0) + Phi(-2)) / 2
        >>> [round(v, 4) for v in mix.linear_rule_risk([[1.0], [1.0]], [0.0, -1.0]).tolist()]
        [0.1587, 0.2614]
        """
        weight = _as_float64(weight, "weight")
        if weight.dim() == 0:
            weight = weight.reshape(1)
        if weight.dim() not in (1, 2) or weight.shape[-1] != self.dim:
            raise ValueError(f"weight must have shape ({self.dim},) or (K, {self.dim}), got {tuple(weight.shape)}")
        bias = _as_float64(bias, "bias")
        if bias.numel() == 1:
            bias = bias.reshape(()).expand(weight.shape[:-1])
        elif bias.shape != weight.shape[:-1]:
            raise ValueError(
                f"bias must be a number or have shape {tuple(weight.shape[:-1])} to match weight, "
                f"got {tuple(bias.shape)}"
            )
        norm = weight.norm(dim=-1)
        constant = norm == 0
        scale = self.std * torch.where(constant, torch.ones_like(norm), norm)  # no 0/0, even in the gradient
        miss_pos = torch.special.ndtr(-(weight @ self.mean_pos + bias) / scale)
        false_pos = torch.special.ndtr((weight @ self.mean_neg + bias) / scale)
        risk = self.prior_pos * miss_pos + (1 - self.prior_pos) * false_pos
        constant_risk = torch.where(bias > 0, bias.new_tensor(1 - self.prior_pos), bias.new_tensor(self.prior_pos))
        return torch.where(constant, constant_risk, risk)

    def bayes_risk(self) -> torch.Tensor:
        """The Bayes risk: the 0/1 risk of :meth:`bayes_classifier`, the least of any classifier."""
        return self.linear_rule_risk(*self.bayes_rule)

    def marginal(self, dims: int | Sequence[int]) -> GaussianMixture2:
        r"""The mixture of :math:`(x_S, y)`, the coordinates ``dims`` of x and the label.

        A coordinate of an isotropic Gaussian is Gaussian, so :math:`(x_S, y)` is again a
        :class:`GaussianMixture2`, with means :math:`(\mu_\pm)_S`, the same :math:`\sigma`
        and the same prior. Its Bayes risk is the least risk of any classifier that reads
        only :math:`x_S`, so the difference ``marginal(S).bayes_risk() - bayes_risk()`` is
        the approximation error of every class that contains the best rule on :math:`x_S`
        and nothing that reads the other coordinates. For linear rules,
        ``marginal(S).linear_rule_risk(w_S, b)`` equals ``linear_rule_risk(w, b)`` with
        :math:`w` zero outside :math:`S`.

        Args:
            dims: one coordinate index, or a sequence of distinct indices in ``[0, d)``.

        >>> mix = GaussianMixture2([1.0, 0.5], [-1.0, -0.5])
        >>> round(float(mix.marginal(0).bayes_risk()), 6)  # Phi(-1): x_2 is dropped
        0.158655
        """
        if isinstance(dims, (str, bytes)) or not isinstance(dims, (int, Sequence, torch.Tensor)):
            raise TypeError(f"dims must be an int or a sequence of ints, got {type(dims).__name__}")
        if isinstance(dims, torch.Tensor):
            dims = dims.reshape(-1).tolist()
        index = [dims] if isinstance(dims, int) else list(dims)
        index = [check_int(i, "dims", low=0, high=self.dim - 1) for i in index]
        if not index or len(set(index)) != len(index):
            raise ValueError(f"dims must name distinct coordinates, at least one, got {dims!r}")
        return GaussianMixture2(
            self.mean_pos[index], self.mean_neg[index], std=self.std, prior_pos=self.prior_pos
        )

    def risk(self, predict: Callable, *, n_cells: int = 200_000) -> torch.Tensor:
        r"""0/1 risk of any classifier of a 1-D mixture, by exact integration over fine cells.

        ``predict`` maps x of shape (m, 1) (float64) to m outputs; the classifier predicts +1
        where the output is > 0 (labels {-1,+1} or {0,1}, bools and real scores all work).
        The line :math:`[\min\mu - 12\sigma, \max\mu + 12\sigma]` is cut into ``n_cells``
        equal cells; the prediction at each cell's midpoint is charged the exact class mass
        of the cell (normal CDF differences), the tails go to the end cells. The only error
        comes from cells inside which the prediction changes: at most
        :math:`24\sigma / (\sqrt{2\pi}\,\sigma\, n_{\text{cells}})` per change of the
        prediction, about 5e-5 for the default. For linear rules in any dimension use
        :meth:`linear_rule_risk`, which is exact.
        """
        if self.dim != 1:
            raise ValueError(f"risk integrates over x in one dimension; this mixture has d = {self.dim}")
        n_cells = check_int(n_cells, "n_cells", low=1)
        lo = float(torch.minimum(self.mean_pos, self.mean_neg)) - 12 * self.std
        hi = float(torch.maximum(self.mean_pos, self.mean_neg)) + 12 * self.std
        edges = torch.linspace(lo, hi, n_cells + 1, dtype=torch.float64)
        edges[0], edges[-1] = -math.inf, math.inf
        width = (hi - lo) / n_cells
        mids = lo + width * (torch.arange(n_cells, dtype=torch.float64) + 0.5)
        with torch.no_grad():
            out = torch.as_tensor(predict(mids[:, None])).reshape(-1)
        if out.numel() != n_cells:
            raise ValueError(f"predict must return one output per point, got {out.numel()} for {n_cells}")
        check_not_nan(out, "predict(x)")
        if out.is_floating_point() and bool(torch.isnan(out).any()):
            return torch.tensor(math.nan, dtype=torch.float64)  # value checks off: NaN, not a risk
        predicted_positive = (out > 0).cpu()
        cdf_pos = torch.special.ndtr((edges - float(self.mean_pos)) / self.std)
        cdf_neg = torch.special.ndtr((edges - float(self.mean_neg)) / self.std)
        mass_pos = self.prior_pos * torch.diff(cdf_pos)
        mass_neg = (1 - self.prior_pos) * torch.diff(cdf_neg)
        return torch.where(predicted_positive, mass_neg, mass_pos).sum()
