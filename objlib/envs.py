r"""Small Gymnasium environments written for the book (chapters 9 and 12).

Each class is a ``gymnasium.Env`` that passes ``gymnasium.utils.env_checker.check_env``,
draws every random number from ``self.np_random`` (so ``reset(seed=...)`` makes an episode
reproducible), and separates ``terminated`` (the task ended: a terminal state, whose value is
0) from ``truncated`` (a time limit cut the episode: the state still has a value, and a
learner should bootstrap from it). The time limit is the constructor's ``max_episode_steps``.

* :class:`MultiArmedBandit`: one pull per episode, Gaussian rewards with known means.
* :class:`ShortCorridor`: the short corridor with switched actions of Sutton and Barto
  (2018, example 13.1), a chain MDP that exposes its tables (``transitions``, ``rewards``,
  ``terminal_states``, ``initial_distribution``) so that its values can be computed exactly
  with :func:`objlib.rl.policy_evaluation` and :func:`objlib.rl.value_iteration`.
* :class:`BoatRace`: a one-lap race on a loop track with respawning tokens, after OpenAI's
  CoastRunners agent that circled to farm tokens instead of finishing (Clark and Amodei
  2016); its reward is a weighted sum of terms chosen in the constructor, and ``info``
  reports what the designer meant (``"finished"``, ``"progress"``) beside what was paid.
* :class:`BlockStack`: a gripper that should stack a red block on a blue one, rewarded for
  the height of the red block's bottom face, which tipping the block over satisfies, after
  the Lego stacking task of Popov et al. (2017); it exposes its tables like
  :class:`ShortCorridor`, and ``info`` reports whether the block is stacked.

The environments are registered with Gymnasium as ``objlib/MultiArmedBandit-v0``,
``objlib/ShortCorridor-v0``, ``objlib/BoatRace-v0`` and ``objlib/BlockStack-v0`` when this
module is imported.
Gymnasium is an optional dependency: ``pip install 'objlib[rl]'``.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import gymnasium as gym
    from gymnasium import spaces
except ImportError as err:  # pragma: no cover - exercised only without gymnasium
    raise ImportError("objlib.envs needs gymnasium: pip install 'objlib[rl]'") from err

__all__ = ["MultiArmedBandit", "ShortCorridor", "BoatRace", "BlockStack"]


def _positive_int(value, name: str, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return int(value)


def _time_limit(value) -> int | None:
    return None if value is None else _positive_int(value, "max_episode_steps")


def _real(value, name: str, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must lie in [{low}, {high}], got {value}")
    return value


def _render_mode(value, allowed) -> str | None:
    if value is not None and value not in allowed:
        raise ValueError(f"render_mode must be None or one of {list(allowed)}, got {value!r}")
    return value


def _action(space: spaces.Space, action) -> int:
    # The common cases (a Python or NumPy integer) without Discrete.contains, which costs more
    # than a whole step of these environments.
    assert isinstance(space, spaces.Discrete)  # every environment here has a discrete action space
    if isinstance(action, (int, np.integer)) and not isinstance(action, bool) and 0 <= action < space.n:
        return int(action)
    if not space.contains(action):
        raise ValueError(f"action must be an integer in [0, {space.n}), got {action!r}")
    return int(action)


# ---------------------------------------------------------------------------------------
# a multi-armed bandit
# ---------------------------------------------------------------------------------------


class MultiArmedBandit(gym.Env):
    r"""A K-armed bandit with Gaussian rewards: each episode is one pull.

    Pulling arm :math:`a` pays :math:`r \sim \mathcal N(\mu_a, \sigma^2)` and ends the episode
    (``terminated=True``); the single observation is ``0``. The expected return of a policy
    :math:`\pi` is :math:`J(\pi) = \sum_a \pi(a) \mu_a`, exactly computable from ``means``.
    The sequential-design problem of Robbins (1952), "Some aspects of the sequential design of
    experiments"; Sutton and Barto (2018), chapter 2.

    Args:
        means: the arms' expected rewards :math:`\mu_a` (at least one, finite).
        reward_std: the noise :math:`\sigma \ge 0`.

    ``info`` holds ``"mean"`` (the pulled arm's :math:`\mu_a`) and ``"regret"``
    (:math:`\max_b \mu_b - \mu_a`).

    >>> env = MultiArmedBandit([0.0, 1.0], reward_std=0.0)
    >>> _ = env.reset(seed=0)
    >>> env.step(1)[1:]  # reward, terminated, truncated, info
    (1.0, True, False, {'mean': 1.0, 'regret': 0.0})
    """

    metadata = {"render_modes": []}

    def __init__(self, means=(0.2, 0.5, 1.0, 0.4), *, reward_std: float = 1.0):
        means = np.asarray(means, dtype=np.float64)
        if means.ndim != 1 or means.size == 0:
            raise ValueError(f"means must be a non-empty 1-D sequence, got shape {means.shape}")
        if not np.isfinite(means).all():
            raise ValueError("means must be finite")
        self.means = means
        self.reward_std = _real(reward_std, "reward_std", low=0.0)
        self.observation_space = spaces.Discrete(1)
        self.action_space = spaces.Discrete(means.size)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        arm = _action(self.action_space, action)
        mean = float(self.means[arm])
        reward = mean + self.reward_std * float(self.np_random.standard_normal())
        return 0, reward, True, False, {"mean": mean, "regret": float(self.means.max()) - mean}


# ---------------------------------------------------------------------------------------
# the short corridor: a chain MDP with exact tables
# ---------------------------------------------------------------------------------------


class ShortCorridor(gym.Env):
    r"""Sutton and Barto's short corridor with switched actions: a chain MDP with exposed tables.

    States :math:`0, \dots, n - 1` lie in a row and state :math:`n` (``goal``) is terminal.
    Action 1 moves right and action 0 moves left, except in the *switched* states, where they
    do the opposite; moving left from state 0 leaves the agent there. With probability
    ``slip`` a move goes the other way. Every step pays ``step_reward`` (-1: the return is
    minus the number of steps to the goal). The episode starts in state 0.

    The defaults (three states, the middle one switched) are example 13.1 of Sutton and Barto
    (2018), where a policy that cannot tell the states apart (the same probability of
    "right" everywhere) does best with a *stochastic* choice, about 0.59, for a value of about
    -11.6, while a policy that sees the state reaches the goal in 3 steps.

    Tables, for :func:`objlib.rl.policy_evaluation` and :func:`objlib.rl.value_iteration`
    (``S = n + 1`` states including the goal, ``A = 2`` actions, float64 arrays):
    ``transitions`` ``(S, A, S)`` with :math:`P(s' \mid s, a)` (the goal absorbs),
    ``rewards`` ``(S, A)`` with the expected immediate reward (0 at the goal),
    ``terminal_states`` ``(S,)`` bool and ``initial_distribution`` ``(S,)``.

    Args:
        length: the number :math:`n \ge 1` of non-terminal states.
        switched_states: the states where the actions are reversed.
        slip: the probability in :math:`[0, 1]` that a move goes the other way.
        step_reward: the reward of every step.
        max_episode_steps: the time limit (``truncated=True`` when reached), or None.

    >>> env = ShortCorridor()
    >>> _ = env.reset(seed=0)
    >>> [env.step(a)[:3] for a in (1, 0, 1)]  # right, left (switched: moves right), right
    [(1, -1.0, False), (2, -1.0, False), (3, -1.0, True)]
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        *,
        length: int = 3,
        switched_states=(1,),
        slip: float = 0.0,
        step_reward: float = -1.0,
        max_episode_steps: int | None = None,
    ):
        self.length = _positive_int(length, "length")
        self.switched_states = tuple(sorted({int(s) for s in switched_states}))
        if any(not 0 <= s < self.length for s in self.switched_states):
            raise ValueError(f"switched_states must lie in [0, {self.length}), got {switched_states}")
        self.slip = _real(slip, "slip", low=0.0, high=1.0)
        self.step_reward = _real(step_reward, "step_reward")
        self.max_episode_steps = _time_limit(max_episode_steps)
        self.goal = self.length
        self.observation_space = spaces.Discrete(self.length + 1)
        self.action_space = spaces.Discrete(2)
        self.transitions, self.rewards = self._tables()
        self.terminal_states = np.arange(self.length + 1) == self.goal
        self.initial_distribution = (np.arange(self.length + 1) == 0).astype(np.float64)
        self._state, self._steps = 0, 0

    def _move(self, state: int, right: bool) -> int:
        if state in self.switched_states:
            right = not right
        return min(max(state + (1 if right else -1), 0), self.goal)

    def _tables(self):
        n = self.length + 1
        P = np.zeros((n, 2, n))
        R = np.zeros((n, 2))
        P[self.goal, :, self.goal] = 1.0
        for s in range(self.length):
            for a in (0, 1):
                P[s, a, self._move(s, a == 1)] += 1.0 - self.slip
                P[s, a, self._move(s, a != 1)] += self.slip
                R[s, a] = self.step_reward
        return P, R

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._state, self._steps = 0, 0
        return self._state, {}

    def step(self, action):
        right = _action(self.action_space, action) == 1
        if self.slip and self.np_random.random() < self.slip:
            right = not right
        self._state = self._move(self._state, right)
        self._steps += 1
        terminated = self._state == self.goal
        truncated = not terminated and self.max_episode_steps is not None and self._steps >= self.max_episode_steps
        return self._state, self.step_reward, terminated, truncated, {}


# ---------------------------------------------------------------------------------------
# a boat race with respawning tokens
# ---------------------------------------------------------------------------------------


class BoatRace(gym.Env):
    r"""A one-lap boat race on a loop track, with tokens that respawn: a course to game.

    The track is a loop of ``track_length`` cells; the boat starts on the start line (cell
    0) and moves one cell forward (action 1) or back (action 0) per step; with probability
    ``slip`` it stays where it is. Its *progress* :math:`k` counts cells forward minus cells
    back, and the race is finished (``terminated=True``) when :math:`k` reaches
    ``laps * track_length``. Tokens sit on ``token_cells``; the boat collects a token by
    ending a step on its cell while it is there, and the token comes back
    ``token_respawn`` steps later (never, if None). The episode is truncated after
    ``max_episode_steps`` steps.

    The reward of a step is the weighted sum

    .. math::

        r = w_{\text{token}}\, n_{\text{tokens}} + w_{\text{progress}}\, \frac{\Delta k}{L \cdot \text{laps}}
            + w_{\text{finish}}\, \mathbb 1[\text{finished}] - w_{\text{reverse}}\, \mathbb 1[\Delta k < 0]
            + r_{\text{step}},

    with every weight a constructor argument. The default pays for tokens only, like the score
    of the CoastRunners game (Clark and Amodei 2016): driving back and forth across two
    neighbouring tokens collects one token per step for as long as the episode lasts, while
    finishing ends the income after the few tokens on the way, so an agent trained on this
    reward learns to farm tokens and never finishes. ``progress_reward`` pays for progress
    (signed: coming back costs what going forward paid, so it is a potential-based shaping
    term), ``finish_reward`` for finishing, ``reverse_penalty`` penalises every move back, and
    ``token_respawn=None`` removes the respawning: the knobs chapter 12 compares.

    Observation (float32, length ``track_length + len(token_cells) + 1``): the boat's cell,
    one-hot; for each token the fraction of its respawn time still to wait (0: ready; 1 for a
    collected token that never respawns); the progress :math:`k / (L \cdot \text{laps})`,
    clipped to [-1, 1].

    ``info``: ``"position"`` (cell), ``"progress"`` (:math:`k / (L \cdot \text{laps})`, not
    clipped), ``"finished"`` (bool), ``"tokens"`` (collected this step),
    ``"tokens_collected"`` (this episode), ``"moved"`` (:math:`\Delta k` in -1, 0, 1).
    ``render_mode="ansi"`` renders the track as one line of text.

    Args:
        track_length: cells in the loop, at least 3.
        laps: laps to finish.
        token_cells: distinct cells in ``1 .. track_length - 1`` that hold a token.
        token_respawn: steps until a collected token is back (at least 1), or None.
        token_reward, progress_reward, finish_reward, reverse_penalty, step_reward: the
            weights of the reward above (the penalty is subtracted; give it >= 0).
        slip: the probability in [0, 1] that a move fails.
        max_episode_steps: the time limit.
        render_mode: None or ``"ansi"``.

    >>> env = BoatRace()
    >>> _ = env.reset(seed=0)
    >>> [env.step(1)[1] for _ in range(4)]  # forward: the tokens on cells 3 and 4 pay
    [0.0, 0.0, 1.0, 1.0]
    >>> [env.step(a)[1] for a in (0, 1, 0, 1)]  # back and forth across them: one per step
    [1.0, 1.0, 1.0, 1.0]
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        *,
        track_length: int = 12,
        laps: int = 1,
        token_cells=(3, 4),
        token_respawn: int | None = 2,
        token_reward: float = 1.0,
        progress_reward: float = 0.0,
        finish_reward: float = 0.0,
        reverse_penalty: float = 0.0,
        step_reward: float = 0.0,
        slip: float = 0.0,
        max_episode_steps: int = 100,
        render_mode: str | None = None,
    ):
        self.track_length = _positive_int(track_length, "track_length", low=3)
        self.laps = _positive_int(laps, "laps")
        cells = tuple(int(c) for c in token_cells)
        if len(set(cells)) != len(cells) or any(not 0 < c < self.track_length for c in cells):
            raise ValueError(f"token_cells must be distinct cells in [1, {self.track_length}), got {token_cells}")
        self.token_cells = cells
        self.token_respawn = None if token_respawn is None else _positive_int(token_respawn, "token_respawn")
        self.token_reward = _real(token_reward, "token_reward")
        self.progress_reward = _real(progress_reward, "progress_reward")
        self.finish_reward = _real(finish_reward, "finish_reward")
        self.reverse_penalty = _real(reverse_penalty, "reverse_penalty", low=0.0)
        self.step_reward = _real(step_reward, "step_reward")
        self.slip = _real(slip, "slip", low=0.0, high=1.0)
        self.max_episode_steps = _positive_int(max_episode_steps, "max_episode_steps")
        self.render_mode = _render_mode(render_mode, self.metadata["render_modes"])
        self.course = self.track_length * self.laps
        size = self.track_length + len(cells) + 1
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(size,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self._token_at = {c: i for i, c in enumerate(cells)}
        self._reset_state()

    def _reset_state(self) -> None:
        self._progress, self._steps, self._collected = 0, 0, 0
        self._wait: list[float] = [0] * len(self.token_cells)  # steps until each token is back; 0: ready

    @property
    def position(self) -> int:
        """The boat's cell, in ``0 .. track_length - 1``."""
        return self._progress % self.track_length

    def _observation(self) -> np.ndarray:
        obs = np.zeros(self.observation_space.shape or (), dtype=np.float32)
        obs[self.position] = 1.0
        scale = self.token_respawn or 1
        for i, wait in enumerate(self._wait):
            obs[self.track_length + i] = min(wait / scale, 1.0)
        obs[-1] = min(max(self._progress / self.course, -1.0), 1.0)
        return obs

    def _info(self, moved: int, tokens: int) -> dict:
        return {
            "position": self.position,
            "progress": self._progress / self.course,
            "finished": self._progress >= self.course,
            "tokens": tokens,
            "tokens_collected": self._collected,
            "moved": moved,
        }

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._reset_state()
        return self._observation(), self._info(0, 0)

    def step(self, action):
        forward = _action(self.action_space, action) == 1
        moved = 0 if (self.slip and self.np_random.random() < self.slip) else (1 if forward else -1)
        self._progress += moved
        self._steps += 1
        self._wait = [max(w - 1, 0) if w != math.inf else w for w in self._wait]
        tokens = 0
        token = self._token_at.get(self.position)
        if token is not None and self._wait[token] == 0:
            tokens = 1
            self._collected += 1
            self._wait[token] = self.token_respawn if self.token_respawn is not None else math.inf
        finished = self._progress >= self.course
        reward = (
            self.token_reward * tokens
            + self.progress_reward * moved / self.course
            + self.finish_reward * finished
            - self.reverse_penalty * (moved < 0)
            + self.step_reward
        )
        truncated = not finished and self._steps >= self.max_episode_steps
        return self._observation(), float(reward), finished, truncated, self._info(moved, tokens)

    def render(self):
        if self.render_mode != "ansi":
            return None
        cells = ["."] * self.track_length
        cells[0] = "|"
        for cell, wait in zip(self.token_cells, self._wait, strict=True):
            cells[cell] = "o" if wait == 0 else "_"
        cells[self.position] = "B"
        return "".join(cells) + f"  progress {self._progress}/{self.course}, tokens {self._collected}"


# ---------------------------------------------------------------------------------------
# stacking a red block on a blue one, or flipping it
# ---------------------------------------------------------------------------------------


class BlockStack(gym.Env):
    r"""A gripper, a red block and a blue block: rewarded for a face's height, it flips the block.

    A row of ``width`` cells holds the blue block in its last cell and the red block, upright,
    in cell 0, under the gripper. The designer wants the red block on top of the blue one.
    Actions: 0 moves the gripper left, 1 right (a held block moves with it); 2 grasps the red
    block under the gripper (only upright: the gripper holds a block by its studs) or releases
    a held one (onto the blue block over the last cell, else onto the table); 3 tips the red
    block under the gripper, when it rests on the table, onto its head or back. With
    probability ``slip`` an action does nothing. Blocks are one unit high.

    The reward of a step is the weighted sum, over the state the step ends in,

    .. math::

        r = w_{\text{face}}\, h_{\text{bottom}} + w_{\text{stacked}}\, \mathbb 1[\text{red on blue}]
            + r_{\text{step}},

    where :math:`h_{\text{bottom}}` is the height of the red block's bottom face (the face
    that was at the bottom at the start) while the gripper does not hold the block, and 0
    while it does: 1 for a block stacked on the blue one, and 1 for a block tipped onto its
    head, whose bottom face then looks up. The default pays for that height only, as in the
    Lego stacking task of Popov et al. (2017), where a shaped reward of this kind was
    collected by flipping the red block instead of stacking it (Krakovna et al. 2020): one
    action against the ``width + 1`` of grasping, carrying and releasing.
    ``stacked_reward`` pays for the outcome that was meant.

    There is no terminal state: every episode is cut after ``max_episode_steps`` steps
    (``truncated=True``, never ``terminated``), so a learner should bootstrap at the cut.

    Observation: the state's index in ``Discrete(2 * width**2)``. Tables, for
    :func:`objlib.rl.policy_evaluation` and :func:`objlib.rl.value_iteration` (float64,
    ``S = 2 * width**2`` states, ``A = 4`` actions): ``transitions`` ``(S, A, S)``,
    ``rewards`` ``(S, A)`` (the expected reward of the weights given), ``terminal_states``
    ``(S,)`` (all False), ``initial_distribution`` ``(S,)``, and per state
    ``bottom_heights`` (:math:`h_{\text{bottom}}`) and ``stacked`` (bool), from which the
    rewards of other weights follow.

    ``info``: ``"gripper"`` (its cell), ``"holding"``, ``"flipped"`` (the red block lies on
    its head), ``"stacked"`` (the red block rests on the blue one), ``"bottom_height"``.
    ``render_mode="ansi"`` draws the gripper over the row of cells.

    Args:
        width: cells in the row, at least 2.
        bottom_face_reward, stacked_reward, step_reward: the weights of the reward above.
        slip: the probability in [0, 1] that an action fails.
        max_episode_steps: the time limit.
        render_mode: None or ``"ansi"``.

    >>> env = BlockStack()
    >>> _ = env.reset(seed=0)
    >>> env.step(3)[1:3]  # tip the block over: its bottom face is one unit up
    (1.0, False)
    >>> _ = env.reset()
    >>> [env.step(a)[1] for a in (2, 1, 1, 1, 2)]  # grasp, carry to the blue block, release
    [0.0, 0.0, 0.0, 0.0, 1.0]
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        *,
        width: int = 4,
        bottom_face_reward: float = 1.0,
        stacked_reward: float = 0.0,
        step_reward: float = 0.0,
        slip: float = 0.0,
        max_episode_steps: int = 30,
        render_mode: str | None = None,
    ):
        self.width = _positive_int(width, "width", low=2)
        self.bottom_face_reward = _real(bottom_face_reward, "bottom_face_reward")
        self.stacked_reward = _real(stacked_reward, "stacked_reward")
        self.step_reward = _real(step_reward, "step_reward")
        self.slip = _real(slip, "slip", low=0.0, high=1.0)
        self.max_episode_steps = _positive_int(max_episode_steps, "max_episode_steps")
        self.render_mode = _render_mode(render_mode, self.metadata["render_modes"])
        # The red block is upright on table cell c (red = c), on its head there
        # (width - 1 + c), held (_held) or on the blue block (_on_blue); a state is
        # gripper * 2 * width + red.
        self._held, self._on_blue = 2 * self.width - 2, 2 * self.width - 1
        n = 2 * self.width**2
        self.observation_space = spaces.Discrete(n)
        self.action_space = spaces.Discrete(4)
        states = range(n)
        self.bottom_heights = np.array([self._height(s) for s in states], dtype=np.float64)
        self.stacked = np.array([s % (2 * self.width) == self._on_blue for s in states])
        self.transitions = np.zeros((n, 4, n))
        for s in states:
            for a in range(4):
                self.transitions[s, a, self._next(s, a)] += 1.0 - self.slip
                self.transitions[s, a, s] += self.slip
        # the reward of a step, by the state it ends in
        self._paid = self.bottom_face_reward * self.bottom_heights + self.stacked_reward * self.stacked
        self._paid += self.step_reward
        self.rewards = self.transitions @ self._paid
        self.terminal_states = np.zeros(n, dtype=bool)
        self.initial_distribution = (np.arange(n) == 0).astype(np.float64)
        self._state, self._steps = 0, 0

    def _height(self, state: int) -> float:
        red = state % (2 * self.width)
        return 1.0 if red == self._on_blue or self.width - 1 <= red < self._held else 0.0

    def _next(self, state: int, action: int) -> int:
        """The state after `action`, when it does not slip."""
        w = self.width
        gripper, red = divmod(state, 2 * w)
        if action in (0, 1):
            gripper = min(max(gripper + (1 if action == 1 else -1), 0), w - 1)
        elif action == 2:
            if red == self._held:  # release
                red = self._on_blue if gripper == w - 1 else gripper
            elif (red < w - 1 and red == gripper) or (red == self._on_blue and gripper == w - 1):
                red = self._held  # grasp an upright block under the gripper
        elif red < self._held and red % (w - 1) == gripper:  # tip a block resting on the table
            red = red + w - 1 if red < w - 1 else red - (w - 1)
        return gripper * 2 * w + red

    def _info(self) -> dict:
        gripper, red = divmod(self._state, 2 * self.width)
        return {
            "gripper": gripper,
            "holding": red == self._held,
            "flipped": self.width - 1 <= red < self._held,
            "stacked": red == self._on_blue,
            "bottom_height": self._height(self._state),
        }

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._state, self._steps = 0, 0
        return self._state, self._info()

    def step(self, action):
        action = _action(self.action_space, action)
        if not (self.slip and self.np_random.random() < self.slip):
            self._state = self._next(self._state, action)
        self._steps += 1
        truncated = self._steps >= self.max_episode_steps
        return self._state, float(self._paid[self._state]), False, truncated, self._info()

    def render(self):
        if self.render_mode != "ansi":
            return None
        info = self._info()
        gripper, red = divmod(self._state, 2 * self.width)
        top = ["."] * self.width
        top[gripper] = "V" if info["holding"] else "v"
        row = ["_"] * (self.width - 1) + ["b"]
        if info["stacked"]:
            row[-1] = "R"  # red on blue
        elif not info["holding"]:
            row[red % (self.width - 1)] = "x" if info["flipped"] else "r"
        return "".join(top) + "\n" + "".join(row)


for _cls in (MultiArmedBandit, ShortCorridor, BoatRace, BlockStack):
    _id = f"objlib/{_cls.__name__}-v0"
    if _id not in gym.registry:
        gym.register(id=_id, entry_point=f"{__name__}:{_cls.__name__}")
