"""The shared input checks every objective uses, and objlib's core helpers."""

import numpy as np
import pytest
import torch

import objlib
from objlib import _checks as C


def test_version_and_seed_everything_reproduce_all_generators():
    assert isinstance(objlib.__version__, str) and objlib.__version__.count(".") == 2
    import random

    def draw():
        return random.random(), float(np.random.rand()), float(torch.rand(()))  # noqa: NPY002

    objlib.seed_everything(123)
    first = draw()
    objlib.seed_everything(123)
    assert draw() == first
    objlib.seed_everything(124)
    assert draw() != first
    gen = objlib.seed_everything(5)
    assert isinstance(gen, torch.Generator) and gen.initial_seed() == 5


@pytest.mark.parametrize("bad", [1.5, "3", None, True])
def test_seed_everything_refuses_non_integers(bad):
    with pytest.raises(TypeError, match="seed"):
        objlib.seed_everything(bad)


def test_submodules_load_lazily_and_unknown_names_fail():
    assert "plotting" in dir(objlib)
    with pytest.raises(AttributeError, match="no_such_thing"):
        objlib.no_such_thing  # noqa: B018


def test_as_tensor_accepts_arrays_and_sequences_and_keeps_tensors():
    t = torch.ones(3, requires_grad=True)
    assert C.as_tensor(t, "x") is t
    assert torch.equal(C.as_tensor(np.arange(3), "x"), torch.arange(3))
    assert C.as_float_tensor([1, 2], "x").dtype == torch.get_default_dtype()
    assert C.as_float_tensor(np.zeros(2), "x").dtype == torch.float64  # NumPy's float64 is kept
    assert C.as_float_tensor([1, 2], "x", like=torch.zeros(1, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.parametrize("bad", ["abc", None, object(), [[1, 2], [3]]])
def test_as_tensor_refuses_non_numeric_input_naming_the_argument(bad):
    with pytest.raises(TypeError, match="pred"):
        C.as_tensor(bad, "pred")


def test_complex_input_is_refused():
    with pytest.raises(TypeError, match="scores"):
        C.as_float_tensor(torch.zeros(2, dtype=torch.complex64), "scores")


def test_index_tensor_refuses_fractional_values():
    assert C.as_index_tensor([0.0, 2.0], "target").dtype == torch.long
    with pytest.raises(ValueError, match="target"):
        C.as_index_tensor([0.5, 1.0], "target")


def test_shapes_are_never_broadcast():
    C.check_same_shape(torch.zeros(3), torch.zeros(3), "pred", "target")
    with pytest.raises(ValueError, match=r"pred: \(3, 1\) and target: \(3,\)"):
        C.check_same_shape(torch.zeros(3, 1), torch.zeros(3), "pred", "target")


def test_ndim_and_empty_batch():
    C.check_ndim(torch.zeros(2, 3), "logits", (1, 2))
    with pytest.raises(ValueError, match="logits must have 2 dimension"):
        C.check_ndim(torch.zeros(2), "logits", 2)
    with pytest.raises(ValueError, match="pred is empty"):
        C.check_nonempty(torch.zeros(0, 3), "pred")


def test_reduction():
    loss = torch.tensor([1.0, 2.0, 3.0])
    assert C.reduce(loss, "mean") == 2.0
    assert C.reduce(loss, "sum") == 6.0
    assert C.reduce(loss, "none") is loss
    with pytest.raises(ValueError, match="reduction must be one of"):
        C.reduce(loss, "batchmean")


def test_scalar_ranges_name_the_argument_and_interval():
    assert C.check_scalar(0.3, "tau", low=0, high=1, low_inclusive=False, high_inclusive=False) == 0.3
    assert C.check_scalar(torch.tensor(2.0), "gamma", low=0) == 2.0
    for value in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match=r"tau must lie in \(0, 1\)"):
            C.check_scalar(value, "tau", low=0, high=1, low_inclusive=False, high_inclusive=False)
    with pytest.raises(ValueError, match="gamma must be a number"):
        C.check_scalar(float("nan"), "gamma", low=0)
    with pytest.raises(TypeError, match="delta"):
        C.check_scalar("1", "delta", low=0)
    with pytest.raises(TypeError, match="delta"):
        C.check_scalar(True, "delta", low=0)
    with pytest.raises(ValueError, match="alpha must be a single number"):
        C.check_scalar(torch.ones(2), "alpha")


def test_label_and_probability_domains():
    C.check_sign_labels(torch.tensor([1, -1, 1]), "labels")
    with pytest.raises(ValueError, match=r"labels must be -1 or \+1"):
        C.check_sign_labels(torch.tensor([1, 0, 1]), "labels")
    C.check_unit_interval(torch.tensor([0.0, 0.5, 1.0]), "targets")
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        C.check_unit_interval(torch.tensor([0.0, 1.5]), "targets")
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        C.check_unit_interval(torch.tensor([float("nan")]), "targets")
    C.check_class_indices(torch.tensor([0, 4]), 5, "target")
    with pytest.raises(ValueError, match=r"target must hold class indices in \[0, 5\)"):
        C.check_class_indices(torch.tensor([0, 5]), 5, "target")
    with pytest.raises(ValueError, match="weights must be non-negative"):
        C.check_nonnegative(torch.tensor([1.0, -2.0]), "weights")
    with pytest.raises(ValueError, match="cost must be finite"):
        C.check_finite(torch.tensor([1.0, float("inf")]), "cost")


def test_probability_vectors_sum_to_one_within_a_dtype_aware_tolerance():
    p = torch.softmax(torch.randn(4, 1000), dim=-1)  # float32 rounding must pass
    C.check_probability_vectors(p, "p")
    with pytest.raises(ValueError, match="p must sum to 1"):
        C.check_probability_vectors(torch.tensor([[0.5, 0.4]]), "p")
    with pytest.raises(ValueError, match="q must be non-negative"):
        C.check_probability_vectors(torch.tensor([[1.5, -0.5]]), "q")


def test_value_checks_switch_off_and_restore():
    bad = torch.tensor([0, 2])
    assert objlib.value_checks_enabled()
    with objlib.value_checks(False):
        assert not objlib.value_checks_enabled()
        C.check_sign_labels(bad, "labels")  # skipped: no error
    assert objlib.value_checks_enabled()
    with pytest.raises(ValueError):
        C.check_sign_labels(bad, "labels")
    # Structural checks stay on even with value checks off.
    with objlib.value_checks(False), pytest.raises(ValueError, match="reduction"):
        C.check_reduction("avg")


def test_value_checks_env_switch(monkeypatch):
    import subprocess
    import sys

    code = "import objlib; print(objlib.value_checks_enabled())"
    env = {"OBJLIB_VALUE_CHECKS": "0", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plotting_style_applies_palette():
    import matplotlib as mpl

    objlib.plotting.use_book_style()
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][0] == objlib.plotting.PALETTE[0]
    assert objlib.plotting.book_color(len(objlib.plotting.PALETTE)) == objlib.plotting.PALETTE[0]


def test_integer_counts():
    assert C.check_int(3, "k", low=1) == 3
    assert C.check_int(torch.tensor(4), "n", low=0) == 4
    with pytest.raises(TypeError, match="n_bins must be an int"):
        C.check_int(2.0, "n_bins", low=1)
    with pytest.raises(TypeError, match="k must be an int"):
        C.check_int(True, "k", low=1)
    with pytest.raises(ValueError, match=r"k must lie in \[1, 5\], got 6"):
        C.check_int(6, "k", low=1, high=5)
    with pytest.raises(ValueError, match=r"n must lie in \[0, inf\], got -1"):
        C.check_int(-1, "n", low=0)


def test_raise_on_nan_names_the_input_that_made_the_result_nan():
    pred, target = torch.tensor([1.0, float("nan")]), torch.tensor([0.0, 1.0])
    out = (pred - target).square().mean()
    with pytest.raises(ValueError, match="pred must not contain NaN"):
        C.raise_on_nan(out, pred=pred, target=target)
    inf_pred = torch.tensor([float("inf"), 0.0])
    with pytest.raises(ValueError, match="pred must be finite here"):
        C.raise_on_nan(inf_pred - inf_pred, pred=inf_pred, target=target)
    finite = torch.tensor(1.0)
    assert C.raise_on_nan(finite, pred=pred) is finite  # a finite result reads no input
    with objlib.value_checks(False):
        assert torch.isnan(C.raise_on_nan(out, pred=pred, target=target))  # NaN stays NaN


def test_nan_fails_every_value_check():
    nan = torch.tensor([0.5, float("nan")])
    with pytest.raises(ValueError, match="weights must be non-negative, got NaN"):
        C.check_nonnegative(nan, "weights")
    with pytest.raises(ValueError, match="p must sum to 1"):
        C.check_sums_to_one(nan, "p")
    with pytest.raises(ValueError, match="scores must not contain NaN"):
        C.check_not_nan(nan, "scores")
    C.check_not_nan(torch.tensor([-float("inf"), 1.0]), "logits")  # an infinite logit is allowed


def test_sum_to_one_tolerance_grows_like_rounding():
    small, large = C.sum_to_one_tolerance(torch.float32, 10), C.sum_to_one_tolerance(torch.float32, 10**6)
    assert 1e-4 <= small < large < 2.5e-4  # a square root of the length, not the length
    assert C.sum_to_one_tolerance(torch.float64, 10**6) < 1e-7
    assert C.sum_to_one_tolerance(torch.bfloat16, 10) < 0.05  # a sum of 1.1 fails even in bfloat16


def test_promote_floats_and_complex_refusal():
    a, b = C.promote_floats(torch.zeros(2), torch.zeros(2, dtype=torch.float64))
    assert a.dtype == b.dtype == torch.float64
    with pytest.raises(TypeError, match="labels must be real-valued"):
        C.as_tensor(torch.zeros(2, dtype=torch.complex64), "labels")


def test_convergence_warning_is_a_user_warning():
    assert issubclass(C.ConvergenceWarning, UserWarning)
