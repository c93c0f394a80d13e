"""Interleaved A/B timing of an objlib objective against the implementation a user would
otherwise call.

Each case times ``ours`` and ``peer`` on the same inputs, alternating A B A B ... in one
process, so that drift in the machine's speed (turbo, other load) hits both alike. The
figure of merit is the median of the per-round ratios ours / peer: below 1 means objlib is
faster. A case may carry a target ratio; ``run.py`` reports a miss and exits non-zero.

``run_case`` can pin torch's intra-op thread count for the case (``threads=1``), restoring it
after: ``run.py`` times every case at one thread and at the default count, because torch's
parallel kernels and the single-threaded peers (NumPy, scipy) react differently to a second
core that another process keeps busy.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


@dataclass
class Case:
    """One comparison.

    ``make_inputs()`` returns a tuple of positional inputs, shared by both sides. When
    ``backward`` is true every floating tensor that requires grad gets its gradient
    cleared before each call, and the call includes ``.backward()`` on the result.
    ``ours`` and ``peer`` must return a scalar tensor (or, with ``backward=False``, anything).
    """

    name: str
    make_inputs: Callable[[], Sequence]
    ours: Callable
    peer: Callable
    peer_name: str
    target: float | None = None
    backward: bool = True
    rounds: int = 21


def _call(fn: Callable, inputs: Sequence, backward: bool) -> float:
    for x in inputs:
        if isinstance(x, torch.Tensor) and x.requires_grad:
            x.grad = None
    start = time.perf_counter()
    out = fn(*inputs)
    if backward:
        out.backward()
    return time.perf_counter() - start


def run_case(case: Case, warmup: int = 3, threads: int | None = None) -> dict:
    """Time one case; return medians in milliseconds and the median ratio.

    ``threads`` sets ``torch.set_num_threads`` for the case (``None``: leave it as it is).
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _timed(case, warmup) | {"threads": torch.get_num_threads()}
    finally:
        torch.set_num_threads(previous)


def _timed(case: Case, warmup: int) -> dict:
    inputs = case.make_inputs()
    for _ in range(warmup):
        _call(case.ours, inputs, case.backward)
        _call(case.peer, inputs, case.backward)
    ours_t, peer_t, ratios = [], [], []
    for i in range(case.rounds):
        # Alternate which side goes first, so neither always runs on a warmer cache.
        if i % 2 == 0:
            a = _call(case.ours, inputs, case.backward)
            b = _call(case.peer, inputs, case.backward)
        else:
            b = _call(case.peer, inputs, case.backward)
            a = _call(case.ours, inputs, case.backward)
        ours_t.append(a)
        peer_t.append(b)
        ratios.append(a / b)
    ratio = statistics.median(ratios)
    return {
        "name": case.name,
        "peer": case.peer_name,
        "ours_ms": 1e3 * statistics.median(ours_t),
        "peer_ms": 1e3 * statistics.median(peer_t),
        "ratio": ratio,
        "target": case.target,
        "ok": case.target is None or ratio <= case.target,
    }
