r"""Nested objectives: an outer objective differentiated through an inner training run (chapter 13).

Meta-learning and gradient-based hyper-parameter optimisation share one shape. An *inner*
objective is minimised by a few steps of gradient descent; an *outer* objective is measured
where those steps end, and it is differentiated *through* them, back to the quantities the
inner run started from (an initialisation, a penalty weight, a step size).

* :func:`maml_inner_step` -- one gradient step on named parameters, keeping the graph
  (Finn et al. 2017), or not (first-order MAML, Nichol et al. 2018).
* :func:`unrolled_sgd` -- several such steps on any loss of the parameters: the inner run
  of MAML, and of hyper-parameter optimisation by unrolled differentiation (Maclaurin et
  al. 2015).
* :func:`maml_outer_step` -- one meta-update of an ``nn.Module`` on a batch of tasks, with
  ``torch.func.functional_call``.
* :func:`sine_tasks` -- Finn et al.'s sinusoid regression tasks.

Parameters travel as dictionaries ``name -> tensor`` (what ``dict(model.named_parameters())``
gives), so that ``torch.func.functional_call(model, params, x)`` runs the model with the
adapted values without touching the module's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch.func import functional_call

from ._checks import as_float_tensor, check_finite, check_int, check_scalar, value_checks_enabled

__all__ = ["maml_inner_step", "unrolled_sgd", "maml_outer_step", "sine_tasks"]


# ---------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------


def _check_params(params) -> dict[str, torch.Tensor]:
    """A non-empty mapping of names to floating tensors, at least one of which needs a gradient."""
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of names to tensors, got {type(params).__name__}")
    if not params:
        raise ValueError("params is empty: there is nothing to adapt")
    for name, p in params.items():
        if not isinstance(p, torch.Tensor) or not p.is_floating_point():
            raise TypeError(f"params[{name!r}] must be a floating tensor, got {type(p).__name__}")
    if not any(p.requires_grad for p in params.values()):
        raise ValueError("params: no tensor requires grad, so the loss cannot be differentiated")
    return dict(params)


def _check_loss(loss) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"loss must be a tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ValueError(f"loss must be a scalar (one number), got shape {tuple(loss.shape)}")
    check_finite(loss.detach(), "loss")
    return loss.reshape(())


def _check_tasks(tasks) -> list[tuple[torch.Tensor, ...]]:
    """A non-empty sequence of (x_support, y_support, x_query, y_query) tuples of finite tensors."""
    if not isinstance(tasks, Sequence) or isinstance(tasks, (str, bytes)):
        raise TypeError(f"tasks must be a list of (x_support, y_support, x_query, y_query), got {type(tasks).__name__}")
    if len(tasks) == 0:
        raise ValueError("tasks is empty: a meta-update needs at least one task")
    labels = ("x_support", "y_support", "x_query", "y_query")
    checked = []
    for i, task in enumerate(tasks):
        if not isinstance(task, Sequence) or len(task) != 4:
            raise ValueError(f"tasks[{i}] must be a tuple (x_support, y_support, x_query, y_query)")
        checked.append(tuple(as_float_tensor(t, f"tasks[{i}].{label}") for t, label in zip(task, labels, strict=True)))
    # One synchronising check for all the tensors at once; the tensor-by-tensor search, which
    # names the culprit, runs only when it fails.
    if value_checks_enabled():
        flat = [t.detach().reshape(-1) for task in checked for t in task]
        if len({t.device for t in flat}) > 1 or not bool(torch.isfinite(torch.cat(flat)).all()):
            for i, task in enumerate(checked):
                for t, label in zip(task, labels, strict=True):
                    check_finite(t, f"tasks[{i}].{label}")
    return checked


# ---------------------------------------------------------------------------------------
# the inner loop
# ---------------------------------------------------------------------------------------


def _gradient_step(params: dict, loss: torch.Tensor, lr: float, first_order: bool) -> dict:
    """theta - lr * grad, for the tensors of ``params`` that require grad (inputs already checked)."""
    names = [name for name, p in params.items() if p.requires_grad]
    grads = torch.autograd.grad(loss, [params[name] for name in names], create_graph=not first_order, allow_unused=True)
    adapted = dict(params)
    for name, grad in zip(names, grads, strict=True):
        if grad is not None:  # None: the loss does not depend on this tensor, which stays put
            adapted[name] = params[name] - lr * grad
    return adapted


def _unroll(params: dict, loss_fn, lr: float, steps: int, first_order: bool) -> dict:
    for _ in range(steps):
        params = _gradient_step(params, _check_loss(loss_fn(params)), lr, first_order)
    return params


def maml_inner_step(params, loss, *, inner_lr: float, first_order: bool = False) -> dict[str, torch.Tensor]:
    r"""One gradient-descent step on named parameters, differentiable with respect to where it started.

    .. math::

        \theta' = \theta - \alpha \nabla_\theta \mathcal L(\theta),
        \qquad
        \frac{\partial \theta'}{\partial \theta} = I - \alpha \nabla^2_\theta \mathcal L(\theta).

    By default the gradient is computed with ``create_graph=True``, so that a loss measured at
    :math:`\theta'` can be differentiated back to :math:`\theta` through the step: the chain
    rule multiplies by the Jacobian above, Hessian included (MAML, Finn et al. 2017). With
    ``first_order=True`` the gradient is treated as a constant, the Jacobian becomes the
    identity, and an outer gradient is the gradient at :math:`\theta'` itself (first-order
    MAML, Finn et al. 2017, section 5.2; Nichol et al. 2018): cheaper, and exactly the
    second-order gradient with its factor :math:`I - \alpha \nabla^2 \mathcal L` dropped.

    Args:
        params: mapping ``name -> tensor`` (for example ``dict(model.named_parameters())``,
            or the output of a previous step). Tensors that do not require grad, and those
            the loss does not depend on, are returned unchanged.
        loss: scalar tensor computed from ``params`` (NaN or inf is refused while value
            checks are on, since every later step would inherit it).
        inner_lr: the step size :math:`\alpha \ge 0`.
        first_order: drop the second-order term (see above).

    Returns a new ``dict`` of adapted tensors; ``params`` is not modified.

    >>> import torch
    >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> adapted = maml_inner_step({"w": w}, (w**2).sum(), inner_lr=0.25)  # w - 0.25 * 2w
    >>> adapted["w"].tolist()
    [0.5, -1.0]
    >>> adapted["w"].sum().backward()  # d(w')/dw = 1 - 0.25 * 2 = 0.5 per coordinate
    >>> w.grad.tolist()
    [0.5, 0.5]
    """
    params = _check_params(params)
    inner_lr = check_scalar(inner_lr, "inner_lr", low=0.0)
    return _gradient_step(params, _check_loss(loss), inner_lr, first_order)


def unrolled_sgd(
    params,
    loss_fn: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    *,
    lr: float,
    steps: int,
    first_order: bool = False,
) -> dict[str, torch.Tensor]:
    r"""Run ``steps`` steps of gradient descent and keep the whole run differentiable.

    .. math::

        \theta_0 = \theta, \qquad
        \theta_{t+1} = \theta_t - \eta \nabla_\theta \mathcal L(\theta_t), \quad t = 0, \dots, T - 1,

    each step a :func:`maml_inner_step`. The result :math:`\theta_T` depends differentiably on
    the starting point *and* on every tensor that ``loss_fn`` closes over, such as the weight
    of a penalty: differentiating a validation loss at :math:`\theta_T` with respect to that
    weight is hyper-parameter optimisation by unrolled differentiation (Maclaurin et al. 2015,
    who also make the reverse pass memory-free by reversing momentum SGD exactly; here the
    graph of all :math:`T` steps is kept, which costs memory linear in :math:`T`). With
    ``first_order=True`` the step gradients are constants (first-order MAML's inner loop);
    the dependence on closed-over tensors is then lost.

    Args:
        params: mapping ``name -> tensor``, as for :func:`maml_inner_step`.
        loss_fn: called with the current ``dict`` of parameters, returns a scalar loss.
        lr: step size :math:`\eta \ge 0`.
        steps: :math:`T \ge 0` (0 returns a copy of ``params``).
        first_order: as for :func:`maml_inner_step`.

    >>> import torch
    >>> lam = torch.tensor(1.0, requires_grad=True)  # a penalty weight: the hyper-parameter
    >>> start = {"w": torch.tensor(2.0, requires_grad=True)}
    >>> trained = unrolled_sgd(start, lambda p: lam * p["w"] ** 2, lr=0.25, steps=2)
    >>> trained["w"].item()  # w is multiplied by 1 - 2 * 0.25 * lam = 0.5 at each step
    0.5
    >>> trained["w"].backward()  # d/d lam of 2 (1 - lam / 2)^2 at lam = 1
    >>> lam.grad.item()
    -1.0
    """
    steps = check_int(steps, "steps", low=0)
    lr = check_scalar(lr, "lr", low=0.0)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    return _unroll(_check_params(params), loss_fn, lr, steps, first_order)


# ---------------------------------------------------------------------------------------
# the outer loop
# ---------------------------------------------------------------------------------------


def maml_outer_step(
    model: torch.nn.Module,
    tasks,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    meta_optimizer: torch.optim.Optimizer,
    inner_lr: float,
    inner_steps: int = 1,
    first_order: bool = False,
) -> torch.Tensor:
    r"""One MAML meta-update of ``model``'s parameters on a batch of tasks.

    .. math::

        \min_\theta \; \frac1M \sum_{i=1}^M
        \mathcal L^{\text{query}}_i\bigl(U_i(\theta)\bigr),
        \qquad U_i = \text{``inner\_steps'' gradient steps on } \mathcal L^{\text{support}}_i .

    For each task the model is adapted on its support set by :func:`unrolled_sgd` (run through
    ``torch.func.functional_call``, so the module's own parameters stay untouched), the query
    loss is measured with the adapted parameters, and its gradient flows back to the shared
    initialisation :math:`\theta` (second order unless ``first_order``; Finn et al. 2017,
    Algorithm 2). The mean over tasks is accumulated into ``.grad`` one task at a time (each
    task's graph is freed after its backward pass), then ``meta_optimizer.step()`` applies it.
    ``meta_optimizer.zero_grad()`` is called first.

    With ``inner_steps=0`` there is no adaptation: the update is ordinary multi-task training
    on the query sets, the "pretrained" baseline MAML is compared with.

    Args:
        model: the ``nn.Module``; every parameter with ``requires_grad`` is adapted.
        tasks: list of ``(x_support, y_support, x_query, y_query)`` tensors.
        loss_fn: ``loss_fn(prediction, target)`` returns a scalar, e.g.
            ``objlib.regression.mse``.
        meta_optimizer: a ``torch.optim.Optimizer`` over the model's parameters.
        inner_lr: inner step size :math:`\alpha \ge 0`.
        inner_steps: number of inner steps, :math:`\ge 0`.
        first_order: first-order MAML (Nichol et al. 2018).

    Returns the mean query loss over the tasks, **before** the update (measured at the
    adapted parameters of the old initialisation), as a detached 0-dim tensor.

    >>> import torch
    >>> model = torch.nn.Linear(1, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = model.weight.fill_(0.0)
    >>> x = torch.ones(4, 1)
    >>> task = (x, 2 * x, x, 2 * x)  # y = 2x: one step of size 0.25 from w = 0 reaches w = 1
    >>> mse = lambda pred, y: ((pred - y) ** 2).mean()
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> maml_outer_step(model, [task], loss_fn=mse, meta_optimizer=opt, inner_lr=0.25).item()
    1.0
    >>> # meta-gradient (1 - 0.25 * 2) * 2 (w' - 2) = -1, so w moves by +0.1
    >>> round(model.weight.item(), 6)
    0.1
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(meta_optimizer, torch.optim.Optimizer):
        raise TypeError(f"meta_optimizer must be a torch.optim.Optimizer, got {type(meta_optimizer).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    inner_lr = check_scalar(inner_lr, "inner_lr", low=0.0)
    inner_steps = check_int(inner_steps, "inner_steps", low=0)
    tasks = _check_tasks(tasks)
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("model has no parameter that requires grad")
    # Re-tying shared weights costs a third of functional_call's time; skip it when none are shared.
    tied = len(list(model.named_parameters(remove_duplicate=False))) != len(list(model.named_parameters()))

    def run(p, x):
        return functional_call(model, p, (x,), tie_weights=tied)

    def support_loss(x, y):
        return lambda p: loss_fn(run(p, x), y)

    meta_optimizer.zero_grad()
    query_losses = []
    for x_support, y_support, x_query, y_query in tasks:
        adapted = _unroll(params, support_loss(x_support, y_support), inner_lr, inner_steps, first_order)
        query_loss = _check_loss(loss_fn(run(adapted, x_query), y_query))
        (query_loss / len(tasks)).backward()
        query_losses.append(query_loss.detach())
    meta_optimizer.step()
    return torch.stack(query_losses).mean()


# ---------------------------------------------------------------------------------------
# tasks
# ---------------------------------------------------------------------------------------


def sine_tasks(
    n: int,
    *,
    k_shot: int,
    k_query: int | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    r"""Finn et al.'s (2017) sinusoid regression tasks: few-shot regression of a random sine wave.

    .. math::

        y = A \sin(x - \varphi), \qquad
        A \sim U[0.1, 5], \quad \varphi \sim U[0, \pi], \quad x \sim U[-5, 5],

    one amplitude and phase per task, independent inputs for every point, no noise (as in
    Finn et al., section 5.1).

    Args:
        n: number of tasks, :math:`\ge 1`.
        k_shot: support points per task (the "K" of K-shot regression), :math:`\ge 1`.
        k_query: query points per task (default ``k_shot``, as Finn et al. train); use many
            for a low-noise estimate of a task's error.
        generator: a ``torch.Generator`` for reproducible draws (default: torch's global one).
        dtype: floating dtype of the tensors (default: torch's default dtype).

    Returns a list of ``n`` tuples ``(x_support, y_support, x_query, y_query)``, inputs and
    targets of shape ``(k, 1)``, ready for :func:`maml_outer_step` and an ``nn.Linear(1, ...)``
    input layer. Draws are made in one batch: amplitudes (n,), phases (n,), then the inputs.

    >>> import torch
    >>> tasks = sine_tasks(3, k_shot=5, k_query=10, generator=torch.Generator().manual_seed(0))
    >>> len(tasks), [tuple(t.shape) for t in tasks[0]]
    (3, [(5, 1), (5, 1), (10, 1), (10, 1)])
    >>> bool(all(t[0].abs().max() <= 5 and t[1].abs().max() <= 5 for t in tasks))
    True
    """
    n = check_int(n, "n", low=1)
    k_shot = check_int(k_shot, "k_shot", low=1)
    k_query = k_shot if k_query is None else check_int(k_query, "k_query", low=1)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    amplitude = 0.1 + 4.9 * torch.rand(n, 1, 1, generator=generator, dtype=dtype)
    phase = torch.pi * torch.rand(n, 1, 1, generator=generator, dtype=dtype)
    x = -5.0 + 10.0 * torch.rand(n, k_shot + k_query, 1, generator=generator, dtype=dtype)
    y = amplitude * torch.sin(x - phase)
    return [(xi[:k_shot], yi[:k_shot], xi[k_shot:], yi[k_shot:]) for xi, yi in zip(x, y, strict=True)]
