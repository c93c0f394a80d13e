"""Tests for objlib.multitask against brute force, closed forms and scipy (float64)."""

import itertools
import math

import numpy as np
import pytest
import scipy.optimize
import torch
from hypothesis import given
from hypothesis import strategies as st

import objlib
from objlib._checks import ConvergenceWarning
from objlib.multitask import (
    GradNorm,
    UncertaintyWeighting,
    _front_general,
    chebyshev_scalarisation,
    hypervolume,
    min_norm_weights,
    pareto_front,
    pcgrad,
    weighted_sum,
)

F64 = torch.float64


def randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


# ---------------------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------------------


def brute_force_front(points):
    """O(n^2) dominance check, straight from the definition."""
    n = len(points)
    mask = torch.ones(n, dtype=torch.bool)
    for i in range(n):
        for j in range(n):
            if bool((points[j] <= points[i]).all() and (points[j] < points[i]).any()):
                mask[i] = False
                break
    return mask


def inclusion_exclusion_hypervolume(points, reference):
    """Area of the union of the boxes [p, r] by inclusion-exclusion over subsets."""
    boxes = [p for p in points.tolist() if p[0] < reference[0] and p[1] < reference[1]]
    total = 0.0
    for size in range(1, len(boxes) + 1):
        for subset in itertools.combinations(boxes, size):
            corner = np.max(np.array(subset), axis=0)  # the intersection of the boxes
            area = (reference[0] - corner[0]) * (reference[1] - corner[1])
            total += (-1) ** (size + 1) * area
    return total


def loop_pcgrad(grads, generator):
    """PCGrad as Yu et al. write it: copy, project sequentially, sum; the same orders."""
    num_tasks = grads.shape[0]
    total = torch.zeros_like(grads[0])
    for i in range(num_tasks):
        g = grads[i].clone()
        for j in torch.randperm(num_tasks, generator=generator).tolist():
            if j != i and g @ grads[j] < 0:
                g = g - (g @ grads[j]) / (grads[j] @ grads[j]) * grads[j]
        total = total + g
    return total


def scipy_min_norm(grads):
    """min ||alpha @ grads||^2 on the simplex by SLSQP, from several starts."""
    gram = (grads @ grads.T).numpy()
    k = len(gram)
    best = None
    for start in [np.full(k, 1 / k), *np.eye(k)]:
        result = scipy.optimize.minimize(
            lambda a: a @ gram @ a,
            start,
            jac=lambda a: 2 * gram @ a,
            bounds=[(0, 1)] * k,
            constraints=[{"type": "eq", "fun": lambda a: a.sum() - 1}],
            method="SLSQP",
            options={"ftol": 1e-16, "maxiter": 500},
        )
        if best is None or result.fun < best.fun:
            best = result
    return best.fun


# ---------------------------------------------------------------------------------------
# weighted_sum and chebyshev_scalarisation
# ---------------------------------------------------------------------------------------


def test_weighted_sum_matches_the_formula_with_leading_axes():
    losses, weights = randn(5, 3, seed=0).abs(), randn(3, seed=1).abs()
    expected = torch.stack([sum(weights[k] * row[k] for k in range(3)) for row in losses])
    torch.testing.assert_close(weighted_sum(losses, weights), expected, rtol=1e-14, atol=0)
    per_row = randn(5, 3, seed=2).abs()
    torch.testing.assert_close(weighted_sum(losses, per_row), (losses * per_row).sum(-1), rtol=1e-14, atol=0)


def test_weighted_sum_stacks_a_list_of_losses_and_keeps_their_gradients():
    a = torch.tensor(2.0, dtype=F64, requires_grad=True)
    b = torch.tensor(3.0, dtype=F64, requires_grad=True)
    total = weighted_sum([a**2, b], torch.tensor([0.5, 4.0], dtype=F64))
    total.backward()
    assert total.item() == 14.0 and a.grad.item() == 2.0 and b.grad.item() == 4.0


def test_weighted_sum_and_chebyshev_gradcheck():
    losses = randn(4, 3, seed=3).abs().requires_grad_()
    weights = (randn(3, seed=4).abs() + 0.1).requires_grad_()
    reference = (-randn(3, seed=5).abs()).requires_grad_()
    assert torch.autograd.gradcheck(weighted_sum, (losses, weights))
    assert torch.autograd.gradcheck(
        lambda l, w, z: chebyshev_scalarisation(l, w, reference=z, augmentation=0.05), (losses, weights, reference)
    )


def test_chebyshev_matches_the_brute_force_maximum():
    losses, weights, reference = randn(6, 4, seed=6), randn(4, seed=7).abs(), randn(4, seed=8)
    expected = torch.tensor(
        [max(weights[k] * (row[k] - reference[k]) for k in range(4)).item() for row in losses], dtype=F64
    )
    torch.testing.assert_close(chebyshev_scalarisation(losses, weights, reference=reference), expected)
    augmented = chebyshev_scalarisation(losses, weights, reference=reference, augmentation=0.1)
    torch.testing.assert_close(augmented, expected + 0.1 * (weights * (losses - reference)).sum(-1))
    torch.testing.assert_close(chebyshev_scalarisation(losses, weights), (weights * losses).amax(-1))


def test_chebyshev_reaches_every_point_of_a_nonconvex_front_and_weighted_sums_do_not():
    angle = torch.linspace(0, math.pi / 2, 201, dtype=F64)
    front = torch.stack([torch.cos(angle), torch.sin(angle)], 1)  # bulges away from the origin
    assert pareto_front(front).all()
    for p in front[1:-1:10]:
        assert torch.equal(front[chebyshev_scalarisation(front, 1 / p).argmin()], p)
    selected = {int(weighted_sum(front, torch.stack([t, 1 - t])).argmin()) for t in torch.linspace(0, 1, 101)}
    assert selected <= {0, 200}  # only the two ends


def test_scalarisations_promote_mixed_dtypes_and_integers():
    out = weighted_sum(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 1.0], dtype=F64))
    assert out.dtype == F64
    assert weighted_sum([1, 2], [3, 4]).dtype == torch.get_default_dtype()
    cheb = chebyshev_scalarisation(torch.tensor([1.0, 2.0]), [1, 1], reference=torch.zeros(2, dtype=F64))
    assert cheb.dtype == F64 and cheb.item() == 2.0


@pytest.mark.parametrize(
    "fn",
    [
        weighted_sum,
        lambda losses, w: chebyshev_scalarisation(losses, w),
        lambda z, w: chebyshev_scalarisation(w, w, reference=z),  # the reference checked like losses
    ],
)
def test_scalarisations_refuse_bad_input(fn):
    with pytest.raises(ValueError, match="must have shape"):
        fn(torch.ones(3), torch.ones(2))
    with pytest.raises(ValueError, match="NaN"):
        fn(torch.tensor([1.0, math.nan]), torch.ones(2))
    with pytest.raises(TypeError, match="must be a tensor"):
        fn("losses", torch.ones(2))


def test_scalarisations_refuse_negative_weights_scalars_and_empty():
    with pytest.raises(ValueError, match="weights must be non-negative"):
        weighted_sum(torch.ones(2), torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="losses must hold one loss per task"):
        weighted_sum(torch.tensor(1.0), torch.tensor(1.0))
    with pytest.raises(ValueError, match="losses is empty"):
        weighted_sum(torch.ones(0), torch.ones(0))
    with pytest.raises(ValueError, match="augmentation"):
        chebyshev_scalarisation(torch.ones(2), torch.ones(2), augmentation=-1.0)
    with pytest.raises(ValueError, match="losses must be tensors of one shape"):
        weighted_sum([torch.ones(2), torch.ones(3)], torch.ones(2))


def test_scalarisations_propagate_nan_with_value_checks_off():
    with objlib.value_checks(False):
        assert math.isnan(weighted_sum(torch.tensor([1.0, math.nan]), torch.ones(2)).item())
        assert math.isnan(weighted_sum(torch.tensor([1.0, math.nan]), torch.tensor([1.0, 0.0])).item())
        assert math.isnan(chebyshev_scalarisation(torch.tensor([1.0, math.nan]), torch.ones(2)).item())


# ---------------------------------------------------------------------------------------
# UncertaintyWeighting
# ---------------------------------------------------------------------------------------


def test_uncertainty_weighting_value_and_optimum_at_sigma2_equal_loss():
    losses = torch.tensor([4.0, 0.3, 25.0], dtype=F64)
    weighting = UncertaintyWeighting(3).double()
    assert torch.equal(weighting.log_vars.detach(), torch.zeros(3, dtype=F64))  # initialised to 0
    torch.testing.assert_close(weighting(losses), 0.5 * losses.sum())
    # the closed-form optimum s = log L: zero gradient, and the minimum of a brute-force scan
    with torch.no_grad():
        weighting.log_vars.copy_(losses.log())
    value = weighting(losses)
    (grad,) = torch.autograd.grad(value, weighting.log_vars)
    assert grad.abs().max() < 1e-14
    torch.testing.assert_close(value, (0.5 + 0.5 * losses.log()).sum())
    torch.testing.assert_close(weighting.variances(), losses)
    torch.testing.assert_close(weighting.task_weights(), 0.5 / losses)
    scan = torch.linspace(-5, 5, 100001, dtype=F64)
    for k in range(3):
        profile = 0.5 * torch.exp(-scan) * losses[k] + 0.5 * scan
        assert abs(scan[profile.argmin()].item() - math.log(losses[k])) < 1e-4


def test_uncertainty_weighting_classification_form_is_the_regression_form_shifted():
    losses = torch.tensor([2.0, 0.7], dtype=F64)
    classification = UncertaintyWeighting(2, forms=["classification", "classification"]).double()
    regression = UncertaintyWeighting(2).double()
    s = torch.tensor([0.3, -1.2], dtype=F64)
    with torch.no_grad():
        classification.log_vars.copy_(s)
        regression.log_vars.copy_(s - math.log(2))
    torch.testing.assert_close(classification(losses), regression(losses) + math.log(2))  # + 2 * (log 2)/2
    with torch.no_grad():
        classification.log_vars.copy_((2 * losses).log())  # optimum: sigma^2 = 2 L
    (grad,) = torch.autograd.grad(classification(losses), classification.log_vars)
    assert grad.abs().max() < 1e-14
    torch.testing.assert_close(classification.task_weights(), 0.5 / losses)  # the same weights


def test_uncertainty_weighting_gradcheck_and_list_input():
    weighting = UncertaintyWeighting(2, forms=["regression", "classification"]).double()
    losses = randn(2, seed=9).abs().requires_grad_()
    log_vars = torch.tensor([0.4, -0.3], dtype=F64, requires_grad=True)

    def total(losses, log_vars):
        return torch.func.functional_call(weighting, {"log_vars": log_vars}, (losses,))

    assert torch.autograd.gradcheck(total, (losses, log_vars))
    a = torch.tensor(1.0, dtype=F64, requires_grad=True)
    weighting([a, a * 2]).backward()
    torch.testing.assert_close(a.grad, torch.tensor(0.5 + 2.0, dtype=F64))  # 0.5 * 1 + 1 * 2


def test_uncertainty_weighting_matches_its_formula():
    weighting = UncertaintyWeighting(2, forms=["regression", "classification"]).double()
    s = torch.tensor([0.4, -0.3], dtype=F64)
    with torch.no_grad():
        weighting.log_vars.copy_(s)
    losses = torch.tensor([3.0, 0.5], dtype=F64)
    expected = 0.5 * math.exp(-0.4) * 3.0 + 0.5 * 0.4 + math.exp(0.3) * 0.5 + 0.5 * -0.3
    assert abs(weighting(losses).item() - expected) < 1e-14


def test_uncertainty_weighting_mixed_dtypes_promote():
    weighting = UncertaintyWeighting(2)  # float32 parameters
    assert weighting(torch.tensor([1.0, 2.0], dtype=F64)).dtype == F64


def test_uncertainty_weighting_refuses_bad_input():
    with pytest.raises(ValueError, match="num_tasks"):
        UncertaintyWeighting(0)
    with pytest.raises(TypeError, match="num_tasks"):
        UncertaintyWeighting(2.0)
    with pytest.raises(ValueError, match="forms"):
        UncertaintyWeighting(2, forms=["regression"])
    with pytest.raises(ValueError, match="forms"):
        UncertaintyWeighting(2, forms=["regression", "ranking"])
    with pytest.raises(ValueError, match=r"losses must have shape \(2,\)"):
        UncertaintyWeighting(2)(torch.ones(3))
    with pytest.raises(ValueError, match="losses must not contain NaN"):
        UncertaintyWeighting(2)(torch.tensor([1.0, math.nan]))
    with objlib.value_checks(False):
        assert math.isnan(UncertaintyWeighting(2)(torch.tensor([1.0, math.nan])).item())


# ---------------------------------------------------------------------------------------
# GradNorm
# ---------------------------------------------------------------------------------------


def test_gradnorm_closed_form_two_tasks():
    # shared W = (1, 2); L1 = |W|^2 (gradient 2W), L2 = 3 W_1 (gradient (3, 0))
    W = torch.tensor([1.0, 2.0], dtype=F64, requires_grad=True)
    balancer = GradNorm(2, alpha=1.0).double()
    with torch.no_grad():
        balancer.weights.copy_(torch.tensor([0.5, 1.5]))
    losses = torch.stack([(W**2).sum(), 3 * W[0]])
    loss = balancer.gradnorm_loss(losses, W)
    norms = torch.tensor([2 * math.sqrt(5), 3.0], dtype=F64)
    torch.testing.assert_close(balancer.grad_norms, norms)
    G = torch.tensor([0.5, 1.5], dtype=F64) * norms
    target = G.mean()  # first call: every ratio is 1
    torch.testing.assert_close(loss, (G - target).abs().sum())
    torch.testing.assert_close(balancer.initial_losses, losses.detach())
    # the target is a constant: d/dw_k = sign(G_k - target) * norm_k
    (grad,) = torch.autograd.grad(loss, balancer.weights)
    torch.testing.assert_close(grad, torch.sign(G - target) * norms)


def test_gradnorm_uses_the_training_rates_after_the_first_call():
    W = torch.tensor([1.0, -1.0, 0.5], dtype=F64, requires_grad=True)
    balancer = GradNorm(2, alpha=1.5).double()
    first = torch.stack([(W**2).sum(), (W**4).sum()])  # records L(0) = (2.25, 2.0625)
    balancer.gradnorm_loss(first, [W])
    W2 = (W.detach() * 0.5).requires_grad_()
    later = torch.stack([(W2**2).sum(), (W2**4).sum()])
    loss = balancer.gradnorm_loss(later, [W2])
    torch.testing.assert_close(balancer.initial_losses, first.detach())  # not overwritten
    ratios = later.detach() / first.detach()
    rates = ratios / ratios.mean()
    norms = torch.stack([(2 * W2).norm(), (4 * W2**3).norm()]).detach()
    G = norms  # weights still 1
    torch.testing.assert_close(loss, (G - G.mean() * rates**1.5).abs().sum())


def test_gradnorm_touches_only_its_weights_and_renormalises():
    W = torch.tensor([1.0, 2.0], dtype=F64, requires_grad=True)
    head = torch.tensor(0.7, dtype=F64, requires_grad=True)
    balancer = GradNorm(3).double()
    losses = torch.stack([(W**2).sum() * head, W.sum(), (W**3).sum()])
    balancer.gradnorm_loss(losses, [W]).backward(retain_graph=True)
    assert W.grad is None and head.grad is None and balancer.weights.grad is not None
    balancer.weights.grad = None
    balancer(losses).backward()  # the model's loss: the weights are constants
    assert balancer.weights.grad is None and W.grad is not None
    with torch.no_grad():
        balancer.weights.copy_(torch.tensor([0.2, 0.5, 0.3]))
    balancer.renormalise()
    torch.testing.assert_close(balancer.weights.detach(), torch.tensor([0.6, 1.5, 0.9], dtype=F64))


def test_gradnorm_renormalise_keeps_every_weight_positive():
    # A step that drives a weight below zero would make the model maximise that task's loss.
    balancer = GradNorm(3).double()
    with torch.no_grad():
        balancer.weights.copy_(torch.tensor([-0.4, 1.0, 1.0]))
    balancer.renormalise(min_weight=0.1)
    torch.testing.assert_close(balancer.weights.detach(), torch.tensor([0.1, 1.0, 1.0], dtype=F64) * 3 / 2.1)
    with torch.no_grad():
        balancer.weights.copy_(torch.tensor([-1.0, -2.0, 0.0]))  # even all at once: no division by zero
    balancer.renormalise()
    torch.testing.assert_close(balancer.weights.detach(), torch.ones(3, dtype=F64))
    with pytest.raises(ValueError, match="min_weight"):
        balancer.renormalise(min_weight=0.0)


def test_gradnorm_refuses_bad_input():
    W = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="alpha"):
        GradNorm(2, alpha=-0.5)
    with pytest.raises(ValueError, match=r"losses must have shape \(2,\)"):
        GradNorm(2).gradnorm_loss(torch.stack([W.sum()] * 3), W)
    with pytest.raises(ValueError, match="losses must be attached"):
        GradNorm(2).gradnorm_loss(torch.ones(2), W)
    with pytest.raises(TypeError, match="shared_params"):
        GradNorm(2).gradnorm_loss(torch.stack([W.sum(), W.sum()]), torch.ones(2))
    with pytest.raises(ValueError, match="losses must be positive on the first call"):
        GradNorm(2).gradnorm_loss(torch.stack([W.sum() * 0, W.sum()]), W)
    with pytest.raises(ValueError, match="NaN"):
        GradNorm(2).gradnorm_loss(torch.stack([W.sum() * math.nan, W.sum()]), W)


# ---------------------------------------------------------------------------------------
# pcgrad
# ---------------------------------------------------------------------------------------


def test_pcgrad_two_tasks_closed_form():
    g1, g2 = randn(7, seed=10), randn(7, seed=11)
    if g1 @ g2 > 0:
        g2 = -g2  # make them conflict
    c = g1 @ g2
    expected = (g1 - c / (g2 @ g2) * g2) + (g2 - c / (g1 @ g1) * g1)
    update = pcgrad(torch.stack([g1, g2]))
    torch.testing.assert_close(update, expected, rtol=1e-13, atol=1e-13)
    assert (torch.stack([g1, g2]) @ update >= -1e-12).all()  # no task gets worse to first order
    agreeing = torch.stack([g1, -g2])  # no conflict: the plain sum
    torch.testing.assert_close(pcgrad(agreeing), g1 - g2, rtol=0, atol=1e-15)


def test_pcgrad_order_cannot_matter_when_each_task_conflicts_with_one_other():
    # two conflicting pairs in orthogonal planes: every task has a single projection to make
    grads = torch.tensor(
        [[1.0, 0.0, 0.0, 0.0], [-1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, -1.0, 1.0]], dtype=F64
    )
    results = {tuple(pcgrad(grads, generator=torch.Generator().manual_seed(s)).tolist()) for s in range(30)}
    assert results == {(0.5, 1.5, 0.5, 1.5)}


def test_pcgrad_order_matters_with_three_tasks_and_is_reproducible():
    grads = torch.tensor([[1.0, 0.0], [-1.0, 1.0], [-1.0, -2.0]], dtype=F64)
    outputs = [pcgrad(grads, generator=torch.Generator().manual_seed(s)) for s in range(40)]
    assert len({tuple(o.tolist()) for o in outputs}) > 1
    for s in range(5):  # each output is the loop's, with the same random orders
        reference = loop_pcgrad(grads, torch.Generator().manual_seed(s))
        torch.testing.assert_close(outputs[s], reference, rtol=1e-14, atol=1e-14)
    again = pcgrad(grads, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again, outputs[3])


@pytest.mark.parametrize("num_tasks, seed", [(2, 0), (3, 1), (4, 2), (6, 3)])
def test_pcgrad_matches_the_sequential_loop(num_tasks, seed):
    grads = randn(num_tasks, 50, seed=seed)
    ours = pcgrad(grads, generator=torch.Generator().manual_seed(seed))
    reference = loop_pcgrad(grads, torch.Generator().manual_seed(seed))
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)


def test_pcgrad_gradcheck_zero_gradient_and_single_task():
    grads = randn(3, 5, seed=12).requires_grad_()
    assert torch.autograd.gradcheck(lambda g: pcgrad(g, generator=torch.Generator().manual_seed(0)), (grads,))
    with_zero = torch.stack([randn(4, seed=13), torch.zeros(4, dtype=F64)])
    assert torch.isfinite(pcgrad(with_zero)).all()
    torch.testing.assert_close(pcgrad(with_zero), with_zero[0])
    torch.testing.assert_close(pcgrad(randn(1, 4, seed=14)), randn(4, seed=14))


def test_pcgrad_refuses_bad_input_and_propagates_nan_when_unchecked():
    with pytest.raises(ValueError, match="grads must have 2 dimension"):
        pcgrad(torch.ones(3))
    with pytest.raises(ValueError, match="grads is empty"):
        pcgrad(torch.ones(0, 3))
    with pytest.raises(ValueError, match="grads must be finite"):
        pcgrad(torch.tensor([[1.0, math.nan], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="generator"):
        pcgrad(torch.ones(2, 2), generator=0)
    assert pcgrad([[1, 0], [0, 1]]).dtype == torch.get_default_dtype()  # integers become floats
    with objlib.value_checks(False):
        out = pcgrad(torch.tensor([[1.0, math.nan], [-1.0, 1.0]]))
        assert torch.isnan(out).all()


# ---------------------------------------------------------------------------------------
# min_norm_weights
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_min_norm_two_tasks_matches_a_brute_force_search(seed):
    grads = randn(2, 6, seed=20 + seed) + (seed % 3) * randn(6, seed=40)  # some nearly parallel
    alpha = min_norm_weights(grads)
    ts = torch.linspace(0, 1, 200001, dtype=F64)
    norms = ((ts[:, None] * grads[0] + (1 - ts[:, None]) * grads[1]) ** 2).sum(1)
    best = ts[norms.argmin()]
    assert abs(alpha[0].item() - best.item()) < 1e-5
    assert (alpha @ grads).pow(2).sum().item() <= norms.min().item() + 1e-12


@pytest.mark.parametrize("num_tasks, seed", [(3, 0), (3, 1), (4, 2), (5, 3), (8, 4), (12, 5)])
def test_min_norm_many_tasks_matches_scipy_and_kkt(num_tasks, seed):
    grads = randn(num_tasks, 6, seed=50 + seed) + 0.8 * randn(6, seed=60 + seed)  # optima on faces
    alpha = min_norm_weights(grads)
    assert (alpha >= -1e-12).all() and abs(alpha.sum().item() - 1) < 1e-12
    d = alpha @ grads
    assert d @ d <= scipy_min_norm(grads) + 1e-10
    # optimality: g_k . d >= |d|^2 for all k, with equality where alpha_k > 0
    dots = grads @ d
    assert (dots >= d @ d - 1e-10).all()
    assert ((dots - d @ d)[alpha > 1e-9].abs() < 1e-9).all()


def test_min_norm_three_tasks_matches_a_simplex_grid():
    grads = randn(3, 4, seed=70)
    alpha = min_norm_weights(grads)
    n = 300
    i, j = torch.meshgrid(torch.arange(n + 1), torch.arange(n + 1), indexing="ij")
    keep = i + j <= n
    simplex = torch.stack([i[keep], j[keep], n - i[keep] - j[keep]], 1).to(F64) / n
    norms = ((simplex @ grads) ** 2).sum(1)
    assert (alpha @ grads).pow(2).sum() <= norms.min() + 1e-12
    assert (alpha - simplex[norms.argmin()]).abs().max() < 2.0 / n


def test_min_norm_special_cases():
    g = randn(5, seed=80)
    torch.testing.assert_close(min_norm_weights(torch.stack([g, g])), torch.tensor([0.5, 0.5], dtype=F64))
    # a zero gradient is already the minimum: all weight on it
    with_zero = torch.stack([randn(5, seed=81), torch.zeros(5, dtype=F64), randn(5, seed=82)])
    torch.testing.assert_close(min_norm_weights(with_zero), torch.tensor([0.0, 1.0, 0.0], dtype=F64))
    # dependent gradients (more tasks than dimensions): still optimal
    many = randn(6, 2, seed=83)
    d = min_norm_weights(many) @ many
    assert d @ d <= scipy_min_norm(many) + 1e-10
    torch.testing.assert_close(min_norm_weights(torch.ones(1, 3)), torch.ones(1))


def test_min_norm_gradcheck_two_and_three_tasks():
    two = randn(2, 4, seed=90).requires_grad_()
    assert torch.autograd.gradcheck(min_norm_weights, (two,))
    three = (randn(3, 4, seed=91) + 0.3).requires_grad_()
    alpha = min_norm_weights(three.detach())
    assert (alpha > 1e-3).all()  # interior: the active set is stable under small changes
    assert torch.autograd.gradcheck(min_norm_weights, (three,))


def test_min_norm_warns_when_it_stops_early_and_refuses_bad_input():
    grads = randn(6, 10, seed=92)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        min_norm_weights(grads, max_iter=1)
    with pytest.raises(ValueError, match="max_iter"):
        min_norm_weights(grads, max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        min_norm_weights(grads, tol=-1.0)
    with pytest.raises(ValueError, match="grads must be finite"):
        min_norm_weights(torch.tensor([[1.0, math.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="grads must have 2"):
        min_norm_weights(torch.ones(2))
    with objlib.value_checks(False):
        assert torch.isnan(min_norm_weights(torch.tensor([[1.0, math.nan], [0.0, 1.0]]))).any()


# ---------------------------------------------------------------------------------------
# pareto_front
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dims", [1, 2, 3, 4])
def test_pareto_front_matches_brute_force_with_ties_and_duplicates(dims):
    g = torch.Generator().manual_seed(dims)
    for trial in range(15):
        points = torch.randint(0, 5, (30, dims), generator=g).to(F64)  # many ties and copies
        expected = brute_force_front(points)
        assert torch.equal(pareto_front(points), expected), trial
        if dims >= 2:
            assert torch.equal(_front_general(points, block=7), expected), trial


def test_pareto_front_continuous_points_and_float32():
    points = randn(500, 2, seed=100)
    expected = brute_force_front(points)
    assert torch.equal(pareto_front(points), expected)
    assert torch.equal(pareto_front(points.float()), brute_force_front(points.float()))
    three = randn(300, 3, seed=101)
    assert torch.equal(pareto_front(three), brute_force_front(three))


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=25))
def test_pareto_front_2d_property(rows):
    points = torch.tensor(rows, dtype=F64)
    assert torch.equal(pareto_front(points), brute_force_front(points))


def test_pareto_front_duplicates_infinities_and_documented_example():
    points = torch.tensor([[1.0, 4.0], [2.0, 2.0], [3.0, 3.0], [2.0, 2.0], [4.0, 1.0]])
    assert pareto_front(points).tolist() == [True, True, False, True, True]
    inf = math.inf
    with_inf = torch.tensor([[0.0, inf], [1.0, 1.0], [inf, 0.0], [-inf, 5.0], [2.0, 2.0]])
    assert torch.equal(pareto_front(with_inf), brute_force_front(with_inf))
    assert pareto_front(torch.tensor([[0.0, inf]])).tolist() == [True]
    assert pareto_front(torch.tensor([[3.0, 1.0], [3.0, 1.0]])).tolist() == [True, True]


def test_pareto_front_nan_policy_and_bad_input():
    points = torch.tensor([[1.0, 2.0], [math.nan, 0.0], [2.0, 1.0], [3.0, 3.0]])
    with pytest.raises(ValueError, match="points must not contain NaN"):
        pareto_front(points)
    with objlib.value_checks(False):  # a NaN row is off the front and dominates nothing
        assert pareto_front(points).tolist() == [True, False, True, False]
        assert pareto_front(torch.tensor([[math.nan, 1.0]])).tolist() == [False]
    with pytest.raises(ValueError, match="points must have 2 dimension"):
        pareto_front(torch.ones(3))
    with pytest.raises(ValueError, match="points is empty"):
        pareto_front(torch.ones(0, 2))
    assert pareto_front([[1, 2], [2, 1], [2, 2]]).tolist() == [True, True, False]  # integers


# ---------------------------------------------------------------------------------------
# hypervolume
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_hypervolume_matches_inclusion_exclusion(seed):
    points = torch.rand(7, 2, generator=torch.Generator().manual_seed(seed), dtype=F64) * 1.2
    reference = torch.tensor([1.0, 1.1], dtype=F64)  # some points lie outside it
    expected = inclusion_exclusion_hypervolume(points, reference.tolist())
    assert abs(hypervolume(points, reference).item() - expected) < 1e-12


def test_hypervolume_matches_a_grid_count_with_integer_points():
    g = torch.Generator().manual_seed(5)
    for _ in range(10):
        points = torch.randint(0, 10, (12, 2), generator=g).to(F64)
        reference = torch.tensor([10.0, 10.0], dtype=F64)
        cells = torch.cartesian_prod(torch.arange(10.0, dtype=F64), torch.arange(10.0, dtype=F64)) + 0.5
        covered = ((points[:, None, :] <= cells[None]).all(-1)).any(0).sum()
        assert hypervolume(points, reference).item() == covered.item()


def test_hypervolume_properties_and_example():
    assert hypervolume([[1.0, 3.0], [2.0, 1.0], [3.0, 2.0]], [4.0, 4.0]).item() == 7.0
    points = randn(20, 2, seed=110)
    reference = torch.tensor([3.0, 3.0], dtype=F64)
    front = points[pareto_front(points)]
    assert hypervolume(points, reference) == hypervolume(front, reference)  # dominated points add nothing
    better = torch.cat([points, points[:1] - 0.1])
    assert hypervolume(better, reference) > hypervolume(points, reference)
    torch.testing.assert_close(hypervolume(torch.cat([points, points]), reference), hypervolume(points, reference))
    outside = torch.tensor([[5.0, 0.0], [0.0, 5.0]], dtype=F64)
    assert hypervolume(outside, reference).item() == 0.0


def test_hypervolume_gradcheck_and_mixed_dtypes():
    points = (torch.rand(6, 2, generator=torch.Generator().manual_seed(3), dtype=F64)).requires_grad_()
    reference = torch.tensor([1.3, 1.2], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(hypervolume, (points, reference))
    out = hypervolume(torch.tensor([[0.0, 0.0]]), torch.tensor([1.0, 2.0], dtype=F64))
    assert out.dtype == F64 and out.item() == 2.0
    empty = hypervolume(torch.tensor([[5.0, 5.0]], requires_grad=True), torch.tensor([1.0, 1.0]))
    assert empty.item() == 0.0 and empty.requires_grad


def test_hypervolume_refuses_bad_input_and_propagates_nan_when_unchecked():
    with pytest.raises(ValueError, match=r"points must have shape \(N, 2\)"):
        hypervolume(torch.ones(3, 3), torch.ones(3))
    with pytest.raises(ValueError, match=r"reference must have shape \(2,\)"):
        hypervolume(torch.ones(3, 2), torch.ones(3))
    with pytest.raises(ValueError, match="points must not contain NaN"):
        hypervolume(torch.tensor([[math.nan, 0.0]]), torch.ones(2))
    with pytest.raises(ValueError, match="reference must not contain NaN"):
        hypervolume(torch.zeros(1, 2), torch.tensor([1.0, math.nan]))
    with pytest.raises(TypeError, match="reference must be a tensor"):
        hypervolume(torch.zeros(1, 2), None)
    with objlib.value_checks(False):
        assert math.isnan(hypervolume(torch.tensor([[math.nan, 0.0], [0.0, 0.0]]), torch.ones(2)).item())
        assert math.isnan(hypervolume(torch.zeros(1, 2), torch.tensor([1.0, math.nan])).item())


def test_pareto_front_and_hypervolume_with_opposite_infinities():
    # inf - inf makes a NaN sum: the quick NaN test must not take these for NaN
    points = torch.tensor([[-math.inf, 3.0], [1.0, math.inf], [2.0, 1.0], [0.0, 2.0]], dtype=F64)
    assert torch.equal(pareto_front(points), brute_force_front(points))
    three = torch.tensor([[-math.inf, 3.0, 0.0], [1.0, math.inf, 0.0], [2.0, 1.0, 1.0]], dtype=F64)
    assert torch.equal(pareto_front(three), brute_force_front(three))
    finite = torch.tensor([[1.0, math.inf], [2.0, 1.0]], dtype=F64)
    assert hypervolume(finite, torch.tensor([3.0, 3.0], dtype=F64)).item() == 2.0
    assert hypervolume(torch.tensor([[-math.inf, 1.0]]), torch.tensor([3.0, 3.0])).item() == math.inf


def test_pcgrad_and_min_norm_refuse_infinite_gradients():
    for fn in (pcgrad, min_norm_weights):
        with pytest.raises(ValueError, match="grads must be finite"):
            fn(torch.tensor([[1.0, math.inf], [0.0, 1.0], [1.0, 1.0]]))
