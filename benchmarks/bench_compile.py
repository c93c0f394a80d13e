"""Compiled against eager: ``torch.compile(fn, fullgraph=True)`` of objlib's composite losses,
where fusing elementwise passes should pay, against the same function run eagerly; both with
value checks off (the checks read data and do not compile), forward + backward.

* ``focal`` (a hand-fused autograd function already), label-smoothed ``cross_entropy`` and
  ``log_cosh`` on the inputs of ``bench_losses.py``;
* ten iterations of Sinkhorn's log-domain update (``_iterate_logsumexp``, the loop objlib runs
  on GPUs), 400 x 400, forward only: compiled, each log-sum-exp of ``log K + u`` is a fused
  reduction that never materialises the matrix.

The first call compiles (tens of seconds on 2 cores); it happens in the warm-up rounds. There is
no target: the ratios tell whether compiling is worth it for a reader's training step.
"""

from __future__ import annotations

import torch
from bench_losses import _binary_inputs, _ce_inputs, _regression_inputs
from harness import Case

import objlib
from objlib import classification as C
from objlib import regression as R
from objlib.divergences import _iterate_logsumexp

SINKHORN_STEPS = 10


def _checks_off(fn):
    def call(*args):
        with objlib.value_checks(False):
            return fn(*args)

    return call


def _compiled(fn):
    compiled = torch.compile(fn, fullgraph=True, dynamic=False)
    return _checks_off(compiled)


def _smoothed_ce(z, y):
    return C.cross_entropy(z, y, label_smoothing=0.1)


def _sinkhorn_inputs():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(400, 2, generator=g), torch.rand(400, 2, generator=g)
    cost = torch.cdist(x, y) ** 2
    log_kernel = -(cost / cost.max()) / 0.01
    log_w = torch.full((400,), -torch.log(torch.tensor(400.0)))
    return log_kernel, log_w, log_w, log_w.exp(), log_w.exp(), torch.zeros(400), torch.zeros(400)


def _sinkhorn_steps(log_kernel, log_a, log_b, a, b, u, v):
    return _iterate_logsumexp(log_kernel, log_a, log_b, a, b, u, v, SINKHORN_STEPS, 0.0, 1.0)[:2]


CASES = [
    Case("compiled/eager: classification.focal 1e6", _binary_inputs, _compiled(C.focal), _checks_off(C.focal), "eager"),
    Case(
        "compiled/eager: cross_entropy smoothing=0.1 4096x1000",
        _ce_inputs,
        _compiled(_smoothed_ce),
        _checks_off(_smoothed_ce),
        "eager",
    ),
    Case(
        "compiled/eager: regression.log_cosh 1e6",
        _regression_inputs,
        _compiled(R.log_cosh),
        _checks_off(R.log_cosh),
        "eager",
    ),
    Case(
        f"compiled/eager: sinkhorn {SINKHORN_STEPS} log-domain steps 400x400",
        _sinkhorn_inputs,
        _compiled(_sinkhorn_steps),
        _checks_off(_sinkhorn_steps),
        "eager",
        backward=False,
        rounds=11,
    ),
]
