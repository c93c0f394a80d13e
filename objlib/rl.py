r"""Reinforcement learning objectives (chapter 9): returns, advantages and policy losses.

**Time comes first.** Every per-step tensor has shape ``(T, ...)``: axis 0 is time, every
other axis (parallel environments, agents, ...) is a batch axis, and the functions are
vectorised over all of them. ``dones[t] = 1`` means that the episode *terminated* after step
``t`` (the next observation is terminal, its value is 0, and step ``t + 1`` starts a new
episode); ``truncated[t] = 1`` means that the episode was *cut* after step ``t`` by a time
limit, so the target bootstraps from ``next_values[t]``, the value of the observation the
environment returned, and step ``t + 1`` starts a new episode. A Gymnasium 1.x vector
environment built with ``autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP`` returns
exactly these flags (``terminated`` and ``truncated``), with the last observation of a
finished episode in ``info["final_obs"]``.

Returns and advantages (:func:`discounted_returns`, :func:`gae`) are computed by a
vectorised scan over time (recursive doubling, :math:`\lceil \log_2 T \rceil` tensor steps)
instead of the per-step Python loop that RL code usually writes.

Losses (:func:`reinforce_loss`, :func:`actor_critic_loss`, :func:`ppo_clip_loss`,
:func:`ppo_value_loss`, :func:`approx_kl`, :func:`soft_policy_loss`) take
``reduction="mean" | "sum" | "none"`` over every element, i.e. over all time steps and
environments: ``"mean"`` is the mean per step. Where a loss treats an input as a constant
(returns, advantages, the behaviour policy's log-probabilities) it detaches it, and the
docstring says so.

Tabular helpers (:func:`policy_evaluation`, :func:`value_iteration`) compute exact values of a
small MDP from its tables, such as those that :mod:`objlib.envs` exposes.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import torch

from . import _checks
from ._checks import (
    ConvergenceWarning,
    as_float_tensor,
    as_tensor,
    check_finite,
    check_int,
    check_nonempty,
    check_probability_vectors,
    check_reduction,
    check_same_shape,
    check_scalar,
    reduce,
)

__all__ = [
    "discounted_returns",
    "gae",
    "reinforce_loss",
    "actor_critic_loss",
    "ppo_clip_loss",
    "ppo_value_loss",
    "approx_kl",
    "soft_policy_loss",
    "soft_optimal_policy",
    "soft_value",
    "TabularValues",
    "policy_evaluation",
    "value_iteration",
]


# ---------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------


def _time_major(x, name: str) -> torch.Tensor:
    """A float tensor with a time axis first and at least one step."""
    x = as_float_tensor(x, name)
    if x.dim() == 0:
        raise ValueError(f"{name} must have a time axis first, shape (T, ...), got a scalar")
    check_nonempty(x, name)
    return x


def _like(x, name: str, ref: torch.Tensor, ref_name: str) -> torch.Tensor:
    """A float tensor of exactly ``ref``'s shape (no broadcasting), on its device."""
    x = as_float_tensor(x, name, like=ref)
    check_same_shape(ref, x, ref_name, name)
    return x


def _flags(x, name: str, ref: torch.Tensor, ref_name: str) -> torch.Tensor | None:
    """``dones`` or ``truncated``: bool, or numbers that are exactly 0 or 1; returned as bool."""
    if x is None:
        return None
    x = as_tensor(x, name)
    if x.is_complex():
        raise TypeError(f"{name} must hold 0/1 flags, got a complex tensor")
    check_same_shape(ref, x, ref_name, name)
    if x.device != ref.device:
        raise ValueError(f"{name} is on {x.device} but {ref_name} is on {ref.device}")
    if x.dtype == torch.bool:
        return x
    if _checks.value_checks_enabled() and not bool(((x == 0) | (x == 1)).all()):
        bad = x[(x != 0) & (x != 1)].flatten()[:3].tolist()
        raise ValueError(f"{name} must hold 0/1 flags, got values such as {bad}")
    return x != 0


def _last_value(last_value, ref: torch.Tensor) -> torch.Tensor:
    """The bootstrap value after the final step: a number, or one value per environment."""
    v = as_float_tensor(last_value, "last_value", like=ref)
    if v.dim() == 0:
        return v.expand(ref.shape[1:])
    if v.shape != ref.shape[1:]:
        raise ValueError(
            f"last_value must be a number or have shape rewards.shape[1:] = {tuple(ref.shape[1:])}, "
            f"got {tuple(v.shape)}"
        )
    return v


def _reverse_scan(deltas: torch.Tensor, continues: torch.Tensor) -> torch.Tensor:
    r"""Solve :math:`x_t = \delta_t + c_t x_{t+1}` backwards in time, with :math:`x_T = 0`.

    Recursive doubling: after the round with shift ``s``, ``x[t]`` holds the sum over the
    window ``t .. t + 2s - 1``, and ``c[t]`` (kept only for the ``T - 2s`` steps whose window
    does not reach past the end) the product of the coefficients that carry a value from
    ``t + 2s`` back to ``t``. :math:`\lceil \log_2 T\rceil` rounds of elementwise work, out of
    place so that autograd follows every round.
    """
    x, c = deltas, continues
    steps, shift = x.shape[0], 1
    while shift < steps:
        x = torch.cat((torch.addcmul(x[: steps - shift], c[: steps - shift], x[shift:]), x[steps - shift :]))
        if 2 * shift < steps:  # the last round needs no products
            c = c[: steps - 2 * shift] * c[shift : steps - shift]
        shift *= 2
    return x


def _check_finite_inputs(*named: tuple[str, torch.Tensor | None], total: torch.Tensor | None = None) -> None:
    """NaN and inf in the data are errors that name the argument (with value checks on).

    One reduction and one device sync for all inputs: the sum of their sums (or ``total``, a
    result that every input enters) is finite unless some input holds NaN or inf; only then
    (or on an overflow) is each input checked on its own, to name it.
    """
    if not _checks.value_checks_enabled():
        return
    present = [(name, x.detach()) for name, x in named if x is not None]
    if total is None:
        total = torch.stack([x.sum().double() for _, x in present]).sum()  # an overflow only costs the slow path
    if math.isfinite(float(total.detach().sum())):
        return
    for name, x in present:
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} must be finite, got NaN or inf entries")


def _bootstrapped_targets(rewards, values, *, gamma, lam, dones, last_value, truncated, next_values):
    """The shared body of :func:`gae` (values given) and :func:`discounted_returns` (values None)."""
    rewards = _time_major(rewards, "rewards")
    dtype = rewards.dtype
    if values is not None:
        values = _like(values, "values", rewards, "rewards")
        dtype = torch.promote_types(dtype, values.dtype)
    dones = _flags(dones, "dones", rewards, "rewards")
    truncated = _flags(truncated, "truncated", rewards, "rewards")
    if truncated is None and next_values is not None:
        raise ValueError("next_values is only read where truncated is 1: pass truncated as well")
    if truncated is not None:
        if next_values is None:
            raise ValueError("truncated needs next_values: the values of the observations where episodes were cut")
        next_values = _like(next_values, "next_values", rewards, "rewards")
        dtype = torch.promote_types(dtype, next_values.dtype)
    last_value = _last_value(last_value, rewards)
    dtype = torch.promote_types(dtype, last_value.dtype)

    rewards, last_value = rewards.to(dtype), last_value.to(dtype)
    # The value that follows step t: the next step's value, the last value after the final step,
    # the returned observation's value where a time limit cut the episode, nothing after termination.
    if values is None:  # returns: only bootstrap values follow a step
        values_after = rewards.new_zeros((rewards.shape[0] - 1, *rewards.shape[1:]))
    else:
        values = values.to(dtype)
        values_after = values[1:]
    following = torch.cat((values_after, last_value[None]))
    if truncated is not None:
        following = torch.where(truncated, next_values.to(dtype), following)
    if dones is not None:
        following = torch.where(dones, 0.0, following)
    deltas = torch.add(rewards, following, alpha=gamma)
    if values is not None:
        deltas = deltas - values
    # Every input enters the deltas (values also through step t's own term), so a NaN or inf
    # anywhere that is read shows up in their sum.
    _check_finite_inputs(("rewards", rewards), ("values", values), ("last_value", last_value), total=deltas)
    if truncated is not None and _checks.value_checks_enabled():
        if not bool(torch.isfinite(next_values[truncated]).all()):
            raise ValueError("next_values must be finite where truncated is 1, got NaN or inf entries")

    # The sum carries on past step t unless the episode ended there.
    carry = None if dones is None else ~dones
    if truncated is not None:
        carry = ~truncated if carry is None else carry & ~truncated
    if carry is None:
        continues = torch.full_like(rewards, gamma * lam)
    else:
        continues = torch.where(carry, rewards.new_tensor(gamma * lam), rewards.new_tensor(0.0))
    return _reverse_scan(deltas, continues)


def _check_discount(gamma, name: str = "gamma") -> float:
    return check_scalar(gamma, name, low=0.0, high=1.0)


# ---------------------------------------------------------------------------------------
# returns and advantages
# ---------------------------------------------------------------------------------------


def discounted_returns(
    rewards, *, gamma: float, dones=None, last_value=0.0, truncated=None, next_values=None
) -> torch.Tensor:
    r"""Discounted returns :math:`G_t` of every step, across episode boundaries.

    .. math::

        G_t = r_t + \gamma (1 - d_t) \bigl[(1 - u_t)\, G_{t+1} + u_t\, \hat v_t\bigr],
        \qquad G_T = v_{\text{last}},

    with :math:`d_t` = ``dones[t]`` (terminated after step ``t``: nothing follows),
    :math:`u_t` = ``truncated[t]`` (cut by a time limit after step ``t``: bootstrap from
    :math:`\hat v_t` = ``next_values[t]``, the value of the observation the environment
    returned) and :math:`v_{\text{last}}` = ``last_value``, the value of the observation after
    the final step (0 if the rollout ends with complete episodes). A step with both flags set
    counts as terminated. ``discounted_returns(r, gamma=g, ...)`` is ``gae(r, 0 * r, gamma=g,
    lam=1, ...)``; with ``gamma = 1`` and no flags it is the reversed cumulative sum.

    Args:
        rewards: ``(T, ...)``; axis 0 is time, every other axis a batch axis.
        gamma: the discount :math:`\gamma \in [0, 1]`.
        dones: optional ``(T, ...)`` flags (bool or 0/1), 1 where the episode terminated.
        last_value: a number, or ``(...)`` (one value per environment): :math:`G_T`.
        truncated: optional ``(T, ...)`` flags, 1 where a time limit cut the episode.
        next_values: ``(T, ...)``, required with ``truncated``; read only where it is 1.

    Returns:
        ``(T, ...)``, like ``rewards``, differentiable in the rewards and bootstrap values.

    Computed by a vectorised reverse scan (no Python loop over time). Agrees with a loop over
    time and with ``torchrl.objectives.value.functional.reward2go`` (time on its axis -2,
    no bootstrap). Sutton and Barto (2018), "Reinforcement learning: an introduction",
    section 3.3.

    >>> discounted_returns([1.0, 1.0, 1.0, 1.0], gamma=0.5, dones=[0, 1, 0, 0])
    tensor([1.5000, 1.0000, 1.5000, 1.0000])
    """
    gamma = _check_discount(gamma)
    return _bootstrapped_targets(
        rewards,
        None,
        gamma=gamma,
        lam=1.0,
        dones=dones,
        last_value=last_value,
        truncated=truncated,
        next_values=next_values,
    )


def gae(
    rewards, values, *, gamma: float, lam: float, dones=None, last_value=0.0, truncated=None, next_values=None
) -> torch.Tensor:
    r"""Generalised advantage estimates, :math:`\hat A_t = \sum_k (\gamma\lambda)^k \delta_{t+k}`.

    .. math::

        \delta_t = r_t + \gamma (1 - d_t)\, V_{\text{next}, t} - V(s_t), \qquad
        \hat A_t = \delta_t + \gamma \lambda (1 - d_t)(1 - u_t)\, \hat A_{t+1},
        \qquad \hat A_T = 0,

    where :math:`V_{\text{next}, t}` is ``values[t + 1]``, or ``last_value`` after the final
    step, or ``next_values[t]`` where ``truncated[t] = 1`` (:math:`u_t`): a time limit is not
    a terminal state, so the target bootstraps from the value of the observation the
    environment returned, and the sum stops there because step ``t + 1`` belongs to a new
    episode. Where ``dones[t] = 1`` (:math:`d_t`) the episode terminated: nothing follows.

    ``lam = 1`` gives the Monte Carlo return minus the baseline,
    ``discounted_returns(...) - values``; ``lam = 0`` gives the TD residual :math:`\delta_t`.
    Intermediate values trade the critic's bias (small :math:`\lambda`) against the variance
    of sampled rewards (large :math:`\lambda`). The value targets are
    ``gae(...) + values`` (the :math:`\lambda`-returns).

    Args:
        rewards: ``(T, ...)``; axis 0 is time, every other axis a batch axis.
        values: ``(T, ...)``, the critic's :math:`V(s_t)` (same shape as ``rewards``).
        gamma: the discount :math:`\gamma \in [0, 1]`.
        lam: :math:`\lambda \in [0, 1]`.
        dones: optional ``(T, ...)`` flags (bool or 0/1), 1 where the episode terminated
            after step ``t``.
        last_value: a number, or ``(...)``: the value of the observation after the final step.
        truncated: optional ``(T, ...)`` flags, 1 where a time limit cut the episode.
        next_values: ``(T, ...)``, required with ``truncated``; read only where it is 1.

    Returns:
        The advantages, ``(T, ...)`` like ``rewards``; differentiable in every float input
        (callers usually pass detached values).

    Computed by a vectorised reverse scan (no Python loop over time). Agrees with a loop over
    time and with ``torchrl.objectives.value.functional.generalized_advantage_estimate``
    (time on axis -2; torchrl's ``done`` is ``dones | truncated`` and its ``terminated`` is
    ``dones``). Schulman, Moritz, Levine, Jordan and Abbeel (2016), "High-dimensional
    continuous control using generalized advantage estimation".

    >>> gae([1.0, 1.0], [0.5, 0.5], gamma=1.0, lam=1.0, dones=[0, 1])  # returns 2, 1 minus V
    tensor([1.5000, 0.5000])
    """
    gamma = _check_discount(gamma)
    lam = _check_discount(lam, "lam")
    if values is None:
        raise TypeError("values must be a tensor, array or sequence of numbers, got NoneType")
    return _bootstrapped_targets(
        rewards,
        values,
        gamma=gamma,
        lam=lam,
        dones=dones,
        last_value=last_value,
        truncated=truncated,
        next_values=next_values,
    )


# ---------------------------------------------------------------------------------------
# policy-gradient losses
# ---------------------------------------------------------------------------------------


def _pair(x, y, name_x: str, name_y: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Two float tensors of one shape, promoted to a common dtype, non-empty."""
    x = as_float_tensor(x, name_x)
    y = as_float_tensor(y, name_y, like=x)
    check_same_shape(x, y, name_x, name_y)
    check_nonempty(x, name_x)
    dtype = torch.promote_types(x.dtype, y.dtype)
    return x.to(dtype), y.to(dtype)


def reinforce_loss(log_probs, returns, *, baseline=None, reduction: str = "mean") -> torch.Tensor:
    r"""The REINFORCE surrogate, whose gradient is the likelihood-ratio policy gradient.

    .. math::

        \ell_t = -\log \pi_\theta(a_t \mid s_t)\, \bigl(G_t - b_t\bigr),
        \qquad
        \nabla_\theta \mathbb E\bigl[-\ell_t\bigr]
        = \mathbb E\bigl[(G_t - b_t)\, \nabla_\theta \log \pi_\theta(a_t \mid s_t)\bigr].

    The returns :math:`G_t` and the baseline :math:`b_t` are constants (detached): only the
    log-probabilities carry gradient. A baseline that does not depend on the action leaves the
    expected gradient unchanged and can cut its variance.

    Args:
        log_probs: :math:`\log \pi_\theta(a_t \mid s_t)` of the actions taken, any shape.
        returns: :math:`G_t`, the same shape (for the gradient of the return from the start
            state, multiply the reward-to-go by :math:`\gamma^t` first).
        baseline: optional :math:`b_t`, a number or the same shape as ``returns``.
        reduction: ``"mean"`` (over every element: steps and environments) | ``"sum"`` |
            ``"none"``.

    Williams (1992), "Simple statistical gradient-following algorithms for connectionist
    reinforcement learning"; Sutton, McAllester, Singh and Mansour (2000), "Policy gradient
    methods for reinforcement learning with function approximation".

    >>> float(reinforce_loss([-0.5, -1.0], [2.0, 1.0], baseline=1.0))  # -(-0.5 * 1 + -1 * 0) / 2
    0.25
    """
    check_reduction(reduction)
    log_probs, returns = _pair(log_probs, returns, "log_probs", "returns")
    weight = returns.detach()
    if baseline is not None:
        baseline = as_float_tensor(baseline, "baseline", like=log_probs)
        if baseline.dim() != 0:
            check_same_shape(returns, baseline, "returns", "baseline")
        weight = weight - baseline.detach()
    _check_finite_inputs(("log_probs", log_probs), ("returns", returns), ("baseline", baseline))
    return reduce(-log_probs * weight, reduction)


def actor_critic_loss(
    log_probs,
    values,
    returns,
    *,
    value_coef: float = 0.5,
    entropy=None,
    entropy_coef: float = 0.01,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""The advantage actor-critic (A2C) loss: policy term, value regression and entropy bonus.

    .. math::

        \ell_t = -\log \pi_\theta(a_t \mid s_t)\, \operatorname{sg}\bigl[G_t - V_\phi(s_t)\bigr]
            + c_v \bigl(V_\phi(s_t) - G_t\bigr)^2 - c_H\, \mathcal H\bigl[\pi_\theta(\cdot \mid s_t)\bigr],

    where :math:`\operatorname{sg}` stops the gradient: the advantage is a constant for the
    actor, and the returns :math:`G_t` (n-step or :math:`\lambda`-returns) are constant targets
    for the critic. Returns the total; its parts are
    ``reinforce_loss(log_probs, returns, baseline=values)``,
    ``value_coef * ((values - returns.detach()) ** 2).mean()`` and
    ``-entropy_coef * entropy.mean()`` (for ``reduction="mean"``; they add up to this value).

    Args:
        log_probs: log-probabilities of the actions taken, any shape.
        values: the critic's :math:`V_\phi(s_t)`, the same shape.
        returns: the targets :math:`G_t`, the same shape (detached).
        value_coef: :math:`c_v \ge 0`.
        entropy: optional per-step policy entropies, the same shape.
        entropy_coef: :math:`c_H \ge 0`, used when ``entropy`` is given.
        reduction: ``"mean"`` (over every element) | ``"sum"`` | ``"none"`` (per-step totals).

    Mnih et al. (2016), "Asynchronous methods for deep reinforcement learning".

    >>> float(actor_critic_loss([-1.0], [0.5], [1.5], entropy=[0.7]))  # 1 + 0.5 - 0.007
    1.4930000305175781
    """
    check_reduction(reduction)
    value_coef = check_scalar(value_coef, "value_coef", low=0.0)
    entropy_coef = check_scalar(entropy_coef, "entropy_coef", low=0.0)
    log_probs, values = _pair(log_probs, values, "log_probs", "values")
    returns = _like(returns, "returns", log_probs, "log_probs")
    if entropy is not None:
        entropy = _like(entropy, "entropy", log_probs, "log_probs")
    _check_finite_inputs(("log_probs", log_probs), ("values", values), ("returns", returns), ("entropy", entropy))
    targets = returns.detach()
    advantages = targets - values.detach()
    loss = -log_probs * advantages + value_coef * (values - targets).square()
    if entropy is not None:
        loss = loss - entropy_coef * entropy
    return reduce(loss, reduction)


def ppo_clip_loss(log_probs, old_log_probs, advantages, *, clip_eps: float = 0.2, reduction: str = "mean"):
    r"""PPO's clipped surrogate objective, as a loss to minimise.

    .. math::

        \ell_t = -\min\bigl(\rho_t \hat A_t,\ \operatorname{clip}(\rho_t, 1 - \epsilon, 1 + \epsilon)\, \hat A_t\bigr),
        \qquad \rho_t = \exp\bigl(\log \pi_\theta(a_t \mid s_t) - \log \pi_{\text{old}}(a_t \mid s_t)\bigr).

    The minimum makes the objective a pessimistic bound on the unclipped surrogate
    :math:`\rho_t \hat A_t`: once the ratio has moved past :math:`1 + \epsilon` on an action
    with positive advantage (or below :math:`1 - \epsilon` with a negative one) the term is
    flat and its gradient is exactly zero, so repeated epochs on one batch cannot push the
    policy far from the one that collected it. ``clip_eps=float("inf")`` gives the unclipped
    surrogate. It is evaluated in the equivalent form
    :math:`-\hat A_t \min(\rho_t, 1 + \epsilon)` for :math:`\hat A_t \ge 0` and
    :math:`-\hat A_t \max(\rho_t, 1 - \epsilon)` otherwise, with the bound applied to
    :math:`\log \rho_t` before the exponential: the value stays 0 (not NaN) where an overflowing
    ratio meets a zero advantage, and the gradient stays 0 (not NaN) where it is clipped.

    Args:
        log_probs: :math:`\log \pi_\theta(a_t \mid s_t)` under the policy being updated.
        old_log_probs: the log-probabilities under the policy that collected the data, the
            same shape (detached).
        advantages: :math:`\hat A_t`, the same shape (detached; normalise them beforehand if
            you want to).
        clip_eps: :math:`\epsilon > 0`.
        reduction: ``"mean"`` (over every element: the sample average of the surrogate) |
            ``"sum"`` | ``"none"``.

    Schulman, Wolski, Dhariwal, Radford and Klimov (2017), "Proximal policy optimization
    algorithms", equation (7).

    >>> float(ppo_clip_loss([0.0], [-1.0], [2.0]))  # ratio e, clipped at 1.2: -1.2 * 2
    -2.4000000953674316
    """
    check_reduction(reduction)
    clip_eps = check_scalar(clip_eps, "clip_eps", low=0.0, low_inclusive=False)
    log_probs, old_log_probs = _pair(log_probs, old_log_probs, "log_probs", "old_log_probs")
    advantages = _like(advantages, "advantages", log_probs, "log_probs")
    _check_finite_inputs(("log_probs", log_probs), ("old_log_probs", old_log_probs), ("advantages", advantages))
    advantages = advantages.detach()
    # min(r, 1 + eps) = exp(min(log r, log(1 + eps))): clamping the log-ratio before exp keeps the
    # gradient 0, not 0 * inf = NaN, where the ratio overflows in the flat (clipped) region.
    log_ratio = log_probs - old_log_probs.detach()
    upper = math.log1p(clip_eps)
    lower = math.log1p(-clip_eps) if clip_eps < 1 else -math.inf
    # One clamp with per-sample bounds (the advantage's sign picks which side is clipped) is
    # cheaper, forward and backward, than the two clamps and the minimum of the textbook form.
    positive = advantages >= 0
    log_ratio = log_ratio.clamp(torch.where(positive, -math.inf, lower), torch.where(positive, upper, math.inf))
    return -reduce(advantages * log_ratio.exp(), reduction)  # the sign after the reduction: one pass less


def ppo_value_loss(values, old_values, returns, *, clip_eps: float | None = None, reduction: str = "mean"):
    r"""PPO's value loss, optionally clipped around the values that collected the data.

    .. math::

        \ell_t = \tfrac12 \max\Bigl(\bigl(V_\phi(s_t) - G_t\bigr)^2,\
            \bigl(V_{\text{old}}(s_t) + \operatorname{clip}(V_\phi(s_t) - V_{\text{old}}(s_t),
            -\epsilon, \epsilon) - G_t\bigr)^2\Bigr),

    and :math:`\ell_t = \tfrac12 (V_\phi(s_t) - G_t)^2` when ``clip_eps`` is None (then
    ``old_values`` is only checked for its shape). The clipped form is CleanRL's
    (``clip_vloss``, with the same :math:`\tfrac12`), which takes the larger of the two
    errors, so clipping can only slow the critic down, never reward it for moving away.

    Args:
        values: :math:`V_\phi(s_t)` from the critic being updated.
        old_values: :math:`V_{\text{old}}(s_t)` stored with the rollout (detached).
        returns: the targets :math:`G_t` (detached), the same shape.
        clip_eps: :math:`\epsilon > 0`, in the units of the values, or None.
        reduction: ``"mean"`` (over every element) | ``"sum"`` | ``"none"``.

    Schulman et al. (2017), "Proximal policy optimization algorithms"; the clipping as in the
    OpenAI baselines and CleanRL implementations (Huang et al. 2022, "CleanRL").

    >>> float(ppo_value_loss([3.0], [1.0], [4.0], clip_eps=0.5))  # max(1, 2.5^2) / 2
    3.125
    """
    check_reduction(reduction)
    values, old_values = _pair(values, old_values, "values", "old_values")
    returns = _like(returns, "returns", values, "values")
    _check_finite_inputs(("values", values), ("old_values", old_values), ("returns", returns))
    targets = returns.detach()
    error = (values - targets).square()
    if clip_eps is not None:
        clip_eps = check_scalar(clip_eps, "clip_eps", low=0.0, low_inclusive=False)
        old = old_values.detach()
        clipped = old + (values - old).clamp(-clip_eps, clip_eps)
        error = torch.maximum(error, (clipped - targets).square())
    return reduce(0.5 * error, reduction)


def approx_kl(log_probs, old_log_probs, *, reduction: str = "mean") -> torch.Tensor:
    r"""The k3 estimator of :math:`\mathrm{KL}(\pi_{\text{old}} \,\|\, \pi_\theta)` from samples of the old policy.

    .. math::

        k_3 = (\rho - 1) - \log \rho, \qquad
        \rho = \frac{\pi_\theta(a \mid s)}{\pi_{\text{old}}(a \mid s)}, \qquad a \sim \pi_{\text{old}}.

    Since :math:`\mathbb E_{\pi_{\text{old}}}[\rho] = 1`, its mean is
    :math:`\mathbb E_{\pi_{\text{old}}}[-\log \rho] = \mathrm{KL}(\pi_{\text{old}} \,\|\, \pi_\theta)`:
    it is unbiased, and unlike :math:`-\log \rho` every sample is non-negative
    (:math:`x - 1 \ge \log x`), which lowers its variance when the policies are close.
    Computed as ``expm1(log_ratio) - log_ratio``, accurate for tiny ratios of log-probabilities.
    Differentiable in both arguments.

    Args:
        log_probs: :math:`\log \pi_\theta(a \mid s)` of actions drawn from the old policy.
        old_log_probs: :math:`\log \pi_{\text{old}}(a \mid s)`, the same shape.
        reduction: ``"mean"`` (over samples: the KL estimate) | ``"sum"`` | ``"none"``.

    Schulman (2020), "Approximating KL divergence" (http://joschu.net/blog/kl-approx.html);
    the diagnostic of Schulman et al. (2017) and CleanRL.

    >>> round(float(approx_kl([0.0], [-1.0])), 4)  # (e - 1) - 1
    0.7183
    """
    check_reduction(reduction)
    log_probs, old_log_probs = _pair(log_probs, old_log_probs, "log_probs", "old_log_probs")
    _check_finite_inputs(("log_probs", log_probs), ("old_log_probs", old_log_probs))
    log_ratio = log_probs - old_log_probs
    return reduce(torch.expm1(log_ratio) - log_ratio, reduction)


# ---------------------------------------------------------------------------------------
# maximum-entropy objective
# ---------------------------------------------------------------------------------------


def _action_values(q_values, alpha) -> tuple[torch.Tensor, float]:
    q = as_float_tensor(q_values, "q_values")
    if q.dim() == 0:
        raise ValueError("q_values must hold one value per action along its last axis, got a scalar")
    check_nonempty(q, "q_values")
    check_finite(q, "q_values")
    alpha = check_scalar(alpha, "alpha", low=0.0, low_inclusive=False)
    if math.isinf(alpha):
        raise ValueError("alpha must be finite, got inf")
    return q, alpha


def soft_policy_loss(logits, q_values, *, alpha: float, reduction: str = "mean") -> torch.Tensor:
    r"""The maximum-entropy policy loss of soft actor-critic, exact over discrete actions.

    .. math::

        \ell(s) = \sum_a \pi_\theta(a \mid s) \bigl(\alpha \log \pi_\theta(a \mid s) - Q(s, a)\bigr)
        = -\Bigl(\mathbb E_{a \sim \pi_\theta}\bigl[Q(s, a)\bigr]
            + \alpha\, \mathcal H\bigl[\pi_\theta(\cdot \mid s)\bigr]\Bigr),

    with :math:`\pi_\theta = \operatorname{softmax}(\text{logits})`. Its minimiser is
    :func:`soft_optimal_policy`, :math:`\pi^\star \propto \exp(Q / \alpha)`, and its minimum is
    :math:`-`:func:`soft_value`; in general
    :math:`\ell(s) = -V_{\text{soft}}(s) + \alpha\, \mathrm{KL}(\pi_\theta \,\|\, \pi^\star)`.
    The action values are constants (detached): the policy step does not move the critic.
    Written with ``log_softmax``: finite values and gradients for logits of :math:`\pm 10^4`.

    Args:
        logits: ``(..., A)``, unnormalised log-probabilities of the policy.
        q_values: ``(..., A)``, the same shape: :math:`Q(s, a)`.
        alpha: the temperature :math:`\alpha > 0`.
        reduction: ``"mean"`` (over states, the leading axes) | ``"sum"`` | ``"none"``.

    Haarnoja, Zhou, Abbeel and Levine (2018), "Soft actor-critic: off-policy maximum entropy
    deep reinforcement learning with a stochastic actor", equation (10) with the expectation
    over actions taken exactly.

    >>> round(float(soft_policy_loss([0.0, 0.0], [1.0, 1.0], alpha=1.0)), 4)  # -(1 + log 2)
    -1.6931
    """
    check_reduction(reduction)
    q, alpha = _action_values(q_values, alpha)
    logits = _like(logits, "logits", q, "q_values")
    check_finite(logits, "logits")
    log_pi = torch.log_softmax(logits, dim=-1)
    dtype = torch.promote_types(log_pi.dtype, q.dtype)
    log_pi, q = log_pi.to(dtype), q.detach().to(dtype)
    return reduce((log_pi.exp() * (alpha * log_pi - q)).sum(dim=-1), reduction)


def soft_optimal_policy(q_values, *, alpha: float) -> torch.Tensor:
    r"""The optimum of the maximum-entropy objective: the Boltzmann policy :math:`\operatorname{softmax}(Q / \alpha)`.

    .. math::

        \pi^\star(a \mid s) = \frac{\exp\bigl(Q(s, a) / \alpha\bigr)}{\sum_b \exp\bigl(Q(s, b) / \alpha\bigr)}
        = \arg\max_\pi\ \mathbb E_{a \sim \pi}\bigl[Q(s, a)\bigr] + \alpha\, \mathcal H[\pi],

    by Gibbs' variational principle. As :math:`\alpha \to 0` it tends to the greedy policy,
    as :math:`\alpha \to \infty` to the uniform one.

    Args:
        q_values: ``(..., A)``, action values along the last axis.
        alpha: the temperature :math:`\alpha > 0`.

    Returns:
        Probabilities of the shape of ``q_values``.

    Haarnoja et al. (2018), "Soft actor-critic", the policy improvement step (4).

    >>> soft_optimal_policy([0.0, 1.0], alpha=1.0)  # sigmoid(-1), sigmoid(1)
    tensor([0.2689, 0.7311])
    """
    q, alpha = _action_values(q_values, alpha)
    return torch.softmax(q / alpha, dim=-1)


def soft_value(q_values, *, alpha: float) -> torch.Tensor:
    r"""The optimal value of the maximum-entropy objective: :math:`\alpha \log \sum_a \exp(Q(s, a) / \alpha)`.

    .. math::

        V_{\text{soft}}(s) = \max_\pi\ \mathbb E_{a \sim \pi}\bigl[Q(s, a)\bigr] + \alpha\, \mathcal H[\pi]
        = \alpha \log \sum_a e^{Q(s, a) / \alpha},

    a smooth maximum: :math:`\max_a Q \le V_{\text{soft}} \le \max_a Q + \alpha \log A`.

    Args:
        q_values: ``(..., A)``, action values along the last axis.
        alpha: the temperature :math:`\alpha > 0`.

    Returns:
        Shape ``(...)``: one value per state, differentiable in ``q_values``.

    Haarnoja, Tang, Abbeel and Levine (2017), "Reinforcement learning with deep energy-based
    policies"; Haarnoja et al. (2018), "Soft actor-critic".

    >>> round(float(soft_value([0.0, 0.0], alpha=1.0)), 4)  # log 2
    0.6931
    """
    q, alpha = _action_values(q_values, alpha)
    return alpha * torch.logsumexp(q / alpha, dim=-1)


# ---------------------------------------------------------------------------------------
# exact values of a tabular MDP
# ---------------------------------------------------------------------------------------


class TabularValues(NamedTuple):
    """State values ``(S,)`` and action values ``(S, A)`` of a tabular MDP."""

    values: torch.Tensor
    q_values: torch.Tensor


def _mdp_tables(transitions, rewards, terminal):
    P = as_float_tensor(transitions, "transitions")
    if P.dim() != 3 or P.shape[0] != P.shape[2]:
        raise ValueError(f"transitions must have shape (S, A, S), got {tuple(P.shape)}")
    check_nonempty(P, "transitions")
    R = as_float_tensor(rewards, "rewards", like=P)
    if R.shape != P.shape[:2]:
        raise ValueError(f"rewards must have shape (S, A) = {tuple(P.shape[:2])}, got {tuple(R.shape)}")
    check_probability_vectors(P, "transitions")
    check_finite(R, "rewards")
    dtype = torch.promote_types(P.dtype, R.dtype)
    n_states = P.shape[0]
    if terminal is None:
        terminal = torch.zeros(n_states, dtype=torch.bool, device=P.device)
    else:
        terminal = as_tensor(terminal, "terminal")
        if terminal.shape != (n_states,):
            raise ValueError(f"terminal must have shape (S,) = ({n_states},), got {tuple(terminal.shape)}")
        terminal = terminal.to(device=P.device, dtype=torch.bool)
    return P.to(dtype), R.to(dtype), terminal


def _q_from_v(P, R, V, terminal, gamma):
    q = R + gamma * torch.einsum("sat,t->sa", P, V)
    return torch.where(terminal[:, None], torch.zeros_like(q), q)


def policy_evaluation(transitions, rewards, policy, *, gamma: float, terminal=None) -> TabularValues:
    r"""Exact values of a policy in a tabular MDP, by solving the Bellman equation.

    .. math::

        V^\pi = (I - \gamma P_\pi)^{-1} r_\pi, \qquad
        P_\pi(s, s') = \sum_a \pi(a \mid s) P(s' \mid s, a), \quad
        r_\pi(s) = \sum_a \pi(a \mid s) R(s, a),

    and :math:`Q^\pi(s, a) = R(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V^\pi(s')`. Terminal
    states have value 0 (their rows are removed from the system), which makes the system
    solvable for :math:`\gamma = 1` whenever the policy reaches a terminal state with
    probability 1. Differentiable in the policy (``torch.linalg.solve``): the gradient of
    ``values[s0]`` with respect to policy parameters is the exact policy gradient.

    Args:
        transitions: ``(S, A, S)``, :math:`P(s' \mid s, a)`, rows summing to 1.
        rewards: ``(S, A)``, the expected immediate reward :math:`R(s, a)`.
        policy: ``(S, A)``, :math:`\pi(a \mid s)`, rows summing to 1.
        gamma: the discount :math:`\gamma \in [0, 1]`.
        terminal: optional ``(S,)`` bool mask of terminal states.

    Returns:
        :class:`TabularValues` ``(values (S,), q_values (S, A))``; both 0 at terminal states.

    Sutton and Barto (2018), "Reinforcement learning: an introduction", section 4.1.

    >>> P = torch.tensor([[[0.0, 1.0]], [[0.0, 1.0]]])  # one action: state 0 -> state 1 (terminal)
    >>> policy_evaluation(P, [[2.0], [0.0]], [[1.0], [1.0]], gamma=1.0, terminal=[False, True]).values
    tensor([2., 0.])
    """
    gamma = _check_discount(gamma)
    P, R, terminal = _mdp_tables(transitions, rewards, terminal)
    pi = _like(policy, "policy", R, "rewards")
    check_probability_vectors(pi, "policy")
    pi = pi.to(torch.promote_types(pi.dtype, P.dtype))
    P, R = P.to(pi.dtype), R.to(pi.dtype)
    live = (~terminal).to(pi.dtype)
    P_pi = torch.einsum("sa,sat->st", pi, P) * live[:, None]
    r_pi = (pi * R).sum(dim=-1) * live
    system = torch.eye(P.shape[0], dtype=pi.dtype, device=P.device) - gamma * P_pi
    try:
        V = torch.linalg.solve(system, r_pi)
    except torch.linalg.LinAlgError:
        raise ValueError(
            "the Bellman system is singular: with gamma = 1 the policy must reach a terminal state "
            "(pass terminal=...) with probability 1"
        ) from None
    return TabularValues(V, _q_from_v(P, R, V, terminal, gamma))


def value_iteration(
    transitions, rewards, *, gamma: float, terminal=None, tol: float | None = None, max_iter: int = 10_000
) -> TabularValues:
    r"""Optimal values of a tabular MDP by value iteration.

    .. math::

        V_{k+1}(s) = \max_a \Bigl(R(s, a) + \gamma \sum_{s'} P(s' \mid s, a)\, V_k(s')\Bigr),
        \qquad V_0 = 0,

    until :math:`\max_s |V_{k+1}(s) - V_k(s)| \le` ``tol`` :math:`\cdot \max(1, \max_s |V_{k+1}(s)|)`
    (a relative test, so that it can be met in float32); terminal states keep the value 0.
    Warns (``objlib._checks.ConvergenceWarning``, a ``UserWarning``) when it stops at
    ``max_iter`` first, saying how far it got. The greedy policy is
    ``q_values.argmax(-1)``.

    Args:
        transitions: ``(S, A, S)``, rows summing to 1.
        rewards: ``(S, A)``, expected immediate rewards.
        gamma: the discount :math:`\gamma \in [0, 1]` (with 1, every policy of interest must
            reach a terminal state).
        terminal: optional ``(S,)`` bool mask of terminal states.
        tol: the relative stopping threshold, :math:`\ge 0`; None (default) is 100 machine
            epsilons of the tables' dtype.
        max_iter: the most sweeps.

    Returns:
        :class:`TabularValues` ``(values (S,), q_values (S, A))`` of the last sweep.

    Bellman (1957), "Dynamic programming"; Sutton and Barto (2018), section 4.4.

    >>> P = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]], dtype=torch.float64)
    >>> vi = value_iteration(P, [[1.0, 5.0], [0.0, 0.0]], gamma=0.9, terminal=[False, True])  # stay or end
    >>> [round(v, 6) for v in vi.values.tolist()], vi.q_values.argmax(-1).tolist()  # stay: 1 / (1 - 0.9)
    ([10.0, 0.0], [0, 0])
    """
    gamma = _check_discount(gamma)
    max_iter = check_int(max_iter, "max_iter", low=1)
    P, R, terminal = _mdp_tables(transitions, rewards, terminal)
    tol = 100 * torch.finfo(P.dtype).eps if tol is None else check_scalar(tol, "tol", low=0.0)
    with torch.no_grad():
        V = torch.zeros(P.shape[0], dtype=P.dtype, device=P.device)
        change = math.inf
        for _ in range(max_iter):
            new_V = _q_from_v(P, R, V, terminal, gamma).max(dim=-1).values
            change = float((new_V - V).abs().max()) / max(1.0, float(new_V.abs().max()))
            V = new_V
            if change <= tol:
                break
        else:
            warnings.warn(
                f"value_iteration stopped at max_iter={max_iter} with a last relative change of {change:.3g} "
                f"> tol={tol:g}",
                ConvergenceWarning,
                stacklevel=2,
            )
        return TabularValues(V, _q_from_v(P, R, V, terminal, gamma))
