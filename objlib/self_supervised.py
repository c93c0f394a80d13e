r"""Self-supervised objectives: predict hidden tokens, or pick the positive out of many (chapter 7).

Two families, both cross-entropies in the end:

* **predictive** -- :func:`masked_token_loss` (BERT's masked language modelling, Devlin et
  al. 2019) and :func:`next_token_loss` (a causal language model, Radford et al. 2019) are
  the negative log-likelihood of tokens the model did not see. ``"mean"`` averages over the
  **predicted tokens** (the masked ones, or the targets that are not padding), as
  ``F.cross_entropy(..., ignore_index=...)`` does, not over sequences.
* **contrastive** -- :func:`info_nce` (van den Oord et al. 2018), :func:`nt_xent` (SimCLR,
  Chen et al. 2020) and :func:`clip_loss` (Radford et al. 2021) score an anchor against one
  positive and many negatives by **cosine similarity** (every embedding is L2-normalised
  first), scaled by ``1 / temperature`` or by ``logit_scale``, and take the cross-entropy of
  the positive. ``"mean"`` averages over **anchors** (queries, views, or image-text pairs).

:func:`alignment` and :func:`uniformity` are Wang and Isola's (2020) two measures of a
contrastive embedding: how close positives land, and how evenly the embeddings spread over
the sphere.

**Several processes.** The contrastive losses take ``group``, a ``torch.distributed``
process group (``None``: one process). With a group every rank passes its own batch (the
same batch size on every rank), the candidates of every rank are gathered with gradients
(``torch.distributed.nn.functional.all_gather``), each anchor's label is offset by its rank,
and each rank returns the reduction over its own anchors. So the mean of the ranks' losses
is the one-process loss :math:`L` of the concatenated batch, and the gradient that each
rank's local embeddings receive is ``world_size`` times :math:`\partial L / \partial`
(those embeddings): DDP averages gradients over ranks, which turns this into exactly
:math:`L`'s parameter gradients. Every rank must call the loss and its backward (both are
collectives). ``tests/test_self_supervised.py`` checks this with two gloo processes.
"""

from __future__ import annotations

import math
import numbers
import warnings

import torch
import torch.nn.functional as F

from . import _checks
from ._checks import (
    as_float_tensor,
    as_index_tensor,
    as_tensor,
    check_finite,
    check_int,
    check_ndim,
    check_nonempty,
    check_reduction,
    check_scalar,
    reduce,
)

__all__ = [
    "masked_token_loss",
    "next_token_loss",
    "info_nce",
    "nt_xent",
    "clip_loss",
    "alignment",
    "uniformity",
]

_IGNORED = -100  # F.cross_entropy's default ignore_index, used when the caller gives none


# ---------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------


def _check_logits(logits: torch.Tensor, name: str) -> None:
    """No NaN and no +inf in logits (one pass); -inf is a legal logit, a probability of 0."""
    if _checks.value_checks_enabled() and not bool((logits.detach() < math.inf).all()):
        raise ValueError(f"{name} must not hold NaN or +inf entries")


def _token_logits(logits) -> torch.Tensor:
    """Float logits of shape (B, T, V), checked."""
    logits = as_float_tensor(logits, "logits")
    check_ndim(logits, "logits", 3)
    check_nonempty(logits, "logits")
    _check_logits(logits, "logits")
    return logits


def _check_token_shape(x: torch.Tensor, logits: torch.Tensor, name: str) -> None:
    if x.shape != logits.shape[:2]:
        raise ValueError(
            f"{name} must have shape (B, T) = {tuple(logits.shape[:2])} for logits of shape "
            f"{tuple(logits.shape)}, got {tuple(x.shape)}"
        )


def _check_predicted_targets(
    targets: torch.Tensor, predicted: torch.Tensor, vocab: int, name: str, reduction: str, empty: str
) -> None:
    """Class indices wherever ``predicted`` is True, and (for a mean) at least one such place.

    A value check: it reads the data, so it is skipped when value checks are off, and the
    loss then never reads it (no boolean indexing, no host sync).
    """
    if not _checks.value_checks_enabled():
        return
    bad = predicted & ((targets < 0) | (targets >= vocab))
    if bool(bad.any()):
        values = targets[bad][:3].tolist()
        raise ValueError(f"{name} must hold class indices in [0, {vocab}) where predicted, got values such as {values}")
    if reduction == "mean" and not bool(predicted.any()):
        raise ValueError(f"{empty}: the mean over predicted tokens is undefined")


def _token_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore: int, reduction: str) -> torch.Tensor:
    """``F.cross_entropy`` over every position of (B, T, V) logits; ``"none"`` keeps (B, T)."""
    batch, length, vocab = logits.shape
    losses = F.cross_entropy(
        logits.reshape(batch * length, vocab), targets.reshape(-1), ignore_index=ignore, reduction=reduction
    )
    return losses.view(batch, length) if reduction == "none" else losses


def _embeddings(x, name: str) -> torch.Tensor:
    """A float (N, D) batch of embeddings with no NaN or inf, checked."""
    x = as_float_tensor(x, name)
    check_ndim(x, name, 2)
    check_nonempty(x, name)
    check_finite(x, name)
    return x


def _embedding_pair(a, b, name_a: str, name_b: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Two (N, D) batches of one shape, promoted to one floating dtype as torch would."""
    a = _embeddings(a, name_a)
    b = _embeddings(b, name_b)
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape (N, D) (no broadcasting), "
            f"got {name_a}: {tuple(a.shape)} and {name_b}: {tuple(b.shape)}"
        )
    if a.device != b.device:
        raise ValueError(f"{name_b} is on {b.device} but {name_a} is on {a.device}")
    dtype = torch.promote_types(a.dtype, b.dtype)
    return a.to(dtype), b.to(dtype)


def _temperature(temperature) -> float:
    """A positive number; a tensor that requires grad would lose its gradient in ``float()``."""
    if isinstance(temperature, torch.Tensor) and temperature.requires_grad:
        raise TypeError(
            "temperature must be a number, got a tensor that requires grad "
            "(for a learnable scale use clip_loss's logit_scale, or divide the embeddings yourself)"
        )
    return check_scalar(temperature, "temperature", low=0.0, low_inclusive=False)


def _logit_scale(logit_scale, like: torch.Tensor) -> torch.Tensor:
    """A positive, finite, one-element tensor (it may require grad), as a 0-dim tensor."""
    if isinstance(logit_scale, bool) or not isinstance(logit_scale, (torch.Tensor, numbers.Real)):
        kind = type(logit_scale).__name__
        raise TypeError(f"logit_scale must be a positive number or a one-element tensor, got {kind}")
    scale = as_float_tensor(logit_scale, "logit_scale", like=like)
    if scale.numel() != 1:
        raise ValueError(f"logit_scale must hold a single number, got shape {tuple(scale.shape)}")
    if _checks.value_checks_enabled():
        value = float(scale.detach())
        if not (0.0 < value < math.inf):
            raise ValueError(f"logit_scale must be positive and finite, got {value}")
    return scale.reshape(())


def _world(group) -> tuple[int, int]:
    """(world size, rank) of ``group``; (1, 0) for ``None``."""
    if group is None:
        return 1, 0
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError("group was given but torch.distributed has no initialised process group")
    if not isinstance(group, dist.ProcessGroup):
        raise TypeError(f"group must be a torch.distributed ProcessGroup or None, got {type(group).__name__}")
    return dist.get_world_size(group), dist.get_rank(group)


def _gather(x: torch.Tensor, group, name: str, batch_size: int) -> torch.Tensor:
    """Every rank's ``x``, concatenated in rank order; the backward sums each rank's gradients.

    ``torch.distributed.nn.functional.all_gather`` (the autograd-aware gather the contract
    names) warns on every call since torch 2.6 that it is deprecated in favour of
    ``torch.distributed._functional_collectives``; the warning is silenced here only.
    With value checks on, the ranks first compare their ``batch_size`` (one small collective),
    so that unequal batches are a ``ValueError`` on every rank rather than an abort in gloo.
    """
    import torch.distributed as dist
    import torch.distributed.nn.functional as dist_functional

    if _checks.value_checks_enabled():
        mine = torch.tensor(batch_size, device=x.device)
        sizes = [torch.empty_like(mine) for _ in range(dist.get_world_size(group))]
        dist.all_gather(sizes, mine, group=group)
        counts = [int(size) for size in sizes]
        if len(set(counts)) > 1:
            raise ValueError(f"{name} must have the same batch size on every rank, got sizes {counts} by rank")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*all_gather is deprecated", category=FutureWarning)
        return torch.cat(dist_functional.all_gather(x, group=group))


def _labels(n: int, offset: int, device: torch.device) -> torch.Tensor:
    return torch.arange(offset, offset + n, device=device)


# ---------------------------------------------------------------------------------------
# predictive objectives
# ---------------------------------------------------------------------------------------


def masked_token_loss(logits, targets, mask, *, reduction: str = "mean") -> torch.Tensor:
    r"""Masked-token cross-entropy: predict the hidden tokens of a sequence from the rest.

    .. math::

        L = \frac{1}{|M|} \sum_{(b, t) \in M} -\log \operatorname{softmax}(z_{b,t})_{y_{b,t}},
        \qquad M = \{(b, t) : \text{mask}_{b,t}\}

    BERT's masked language modelling (Devlin et al. 2019): some input positions are hidden
    (replaced by a mask token, a random token or left as they were) and the model is scored
    only where ``mask`` is True. Unmasked positions contribute nothing, so their targets may
    hold anything (Hugging Face fills them with -100); only the masked ones must be class
    indices.

    Args:
        logits: (B, T, V) logits over a vocabulary of V tokens. -inf is allowed (a
            token ruled out), NaN and +inf are not.
        targets: (B, T) token indices in [0, V) at the masked positions.
        mask: (B, T) bool, True where a token was masked and must be predicted.
        reduction: ``"mean"`` (default) averages over the masked **tokens** (not over
            sequences), ``"sum"`` adds them, ``"none"`` returns (B, T) per-token losses with
            0 where ``mask`` is False. With value checks on, ``"mean"`` of a mask with no
            True entry is a ``ValueError`` (it would be 0 / 0); with them off it is NaN.

    Equals ``F.cross_entropy(logits[mask], targets[mask])``; computed, as Hugging Face's
    models do, by one ``F.cross_entropy`` over every position with the unmasked targets
    ignored, so that with value checks off nothing reads the data (no boolean indexing).

    >>> logits = torch.tensor([[[2.0, 0.0], [0.0, 0.0], [0.0, 3.0]]])
    >>> loss = masked_token_loss(logits, [[0, -100, 1]], [[True, False, True]])
    >>> round(float(loss), 6)  # (softplus(-2) + softplus(-3)) / 2
    0.087758
    """
    check_reduction(reduction)
    logits = _token_logits(logits)
    targets = as_index_tensor(targets, "targets").to(logits.device)
    _check_token_shape(targets, logits, "targets")
    mask = as_tensor(mask, "mask")
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor (True where a token is predicted), got dtype {mask.dtype}")
    _check_token_shape(mask, logits, "mask")
    mask = mask.to(logits.device)
    _check_predicted_targets(targets, mask, logits.shape[-1], "targets", reduction, "mask has no True entry")
    return _token_cross_entropy(logits, torch.where(mask, targets, _IGNORED), _IGNORED, reduction)


def next_token_loss(logits, tokens, *, ignore_index: int | None = None, reduction: str = "mean") -> torch.Tensor:
    r"""Next-token cross-entropy of a causal language model: position t predicts token t + 1.

    .. math::

        L = \frac{1}{|P|} \sum_{(b, t) \in P} -\log \operatorname{softmax}(z_{b,t})_{x_{b,t+1}},
        \qquad P = \{(b, t) : t < T - 1,\ x_{b,t+1} \ne \text{ignore\_index}\}

    The objective of GPT-style models (Radford et al. 2019), the log-likelihood of the
    sequence factorised left to right (Shannon 1948); its exponential is the perplexity.
    The shift happens here: ``logits[:, :-1]`` is scored against ``tokens[:, 1:]``, so the
    caller passes the model's output and its input unchanged.

    Args:
        logits: (B, T, V) logits; ``logits[:, t]`` is the model's distribution of token
            t + 1 given tokens 0..t. -inf is allowed, NaN and +inf are not.
        tokens: (B, T) token indices in [0, V), T >= 2.
        ignore_index: a token value (padding) whose positions are left out, as targets, of
            the loss and of the mean; it may be a real vocabulary index. ``None``: every
            token is a target.
        reduction: ``"mean"`` (default) averages over the predicted **tokens** (targets that
            are not ``ignore_index``), ``"sum"`` adds them, ``"none"`` returns (B, T - 1)
            per-token losses with 0 at ignored targets.

    Equals ``F.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1),
    ignore_index=...)``, computed without copying the logits: the last position gets an
    ignored target instead of being sliced off.

    >>> logits = torch.tensor([[[0.0, 2.0], [1.0, 0.0], [5.0, 5.0]]])
    >>> round(float(next_token_loss(logits, [[0, 1, 0]])), 6)  # (softplus(-2) + softplus(-1)) / 2
    0.220095
    """
    check_reduction(reduction)
    logits = _token_logits(logits)
    tokens = as_index_tensor(tokens, "tokens").to(logits.device)
    _check_token_shape(tokens, logits, "tokens")
    batch, length, _ = logits.shape
    if length < 2:
        raise ValueError(f"tokens must have at least 2 positions (T >= 2) to predict a next token, got T = {length}")
    ignore = _IGNORED if ignore_index is None else check_int(ignore_index, "ignore_index")
    targets = tokens[:, 1:]
    predicted = torch.ones_like(targets, dtype=torch.bool) if ignore_index is None else targets != ignore
    _check_predicted_targets(
        targets, predicted, logits.shape[-1], "tokens", reduction, "every target equals ignore_index"
    )
    # One ignored target in the last column keeps the logits a (B*T, V) view: no copy.
    targets = torch.cat([targets, targets.new_full((batch, 1), ignore)], dim=1)
    losses = _token_cross_entropy(logits, targets, ignore, reduction)
    return losses[:, :-1] if reduction == "none" else losses


# ---------------------------------------------------------------------------------------
# contrastive objectives
# ---------------------------------------------------------------------------------------


def info_nce(
    query,
    positive,
    negatives=None,
    *,
    temperature: float = 0.1,
    reduction: str = "mean",
    group=None,
) -> torch.Tensor:
    r"""InfoNCE: cross-entropy of picking each query's positive out of its candidates.

    .. math::

        \ell_i = -\log \frac{e^{s(q_i, p_i) / \tau}}
        {e^{s(q_i, p_i) / \tau} + \sum_{n \in \mathcal N_i} e^{s(q_i, n) / \tau}},
        \qquad s(a, b) = \frac{a^\top b}{\lVert a \rVert \lVert b \rVert}

    (van den Oord et al. 2018). Minimising it maximises a lower bound on the mutual
    information of the two views: with :math:`K + 1` candidates per query,
    :math:`I(q; p) \ge \log(K + 1) - \mathbb E\,\ell` (Poole et al. 2019), a bound that can
    never exceed :math:`\log(K + 1)`.

    The negatives :math:`\mathcal N_i` are

    * ``negatives=None`` -- **in-batch**: the other queries' positives; the loss is then
      ``F.cross_entropy`` of the N x N similarity matrix with the diagonal as labels;
    * ``negatives`` of shape (K, D) -- **one shared set** for every query, such as MoCo's
      queue of past keys (He et al. 2020); detach it, as MoCo does, unless it should learn;
    * ``negatives`` of shape (N, K, D) -- **each query its own** K negatives.

    Args:
        query: (N, D) embeddings.
        positive: (N, D) embeddings, ``positive[i]`` the positive of ``query[i]``.
        negatives: ``None``, (K, D) or (N, K, D), K >= 1.
        temperature: :math:`\tau > 0`; similarities are divided by it.
        reduction: ``"mean"`` (default) averages over the N queries (on this rank),
            ``"sum"`` adds them, ``"none"`` returns the (N,) per-query losses.
        group: a ``torch.distributed`` process group, or ``None`` (one process). With
            in-batch negatives the positives of every rank are gathered, so each query has
            ``world_size * N - 1`` negatives (see the module docstring for the exact
            statement). With ``negatives`` given a query's loss involves only its own
            candidates, so there is nothing to gather: each rank's mean over its own queries
            already satisfies the same statement, and ``group`` is only validated.

    With one negative the loss is the logistic loss of the similarity margin,
    :math:`\log(1 + e^{(s(q, n) - s(q, p)) / \tau})`:

    >>> q, p, n = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]]), torch.tensor([[0.0, 1.0]])
    >>> round(float(info_nce(q, p, n, temperature=1.0)), 6)  # softplus(0 - 1 / sqrt(2))
    0.400834
    """
    check_reduction(reduction)
    tau = _temperature(temperature)
    query, positive = _embedding_pair(query, positive, "query", "positive")
    world, rank = _world(group)
    if negatives is not None:
        negatives = _negatives(negatives, query)
        dtype = torch.promote_types(query.dtype, negatives.dtype)
        query, positive, negatives = query.to(dtype), positive.to(dtype), negatives.to(dtype)
    q = F.normalize(query, dim=-1) / tau  # scaling the (N, D) side is cheaper than the logits
    p = F.normalize(positive, dim=-1)
    n = q.shape[0]
    if negatives is None:
        candidates = p if world == 1 else _gather(p, group, "query and positive", n)
        logits = q @ candidates.T
        return F.cross_entropy(logits, _labels(n, rank * n, q.device), reduction=reduction)

    neg = F.normalize(negatives, dim=-1)
    if neg.dim() == 2:
        negative_logits = q @ neg.T  # (N, K)
    else:
        negative_logits = torch.bmm(neg, q.unsqueeze(-1)).squeeze(-1)  # (N, K)
    positive_logits = (q * p).sum(dim=-1, keepdim=True)
    logits = torch.cat([positive_logits, negative_logits], dim=1)
    return F.cross_entropy(logits, torch.zeros(n, dtype=torch.long, device=q.device), reduction=reduction)


def _negatives(negatives, query: torch.Tensor) -> torch.Tensor:
    """Negatives of shape (K, D) or (N, K, D) matching ``query`` (N, D), K >= 1, finite."""
    negatives = as_float_tensor(negatives, "negatives", like=query)
    n, d = query.shape
    if negatives.dim() not in (2, 3) or negatives.shape[-1] != d or (negatives.dim() == 3 and negatives.shape[0] != n):
        raise ValueError(
            f"negatives must have shape (K, D) = (K, {d}) or (N, K, D) = ({n}, K, {d}), got {tuple(negatives.shape)}"
        )
    check_nonempty(negatives, "negatives")
    check_finite(negatives, "negatives")
    return negatives


def nt_xent(z1, z2, *, temperature: float = 0.5, reduction: str = "mean", group=None) -> torch.Tensor:
    r"""NT-Xent, SimCLR's loss: each of 2N views must pick its partner view out of the other 2N - 1.

    .. math::

        \ell_i = -\log \frac{e^{s(v_i, v_{j(i)}) / \tau}}{\sum_{k \ne i} e^{s(v_i, v_k) / \tau}},
        \qquad v = (z^{(1)}_1, \dots, z^{(1)}_N, z^{(2)}_1, \dots, z^{(2)}_N)

    with :math:`j(i)` the other view of the same example, :math:`s` the cosine similarity
    and the sum over the 2N - 1 views other than :math:`v_i` itself (its partner and 2N - 2
    negatives). "Normalised temperature-scaled cross-entropy" (Chen et al. 2020): InfoNCE in
    which both views are anchors and every other view in the batch is a negative.

    Args:
        z1, z2: (N, D) embeddings of two augmented views; ``z1[i]`` and ``z2[i]`` come from
            the same example.
        temperature: :math:`\tau > 0` (SimCLR's default 0.5).
        reduction: ``"mean"`` (default) averages over the 2N anchors (on this rank),
            ``"sum"`` adds them, ``"none"`` returns the (2N,) per-anchor losses, the
            ``z1`` anchors first.
        group: a ``torch.distributed`` process group or ``None``. With a group every rank's
            views are candidates, so each anchor has ``2 * world_size * N - 2`` negatives.

    Agrees with ``pytorch_metric_learning.losses.NTXentLoss(temperature)`` on
    ``(torch.cat([z1, z2]), torch.cat([arange(N), arange(N)]))`` and with
    ``optax.losses.ntxent`` on the same embeddings and labels: both score each positive pair
    against the negatives only, which for two views per example is this denominator. With
    more than two views per label they differ (they leave the other positives out of the
    denominator); this function takes exactly two views.

    >>> z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(nt_xent(z, z, temperature=1.0)), 6)  # log(1 + 2 / e)
    0.551445
    """
    check_reduction(reduction)
    tau = _temperature(temperature)
    z1, z2 = _embedding_pair(z1, z2, "z1", "z2")
    world, rank = _world(group)
    n = z1.shape[0]
    views = F.normalize(torch.cat([z1, z2]), dim=-1)  # this rank's 2N anchors
    candidates = views if world == 1 else _gather(views, group, "z1 and z2", n)  # ranks in order, 2N each
    offset = 2 * n * rank  # where this rank's views sit among the candidates
    logits = (views / tau) @ candidates.T  # (2N, 2N * world)
    logits.diagonal(offset).fill_(-math.inf)  # a view is not its own candidate
    partners = torch.cat([_labels(n, offset + n, views.device), _labels(n, offset, views.device)])
    return F.cross_entropy(logits, partners, reduction=reduction)


def clip_loss(image_emb, text_emb, *, logit_scale, reduction: str = "mean", group=None) -> torch.Tensor:
    r"""CLIP's symmetric contrastive loss: match each image to its text and each text to its image.

    .. math::

        \ell_i = \tfrac12 \Bigl(
        -\log \operatorname{softmax}_j(S_{ij})_{i} - \log \operatorname{softmax}_j(S_{ji})_{i}
        \Bigr),
        \qquad S_{ij} = e^{t}\, s(x_i, y_j)

    with :math:`s` the cosine similarity of image :math:`x_i` and text :math:`y_j` and
    ``logit_scale`` :math:`= e^{t}` (Radford et al. 2021): the mean of the image-to-text and
    the text-to-image cross-entropies over the N x N similarity matrix, the matching pairs on
    its diagonal.

    Args:
        image_emb: (N, D) image embeddings.
        text_emb: (N, D) text embeddings, ``text_emb[i]`` the caption of ``image_emb[i]``.
        logit_scale: the multiplier :math:`e^t > 0`, a number or a one-element tensor that
            may require grad. CLIP learns :math:`t`, initialised to :math:`\log(1/0.07)`, and
            clamps :math:`e^t` at 100; objlib leaves the parametrisation and the clamp to the
            caller: pass ``t.exp().clamp(max=100)``.
        reduction: ``"mean"`` (default) averages over the N pairs (on this rank), ``"sum"``
            adds them, ``"none"`` returns the (N,) per-pair losses (each the average of its
            two directions).
        group: a ``torch.distributed`` process group or ``None``. With a group each image is
            scored against the texts of every rank and each text against every image.

    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(clip_loss(x, x, logit_scale=1.0)), 6)  # softplus(-1): both directions
    0.313262
    """
    check_reduction(reduction)
    image_emb, text_emb = _embedding_pair(image_emb, text_emb, "image_emb", "text_emb")
    scale = _logit_scale(logit_scale, like=image_emb)
    world, rank = _world(group)
    n = image_emb.shape[0]
    images = F.normalize(image_emb, dim=-1)
    texts = F.normalize(text_emb, dim=-1)
    labels = _labels(n, rank * n, images.device)
    if world == 1:
        image_to_text = (scale * images) @ texts.T
        text_to_image = image_to_text.T.contiguous()  # a row-wise softmax of a transpose is slow
    else:
        both = _gather(torch.cat([images, texts]), group, "image_emb and text_emb", n).view(world, 2, n, -1)
        all_images, all_texts = both[:, 0].reshape(world * n, -1), both[:, 1].reshape(world * n, -1)
        image_to_text = (scale * images) @ all_texts.T
        text_to_image = (scale * texts) @ all_images.T
    return 0.5 * (
        F.cross_entropy(image_to_text, labels, reduction=reduction)
        + F.cross_entropy(text_to_image, labels, reduction=reduction)
    )


# ---------------------------------------------------------------------------------------
# what a contrastive embedding looks like
# ---------------------------------------------------------------------------------------


def alignment(z1, z2, *, alpha: float = 2.0, reduction: str = "mean") -> torch.Tensor:
    r"""Alignment loss: how far apart positive pairs land on the unit sphere.

    .. math::

        \mathcal L_\text{align} = \mathbb E \bigl\lVert \bar z^{(1)}_i - \bar z^{(2)}_i \bigr\rVert_2^\alpha,
        \qquad \bar z = z / \lVert z \rVert

    (Wang and Isola 2020). Zero when every pair maps to one point; at most :math:`2^\alpha`.
    For :math:`\alpha = 2` it is :math:`2 - 2 s(z^{(1)}_i, z^{(2)}_i)` on average.

    Args:
        z1, z2: (N, D) embeddings of positive pairs (L2-normalised here).
        alpha: the exponent :math:`\alpha > 0` (the paper's default 2).
        reduction: ``"mean"`` (default) over the N pairs | ``"sum"`` | ``"none"`` (N,).

    >>> round(float(alignment([[1.0, 0.0]], [[0.0, 3.0]])), 6)  # squared distance of e1, e2
    2.0
    """
    check_reduction(reduction)
    alpha = check_scalar(alpha, "alpha", low=0.0, low_inclusive=False)
    z1, z2 = _embedding_pair(z1, z2, "z1", "z2")
    squared = (F.normalize(z1, dim=-1) - F.normalize(z2, dim=-1)).square().sum(dim=-1)
    if alpha != 2.0:
        # d/ds s^(alpha/2) is infinite at s = 0 for alpha < 2: give coincident pairs a 0 value
        # and gradient (s == 0 is False for NaN, which then propagates).
        at_zero = squared == 0
        squared = torch.where(at_zero, 0.0, torch.where(at_zero, 1.0, squared).pow(alpha / 2))
    return reduce(squared, reduction)


def uniformity(z, *, t: float = 2.0) -> torch.Tensor:
    r"""Uniformity loss: the log of the mean Gaussian potential between all pairs of embeddings.

    .. math::

        \mathcal L_\text{uniform} = \log \frac{2}{N (N - 1)} \sum_{i < j} e^{-t \lVert \bar z_i - \bar z_j \rVert_2^2},
        \qquad \bar z = z / \lVert z \rVert

    (Wang and Isola 2020). Lower is more uniform: it is 0 when every embedding is the same
    point and decreases as they spread over the sphere. A log of a mean over pairs, not a
    mean over examples, so it has no ``reduction``. Computed with a log-sum-exp from the
    cosine similarities, :math:`\lVert \bar z_i - \bar z_j \rVert^2 = 2 - 2 s(z_i, z_j)`.

    Args:
        z: (N, D) embeddings, N >= 2 (L2-normalised here).
        t: the scale :math:`t > 0` of the potential (the paper's default 2).

    >>> round(float(uniformity([[1.0, 0.0], [-1.0, 0.0]])), 6)  # two antipodes: -t * 4
    -8.0
    """
    t = check_scalar(t, "t", low=0.0, low_inclusive=False)
    z = _embeddings(z, "z")
    n = z.shape[0]
    if n < 2:
        raise ValueError(f"z must hold at least 2 embeddings to form a pair, got N = {n}")
    unit = F.normalize(z, dim=-1)
    rows, cols = torch.triu_indices(n, n, offset=1, device=z.device)
    squared = (2 - 2 * (unit @ unit.T)[rows, cols]).clamp(min=0)  # rounding can dip below 0
    return torch.logsumexp(-t * squared, dim=0) - math.log(rows.numel())
