"""objlib: the training objectives of the book *Objectives*, as small tested functions.

Modules mirror the book's chapters::

    objlib.regression       chapter 4   mse, mae, huber, quantile, log_cosh
    objlib.classification   chapters 3-4  zero_one, hinge, logistic, cross_entropy, focal, ...
    objlib.metrics          chapters 3-4  accuracy, f1_score, expected_calibration_error, ...
    objlib.erm              chapter 2   empirical risk, VC bound, shattering, Bayes risk
    objlib.divergences      chapter 5   kl, js, wasserstein_1d, sinkhorn, gaussian_kl
    objlib.ranking          chapter 6   pairwise_hinge, ranknet, lambdarank, listnet, ndcg
    objlib.structured       chapter 6   linear-chain CRF, structured hinge
    objlib.self_supervised  chapter 7   masked/next-token losses, info_nce, nt_xent, clip_loss
    objlib.generative       chapter 8   negative_elbo, flow_nll, GAN/WGAN losses, DDPM
    objlib.rl               chapter 9   discounted_returns, gae, REINFORCE, actor-critic, PPO
    objlib.preference       chapter 10  sequence_log_probs, Bradley-Terry, DPO, IPO, KTO
    objlib.multitask        chapter 11  weighted_sum, uncertainty weighting, GradNorm, PCGrad, Pareto
    objlib.meta             chapter 13  MAML inner and outer steps, sinusoid tasks
    objlib.optim            chapter 13  Lion
    objlib.envs             chapters 9, 12  small Gymnasium environments (needs objlib[rl])
    objlib.gaming           chapter 12  best-of-n selection and its KL (Goodhart curves)

Every function takes tensors (NumPy arrays and sequences are converted), follows
``torch.nn.functional``'s ``(input, target)`` order and ``reduction`` keyword, and refuses
bad input with an error that names the argument. Data-reading checks can be switched off
for speed with :func:`set_value_checks` (see :mod:`objlib._checks`).
"""

from __future__ import annotations

import importlib
import random

import numpy as np
import torch

from ._checks import ConvergenceWarning, set_value_checks, value_checks, value_checks_enabled

__version__ = "0.1.0"

_SUBMODULES = (
    "regression",
    "classification",
    "metrics",
    "erm",
    "divergences",
    "ranking",
    "structured",
    "self_supervised",
    "generative",
    "rl",
    "preference",
    "multitask",
    "meta",
    "optim",
    "envs",
    "gaming",
    "plotting",
)

__all__ = [
    "__version__",
    "ConvergenceWarning",
    "seed_everything",
    "set_value_checks",
    "value_checks",
    "value_checks_enabled",
    *_SUBMODULES,
]


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA).

    Returns a fresh ``torch.Generator`` seeded with ``seed`` for code that prefers an
    explicit generator over global state.

    >>> import objlib, torch
    >>> _ = objlib.seed_everything(0); a = torch.rand(2)
    >>> _ = objlib.seed_everything(0); b = torch.rand(2)
    >>> bool(torch.equal(a, b))
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - the global generator is what notebooks use
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def __getattr__(name: str):
    # Submodules load on first use, so `import objlib` stays fast and a reader of one
    # chapter does not pay for the others.
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'objlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
