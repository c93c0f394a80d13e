"""Shared test settings: float64 references, deterministic hypothesis runs."""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

# Same examples on every run and machine: a red CI run can be reproduced exactly.
settings.register_profile(
    "objlib",
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "objlib"))


@pytest.fixture(autouse=True)
def _seed_and_restore_checks():
    """Every test starts from seed 0 with value checks on."""
    import objlib

    objlib.seed_everything(0)
    previous = objlib.set_value_checks(True)
    yield
    objlib.set_value_checks(previous)


@pytest.fixture
def f64():
    """torch dtype used for comparisons against references."""
    return torch.float64
