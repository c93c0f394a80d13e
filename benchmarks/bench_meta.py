"""objlib.meta and objlib.optim against what a user would otherwise write.

* ``maml_outer_step`` (second and first order) against the same meta-update written by hand with
  ``torch.autograd.grad`` on explicit weight tensors: Finn et al.'s 1-40-40-1 ReLU network,
  10 sinusoid tasks of 10 + 10 points, one inner step, float32. objlib's time includes its
  input checks and ``torch.func.functional_call``, whose parameter swapping costs about 50 us
  per call over a plain forward pass (two calls per task): that is most of the gap, and the
  reason the first-order case, with less arithmetic to hide it, has the looser target.
* ``Lion.step`` (foreach, the default) against the paper's rule as a plain per-parameter
  loop, against its own ``foreach=False`` path (the measurement behind the default), and
  against ``torch.optim.AdamW`` (foreach), on 50 tensors of 1000 elements.
"""

from __future__ import annotations

import torch
from harness import Case

from objlib.meta import maml_outer_step, sine_tasks
from objlib.optim import Lion

INNER_LR = 0.01


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(1, 40), torch.nn.ReLU(), torch.nn.Linear(40, 40), torch.nn.ReLU(), torch.nn.Linear(40, 1)
    )


def _maml_inputs():
    model = _mlp()
    tasks = sine_tasks(10, k_shot=10, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    return model, tasks, torch.optim.SGD(model.parameters(), lr=1e-3)


def _mse(pred, target):
    return ((pred - target) ** 2).mean()


def ours(first_order):
    def run(model, tasks, opt):
        return maml_outer_step(
            model, tasks, loss_fn=_mse, meta_optimizer=opt, inner_lr=INNER_LR, first_order=first_order
        )

    return run


def by_hand(first_order):
    """The meta-update with autograd.grad on the weights of a hand-written forward pass."""

    def forward(w, x):
        h = torch.relu(x @ w[0].T + w[1])
        h = torch.relu(h @ w[2].T + w[3])
        return h @ w[4].T + w[5]

    def run(model, tasks, opt):
        weights = list(model.parameters())
        opt.zero_grad()
        total = 0.0
        for xs, ys, xq, yq in tasks:
            grads = torch.autograd.grad(_mse(forward(weights, xs), ys), weights, create_graph=not first_order)
            adapted = [w - INNER_LR * g for w, g in zip(weights, grads, strict=True)]
            loss = _mse(forward(adapted, xq), yq)
            (loss / len(tasks)).backward()
            total = total + loss.detach()
        opt.step()
        return total / len(tasks)

    return run


def _lion_inputs():
    g = torch.Generator().manual_seed(1)
    params = [torch.nn.Parameter(torch.randn(1000, generator=g)) for _ in range(50)]
    for p in params:
        p.grad = torch.randn(1000, generator=g)
    return (params,)


def lion_step(foreach=None):
    state = {}

    def run(params):
        if "opt" not in state:
            state["opt"] = Lion(params, lr=1e-4, weight_decay=0.1, foreach=foreach)
        state["opt"].step()

    return run


def lion_loop():
    """Chen et al.'s Algorithm 2, one tensor at a time, as a reader would first write it."""
    momenta = {}

    @torch.no_grad()
    def run(params, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.1):
        for p in params:
            m = momenta.setdefault(p, torch.zeros_like(p))
            c = beta1 * m + (1 - beta1) * p.grad
            p.sub_(lr * (torch.sign(c) + weight_decay * p))
            m.mul_(beta2).add_(p.grad, alpha=1 - beta2)

    return run


def adamw_step():
    state = {}

    def run(params):
        if "opt" not in state:
            state["opt"] = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1, foreach=True)
        state["opt"].step()

    return run


CASES = [
    Case(
        "meta.maml_outer_step 2nd order, 10 sine tasks",
        _maml_inputs,
        ours(False),
        by_hand(False),
        "autograd.grad by hand",
        target=1.4,
        backward=False,
    ),
    Case(
        "meta.maml_outer_step 1st order, 10 sine tasks",
        _maml_inputs,
        ours(True),
        by_hand(True),
        "autograd.grad by hand",
        target=1.7,
        backward=False,
    ),
    Case(
        "optim.Lion step, 50 x 1000",
        _lion_inputs,
        lion_step(),
        lion_loop(),
        "per-parameter loop",
        target=0.9,
        backward=False,
    ),
    Case(
        "optim.Lion step foreach vs for-loop, 50 x 1000",
        _lion_inputs,
        lion_step(),
        lion_step(foreach=False),
        "Lion(foreach=False)",
        target=0.9,
        backward=False,
    ),
    Case(
        "optim.Lion step vs AdamW, 50 x 1000",
        _lion_inputs,
        lion_step(),
        adamw_step(),
        "torch.optim.AdamW(foreach=True)",
        backward=False,
    ),
]
