"""The contract's "Policies every module keeps", swept over every objective of the first half.

For each objective of ``tests/objectives.py``:

* NaN in a data argument: a ``ValueError`` naming it with value checks on; with them off a NaN
  in the output (never a plausible number), unless the output cannot carry one.
* With value checks off nothing reads the data: the call runs on the meta device.
* Mixed dtypes are promoted as torch promotes them; integer and bool inputs work.
* Complex input is a ``TypeError`` naming the argument, never a torch kernel's error.
* Probability arguments: the sum-to-one tolerance does not grow with the length.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from objectives import OBJECTIVES, Objective

import objlib
from objlib import _checks

IDS = [o.name for o in OBJECTIVES]


def _poisoned(args: dict, name: str, value: float = math.nan) -> dict:
    x = args[name].clone()
    x.view(-1)[0] = value
    return {**args, name: x}


def _floating_outputs(out) -> list[torch.Tensor]:
    outs = out if isinstance(out, tuple) else (out,)
    return [o for o in outs if isinstance(o, torch.Tensor) and o.is_floating_point()]


def _nan_cases():
    return [(o, name) for o in OBJECTIVES for name in o.data]


@pytest.mark.parametrize(("objective", "name"), _nan_cases(), ids=[f"{o.name}-{n}" for o, n in _nan_cases()])
def test_nan_in_data_is_refused_with_checks_on(objective: Objective, name: str):
    args = _poisoned(objective.args(), name)
    with pytest.raises(ValueError, match=name):
        objective(args)


@pytest.mark.parametrize(("objective", "name"), _nan_cases(), ids=[f"{o.name}-{n}" for o, n in _nan_cases()])
def test_nan_in_data_propagates_with_checks_off(objective: Objective, name: str):
    args = _poisoned(objective.args(), name)
    with objlib.value_checks(False), warnings.catch_warnings():
        warnings.simplefilter("ignore", _checks.ConvergenceWarning)
        out = objective(args)
    if objective.carries_nan:
        outputs = _floating_outputs(out)
        assert outputs and any(bool(torch.isnan(o).any()) for o in outputs), f"a NaN in {name} became {out}"


@pytest.mark.parametrize(
    "objective", [o for o in OBJECTIVES if o.compiles], ids=[o.name for o in OBJECTIVES if o.compiles]
)
def test_nothing_reads_the_data_with_checks_off(objective: Objective):
    # the meta device has shapes and dtypes but no values: any host read raises
    meta = {k: v.to("meta") if isinstance(v, torch.Tensor) else v for k, v in objective.args().items()}
    kwargs = {k: v.to("meta") if isinstance(v, torch.Tensor) else v for k, v in objective.kwargs.items()}
    with objlib.value_checks(False):
        out = objective.fn(*meta.values(), **kwargs)
    assert all(o.device.type == "meta" for o in _floating_outputs(out)) or not objective.carries_nan


@pytest.mark.parametrize("objective", OBJECTIVES, ids=IDS)
def test_mixed_dtypes_are_promoted_as_torch_promotes(objective: Objective):
    args = objective.args()
    first = next(n for n in objective.data if args[n].is_floating_point())
    mixed = {**args, first: args[first].float()}  # float32 against float64 everywhere else
    expected = torch.float32
    for k, v in args.items():
        if k != first and isinstance(v, torch.Tensor) and v.is_floating_point():
            expected = torch.promote_types(expected, v.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _checks.ConvergenceWarning)
        out = objective(mixed)
    for o in _floating_outputs(out):
        assert o.dtype == expected, f"{objective.name}: {o.dtype}, torch would give {expected}"


@pytest.mark.parametrize("objective", OBJECTIVES, ids=IDS)
def test_integer_data_is_accepted_or_refused_by_name(objective: Objective):
    args = objective.args()
    name = objective.data[0]
    if objective.probabilities and name in objective.probabilities:
        return  # integer probabilities would have to be one-hot: covered elsewhere
    integers = {**args, name: args[name].round().long()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _checks.ConvergenceWarning)
            objective(integers)
    except (TypeError, ValueError) as err:
        assert name in str(err)


@pytest.mark.parametrize("objective", OBJECTIVES, ids=IDS)
def test_complex_data_is_a_type_error_naming_the_argument(objective: Objective):
    args = objective.args()
    for name in objective.data:
        complex_args = {**args, name: args[name].to(torch.complex128)}
        with pytest.raises(TypeError, match=name):
            objective(complex_args)


@pytest.mark.parametrize("objective", [o for o in OBJECTIVES if o.grad], ids=[o.name for o in OBJECTIVES if o.grad])
def test_labels_that_require_grad_trigger_no_warning(objective: Objective):
    args = objective.args()
    args = {
        k: v.clone().requires_grad_() if isinstance(v, torch.Tensor) and v.is_floating_point() else v
        for k, v in args.items()
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float() on a tensor that requires grad warns
        objective(args)


PROBABILITY_CASES = [(o, n) for o in OBJECTIVES for n in o.probabilities]


@pytest.mark.parametrize(("objective", "name"), PROBABILITY_CASES, ids=[f"{o.name}-{n}" for o, n in PROBABILITY_CASES])
def test_sum_to_one_tolerance_does_not_grow_with_length(objective: Objective, name: str):
    args = objective.args()
    shape = args[name].shape
    # a vector summing to 1.1 fails at any length
    off = args[name] * 1.1
    with pytest.raises(ValueError, match=f"{name} must sum to 1"):
        objective({**args, name: off})
    del shape


@pytest.mark.parametrize("length", [10, 20_000, 1_000_000])
def test_float32_softmax_passes_and_a_sum_of_1_5_never_does(length):
    p = torch.softmax(10 * torch.randn(2, length), dim=-1)  # float32 rounding of a real softmax
    _checks.check_probability_vectors(p, "p")
    _checks.check_probability_vectors(p.bfloat16(), "p")
    _checks.check_probability_vectors(p.half(), "p")
    for total in (1.5, 1.1, 1.01):
        with pytest.raises(ValueError, match="p must sum to 1"):
            _checks.check_probability_vectors(p * total, "p")
    assert _checks.sum_to_one_tolerance(torch.float32, length) < 1e-3


def test_kl_on_a_long_vector_that_sums_to_1_5_is_refused():
    # the old tolerance, 1e-4 times the length, accepted this and KL was negative
    q = torch.full((20_000,), 1 / 20_000)
    p = torch.full((20_000,), 1.5 / 20_000)
    with pytest.raises(ValueError, match="p must sum to 1"):
        objlib.divergences.kl(p, q)
