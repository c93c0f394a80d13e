"""The cost of objlib's value checks: each objective with value checks on against itself with
them off (``objlib.set_value_checks``), forward + backward, on the inputs of the other benches.

The ratio is the whole price of the checks. The target for ``kl`` is the issue's "at most one
fused pass over each input": a row sum of ``p`` and of ``q`` and a look at the result.
"""

from __future__ import annotations

from bench_divergences import _kl_inputs, _kl_logits_inputs
from bench_losses import _binary_inputs, _ce_inputs, _regression_inputs
from harness import Case

import objlib
from objlib import classification as C
from objlib import divergences as D
from objlib import regression as R


def _with_checks(fn, enabled: bool):
    def call(*args):
        with objlib.value_checks(enabled):
            return fn(*args)

    return call


def _case(name, make_inputs, fn, target=None):
    return Case(
        f"checks on/off: {name}",
        make_inputs,
        _with_checks(fn, True),
        _with_checks(fn, False),
        "itself, value checks off",
        target=target,
    )


CASES = [
    _case("divergences.kl 4096x1000 f32", _kl_inputs, D.kl, target=1.25),
    _case("divergences.kl logits 4096x1000 f32", _kl_logits_inputs, lambda p, z: D.kl(p, z, q_form="logits"), 1.25),
    _case("regression.mse 1e6", _regression_inputs, R.mse),
    _case("classification.binary_cross_entropy 1e6", _binary_inputs, C.binary_cross_entropy),
    _case("classification.focal 1e6", _binary_inputs, C.focal),
    _case("classification.cross_entropy 4096x1000", _ce_inputs, C.cross_entropy),
]
