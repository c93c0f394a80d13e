"""One registry of objlib's objectives with valid inputs, shared by the policy sweep
(tests/test_policies.py), the compile tests (tests/test_compile.py) and the full compile check
(tools/check_compiled.py).

Each :class:`Objective` calls one public function on small float64 inputs that satisfy every
check. ``data`` names the arguments that hold data (a NaN there must be refused or propagate);
``probabilities`` the ones that hold probability vectors along their last axis. A module added
later joins the sweep by appending its objectives to ``OBJECTIVES`` (see ``extend`` below).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from objlib import classification as C
from objlib import divergences as D
from objlib import erm as E
from objlib import metrics as M
from objlib import ranking as K
from objlib import regression as R
from objlib import structured as S


@dataclass
class Objective:
    name: str
    fn: Callable
    make: Callable[[torch.Generator], dict[str, Any]]  # positional arguments, in order
    kwargs: dict[str, Any] = field(default_factory=dict)
    data: tuple[str, ...] = ()
    probabilities: tuple[str, ...] = ()
    carries_nan: bool = True  # False: the output cannot hold a NaN (a path, a count)
    compiles: bool = True  # with value checks off, under torch.compile(fullgraph=True)
    why_not: str = ""  # why it does not compile
    grad: tuple[str, ...] = ()  # arguments to differentiate in the compiled check

    def args(self, seed: int = 0) -> dict[str, Any]:
        return self.make(torch.Generator().manual_seed(seed))

    def __call__(self, args: dict[str, Any]):
        return self.fn(*args.values(), **self.kwargs)


F64 = torch.float64


def _randn(g, *shape):
    return torch.randn(*shape, generator=g, dtype=F64)


def _simplex(g, *shape):
    return torch.softmax(_randn(g, *shape), dim=-1)


def _signs(g, *shape):
    return torch.where(torch.rand(*shape, generator=g) < 0.5, -1.0, 1.0).to(F64)


def _pred_target(g):
    return {"pred": _randn(g, 6), "target": _randn(g, 6)}


def _scores_labels(g):
    return {"scores": _randn(g, 6), "labels": _signs(g, 6)}


def _logits_targets(g):
    return {"logits": _randn(g, 6), "targets": (torch.rand(6, generator=g) < 0.5).to(F64)}


def _multiclass(g):
    return {"scores": _randn(g, 5, 4), "labels": torch.randint(0, 4, (5,), generator=g)}


def _ranking(g):
    return {"scores": _randn(g, 3, 5), "relevance": torch.randint(0, 3, (3, 5), generator=g).to(F64)}


def _crf(g, with_tags=True):
    args = {"emissions": _randn(g, 2, 4, 3)}
    if with_tags:
        args["tags"] = torch.randint(0, 3, (2, 4), generator=g)
    args["transitions"] = _randn(g, 3, 3)
    return args


MARGIN_LOSSES = (C.hinge, C.squared_hinge, C.logistic, C.exponential)

OBJECTIVES: list[Objective] = [
    *(
        Objective(f"regression.{fn.__name__}", fn, _pred_target, data=("pred", "target"), grad=("pred",))
        for fn in (R.mse, R.mae, R.huber, R.quantile, R.log_cosh)
    ),
    Objective("classification.zero_one binary", C.zero_one, _scores_labels, data=("scores", "labels")),
    Objective("classification.zero_one multiclass", C.zero_one, _multiclass, data=("scores",)),
    *(
        Objective(f"classification.{fn.__name__}", fn, _scores_labels, data=("scores", "labels"), grad=("scores",))
        for fn in MARGIN_LOSSES
    ),
    Objective("classification.multiclass_hinge", C.multiclass_hinge, _multiclass, data=("scores",), grad=("scores",)),
    Objective(
        "classification.binary_cross_entropy",
        C.binary_cross_entropy,
        lambda g: {"logits": _randn(g, 6), "targets": torch.rand(6, generator=g, dtype=F64)},
        kwargs={"pos_weight": torch.tensor([2.0], dtype=F64)},
        data=("logits", "targets"),
        grad=("logits",),
    ),
    Objective(
        "classification.cross_entropy indices",
        C.cross_entropy,
        lambda g: {"logits": _randn(g, 5, 4), "target": torch.randint(0, 4, (5,), generator=g)},
        kwargs={"label_smoothing": 0.1},
        data=("logits",),
        grad=("logits",),
    ),
    Objective(
        "classification.cross_entropy probabilities",
        C.cross_entropy,
        lambda g: {"logits": _randn(g, 5, 4), "target": _simplex(g, 5, 4)},
        data=("logits", "target"),
        probabilities=("target",),
        grad=("logits",),
    ),
    Objective("classification.focal", C.focal, _logits_targets, data=("logits", "targets"), grad=("logits",)),
    Objective(
        "metrics.accuracy",
        M.accuracy,
        lambda g: {"scores": _randn(g, 6), "labels": torch.randint(0, 2, (6,), generator=g)},
        data=("scores",),
        compiles=False,
        why_not="a metric: it counts with data-dependent control flow",
    ),
    Objective(
        "metrics.f1_score",
        M.f1_score,
        lambda g: {
            "pred_labels": torch.tensor([1.0, 0.0, 1.0, 1.0], dtype=F64),
            "labels": torch.tensor([1.0, 1, 0, 1], dtype=F64),
        },
        data=("pred_labels", "labels"),
        compiles=False,
        why_not="a metric: the 0/0 case is read on the host",
    ),
    Objective(
        "metrics.average_precision",
        M.average_precision,
        lambda g: {"scores": _randn(g, 8), "labels": torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])},
        data=("scores",),
        compiles=False,
        why_not="a metric: ties and the number of positives are read on the host",
    ),
    Objective(
        "metrics.expected_calibration_error",
        M.expected_calibration_error,
        lambda g: {"probs": _simplex(g, 6, 3), "labels": torch.randint(0, 3, (6,), generator=g)},
        data=("probs",),
        probabilities=("probs",),
        compiles=False,
        why_not="a metric",
    ),
    Objective(
        "metrics.recall_at_k",
        M.recall_at_k,
        lambda g: {**_ranking(g), "k": 2},
        data=("scores", "relevance"),
        compiles=False,
        why_not="a metric: queries without a relevant item are skipped by a host-side test",
    ),
    Objective(
        "erm.empirical_risk",
        E.empirical_risk,
        lambda g: {"loss_fn": R.mse, **_pred_target(g)},
        data=("pred", "target"),
        grad=("pred",),
    ),
    Objective(
        "divergences.kl",
        D.kl,
        lambda g: {"p": _simplex(g, 3, 4), "q": _simplex(g, 3, 4)},
        data=("p", "q"),
        probabilities=("p", "q"),
        grad=("q",),
    ),
    Objective(
        "divergences.kl logits",
        D.kl,
        lambda g: {"p": _simplex(g, 3, 4), "q": _randn(g, 3, 4)},
        kwargs={"q_form": "logits"},
        data=("p", "q"),
        probabilities=("p",),
        grad=("q",),
    ),
    Objective(
        "divergences.kl log_probs",
        D.kl,
        lambda g: {"p": _simplex(g, 3, 4), "q": torch.log_softmax(_randn(g, 3, 4), -1)},
        kwargs={"q_form": "log_probs"},
        data=("p", "q"),
        probabilities=("p",),
        grad=("q",),
    ),
    Objective(
        "divergences.js",
        D.js,
        lambda g: {"p": _simplex(g, 3, 4), "q": _simplex(g, 3, 4)},
        data=("p", "q"),
        probabilities=("p", "q"),
        grad=("q",),
    ),
    Objective(
        "divergences.wasserstein_1d",
        D.wasserstein_1d,
        lambda g: {
            "u_values": _randn(g, 7),
            "v_values": _randn(g, 5),
            "u_weights": torch.rand(7, generator=g, dtype=F64),
        },
        kwargs={"p": 2},
        data=("u_values", "v_values", "u_weights"),
        grad=("u_values",),
    ),
    Objective(
        "divergences.sliced_wasserstein",
        D.sliced_wasserstein,
        lambda g: {"x": _randn(g, 6, 2), "y": _randn(g, 5, 2)},
        kwargs={"directions": torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=F64)},
        data=("x", "y"),
        grad=("x",),
    ),
    Objective(
        "divergences.sinkhorn",
        lambda a, b, cost: D.sinkhorn(a, b, cost, epsilon=0.1, max_iter=50, tol=0.0)[1],
        lambda g: {"a": _simplex(g, 4), "b": _simplex(g, 3), "cost": torch.rand(4, 3, generator=g, dtype=F64)},
        data=("a", "b", "cost"),
        probabilities=("a", "b"),
        compiles=False,
        why_not="the stopping rule and the supports of the marginals are read on the host",
    ),
    Objective(
        "divergences.sinkhorn_divergence",
        lambda x, y: D.sinkhorn_divergence(x, y, epsilon=0.5, max_iter=50, tol=0.0, epsilon_scaling=False),
        lambda g: {"x": _randn(g, 4, 2), "y": _randn(g, 3, 2)},
        data=("x", "y"),
        compiles=False,
        why_not="built on sinkhorn",
    ),
    Objective(
        "divergences.gaussian_kl",
        D.gaussian_kl,
        lambda g: {
            "mu_p": _randn(g, 3, 2),
            "var_p": torch.rand(3, 2, generator=g, dtype=F64) + 0.5,
            "mu_q": _randn(g, 3, 2),
            "var_q": torch.rand(3, 2, generator=g, dtype=F64) + 0.5,
        },
        data=("mu_p", "var_p", "mu_q", "var_q"),
        grad=("mu_p", "var_p"),
    ),
    Objective(
        "ranking.pairwise_hinge",
        K.pairwise_hinge,
        lambda g: {"pos_scores": _randn(g, 6), "neg_scores": _randn(g, 6)},
        data=("pos_scores", "neg_scores"),
        grad=("pos_scores",),
    ),
    *(
        Objective(f"ranking.{fn.__name__}", fn, _ranking, data=("scores", "relevance"), grad=("scores",))
        for fn in (K.ranknet, K.lambdarank, K.listnet)
    ),
    *(
        Objective(f"ranking.{fn.__name__}", fn, _ranking, kwargs={"k": 3}, data=("scores", "relevance"))
        for fn in (K.dcg, K.ndcg)
    ),
    Objective(
        "structured.crf_log_partition",
        S.crf_log_partition,
        lambda g: _crf(g, with_tags=False),
        data=("emissions", "transitions"),
        grad=("emissions", "transitions"),
    ),
    Objective(
        "structured.crf_score",
        S.crf_score,
        lambda g: {**_crf(g), "tags": torch.zeros(2, 4, dtype=torch.long)},  # the path reads [0, 0, 0]
        data=("emissions", "transitions"),
        grad=("emissions",),
    ),
    Objective(
        "structured.crf_nll", S.crf_nll, _crf, data=("emissions", "transitions"), grad=("emissions", "transitions")
    ),
    Objective(
        "structured.crf_decode",
        S.crf_decode,
        lambda g: _crf(g, with_tags=False),
        data=("emissions", "transitions"),
        carries_nan=False,
    ),
    Objective(
        "structured.crf_hamming_hinge",
        S.crf_hamming_hinge,
        _crf,
        data=("emissions", "transitions"),
        grad=("emissions",),
    ),
    Objective(
        "structured.structured_hinge",
        S.structured_hinge,
        lambda g: {
            "scores": _randn(g, 3, 4),
            "target": torch.tensor([0, 2, 1]),
            "task_loss": torch.tensor([[0.0, 1, 1, 2], [1, 2, 0, 1], [1, 0, 2, 1]], dtype=F64),
        },
        data=("scores", "task_loss"),
        grad=("scores",),
    ),
]


def extend(objectives: list[Objective]) -> None:
    """Add a module's objectives to the sweep (call it at import time of that module's list)."""
    OBJECTIVES.extend(objectives)
