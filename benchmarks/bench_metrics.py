"""objlib.metrics against scikit-learn (not differentiable: forward only)."""

import numpy as np
import scipy.optimize
import scipy.special
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


def _logits():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(20_000, 10, generator=g, dtype=torch.float64)
    labels = torch.multinomial(torch.softmax(z, dim=1), 1, generator=g).squeeze(1)
    return 3 * z, labels  # over-confident: the best temperature is about 3


def _f1_threshold_sklearn(scores, labels):
    # the usual recipe: F1 at every threshold of the precision-recall curve, then the arg-max
    precision, recall, thresholds = sklearn.metrics.precision_recall_curve(labels.numpy(), scores.numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    best = int(np.argmax(f1[:-1]))
    return thresholds[best], f1[best]


def _temperature_scipy(logits, labels):
    # scipy's bounded scalar minimiser of the NLL over log T, as a user would write it
    z, y = logits.numpy(), labels.numpy()

    def nll(log_t):
        scaled = z / np.exp(log_t)
        return np.mean(scipy.special.logsumexp(scaled, axis=1) - scaled[np.arange(len(y)), y])

    return np.exp(scipy.optimize.minimize_scalar(nll, bounds=np.log([0.01, 100.0]), method="bounded").x)


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
    Case(
        "metrics.f1_optimal_threshold N=1e5",
        _binary,
        metrics.f1_optimal_threshold,
        _f1_threshold_sklearn,
        "sklearn precision_recall_curve + argmax F1",
        backward=False,
    ),
    Case(
        "metrics.fit_temperature N=2e4 C=10",
        _logits,
        metrics.fit_temperature,
        _temperature_scipy,
        "scipy.optimize.minimize_scalar on the NLL",
        backward=False,
        rounds=7,
    ),
]
