"""Speed of objlib.rl against what RL code usually writes and against torchrl.

* ``gae`` and ``discounted_returns`` at T = 2048 steps and 64 parallel environments (float32,
  episodes ending on about 1 step in 200, a few truncated), forward only:
  - against the per-step Python loop over time that CleanRL-style code writes (vectorised
    over the environments only); target: at least 20x faster (ratio <= 0.05);
  - against torchrl's vectorised functions, ``vec_generalized_advantage_estimate`` and
    ``reward2go`` from ``torchrl.objectives.value.functional``, each given its inputs already
    in torchrl's layout (batch, time, 1); target: ratio <= 1.2. torchrl splits the batch into
    trajectories and convolves each with a geometric filter, so its time grows with the
    number of episode ends; objlib's scan does not depend on them.
  objlib's time includes its value checks (finite rewards and values, 0/1 flags).
* ``ppo_clip_loss`` on N = 65536 samples, forward + backward, against the clipped surrogate
  written directly in torch (``-min(r A, clip(r) A).mean()``): with value checks off,
  target <= 1.1; with them on, reported without a target (the cost of the checks).
"""

from __future__ import annotations

import torch
import torchrl.objectives.value.functional as trl
from harness import Case

import objlib
from objlib.rl import discounted_returns, gae, ppo_clip_loss

T, ENVS = 2048, 64
GAMMA, LAM = 0.99, 0.95
N_PPO = 65536


def _rollout():
    g = torch.Generator().manual_seed(0)
    rewards = torch.randn(T, ENVS, generator=g)
    values = torch.randn(T, ENVS, generator=g)
    dones = torch.rand(T, ENVS, generator=g) < 1 / 200
    truncated = (torch.rand(T, ENVS, generator=g) < 1 / 2000) & ~dones
    next_values = torch.randn(T, ENVS, generator=g)
    last_value = torch.randn(ENVS, generator=g)
    return rewards, values, dones, truncated, next_values, last_value


def _loop_gae(rewards, values, dones, truncated, next_values, last_value):
    """The per-step loop over time, vectorised over environments, as PPO code usually writes it."""
    advantages = torch.empty_like(rewards)
    running = torch.zeros_like(last_value)
    alive = (~dones).float()
    carry = alive * (~truncated).float()
    for t in reversed(range(rewards.shape[0])):
        following = values[t + 1] if t + 1 < rewards.shape[0] else last_value
        following = torch.where(truncated[t], next_values[t], following)
        delta = rewards[t] + GAMMA * alive[t] * following - values[t]
        running = delta + GAMMA * LAM * carry[t] * running
        advantages[t] = running
    return advantages


def _loop_returns(rewards, values, dones, truncated, next_values, last_value):
    returns = torch.empty_like(rewards)
    running = last_value
    alive = (~dones).float()
    for t in reversed(range(rewards.shape[0])):
        running = torch.where(truncated[t], next_values[t], running)
        running = rewards[t] + GAMMA * alive[t] * running
        returns[t] = running
    return returns


def _objlib_gae(rewards, values, dones, truncated, next_values, last_value):
    return gae(
        rewards,
        values,
        gamma=GAMMA,
        lam=LAM,
        dones=dones,
        truncated=truncated,
        next_values=next_values,
        last_value=last_value,
    )


def _objlib_returns(rewards, values, dones, truncated, next_values, last_value):
    return discounted_returns(
        rewards, gamma=GAMMA, dones=dones, truncated=truncated, next_values=next_values, last_value=last_value
    )


def _torchrl_gae_inputs():
    """The same rollout in torchrl's layout: (batch, time, 1), with its done/terminated flags."""
    rewards, values, dones, truncated, next_values, last_value = _rollout()
    following = torch.where(truncated, next_values, torch.cat([values[1:], last_value[None]]))

    def layout(x):
        return x.T.unsqueeze(-1).contiguous()

    objlib_args = (rewards, values, dones, truncated, next_values, last_value)
    torchrl_args = (layout(values), layout(following), layout(rewards), layout(dones | truncated), layout(dones))
    return objlib_args, torchrl_args


def _torchrl_returns_inputs():
    """reward2go has no bootstrap: compare on rollouts whose episode ends are terminations only."""
    rewards, _, dones, _, _, _ = _rollout()
    return (rewards, dones), (rewards.T.unsqueeze(-1).contiguous(), dones.T.unsqueeze(-1).contiguous())


def _ppo_inputs():
    g = torch.Generator().manual_seed(1)
    log_probs = (0.1 * torch.randn(N_PPO, generator=g) - 1.0).requires_grad_()
    old_log_probs = 0.1 * torch.randn(N_PPO, generator=g) - 1.0
    advantages = torch.randn(N_PPO, generator=g)
    return log_probs, old_log_probs, advantages


def _direct_ppo(log_probs, old_log_probs, advantages, clip_eps=0.2):
    ratio = torch.exp(log_probs - old_log_probs)
    return -torch.min(ratio * advantages, ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantages).mean()


def _ppo_unchecked(*args):
    with objlib.value_checks(False):
        return ppo_clip_loss(*args)


CASES = [
    Case(
        "rl.gae T=2048 x 64 vs loop",
        _rollout,
        _objlib_gae,
        _loop_gae,
        "per-step Python loop",
        target=0.05,
        backward=False,
        rounds=7,
    ),
    Case(
        "rl.gae T=2048 x 64 vs torchrl",
        _torchrl_gae_inputs,
        lambda ours, _: _objlib_gae(*ours),
        lambda _, theirs: trl.vec_generalized_advantage_estimate(GAMMA, LAM, *theirs),
        "torchrl vec_generalized_advantage_est",
        target=1.2,
        backward=False,
        rounds=7,
    ),
    Case(
        "rl.discounted_returns T=2048 x 64 vs loop",
        _rollout,
        _objlib_returns,
        _loop_returns,
        "per-step Python loop",
        target=0.05,
        backward=False,
        rounds=7,
    ),
    Case(
        "rl.discounted_returns T=2048 x 64 vs torchrl",
        _torchrl_returns_inputs,
        lambda ours, _: discounted_returns(ours[0], gamma=GAMMA, dones=ours[1]),
        lambda _, theirs: trl.reward2go(*theirs, GAMMA),
        "torchrl reward2go",
        target=1.2,
        backward=False,
        rounds=7,
    ),
    Case(
        "rl.ppo_clip_loss N=65536 fwd+bwd, checks off",
        _ppo_inputs,
        _ppo_unchecked,
        _direct_ppo,
        "the formula in torch",
        target=1.1,
        rounds=101,  # a call takes about a millisecond: many rounds for a stable median
    ),
    Case(
        "rl.ppo_clip_loss N=65536 fwd+bwd, checks on", _ppo_inputs, ppo_clip_loss, _direct_ppo, "the formula in torch"
    ),
]
