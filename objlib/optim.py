r"""Optimisers: how to move the parameters, as opposed to what to minimise (chapter 13).

An objective says which parameters are good; an optimiser says how to get there from the
gradients. Chapter 13 runs torch's SGD, Adam, AdamW and Adafactor beside the one optimiser
torch does not ship:

* :class:`Lion` -- the sign of an interpolated momentum, found by program search (Chen et al.
  2023), with decoupled weight decay.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._checks import check_scalar

__all__ = ["Lion"]


def _lion_for_loop(params, grads, exp_avgs, *, lr, beta1, beta2, weight_decay, maximize) -> None:
    """One Lion step, one parameter tensor at a time (the paper's Algorithm 2, line by line)."""
    for p, g, m in zip(params, grads, exp_avgs, strict=True):
        if maximize:
            g = -g
        if weight_decay != 0:
            p.mul_(1 - lr * weight_decay)  # theta - lr * lambda * theta, with the old theta
        c = m.lerp(g, 1 - beta1)  # c = beta1 m + (1 - beta1) g
        p.add_(c.sign(), alpha=-lr)
        p.add_(c, alpha=0.0)  # adds 0 * c: torch.sign(NaN) is 0, and this keeps a NaN visible in theta
        m.lerp_(g, 1 - beta2)  # m = beta2 m + (1 - beta2) g


def _lion_foreach(params, grads, exp_avgs, *, lr, beta1, beta2, weight_decay, maximize) -> None:
    """The same step with torch's multi-tensor kernels: one call per operation for a whole group."""
    groups: dict[tuple[torch.device, torch.dtype], list[list[torch.Tensor]]] = {}
    for p, g, m in zip(params, grads, exp_avgs, strict=True):
        bucket = groups.setdefault((p.device, p.dtype), [[], [], []])
        bucket[0].append(p)
        bucket[1].append(g)
        bucket[2].append(m)
    for ps, gs, ms in groups.values():
        if maximize:
            gs = list(torch._foreach_neg(gs))
        if weight_decay != 0:
            torch._foreach_mul_(ps, 1 - lr * weight_decay)
        cs = torch._foreach_lerp(ms, gs, 1 - beta1)
        torch._foreach_add_(ps, torch._foreach_sign(cs), alpha=-lr)
        torch._foreach_add_(ps, cs, alpha=0.0)  # keeps NaN visible, as in the loop
        torch._foreach_lerp_(ms, gs, 1 - beta2)


class Lion(torch.optim.Optimizer):
    r"""Lion, "evolved sign momentum" (Chen et al. 2023), as a ``torch.optim.Optimizer``.

    With gradient :math:`g_t`, momentum :math:`m_{t-1}` (zero at the start), learning rate
    :math:`\eta` and weight decay :math:`\lambda`, one step is (the paper's Algorithm 2)

    .. math::

        \begin{aligned}
        c_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \\
        \theta_t &= \theta_{t-1} - \eta \bigl(\operatorname{sign}(c_t) + \lambda \theta_{t-1}\bigr), \\
        m_t &= \beta_2 m_{t-1} + (1 - \beta_2) g_t .
        \end{aligned}

    Every coordinate moves by exactly :math:`\pm\eta` (or 0 where :math:`c_t = 0`) plus the
    decay, so the update has the same size whatever the scale of the gradient; the paper
    recommends a learning rate 3 to 10 times smaller than AdamW's and a weight decay 3 to 10
    times larger, so that :math:`\eta \lambda` stays comparable. The weight decay is
    *decoupled* (Loshchilov and Hutter 2019): it shrinks the parameters directly instead of
    adding :math:`\lambda \theta` to the gradient, which would only change a sign.

    Args:
        params: parameters or parameter groups, as for any torch optimiser; each group may
            set its own ``lr``, ``betas`` and ``weight_decay``.
        lr: :math:`\eta \ge 0` (default 1e-4, the paper's).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default (0.9, 0.99), the paper's).
        weight_decay: :math:`\lambda \ge 0` (default 0).
        maximize: ascend the objective instead (the gradient's sign is flipped).
        foreach: use torch's multi-tensor kernels (one call per operation for all the
            tensors of a group) instead of a Python loop over the tensors. The default,
            ``None``, turns it on: it was measured faster on the CPU too, about 1.6 times
            for fifty tensors of a thousand elements (``benchmarks/bench_meta.py``). Both
            paths give the same numbers.

    NaN: ``torch.sign`` maps NaN to 0, which would freeze a parameter whose gradient went NaN
    and hide the fault; here a NaN (or infinite) gradient or momentum makes the parameter NaN
    instead, as the rule with IEEE arithmetic (optax's ``sign``) does for NaN.

    The state of each parameter is its momentum, ``state[p]["exp_avg"]``; ``state_dict()``
    and ``load_state_dict()`` are torch's, so a run saved and resumed continues exactly.

    >>> import torch
    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    >>> opt = Lion([w], lr=0.1)
    >>> w.grad = torch.tensor([3.0, -1e-6, 0.0])  # only the signs matter
    >>> opt.step()
    >>> [round(v, 6) for v in w.tolist()]
    [0.9, -1.9, 0.5]
    """

    def __init__(
        self,
        params,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
    ) -> None:
        defaults = {"lr": lr, "betas": betas, "weight_decay": weight_decay, "maximize": maximize, "foreach": foreach}
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group, after checking its hyper-parameters (its own or the defaults)."""
        merged = {**self.defaults, **param_group}
        param_group["lr"] = check_scalar(merged["lr"], "lr", low=0.0)
        betas = merged["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        param_group["betas"] = tuple(
            check_scalar(b, f"betas[{i}]", low=0.0, high=1.0, high_inclusive=False) for i, b in enumerate(betas)
        )
        param_group["weight_decay"] = check_scalar(merged["weight_decay"], "weight_decay", low=0.0)
        params = merged["params"]
        for p in [params] if isinstance(params, torch.Tensor) else params:
            if isinstance(p, torch.Tensor) and (p.is_complex() or not p.is_floating_point()):
                raise TypeError(f"params must be real floating tensors, got dtype {p.dtype}")
        super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:  # type: ignore[override]
        """Take one step; ``closure`` re-evaluates the loss (with gradients) and is returned."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads, exp_avgs = [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise ValueError("Lion does not support sparse gradients")
                state = self.state[p]
                if "exp_avg" not in state:
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                params.append(p)
                grads.append(p.grad)
                exp_avgs.append(state["exp_avg"])
            if not params:
                continue
            beta1, beta2 = group["betas"]
            step = _lion_for_loop if group["foreach"] is False else _lion_foreach
            step(
                params,
                grads,
                exp_avgs,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                maximize=group["maximize"],
            )
        return loss
