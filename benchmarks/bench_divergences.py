"""Speed of objlib.divergences against the implementations a reader would otherwise call.

* ``kl``: forward + backward against ``F.kl_div(q.log(), p, reduction="batchmean")``, the
  distillation setting (``p`` a fixed teacher, ``q`` the student's softmax, which gets the
  gradient), 4096 x 1000 float32; and the logits form ``kl(p, z, q_form="logits")`` with value
  checks off against ``F.kl_div(F.log_softmax(z, -1), p, reduction="batchmean")``.
* ``distillation_loss``: Hinton et al.'s T^2-scaled loss at T = 4 from student and teacher
  logits, 4096 x 1000 float32, forward + backward, against
  ``T**2 * F.kl_div(F.log_softmax(z / T), F.softmax(v / T), reduction="batchmean")``, with value
  checks off (the target) and on (their cost: two finiteness passes over the logits).
* ``wasserstein_1d``: forward only against ``scipy.stats.wasserstein_distance`` (NumPy, not
  differentiable) on 2e5 float64 samples: equal sizes with uniform weights (the sorted-samples
  formula), and unequal sizes with weights (the general quantile-function merge). scipy runs
  on one thread; ``run.py`` times these at one thread and at the default count.
* ``sliced_wasserstein``: 2000 x 3 against 1500 x 3 points, 100 directions, forward only,
  against ``ot.sliced_wasserstein_distance`` given the same directions.
* ``sinkhorn``: forward only, 400 x 400, against POT's log-domain solver
  ``ot.sinkhorn(a, b, M, reg=eps, method="sinkhorn_log", numItermax=n, stopThr=0)`` given the
  *same torch tensors*, so POT runs on its torch backend (the same kernels as objlib; the fair
  comparison). Both run exactly ``n`` iterations: ``stopThr=0`` and ``tol=0`` never stop early
  (POT still computes its error every 10 iterations, objlib its check every 10 as well).
"""

from __future__ import annotations

import warnings

import numpy as np
import ot
import scipy.stats
import torch
import torch.nn.functional as F
from harness import Case

import objlib
from objlib.divergences import distillation_loss, kl, sinkhorn, sliced_wasserstein, wasserstein_1d

# stopThr=0 makes POT warn "Sinkhorn did not converge" on every call.
warnings.filterwarnings("ignore", message="Sinkhorn did not converge")

SINKHORN_ITERS = 100
SINKHORN_EPS = 0.01


def _kl_inputs():
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(4096, 1000, generator=g), dim=-1)
    q = torch.softmax(torch.randn(4096, 1000, generator=g), dim=-1).requires_grad_()
    return p, q


def _kl_logits_inputs():
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(4096, 1000, generator=g), dim=-1)
    z = torch.randn(4096, 1000, generator=g).requires_grad_()
    return p, z


def _kl_logits_checks_off(p, z):
    with objlib.value_checks(False):
        return kl(p, z, q_form="logits")


def _sliced_inputs():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(2000, 3)), rng.normal(1.0, 2.0, size=(1500, 3))
    directions = rng.normal(size=(100, 3))
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return (x, y, unit.T), tuple(torch.from_numpy(a) for a in (x, y, directions))


def _w1d_equal_inputs():
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=200_000), rng.normal(1.0, 2.0, size=200_000)
    return u, v, torch.from_numpy(u), torch.from_numpy(v)


def _w1d_weighted_inputs():
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=200_000), rng.normal(1.0, 2.0, size=150_000)
    uw, vw = rng.random(200_000), rng.random(150_000)
    return (u, v, uw, vw), tuple(torch.from_numpy(x) for x in (u, v, uw, vw))


def _sinkhorn_inputs(dtype):
    def make():
        g = torch.Generator().manual_seed(0)
        x = torch.rand(400, 2, generator=g, dtype=dtype)
        y = torch.rand(400, 2, generator=g, dtype=dtype)
        cost = torch.cdist(x, y) ** 2
        cost = cost / cost.max()  # costs in [0, 1]
        a = torch.full((400,), 1 / 400, dtype=dtype)
        b = torch.full((400,), 1 / 400, dtype=dtype)
        return a, b, cost

    return make


def _pot_sinkhorn_log(a, b, cost):
    return ot.sinkhorn(a, b, cost, reg=SINKHORN_EPS, method="sinkhorn_log", numItermax=SINKHORN_ITERS, stopThr=0)


def _objlib_sinkhorn(a, b, cost):
    return sinkhorn(a, b, cost, epsilon=SINKHORN_EPS, max_iter=SINKHORN_ITERS, tol=0.0)


DISTILL_T = 4.0


def _distillation_inputs():
    g = torch.Generator().manual_seed(5)
    teacher = torch.randn(4096, 1000, generator=g)
    student = torch.randn(4096, 1000, generator=g).requires_grad_()
    return student, teacher


def _distillation_peer(student, teacher):
    log_q = F.log_softmax(student / DISTILL_T, -1)
    return DISTILL_T**2 * F.kl_div(log_q, F.softmax(teacher / DISTILL_T, -1), reduction="batchmean")


def _distillation_checks_off(student, teacher):
    with objlib.value_checks(False):
        return distillation_loss(student, teacher, temperature=DISTILL_T)


CASES = [
    Case(
        name="divergences.distillation_loss 4096x1000 f32 fwd+bwd, checks off",
        make_inputs=_distillation_inputs,
        ours=_distillation_checks_off,
        peer=_distillation_peer,
        peer_name="T^2 F.kl_div(log_softmax, softmax)",
        target=1.2,
    ),
    Case(
        name="divergences.distillation_loss 4096x1000 f32 fwd+bwd, checks on",
        make_inputs=_distillation_inputs,
        ours=lambda s, t: distillation_loss(s, t, temperature=DISTILL_T),
        peer=_distillation_peer,
        peer_name="T^2 F.kl_div(log_softmax, softmax)",
    ),
    Case(
        name="divergences.kl 4096x1000 f32 fwd+bwd",
        make_inputs=_kl_inputs,
        ours=lambda p, q: kl(p, q),
        peer=lambda p, q: F.kl_div(q.log(), p, reduction="batchmean"),
        peer_name="F.kl_div(batchmean)",
        target=1.2,
    ),
    Case(
        name="divergences.kl logits 4096x1000 f32 fwd+bwd, checks off",
        make_inputs=_kl_logits_inputs,
        ours=_kl_logits_checks_off,
        peer=lambda p, z: F.kl_div(F.log_softmax(z, -1), p, reduction="batchmean"),
        peer_name="F.kl_div(log_softmax, batchmean)",
        target=1.2,
    ),
    Case(
        name="divergences.sliced_wasserstein 2000/1500 x 3, 100 dirs",
        make_inputs=_sliced_inputs,
        ours=lambda numpy_args, torch_args: sliced_wasserstein(torch_args[0], torch_args[1], directions=torch_args[2]),
        peer=lambda numpy_args, torch_args: ot.sliced_wasserstein_distance(
            numpy_args[0], numpy_args[1], projections=numpy_args[2]
        ),
        peer_name="ot.sliced_wasserstein_distance",
        target=1.2,
        backward=False,
    ),
    Case(
        name="divergences.wasserstein_1d 2e5 equal",
        make_inputs=_w1d_equal_inputs,
        ours=lambda u, v, ut, vt: wasserstein_1d(ut, vt),
        peer=lambda u, v, ut, vt: scipy.stats.wasserstein_distance(u, v),
        peer_name="scipy.stats.wasserstein_distance",
        target=1.2,
        backward=False,
    ),
    Case(
        name="divergences.wasserstein_1d 2e5/1.5e5 weighted",
        make_inputs=_w1d_weighted_inputs,
        ours=lambda numpy_args, torch_args: wasserstein_1d(*torch_args),
        peer=lambda numpy_args, torch_args: scipy.stats.wasserstein_distance(*numpy_args),
        peer_name="scipy.stats.wasserstein_distance",
        target=1.2,
        backward=False,
    ),
] + [
    Case(
        name=f"divergences.sinkhorn 400x400 {label} {SINKHORN_ITERS} it",
        make_inputs=_sinkhorn_inputs(dtype),
        ours=_objlib_sinkhorn,
        peer=_pot_sinkhorn_log,
        peer_name="ot.sinkhorn(sinkhorn_log, torch)",
        target=0.5,
        backward=False,
        rounds=11,
    )
    for label, dtype in (("f64", torch.float64), ("f32", torch.float32))
]
