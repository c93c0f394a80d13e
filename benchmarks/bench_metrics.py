"""objlib.metrics against scikit-learn (not differentiable: forward only)."""

import numpy as np
import sklearn.metrics
import torch
from harness import Case

from objlib import metrics

N = 100_000


def _binary():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(N, generator=g, dtype=torch.float64)
    labels = (torch.rand(N, generator=g) < torch.sigmoid(2 * scores)).long()
    return scores, labels


def _probs():
    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(2 * torch.randn(N, 10, generator=g, dtype=torch.float64), dim=1)
    labels = torch.randint(0, 10, (N,), generator=g)
    return probs, labels


def _ece_numpy(probs, labels, n_bins=15):
    # the usual loop over bins, as written in most calibration code
    p, y = probs.numpy(), labels.numpy()
    conf, pred = p.max(1), p.argmax(1)
    correct = pred == y
    edges = np.linspace(0, 1, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return ece


CASES = [
    Case(
        "metrics.f1_score N=1e5",
        lambda: ((_binary()[0] > 0).long(), _binary()[1]),
        metrics.f1_score,
        lambda p, y: sklearn.metrics.f1_score(y.numpy(), p.numpy()),
        "sklearn.metrics.f1_score",
        backward=False,
    ),
    Case(
        "metrics.average_precision N=1e5",
        _binary,
        metrics.average_precision,
        lambda s, y: sklearn.metrics.average_precision_score(y.numpy(), s.numpy()),
        "sklearn.metrics.average_precision_score",
        backward=False,
    ),
    Case(
        "metrics.accuracy multiclass N=1e5 C=10",
        _probs,
        metrics.accuracy,
        lambda p, y: sklearn.metrics.accuracy_score(y.numpy(), p.argmax(1).numpy()),
        "sklearn.metrics.accuracy_score(argmax)",
        backward=False,
    ),
    Case(
        "metrics.expected_calibration_error N=1e5 C=10",
        _probs,
        metrics.expected_calibration_error,
        _ece_numpy,
        "numpy loop over 15 bins",
        backward=False,
    ),
]
