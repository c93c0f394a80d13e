"""Learning-to-rank objectives and the metric they stand in for (chapter 6).

Every function works on one or many queries at once: ``scores`` and ``relevance`` have shape
``(..., L)``, where the last axis lists the ``L`` documents of a query and every leading axis is
a batch of queries. ``relevance`` holds non-negative graded judgements (0 = irrelevant; larger
is better). Losses return one value per query, reduced over the batch by ``reduction``.

Conventions shared by the family:

* ``"mean"`` averages over **queries** (every leading axis); within a query the pairwise
  losses :func:`ranknet` and :func:`lambdarank` average over the query's ordered pairs, so
  that a long list does not outweigh a short one and LambdaRank with unit weights is RankNet.
* ``k`` (a cut-off rank, :func:`dcg`, :func:`ndcg`, and :func:`objlib.metrics.recall_at_k`)
  is given by position or keyword; ``k`` beyond the list length means the whole list.
* Mixed dtypes are promoted as torch promotes them (float32 scores with float64 grades give
  float64); integer or bool scores become floating.
* NaN: with value checks on, a NaN score or grade is a ``ValueError``; with them off, a query
  with a NaN score has a NaN loss or metric (a NaN is never sorted to a place and scored).

* :func:`pairwise_hinge` -- a margin on one (positive, negative) score pair.
* :func:`ranknet` -- logistic loss on every correctly-ordered pair (Burges et al. 2005).
* :func:`lambdarank` -- RankNet pairs weighted by the NDCG change of swapping them
  (Burges et al. 2006; Burges 2010).
* :func:`listnet` -- cross-entropy between top-one distributions (Cao et al. 2007).
* :func:`dcg`, :func:`ndcg` -- discounted cumulative gain and its normalised form
  (Jarvelin and Kekalainen 2002), the metric the losses are surrogates for.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._checks import (
    TensorLike,
    as_float_tensor,
    check_int,
    check_nonempty,
    check_nonnegative,
    check_not_nan,
    check_reduction,
    check_same_shape,
    check_scalar,
    promote_floats,
    raise_on_nan,
    reduce,
)

__all__ = ["pairwise_hinge", "ranknet", "lambdarank", "listnet", "dcg", "ndcg"]

GAINS = ("exponential", "linear")


# ---------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------


def _scores_and_relevance(scores: TensorLike, relevance: TensorLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Convert and check a ``(..., L)`` pair of scores and graded relevance."""
    scores = as_float_tensor(scores, "scores")
    relevance = as_float_tensor(relevance, "relevance", like=scores)
    if scores.dim() < 1:
        raise ValueError("scores must have shape (..., L) with a last axis of documents, got a scalar")
    check_same_shape(scores, relevance, "scores", "relevance")
    check_nonempty(scores, "scores")
    check_nonnegative(relevance, "relevance")  # NaN fails too
    scores, relevance = promote_floats(scores, relevance)
    return scores, relevance


def _per_query(value: torch.Tensor, scores: torch.Tensor, relevance: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce per-query values; a query with a NaN score or grade gets NaN (refused with checks on)."""
    nan = torch.isnan(scores).any(dim=-1) | torch.isnan(relevance).any(dim=-1)
    return raise_on_nan(reduce(torch.where(nan, torch.nan, value), reduction), scores=scores, relevance=relevance)


def _check_k(k) -> int | None:
    """``k`` is ``None`` (the whole list) or a positive integer."""
    return None if k is None else check_int(k, "k", low=1)


def _gain(relevance: torch.Tensor, gain: str) -> torch.Tensor:
    if gain == "exponential":
        return torch.exp2(relevance) - 1
    if gain == "linear":
        return relevance
    raise ValueError(f"gain must be one of {GAINS}, got {gain!r}")


def _discounts(length: int, k: int | None, like: torch.Tensor) -> torch.Tensor:
    """``1 / log2(i + 1)`` for ranks ``i = 1..length``, zero below rank ``k``."""
    ranks = torch.arange(1, length + 1, dtype=like.dtype, device=like.device)
    disc = 1.0 / torch.log2(ranks + 1)
    if k is not None and k < length:
        disc[k:] = 0
    return disc


def _dcg_of_order(gains: torch.Tensor, order: torch.Tensor, disc: torch.Tensor) -> torch.Tensor:
    return (gains.gather(-1, order) * disc).sum(-1)


def _descending(x: torch.Tensor) -> torch.Tensor:
    """Ranking of ``x`` from largest to smallest; ties keep list order (stable)."""
    return torch.sort(x, dim=-1, descending=True, stable=True).indices


def _pair_count(better: torch.Tensor) -> torch.Tensor:
    """The number of ordered pairs of each query, at least 1 (a query without pairs has loss 0)."""
    return better.sum(dim=(-2, -1)).clamp(min=1)


def _pair_differences(scores: torch.Tensor, relevance: torch.Tensor):
    """``s_i - s_j`` and the indicator ``rel_i > rel_j`` over all pairs, shape ``(..., L, L)``."""
    diff = scores.unsqueeze(-1) - scores.unsqueeze(-2)
    better = relevance.unsqueeze(-1) > relevance.unsqueeze(-2)
    return diff, better


# ---------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------


def pairwise_hinge(
    pos_scores: TensorLike, neg_scores: TensorLike, *, margin: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    r"""Pairwise hinge: ask a positive to outscore its negative by at least ``margin``.

    .. math::

        \ell(s^+, s^-) = \max\bigl(0,\ m - (s^+ - s^-)\bigr)

    The same function is the triplet loss of Schroff et al. (2015) when the scores are negative
    distances to an anchor, :math:`s^\pm = -d(a, x^\pm)`, and the pairwise SVM ranking loss
    when :math:`s^+` and :math:`s^-` are the scores of a more and a less relevant document.

    Args:
        pos_scores: scores of the items that should rank higher, any shape.
        neg_scores: scores of the items that should rank lower, same shape (no broadcasting).
        margin: required score gap :math:`m \ge 0`.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over all pairs (every element: here a
            pair is the unit, there is no query axis).

    Agrees with ``F.margin_ranking_loss(pos, neg, torch.ones_like(pos), margin=margin)``.

    >>> pairwise_hinge(torch.tensor([2.0, 0.5]), torch.tensor([0.0, 0.0]))
    tensor(0.2500)
    """
    pos = as_float_tensor(pos_scores, "pos_scores")
    neg = as_float_tensor(neg_scores, "neg_scores", like=pos)
    check_same_shape(pos, neg, "pos_scores", "neg_scores")
    check_nonempty(pos, "pos_scores")
    margin = check_scalar(margin, "margin", low=0)
    check_reduction(reduction)
    pos, neg = promote_floats(pos, neg)
    return raise_on_nan(reduce(F.relu(margin - (pos - neg)), reduction), pos_scores=pos, neg_scores=neg)


def ranknet(scores: TensorLike, relevance: TensorLike, *, reduction: str = "mean") -> torch.Tensor:
    r"""RankNet: logistic loss on every pair of documents with different relevance.

    For a query with scores :math:`s` and grades :math:`r`, let
    :math:`P = \{(i, j) : r_i > r_j\}` be the ordered pairs. Then

    .. math::

        \ell(s, r) = \frac{1}{|P|} \sum_{(i, j) \in P} \log\bigl(1 + e^{-(s_i - s_j)}\bigr),

    the cross-entropy of a Bradley-Terry model :math:`P(i \succ j) = \sigma(s_i - s_j)`
    against the target "i beats j" (Burges et al. 2005), computed as
    :math:`-\log\sigma(s_i - s_j)` so that it stays finite for score gaps of any size.

    A query whose documents all share one grade has no pair; its loss is defined as 0 (it carries
    no ordering information) and it still counts as a query in ``reduction="mean"``.

    Args:
        scores: model scores, shape ``(..., L)``.
        relevance: non-negative grades, same shape.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over queries (every leading axis).

    >>> round(ranknet(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.0])).item(), 4)  # log(1 + e^-1)
    0.3133
    """
    scores, relevance = _scores_and_relevance(scores, relevance)
    check_reduction(reduction)
    diff, better = _pair_differences(scores, relevance)
    pair_loss = torch.where(better, -F.logsigmoid(diff), 0.0)
    return _per_query(pair_loss.sum(dim=(-2, -1)) / _pair_count(better), scores, relevance, reduction)


def lambdarank(
    scores: TensorLike,
    relevance: TensorLike,
    *,
    k: int | None = None,
    gain: str = "exponential",
    reduction: str = "mean",
) -> torch.Tensor:
    r"""LambdaRank: RankNet pair terms weighted by how much swapping the pair changes NDCG@k.

    With the documents ranked by the current scores, let :math:`|\Delta_{ij}|` be the absolute
    change of NDCG@k when documents :math:`i` and :math:`j` exchange their ranks:

    .. math::

        |\Delta_{ij}| = \frac{\lvert (g_i - g_j)\,(D_i - D_j) \rvert}{\mathrm{IDCG@}k},
        \qquad D_i = \frac{\mathbb 1[\mathrm{rank}_i \le k]}{\log_2(1 + \mathrm{rank}_i)},

        \ell(s, r) = \frac{1}{|P|} \sum_{(i, j) \in P} |\Delta_{ij}| \,\log\bigl(1 + e^{-(s_i - s_j)}\bigr),
        \qquad P = \{(i, j) : r_i > r_j\}.

    The weights are constants (computed from the detached scores), so the gradient for a
    document is the "lambda" of Burges et al. (2006) and Burges (2010): the RankNet pair
    gradients scaled by the metric change. Pairs are averaged, like :func:`ranknet`'s, so
    that with every weight 1 the two losses coincide (the papers leave the normalisation
    free, since a gradient step rescales it; before objlib 0.2 the pairs were summed). A query
    whose grades are all equal has no pair and loss 0. Ties among scores are ranked in list
    order.

    Args:
        scores: model scores, shape ``(..., L)``.
        relevance: non-negative grades, same shape.
        k: truncation of NDCG (``None`` = the whole list); pairs that both fall below rank
            ``k`` get weight 0.
        gain: ``"exponential"`` (:math:`2^r - 1`, the default) or ``"linear"`` (:math:`r`).
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over queries.

    Two documents in the wrong order (one pair): the weight is NDCG's gain from swapping them,
    :math:`1 - 1/\log_2 3 = 0.3691`, times :math:`\log(1 + e^{1}) = 1.3133`.

    >>> round(lambdarank(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0])).item(), 4)
    0.4847
    """
    scores, relevance = _scores_and_relevance(scores, relevance)
    k = _check_k(k)
    check_reduction(reduction)
    with torch.no_grad():
        gains = _gain(relevance, gain)
        length = scores.shape[-1]
        disc = _discounts(length, k, scores)
        order = _descending(scores.detach())
        # disc_at[..., i] = discount of the rank document i currently holds
        disc_at = torch.empty_like(gains).scatter_(-1, order, disc.expand_as(gains).contiguous())
        ideal = _dcg_of_order(gains, _descending(gains), disc)
        inv_ideal = torch.where(ideal > 0, 1.0 / ideal.clamp(min=torch.finfo(ideal.dtype).tiny), 0.0)
        delta = (gains.unsqueeze(-1) - gains.unsqueeze(-2)) * (disc_at.unsqueeze(-1) - disc_at.unsqueeze(-2))
        weight = delta.abs() * inv_ideal[..., None, None]
    diff, better = _pair_differences(scores, relevance)
    pair_loss = torch.where(better, weight * -F.logsigmoid(diff), 0.0)
    return _per_query(pair_loss.sum(dim=(-2, -1)) / _pair_count(better), scores, relevance, reduction)


def listnet(scores: TensorLike, relevance: TensorLike, *, reduction: str = "mean") -> torch.Tensor:
    r"""ListNet (top-one): cross-entropy between the softmax of the grades and of the scores.

    .. math::

        \ell(s, r) = -\sum_{i=1}^{L} \operatorname{softmax}(r)_i \,\log \operatorname{softmax}(s)_i

    Each softmax is the probability that a document is ranked first under a Plackett-Luce model
    with :math:`\phi = \exp` (Cao et al. 2007). This is a cross-entropy, not a KL divergence:
    its minimum over scores is the entropy of :math:`\operatorname{softmax}(r)`, reached when
    :math:`s = r + c`. ``log_softmax`` keeps it finite for scores of any size.

    Args:
        scores: model scores, shape ``(..., L)``.
        relevance: non-negative grades, same shape.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` over queries.

    Equal scores on two documents: the loss is :math:`\log 2` whatever the grades.

    >>> round(listnet(torch.tensor([0.0, 0.0]), torch.tensor([2.0, 0.0])).item(), 4)
    0.6931
    """
    scores, relevance = _scores_and_relevance(scores, relevance)
    check_reduction(reduction)
    target = torch.softmax(relevance, dim=-1)
    return _per_query(-(target * torch.log_softmax(scores, dim=-1)).sum(-1), scores, relevance, reduction)


# ---------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------


def _dcg_inputs(
    scores: TensorLike, relevance: TensorLike, k: int | None, gain: str, reduction: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Checked gains, rank discounts and the ranking induced by ``scores``, for DCG and NDCG."""
    scores, relevance = _scores_and_relevance(scores, relevance)
    k = _check_k(k)
    check_reduction(reduction)
    check_not_nan(scores, "scores")  # a metric: sorting would silently place a NaN
    gains = _gain(relevance, gain)
    return scores, relevance, gains, _discounts(scores.shape[-1], k, scores), _descending(scores.detach())


def dcg(
    scores: TensorLike,
    relevance: TensorLike,
    k: int | None = None,
    *,
    gain: str = "exponential",
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Discounted cumulative gain of the ranking that ``scores`` induce.

    .. math::

        \mathrm{DCG@}k = \sum_{i=1}^{\min(k, L)} \frac{g(r_{\pi(i)})}{\log_2(i + 1)},
        \qquad g(r) = 2^r - 1 \ \text{("exponential")} \ \text{or}\ r \ \text{("linear")},

    where :math:`\pi(i)` is the document the scores put at rank :math:`i` (Jarvelin and
    Kekalainen 2002; the exponential gain is the usual choice in web search). Tied scores are
    ranked in list order. A metric, not a loss: it is piecewise constant in the scores.

    Args:
        scores: model scores, shape ``(..., L)``.
        relevance: non-negative grades, same shape.
        k: cut-off rank, by position or keyword (``None`` = whole list; ``k > L`` is the whole
            list, as in :func:`objlib.metrics.recall_at_k`).
        gain: ``"exponential"`` or ``"linear"``.
        reduction: ``"mean"`` (default, like scikit-learn) | ``"sum"`` | ``"none"`` over queries.

    With ``gain="linear"`` it equals ``sklearn.metrics.dcg_score(relevance, scores, k=k)`` when
    no scores tie.

    >>> round(dcg([[0.1, 0.4, 0.3, 0.2]], [[3, 2, 0, 1]], gain="linear").item(), 4)
    3.792
    """
    scores, relevance, gains, disc, order = _dcg_inputs(scores, relevance, k, gain, reduction)
    return _per_query(_dcg_of_order(gains, order, disc), scores.detach(), relevance, reduction)


def ndcg(
    scores: TensorLike,
    relevance: TensorLike,
    k: int | None = None,
    *,
    gain: str = "exponential",
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Normalised DCG: DCG@k divided by the DCG@k of the best possible ranking.

    .. math::

        \mathrm{NDCG@}k = \frac{\mathrm{DCG@}k(s, r)}{\mathrm{DCG@}k(r, r)} \in [0, 1]

    Normalising by the ideal ranking (Järvelin and Kekäläinen, 2002) puts queries with
    different numbers of relevant documents on one scale.
    A query with no relevant document (ideal DCG = 0) has NDCG 0, as in scikit-learn; this
    keeps the metric from rewarding queries where no ranking can be good. See :func:`dcg` for
    gains, discounts, ties and ``reduction``.

    With ``gain="linear"`` it equals ``sklearn.metrics.ndcg_score(relevance, scores, k=k)`` when
    no scores tie (scikit-learn averages over tied orders instead).

    >>> round(ndcg([[0.1, 0.4, 0.3, 0.2]], [[3, 2, 0, 1]], gain="linear").item(), 4)
    0.7963
    """
    scores, relevance, gains, disc, order = _dcg_inputs(scores, relevance, k, gain, reduction)
    actual = _dcg_of_order(gains, order, disc)
    ideal = _dcg_of_order(gains, _descending(gains), disc)
    value = torch.where(ideal > 0, actual / torch.where(ideal > 0, ideal, 1.0), 0.0)
    return _per_query(value, scores.detach(), relevance, reduction)
