"""Tests for objlib.envs: Gymnasium's checker, seeding, terminated versus truncated, the exposed
tables against the simulator, and the incentives of BoatRace and BlockStack."""

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from objlib.envs import BlockStack, BoatRace, MultiArmedBandit, ShortCorridor
from objlib.rl import policy_evaluation, value_iteration

CONFIGS = [
    ("objlib/MultiArmedBandit-v0", {}),
    ("objlib/MultiArmedBandit-v0", {"means": [0.0, 1.0], "reward_std": 0.0}),
    ("objlib/ShortCorridor-v0", {}),
    ("objlib/ShortCorridor-v0", {"length": 6, "switched_states": (1, 4), "slip": 0.2, "max_episode_steps": 7}),
    ("objlib/BoatRace-v0", {}),
    ("objlib/BoatRace-v0", {"render_mode": "ansi", "slip": 0.3, "token_respawn": None, "progress_reward": 1.0}),
    ("objlib/BoatRace-v0", {"laps": 2, "token_cells": (2, 5, 9), "finish_reward": 5.0, "reverse_penalty": 0.1}),
    ("objlib/BlockStack-v0", {}),
    ("objlib/BlockStack-v0", {"width": 2, "slip": 0.3, "stacked_reward": 1.0, "render_mode": "ansi"}),
]


@pytest.mark.parametrize(("env_id", "kwargs"), CONFIGS)
def test_every_environment_passes_gymnasiums_checker_without_warnings(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker reports most problems as warnings
        check_env(env.unwrapped)


def _trajectory(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    out = [np.asarray(obs, dtype=np.float64).ravel()]
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(a)
        out.append(np.r_[np.asarray(obs, dtype=np.float64).ravel(), reward, terminated, truncated])
        if terminated or truncated:
            obs, _ = env.reset()
    return np.concatenate(out)


@pytest.mark.parametrize(
    "make",
    [
        lambda: MultiArmedBandit(reward_std=1.0),
        lambda: ShortCorridor(slip=0.3, max_episode_steps=10),
        lambda: BoatRace(slip=0.3, max_episode_steps=15),
        lambda: BlockStack(slip=0.3, max_episode_steps=12),
    ],
)
def test_seeding_through_reset_reproduces_episodes(make):
    actions = np.random.default_rng(0).integers(0, 2, 60)
    first, again, other = (_trajectory(make(), s, actions) for s in (3, 3, 4))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_bandit_rewards_have_the_stated_means():
    env = MultiArmedBandit(means=(0.0, 1.0, -2.0), reward_std=0.5)
    env.reset(seed=0)
    for arm, mean in enumerate(env.means):
        rewards = []
        for _ in range(4000):
            _, r, terminated, truncated, info = env.step(arm)
            assert terminated and not truncated and info["mean"] == mean
            rewards.append(r)
        assert abs(np.mean(rewards) - mean) < 5 * 0.5 / math.sqrt(4000)
        assert np.std(rewards) == pytest.approx(0.5, rel=0.05)
    assert info["regret"] == 3.0


def test_short_corridor_tables_agree_with_its_step():
    """Empirical next-state frequencies of step() match `transitions` (within 5 standard errors)."""
    env = ShortCorridor(length=4, switched_states=(1, 2), slip=0.25)
    P = env.transitions
    assert P.shape == (5, 2, 5) and np.allclose(P.sum(-1), 1.0)
    assert env.rewards.shape == (5, 2) and (env.rewards[:4] == -1).all() and (env.rewards[4] == 0).all()
    assert env.terminal_states.tolist() == [False] * 4 + [True]
    assert env.initial_distribution.tolist() == [1.0, 0, 0, 0, 0]
    env.reset(seed=0)
    n = 3000
    for s in range(4):
        for a in (0, 1):
            counts = np.zeros(5)
            for _ in range(n):
                env._state = s  # place the agent (test only)
                nxt, r, *_ = env.step(a)
                counts[nxt] += 1
                assert r == -1.0
            se = np.sqrt(P[s, a] * (1 - P[s, a]) / n) + 1e-12
            assert (np.abs(counts / n - P[s, a]) <= 5 * se + 1e-9).all(), (s, a, counts / n, P[s, a])


def test_short_corridor_terminates_at_the_goal_and_truncates_at_the_limit():
    env = ShortCorridor(max_episode_steps=5)
    env.reset(seed=0)
    outcomes = [env.step(a)[:4] for a in (1, 0, 1)]  # right, left (switched: right), right
    assert [o[0] for o in outcomes] == [1, 2, 3]
    assert outcomes[-1][2] and not outcomes[-1][3]  # terminated, not truncated
    env.reset()
    flags = [env.step(0)[2:4] for _ in range(5)]  # left forever: stuck in state 0
    assert flags == [(False, False)] * 4 + [(False, True)]


def test_short_corridor_policy_value_matches_monte_carlo_returns():
    """The exact value from the tables against the mean return of simulated episodes."""
    env = ShortCorridor(slip=0.1)
    p = 0.6
    policy = np.array([[1 - p, p]] * 4)
    exact = policy_evaluation(env.transitions, env.rewards, policy, gamma=1.0, terminal=env.terminal_states)
    rng = np.random.default_rng(1)
    env.reset(seed=1)
    returns = []
    for _ in range(3000):
        env.reset()
        total, done = 0.0, False
        while not done:
            _, r, done, _, _ = env.step(int(rng.random() < p))
            total += r
        returns.append(total)
    se = np.std(returns) / math.sqrt(len(returns))
    assert abs(np.mean(returns) - exact.values[0].item()) < 5 * se


def test_environments_refuse_bad_arguments_and_actions():
    with pytest.raises(ValueError, match="means must be a non-empty"):
        MultiArmedBandit(means=[])
    with pytest.raises(ValueError, match="reward_std"):
        MultiArmedBandit(reward_std=-1.0)
    with pytest.raises(ValueError, match="switched_states"):
        ShortCorridor(switched_states=(3,))
    with pytest.raises(ValueError, match="slip"):
        ShortCorridor(slip=1.5)
    with pytest.raises(TypeError, match="length"):
        ShortCorridor(length=2.5)
    with pytest.raises(ValueError, match="token_cells"):
        BoatRace(token_cells=(0, 3))
    with pytest.raises(ValueError, match="token_cells"):
        BoatRace(token_cells=(3, 3))
    with pytest.raises(ValueError, match="max_episode_steps"):
        BoatRace(max_episode_steps=0)
    with pytest.raises(ValueError, match="reverse_penalty"):
        BoatRace(reverse_penalty=-1.0)
    with pytest.raises(ValueError, match="render_mode"):
        BoatRace(render_mode="human")
    with pytest.raises(ValueError, match="width"):
        BlockStack(width=1)
    with pytest.raises(TypeError, match="width"):
        BlockStack(width=3.0)
    with pytest.raises(ValueError, match="slip"):
        BlockStack(slip=-0.1)
    with pytest.raises(ValueError, match="stacked_reward"):
        BlockStack(stacked_reward=math.nan)
    with pytest.raises(ValueError, match="max_episode_steps"):
        BlockStack(max_episode_steps=0)
    with pytest.raises(ValueError, match="render_mode"):
        BlockStack(render_mode="rgb_array")
    for env, bad in ((BoatRace(), 2), (BlockStack(), 4)):
        env.reset(seed=0)
        with pytest.raises(ValueError, match="action must be an integer in"):
            env.step(bad)


# ---------------------------------------------------------------------------------------
# BoatRace
# ---------------------------------------------------------------------------------------


def run(env, policy, seed=0):
    """Play one episode with policy(info) -> action; return the total reward and the last info."""
    _, info = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        _, reward, terminated, truncated, info = env.step(policy(info))
        total += reward
        done = terminated or truncated
    return total, info, terminated, truncated


def drive_forward(info):
    return 1


def farm(info):
    """Drive to the first token, then go back and forth across the pair of tokens."""
    return 1 if info["position"] < 4 else 0


def test_boat_race_finishing_terminates_and_farming_truncates():
    env = BoatRace(track_length=12, max_episode_steps=60)
    total, info, terminated, truncated = run(env, drive_forward)
    assert terminated and not truncated and info["finished"] and info["progress"] == 1.0
    assert total == 2.0 and info["tokens_collected"] == 2  # the two tokens on the way
    total, info, terminated, truncated = run(env, farm)
    assert truncated and not terminated and not info["finished"]
    assert info["tokens_collected"] == total == 58  # one token per step from step 3 on
    assert info["progress"] <= 4 / 12


def test_boat_race_rewards_make_farming_pay_unless_progress_is_what_pays():
    """The gaming incentive in numbers: token reward prefers farming, progress reward prefers finishing;
    without respawning, or with a penalty for reversing that outweighs a token, farming stops paying."""
    token_only = BoatRace(max_episode_steps=100)
    assert run(token_only, farm)[0] > 20 * run(token_only, drive_forward)[0]
    progress = BoatRace(token_reward=0.0, progress_reward=1.0, finish_reward=1.0, max_episode_steps=100)
    assert run(progress, drive_forward)[0] == 2.0 and run(progress, farm)[0] <= 4 / 12 + 1e-12
    # progress pays with the token reward still on: shaping by progress alone does not stop farming
    shaped = BoatRace(progress_reward=1.0, max_episode_steps=100)
    assert run(shaped, farm)[0] > run(shaped, drive_forward)[0]
    no_respawn = BoatRace(token_respawn=None, max_episode_steps=100)
    assert run(no_respawn, farm)[0] == run(no_respawn, drive_forward)[0] == 2.0
    penalised = BoatRace(reverse_penalty=2.5, max_episode_steps=100)
    assert run(penalised, farm)[0] < run(penalised, drive_forward)[0]


def test_boat_race_observation_and_info():
    env = BoatRace(track_length=6, token_cells=(2,), token_respawn=4, max_episode_steps=20)
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == (6 + 1 + 1,)
    assert obs[:6].tolist() == [1, 0, 0, 0, 0, 0] and obs[6] == 0 and obs[7] == 0
    assert info == {"position": 0, "progress": 0.0, "finished": False, "tokens": 0, "tokens_collected": 0, "moved": 0}
    obs, reward, *_ = env.step(0)  # back across the start line: cell 5, progress -1/6
    assert obs[5] == 1 and obs[7] == pytest.approx(-1 / 6) and reward == 0.0
    for _ in range(3):
        obs, reward, *_, info = env.step(1)
    assert info["position"] == 2 and info["tokens"] == 1 and reward == 1.0 and obs[6] == 1.0  # just collected
    obs, *_ = env.step(1)
    assert obs[6] == pytest.approx(0.75)  # three of four steps still to wait
    env.render_mode = "ansi"
    assert env.render().startswith("|._B..  progress 3/6")


def test_boat_race_in_a_vector_env_reports_finished_in_final_info():
    envs = gym.vector.SyncVectorEnv(
        [lambda: BoatRace(track_length=5, max_episode_steps=50, token_cells=(2,))] * 3,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    envs.reset(seed=0)
    for _ in range(5):
        obs, reward, terminated, truncated, info = envs.step(np.ones(3, dtype=np.int64))
    assert terminated.all() and not truncated.any()
    assert info["final_info"]["finished"].all()
    assert torch.as_tensor(obs)[:, 0].eq(1).all()  # already reset to the start line


# ---------------------------------------------------------------------------------------
# BlockStack
# ---------------------------------------------------------------------------------------

LEFT, RIGHT, GRASP, TIP = range(4)


def play(env, actions, seed=0):
    """Take `actions` from a reset; return the rewards, the last info and the last flags."""
    env.reset(seed=seed)
    rewards = []
    for a in actions:
        _, reward, terminated, truncated, info = env.step(a)
        rewards.append(reward)
    return rewards, info, terminated, truncated


def test_block_stack_tipping_pays_at_once_and_stacking_after_width_plus_one_actions():
    env = BlockStack(width=5, max_episode_steps=20)
    rewards, info, terminated, truncated = play(env, [TIP] + [LEFT] * 19)
    assert rewards == [1.0] * 20 and info["flipped"] and not info["stacked"]
    assert truncated and not terminated  # no terminal state: the time limit cuts every episode
    stack = [GRASP] + [RIGHT] * 4 + [GRASP]
    rewards, info, _, _ = play(env, stack + [LEFT] * 14)
    assert rewards == [0.0] * 5 + [1.0] * 15 and info["stacked"] and not info["holding"]
    assert info == {"gripper": 0, "holding": False, "flipped": False, "stacked": True, "bottom_height": 1.0}
    # the reward that was meant pays for the stacked block only
    meant = BlockStack(width=5, bottom_face_reward=0.0, stacked_reward=1.0, max_episode_steps=20)
    assert sum(play(meant, [TIP] + [LEFT] * 19)[0]) == 0.0
    assert sum(play(meant, stack + [LEFT] * 14)[0]) == 15.0


def test_block_stack_mechanics():
    env = BlockStack(width=3, render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "v..\nr_b"
    assert env.step(LEFT)[4]["gripper"] == 0  # the row ends there
    env.step(TIP)
    assert env.render() == "v..\nx_b"
    assert env.step(GRASP)[4]["holding"] is False  # a block on its head cannot be grasped
    env.step(TIP)
    assert env.step(GRASP)[4]["holding"] and env.render() == "V..\n__b"
    _, reward, *_, info = env.step(GRASP)  # put it down again: upright, on the table
    assert reward == 0.0 and not info["holding"] and not info["flipped"]
    env.step(GRASP)
    env.step(RIGHT)
    _, reward, *_, info = env.step(GRASP)  # released on cell 1, not on the blue block
    assert reward == 0.0 and not info["stacked"] and env.render() == ".v.\n_rb"
    assert env.step(TIP)[1] == 1.0 and env.step(TIP)[1] == 0.0  # tip over and back
    for a in (GRASP, RIGHT, RIGHT, GRASP):
        _, reward, *_, info = env.step(a)
    assert info["stacked"] and reward == 1.0 and env.render() == "..v\n__R"
    assert env.step(TIP)[4]["stacked"]  # nothing to tip on the blue block
    _, reward, *_, info = env.step(GRASP)  # lifted off the blue block: held, paid nothing
    assert info["holding"] and not info["stacked"] and reward == 0.0
    assert env.step(RIGHT)[4]["gripper"] == 2


def test_block_stack_tables_agree_with_its_step():
    """Every (state, action) of the tables against step(): deterministic without slip, and the
    empirical frequencies within 5 standard errors with it; the reward table likewise."""
    kwargs = {"width": 3, "bottom_face_reward": 0.7, "stacked_reward": 2.0, "step_reward": -0.1}
    env = BlockStack(**kwargs)
    S = 2 * 3**2
    assert env.transitions.shape == (S, 4, S) and np.allclose(env.transitions.sum(-1), 1.0)
    assert env.rewards.shape == (S, 4) and not env.terminal_states.any()
    assert env.initial_distribution.tolist() == [1.0] + [0.0] * (S - 1)
    env.reset(seed=0)
    for s in range(S):
        for a in range(4):
            env._state = s  # place the world (test only)
            nxt, reward, *_, info = env.step(a)
            assert env.transitions[s, a, nxt] == 1.0 and reward == pytest.approx(env.rewards[s, a])
            assert env.bottom_heights[nxt] == info["bottom_height"] and env.stacked[nxt] == info["stacked"]
    slippery = BlockStack(slip=0.25, **kwargs)
    slippery.reset(seed=1)
    P, n = slippery.transitions, 400
    for s in range(0, S, 3):
        for a in range(4):
            counts, paid = np.zeros(S), 0.0
            for _ in range(n):
                slippery._state = s
                nxt, reward, *_ = slippery.step(a)
                counts[nxt] += 1
                paid += reward
            se = np.sqrt(P[s, a] * (1 - P[s, a]) / n)
            assert (np.abs(counts / n - P[s, a]) <= 5 * se + 1e-9).all(), (s, a)
            assert abs(paid / n - slippery.rewards[s, a]) <= 5 * 2.7 / np.sqrt(n)


def _greedy_path(env, gamma, steps):
    tables = {k: torch.as_tensor(getattr(env, k)) for k in ("transitions", "rewards")}
    best = value_iteration(**tables, gamma=gamma, terminal=torch.as_tensor(env.terminal_states))
    state, path = 0, []
    for _ in range(steps):
        action = int(best.q_values[state].argmax())
        path.append(action)
        state = int(env.transitions[state, action].argmax())
    return path, best.values[0].item()


@pytest.mark.parametrize("width", [2, 4, 6])
def test_block_stack_the_optimum_of_the_face_reward_tips_and_that_of_the_outcome_stacks(width):
    gamma = 0.9
    path, value = _greedy_path(BlockStack(width=width), gamma, width + 1)
    assert path[0] == TIP and value == pytest.approx(1 / (1 - gamma))  # paid from the first step on
    meant = BlockStack(width=width, bottom_face_reward=0.0, stacked_reward=1.0)
    path, value = _greedy_path(meant, gamma, width + 1)
    assert path == [GRASP] + [RIGHT] * (width - 1) + [GRASP]
    assert value == pytest.approx(gamma**width / (1 - gamma))
