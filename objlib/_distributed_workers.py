"""Run objlib's contrastive losses in several processes on one machine (gloo, CPU).

Private helpers for ``tests/test_self_supervised.py``, chapter 7 and
``benchmarks/bench_self_supervised.py``. They live in an importable module because
processes started with ``spawn`` (the only start method that is safe once torch has run
threads) receive their function by name: a function defined in a notebook or a test file
cannot be sent to them.

:func:`run_processes` starts ``world_size`` fresh Python processes, joins them in one gloo
process group through a rendezvous file in a private temporary directory (no network port,
so runs in parallel never collide), calls ``worker(rank, world_size, *args)`` in each, and
returns what each rank's call returned. A worker that raises makes ``run_processes`` raise;
a collective that waits for a rank that never comes fails after ``timeout`` seconds.
"""

from __future__ import annotations

import datetime
import pathlib
import tempfile
import time
from collections.abc import Callable

import torch
import torch.nn as nn

from . import self_supervised

LOSSES = {
    "info_nce": self_supervised.info_nce,
    "nt_xent": self_supervised.nt_xent,
    "clip_loss": self_supervised.clip_loss,
}


def run_processes(
    worker: Callable, *args, world_size: int = 2, timeout: float = 120.0, start_method: str = "spawn"
) -> list:
    """``[worker(rank, world_size, *args) for rank in range(world_size)]``, one process per rank.

    ``worker`` must be importable (a module-level function of an installed module) and its
    arguments and result picklable. Each process uses one thread. ``start_method="fork"``
    (Linux) skips each process's import of torch, which takes seconds; it is safe only while
    the calling process has not started CUDA or a pool of compute threads (call
    ``torch.set_num_threads(1)`` before any computation, as the chapters do).
    """
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory(prefix="objlib-dist-") as tmp:
        folder = pathlib.Path(tmp)
        init_method = (folder / "rendezvous").as_uri()  # file:///...: a file, not a port
        mp.start_processes(
            _entry,
            args=(worker, world_size, init_method, str(folder), args, timeout),
            nprocs=world_size,
            join=True,
            start_method=start_method,
        )
        return [torch.load(folder / f"rank{rank}.pt", weights_only=False) for rank in range(world_size)]


def _entry(rank: int, worker: Callable, world_size: int, init_method: str, folder: str, args: tuple, timeout: float):
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=init_method,
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=timeout),
    )
    try:
        result = worker(rank, world_size, *args)
        torch.save(result, pathlib.Path(folder) / f"rank{rank}.pt")
        dist.barrier()  # no rank leaves while another may still be receiving from it
    finally:
        dist.destroy_process_group()


def _shard(x: torch.Tensor, rank: int, world_size: int, sizes: list[int] | None = None) -> torch.Tensor:
    """This rank's share of a batch along the first axis: equal shares, or ``sizes[rank]`` rows."""
    parts = x.detach().chunk(world_size) if sizes is None else x.detach().split(sizes)
    return parts[rank].clone()


# ---------------------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------------------


def losses_and_gradients(rank: int, world_size: int, cases: list[tuple]) -> list[dict]:
    """One rank's loss on its shard of each case's batch, and the gradients of its inputs.

    Each case is ``(loss_name, batch, shared)`` or ``(loss_name, batch, shared, sizes)``:
    ``batch`` holds full-batch tensors, split along axis 0 into equal shares or into
    ``sizes[rank]`` rows per rank; ``shared`` holds the arguments every rank passes whole (a
    negative queue, ``logit_scale``, ``temperature``). Returns, per case, the rank's loss,
    the gradient of every tensor input that requires grad and the number of warnings the
    call raised, or the message of the ``ValueError`` it raised.
    """
    import warnings

    import torch.distributed as dist

    results = []
    for loss_name, batch, shared, *sizes in cases:
        split = sizes[0] if sizes else None
        local = {k: _shard(v, rank, world_size, split).requires_grad_(v.requires_grad) for k, v in batch.items()}
        whole = {k: _copy(v) for k, v in shared.items()}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                loss = LOSSES[loss_name](**local, **whole, group=dist.group.WORLD)
            except ValueError as err:
                results.append({"error": str(err)})
                continue
            loss.backward()
        inputs = {k: v for k, v in {**local, **whole}.items() if isinstance(v, torch.Tensor) and v.requires_grad}
        results.append(
            {"loss": loss.detach(), "grads": {k: v.grad for k, v in inputs.items()}, "warnings": len(caught)}
        )
    return results


def _copy(x):
    """A fresh leaf copy of a tensor (same requires_grad); anything else as it is."""
    return x.detach().clone().requires_grad_(x.requires_grad) if isinstance(x, torch.Tensor) else x


def projection_encoder(dim_in: int, dim_hidden: int, dim_out: int, *, seed: int) -> nn.Module:
    """A small float64 MLP encoder, seeded, so that every rank and the reference start alike."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(dim_in, dim_hidden), nn.ReLU(), nn.Linear(dim_hidden, dim_out)).double()
    torch.random.set_rng_state(generator_state)
    return model


def train_nt_xent(
    model: nn.Module,
    views1: torch.Tensor,
    views2: torch.Tensor,
    *,
    lr: float,
    temperature: float,
    group=None,
) -> list[float]:
    """SGD on NT-Xent, one step per batch: ``views1[s], views2[s]`` are step s's two views.

    Both views go through one forward call (DDP counts one forward per backward). Returns
    the loss of every step.
    """
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for x1, x2 in zip(views1, views2, strict=True):
        z1, z2 = model(torch.cat([x1, x2])).chunk(2)
        loss = self_supervised.nt_xent(z1, z2, temperature=temperature, group=group)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return losses


def ddp_nt_xent(
    rank: int, world_size: int, views1: torch.Tensor, views2: torch.Tensor, encoder: dict, train: dict
) -> dict:
    """Train ``projection_encoder(**encoder)`` with DDP on this rank's share of every batch, twice.

    ``views1``, ``views2``: (steps, N, dim_in) full batches; each rank takes N / world_size
    examples of each. Run ``"gathered"`` passes ``group=WORLD`` to the loss, so every rank's
    views are candidates; run ``"local"`` passes ``None``, so each rank contrasts only its own
    share. Returns, per run, the final parameters and the rank's losses.
    """
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    local1, local2 = (_shard(v.transpose(0, 1), rank, world_size).transpose(0, 1) for v in (views1, views2))
    runs = {}
    for name, group in (("gathered", dist.group.WORLD), ("local", None)):
        model = DistributedDataParallel(projection_encoder(**encoder))
        losses = train_nt_xent(model, local1, local2, **train, group=group)
        runs[name] = {"parameters": [p.detach().clone() for p in model.module.parameters()], "losses": losses}
    return runs


def timed_loss_steps(rank: int, world_size: int, loss_name: str, n_total: int, dim: int, rounds: int) -> list[float]:
    """Seconds of forward + backward of one loss on this rank's N / world_size rows, per round.

    The ranks start each round together (a barrier), so a round's time is the slowest
    rank's. Float32 embeddings, seeded.
    """
    import torch.distributed as dist

    group = dist.group.WORLD if world_size > 1 else None
    inputs = contrastive_inputs(loss_name, n_total // world_size, dim, seed=rank)
    times = []
    for _ in range(rounds + 3):  # three warm-up rounds
        for x in inputs.values():
            if isinstance(x, torch.Tensor):
                x.grad = None
        if group is not None:
            dist.barrier()
        start = time.perf_counter()
        LOSSES[loss_name](**inputs, group=group).backward()
        times.append(time.perf_counter() - start)
    return times[3:]


def contrastive_inputs(loss_name: str, n: int, dim: int, *, seed: int) -> dict:
    """Random float32 keyword arguments of one contrastive loss, N rows of width ``dim``."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, dim, generator=g).requires_grad_()
    b = torch.randn(n, dim, generator=g).requires_grad_()
    if loss_name == "info_nce":
        return {"query": a, "positive": b}
    if loss_name == "nt_xent":
        return {"z1": a, "z2": b}
    return {"image_emb": a, "text_emb": b, "logit_scale": torch.tensor(1 / 0.07).requires_grad_()}
