"""Tests for objlib.rl against brute-force loops over time, torchrl, closed forms and Monte Carlo (float64)."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
import torchrl.objectives.value.functional as trl

import objlib
from objlib.divergences import kl
from objlib.envs import ShortCorridor
from objlib.rl import (
    actor_critic_loss,
    approx_kl,
    discounted_returns,
    gae,
    policy_evaluation,
    ppo_clip_loss,
    ppo_value_loss,
    reinforce_loss,
    soft_optimal_policy,
    soft_policy_loss,
    soft_value,
    value_iteration,
)

F64 = torch.float64


def rollout(T=40, shape=(5,), seed=0, p_done=0.1, p_trunc=0.05):
    """Random rewards, values, flags (some steps both terminated and truncated) and bootstrap values."""
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(T, *shape, generator=g, dtype=F64)
    v = torch.randn(T, *shape, generator=g, dtype=F64)
    d = torch.rand(T, *shape, generator=g) < p_done
    u = torch.rand(T, *shape, generator=g) < p_trunc
    nv = torch.randn(T, *shape, generator=g, dtype=F64)
    last = torch.randn(shape, generator=g, dtype=F64)
    return r, v, d, u, nv, last


def loop_gae(r, v, d, u, nv, last, gamma, lam):
    """The per-step loop RL code usually writes, one environment column at a time."""
    T = r.shape[0]
    r, v, d, u, nv = (x.reshape(T, -1) for x in (r, v, d, u, nv))
    last = last.reshape(-1)
    adv = torch.zeros_like(r)
    for j in range(r.shape[1]):
        running = 0.0
        for t in reversed(range(T)):
            if d[t, j]:
                following, carry = 0.0, 0.0
            elif u[t, j]:
                following, carry = nv[t, j], 0.0
            else:
                following = v[t + 1, j] if t + 1 < T else last[j]
                carry = 1.0
            delta = r[t, j] + gamma * following - v[t, j]
            running = delta + gamma * lam * carry * running
            adv[t, j] = running
    return adv


def loop_returns(r, d, u, nv, last, gamma):
    T = r.shape[0]
    r, d, u, nv = (x.reshape(T, -1) for x in (r, d, u, nv))
    last = last.reshape(-1)
    out = torch.zeros_like(r)
    for j in range(r.shape[1]):
        following = last[j]
        for t in reversed(range(T)):
            if d[t, j]:
                following = 0.0
            elif u[t, j]:
                following = nv[t, j]
            following = r[t, j] + gamma * following
            out[t, j] = following
    return out


# ---------------------------------------------------------------------------------------
# gae and discounted_returns: loops, identities, torchrl
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [1, 2, 3, 17, 64])
@pytest.mark.parametrize(("gamma", "lam"), [(0.99, 0.95), (1.0, 1.0), (0.9, 0.0), (0.0, 0.5)])
def test_gae_matches_the_loop_over_time(T, gamma, lam):
    r, v, d, u, nv, last = rollout(T=T, shape=(6,), seed=T)
    ours = gae(r, v, gamma=gamma, lam=lam, dones=d, truncated=u, next_values=nv, last_value=last)
    torch.testing.assert_close(ours, loop_gae(r, v, d, u, nv, last, gamma, lam), rtol=1e-12, atol=1e-12)


def test_gae_vectorised_over_every_non_time_axis():
    r, v, d, u, nv, last = rollout(T=30, shape=(3, 4), seed=1)
    ours = gae(r, v, gamma=0.97, lam=0.9, dones=d, truncated=u, next_values=nv, last_value=last)
    assert ours.shape == (30, 3, 4)
    torch.testing.assert_close(ours.reshape(30, -1), loop_gae(r, v, d, u, nv, last, 0.97, 0.9), rtol=1e-12, atol=1e-12)
    one = gae(
        r[:, 1, 2],
        v[:, 1, 2],
        gamma=0.97,
        lam=0.9,
        dones=d[:, 1, 2],
        truncated=u[:, 1, 2],
        next_values=nv[:, 1, 2],
        last_value=last[1, 2],
    )
    torch.testing.assert_close(one, ours[:, 1, 2], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("T", [1, 5, 33])
def test_discounted_returns_match_the_loop(T):
    r, _, d, u, nv, last = rollout(T=T, seed=2 + T)
    ours = discounted_returns(r, gamma=0.95, dones=d, truncated=u, next_values=nv, last_value=last)
    torch.testing.assert_close(ours, loop_returns(r, d, u, nv, last, 0.95), rtol=1e-12, atol=1e-12)
    # without flags and gamma = 1: the reversed cumulative sum
    plain = discounted_returns(r, gamma=1.0)
    torch.testing.assert_close(plain, r.flip(0).cumsum(0).flip(0), rtol=1e-12, atol=1e-12)


def test_lam_one_is_the_monte_carlo_return_minus_v_and_lam_zero_the_td_residual():
    r, v, d, u, nv, last = rollout(T=50, seed=3)
    kw = dict(dones=d, truncated=u, next_values=nv, last_value=last)
    returns = discounted_returns(r, gamma=0.9, **kw)
    torch.testing.assert_close(gae(r, v, gamma=0.9, lam=1.0, **kw), returns - v, rtol=1e-12, atol=1e-12)
    following = torch.cat([v[1:], last[None]])
    following = torch.where(u, nv, following)
    td = r + 0.9 * (~d).to(F64) * following - v
    torch.testing.assert_close(gae(r, v, gamma=0.9, lam=0.0, **kw), td, rtol=1e-12, atol=1e-12)


def test_truncation_bootstraps_and_termination_does_not():
    r = torch.ones(3, dtype=F64)
    v = torch.zeros(3, dtype=F64)
    nv = torch.full((3,), 10.0, dtype=F64)
    cut = torch.tensor([False, True, False])
    truncated = gae(r, v, gamma=0.5, lam=1.0, truncated=cut, next_values=nv)
    terminated = gae(r, v, gamma=0.5, lam=1.0, dones=cut)
    both = gae(r, v, gamma=0.5, lam=1.0, dones=cut, truncated=cut, next_values=nv)
    # step 1 bootstraps from 10 when truncated; step 0 sees step 1's target; step 2 is a new episode
    torch.testing.assert_close(truncated, torch.tensor([1 + 0.5 * 6, 1 + 0.5 * 10, 1.0], dtype=F64))
    torch.testing.assert_close(terminated, torch.tensor([1.5, 1.0, 1.0], dtype=F64))
    torch.testing.assert_close(both, terminated)  # terminated wins


def _torchrl_layout(r, v, d, u, nv, last):
    """Our (T, B) time-first tensors in torchrl's (B, T, 1) layout (time_dim=-2), with its flags:
    torchrl's `done` ends the GAE sum (terminated or truncated), its `terminated` drops the
    bootstrap, and `next_state_value[t]` is the value that follows step t."""
    following = torch.where(u, nv, torch.cat([v[1:], last[None]]))

    def to_trl(x):
        return x.transpose(0, 1).unsqueeze(-1)

    return (to_trl(v), to_trl(following), to_trl(r), to_trl(d | u), to_trl(d))


def test_gae_matches_torchrl_generalized_advantage_estimate():
    r, v, d, u, nv, last = rollout(T=64, shape=(7,), seed=4)
    ours = gae(r, v, gamma=0.99, lam=0.95, dones=d, truncated=u, next_values=nv, last_value=last)
    value, next_value, reward, done, terminated = _torchrl_layout(r, v, d, u, nv, last)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(F64)  # torchrl multiplies gamma by integer flags, which gives the default dtype
    try:
        ref, _ = trl.generalized_advantage_estimate(
            0.99, 0.95, value, next_value, reward, done, terminated, time_dim=-2
        )
    finally:
        torch.set_default_dtype(previous)
    torch.testing.assert_close(ours, ref.squeeze(-1).T, rtol=1e-12, atol=1e-12)
    # the vectorised version truncates the geometric series at 1e-7 relative weight
    ref_vec, _ = trl.vec_generalized_advantage_estimate(0.99, 0.95, value, next_value, reward, done, terminated)
    torch.testing.assert_close(ours, ref_vec.squeeze(-1).T, rtol=0, atol=1e-5)


def test_discounted_returns_match_torchrl():
    r, _, d, u, nv, last = rollout(T=48, shape=(5,), seed=5)
    # reward2go: done flags only, no bootstrap; the end of the batch ends every trajectory
    ref = trl.reward2go(r.T.unsqueeze(-1), d.T.unsqueeze(-1), 0.9, time_dim=-2).squeeze(-1).T
    torch.testing.assert_close(discounted_returns(r, gamma=0.9, dones=d), ref, rtol=0, atol=1e-5)
    # TD(1) with bootstrapping at truncation: torchrl's td1 return with next_state_value
    following = torch.where(u, nv, torch.cat([torch.zeros_like(r[1:]), last[None]]))
    ref_td1 = (
        trl.td1_return_estimate(
            0.9,
            following.T.unsqueeze(-1),
            r.T.unsqueeze(-1),
            (d | u).T.unsqueeze(-1),
            d.T.unsqueeze(-1),
        )
        .squeeze(-1)
        .T
    )
    ours = discounted_returns(r, gamma=0.9, dones=d, truncated=u, next_values=nv, last_value=last)
    torch.testing.assert_close(ours, ref_td1, rtol=1e-12, atol=1e-12)


def _collect(make_env, n_envs, T, value_fn, seed):
    """T steps of a random policy in a Gymnasium vector env with SAME_STEP autoreset."""
    envs = gym.vector.SyncVectorEnv([make_env] * n_envs, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    rng = np.random.default_rng(seed)
    obs, _ = envs.reset(seed=seed)
    steps = []
    for _ in range(T):
        action = rng.integers(0, 2, n_envs)
        next_obs, reward, terminated, truncated, info = envs.step(action)
        # SAME_STEP: where an episode ended, next_obs is already the reset observation and the
        # observation the episode ended in is in info["final_obs"]
        ended = terminated | truncated
        final = np.array([info["final_obs"][i] if ended[i] else next_obs[i] for i in range(n_envs)])
        steps.append(dict(obs=obs, reward=reward, terminated=terminated, truncated=truncated, final=final))
        obs = next_obs
    envs.close()
    stack = {k: np.stack([s[k] for s in steps]) for k in steps[0]}
    return stack, obs


def _episode_advantages(stack, last_obs, value_fn, gamma, lam):
    """An independent reference: split each environment's column into episodes and sum
    (gamma lam)^k delta_{t+k} directly inside each one, bootstrapping by how it ended."""
    T, n = stack["reward"].shape
    adv = np.zeros((T, n))
    for j in range(n):
        start = 0
        for t in range(T):
            ended = stack["terminated"][t, j] or stack["truncated"][t, j] or t == T - 1
            if not ended:
                continue
            idx = list(range(start, t + 1))
            values = [value_fn(stack["obs"][k, j]) for k in idx]
            if stack["terminated"][t, j]:
                end_value = 0.0
            elif stack["truncated"][t, j]:
                end_value = value_fn(stack["final"][t, j])
            else:
                end_value = value_fn(last_obs[j])
            following = values[1:] + [end_value]
            deltas = [stack["reward"][k, j] + gamma * following[i] - values[i] for i, k in enumerate(idx)]
            for i, k in enumerate(idx):
                adv[k, j] = sum((gamma * lam) ** m * deltas[i + m] for m in range(len(idx) - i))
            start = t + 1
    return adv


@pytest.mark.parametrize("which", ["corridor", "cartpole"])
def test_gae_on_a_gymnasium_vector_env_with_same_step_autoreset_and_truncation(which):
    if which == "corridor":
        table = np.array([-3.0, -2.0, -1.5, 0.0])

        def make_env():
            return ShortCorridor(max_episode_steps=4)

        def value_fn(o):
            return float(table[int(o)])
    else:
        w = np.array([0.5, -1.0, 2.0, 0.3])

        def make_env():
            return gym.make("CartPole-v1", max_episode_steps=12)

        def value_fn(o):
            return float(np.asarray(o, dtype=np.float64) @ w)

    stack, last_obs = _collect(make_env, n_envs=4, T=40, value_fn=value_fn, seed=7)
    assert stack["truncated"].any() and stack["terminated"].any() or which == "cartpole"
    assert stack["truncated"].any()
    values = (
        np.vectorize(value_fn, signature="(d)->()")(stack["obs"])
        if stack["obs"].ndim == 3
        else (np.vectorize(value_fn)(stack["obs"]))
    )
    next_values = np.zeros_like(values)
    for t, j in zip(*np.nonzero(stack["truncated"]), strict=True):
        next_values[t, j] = value_fn(stack["final"][t, j])
    last_value = np.array([value_fn(o) for o in last_obs])
    ours = gae(
        stack["reward"].astype(np.float64),
        values,
        gamma=0.9,
        lam=0.8,
        dones=stack["terminated"],
        truncated=stack["truncated"],
        next_values=next_values,
        last_value=last_value,
    )
    ref = _episode_advantages(stack, last_obs, value_fn, 0.9, 0.8)
    torch.testing.assert_close(ours, torch.from_numpy(ref), rtol=1e-10, atol=1e-10)


def test_gae_gradcheck_and_differentiable_inputs():
    r, v, d, u, nv, last = rollout(T=9, shape=(2,), seed=6)
    for x in (r, v, nv, last):
        x.requires_grad_()

    def fn(r, v, nv, last):
        return gae(r, v, gamma=0.9, lam=0.7, dones=d, truncated=u, next_values=nv, last_value=last)

    assert torch.autograd.gradcheck(fn, (r, v, nv, last))
    assert torch.autograd.gradcheck(
        lambda r, nv, last: discounted_returns(r, gamma=0.8, dones=d, truncated=u, next_values=nv, last_value=last),
        (r, nv, last),
    )


def test_gae_dtypes_flags_and_scalar_last_value():
    r, v, d, u, nv, last = rollout(T=12, seed=8)
    ref = gae(r, v, gamma=0.9, lam=0.9, dones=d)
    # float32 rewards with float64 values promote to float64; 0/1 float and int flags equal bool ones
    mixed = gae(r.float(), v, gamma=0.9, lam=0.9, dones=d.double())
    assert mixed.dtype == F64
    torch.testing.assert_close(mixed, ref, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(gae(r, v, gamma=0.9, lam=0.9, dones=d.long()), ref)
    assert gae(r.float(), v.float(), gamma=0.9, lam=0.9).dtype == torch.float32
    # integer rewards become the default float dtype
    assert discounted_returns(torch.ones(4, dtype=torch.long), gamma=1.0).tolist() == [4.0, 3.0, 2.0, 1.0]
    # a scalar last value applies to every environment
    torch.testing.assert_close(
        gae(r, v, gamma=0.9, lam=0.9, last_value=2.0), gae(r, v, gamma=0.9, lam=0.9, last_value=torch.full((5,), 2.0))
    )
    # numpy arrays and lists are accepted
    assert torch.allclose(discounted_returns(np.array([1.0, 1.0]), gamma=0.5), torch.tensor([1.5, 1.0], dtype=F64))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(rewards=torch.ones(4), values=torch.ones(5)), ValueError, "rewards and values must have the same shape"),
        (dict(rewards=torch.ones(4, 2), values=torch.ones(4)), ValueError, "rewards and values"),
        (dict(dones=torch.ones(3)), ValueError, "dones"),
        (dict(dones=torch.full((4,), 0.5)), ValueError, "dones must hold 0/1 flags"),
        (dict(truncated=torch.zeros(4)), ValueError, "truncated needs next_values"),
        (dict(next_values=torch.zeros(4)), ValueError, "next_values is only read where truncated"),
        (dict(truncated=torch.zeros(4), next_values=torch.zeros(3)), ValueError, "next_values"),
        (dict(last_value=torch.zeros(3)), ValueError, "last_value must be a number or have shape"),
        (dict(gamma=1.5), ValueError, "gamma must lie in"),
        (dict(lam=-0.1), ValueError, "lam must lie in"),
        (dict(gamma="0.9"), TypeError, "gamma must be a real number"),
        (dict(rewards=torch.tensor(1.0), values=torch.tensor(1.0)), ValueError, "rewards must have a time axis"),
        (dict(rewards=torch.empty(0), values=torch.empty(0)), ValueError, "rewards is empty"),
        (dict(rewards="abc"), TypeError, "rewards"),
        (dict(values=None), TypeError, "values"),
    ],
)
def test_gae_refuses_bad_input(kwargs, error, match):
    args = dict(rewards=torch.ones(4), values=torch.ones(4), gamma=0.9, lam=0.95)
    args.update(kwargs)
    rewards, values = args.pop("rewards"), args.pop("values")
    with pytest.raises(error, match=match):
        gae(rewards, values, **args)


def test_returns_and_advantages_nan_policy():
    r = torch.tensor([1.0, float("nan"), 1.0])
    v = torch.zeros(3)
    with pytest.raises(ValueError, match="rewards must be finite"):
        discounted_returns(r, gamma=0.9)
    with pytest.raises(ValueError, match="values must be finite"):
        gae(v, r, gamma=0.9, lam=0.9)
    with pytest.raises(ValueError, match="next_values must be finite where truncated"):
        gae(v, v, gamma=0.9, lam=0.9, truncated=[0, 1, 0], next_values=r)
    # entries of next_values where truncated is 0 are not read
    assert torch.isfinite(gae(v, v, gamma=0.9, lam=0.9, truncated=[1, 0, 0], next_values=r)).all()
    with objlib.value_checks(False):
        out = discounted_returns(r, gamma=0.9)
        assert torch.isnan(out[:2]).all() and out[2] == 1.0  # NaN flows backwards in time only
        assert torch.isnan(gae(v, r, gamma=0.9, lam=0.9)[:2]).all()


# ---------------------------------------------------------------------------------------
# reinforce_loss and actor_critic_loss
# ---------------------------------------------------------------------------------------


def test_reinforce_loss_value_gradient_and_detached_weights():
    g = torch.Generator().manual_seed(10)
    logp = torch.randn(6, 3, generator=g, dtype=F64).requires_grad_()
    G = torch.randn(6, 3, generator=g, dtype=F64).requires_grad_()
    b = torch.randn(6, 3, generator=g, dtype=F64).requires_grad_()
    loss = reinforce_loss(logp, G, baseline=b)
    torch.testing.assert_close(loss, -(logp * (G - b)).mean())
    loss.backward()
    torch.testing.assert_close(logp.grad, -(G - b).detach() / 18)
    assert G.grad is None and b.grad is None  # constants for the policy gradient
    torch.testing.assert_close(reinforce_loss(logp, G, reduction="sum"), -(logp * G).sum())
    torch.testing.assert_close(reinforce_loss(logp, G, baseline=0.5, reduction="none"), -logp * (G - 0.5))
    assert torch.autograd.gradcheck(
        lambda x: reinforce_loss(x, G.detach(), baseline=b.detach()), (logp.detach().requires_grad_(),)
    )


def test_reinforce_estimator_is_unbiased_on_a_bandit():
    """Monte Carlo: the average REINFORCE gradient over n pulls is within 5 standard errors of the
    exact gradient of J(theta) = sum_a softmax(theta)_a mu_a (with and without a baseline)."""
    g = torch.Generator().manual_seed(11)
    mu = torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=F64)
    theta = torch.tensor([0.3, -0.2, 0.5, 0.0], dtype=F64, requires_grad=True)
    exact = torch.autograd.grad((torch.softmax(theta, 0) * mu).sum(), theta)[0]
    n = 20_000
    pi = torch.softmax(theta.detach(), 0)
    actions = torch.multinomial(pi, n, replacement=True, generator=g)
    rewards = mu[actions] + torch.randn(n, generator=g, dtype=F64)
    for baseline in (None, float((pi * mu).sum())):
        per_sample = theta.detach().expand(n, 4).clone().requires_grad_()  # one copy of theta per pull
        logp = torch.log_softmax(per_sample, -1).gather(1, actions[:, None]).squeeze(1)
        # the gradient of -loss is the estimator; reduction="sum" keeps each pull's own gradient
        (-reinforce_loss(logp, rewards, baseline=baseline, reduction="sum")).backward()
        grads = per_sample.grad
        mean, se = grads.mean(0), grads.std(0) / math.sqrt(n)
        assert ((mean - exact).abs() < 5 * se).all(), (mean, exact, se)
    assert torch.autograd.gradcheck(
        lambda x: reinforce_loss(x, rewards[:5]), (torch.randn(5, dtype=F64, requires_grad=True),)
    )


def test_actor_critic_loss_parts_and_gradients():
    g = torch.Generator().manual_seed(12)
    logp = torch.randn(8, 2, generator=g, dtype=F64).requires_grad_()
    V = torch.randn(8, 2, generator=g, dtype=F64).requires_grad_()
    G = torch.randn(8, 2, generator=g, dtype=F64).requires_grad_()
    H = torch.rand(8, 2, generator=g, dtype=F64).requires_grad_()
    total = actor_critic_loss(logp, V, G, value_coef=0.25, entropy=H, entropy_coef=0.1)
    parts = reinforce_loss(logp, G, baseline=V) + 0.25 * ((V - G.detach()) ** 2).mean() - 0.1 * H.mean()
    torch.testing.assert_close(total, parts)
    total.backward()
    torch.testing.assert_close(logp.grad, -(G - V).detach() / 16)
    torch.testing.assert_close(V.grad, 0.25 * 2 * (V - G).detach() / 16)
    torch.testing.assert_close(H.grad, torch.full_like(H, -0.1 / 16))
    assert G.grad is None
    none = actor_critic_loss(logp, V, G, reduction="none")
    assert none.shape == (8, 2)
    torch.testing.assert_close(none.sum(), actor_critic_loss(logp, V, G, reduction="sum"))
    assert torch.autograd.gradcheck(
        lambda a, c: actor_critic_loss(a, V.detach(), G.detach(), entropy=c),
        (logp.detach().requires_grad_(), H.detach().requires_grad_()),
    )
    # in V only the value term has a gradient (the advantage is a constant): check it with log_probs = 0
    zero = torch.zeros_like(logp.detach())
    assert torch.autograd.gradcheck(lambda b: actor_critic_loss(zero, b, G.detach()), (V.detach().requires_grad_(),))


# ---------------------------------------------------------------------------------------
# PPO
# ---------------------------------------------------------------------------------------


def cleanrl_pg_loss(logp, old, adv, eps):
    """The policy loss as CleanRL writes it: max of the two negated surrogates."""
    ratio = (logp - old).exp()
    return torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - eps, 1 + eps))


def test_ppo_clip_loss_matches_the_formula_and_cleanrl():
    g = torch.Generator().manual_seed(13)
    logp = 0.3 * torch.randn(500, generator=g, dtype=F64)
    old = 0.3 * torch.randn(500, generator=g, dtype=F64)
    adv = torch.randn(500, generator=g, dtype=F64)
    for eps in (0.1, 0.2, 0.5):
        ratio = (logp - old).exp()
        formula = -torch.min(ratio * adv, ratio.clamp(1 - eps, 1 + eps) * adv)
        torch.testing.assert_close(ppo_clip_loss(logp, old, adv, clip_eps=eps, reduction="none"), formula)
        torch.testing.assert_close(
            ppo_clip_loss(logp, old, adv, clip_eps=eps), cleanrl_pg_loss(logp, old, adv, eps).mean()
        )
    unclipped = ppo_clip_loss(logp, old, adv, clip_eps=math.inf, reduction="none")
    torch.testing.assert_close(unclipped, -(logp - old).exp() * adv)


def test_ppo_gradient_is_zero_exactly_where_the_ratio_is_clipped():
    g = torch.Generator().manual_seed(14)
    logp = (0.5 * torch.randn(400, generator=g, dtype=F64)).requires_grad_()
    old = 0.5 * torch.randn(400, generator=g, dtype=F64)
    adv = torch.randn(400, generator=g, dtype=F64)
    eps = 0.2
    ppo_clip_loss(logp, old, adv, clip_eps=eps, reduction="sum").backward()
    ratio = (logp - old).exp().detach()
    clipped = ((adv > 0) & (ratio > 1 + eps)) | ((adv < 0) & (ratio < 1 - eps))
    assert clipped.sum() > 50 and (~clipped).sum() > 50  # both cases are exercised
    assert (logp.grad[clipped] == 0).all()
    torch.testing.assert_close(logp.grad[~clipped], -(adv * ratio)[~clipped])  # d(r A)/d log pi = r A


def test_ppo_clip_loss_stable_at_extreme_ratios_and_detaches_old():
    logp = torch.tensor([100.0, 100.0, -100.0, 0.0], requires_grad=True)
    old = torch.tensor([0.0, 0.0, 0.0, 0.0], requires_grad=True)
    adv = torch.tensor([1.0, 0.0, -1.0, 2.0], requires_grad=True)
    loss = ppo_clip_loss(logp, old, adv, reduction="none")
    # ratio e^100 overflows float32: a positive advantage is clipped at 1.2, a zero one stays 0
    assert loss.tolist() == pytest.approx([-1.2, 0.0, 0.8, -2.0])
    loss.sum().backward()
    assert torch.isfinite(logp.grad).all() and logp.grad[:3].tolist() == [0.0, 0.0, 0.0]
    assert old.grad is None and adv.grad is None


def test_ppo_clip_loss_gradcheck():
    g = torch.Generator().manual_seed(15)
    logp = 0.1 * torch.randn(40, generator=g, dtype=F64)
    old = 0.1 * torch.randn(40, generator=g, dtype=F64)
    adv = torch.randn(40, generator=g, dtype=F64)
    # away from the kinks |r - 1| = eps, where finite differences straddle the corner
    keep = ((logp - old).exp().sub(1).abs() - 0.05).abs() > 1e-3
    logp, old, adv = logp[keep].requires_grad_(), old[keep], adv[keep]
    assert len(logp) > 30
    assert torch.autograd.gradcheck(lambda x: ppo_clip_loss(x, old, adv, clip_eps=0.05), (logp,))


def test_ppo_value_loss_matches_cleanrl():
    g = torch.Generator().manual_seed(16)
    V = torch.randn(300, generator=g, dtype=F64).requires_grad_()
    V_old = torch.randn(300, generator=g, dtype=F64)
    G = torch.randn(300, generator=g, dtype=F64)
    eps = 0.3
    clipped = V_old + torch.clamp(V - V_old, -eps, eps)
    cleanrl = 0.5 * torch.max((V - G) ** 2, (clipped - G) ** 2).mean()
    torch.testing.assert_close(ppo_value_loss(V, V_old, G, clip_eps=eps), cleanrl)
    torch.testing.assert_close(ppo_value_loss(V, V_old, G), 0.5 * ((V - G) ** 2).mean())
    # where the clipped error is the larger and V has left the band, the gradient is zero
    ppo_value_loss(V, V_old, G, clip_eps=eps, reduction="sum").backward()
    frozen = ((clipped - G) ** 2 > (V - G) ** 2) & ((V - V_old).abs() > eps)
    assert frozen.sum() > 10 and (V.grad[frozen.detach()] == 0).all()
    assert torch.autograd.gradcheck(
        lambda v: ppo_value_loss(v, V_old[:10], G[:10]), (V.detach()[:10].requires_grad_(),)
    )


def test_approx_kl_k3_is_unbiased_for_kl_old_new():
    """Monte Carlo over 200,000 draws from the old policy: the mean of k3 is within 5 standard
    errors of the exact KL(old || new); every sample is >= 0; and for close policies it has a
    smaller variance than the naive k1 = -log r."""
    g = torch.Generator().manual_seed(17)
    old_logits = torch.randn(6, generator=g, dtype=F64)
    for scale in (0.1, 1.0):
        new_logits = old_logits + scale * torch.randn(6, generator=g, dtype=F64)
        old_p, new_p = torch.softmax(old_logits, 0), torch.softmax(new_logits, 0)
        exact = kl(old_p, new_p)
        a = torch.multinomial(old_p, 200_000, replacement=True, generator=g)
        samples = approx_kl(new_p.log()[a], old_p.log()[a], reduction="none")
        assert (samples >= 0).all()
        se = samples.std() / math.sqrt(len(samples))
        assert abs(samples.mean() - exact) < 5 * se, (samples.mean(), exact, se)
        k1 = old_p.log()[a] - new_p.log()[a]
        if scale == 0.1:
            assert samples.var() < 0.1 * k1.var()
    torch.testing.assert_close(approx_kl(torch.tensor([0.0]), torch.tensor([-1.0])), torch.tensor(math.e - 2))
    tiny = approx_kl(torch.tensor([1e-8], dtype=F64), torch.tensor([0.0], dtype=F64))
    torch.testing.assert_close(tiny, torch.tensor(0.5e-16, dtype=F64), rtol=1e-6, atol=0)  # ~ x^2 / 2
    x = torch.randn(5, dtype=F64, requires_grad=True)
    y = torch.randn(5, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(approx_kl, (x, y))


@pytest.mark.parametrize(
    ("fn", "args", "match"),
    [
        (reinforce_loss, (torch.ones(3), torch.ones(4)), "log_probs and returns must have the same shape"),
        (reinforce_loss, (torch.ones(3), torch.ones(3)), None),
        (actor_critic_loss, (torch.ones(3), torch.ones(2), torch.ones(3)), "log_probs and values"),
        (actor_critic_loss, (torch.ones(3), torch.ones(3), torch.ones(2)), "log_probs and returns"),
        (ppo_clip_loss, (torch.ones(3), torch.ones(3), torch.ones(2)), "log_probs and advantages"),
        (ppo_clip_loss, (torch.ones(3), torch.ones(2), torch.ones(3)), "log_probs and old_log_probs"),
        (ppo_value_loss, (torch.ones(3), torch.ones(3), torch.ones(1)), "values and returns"),
        (approx_kl, (torch.ones(2, 2), torch.ones(4)), "log_probs and old_log_probs"),
        (approx_kl, (torch.empty(0), torch.empty(0)), "log_probs is empty"),
        (soft_policy_loss, (torch.ones(3), torch.ones(4)), "q_values and logits"),
    ],
)
def test_losses_refuse_mismatched_shapes(fn, args, match):
    kwargs = {"alpha": 1.0} if fn is soft_policy_loss else {}
    if match is None:
        fn(*args, **kwargs)
        return
    with pytest.raises(ValueError, match=match):
        fn(*args, **kwargs)


def test_losses_refuse_bad_hyperparameters_and_reductions():
    x = torch.zeros(3)
    with pytest.raises(ValueError, match="clip_eps must lie in"):
        ppo_clip_loss(x, x, x, clip_eps=0.0)
    with pytest.raises(ValueError, match="clip_eps must lie in"):
        ppo_value_loss(x, x, x, clip_eps=-1.0)
    with pytest.raises(ValueError, match="value_coef must lie in"):
        actor_critic_loss(x, x, x, value_coef=-0.5)
    with pytest.raises(ValueError, match="alpha must lie in"):
        soft_optimal_policy(x, alpha=0.0)
    with pytest.raises(ValueError, match="baseline"):
        reinforce_loss(x, x, baseline=torch.zeros(2))
    with pytest.raises(TypeError, match="returns"):
        reinforce_loss(x, "abc")
    for fn, args in ((reinforce_loss, (x, x)), (ppo_clip_loss, (x, x, x)), (approx_kl, (x, x))):
        with pytest.raises(ValueError, match="reduction must be one of"):
            fn(*args, reduction="batchmean")


def test_losses_nan_policy_and_mixed_dtypes():
    nan = torch.tensor([0.0, float("nan")])
    ok = torch.zeros(2)
    cases = [
        (reinforce_loss, (nan, ok), "log_probs"),
        (reinforce_loss, (ok, nan), "returns"),
        (actor_critic_loss, (ok, nan, ok), "values"),
        (ppo_clip_loss, (ok, ok, nan), "advantages"),
        (ppo_clip_loss, (ok, nan, ok), "old_log_probs"),
        (ppo_value_loss, (ok, ok, nan), "returns"),
        (approx_kl, (nan, ok), "log_probs"),
    ]
    for fn, args, name in cases:
        with pytest.raises(ValueError, match=f"{name} must be finite"):
            fn(*args)
        with objlib.value_checks(False):
            assert torch.isnan(fn(*args)), fn.__name__  # propagates, never becomes a number
    half, double = torch.zeros(3, dtype=torch.float32), torch.zeros(3, dtype=F64)
    assert ppo_clip_loss(half, double, double).dtype == F64
    assert approx_kl(half, double).dtype == F64
    assert actor_critic_loss(half, double, half).dtype == F64
    assert reinforce_loss(torch.zeros(3), torch.ones(3, dtype=torch.long)).dtype == torch.float32


# ---------------------------------------------------------------------------------------
# the maximum-entropy objective
# ---------------------------------------------------------------------------------------


def test_soft_policy_loss_identity_and_optimum():
    """loss(pi) = -alpha logsumexp(Q / alpha) + alpha KL(pi || softmax(Q / alpha)): the closed form's
    optimum and value, for random policies and temperatures."""
    g = torch.Generator().manual_seed(18)
    Q = torch.randn(10, 5, generator=g, dtype=F64)
    logits = torch.randn(10, 5, generator=g, dtype=F64)
    for alpha in (0.05, 0.5, 3.0):
        star = soft_optimal_policy(Q, alpha=alpha)
        gap = alpha * kl(torch.softmax(logits, -1), star, reduction="none")
        torch.testing.assert_close(
            soft_policy_loss(logits, Q, alpha=alpha, reduction="none"), -soft_value(Q, alpha=alpha) + gap
        )
        torch.testing.assert_close(
            soft_policy_loss(Q / alpha, Q, alpha=alpha, reduction="none"), -soft_value(Q, alpha=alpha)
        )
        # the gradient vanishes at the closed form
        at_star = (Q / alpha).clone().requires_grad_()
        soft_policy_loss(at_star, Q, alpha=alpha).backward()
        assert at_star.grad.abs().max() < 1e-12
    torch.testing.assert_close(soft_value(Q, alpha=1e-3), Q.max(-1).values, atol=1e-3 * math.log(5), rtol=0)
    assert torch.autograd.gradcheck(lambda z: soft_policy_loss(z, Q, alpha=0.7), (logits.clone().requires_grad_(),))
    assert torch.autograd.gradcheck(lambda q: soft_value(q, alpha=0.7), (Q.clone().requires_grad_(),))


def test_soft_policy_loss_by_gradient_descent_reaches_the_boltzmann_policy():
    Q = torch.tensor([1.0, 0.5, 0.0, -1.0], dtype=F64)
    logits = torch.zeros(4, dtype=F64, requires_grad=True)
    opt = torch.optim.SGD([logits], lr=2.0)
    for _ in range(500):
        opt.zero_grad()
        soft_policy_loss(logits, Q, alpha=1.0).backward()
        opt.step()
    torch.testing.assert_close(torch.softmax(logits, 0), soft_optimal_policy(Q, alpha=1.0), atol=1e-10, rtol=0)


def test_soft_policy_loss_stable_at_extreme_logits():
    z = torch.tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    q = torch.tensor([[1.0, 2.0, 3.0]])
    loss = soft_policy_loss(z, q, alpha=0.1)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()
    assert loss.item() == pytest.approx(-1.0)  # all mass on action 0, no entropy


# ---------------------------------------------------------------------------------------
# exact tabular values
# ---------------------------------------------------------------------------------------


def corridor_value(p):
    """Sutton and Barto's example 13.1 in closed form: V(s0) = 2 (p - 2) / (p (1 - p))."""
    return 2 * (p - 2) / (p * (1 - p))


def test_policy_evaluation_matches_the_closed_form_of_the_short_corridor():
    env = ShortCorridor()
    for p in (0.1, 2 - math.sqrt(2), 0.8):
        policy = torch.tensor([[1 - p, p]] * 4, dtype=F64)
        out = policy_evaluation(env.transitions, env.rewards, policy, gamma=1.0, terminal=env.terminal_states)
        assert out.values[0].item() == pytest.approx(corridor_value(p), rel=1e-12)
        assert out.values[3] == 0 and (out.q_values[3] == 0).all()
        # V = sum_a pi Q in every state
        torch.testing.assert_close((policy * out.q_values).sum(-1), out.values)
    assert corridor_value(2 - math.sqrt(2)) == pytest.approx(-11.657, abs=1e-3)


def test_policy_evaluation_gradient_is_the_exact_policy_gradient():
    """d V(s0) / d theta by autograd through the linear solve, against central finite differences of the
    closed form, for the aliased one-parameter policy p = sigmoid(theta)."""
    env = ShortCorridor()
    theta = torch.tensor(0.3, dtype=F64, requires_grad=True)
    p = torch.sigmoid(theta)
    policy = torch.stack([1 - p, p]).expand(4, 2)
    v0 = policy_evaluation(env.transitions, env.rewards, policy, gamma=1.0, terminal=env.terminal_states).values[0]
    (grad,) = torch.autograd.grad(v0, theta)
    h = 1e-6
    fd = (corridor_value(torch.sigmoid(theta + h).item()) - corridor_value(torch.sigmoid(theta - h).item())) / (2 * h)
    assert grad.item() == pytest.approx(fd, rel=1e-6)


def test_policy_evaluation_matches_iterating_the_bellman_operator():
    g = torch.Generator().manual_seed(19)
    P = torch.softmax(3 * torch.randn(6, 3, 6, generator=g, dtype=F64), -1)
    R = torch.randn(6, 3, generator=g, dtype=F64)
    pi = torch.softmax(torch.randn(6, 3, generator=g, dtype=F64), -1)
    V = torch.zeros(6, dtype=F64)
    for _ in range(2000):
        V = (pi * (R + 0.9 * torch.einsum("sat,t->sa", P, V))).sum(-1)
    torch.testing.assert_close(policy_evaluation(P, R, pi, gamma=0.9).values, V, rtol=1e-10, atol=1e-10)
    vi = value_iteration(P, R, gamma=0.9)
    greedy = torch.nn.functional.one_hot(vi.q_values.argmax(-1), 3).to(F64)
    torch.testing.assert_close(policy_evaluation(P, R, greedy, gamma=0.9).values, vi.values, rtol=1e-9, atol=1e-9)
    # no policy does better than the optimum in any state
    for _ in range(20):
        other = torch.softmax(torch.randn(6, 3, generator=g, dtype=F64) * 3, -1)
        assert (policy_evaluation(P, R, other, gamma=0.9).values <= vi.values + 1e-9).all()


def test_value_iteration_on_the_short_corridor_and_its_warning():
    env = ShortCorridor()
    vi = value_iteration(env.transitions, env.rewards, gamma=1.0, terminal=env.terminal_states)
    assert vi.values.tolist() == [-3.0, -2.0, -1.0, 0.0]  # seeing the state: three steps to the goal
    assert vi.q_values.argmax(-1)[:3].tolist() == [1, 0, 1]  # right, left (switched), right
    with pytest.warns(UserWarning, match="value_iteration stopped at max_iter=3"):
        value_iteration(env.transitions, env.rewards, gamma=0.999, max_iter=3)


def test_tabular_helpers_refuse_bad_tables():
    env = ShortCorridor()
    P, R, T = env.transitions, env.rewards, env.terminal_states
    pi = np.full((4, 2), 0.5)
    with pytest.raises(ValueError, match="transitions must have shape"):
        policy_evaluation(P[:, :, :3], R, pi, gamma=1.0)
    with pytest.raises(ValueError, match="transitions must sum to 1"):
        policy_evaluation(P * 0.9, R, pi, gamma=1.0, terminal=T)
    with pytest.raises(ValueError, match="rewards must have shape"):
        policy_evaluation(P, R[:3], pi, gamma=1.0)
    with pytest.raises(ValueError, match="policy must sum to 1"):
        policy_evaluation(P, R, pi * 2, gamma=1.0, terminal=T)
    with pytest.raises(ValueError, match="terminal must have shape"):
        policy_evaluation(P, R, pi, gamma=1.0, terminal=T[:3])
    with pytest.raises(ValueError, match="singular"):
        policy_evaluation(P, R, pi, gamma=1.0)  # the goal's self-loop with gamma = 1 and no terminal mask
    with pytest.raises(ValueError, match="rewards must be finite"):
        value_iteration(P, np.where(R < 0, np.nan, R), gamma=0.9)
