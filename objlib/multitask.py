r"""Multi-objective training: combining task losses, balancing them, and comparing trade-offs (chapter 11).

Three families of tools, for a model trained on :math:`K` tasks with losses
:math:`L_1, \dots, L_K`:

* **scalarisations** turn the loss vector into one number to minimise:
  :func:`weighted_sum` (fixed weights) and :func:`chebyshev_scalarisation` (the weighted
  worst task, which reaches every Pareto-optimal point, also on non-convex fronts);
* **adaptive weights and gradient surgery** change the combination during training:
  :class:`UncertaintyWeighting` (Kendall et al. 2018) learns one variance per task,
  :class:`GradNorm` (Chen et al. 2018) learns weights that equalise the tasks' training
  rates, :func:`pcgrad` (Yu et al. 2020) removes conflicting gradient components, and
  :func:`min_norm_weights` (MGDA; Désidéri 2012, Sener and Koltun 2018) finds the convex
  combination of task gradients with the smallest norm;
* **Pareto analysis** of finished runs: :func:`pareto_front` (the non-dominated rows of a
  set of objective vectors) and :func:`hypervolume` (the area they dominate in 2-D).

Conventions. Every objective is **minimised**. Task losses are already reduced (one number
per task), so none of these functions takes ``reduction``: a task-loss argument has the
tasks along its **last axis**, ``(..., K)``, and the scalarisations return one value per
leading index, ``(...)``. A list or tuple of 0-dim loss tensors is stacked (autograd
history kept). Task gradients are rows of a ``(K, P)`` matrix (flatten and concatenate the
parameters' gradients). NaN in the data is a ``ValueError`` with value checks on; with them
off it propagates into every floating output (see each function for its boolean outputs).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from . import _checks
from ._checks import (
    ConvergenceWarning,
    as_float_tensor,
    check_finite,
    check_int,
    check_ndim,
    check_nonempty,
    check_nonnegative,
    check_not_nan,
    check_scalar,
    promote_floats,
)

__all__ = [
    "weighted_sum",
    "chebyshev_scalarisation",
    "UncertaintyWeighting",
    "GradNorm",
    "pcgrad",
    "min_norm_weights",
    "pareto_front",
    "hypervolume",
]


# ---------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------


def _task_losses(losses, name: str = "losses") -> torch.Tensor:
    """Task losses as a floating tensor ``(..., K)``; a sequence of tensors is stacked."""
    if isinstance(losses, (list, tuple)) and any(isinstance(x, torch.Tensor) for x in losses):
        parts = [as_float_tensor(x, f"{name}[{i}]") for i, x in enumerate(losses)]
        if len({p.shape for p in parts}) > 1:
            shapes = [tuple(p.shape) for p in parts]
            raise ValueError(f"{name} must be tensors of one shape, got shapes {shapes}")
        losses = torch.stack(promote_floats(*parts), dim=-1)
    t = as_float_tensor(losses, name)
    if t.dim() == 0:
        raise ValueError(f"{name} must hold one loss per task along its last axis, got a scalar")
    check_nonempty(t, name)
    check_not_nan(t, name)
    return t


def _task_vector(x, name: str, like: torch.Tensor) -> torch.Tensor:
    """A per-task vector (weights, a reference point) of shape (K,) or exactly like ``like``."""
    t = as_float_tensor(x, name, like=like)
    num_tasks = like.shape[-1]
    if t.shape != (num_tasks,) and t.shape != like.shape:
        raise ValueError(
            f"{name} must have shape ({num_tasks},) or {tuple(like.shape)} to match losses of shape "
            f"{tuple(like.shape)}, got {tuple(t.shape)}"
        )
    check_not_nan(t, name)
    return t


def _may_hold_nan(x: torch.Tensor) -> bool:
    """False when ``x`` certainly holds no NaN: its sum is not NaN (one fast reduction).

    A NaN sum also comes from inf - inf, so True only means "look closer".
    """
    return bool(torch.isnan(x.detach().sum()))


def _losses_and_weights(losses, weights) -> tuple[torch.Tensor, torch.Tensor]:
    """The checked arguments of a scalarisation: task losses and non-negative weights."""
    losses = _task_losses(losses)
    weights = _task_vector(weights, "weights", losses)
    check_nonnegative(weights, "weights")
    return losses, weights


def _task_gradients(grads) -> torch.Tensor:
    """Task gradients as a floating (K, P) tensor, checked."""
    grads = as_float_tensor(grads, "grads")
    check_ndim(grads, "grads", 2)
    check_nonempty(grads, "grads")
    return grads


def _gram(grads: torch.Tensor) -> torch.Tensor:
    """The Gram matrix of the task gradients, after the finiteness check it makes cheap.

    A NaN or inf entry makes its row's squared norm NaN or inf, so the full check over
    ``grads`` (an infinite gradient has no direction to project) runs only then.
    """
    gram = grads @ grads.T
    if not bool(torch.isfinite(gram.diagonal()).all()):
        check_finite(grads, "grads")
    return gram


# ---------------------------------------------------------------------------------------
# scalarisations
# ---------------------------------------------------------------------------------------


def weighted_sum(losses, weights) -> torch.Tensor:
    r"""Weighted sum of task losses, the simplest scalarisation of a multi-objective problem.

    .. math::

        L(\theta) = \sum_{k=1}^K w_k L_k(\theta), \qquad w_k \ge 0 .

    Every minimiser with positive weights is Pareto optimal, but only points on the convex
    part of the Pareto front are minimisers for some weights: the middle of a non-convex
    front is out of reach of every weight vector, and evenly spaced weights do not give
    evenly spaced points (Das and Dennis 1997).

    Args:
        losses: task losses ``(..., K)``, tasks along the last axis, or a list of K
            tensors of one shape (stacked, gradients kept).
        weights: non-negative weights, ``(K,)`` (shared by every leading index) or the
            shape of ``losses``.

    Returns the weighted sum over the task axis, shape ``(...)``. No ``reduction``: the
    task losses are already means over their examples. Differentiable in both arguments.

    >>> import torch
    >>> float(weighted_sum(torch.tensor([2.0, 0.5]), torch.tensor([1.0, 4.0])))
    4.0
    """
    losses, weights = promote_floats(*_losses_and_weights(losses, weights))
    return (weights * losses).sum(dim=-1)


def chebyshev_scalarisation(losses, weights, *, reference=None, augmentation: float = 0.0) -> torch.Tensor:
    r"""Weighted Chebyshev scalarisation: the worst weighted distance of any task from a reference.

    .. math::

        L(\theta) = \max_{k} \; w_k \bigl(L_k(\theta) - z_k\bigr)
        \; + \; \rho \sum_k w_k \bigl(L_k(\theta) - z_k\bigr)

    with :math:`z` the ``reference`` (an ideal point, no worse than the best value of each
    task; 0 by default) and :math:`\rho` the ``augmentation``. Unlike the weighted sum it
    reaches the whole Pareto front, convex or not: a Pareto-optimal point :math:`p` with
    :math:`p > z` minimises it for :math:`w_k = 1 / (p_k - z_k)`. With :math:`\rho = 0`
    its minimisers may be only *weakly* Pareto optimal (a tie in the max leaves the other
    tasks free); a small :math:`\rho > 0` removes those (Miettinen 1999, section 3.4).

    Args:
        losses: task losses ``(..., K)`` or a list of K tensors of one shape.
        weights: non-negative weights, ``(K,)`` or the shape of ``losses``.
        reference: the point :math:`z`, ``(K,)`` or the shape of ``losses``; default 0.
        augmentation: :math:`\rho \ge 0`.

    Returns shape ``(...)``, no ``reduction``. Differentiable; where several tasks tie for
    the maximum the gradient is shared equally between them (``torch.amax``).

    >>> import torch
    >>> float(chebyshev_scalarisation(torch.tensor([2.0, 0.5]), torch.tensor([1.0, 4.0])))
    2.0
    """
    losses, weights = _losses_and_weights(losses, weights)
    rho = check_scalar(augmentation, "augmentation", low=0.0)
    if reference is None:
        losses, weights = promote_floats(losses, weights)
        gaps = losses
    else:
        reference = _task_vector(reference, "reference", losses)
        losses, weights, reference = promote_floats(losses, weights, reference)
        gaps = losses - reference
    weighted = weights * gaps
    value = weighted.amax(dim=-1)
    if rho:
        value = value + rho * weighted.sum(dim=-1)
    return value


# ---------------------------------------------------------------------------------------
# learned weights
# ---------------------------------------------------------------------------------------

_FORM_FACTORS = {"regression": 0.5, "classification": 1.0}


class UncertaintyWeighting(nn.Module):
    r"""Task weights from learned homoscedastic uncertainties (Kendall, Gal and Cipolla 2018).

    Each task gets a learnable :math:`s_k = \log \sigma_k^2`, initialised to 0, and the
    total loss is the negative log-likelihood of a Gaussian with variance
    :math:`\sigma_k^2` (the *regression form*, the default):

    .. math::

        L = \sum_{k=1}^K \frac{1}{2 \sigma_k^2} L_k + \log \sigma_k
          = \sum_{k=1}^K \tfrac12 e^{-s_k} L_k + \tfrac12 s_k .

    For fixed losses it is minimised at :math:`\sigma_k^2 = L_k`, where the task's weight
    :math:`1 / (2 L_k)` makes the model's gradient that of :math:`\tfrac12 \log L_k`: a
    task's scale (metres or millimetres) no longer matters, only its relative progress.
    The term :math:`\log \sigma_k` stops every :math:`\sigma_k` from growing without bound.

    The *classification form* (a softmax whose logits are divided by :math:`\sigma^2`,
    approximated as in the paper) drops the factor :math:`\tfrac12` on the loss,

    .. math::

        \frac{1}{\sigma_k^2} L_k + \log \sigma_k = e^{-s_k} L_k + \tfrac12 s_k ,

    minimised at :math:`\sigma_k^2 = 2 L_k`. Choose it per task with ``forms``.

    Args:
        num_tasks: :math:`K \ge 1`.
        forms: ``None`` (every task in the regression form, as most implementations do) or
            one of ``"regression"`` / ``"classification"`` per task.

    ``forward(losses)`` takes the K task losses (a ``(K,)`` tensor or a list of 0-dim
    tensors) and returns the 0-dim total; train ``log_vars`` with the model's optimiser.
    :meth:`variances` and :meth:`task_weights` read off :math:`\sigma_k^2` and the factor
    in front of each :math:`L_k`.

    >>> import torch
    >>> weighting = UncertaintyWeighting(2)
    >>> weighting(torch.tensor([3.0, 1.0])).item()  # s = 0: (3 + 1) / 2
    2.0
    >>> with torch.no_grad():
    ...     _ = weighting.log_vars.copy_(torch.tensor([3.0, 1.0]).log())  # sigma^2 = L
    >>> round(weighting(torch.tensor([3.0, 1.0])).item(), 4)  # 1 + log(3) / 2
    1.5493
    """

    factors: torch.Tensor  # a buffer: 1/2 (regression) or 1 (classification) per task

    def __init__(self, num_tasks: int, *, forms: Sequence[str] | None = None):
        super().__init__()
        self.num_tasks = check_int(num_tasks, "num_tasks", low=1)
        if forms is None:
            forms = ["regression"] * self.num_tasks
        if isinstance(forms, str) or len(forms) != self.num_tasks:
            raise ValueError(f"forms must list one form per task ({self.num_tasks}), got {forms!r}")
        unknown = [f for f in forms if f not in _FORM_FACTORS]
        if unknown:
            raise ValueError(f"forms must be 'regression' or 'classification', got {unknown[0]!r}")
        self.forms = tuple(forms)
        self.log_vars = nn.Parameter(torch.zeros(self.num_tasks))
        self.register_buffer("factors", torch.tensor([_FORM_FACTORS[f] for f in forms]))

    def forward(self, losses) -> torch.Tensor:
        losses = _task_losses(losses)
        if losses.shape != (self.num_tasks,):
            raise ValueError(f"losses must have shape ({self.num_tasks},), got {tuple(losses.shape)}")
        s = self.log_vars
        return (self.factors * torch.exp(-s) * losses + 0.5 * s).sum()

    def variances(self) -> torch.Tensor:
        """The learned :math:`\\sigma_k^2 = e^{s_k}`, shape (K,), without autograd history."""
        return self.log_vars.detach().exp()

    def task_weights(self) -> torch.Tensor:
        """The factor in front of each task loss, :math:`\\tfrac12 e^{-s_k}` (or :math:`e^{-s_k}`)."""
        return self.factors * torch.exp(-self.log_vars.detach())


class GradNorm(nn.Module):
    r"""Loss weights that equalise the tasks' training rates (Chen et al. 2018).

    The model minimises :math:`\sum_k w_k L_k` (``forward``, with the weights held constant)
    while the weights :math:`w_k` (``.weights``, initialised to 1) minimise

    .. math::

        L_{\text{grad}} = \sum_{k=1}^K \bigl| G_k - \bar G \, r_k^{\alpha} \bigr|,
        \qquad G_k = \lVert \nabla_W \, w_k L_k \rVert_2,
        \qquad r_k = \frac{L_k(t) / L_k(0)}{\tfrac1K \sum_j L_j(t) / L_j(0)},

    where :math:`W` are the shared parameters whose gradients are balanced (the paper uses
    the last shared layer), :math:`\bar G` the mean of the :math:`G_k`, :math:`r_k` the
    relative inverse training rate (a task that has learned less has :math:`r_k > 1` and
    gets a larger gradient) and :math:`\alpha` the strength of the pull. The target
    :math:`\bar G r_k^\alpha` is a constant (detached), and :math:`L_{\text{grad}}` is
    differentiated only with respect to the weights, so :math:`G_k = w_k \lVert \nabla_W
    L_k \rVert` with the norm held constant. After each update call :meth:`renormalise`,
    which rescales the weights to sum to :math:`K` (the paper's renormalisation; it also
    undoes any drift of the overall scale). It first raises any weight below ``min_weight``
    to it: a large step on the weights can push one to zero or below, and a negative weight
    would make the model *maximise* its task's loss. With :math:`\alpha = 0` the target is
    the same for every task: equal gradient norms.

    Args:
        num_tasks: :math:`K \ge 1`.
        alpha: :math:`\alpha \ge 0`; larger values pull the training rates together harder.

    Methods:
        ``forward(losses)``: :math:`\sum_k w_k L_k` with the weights detached (the model's
        loss; no gradient reaches the weights through it).
        ``gradnorm_loss(losses, shared_params)``: :math:`L_{\text{grad}}` (0-dim, depends
        only on ``.weights``). ``losses`` is the (K,) vector of task losses still attached
        to the graph; ``shared_params`` a tensor or an iterable of tensors. The first call
        records :math:`L_k(0)` in ``initial_losses``; each call stores the unweighted
        norms :math:`\lVert \nabla_W L_k \rVert` in ``grad_norms``.
        ``renormalise(min_weight=1e-3)``: :math:`w \leftarrow \max(w, w_{\min})`, then
        :math:`w \leftarrow K w / \sum_k w_k`, in place.

    >>> import torch
    >>> shared = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> losses = torch.stack([(shared**2).sum(), shared.sum()])  # gradient norms 2 sqrt(5), sqrt(2)
    >>> balancer = GradNorm(2, alpha=1.5)
    >>> round(balancer.gradnorm_loss(losses, shared).item(), 4)  # r = 1 on the first call: |G - mean G|
    3.0579
    """

    initial_losses: torch.Tensor | None  # a buffer, set on the first call

    def __init__(self, num_tasks: int, *, alpha: float = 1.5):
        super().__init__()
        self.num_tasks = check_int(num_tasks, "num_tasks", low=1)
        self.alpha = check_scalar(alpha, "alpha", low=0.0)
        self.weights = nn.Parameter(torch.ones(self.num_tasks))
        self.register_buffer("initial_losses", None)
        self.grad_norms: torch.Tensor | None = None

    def _check_losses(self, losses) -> torch.Tensor:
        losses = _task_losses(losses)
        if losses.shape != (self.num_tasks,):
            raise ValueError(f"losses must have shape ({self.num_tasks},), got {tuple(losses.shape)}")
        return losses

    def forward(self, losses) -> torch.Tensor:
        losses = self._check_losses(losses)
        return (self.weights.detach() * losses).sum()

    def gradnorm_loss(self, losses, shared_params: torch.Tensor | Iterable[torch.Tensor]) -> torch.Tensor:
        """:math:`L_{\text{grad}}` for task losses ``(K,)`` attached to the graph of ``shared_params``."""
        losses = self._check_losses(losses)
        params = [shared_params] if isinstance(shared_params, torch.Tensor) else list(shared_params)
        if not params or not all(isinstance(p, torch.Tensor) and p.requires_grad for p in params):
            raise TypeError("shared_params must be a tensor or an iterable of tensors that require grad")
        if not losses.requires_grad:
            raise ValueError("losses must be attached to the graph of shared_params (they do not require grad)")
        task_norms = []
        for k in range(self.num_tasks):
            grads = torch.autograd.grad(losses[k], params, retain_graph=True, allow_unused=True)
            squares = [g.detach().pow(2).sum() for g in grads if g is not None]
            task_norms.append(torch.stack(squares).sum().sqrt() if squares else losses.new_zeros(()))
        norms = torch.stack(task_norms).to(self.weights.dtype)
        self.grad_norms = norms
        current = losses.detach().to(self.weights.dtype)
        if self.initial_losses is None:
            if _checks.value_checks_enabled() and not bool((current > 0).all()):
                raise ValueError("losses must be positive on the first call: they are the reference L_k(0)")
            self.initial_losses = current.clone()
        ratios = current / self.initial_losses
        inverse_rates = ratios / ratios.mean()
        weighted_norms = self.weights * norms
        target = (weighted_norms.mean() * inverse_rates**self.alpha).detach()
        return (weighted_norms - target).abs().sum()

    @torch.no_grad()
    def renormalise(self, min_weight: float = 1e-3) -> None:
        """Floor the weights at ``min_weight`` (> 0), then rescale them in place to sum to the
        number of tasks (call after each update)."""
        floor = check_scalar(min_weight, "min_weight", low=0.0, low_inclusive=False)
        self.weights.clamp_(min=floor)
        self.weights.mul_(self.num_tasks / self.weights.sum())


# ---------------------------------------------------------------------------------------
# gradient surgery and the min-norm combination
# ---------------------------------------------------------------------------------------


def pcgrad(grads, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""PCGrad's update: each task gradient with its conflicting components removed, summed (Yu et al. 2020).

    For each task :math:`i`, in a random order of the other tasks :math:`j` (a fresh
    permutation for each :math:`i`), the running copy :math:`g_i'` (initialised to
    :math:`g_i`) is projected onto the normal plane of the *original* :math:`g_j` when the
    two conflict:

    .. math::

        \text{if } g_i' \cdot g_j < 0: \qquad
        g_i' \leftarrow g_i' - \frac{g_i' \cdot g_j}{\lVert g_j \rVert^2} \, g_j ,
        \qquad\qquad \text{update} = \sum_{i=1}^K g_i' .

    With two tasks the order cannot matter and, when they conflict, each projected
    gradient is orthogonal to the other task's gradient and the update has a non-negative
    inner product with both. With three or more the result depends on the order, which
    is why it is drawn at random.

    Args:
        grads: task gradients, shape ``(K, P)`` (one flattened gradient per row).
        generator: a ``torch.Generator`` for the task orders (the global one if None).

    Returns the combined gradient, shape ``(P,)``, differentiable in ``grads`` (piecewise:
    the conflict tests are constants). A zero gradient never conflicts, so it is never
    divided by.

    Speed: every projection is a linear combination of the original rows, so the work is
    done on the :math:`K \times K` Gram matrix of inner products (one pass over ``grads``)
    and the update is formed once at the end (a second pass); no gradient is copied.

    >>> import torch
    >>> pcgrad(torch.tensor([[1.0, 0.0], [-1.0, 1.0]]))  # each loses its conflicting part
    tensor([0.5000, 1.5000])
    """
    grads = _task_gradients(grads)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    num_tasks = grads.shape[0]
    gram = _gram(grads)  # gram[i, j] = g_i . g_j
    identity = torch.eye(num_tasks, dtype=grads.dtype, device=grads.device)
    conflict_free = []
    for i in range(num_tasks):
        coefficients = identity[i]  # g_i' = coefficients @ grads
        for j in torch.randperm(num_tasks, generator=generator).tolist():
            if j == i:
                continue
            dot = coefficients @ gram[:, j]  # g_i' . g_j
            if not dot >= 0:  # a conflict; NaN (value checks off) is projected too, and spreads
                coefficients = coefficients - (dot / gram[j, j]) * identity[j]
        conflict_free.append(coefficients)
    return torch.stack(conflict_free).sum(dim=0) @ grads


def _affine_min_norm(gram: np.ndarray) -> np.ndarray:
    """Weights summing to 1 (any sign) of the min-norm point of the points' affine hull."""
    size = len(gram)
    bordered = np.zeros((size + 1, size + 1))
    bordered[:size, :size] = gram
    bordered[:size, size] = bordered[size, :size] = 1.0
    rhs = np.zeros(size + 1)
    rhs[size] = 1.0
    return np.linalg.lstsq(bordered, rhs, rcond=None)[0][:size]


def _wolfe_min_norm(gram: np.ndarray, max_iter: int, tol: float) -> tuple[list[int], np.ndarray, float, bool]:
    """Wolfe's (1976) exact min-norm point of a convex hull, given the points' Gram matrix.

    Keeps a corral S of affinely independent points and convex weights on it. A major
    step adds the point most opposed to the current x (the Frank-Wolfe vertex); minor
    steps move to the min-norm point of S's affine hull, dropping points whose weight
    would turn negative. Returns (S, weights on S, final Frank-Wolfe gap, converged).
    """
    scale = max(float(np.max(np.diag(gram))), np.finfo(float).tiny)
    corral = [int(np.argmin(np.diag(gram)))]
    weights = np.ones(1)
    for _ in range(max_iter):
        dots = gram[:, corral] @ weights  # x . g_k for every k
        norm2 = float(weights @ dots[corral])
        vertex = int(np.argmin(dots))
        gap = norm2 - float(dots[vertex])  # >= ||x||^2 - min norm^2, over 2
        if gap <= tol * scale or vertex in corral:
            return corral, weights, gap, True
        corral.append(vertex)
        weights = np.append(weights, 0.0)
        while True:
            affine = _affine_min_norm(gram[np.ix_(corral, corral)])
            if (affine > 0).all():
                weights = affine
                break
            # Walk from the weights towards the affine point until a weight reaches zero.
            shrinking = affine <= 0
            step = np.min(weights[shrinking] / (weights[shrinking] - affine[shrinking]))
            weights = weights + step * (affine - weights)
            keep = weights > 1e-15
            keep[np.argmax(weights)] = True
            corral = [c for c, k in zip(corral, keep, strict=True) if k]
            weights = weights[keep] / weights[keep].sum()
    dots = gram[:, corral] @ weights
    return corral, weights, float(weights @ dots[corral] - dots.min()), False


def min_norm_weights(grads, *, max_iter: int = 1000, tol: float = 1e-12) -> torch.Tensor:
    r"""MGDA's weights: the convex combination of task gradients with the smallest norm.

    .. math::

        \alpha^\star = \operatorname*{arg\,min}_{\alpha \ge 0,\ \sum_k \alpha_k = 1}
        \Bigl\lVert \sum_{k=1}^K \alpha_k g_k \Bigr\rVert_2^2 .

    The direction :math:`d = \sum_k \alpha^\star_k g_k` satisfies :math:`g_k \cdot d \ge
    \lVert d \rVert^2` for every task, so a small step along :math:`-d` decreases every
    task loss unless :math:`d = 0`, which is the definition of a Pareto-stationary point
    (Désidéri 2012; Sener and Koltun 2018, who use it for multi-task deep networks).

    Two tasks have a closed form,

    .. math::

        \alpha_1^\star = \operatorname{clip}_{[0, 1]}
        \frac{(g_2 - g_1) \cdot g_2}{\lVert g_1 - g_2 \rVert^2},
        \qquad \alpha_2^\star = 1 - \alpha_1^\star

    (:math:`\alpha = (\tfrac12, \tfrac12)` when :math:`g_1 = g_2`). For more tasks the
    problem is solved exactly on the :math:`K \times K` Gram matrix by Wolfe's min-norm
    point algorithm (Wolfe 1976: finitely many steps, each adds the Frank-Wolfe vertex
    and re-solves on the active set), where Sener and Koltun use Frank-Wolfe, whose
    convergence is only sublinear. The weights are then recomputed on the active set
    with torch operations, so they are differentiable in ``grads`` for every K.

    Args:
        grads: task gradients, shape ``(K, P)``.
        max_iter: the most major iterations for :math:`K > 2`; a ``ConvergenceWarning`` says
            so if it stops there before the Frank-Wolfe gap :math:`\lVert d \rVert^2 -
            \min_k g_k \cdot d` reaches ``tol``.
        tol: the gap at which to stop, relative to :math:`\max_k \lVert g_k \rVert^2`.

    Returns the weights, shape ``(K,)``, non-negative, summing to 1. When several
    combinations share the minimal norm (dependent gradients) one of them is returned.

    >>> import torch
    >>> min_norm_weights(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))  # (4, 1) / 5
    tensor([0.8000, 0.2000])
    """
    grads = _task_gradients(grads)
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = check_scalar(tol, "tol", low=0.0)
    num_tasks = grads.shape[0]
    gram = _gram(grads)
    if num_tasks == 1:
        return torch.ones(1, dtype=grads.dtype, device=grads.device)
    if num_tasks == 2:
        gap2 = gram[0, 0] - 2 * gram[0, 1] + gram[1, 1]  # ||g1 - g2||^2
        if gap2 <= 0:
            first = grads.new_tensor(0.5) + 0 * gap2  # identical gradients: keep the graph
        else:
            first = ((gram[1, 1] - gram[0, 1]) / gap2).clamp(0.0, 1.0)
        return torch.stack([first, 1 - first])
    if not bool(torch.isfinite(gram).all()):  # only with value checks off
        return gram.new_full((num_tasks,), math.nan) + 0 * gram.sum()
    corral, weights, gap, converged = _wolfe_min_norm(gram.detach().double().cpu().numpy(), max_iter, tol)
    if not converged:
        warnings.warn(
            f"min_norm_weights stopped at max_iter={max_iter} with a Frank-Wolfe gap of {gap:.3g} "
            f"(tol={tol:g} relative to the largest squared gradient norm)",
            ConvergenceWarning,
            stacklevel=2,
        )
    return _weights_on_corral(gram, corral, torch.as_tensor(weights, dtype=grads.dtype))


def _weights_on_corral(gram: torch.Tensor, corral: list[int], fallback: torch.Tensor) -> torch.Tensor:
    """The affine min-norm weights on the active set, recomputed in torch for autograd."""
    index = torch.tensor(corral, device=gram.device)
    size = len(corral)
    sub = gram[index][:, index]
    ones = torch.ones(size, 1, dtype=gram.dtype, device=gram.device)
    bordered = torch.cat([torch.cat([sub, ones], 1), torch.cat([ones.T, ones.new_zeros(1, 1)], 1)], 0)
    rhs = torch.zeros(size + 1, dtype=gram.dtype, device=gram.device)
    rhs[size] = 1.0
    try:
        weights = torch.linalg.solve(bordered, rhs)[:size]
    except RuntimeError:  # singular: affinely dependent gradients
        weights = None
    fallback = fallback.to(gram.device)
    if weights is None or not torch.allclose(weights.detach(), fallback, atol=1e-6, rtol=1e-4):
        weights = fallback  # the solve lost accuracy: keep Wolfe's weights, without a gradient
    return gram.new_zeros(gram.shape[0]).index_put((index,), weights)


# ---------------------------------------------------------------------------------------
# Pareto analysis
# ---------------------------------------------------------------------------------------


def _argsort(values: torch.Tensor) -> torch.Tensor:
    """The permutation sorting a 1-D tensor (ties in any order).

    On CPU NumPy's SIMD sort is several times faster than ``torch.argsort`` (24 ms against
    95 ms for 1e6 float64 on the machine the benchmarks ran on) and about 15 times faster
    than a lexicographic sort of two columns, which is why the 2-D sweep sorts by one
    column only.
    """
    if values.device.type == "cpu" and values.dtype in (torch.float32, torch.float64):
        return torch.from_numpy(np.argsort(values.detach().numpy()))
    return torch.argsort(values)


def _lexicographic_order(points: torch.Tensor) -> torch.Tensor:
    """The permutation sorting the rows by the first column, then the second, and so on."""
    if points.device.type == "cpu" and points.dtype in (torch.float32, torch.float64):
        return torch.from_numpy(np.lexsort(points.detach().numpy().T[::-1]))
    order = torch.arange(points.shape[0], device=points.device)
    for column in reversed(range(points.shape[1])):
        order = order[torch.sort(points[order, column], stable=True).indices]
    return order


def _front_2d(points: torch.Tensor) -> torch.Tensor:
    """Non-dominated mask in 2-D by one sort and one sweep, O(n log n).

    Sort by x. Without ties in x, a point is dominated exactly when some earlier point has
    a y no larger than its own: it is on the front when its y lies strictly below the
    running minimum of the earlier y. With ties, points of equal x form a group, and a
    point is on the front when its y is its group's minimum and lies strictly below the
    running minimum of the earlier groups.
    """
    x = points[:, 0].detach().contiguous()  # a gather from a strided column is ~20x slower
    y = points[:, 1].detach().contiguous()
    order = _argsort(x)
    x, y = x.index_select(0, order), y.index_select(0, order)  # much faster than x[order] on CPU
    same_as_previous = x[1:] == x[:-1]
    if not bool(same_as_previous.any()):
        on_front = torch.ones_like(x, dtype=torch.bool)
        on_front[1:] = y[1:] < y.cummin(dim=0).values[:-1]
    else:
        group = torch.cat([x.new_zeros(1, dtype=torch.long), (~same_as_previous).long().cumsum(dim=0)])
        group_min = y.new_full((int(group[-1]) + 1,), math.inf).scatter_reduce(0, group, y, "amin")
        earlier_min = torch.cat([group_min[:1], group_min.cummin(dim=0).values[:-1]])  # entry 0 unused
        on_front = (y == group_min[group]) & ((group == 0) | (y < earlier_min[group]))
    mask = torch.empty_like(on_front)
    mask[order] = on_front
    return mask


def _dominated_by(candidates: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """For each row of ``points``: does some row of ``candidates`` dominate it?"""
    no_worse = (candidates[:, None, :] <= points[None, :, :]).all(dim=-1)
    better = (candidates[:, None, :] < points[None, :, :]).any(dim=-1)
    return (no_worse & better).any(dim=0)


def _front_general(points: torch.Tensor, block: int = 512) -> torch.Tensor:
    """Non-dominated mask in any dimension: lexicographic sort, then blocks against the front.

    A dominating point comes earlier in lexicographic order, and a dominated point is
    dominated by some non-dominated one, so each block of sorted points need only be
    compared with itself and with the front found so far: O(n h K) for a front of h points
    (O(n^2 K) when every point is on the front).
    """
    order = _lexicographic_order(points)
    ordered = points.detach()[order]
    keep = torch.empty(points.shape[0], dtype=torch.bool, device=points.device)
    front = ordered[:0]
    for start in range(0, ordered.shape[0], block):
        chunk = ordered[start : start + block]
        dominated = _dominated_by(chunk, chunk)
        for part in front.split(4 * block):
            dominated |= _dominated_by(part, chunk)
        keep[start : start + block] = ~dominated
        front = torch.cat([front, chunk[~dominated]])
    mask = torch.empty_like(keep)
    mask[order] = keep
    return mask


def pareto_front(points) -> torch.Tensor:
    r"""Boolean mask of the Pareto-optimal (non-dominated) rows, every objective minimised.

    Row :math:`p` is dominated when another row :math:`q` is no worse in every objective
    and strictly better in at least one:

    .. math::

        q \prec p \iff q_k \le p_k \ \forall k \ \text{and}\ q_k < p_k \ \text{for some}\ k,
        \qquad \text{mask}_p = \nexists\, q \prec p .

    Ties and duplicates: equal rows do not dominate each other, so every copy of a
    non-dominated point is on the front (mask True for each), and a row that ties another
    in one objective and is worse in the other is dominated. ``inf`` is an ordinary (worst
    or best) value. To maximise an objective, negate its column.

    Algorithm: in 2-D one lexicographic sort and a sweep, :math:`O(n \log n)`; in one
    dimension the rows equal to the minimum; for :math:`K \ge 3` a lexicographic sort and
    a comparison of each block of rows with the front found so far, :math:`O(n h K)` for
    a front of :math:`h` points. (Kung, Luccio and Preparata 1975 give
    :math:`O(n \log^{K-2} n)`; the fronts of a book-sized experiment are small.)

    Args:
        points: objective vectors, shape ``(N, K)``, one row per candidate.

    Returns a bool tensor of shape ``(N,)``. NaN: a ``ValueError`` with value checks on;
    with them off a row holding NaN is not on the front and dominates no other row.

    >>> import torch
    >>> pareto_front(torch.tensor([[1.0, 4.0], [2.0, 2.0], [3.0, 3.0], [2.0, 2.0], [4.0, 1.0]]))
    tensor([ True,  True, False,  True,  True])
    """
    points = as_float_tensor(points, "points")
    check_ndim(points, "points", 2)
    check_nonempty(points, "points")
    if _may_hold_nan(points):
        check_not_nan(points, "points")
        has_nan = torch.isnan(points).any(dim=1)
        if bool(has_nan.any()):  # reached with value checks off
            mask = torch.zeros(points.shape[0], dtype=torch.bool, device=points.device)
            if not bool(has_nan.all()):
                mask[~has_nan] = pareto_front(points[~has_nan])
            return mask
    if points.shape[1] == 1:
        return points[:, 0] == points[:, 0].min()
    if points.shape[1] == 2:
        return _front_2d(points)
    return _front_general(points)


def hypervolume(points, reference) -> torch.Tensor:
    r"""Area dominated by a set of 2-D points and bounded by a reference point (minimisation).

    .. math::

        \mathrm{HV}(P; r) = \operatorname{area} \bigcup_{p \in P} [p_1, r_1] \times [p_2, r_2]
        = \sum_{i=1}^{h} (x_{i+1} - x_i)(r_2 - y_i),

    where :math:`(x_i, y_i)` are the non-dominated points that are strictly better than
    :math:`r` in both objectives, sorted by :math:`x` (so :math:`y` decreases), and
    :math:`x_{h+1} = r_1`. Points not strictly better than the reference add nothing. The
    larger the hypervolume the better the front; it grows when any point improves and is
    the quality indicator of Zitzler and Thiele (1999).

    Args:
        points: shape ``(N, 2)``.
        reference: shape ``(2,)``, worse than every point of interest in both objectives.

    Returns a 0-dim tensor (in the promoted dtype of the two arguments), differentiable in
    both (piecewise linear: which points are on the front is a constant). NaN: a
    ``ValueError`` with value checks on; with them off the result is NaN.

    >>> import torch
    >>> float(hypervolume(torch.tensor([[1.0, 3.0], [2.0, 1.0], [3.0, 2.0]]), torch.tensor([4.0, 4.0])))
    7.0
    """
    points = as_float_tensor(points, "points")
    check_ndim(points, "points", 2)
    check_nonempty(points, "points")
    if points.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2): hypervolume is computed in 2-D, got {tuple(points.shape)}")
    reference = as_float_tensor(reference, "reference", like=points)
    if reference.shape != (2,):
        raise ValueError(f"reference must have shape (2,), got {tuple(reference.shape)}")
    points, reference = promote_floats(points, reference)
    if _may_hold_nan(points) or _may_hold_nan(reference):
        check_not_nan(points, "points")
        check_not_nan(reference, "reference")
        if bool(torch.isnan(points).any() or torch.isnan(reference).any()):  # value checks off
            return (points.sum() + reference.sum()) * math.nan
    inside = points[(points[:, 0] < reference[0]) & (points[:, 1] < reference[1])]
    if inside.shape[0] == 0:
        return points[:0].sum() + reference[:0].sum()  # zero, still attached to both inputs
    front = inside[_front_2d(inside)]
    front = front[_argsort(front[:, 0])]  # x increasing, y decreasing (copies sit together)
    x, y = front.unbind(dim=1)
    widths = torch.cat([x[1:], reference[:1]]) - x
    return (widths * (reference[1] - y)).sum()
