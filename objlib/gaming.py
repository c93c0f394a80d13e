r"""Optimising a proxy harder (chapter 12): best-of-n selection and its distance from the base.

Best-of-:math:`n` is the simplest way to optimise a reward model :math:`\hat r` without
training anything: draw :math:`n` responses from a base policy :math:`\pi_0` and keep the one
that :math:`\hat r` scores highest. Its strength is set by :math:`n` alone, and its distance
from the base policy has a closed form, which makes it the yardstick of reward-model
over-optimisation studies (Gao, Schulman and Hilton 2023).

For a finite set of candidates, :func:`best_of_n_probs` gives the exact distribution of the
selected candidate, so expectations under best-of-:math:`n` (of the proxy, of a true
reward) are sums rather than Monte Carlo estimates; :func:`best_of_n_kl` is the
Kullback-Leibler divergence from the base that is usually quoted for it.
"""

from __future__ import annotations

import torch

from ._checks import (
    TensorLike,
    as_float_tensor,
    as_tensor,
    check_int,
    check_nonempty,
    check_not_nan,
    check_probability_vectors,
    check_same_shape,
    promote_floats,
)

__all__ = ["best_of_n_probs", "best_of_n_kl"]


def _log_mass_below(tail: torch.Tensor, below: torch.Tensor) -> torch.Tensor:
    """log(1 - tail) = log(below) for complementary masses, from whichever is accurate.

    A small tail gives ``log1p(-tail)`` to full relative precision; otherwise ``log(below)``,
    which is -inf (with a zero gradient, not NaN) where nothing lies below.
    """
    small = tail <= 0.5
    from_tail = torch.log1p(-torch.where(small, tail, 0.0))
    positive = below > 0
    from_below = torch.where(positive, torch.log(torch.where(positive, below, 1.0)), -torch.inf)
    return torch.where(small, from_tail, from_below)


def best_of_n_probs(scores: TensorLike, n: int, *, base_probs: TensorLike | None = None) -> torch.Tensor:
    r"""The exact probability that best-of-n selection returns each candidate.

    Draw :math:`n` candidates independently from the base distribution :math:`p` and keep the
    one with the highest score; ties between drawn candidates of equal score are broken
    uniformly at random. For a candidate :math:`i` whose score is shared by the group
    :math:`G` (of base mass :math:`m_G`), with :math:`T_{>}` the base mass of the candidates
    that score higher than :math:`G`,

    .. math::

        P_n(i) = \frac{p_i}{m_G} \Bigl[(1 - T_{>})^n - (1 - T_{>} - m_G)^n\Bigr],

    the probability that the best of the :math:`n` draws lies in :math:`G`, shared in
    proportion to the base probabilities (given that the maximum lies in :math:`G`, each draw
    that landed there is :math:`i` with probability :math:`p_i / m_G`). Without ties and with
    a uniform base over :math:`K` candidates, the candidate of rank :math:`k` from the bottom
    gets :math:`(k/K)^n - ((k-1)/K)^n`. ``n = 1`` returns the base distribution.

    The difference of powers is evaluated as
    :math:`e^{a}\bigl(1 - e^{b - a}\bigr)` with :math:`a = n \log(1 - T_{>})` (``log1p``),
    so the probabilities of the top candidates keep their relative precision for any
    :math:`n`, however small the tail masses are.

    Args:
        scores: the proxy's scores of the candidates, ``(..., K)``; every leading axis is a
            batch axis (one candidate set per row). Only their order matters, so the result
            carries no gradient with respect to them.
        n: the number of draws, at least 1.
        base_probs: the base distribution :math:`p` over the candidates, ``(..., K)`` like
            ``scores`` and summing to 1 along the last axis; None for uniform. The result is
            differentiable in it.

    Returns:
        ``(..., K)``, a distribution along the last axis, in the promoted floating dtype of
        ``scores`` and ``base_probs``. NaN scores are a ``ValueError`` with value checks on;
        with them off a row holding one is NaN throughout (its order is undefined).

    Nakano et al. (2021), "WebGPT: browser-assisted question-answering with human feedback",
    and Gao, Schulman and Hilton (2023), "Scaling laws for reward model overoptimization",
    use best-of-n as an optimiser of a reward model. Agrees with an enumeration of all
    :math:`K^n` draws and with Monte Carlo selection (tests).

    >>> best_of_n_probs([0.3, 0.1, 0.2], 2)  # ranks 3, 1, 2 of 3: (k/3)^2 - ((k-1)/3)^2
    tensor([0.5556, 0.1111, 0.3333])
    """
    n = check_int(n, "n", low=1)
    scores = as_float_tensor(scores, "scores")
    if scores.dim() == 0:
        raise ValueError("scores must have a last axis of candidates, got a scalar")
    check_nonempty(scores, "scores")
    check_not_nan(scores, "scores")
    if base_probs is None:
        base = torch.full_like(scores, 1.0 / scores.shape[-1])
    else:
        base = as_float_tensor(base_probs, "base_probs", like=scores)
        check_same_shape(scores, base, "scores", "base_probs")
        check_probability_vectors(base, "base_probs")
    scores, base = promote_floats(scores, base)

    order = scores.argsort(dim=-1)
    ranked = scores.gather(-1, order).contiguous()
    mass = base.gather(-1, order)
    zero = torch.zeros_like(mass[..., :1])
    # Base mass below rank j (summed from the bottom) and at or above it (from the top, so
    # that the small tails of the best candidates are accurate); index K is past the top.
    below = torch.cat([zero, mass.cumsum(-1)], -1)
    above = torch.cat([mass.flip(-1).cumsum(-1).flip(-1), zero], -1)
    first = torch.searchsorted(ranked, ranked, right=False)  # where each tie group starts
    last = torch.searchsorted(ranked, ranked, right=True)  # and one past where it ends
    tail, tail_above = above.gather(-1, first), above.gather(-1, last)
    # m_G, from the top for the best groups and from the bottom for the rest (no cancellation)
    group = torch.where(tail <= 0.5, tail - tail_above, below.gather(-1, last) - below.gather(-1, first))
    # (1 - T_>)^n - (1 - T_> - m_G)^n = e^a (1 - e^(b - a)), both logs taken accurately
    a = n * _log_mass_below(tail_above, below.gather(-1, last))
    b = n * _log_mass_below(tail, below.gather(-1, first))
    occupied = group > 0  # a group of no mass is never selected (and a may be -inf there)
    in_group = torch.exp(torch.where(occupied, a, 0.0)) * -torch.expm1(torch.where(occupied, b - a, 0.0))
    share = torch.where(occupied, mass / torch.where(occupied, group, 1.0), 0.0)
    probs = torch.empty_like(mass).scatter_(-1, order, share * in_group)
    # With value checks off, a NaN score leaves its row's order undefined: say so.
    return torch.where(scores.isnan().any(-1, keepdim=True), torch.nan, probs)


def best_of_n_kl(n: TensorLike) -> torch.Tensor:
    r"""The KL divergence of best-of-n selection from its base distribution, :math:`\log n - (n-1)/n`.

    .. math::

        \mathrm{KL}(\pi_n \,\Vert\, \pi_0) = \log n - \frac{n - 1}{n}.

    Exact when the proxy's scores have a continuous distribution under the base policy: the
    selected candidate's quantile :math:`F` is the maximum of :math:`n` uniforms, with density
    :math:`n F^{n-1}`, so the log-ratio is :math:`\log n + (n - 1) \log F` and
    :math:`\mathbb E[\log F] = -1/n`. For a finite candidate set it is an upper bound on the
    exact divergence (Beirami et al. 2024), which ``kl(best_of_n_probs(scores, n), base)``
    gives. It grows like :math:`\log n`: each tenfold increase of :math:`n` adds about
    2.3 nats.

    Args:
        n: the number of draws, an integer or an integer tensor, every value at least 1.

    Returns:
        A tensor of n's shape, in the default float dtype.

    Stiennon et al. (2020), "Learning to summarize from human feedback" (appendix); Gao,
    Schulman and Hilton (2023) use it as the x-axis of their over-optimisation curves.

    >>> best_of_n_kl(torch.tensor([1, 2, 16]))
    tensor([0.0000, 0.1931, 1.8351])
    """
    counts = as_tensor(n, "n")
    if counts.is_floating_point() or counts.dtype == torch.bool:
        raise TypeError(f"n must hold integers, got {counts.dtype}")
    if counts.numel() and bool((counts < 1).any()):
        raise ValueError(f"n must be at least 1, got a minimum of {int(counts.min())}")
    counts = counts.to(torch.get_default_dtype())
    return torch.log(counts) - (counts - 1) / counts
