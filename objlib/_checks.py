"""Input checks shared by every objective in objlib.

Two kinds of check live here:

* **Structural checks** (types, shapes, ``reduction``, hyper-parameter ranges) look only at
  metadata or Python scalars. They are always on: they cost nothing and catch the bugs that
  otherwise turn into silent broadcasting.
* **Value checks** (labels in their domain, probabilities that sum to one, non-negative
  weights) read the data, which costs a pass over the tensor and, on a GPU, a device sync.
  They are on by default and can be switched off for speed with :func:`set_value_checks`
  or the :func:`value_checks` context manager, or for a whole process with the environment
  variable ``OBJLIB_VALUE_CHECKS=0``.

Every error names the argument and says what was expected.
"""

from __future__ import annotations

import contextlib
import numbers
import os
from collections.abc import Iterator, Sequence

import torch

REDUCTIONS = ("mean", "sum", "none")

_value_checks_enabled = os.environ.get("OBJLIB_VALUE_CHECKS", "1").strip().lower() not in {
    "0",
    "false",
    "off",
    "no",
}


def set_value_checks(enabled: bool) -> bool:
    """Turn the data-reading input checks on or off for the whole process.

    Returns the previous setting, so a caller can restore it. Structural checks (shapes,
    ``reduction``, hyper-parameters) stay on regardless.
    """
    global _value_checks_enabled
    previous = _value_checks_enabled
    _value_checks_enabled = bool(enabled)
    return previous


def value_checks_enabled() -> bool:
    """Whether the data-reading input checks are currently on."""
    return _value_checks_enabled


@contextlib.contextmanager
def value_checks(enabled: bool) -> Iterator[None]:
    """Context manager that sets the value checks for a block and restores them after.

    >>> import objlib, torch
    >>> with objlib.value_checks(False):
    ...     pass  # objectives called here skip the label and probability checks
    """
    previous = set_value_checks(enabled)
    try:
        yield
    finally:
        set_value_checks(previous)


# ---------------------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------------------


def as_tensor(x, name: str, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Convert a tensor, NumPy array, Python number or (nested) sequence to a tensor.

    Tensors keep their device and autograd history; anything else goes through
    ``torch.as_tensor``. Strings, ``None`` and objects that are not numeric raise ``TypeError``.
    """
    if isinstance(x, torch.Tensor):
        t = x
    else:
        if x is None or isinstance(x, (str, bytes)):
            raise TypeError(f"{name} must be a tensor, array or sequence of numbers, got {type(x).__name__}")
        try:
            t = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{name} must be a tensor, array or sequence of numbers, got {type(x).__name__} ({err})"
            ) from None
    if t.dtype == torch.bool and dtype is None:
        return t
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    return t


def as_float_tensor(x, name: str, *, like: torch.Tensor | None = None) -> torch.Tensor:
    """Like :func:`as_tensor`, but the result is floating point.

    Integer and boolean inputs become ``like``'s dtype when given, else torch's default
    float dtype; floating tensors keep their dtype (float64 stays float64).
    """
    t = as_tensor(x, name)
    if t.is_complex():
        raise TypeError(f"{name} must be real-valued, got a complex tensor")
    if not t.is_floating_point():
        target = like.dtype if like is not None and like.is_floating_point() else torch.get_default_dtype()
        t = t.to(target)
    if like is not None and t.device != like.device:
        raise ValueError(f"{name} is on {t.device} but the other inputs are on {like.device}")
    return t


def as_index_tensor(x, name: str) -> torch.Tensor:
    """Convert class indices or tags to an int64 tensor; floats must hold whole numbers."""
    t = as_tensor(x, name)
    if t.is_floating_point():
        if _value_checks_enabled and t.numel() and not torch.equal(t, t.round()):
            raise ValueError(f"{name} must hold integer class indices, got non-integer values")
        t = t.long()
    elif t.dtype == torch.bool:
        t = t.long()
    elif t.dtype != torch.long:
        t = t.long()
    return t


# ---------------------------------------------------------------------------------------
# structural checks (always on)
# ---------------------------------------------------------------------------------------


def check_reduction(reduction: str) -> None:
    """``reduction`` must be one of ``"mean"``, ``"sum"``, ``"none"``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """Apply ``reduction`` over every element of a per-example loss."""
    check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def check_same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Refuse tensors of different shapes instead of broadcasting them."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape (no broadcasting), "
            f"got {name_a}: {tuple(a.shape)} and {name_b}: {tuple(b.shape)}"
        )


def check_ndim(x: torch.Tensor, name: str, ndim: int | Sequence[int]) -> None:
    """``x`` must have ``ndim`` dimensions (or one of several allowed counts)."""
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if x.dim() not in allowed:
        want = " or ".join(str(d) for d in allowed)
        raise ValueError(f"{name} must have {want} dimension(s), got shape {tuple(x.shape)}")


def check_nonempty(x: torch.Tensor, name: str) -> None:
    """An empty batch has no mean loss: refuse it rather than return NaN."""
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): an objective needs at least one example")


def check_scalar(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Check a hyper-parameter is a real number inside an interval; return it as float.

    ``check_scalar(tau, "tau", low=0, high=1, low_inclusive=False, high_inclusive=False)``
    accepts exactly the open interval (0, 1).
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a single number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if value != value:
        raise ValueError(f"{name} must be a number, got NaN")
    left = "[" if low_inclusive else "("
    right = "]" if high_inclusive else ")"
    interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
    if low is not None and (value < low or (value == low and not low_inclusive)):
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return value


def check_int(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Check a count or size (``n``, ``k``, ``n_bins``) is an integer in ``[low, high]``; return it.

    A one-element integer tensor is accepted; floats and booleans are refused with ``TypeError``.
    """
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        interval = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return value


# ---------------------------------------------------------------------------------------
# value checks (switchable)
# ---------------------------------------------------------------------------------------


def check_sign_labels(y: torch.Tensor, name: str = "labels") -> None:
    """Binary labels in {-1, +1}."""
    if _value_checks_enabled and not bool(((y == 1) | (y == -1)).all()):
        bad = y[(y != 1) & (y != -1)].flatten()[:3].tolist()
        raise ValueError(f"{name} must be -1 or +1, got values such as {bad}")


def check_unit_interval(x: torch.Tensor, name: str) -> None:
    """Values in [0, 1] (binary targets, probabilities); NaN fails too.

    One reduction pass (``torch.aminmax``), which matters for losses as cheap as binary
    cross-entropy; the slower masked search runs only to name offending values.
    """
    if not _value_checks_enabled or x.numel() == 0:
        return
    lo, hi = torch.aminmax(x.detach())
    if not (float(lo) >= 0.0 and float(hi) <= 1.0):
        bad = x[~((x >= 0) & (x <= 1))].flatten()[:3].tolist()
        raise ValueError(f"{name} must lie in [0, 1], got values such as {bad}")


def check_class_indices(t: torch.Tensor, num_classes: int, name: str = "target") -> None:
    """Integer class indices in [0, num_classes)."""
    if _value_checks_enabled and t.numel() and (int(t.min()) < 0 or int(t.max()) >= num_classes):
        raise ValueError(
            f"{name} must hold class indices in [0, {num_classes}), got values in [{int(t.min())}, {int(t.max())}]"
        )


def check_nonnegative(x: torch.Tensor, name: str) -> None:
    """No negative entries (weights, counts, distributions)."""
    if _value_checks_enabled and bool((x < 0).any()):
        raise ValueError(f"{name} must be non-negative, got a minimum of {float(x.detach().min())}")


def check_finite(x: torch.Tensor, name: str) -> None:
    """No NaN or infinite entries."""
    if _value_checks_enabled and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite, got NaN or inf entries")


def check_probability_vectors(p: torch.Tensor, name: str, *, atol: float | None = None) -> None:
    """Non-negative entries that sum to 1 along the last axis, within a tolerance.

    The default tolerance scales with the dtype: ``1e-4`` in float32, ``1e-8`` in float64,
    times the length of the axis, so that rounding in a softmax is not refused.
    """
    if not _value_checks_enabled:
        return
    p = p.detach()  # reading values must not touch autograd (float() on a grad tensor warns)
    check_nonnegative(p, name)
    if atol is None:
        base = 1e-8 if p.dtype == torch.float64 else 1e-4
        atol = base * max(1, p.shape[-1] if p.dim() else 1)
    total = p.sum(dim=-1)
    worst = float((total - 1).abs().max()) if total.numel() else 0.0
    if worst > atol:
        raise ValueError(f"{name} must sum to 1 along the last axis, got a row sum {worst:.3g} away from 1")
