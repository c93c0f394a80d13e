"""Regression losses: the objectives of chapter 4 for a real-valued target.

Every function takes a prediction ``pred`` and a target ``target`` of the same shape
(no broadcasting), computes a per-element loss of the residual, and reduces it over every
element with ``reduction="mean"`` (default), ``"sum"`` or ``"none"``.

Where PyTorch has a fused kernel for the same formula (:func:`mse`, :func:`mae`,
:func:`huber`), objlib checks its inputs and then calls that kernel: the docstring gives
the formula and ``tests/test_regression.py`` shows the two agree.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._checks import (
    TensorLike,
    as_float_tensor,
    check_nonempty,
    check_reduction,
    check_same_shape,
    check_scalar,
    promote_floats,
    raise_on_nan,
    reduce,
)

__all__ = ["mse", "mae", "huber", "quantile", "log_cosh"]

_LOG2 = math.log(2.0)


def _pred_target(pred, target, reduction: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Convert ``pred`` and ``target`` to floating tensors of one dtype and check them."""
    check_reduction(reduction)
    pred = as_float_tensor(pred, "pred")
    target = as_float_tensor(target, "target", like=pred)
    check_same_shape(pred, target, "pred", "target")
    check_nonempty(pred, "pred")
    pred, target = promote_floats(pred, target)
    return pred, target


def mse(pred: TensorLike, target: TensorLike, *, reduction: str = "mean") -> torch.Tensor:
    r"""Mean squared error (L2 loss).

    .. math::

        \ell(\hat y, y) = (y - \hat y)^2

    Minimising it is maximum likelihood for a Gaussian noise model
    :math:`y = \hat y + \varepsilon,\ \varepsilon \sim \mathcal N(0, \sigma^2)`; its
    minimiser over a constant is the mean of ``target`` (Gauss 1809; Legendre 1805).

    Args:
        pred: predictions, any shape.
        target: targets, the same shape as ``pred``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all elements.

    Returns the same value as ``torch.nn.functional.mse_loss`` (which it calls after the
    checks), but refuses mismatched shapes instead of broadcasting them.

    >>> float(mse([1.0, 2.0, 4.0], [1.0, 0.0, 1.0]))  # (0 + 4 + 9) / 3
    4.333333492279053
    """
    pred, target = _pred_target(pred, target, reduction)
    return raise_on_nan(F.mse_loss(pred, target, reduction=reduction), pred=pred, target=target)


def mae(pred: TensorLike, target: TensorLike, *, reduction: str = "mean") -> torch.Tensor:
    r"""Mean absolute error (L1 loss).

    .. math::

        \ell(\hat y, y) = |y - \hat y|

    Maximum likelihood for Laplace noise; its minimiser over a constant is the median of
    ``target`` (Laplace 1774), which makes it robust to outliers. At a zero residual the
    gradient is the subgradient 0.

    Args:
        pred: predictions, any shape.
        target: targets, the same shape as ``pred``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all elements.

    Returns the same value as ``torch.nn.functional.l1_loss`` (which it calls after the checks).

    >>> float(mae([1.0, 2.0, 4.0], [1.0, 0.0, 1.0]))  # (0 + 2 + 3) / 3
    1.6666666269302368
    """
    pred, target = _pred_target(pred, target, reduction)
    return raise_on_nan(F.l1_loss(pred, target, reduction=reduction), pred=pred, target=target)


def huber(pred: TensorLike, target: TensorLike, *, delta: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    r"""Huber loss: quadratic for small residuals, linear for large ones.

    .. math::

        \ell_\delta(\hat y, y) =
        \begin{cases}
            \tfrac12 r^2 & |r| \le \delta \\
            \delta\,(|r| - \tfrac12 \delta) & |r| > \delta
        \end{cases}
        \qquad r = y - \hat y

    The gradient is the residual clipped to :math:`[-\delta, \delta]`: like MSE near zero,
    like MAE (scaled by :math:`\delta`) in the tails (Huber 1964).

    Args:
        pred: predictions, any shape.
        target: targets, the same shape as ``pred``.
        delta: the threshold :math:`\delta > 0` between the two regimes.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all elements.

    Returns the same value as ``torch.nn.functional.huber_loss(delta=delta)`` (which it
    calls after the checks).

    >>> float(huber([0.0, 0.0], [0.5, 3.0]))  # (0.5 * 0.25 + (3 - 0.5)) / 2
    1.3125
    """
    delta = check_scalar(delta, "delta", low=0.0, low_inclusive=False)
    pred, target = _pred_target(pred, target, reduction)
    return raise_on_nan(F.huber_loss(pred, target, reduction=reduction, delta=delta), pred=pred, target=target)


def quantile(pred: TensorLike, target: TensorLike, *, tau: float = 0.5, reduction: str = "mean") -> torch.Tensor:
    r"""Quantile (pinball) loss at level :math:`\tau`.

    .. math::

        \rho_\tau(r) = r\,(\tau - \mathbb 1[r < 0]) = \max(\tau r,\ (\tau - 1) r),
        \qquad r = y - \hat y

    Under-prediction costs :math:`\tau` per unit, over-prediction :math:`1 - \tau`, so the
    minimiser over a constant is the :math:`\tau`-quantile of ``target``; ``tau=0.5`` is
    half the absolute error (Koenker and Bassett 1978).

    Args:
        pred: predicted quantiles, any shape.
        target: targets, the same shape as ``pred``.
        tau: the quantile level, in the open interval (0, 1).
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all elements.

    Agrees with ``sklearn.metrics.mean_pinball_loss(target, pred, alpha=tau)``.

    >>> float(quantile([0.0, 0.0], [2.0, -2.0], tau=0.9))  # (0.9 * 2 + 0.1 * 2) / 2
    1.0
    """
    tau = check_scalar(tau, "tau", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    pred, target = _pred_target(pred, target, reduction)
    r = target - pred
    loss = r * (tau - (r < 0).to(r.dtype))
    return raise_on_nan(reduce(loss, reduction), pred=pred, target=target)


def log_cosh(pred: TensorLike, target: TensorLike, *, reduction: str = "mean") -> torch.Tensor:
    r"""Log-cosh loss: a smooth, twice-differentiable stand-in for the absolute error.

    .. math::

        \ell(\hat y, y) = \log\cosh(\hat y - y)
        = \operatorname{logaddexp}(r, -r) - \log 2, \qquad r = \hat y - y

    It behaves like :math:`r^2/2` near zero and like :math:`|r| - \log 2` for large
    :math:`|r|`; its derivative is :math:`\tanh r` and its second derivative
    :math:`\operatorname{sech}^2 r > 0`, so it is smooth everywhere. The right-hand form
    never overflows, unlike ``torch.cosh(r).log()``, which is ``inf`` once
    :math:`|r| > 89` in float32. Its statistical properties as a robust loss are studied by
    Saleh and Saleh (2022, arXiv:2208.04564).

    Args:
        pred: predictions, any shape.
        target: targets, the same shape as ``pred``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all elements.

    >>> round(float(log_cosh([0.0, 100.0], [1.0, 0.0], reduction="none")[0]), 6)  # log cosh 1
    0.433781
    >>> float(log_cosh([0.0], [1000.0]))  # 1000 - log 2, where cosh itself overflows
    999.3068237304688
    """
    pred, target = _pred_target(pred, target, reduction)
    r = pred - target
    loss = torch.logaddexp(r, -r) - _LOG2  # log((e^r + e^-r) / 2), never forms e^|r|
    return raise_on_nan(reduce(loss, reduction), pred=pred, target=target)
