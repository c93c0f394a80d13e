"""Speed of objlib.self_supervised's contrastive losses against what a user would write.

Forward + backward, N = 1024 embeddings of width D = 128, float32. The peers:

* the plain formulation of each loss, written as a user would: normalise, matmul, divide by
  the temperature (or multiply by the scale), mask the diagonal where the loss needs it,
  ``F.cross_entropy``;
* ``pytorch_metric_learning.losses.NTXentLoss`` for ``nt_xent`` (a test-only reference;
  ``tests/test_self_supervised.py`` shows the two agree), at N = 128: it builds a matrix of
  every positive pair against every negative pair, (2N) x (2N)(2N - 2) entries, which at
  N = 1024 is a 34 GB allocation (it fails with "can't allocate memory").

objlib's time includes its input checks (shapes, finite values).

The two-process loss cannot be timed by the single-process harness. Run this file as a
script, ``python benchmarks/bench_self_supervised.py``, for the forward + backward time of
each loss in 2 gloo processes of N / 2 rows each (one thread each, the gathered form)
against one process of N rows with 1 and with 2 threads.
"""

from __future__ import annotations

import statistics
import sys

import torch
import torch.nn.functional as F
from harness import Case

from objlib import _distributed_workers as workers
from objlib.self_supervised import clip_loss, info_nce, nt_xent

N, D = 1024, 128
PML_N = 128


def _pair(seed, n=N):
    def make():
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, D, generator=g).requires_grad_(), torch.randn(n, D, generator=g).requires_grad_()

    return make


def _clip_inputs():
    a, b = _pair(2)()
    return a, b, torch.tensor(1 / 0.07).requires_grad_()


def plain_info_nce(q, p, temperature=0.1):
    logits = F.normalize(q, dim=1) @ F.normalize(p, dim=1).T / temperature
    return F.cross_entropy(logits, torch.arange(len(q)))


def plain_nt_xent(z1, z2, temperature=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    similarity = (z @ z.T / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    return F.cross_entropy(similarity, torch.cat([torch.arange(n, 2 * n), torch.arange(n)]))


def plain_clip(images, texts, scale):
    logits = scale * F.normalize(images, dim=1) @ F.normalize(texts, dim=1).T
    labels = torch.arange(len(images))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def _pml_nt_xent():
    from pytorch_metric_learning.losses import NTXentLoss

    loss = NTXentLoss(temperature=0.5)
    labels = torch.cat([torch.arange(PML_N), torch.arange(PML_N)])
    return lambda z1, z2: loss(torch.cat([z1, z2]), labels)


CASES = [
    Case(
        f"self_supervised.info_nce in-batch fwd+bwd {N}x{D}",
        _pair(0),
        lambda q, p: info_nce(q, p, temperature=0.1),
        plain_info_nce,
        "normalise, matmul, F.cross_entropy",
        target=1.1,
    ),
    Case(
        f"self_supervised.nt_xent fwd+bwd {N}x{D}",
        _pair(1),
        nt_xent,
        plain_nt_xent,
        "normalise, matmul, mask, F.cross_entropy",
        target=1.1,
    ),
    Case(
        f"self_supervised.nt_xent vs pytorch-metric-learning {PML_N}x{D}",
        _pair(1, PML_N),
        nt_xent,
        _pml_nt_xent(),
        "pml.losses.NTXentLoss",
        target=1.0,
    ),
    Case(
        f"self_supervised.clip_loss fwd+bwd {N}x{D}",
        _clip_inputs,
        lambda a, b, s: clip_loss(a, b, logit_scale=s),
        plain_clip,
        "normalise, matmul, 2 x F.cross_entropy",
        target=1.1,
    ),
]


# ---------------------------------------------------------------------------------------
# two processes against one (run as a script)
# ---------------------------------------------------------------------------------------


def time_two_processes(loss_name: str, rounds: int = 21) -> dict:
    """Median milliseconds of forward + backward: 2 gloo processes of N/2 rows vs one of N."""
    per_rank = workers.run_processes(workers.timed_loss_steps, loss_name, N, D, rounds, world_size=2)
    slowest = [max(times) for times in zip(*per_rank, strict=True)]  # a step ends when both ranks finish
    result = {"2 processes": 1e3 * statistics.median(slowest)}
    threads = torch.get_num_threads()
    for count in (1, 2):
        torch.set_num_threads(count)
        single = workers.timed_loss_steps(0, 1, loss_name, N, D, rounds)
        result[f"1 process, {count} thread(s)"] = 1e3 * statistics.median(single)
    torch.set_num_threads(threads)
    return result


def main() -> int:
    print(f"forward + backward on N = {N} rows of D = {D} in total (float32), median of rounds, ms")
    for loss_name in workers.LOSSES:
        times = time_two_processes(loss_name)
        print(f"{loss_name:<10} " + "   ".join(f"{k}: {v:.2f}" for k, v in times.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
