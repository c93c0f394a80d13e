"""objlib.structured and objlib.ranking against the implementations a user would otherwise call.

* ``crf_nll`` vs ``pytorch-crf`` (``torchcrf.CRF``): forward + backward of the mean negative
  log-likelihood, batch 64, length 50, 20 tags, random right-padded lengths, the same
  transition / start / end parameters (pytorch-crf's own ``Parameter`` objects, so both sides
  get gradients for them).
* ``pairwise_hinge`` vs ``F.margin_ranking_loss`` with a target of ones.
* ``ndcg`` (linear gain) vs ``sklearn.metrics.ndcg_score`` on 256 queries of 50 documents
  (a metric: no backward; scikit-learn gets NumPy arrays prepared outside the timing).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchcrf
from harness import Case
from sklearn.metrics import ndcg_score

from objlib.ranking import ndcg, pairwise_hinge
from objlib.structured import crf_nll

BATCH, LENGTH, TAGS = 64, 50, 20


def _crf_setup():
    g = torch.Generator().manual_seed(0)
    crf = torchcrf.CRF(TAGS, batch_first=True)
    emissions = torch.randn(BATCH, LENGTH, TAGS, generator=g).requires_grad_(True)
    tags = torch.randint(0, TAGS, (BATCH, LENGTH), generator=g)
    lengths = torch.randint(1, LENGTH + 1, (BATCH,), generator=g)
    lengths[0] = LENGTH
    mask = torch.arange(LENGTH) < lengths[:, None]
    return crf, (emissions, tags, mask, crf.transitions, crf.start_transitions, crf.end_transitions)


_CRF, _CRF_INPUTS = _crf_setup()


def _ours_crf(emissions, tags, mask, transitions, start, end):
    return crf_nll(emissions, tags, transitions, start=start, end=end, mask=mask, reduction="mean")


def _peer_crf(emissions, tags, mask, transitions, start, end):
    # pytorch-crf returns the log-likelihood; the parameters are the same objects as ours
    return -_CRF(emissions, tags, mask=mask, reduction="mean")


def _hinge_inputs():
    g = torch.Generator().manual_seed(1)
    pos = torch.randn(4096, 64, generator=g).requires_grad_(True)
    neg = torch.randn(4096, 64, generator=g).requires_grad_(True)
    return pos, neg, torch.ones(4096, 64)


def _ndcg_inputs():
    g = torch.Generator().manual_seed(2)
    scores = torch.randn(256, 50, generator=g, dtype=torch.float64)
    relevance = torch.randint(0, 5, (256, 50), generator=g).to(torch.float64)
    return scores, relevance, scores.numpy(), relevance.numpy()


CASES = [
    Case(
        name="structured.crf_nll (64x50x20, masked)",
        make_inputs=lambda: _CRF_INPUTS,
        ours=_ours_crf,
        peer=_peer_crf,
        peer_name="torchcrf.CRF (reduction=mean)",
        target=0.8,
    ),
    Case(
        name="ranking.pairwise_hinge (4096x64)",
        make_inputs=_hinge_inputs,
        ours=lambda pos, neg, ones: pairwise_hinge(pos, neg, margin=1.0),
        peer=lambda pos, neg, ones: F.margin_ranking_loss(pos, neg, ones, margin=1.0),
        peer_name="F.margin_ranking_loss",
        target=1.1,
    ),
    Case(
        name="ranking.ndcg (256 queries x 50, linear)",
        make_inputs=_ndcg_inputs,
        ours=lambda s, r, s_np, r_np: ndcg(s, r, gain="linear"),
        peer=lambda s, r, s_np, r_np: ndcg_score(r_np, s_np),
        peer_name="sklearn.metrics.ndcg_score",
        target=0.5,
        backward=False,
    ),
]
