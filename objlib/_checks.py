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

The contract's policies, as helpers every module uses:

* **NaN**: :func:`raise_on_nan` on a computed result (one reduction over the output; the inputs
  are read only when it is NaN) for any objective whose formula carries a NaN through;
  :func:`check_not_nan` for outputs that cannot carry one (a decoded path, a count). With value
  checks off neither reads anything, and formulas must let a NaN reach the output.
* **Sums to one**: :func:`check_sums_to_one` (one pass) and :func:`check_probability_vectors`
  (signs too), with :func:`sum_to_one_tolerance`, which grows with the length only as rounding
  does. Check each input in its own dtype, then :func:`promote_floats`.
* **Mixed dtypes**: :func:`promote_floats`, torch's promotion, after the checks.
* **Iterative solvers**: warn with :class:`ConvergenceWarning` when stopping before ``tol``.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
from collections.abc import Iterator, Sequence
from typing import Any, TypeAlias

import numpy.typing as npt
import torch

REDUCTIONS = ("mean", "sum", "none")

#: What objlib's functions accept as data: a tensor, or anything ``torch.as_tensor`` converts
#: (a NumPy array, a number, a nested sequence of numbers).
TensorLike: TypeAlias = torch.Tensor | npt.ArrayLike

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


def as_tensor(x: Any, name: str, *, dtype: torch.dtype | None = None) -> torch.Tensor:
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
    if t.is_complex():
        raise TypeError(f"{name} must be real-valued, got a complex tensor")
    if t.dtype == torch.bool and dtype is None:
        return t
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    return t


def as_float_tensor(x: Any, name: str, *, like: torch.Tensor | None = None) -> torch.Tensor:
    """Like :func:`as_tensor`, but the result is floating point.

    Integer and boolean inputs become ``like``'s dtype when given, else torch's default
    float dtype; floating tensors keep their dtype (float64 stays float64).
    """
    t = as_tensor(x, name)
    if not t.is_floating_point():
        target = like.dtype if like is not None and like.is_floating_point() else torch.get_default_dtype()
        t = t.to(target)
    if like is not None and t.device != like.device:
        raise ValueError(f"{name} is on {t.device} but the other inputs are on {like.device}")
    return t


def as_index_tensor(x: Any, name: str) -> torch.Tensor:
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
    value: Any,
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


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
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
    """Binary labels in {-1, +1} (NaN fails)."""
    if _value_checks_enabled and not bool(((y == 1) | (y == -1)).all()):
        y = y.detach()
        bad = y[(y != 1) & (y != -1)].flatten()[:3].tolist()
        raise ValueError(f"{name} must be -1 or +1, got values such as {bad}")


def check_unit_interval(x: torch.Tensor, name: str) -> None:
    """Values in [0, 1] (binary targets, probabilities); NaN fails too.

    One reduction pass (``torch.aminmax``), which matters for losses as cheap as binary
    cross-entropy; the slower masked search runs only to name offending values.
    """
    if not _value_checks_enabled or x.numel() == 0:
        return
    x = x.detach()
    lo, hi = torch.aminmax(x)
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
    """No negative entries (weights, counts, distributions); NaN fails too."""
    if _value_checks_enabled and not bool((x >= 0).all()):
        x = x.detach()
        if bool(torch.isnan(x).any()):
            raise ValueError(f"{name} must be non-negative, got NaN entries")
        raise ValueError(f"{name} must be non-negative, got a minimum of {float(x.min())}")


def check_finite(x: torch.Tensor, name: str) -> None:
    """No NaN or infinite entries."""
    if _value_checks_enabled and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite, got NaN or inf entries")


def check_not_nan(x: torch.Tensor, name: str) -> None:
    """No NaN entries; infinities are allowed (a logit of -inf masks a class).

    For data whose output cannot carry a NaN (a decoded path, a count), so that a NaN is
    refused instead of silently decoded; losses use the cheaper :func:`raise_on_nan`.
    """
    if _value_checks_enabled and bool(torch.isnan(x).any()):
        raise ValueError(f"{name} must not contain NaN")


def raise_on_nan(output: torch.Tensor, **inputs: torch.Tensor | None) -> torch.Tensor:
    """The NaN policy for a computed result: a NaN in ``output`` caused by NaN data is an error.

    With value checks on, if ``output`` holds a NaN, the first of ``inputs`` (name=tensor)
    that contains NaN, or else inf, is named in a ``ValueError``. The cost is one reduction
    over ``output`` (a single number for a reduced loss); the inputs are only read when the
    output is NaN. With value checks off, or when no input explains the NaN, ``output`` is
    returned unchanged, so a NaN propagates and is never replaced by a number.

    Use it on any objective whose formula carries a NaN input to its output (every smooth
    loss does): ``return raise_on_nan(loss, pred=pred, target=target)``.
    """
    if not _value_checks_enabled or not bool(torch.isnan(output.detach()).any()):
        return output
    present = {name: x.detach() for name, x in inputs.items() if x is not None and x.is_floating_point()}
    for name, x in present.items():
        if bool(torch.isnan(x).any()):
            raise ValueError(f"{name} must not contain NaN")
    for name, x in present.items():
        if bool(torch.isinf(x).any()):
            raise ValueError(f"{name} must be finite here: its inf entries make the result NaN")
    return output


def sum_to_one_tolerance(dtype: torch.dtype, length: int) -> float:
    r"""How far from 1 a row sum of ``length`` probabilities in ``dtype`` may be.

    A base that covers the rounding of each entry (``1e-8`` in float64, ``1e-4`` in float32,
    four machine epsilons in float16 and bfloat16, whose softmax is off by about one), plus
    :math:`\sqrt{n}\,\epsilon` of the accumulation dtype for the rounding of the sum itself,
    the rate at which rounding errors of a sum grow. So a float32 softmax over a million
    classes passes (its sums are within about ``2e-6`` of 1) and a sum of 1.1 never does.
    """
    base = max(1e-8 if dtype == torch.float64 else 1e-4, 4 * torch.finfo(dtype).eps)
    return base + math.sqrt(max(1, length)) * torch.finfo(_accumulation_dtype(dtype)).eps


def _accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def check_sums_to_one(p: torch.Tensor, name: str, *, atol: float | None = None) -> None:
    """Rows that sum to 1 along the last axis within :func:`sum_to_one_tolerance` (NaN fails).

    One pass over ``p`` (the row sums, accumulated in at least float32). It does not look at
    signs: :func:`check_probability_vectors` adds that.
    """
    if not _value_checks_enabled or p.numel() == 0:
        return
    length = p.shape[-1] if p.dim() else 1
    if atol is None:
        atol = sum_to_one_tolerance(p.dtype, length)
    with torch.no_grad():  # reading values must not touch autograd (float() on a grad tensor warns)
        total = p.sum(dim=-1, dtype=_accumulation_dtype(p.dtype))
        worst = float((total - 1).abs().max())
    if not worst <= atol:  # also true for NaN
        raise ValueError(f"{name} must sum to 1 along the last axis, got a row sum {worst:.3g} away from 1")


def check_probability_vectors(p: torch.Tensor, name: str, *, atol: float | None = None) -> None:
    """Non-negative entries that sum to 1 along the last axis, within a tolerance.

    The default tolerance, :func:`sum_to_one_tolerance`, depends on the dtype and grows with the
    length of the axis only as fast as the rounding of a sum does (a square root), so a
    float32 softmax over many classes passes and a vector that sums to 1.1 never does. NaN
    entries fail.
    """
    if not _value_checks_enabled:
        return
    p = p.detach()
    check_nonnegative(p, name)
    check_sums_to_one(p, name, atol=atol)


def promote_floats(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Cast floating tensors to their common dtype, as torch's type promotion picks it.

    Use it after :func:`as_float_tensor` (and after the value checks, which judge each input
    in its own dtype) so that float32 scores with float64 targets are computed in float64
    instead of failing inside a torch kernel.
    """
    common = tensors[0].dtype
    for t in tensors[1:]:
        common = torch.promote_types(common, t.dtype)
    return tuple(t if t.dtype == common else t.to(common) for t in tensors)


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at its iteration limit before reaching its tolerance.

    The message says what was reached. Silence it with
    ``warnings.simplefilter("ignore", objlib.ConvergenceWarning)``.
    """
