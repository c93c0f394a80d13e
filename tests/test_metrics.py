"""objlib.metrics against scikit-learn and brute-force loops."""

import math
import warnings

import numpy as np
import pytest
import sklearn.metrics
import torch
from hypothesis import given
from hypothesis import strategies as st

import objlib
from objlib import metrics

F64 = torch.float64


# ---------------------------------------------------------------------------------------
# accuracy
# ---------------------------------------------------------------------------------------


def test_accuracy_binary_matches_count():
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(500, generator=g, dtype=F64)
    labels = torch.where(torch.rand(500, generator=g) < 0.5, 1, -1)
    expected = np.mean(
        [(s > 0 and y == 1) or (s < 0 and y == -1) for s, y in zip(scores.tolist(), labels.tolist(), strict=True)]
    )
    assert float(metrics.accuracy(scores, labels)) == pytest.approx(expected, abs=1e-15)
    # the {0, 1} coding of the same labels gives the same accuracy
    assert float(metrics.accuracy(scores, (labels + 1) // 2)) == pytest.approx(expected, abs=1e-15)
    assert float(metrics.accuracy(scores, labels == 1)) == pytest.approx(expected, abs=1e-15)


def test_accuracy_zero_score_is_an_error_for_both_classes():
    assert float(metrics.accuracy([0.0, 0.0], [1, -1])) == 0.0


def test_accuracy_multiclass_matches_sklearn():
    g = torch.Generator().manual_seed(2)
    scores = torch.randn(300, 5, generator=g, dtype=F64)
    labels = torch.randint(0, 5, (300,), generator=g)
    expected = sklearn.metrics.accuracy_score(labels.numpy(), scores.argmax(1).numpy())
    out = metrics.accuracy(scores, labels)
    assert out.dtype == F64
    assert float(out) == pytest.approx(expected, abs=1e-15)


def test_accuracy_has_no_grad():
    scores = torch.randn(10, dtype=F64, requires_grad=True)
    assert not metrics.accuracy(scores, torch.ones(10)).requires_grad


@pytest.mark.parametrize(
    "scores, labels, match",
    [
        ([0.1, 0.2], [1, 2], "labels"),
        ([0.1, 0.2, 0.3], [1, -1, 0], "labels"),
        ([0.1, 0.2], [1], "labels"),
        ([], [], "scores"),
        ([[0.1, 0.2]], [2], "labels"),
        ([[[0.1]]], [0], "scores"),
    ],
)
def test_accuracy_refuses(scores, labels, match):
    with pytest.raises(ValueError, match=match):
        metrics.accuracy(scores, labels)


# ---------------------------------------------------------------------------------------
# F1
# ---------------------------------------------------------------------------------------


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=40))
def test_f1_matches_sklearn(pairs):
    pred = np.array([p for p, _ in pairs], dtype=np.int64)
    true = np.array([t for _, t in pairs], dtype=np.int64)
    expected = sklearn.metrics.f1_score(true, pred, zero_division=0.0)
    assert float(metrics.f1_score(pred, true)) == pytest.approx(expected, abs=1e-7)
    # {-1, +1} coding, mixed codings, bool
    assert float(metrics.f1_score(2 * pred - 1, 2 * true - 1)) == pytest.approx(expected, abs=1e-7)
    assert float(metrics.f1_score(2 * pred - 1, true)) == pytest.approx(expected, abs=1e-7)
    assert float(metrics.f1_score(pred.astype(bool), true.astype(bool))) == pytest.approx(expected, abs=1e-7)


def test_f1_float64_and_zero_division():
    pred = torch.tensor([1.0, 0.0, 1.0], dtype=F64)
    out = metrics.f1_score(pred, [1, 1, 0])
    assert out.dtype == F64 and float(out) == pytest.approx(0.5, abs=1e-15)
    assert float(metrics.f1_score([0, 0], [0, 0])) == 0.0
    assert float(metrics.f1_score([0, 0], [0, 0], zero_division=1.0)) == 1.0
    expected = sklearn.metrics.f1_score([0, 0], [0, 0], zero_division=1.0)
    assert expected == 1.0


@pytest.mark.parametrize(
    "pred, labels, kwargs, match",
    [
        ([1, 2], [1, 0], {}, "pred_labels"),
        ([1, 0], [1, 3], {}, "labels"),
        ([1, -1, 0], [1, 1, 1], {}, "pred_labels"),
        ([1, 0], [1], {}, "labels"),
        ([], [], {}, "pred_labels"),
        ([1, 0], [1, 0], {"zero_division": 2.0}, "zero_division"),
    ],
)
def test_f1_refuses(pred, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics.f1_score(pred, labels, **kwargs)


# ---------------------------------------------------------------------------------------
# the F1-optimal threshold
# ---------------------------------------------------------------------------------------


def best_threshold_reference(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Every distinct score as the threshold of 'score >= t', scored by scikit-learn; the largest t wins ties."""
    best_t, best_f1 = None, -1.0
    for t in sorted(set(scores.tolist()), reverse=True):
        f1 = sklearn.metrics.f1_score(labels, (scores >= t).astype(int), zero_division=0.0)
        if f1 > best_f1 + 1e-15:
            best_t, best_f1 = t, f1
    return best_t, best_f1


@pytest.mark.parametrize("ties", [False, True])
def test_f1_optimal_threshold_matches_brute_force(ties):
    g = torch.Generator().manual_seed(11)
    for _ in range(15):
        n = int(torch.randint(2, 80, (1,), generator=g))
        labels = (torch.rand(n, generator=g) < 0.3).long()
        labels[0] = 1
        scores = torch.randn(n, generator=g, dtype=F64) + labels
        if ties:
            scores = scores.round()
        best = metrics.f1_optimal_threshold(scores, labels)
        t_ref, f1_ref = best_threshold_reference(scores.numpy(), labels.numpy())
        assert best.threshold.dtype == best.f1.dtype == F64
        assert float(best.threshold) == t_ref
        assert float(best.f1) == pytest.approx(f1_ref, abs=1e-12)
        assert float(best.f1) == pytest.approx(
            float(metrics.f1_score(scores >= best.threshold, labels.double())), abs=1e-15
        )


def test_f1_optimal_threshold_matches_the_precision_recall_curve():
    g = torch.Generator().manual_seed(12)
    scores = torch.rand(2000, generator=g, dtype=F64)
    labels = (torch.rand(2000, generator=g, dtype=F64) < scores**3).long()
    precision, recall, _ = sklearn.metrics.precision_recall_curve(labels.numpy(), scores.numpy())
    with np.errstate(invalid="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    assert float(metrics.f1_optimal_threshold(scores, labels).f1) == pytest.approx(f1.max(), abs=1e-12)


def test_f1_optimal_threshold_properties():
    g = torch.Generator().manual_seed(13)
    scores = torch.randn(300, generator=g, dtype=F64)
    labels = torch.where(torch.rand(300, generator=g, dtype=F64) < torch.sigmoid(2 * scores), 1, -1)
    best = metrics.f1_optimal_threshold(scores, labels)
    # a strictly increasing transform moves the threshold with it and keeps the F1
    moved = metrics.f1_optimal_threshold(torch.exp(scores) + 3, labels)
    assert float(moved.threshold) == pytest.approx(math.exp(float(best.threshold)) + 3, rel=1e-14)
    assert float(moved.f1) == float(best.f1)
    # the {0, 1} and bool codings agree with {-1, +1}; no threshold does better than the best
    assert metrics.f1_optimal_threshold(scores, labels == 1) == best
    assert all(float(metrics.f1_score(scores >= t, labels.double())) <= float(best.f1) + 1e-15 for t in scores)


def test_f1_optimal_threshold_of_calibrated_probabilities_is_half_the_best_f1():
    # Lipton, Elkan and Naryanaswamy (2014): for calibrated probabilities, t* = F1* / 2
    g = torch.Generator().manual_seed(14)
    probs = torch.sigmoid(2 * torch.randn(200_000, generator=g, dtype=F64) - 2)
    labels = (torch.rand(200_000, generator=g, dtype=F64) < probs).long()
    best = metrics.f1_optimal_threshold(probs, labels)
    assert float(best.threshold) == pytest.approx(float(best.f1) / 2, abs=0.01)


def test_f1_optimal_threshold_without_positives_or_with_nan():
    best = metrics.f1_optimal_threshold([0.2, 0.7], [0, 0])
    assert math.isnan(float(best.threshold)) and math.isnan(float(best.f1))
    with pytest.raises(ValueError, match="scores"):
        metrics.f1_optimal_threshold([float("nan"), 0.7], [0, 1])
    with objlib.value_checks(False):
        best = metrics.f1_optimal_threshold([float("nan"), 0.7], [0, 1])
    assert math.isnan(float(best.threshold)) and math.isnan(float(best.f1))


def test_f1_optimal_threshold_dtypes():
    best = metrics.f1_optimal_threshold(
        torch.tensor([0.2, 0.7], dtype=torch.float32), torch.tensor([0.0, 1.0], dtype=F64)
    )
    assert best.threshold.dtype == torch.float32 and float(best.threshold) == pytest.approx(0.7)
    assert metrics.f1_optimal_threshold([1, 3, 2], [0, 1, 1]).threshold.dtype == torch.get_default_dtype()


@pytest.mark.parametrize(
    "scores, labels, match",
    [
        ([0.1, 0.2], [1, 2], "labels"),
        ([0.1, 0.2], [1, -1, 1], "labels"),
        ([[0.1, 0.2]], [[1, 0]], "scores"),
        ([], [], "scores"),
    ],
)
def test_f1_optimal_threshold_refuses(scores, labels, match):
    with pytest.raises(ValueError, match=match):
        metrics.f1_optimal_threshold(scores, labels)


# ---------------------------------------------------------------------------------------
# average precision
# ---------------------------------------------------------------------------------------


def test_average_precision_matches_sklearn_random():
    g = torch.Generator().manual_seed(3)
    for _ in range(20):
        n = int(torch.randint(2, 60, (1,), generator=g))
        labels = (torch.rand(n, generator=g) < 0.3).long()
        labels[0] = 1
        scores = torch.randn(n, generator=g, dtype=F64)
        expected = sklearn.metrics.average_precision_score(labels.numpy(), scores.numpy())
        assert float(metrics.average_precision(scores, labels)) == pytest.approx(expected, abs=1e-12)


def test_average_precision_matches_sklearn_with_ties():
    g = torch.Generator().manual_seed(4)
    for _ in range(20):
        n = int(torch.randint(2, 60, (1,), generator=g))
        labels = (torch.rand(n, generator=g) < 0.4).long()
        labels[-1] = 1
        scores = torch.randint(0, 4, (n,), generator=g).to(F64)  # many ties
        expected = sklearn.metrics.average_precision_score(labels.numpy(), scores.numpy())
        assert float(metrics.average_precision(scores, labels)) == pytest.approx(expected, abs=1e-12)
        assert float(metrics.average_precision(scores, 2 * labels - 1)) == pytest.approx(expected, abs=1e-12)


def test_average_precision_properties():
    labels = torch.tensor([0, 1, 0, 1, 1, 0])
    perfect = labels.to(F64)
    assert float(metrics.average_precision(perfect, labels)) == 1.0
    # invariant under a strictly increasing transform of the scores
    scores = torch.tensor([0.1, 0.7, 0.3, 0.2, 0.9, 0.5], dtype=F64)
    a = metrics.average_precision(scores, labels)
    b = metrics.average_precision(torch.exp(3 * scores) - 7, labels)
    assert float(a) == pytest.approx(float(b), abs=1e-15)


def test_average_precision_without_a_positive_is_nan_like_recall_at_k():
    # recall is undefined without a positive: NaN, as recall_at_k gives such a query
    assert math.isnan(metrics.average_precision([0.1, 0.2], [0, 0]).item())
    assert math.isnan(metrics.recall_at_k([0.1, 0.2], [0, 0], 1, reduction="none").item())


def test_average_precision_refuses():
    with pytest.raises(ValueError, match="labels"):
        metrics.average_precision([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="labels"):
        metrics.average_precision([0.1, 0.2], [0, 1, 1])
    with pytest.raises(ValueError, match="scores"):
        metrics.average_precision([float("nan"), 0.2], [0, 1])
    with pytest.raises(ValueError, match="scores"):
        metrics.average_precision([[0.1, 0.2]], [[0, 1]])


# ---------------------------------------------------------------------------------------
# expected calibration error and reliability curve
# ---------------------------------------------------------------------------------------


def ece_reference(probs: np.ndarray, labels: np.ndarray, n_bins: int) -> float:
    """An explicit loop over right-closed bins (m/M, (m+1)/M], as Guo et al. (2017)."""
    if probs.ndim == 1:
        probs = np.stack([1 - probs, probs], axis=1)
    confidence = probs.max(axis=1)
    predicted = probs.argmax(axis=1)
    correct = (predicted == labels).astype(float)
    edges = np.arange(n_bins + 1) / n_bins
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (confidence > lo) & (confidence <= hi)
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return total


@pytest.mark.parametrize("n_bins", [1, 5, 15, 40])
def test_ece_multiclass_matches_loop(n_bins):
    g = torch.Generator().manual_seed(5)
    logits = 3 * torch.randn(400, 4, generator=g, dtype=F64)
    probs = torch.softmax(logits, dim=1)
    labels = torch.randint(0, 4, (400,), generator=g)
    out = metrics.expected_calibration_error(probs, labels, n_bins=n_bins)
    assert out.dtype == F64
    assert float(out) == pytest.approx(ece_reference(probs.numpy(), labels.numpy(), n_bins), abs=1e-12)


def test_ece_binary_matches_loop_and_two_column_form():
    g = torch.Generator().manual_seed(6)
    p = torch.rand(300, generator=g, dtype=F64)
    labels = (torch.rand(300, generator=g, dtype=F64) < p).long()
    expected = ece_reference(p.numpy(), labels.numpy(), 10)
    assert float(metrics.expected_calibration_error(p, labels, n_bins=10)) == pytest.approx(expected, abs=1e-12)
    two_column = torch.stack([1 - p, p], dim=1)
    assert float(metrics.expected_calibration_error(two_column, labels, n_bins=10)) == pytest.approx(
        expected, abs=1e-12
    )
    assert float(metrics.expected_calibration_error(p, 2 * labels - 1, n_bins=10)) == pytest.approx(expected, abs=1e-12)


def test_ece_bins_are_right_closed():
    # confidences exactly on the edges 0.6 and 0.8 (n_bins=5) belong to the bin they close
    probs = torch.tensor([0.6, 0.8, 0.8, 1.0], dtype=F64)
    labels = torch.tensor([1, 1, 0, 1])
    curve = metrics.reliability_curve(probs, labels, n_bins=5)
    assert curve.count.tolist() == [0, 0, 1, 2, 1]
    expected = ece_reference(probs.numpy(), labels.numpy(), 5)
    assert float(metrics.expected_calibration_error(probs, labels, n_bins=5)) == pytest.approx(expected, abs=1e-15)


def test_ece_zero_for_perfectly_calibrated_bins_and_bounds():
    # in each bin the accuracy equals the confidence exactly
    probs = torch.tensor([0.75] * 4 + [1.0] * 3, dtype=F64)
    labels = torch.tensor([1, 1, 1, 0, 1, 1, 1])
    assert float(metrics.expected_calibration_error(probs, labels)) == pytest.approx(0.0, abs=1e-15)
    # always wrong with confidence 1: ECE = 1
    assert float(metrics.expected_calibration_error([1.0, 0.0], [0, 1])) == 1.0


def test_reliability_curve_matches_loop_and_ece():
    g = torch.Generator().manual_seed(7)
    probs = torch.softmax(2 * torch.randn(200, 3, generator=g, dtype=F64), dim=1)
    labels = torch.randint(0, 3, (200,), generator=g)
    curve = metrics.reliability_curve(probs, labels, n_bins=8)
    conf, pred = probs.max(1)
    for m in range(8):
        in_bin = (conf > m / 8) & (conf <= (m + 1) / 8)
        assert int(curve.count[m]) == int(in_bin.sum())
        if in_bin.any():
            assert float(curve.confidence[m]) == pytest.approx(float(conf[in_bin].mean()), abs=1e-14)
            assert float(curve.accuracy[m]) == pytest.approx(float((pred == labels)[in_bin].double().mean()), abs=1e-14)
        else:
            assert math.isnan(float(curve.confidence[m])) and math.isnan(float(curve.accuracy[m]))
    keep = curve.count > 0
    ece = (curve.count[keep].to(F64) / 200 * (curve.accuracy[keep] - curve.confidence[keep]).abs()).sum()
    assert float(ece) == pytest.approx(float(metrics.expected_calibration_error(probs, labels, n_bins=8)), abs=1e-14)


def test_plot_reliability_diagram_draws_lines():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probs = torch.tensor([0.9, 0.8, 0.3, 0.6], dtype=F64)
    ax = metrics.plot_reliability_diagram(probs, [1, 1, 0, 0], n_bins=5, label="model")
    metrics.plot_reliability_diagram(probs, [1, 0, 0, 0], n_bins=5, ax=ax, label="other")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["perfect calibration", "model", "other"]
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close(ax.figure)


@pytest.mark.parametrize(
    "probs, labels, kwargs, match",
    [
        ([0.5, 1.5], [0, 1], {}, "probs"),
        ([[0.5, 0.6]], [0], {}, "probs"),
        ([[0.5, 0.5]], [2], {}, "labels"),
        ([0.5, 0.2], [0, 2], {}, "labels"),
        ([0.5, 0.2], [0], {}, "labels"),
        ([], [], {}, "probs"),
        ([0.5, 0.2], [0, 1], {"n_bins": 0}, "n_bins"),
    ],
)
def test_ece_refuses(probs, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics.expected_calibration_error(probs, labels, **kwargs)
    with pytest.raises(ValueError, match=match):
        metrics.reliability_curve(probs, labels, **kwargs)


def test_ece_n_bins_type():
    with pytest.raises(TypeError, match="n_bins"):
        metrics.expected_calibration_error([0.5], [1], n_bins=2.5)


def test_value_checks_switch_skips_probability_check():
    with objlib.value_checks(False):
        metrics.expected_calibration_error([[0.5, 0.6]], [0])


# ---------------------------------------------------------------------------------------
# temperature scaling
# ---------------------------------------------------------------------------------------


def temperature_reference(logits: np.ndarray, labels: np.ndarray, bounds=(0.01, 100.0)) -> float:
    """scipy's bounded scalar minimiser of the mean NLL of softmax(z / T), over log T."""
    import scipy.optimize
    import scipy.special

    def nll(log_t):
        z = logits / np.exp(log_t)
        return np.mean(scipy.special.logsumexp(z, axis=1) - z[np.arange(len(labels)), labels])

    result = scipy.optimize.minimize_scalar(
        nll, bounds=np.log(bounds), method="bounded", options={"xatol": 1e-12, "maxiter": 2000}
    )
    return float(np.exp(result.x))


def overconfident_logits(n: int, classes: int, scale: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels drawn from softmax(z) and logits scale * z: the right temperature is `scale`."""
    g = torch.Generator().manual_seed(seed)
    z = 1.5 * torch.randn(n, classes, generator=g, dtype=F64)
    labels = torch.multinomial(torch.softmax(z, dim=1), 1, generator=g).squeeze(1)
    return scale * z, labels


@pytest.mark.parametrize(("classes", "scale"), [(2, 0.5), (4, 2.0), (10, 3.0)])
def test_fit_temperature_matches_scipy(classes, scale):
    logits, labels = overconfident_logits(3000, classes, scale, seed=classes)
    out = metrics.fit_temperature(logits, labels)
    assert out.dtype == F64 and not out.requires_grad
    assert float(out) == pytest.approx(temperature_reference(logits.numpy(), labels.numpy()), rel=1e-7)
    assert float(out) == pytest.approx(scale, rel=0.1)  # it undoes the over- or under-confidence


def test_fit_temperature_is_a_stationary_point_of_the_nll():
    logits, labels = overconfident_logits(2000, 5, 2.5, seed=21)
    temperature = metrics.fit_temperature(logits, labels).requires_grad_()
    nll = torch.nn.functional.cross_entropy(logits / temperature, labels)
    (slope,) = torch.autograd.grad(nll, temperature)
    assert abs(float(slope)) < 1e-10


def test_fit_temperature_binary_is_the_two_column_case():
    g = torch.Generator().manual_seed(22)
    s = 4 * torch.randn(1500, generator=g, dtype=F64)
    labels = (torch.rand(1500, generator=g, dtype=F64) < torch.sigmoid(s / 4)).long()
    binary = metrics.fit_temperature(s, labels)
    two_column = metrics.fit_temperature(torch.stack([torch.zeros_like(s), s], dim=1), labels)
    assert float(binary) == pytest.approx(float(two_column), rel=1e-12)
    assert float(metrics.fit_temperature(s, 2 * labels - 1)) == float(binary)
    assert float(binary) == pytest.approx(4.0, rel=0.15)


def test_fit_temperature_scales_with_the_logits_and_keeps_decisions():
    logits, labels = overconfident_logits(1000, 3, 1.0, seed=23)
    t1 = metrics.fit_temperature(logits, labels)
    t7 = metrics.fit_temperature(7 * logits, labels)
    assert float(t7) == pytest.approx(7 * float(t1), rel=1e-9)
    assert torch.equal((logits / t1).argmax(1), logits.argmax(1))


def test_fit_temperature_returns_the_nearer_bound_outside_the_bracket():
    # no signal: the best T is infinite; every example right: the best T is 0
    assert float(metrics.fit_temperature([[1.0, 0.0], [1.0, 0.0]], [0, 1], bounds=(0.1, 10.0))) == 10.0
    assert float(metrics.fit_temperature([[1.0, 0.0], [0.0, 1.0]], [0, 1], bounds=(0.1, 10.0))) == pytest.approx(0.1)
    logits, labels = overconfident_logits(1000, 3, 5.0, seed=24)
    assert float(metrics.fit_temperature(logits, labels, bounds=(0.1, 2.0))) == 2.0


def test_fit_temperature_dtypes_and_nan():
    logits, labels = overconfident_logits(500, 3, 2.0, seed=25)
    out32 = metrics.fit_temperature(logits.float(), labels)
    assert out32.dtype == torch.float32
    assert float(out32) == pytest.approx(float(metrics.fit_temperature(logits, labels)), rel=1e-5)
    bad = logits.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="logits"):
        metrics.fit_temperature(bad, labels)
    with objlib.value_checks(False):
        assert math.isnan(float(metrics.fit_temperature(bad, labels)))


@pytest.mark.parametrize(
    "logits, labels, kwargs, match",
    [
        ([[1.0, 0.0]], [2], {}, "labels"),
        ([[1.0, 0.0]], [0, 1], {}, "labels"),
        ([1.0, 0.0], [0, 3], {}, "labels"),
        ([[1.0], [0.5]], [0, 0], {}, "logits"),
        ([[[1.0, 0.0]]], [0], {}, "logits"),
        ([], [], {}, "logits"),
        ([[float("inf"), 0.0]], [0], {}, "logits"),
        ([[1.0, 0.0]], [0], {"bounds": (0.0, 1.0)}, "bounds"),
        ([[1.0, 0.0]], [0], {"bounds": (2.0, 1.0)}, "bounds"),
    ],
)
def test_fit_temperature_refuses(logits, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics.fit_temperature(logits, labels, **kwargs)


# ---------------------------------------------------------------------------------------
# recall@k
# ---------------------------------------------------------------------------------------


def recall_reference(scores: list[float], relevance: list[float], k: int) -> float:
    ranked = sorted(range(len(scores)), key=lambda i: -scores[i])  # Python's sort is stable
    relevant = {i for i, r in enumerate(relevance) if r > 0}
    if not relevant:
        return float("nan")
    return len(relevant & set(ranked[:k])) / len(relevant)


@pytest.mark.parametrize("k", [1, 3, 7, 10])
def test_recall_at_k_matches_brute_force(k):
    g = torch.Generator().manual_seed(8)
    scores = torch.randint(0, 5, (6, 4, 10), generator=g).to(F64)  # integer scores: many ties
    relevance = torch.randint(0, 3, (6, 4, 10), generator=g) * (torch.rand(6, 4, 10, generator=g) < 0.4)
    per_query = metrics.recall_at_k(scores, relevance, k, reduction="none")
    assert per_query.shape == (6, 4) and per_query.dtype == F64
    expected = np.array(
        [[recall_reference(scores[a, b].tolist(), relevance[a, b].tolist(), k) for b in range(4)] for a in range(6)]
    )
    np.testing.assert_allclose(per_query.numpy(), expected, atol=1e-15)
    assert float(metrics.recall_at_k(scores, relevance, k)) == pytest.approx(np.nanmean(expected), abs=1e-14)
    assert float(metrics.recall_at_k(scores, relevance, k, reduction="sum")) == pytest.approx(
        np.nansum(expected), abs=1e-12
    )


def test_recall_at_k_properties():
    scores = torch.tensor([0.3, 0.9, 0.1, 0.5], dtype=F64)
    relevance = torch.tensor([1, 0, 1, 0])
    values = [float(metrics.recall_at_k(scores, relevance, k)) for k in range(1, 5)]
    assert values == sorted(values) and values[-1] == 1.0  # non-decreasing in k, 1 at k = L
    assert math.isnan(float(metrics.recall_at_k(scores, torch.zeros(4), 2)))


@pytest.mark.parametrize(
    "scores, relevance, k, match",
    [
        ([0.1, 0.2], [1, 0], 0, "k"),
        ([0.1, 0.2], [1, 0, 1], 1, "relevance"),
        ([float("nan"), 0.2], [1, 0], 1, "scores"),
    ],
)
def test_recall_at_k_refuses(scores, relevance, k, match):
    with pytest.raises(ValueError, match=match):
        metrics.recall_at_k(scores, relevance, k)


def test_recall_at_k_takes_k_like_ndcg():
    # by position or by keyword, and k beyond the list means the whole list (as ndcg's k does)
    from objlib.ranking import ndcg

    scores, relevance = torch.tensor([[0.3, 0.9, 0.1]]), torch.tensor([[1.0, 0.0, 1.0]])
    assert metrics.recall_at_k(scores, relevance, 2).item() == metrics.recall_at_k(scores, relevance, k=2).item() == 0.5
    assert (
        metrics.recall_at_k(scores, relevance, k=10).item() == metrics.recall_at_k(scores, relevance, k=3).item() == 1.0
    )
    assert ndcg(scores, relevance, 10).item() == ndcg(scores, relevance, k=3).item() == ndcg(scores, relevance).item()


def test_recall_at_k_refuses_bad_reduction_and_k_type():
    with pytest.raises(ValueError, match="reduction"):
        metrics.recall_at_k([0.1, 0.2], [1, 0], 1, reduction="max")
    with pytest.raises(TypeError, match="k"):
        metrics.recall_at_k([0.1, 0.2], [1, 0], 1.0)


def test_metrics_read_labels_that_require_grad_without_warning():
    scores = torch.randn(8, dtype=F64, requires_grad=True)
    labels = torch.tensor([1.0, 0, 1, 1, 0, 0, 1, 0], dtype=F64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float() on a tensor that requires grad warns
        metrics.accuracy(scores, labels)
        metrics.f1_score((scores > 0).double().requires_grad_(), labels)
        metrics.average_precision(scores, labels)
        metrics.expected_calibration_error(torch.sigmoid(scores), labels)
        metrics.recall_at_k(scores, labels, 3)
        metrics.f1_optimal_threshold(scores, labels)
        metrics.fit_temperature(scores, labels)


def test_metrics_refuse_complex_input_by_name():
    z = torch.zeros(4, dtype=torch.complex64)
    with pytest.raises(TypeError, match="labels"):
        metrics.accuracy(torch.zeros(4), z)
    with pytest.raises(TypeError, match="pred_labels"):
        metrics.f1_score(z, torch.zeros(4))
