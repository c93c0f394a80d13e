"""Structured prediction: the linear-chain CRF and the structured hinge (chapter 6).

A linear-chain conditional random field (Lafferty et al. 2001) scores a tag sequence
:math:`y = (y_1, \\dots, y_T)` for an input with per-position *emission* scores
:math:`x_t(k)` and tag-to-tag *transition* scores :math:`A_{ij}` (from tag ``i`` to tag ``j``):

.. math::

    \\mathrm{score}(y) = b_{y_1} + \\sum_{t=1}^{T} x_t(y_t) + \\sum_{t=2}^{T} A_{y_{t-1} y_t} + e_{y_T},
    \\qquad p(y \\mid x) = \\frac{\\exp \\mathrm{score}(y)}{Z},
    \\qquad Z = \\sum_{y'} \\exp \\mathrm{score}(y'),

with optional start scores :math:`b` and end scores :math:`e`. Shapes, shared by every CRF
function here (the ``batch_first`` layout):

* ``emissions``: ``(B, T, K)`` -- batch, time, tags;
* ``tags``: ``(B, T)`` integer tags in ``[0, K)``;
* ``transitions``: ``(K, K)``, row = previous tag, column = next tag;
* ``start``, ``end``: ``(K,)`` or ``None`` (no start/end scores);
* ``mask``: ``(B, T)`` booleans (or 0/1), on for real tokens, off for right padding. The
  first step must be on and the mask must be a prefix (``1 1 1 0 0``); positions that are off
  are ignored entirely, whatever their emissions or tags hold.

:func:`structured_hinge` is the margin-rescaled hinge of structured SVMs (Tsochantaridis et
al. 2004) over an explicit list of candidate outputs; :func:`crf_hamming_hinge` is the same loss
over all tag sequences of a linear chain, with the Hamming distance as task loss.
"""

from __future__ import annotations

import math

import torch

from ._checks import (
    TensorLike,
    as_float_tensor,
    as_index_tensor,
    as_tensor,
    check_class_indices,
    check_ndim,
    check_nonempty,
    check_nonnegative,
    check_not_nan,
    check_reduction,
    check_same_shape,
    promote_floats,
    raise_on_nan,
    reduce,
    value_checks_enabled,
)

__all__ = [
    "crf_log_partition",
    "crf_score",
    "crf_nll",
    "crf_decode",
    "crf_hamming_hinge",
    "structured_hinge",
    "PAD_TAG",
]

#: Value that :func:`crf_decode` writes at padded (masked-off) positions.
PAD_TAG = -1


# ---------------------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------------------


def _tag_vector(x: TensorLike | None, name: str, num_tags: int, like: torch.Tensor) -> torch.Tensor | None:
    if x is None:
        return None
    x = as_float_tensor(x, name, like=like)
    if x.shape != (num_tags,):
        raise ValueError(f"{name} must have shape (K,) = ({num_tags},), one score per tag, got {tuple(x.shape)}")
    return x


def _prefix_mask(mask: TensorLike, batch: int, length: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Convert and check the mask; return ``(mask as bool, lengths)``."""
    mask = as_tensor(mask, "mask")
    if mask.shape != (batch, length):
        raise ValueError(
            f"mask must have shape (B, T) = ({batch}, {length}) like emissions[..., 0], got {tuple(mask.shape)}"
        )
    if mask.device != device:
        raise ValueError(f"mask is on {mask.device} but emissions are on {device}")
    if mask.dtype != torch.bool:
        if value_checks_enabled() and not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask must hold booleans or 0/1 values")
        mask = mask != 0
    lengths = mask.sum(1)
    if value_checks_enabled():
        if not bool(mask[:, 0].all()):
            raise ValueError("mask[:, 0] must be on for every sequence (a sequence needs at least one step)")
        prefix = torch.arange(length, device=device) < lengths.unsqueeze(1)
        if not torch.equal(mask, prefix):
            raise ValueError("mask must be a prefix mask (right padding): once off, it must stay off")
    return mask, lengths


def _crf_inputs(
    emissions: TensorLike,
    transitions: TensorLike,
    start: TensorLike | None,
    end: TensorLike | None,
    mask: TensorLike | None,
) -> tuple[
    torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None
]:
    """Convert and check the CRF arguments; promote floats to one dtype."""
    emissions = as_float_tensor(emissions, "emissions")
    check_ndim(emissions, "emissions", 3)
    check_nonempty(emissions, "emissions")
    batch, length, num_tags = emissions.shape
    transitions = as_float_tensor(transitions, "transitions", like=emissions)
    if transitions.shape != (num_tags, num_tags):
        raise ValueError(
            f"transitions must have shape (K, K) = ({num_tags}, {num_tags}) for the K = {num_tags} "
            f"tags of emissions, got {tuple(transitions.shape)}"
        )
    start = _tag_vector(start, "start", num_tags, emissions)
    end = _tag_vector(end, "end", num_tags, emissions)
    dtype = emissions.dtype
    for t in (transitions, start, end):
        if t is not None:
            dtype = torch.promote_types(dtype, t.dtype)
    emissions, transitions = emissions.to(dtype), transitions.to(dtype)
    start = None if start is None else start.to(dtype)
    end = None if end is None else end.to(dtype)
    lengths = None
    if mask is not None:
        mask, lengths = _prefix_mask(mask, batch, length, emissions.device)
    return emissions, transitions, start, end, mask, lengths


def _crf_tags(tags: TensorLike, emissions: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    tags = as_index_tensor(tags, "tags")
    if tags.shape != emissions.shape[:2]:
        raise ValueError(
            f"tags must have shape (B, T) = {tuple(emissions.shape[:2])} like emissions, got {tuple(tags.shape)}"
        )
    if tags.device != emissions.device:
        raise ValueError(f"tags is on {tags.device} but emissions are on {emissions.device}")
    num_tags = emissions.shape[2]
    if value_checks_enabled():
        bad = (tags < 0) | (tags >= num_tags)
        if mask is not None:
            bad &= mask
        if bool(bad.any()):
            raise ValueError(
                f"tags must hold tag indices in [0, {num_tags}) at unmasked positions, "
                f"got values such as {tags[bad][:3].tolist()}"
            )
    if mask is not None:
        tags = tags.masked_fill(~mask, 0)  # padded positions are ignored; keep the indexing valid
    return tags


def _nan_checked(result: torch.Tensor, emissions, transitions, start, end) -> torch.Tensor:
    """:func:`raise_on_nan` over the CRF's score arguments."""
    return raise_on_nan(result, emissions=emissions, transitions=transitions, start=start, end=end)


def _at_last_step(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """``x[b, lengths[b] - 1]`` for a ``(B, T, ...)`` tensor (the last step when no mask)."""
    if lengths is None:
        return x[:, -1]
    index = (lengths - 1).view(-1, *([1] * (x.dim() - 1))).expand(-1, 1, *x.shape[2:])
    return x.gather(1, index).squeeze(1)


# ---------------------------------------------------------------------------------------
# the forward algorithm (log Z) and, for its gradient, the backward algorithm
# ---------------------------------------------------------------------------------------
#
# Readable reference: `_forward_logspace` is the textbook recursion, and autograd through it
# gives correct gradients of any order. It is also slow: every step builds and reduces a
# (B, K, K) tensor, and autograd records each of those steps again for the backward pass.
#
# Fast path (float32 / float64): `_LogPartition`, a custom autograd function. Its forward runs
# the same recursion as one (B, K) @ (K, K) product of shifted exponentials per step; its
# backward runs the mirror-image recursion for beta_t (the log-weight of all ways to finish the
# sequence from tag j at step t), then forms the gradients in one vectorised pass from the
# marginals  p(y_t = j) = exp(alpha_t(j) + beta_t(j) - log Z)  and
# p(y_{t-1} = i, y_t = j) = exp(alpha_{t-1}(i) + A_ij + x_t(j) + beta_t(j) - log Z).
# Whenever a product form could lose precision (transition scores spanning more than the
# dtype's exponent range), the exact log-space form is used instead.


def _forward_logspace(emissions, transitions, start) -> torch.Tensor:
    """The textbook recursion in log space; returns every ``alpha_t``, shape ``(B, T, K)``."""
    alpha = emissions[:, 0] if start is None else emissions[:, 0] + start
    alphas = [alpha]
    for t in range(1, emissions.shape[1]):
        alpha = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[:, t]
        alphas.append(alpha)
    return torch.stack(alphas, dim=1)


def _underflow_floor(x: torch.Tensor) -> float:
    # a log-sum of K terms below this may have a subnormal largest term and lose precision
    return math.log(torch.finfo(x.dtype).tiny) + math.log(x.shape[-1]) + 1.0


def _forward_matmul(emissions, transitions, start) -> torch.Tensor | None:
    """The same recursion as one small matrix product per step; ``None`` if it underflowed.

    With :math:`m = \\max_i \\alpha_{t-1}(i)` and the column maxima :math:`c_j = \\max_i A_{ij}`,

    .. math:: \\alpha_t(j) = \\log \\sum_i e^{\\alpha_{t-1}(i) - m} e^{A_{ij} - c_j} + m + c_j + x_t(j),

    where both exponentials lie in [0, 1]. The sum can only underflow when the transition scores
    span more than the dtype's exponent range (about 80 in float32); then this returns ``None``.
    Emissions never reach an exponential here, whatever their size. Runs without autograd.
    """
    col_max = transitions.amax(0)
    exp_trans = torch.exp(transitions - col_max)
    shifted = emissions + col_max
    alpha = emissions[:, 0] + start
    alphas, log_sums = [alpha], []
    for t in range(1, emissions.shape[1]):
        m = alpha.amax(1, keepdim=True)
        log_sum = torch.log(torch.exp(alpha - m) @ exp_trans)
        alpha = log_sum + (m + shifted[:, t])
        alphas.append(alpha)
        log_sums.append(log_sum)
    if log_sums and not bool((torch.stack(log_sums) > _underflow_floor(emissions)).all()):
        return None  # (the comparison is also False for NaN and -inf)
    return torch.stack(alphas, dim=1)


def _backward_logspace(emissions, transitions, end, mask) -> torch.Tensor:
    """``beta_t(i) = log sum_j exp(A_ij + x_{t+1}(j) + beta_{t+1}(j))``, ``beta = end`` at each last step."""
    batch, length, num_tags = emissions.shape
    end = end.expand(batch, num_tags)
    keep = None if mask is None else mask.t().unsqueeze(2)  # keep[t]: step t is inside the sequence
    beta = end
    betas = [beta]
    for t in range(length - 2, -1, -1):
        beta_next = torch.logsumexp(transitions + (emissions[:, t + 1] + beta).unsqueeze(1), dim=2)
        beta = beta_next if keep is None else torch.where(keep[t + 1], beta_next, end)
        betas.append(beta)
    return torch.stack(betas[::-1], dim=1)


def _backward_matmul(emissions, transitions, end, mask) -> torch.Tensor | None:
    """:func:`_backward_logspace` as one small matrix product per step; ``None`` if it underflowed."""
    batch, length, num_tags = emissions.shape
    row_max = transitions.amax(1)
    exp_trans_t = torch.exp(transitions - row_max.unsqueeze(1)).t().contiguous()
    end = end.expand(batch, num_tags).contiguous()
    keep = None if mask is None else mask.t().contiguous().unsqueeze(2)
    beta = end
    betas, log_sums = [beta], []
    for t in range(length - 2, -1, -1):
        v = emissions[:, t + 1] + beta
        n = v.amax(1, keepdim=True)
        log_sum = torch.log(torch.exp(v - n) @ exp_trans_t)
        beta_next = log_sum + (n + row_max)
        beta = beta_next if keep is None else torch.where(keep[t + 1], beta_next, end)
        betas.append(beta)
        log_sums.append(log_sum)
    if log_sums and not bool((torch.stack(log_sums) > _underflow_floor(emissions)).all()):
        return None
    return torch.stack(betas[::-1], dim=1)


def _transition_gradient(alphas, betas, emissions, transitions, log_norm, weight) -> torch.Tensor:
    """``sum_{b,t} weight[b,t] p_b(y_{t-1} = i, y_t = j)`` over steps ``t = 1..T-1``.

    ``log_norm[b, t]`` is log Z as step t sees it (see :meth:`_LogPartition.backward`).
    """
    num_tags = transitions.shape[0]
    col_max = transitions.amax(0)
    spread = float((col_max - transitions).max())
    to_last = emissions[:, 1:] + betas[:, 1:] - log_norm[:, 1:]  # x_t(j) + beta_t(j) - log Z
    if spread < -0.5 * math.log(torch.finfo(transitions.dtype).tiny):
        # exp(alpha_{t-1}(i) - m) * exp(A_ij - c_j) * exp(x_t(j) + beta_t(j) + m + c_j - log Z): the first
        # factor is <= 1, the third <= exp(spread), so one (K, B*T) @ (B*T, K) product sums them all
        m = alphas[:, :-1].amax(2, keepdim=True)
        left = torch.exp(alphas[:, :-1] - m).reshape(-1, num_tags)
        right = (torch.exp(to_last + m + col_max) * weight.unsqueeze(2)).reshape(-1, num_tags)
        return torch.exp(transitions - col_max) * (left.t().contiguous() @ right)
    pair = alphas[:, :-1].unsqueeze(3) + transitions + to_last.unsqueeze(2)  # (B, T-1, K, K), exact
    return (torch.exp(pair) * weight[:, :, None, None]).sum((0, 1))


class _LogPartition(torch.autograd.Function):
    """log Z with a forward-backward gradient (see the comment above); inputs already checked."""

    @staticmethod
    def forward(ctx, emissions, transitions, start, end, lengths):
        alphas = _forward_matmul(emissions, transitions, start)
        if alphas is None:
            alphas = _forward_logspace(emissions, transitions, start)
        log_z = torch.logsumexp(_at_last_step(alphas, lengths) + end, dim=1)
        ctx.save_for_backward(emissions, transitions, start, end, lengths, alphas, log_z)
        return log_z

    @staticmethod
    def backward(ctx, grad):
        emissions, transitions, start, end, lengths, alphas, log_z = ctx.saved_tensors
        inputs = (emissions, transitions, start, end)
        if torch.is_grad_enabled():
            # create_graph=True (a second derivative is wanted): differentiate the textbook
            # recursion, whose graph autograd can differentiate again
            wanted = [x for x, need in zip(inputs, ctx.needs_input_grad, strict=False) if need]
            log_z = _log_partition_logspace(emissions, transitions, start, end, lengths)
            grads = iter(torch.autograd.grad(log_z, wanted, grad, create_graph=True, allow_unused=True))
            return (*(next(grads) if need else None for need in ctx.needs_input_grad[:4]), None)
        if float(alphas.abs().max()) > torch.finfo(alphas.dtype).eps ** -0.5:
            # scores so large that alpha + beta - log Z keeps fewer than half the dtype's digits
            # (|alpha| > 2900 in float32, 6.7e7 in float64; none at emissions of 1e30): the
            # textbook recursion's own backward, a softmax per step, stays exact
            with torch.enable_grad():
                leaves = [
                    x.detach().requires_grad_(need) for x, need in zip(inputs, ctx.needs_input_grad, strict=False)
                ]
                log_z = _log_partition_logspace(leaves[0], leaves[1], leaves[2], leaves[3], lengths)
                wanted = [x for x in leaves if x.requires_grad]
                grads = iter(torch.autograd.grad(log_z, wanted, grad, allow_unused=True))
            return (*(next(grads) if need else None for need in ctx.needs_input_grad[:4]), None)
        length = emissions.shape[1]
        mask = None if lengths is None else torch.arange(length, device=lengths.device) < lengths.unsqueeze(1)
        betas = _backward_matmul(emissions, transitions, end, mask)
        if betas is None:
            betas = _backward_logspace(emissions, transitions, end, mask)
        # log Z as each step sees it, logsumexp_j(alpha_t(j) + beta_t(j)): equal to log Z in exact
        # arithmetic, and normalising by it keeps every step's marginals summing to 1 where
        # alpha and beta are huge (emissions of 1e30) and their rounding errors would not cancel
        # against the one log Z
        log_norm = torch.logsumexp(alphas + betas, dim=2, keepdim=True)
        marginals = torch.exp(alphas + betas - log_norm)  # p(y_t = j | x)
        if mask is not None:
            marginals = torch.where(mask.unsqueeze(2), marginals, 0.0)
        g_emissions = marginals * grad.view(-1, 1, 1)
        g_transitions = None
        if ctx.needs_input_grad[1]:
            weight = grad.unsqueeze(1).expand(-1, length - 1)
            if mask is not None:
                weight = weight * mask[:, 1:]
            g_transitions = _transition_gradient(alphas, betas, emissions, transitions, log_norm, weight)
        g_start = g_emissions[:, 0].sum(0) if ctx.needs_input_grad[2] else None
        g_end = _at_last_step(g_emissions, lengths).sum(0) if ctx.needs_input_grad[3] else None
        return g_emissions, g_transitions, g_start, g_end, None


def _log_partition_logspace(emissions, transitions, start, end, lengths) -> torch.Tensor:
    last = _at_last_step(_forward_logspace(emissions, transitions, start), lengths)
    return torch.logsumexp(last if end is None else last + end, dim=1)


def _reads_no_data(x: torch.Tensor) -> bool:
    """Under ``torch.compile`` and on the meta device no tensor may be read on the host."""
    return x.device.type == "meta" or torch.compiler.is_compiling()


def _log_partition(emissions, transitions, start, end, mask, lengths) -> torch.Tensor:
    if mask is not None:
        # padded steps never enter log Z; zeroing them keeps the unused recursion finite
        emissions = emissions.masked_fill(~mask.unsqueeze(2), 0.0)
    if emissions.dtype not in (torch.float32, torch.float64) or _reads_no_data(emissions):
        # the fast path chooses its form by reading the scores; the textbook one never does
        return _log_partition_logspace(emissions, transitions, start, end, lengths)
    zeros = emissions.new_zeros(emissions.shape[2])
    start = zeros if start is None else start
    end = zeros if end is None else end
    return _LogPartition.apply(emissions, transitions, start, end, lengths)


def _path_score(emissions, tags, transitions, start, end, mask, lengths) -> torch.Tensor:
    emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T): x_t(y_t)
    trans = transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1): A_{y_{t-1} y_t}
    if mask is not None:
        emit = torch.where(mask, emit, 0.0)
        trans = torch.where(mask[:, 1:], trans, 0.0)
    score = emit.sum(1) + trans.sum(1)
    if start is not None:
        score = score + start[tags[:, 0]]
    if end is not None:
        score = score + end[_at_last_step(tags, lengths)]
    return score


@torch.no_grad()
def _viterbi(emissions, transitions, start, end, lengths) -> torch.Tensor:
    """Best paths ``(B, T)``, :data:`PAD_TAG` after each sequence's end."""
    batch, length, _ = emissions.shape
    delta = emissions[:, 0] if start is None else emissions[:, 0] + start
    deltas, pointers = [delta], []
    for t in range(1, length):
        best, arg = (delta.unsqueeze(2) + transitions).max(dim=1)
        delta = best + emissions[:, t]
        deltas.append(delta)
        pointers.append(arg)
    last = _at_last_step(torch.stack(deltas, dim=1), lengths)
    current = (last if end is None else last + end).argmax(dim=1)
    if lengths is None:
        last_index = torch.full((batch,), length - 1, device=emissions.device)
    else:
        last_index = lengths - 1
    path = torch.full((batch, length), PAD_TAG, dtype=torch.long, device=emissions.device)
    for t in range(length - 1, -1, -1):
        if t < length - 1:
            previous = pointers[t].gather(1, current.unsqueeze(1)).squeeze(1)
            current = torch.where(t < last_index, previous, current)  # follow the pointer inside a sequence
        path[:, t] = torch.where(t <= last_index, current, PAD_TAG)
    return path


# ---------------------------------------------------------------------------------------
# public CRF functions
# ---------------------------------------------------------------------------------------


def crf_log_partition(
    emissions: TensorLike,
    transitions: TensorLike,
    *,
    start: TensorLike | None = None,
    end: TensorLike | None = None,
    mask: TensorLike | None = None,
) -> torch.Tensor:
    r"""Log partition function :math:`\log Z` of a linear-chain CRF, by the forward algorithm.

    .. math::

        \alpha_1(j) = b_j + x_1(j), \qquad
        \alpha_t(j) = \log \sum_{i=1}^{K} \exp\bigl(\alpha_{t-1}(i) + A_{ij}\bigr) + x_t(j), \qquad
        \log Z = \log \sum_{j} \exp\bigl(\alpha_{T}(j) + e_j\bigr),

    which sums :math:`\exp \mathrm{score}(y)` over all :math:`K^T` tag sequences in
    :math:`O(T K^2)` (Lafferty et al. 2001). With a mask, :math:`T` is each sequence's own length.
    Every quantity stays in log space (emissions of size 1e4 give finite values and gradients);
    each step runs as one ``(B, K) @ (K, K)`` product of shifted exponentials, falling back to a
    ``logsumexp`` over a ``(B, K, K)`` tensor when the transition scores span too wide a range
    for that. The gradient is not taken through the loop: the backward (beta) recursion gives
    the tag and tag-pair marginals, which are the derivatives of :math:`\log Z` with respect to
    the emissions and transitions. Second derivatives are supported (through autograd on the
    log-space recursion). The fast path chooses its form by reading the scores (and falls back
    to autograd on the textbook recursion where the scores are so large, :math:`|\alpha| >
    \epsilon^{-1/2}`, that the marginals would lose their digits); under ``torch.compile`` and on
    the meta device the textbook recursion is used throughout, which reads nothing, so with
    value checks off the CRF functions compile with ``fullgraph=True``.

    Args:
        emissions: ``(B, T, K)`` scores; transitions ``(K, K)``; ``start``, ``end`` ``(K,)`` or
            ``None``; ``mask`` ``(B, T)`` prefix mask or ``None`` (see the module docstring).

    Returns:
        ``(B,)`` tensor: :math:`\log Z` of each sequence.

    All-zero scores make every one of the :math:`2^2` paths equally likely, so :math:`\log Z = \log 4`.

    >>> crf_log_partition(torch.zeros(1, 2, 2), torch.zeros(2, 2))
    tensor([1.3863])
    """
    emissions, transitions, start, end, mask, lengths = _crf_inputs(emissions, transitions, start, end, mask)
    log_z = _log_partition(emissions, transitions, start, end, mask, lengths)
    return _nan_checked(log_z, emissions, transitions, start, end)


def crf_score(
    emissions: TensorLike,
    tags: TensorLike,
    transitions: TensorLike,
    *,
    start: TensorLike | None = None,
    end: TensorLike | None = None,
    mask: TensorLike | None = None,
) -> torch.Tensor:
    r"""Score of given tag sequences under a linear-chain CRF (unnormalised log-probability).

    .. math::

        \mathrm{score}(y) = b_{y_1} + \sum_{t=1}^{T} x_t(y_t) + \sum_{t=2}^{T} A_{y_{t-1} y_t} + e_{y_T}

    Computed for the whole batch at once (no loop over sequences or steps). Tags at padded
    positions are ignored.

    Returns:
        ``(B,)`` tensor of scores.

    >>> crf_score(torch.tensor([[[1.0, 0.0], [0.0, 2.0]]]), torch.tensor([[0, 1]]), torch.eye(2))
    tensor([3.])
    """
    emissions, transitions, start, end, mask, lengths = _crf_inputs(emissions, transitions, start, end, mask)
    tags = _crf_tags(tags, emissions, mask)
    score = _path_score(emissions, tags, transitions, start, end, mask, lengths)
    return _nan_checked(score, emissions, transitions, start, end)


def crf_nll(
    emissions: TensorLike,
    tags: TensorLike,
    transitions: TensorLike,
    *,
    start: TensorLike | None = None,
    end: TensorLike | None = None,
    mask: TensorLike | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Negative log-likelihood of the gold tags under a linear-chain CRF.

    .. math::

        \ell(x, y) = -\log p(y \mid x) = \log Z(x) - \mathrm{score}(y)

    (Lafferty et al. 2001). It is non-negative, and its gradient with respect to the emissions
    is the tag marginals :math:`p(y_t = k \mid x)` minus the gold one-hot tags.

    Args:
        emissions: ``(B, T, K)``; tags: ``(B, T)`` in ``[0, K)`` (any value at padded positions);
            transitions ``(K, K)``; ``start``, ``end``: ``(K,)`` or ``None``; mask: ``(B, T)``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over the ``B`` sequences.

    Equals ``-torchcrf.CRF(K, batch_first=True)(emissions, tags, mask, reduction=r)`` with its
    ``transitions``, ``start_transitions`` and ``end_transitions`` set to ours, for ``r`` in
    ``"mean"``, ``"sum"``, ``"none"`` (pytorch-crf's default reduction is ``"sum"``; its
    ``"token_mean"`` is ``reduction="sum"`` divided by ``mask.sum()``).

    >>> crf_nll(torch.zeros(1, 2, 2), torch.tensor([[0, 1]]), torch.zeros(2, 2))  # log 4
    tensor(1.3863)
    """
    emissions, transitions, start, end, mask, lengths = _crf_inputs(emissions, transitions, start, end, mask)
    tags = _crf_tags(tags, emissions, mask)
    check_reduction(reduction)
    log_z = _log_partition(emissions, transitions, start, end, mask, lengths)
    gold = _path_score(emissions, tags, transitions, start, end, mask, lengths)
    nll = reduce(log_z - gold, reduction)
    return _nan_checked(nll, emissions, transitions, start, end)


def crf_decode(
    emissions: TensorLike,
    transitions: TensorLike,
    *,
    start: TensorLike | None = None,
    end: TensorLike | None = None,
    mask: TensorLike | None = None,
) -> torch.Tensor:
    r"""Most likely tag sequence of each input, by the Viterbi algorithm.

    .. math::

        \delta_1(j) = b_j + x_1(j), \qquad
        \delta_t(j) = \max_{i} \bigl(\delta_{t-1}(i) + A_{ij}\bigr) + x_t(j), \qquad
        \hat y_T = \arg\max_j \bigl(\delta_T(j) + e_j\bigr),

    then follow the stored arg-max back pointers from :math:`\hat y_T` to :math:`\hat y_1`
    (Viterbi 1967). The result maximises :math:`\mathrm{score}(y)` over all :math:`K^T` sequences.

    Returns:
        ``(B, T)`` int64 tags; padded positions hold ``-1`` (:data:`PAD_TAG`), which is never a
        valid tag, so a padded position cannot be mistaken for a prediction. Not differentiable.

    >>> crf_decode(torch.tensor([[[1.0, 0.0], [0.0, 0.5], [0.0, 0.5]]]), torch.zeros(2, 2),
    ...            mask=torch.tensor([[True, True, False]]))
    tensor([[ 0,  1, -1]])
    """
    emissions, transitions, start, end, mask, lengths = _crf_inputs(emissions, transitions, start, end, mask)
    # a path cannot carry a NaN (Viterbi would decode one anyway); padded steps may hold anything
    check_not_nan(emissions if mask is None else emissions.masked_fill(~mask.unsqueeze(2), 0.0), "emissions")
    for x, name in ((transitions, "transitions"), (start, "start"), (end, "end")):
        if x is not None:
            check_not_nan(x, name)
    return _viterbi(emissions, transitions, start, end, lengths)


def crf_hamming_hinge(
    emissions: TensorLike,
    tags: TensorLike,
    transitions: TensorLike,
    *,
    start: TensorLike | None = None,
    end: TensorLike | None = None,
    mask: TensorLike | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Structured hinge of a linear-chain model with the Hamming distance as task loss.

    .. math::

        \ell(x, y^\star) = \max_{y} \Bigl(\mathrm{score}(y) + \sum_{t} \mathbb 1[y_t \ne y^\star_t]\Bigr)
            - \mathrm{score}(y^\star)

    the margin-rescaled structured SVM loss (Tsochantaridis et al. 2004; :func:`structured_hinge`
    with every one of the :math:`K^T` tag sequences as a candidate). The Hamming distance adds
    1 to every wrong tag at every position, so the maximisation ("loss-augmented decoding") is
    one Viterbi pass over the emissions plus :math:`1 - \text{one-hot}(y^\star_t)`. The
    maximiser :math:`\hat y` is held fixed for the gradient, which is then a subgradient:
    :math:`\nabla\,\mathrm{score}(\hat y) - \nabla\,\mathrm{score}(y^\star)`.

    Args:
        as :func:`crf_nll` (the mask limits both the paths and the Hamming count).
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over the ``B`` sequences.

    With all-zero scores every wrong tag adds 1, so the worst path gets every tag wrong:

    >>> crf_hamming_hinge(torch.zeros(1, 3, 2), torch.tensor([[0, 1, 1]]), torch.zeros(2, 2))
    tensor(3.)
    """
    emissions, transitions, start, end, mask, lengths = _crf_inputs(emissions, transitions, start, end, mask)
    tags = _crf_tags(tags, emissions, mask)
    check_reduction(reduction)
    num_tags = emissions.shape[2]
    with torch.no_grad():
        wrong = 1.0 - torch.nn.functional.one_hot(tags, num_tags).to(emissions.dtype)
        start_d = None if start is None else start.detach()
        end_d = None if end is None else end.detach()
        worst = _viterbi(emissions.detach() + wrong, transitions.detach(), start_d, end_d, lengths)
        mistakes = worst != tags
        if mask is not None:
            worst = worst.masked_fill(~mask, 0)
            mistakes &= mask
        hamming = mistakes.sum(1).to(emissions.dtype)
    augmented = _path_score(emissions, worst, transitions, start, end, mask, lengths) + hamming
    loss = reduce(augmented - _path_score(emissions, tags, transitions, start, end, mask, lengths), reduction)
    return _nan_checked(loss, emissions, transitions, start, end)


# ---------------------------------------------------------------------------------------
# structured hinge
# ---------------------------------------------------------------------------------------


def structured_hinge(
    scores: TensorLike, target: TensorLike, task_loss: TensorLike, *, reduction: str = "mean"
) -> torch.Tensor:
    r"""Margin-rescaled structured hinge over an explicit set of candidate outputs.

    .. math::

        \ell = \max_{y} \bigl(\Delta(y^\star, y) + s_y\bigr) - s_{y^\star}

    where :math:`s_y` is the model's score of candidate :math:`y`, :math:`y^\star` the correct
    one and :math:`\Delta \ge 0` a task loss with :math:`\Delta(y^\star, y^\star) = 0` (for
    sequences, e.g. the Hamming distance). The loss is 0 exactly when the correct output beats
    every other by a margin of its task loss; it upper-bounds :math:`\Delta(y^\star, \hat y)` for
    the prediction :math:`\hat y = \arg\max_y s_y` (Tsochantaridis et al. 2004).

    Args:
        scores: ``(N, Y)`` scores of ``Y`` candidates for each of ``N`` examples.
        target: ``(N,)`` index of the correct candidate.
        task_loss: ``(N, Y)`` non-negative, zero at ``target``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over the ``N`` examples.

    >>> structured_hinge(torch.tensor([[1.0, 2.0, 0.0]]), torch.tensor([0]), torch.tensor([[0.0, 1.0, 1.0]]))
    tensor(2.)
    """
    scores = as_float_tensor(scores, "scores")
    check_ndim(scores, "scores", 2)
    check_nonempty(scores, "scores")
    target = as_index_tensor(target, "target")
    if target.shape != scores.shape[:1]:
        raise ValueError(
            f"target must have shape (N,) = ({scores.shape[0]},), one index per row of scores, "
            f"got {tuple(target.shape)}"
        )
    task_loss = as_float_tensor(task_loss, "task_loss", like=scores)
    check_same_shape(scores, task_loss, "scores", "task_loss")
    scores, task_loss = promote_floats(scores, task_loss)
    check_reduction(reduction)
    check_class_indices(target, scores.shape[1], "target")
    check_nonnegative(task_loss, "task_loss")
    if value_checks_enabled() and bool((task_loss.gather(1, target.unsqueeze(1)) != 0).any()):
        raise ValueError("task_loss must be 0 at the target (the correct output costs nothing)")
    augmented = (task_loss + scores).amax(dim=1)
    loss = reduce(augmented - scores.gather(1, target.unsqueeze(1)).squeeze(1), reduction)
    return raise_on_nan(loss, scores=scores, task_loss=task_loss)
