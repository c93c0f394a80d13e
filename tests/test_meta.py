"""Tests for objlib.meta against closed forms on quadratics, hand-written autograd and torch.func (float64)."""

import math

import pytest
import scipy.stats
import torch
from torch.func import functional_call, grad

import objlib
from objlib.meta import maml_inner_step, maml_outer_step, sine_tasks, unrolled_sgd

ALPHA = 0.1


def spd(d, generator):
    """A random symmetric positive definite matrix with eigenvalues in [0.5, 2.5]."""
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=torch.float64))
    return q @ torch.diag(0.5 + 2 * torch.rand(d, generator=generator, dtype=torch.float64)) @ q.T


@pytest.fixture
def quadratic_task():
    """Support loss 1/2 (t - a)^T A (t - a), query loss 1/2 (t - b)^T B (t - b), a start theta."""
    g = torch.Generator().manual_seed(0)
    d = 4
    A, B = spd(d, g), spd(d, g)
    a, b = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    theta = torch.randn(d, generator=g, dtype=torch.float64)

    def support(t):
        return 0.5 * (t - a) @ A @ (t - a)

    def query(t):
        return 0.5 * (t - b) @ B @ (t - b)

    return A, B, a, b, theta, support, query


def meta_gradient(theta, support, query, steps, first_order):
    """d query(theta_K) / d theta, through `steps` objlib inner steps."""
    theta = theta.clone().requires_grad_()
    params = {"theta": theta}
    for _ in range(steps):
        params = maml_inner_step(params, support(params["theta"]), inner_lr=ALPHA, first_order=first_order)
    query(params["theta"]).backward()
    return theta.grad, params["theta"].detach()


# ---------------------------------------------------------------------------------------
# maml_inner_step and unrolled_sgd on quadratics: closed forms
# ---------------------------------------------------------------------------------------


def test_one_inner_step_on_a_quadratic_has_the_closed_form_meta_gradient(quadratic_task):
    A, B, a, b, theta, support, query = quadratic_task
    identity = torch.eye(len(theta), dtype=torch.float64)
    adapted = theta - ALPHA * A @ (theta - a)
    closed_form = (identity - ALPHA * A) @ B @ (adapted - b)  # the Jacobian of the step, then the query gradient
    got, got_adapted = meta_gradient(theta, support, query, steps=1, first_order=False)
    torch.testing.assert_close(got_adapted, adapted, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(got, closed_form, rtol=1e-13, atol=1e-14)


def test_first_order_maml_drops_exactly_the_second_factor(quadratic_task):
    A, B, a, b, theta, support, query = quadratic_task
    adapted = theta - ALPHA * A @ (theta - a)
    first, _ = meta_gradient(theta, support, query, steps=1, first_order=True)
    second, _ = meta_gradient(theta, support, query, steps=1, first_order=False)
    query_gradient = B @ (adapted - b)
    torch.testing.assert_close(first, query_gradient, rtol=1e-14, atol=1e-14)  # factor I - alpha A gone
    torch.testing.assert_close(first - second, ALPHA * A @ query_gradient, rtol=1e-12, atol=1e-14)


def test_two_inner_steps_chain(quadratic_task):
    A, B, a, b, theta, support, query = quadratic_task
    step_jacobian = torch.eye(len(theta), dtype=torch.float64) - ALPHA * A
    theta_1 = theta - ALPHA * A @ (theta - a)
    theta_2 = theta_1 - ALPHA * A @ (theta_1 - a)
    got, got_adapted = meta_gradient(theta, support, query, steps=2, first_order=False)
    torch.testing.assert_close(got_adapted, theta_2, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(got, step_jacobian @ step_jacobian @ B @ (theta_2 - b), rtol=1e-13, atol=1e-14)
    first, _ = meta_gradient(theta, support, query, steps=2, first_order=True)
    torch.testing.assert_close(first, B @ (theta_2 - b), rtol=1e-14, atol=1e-14)


def test_unrolled_sgd_is_repeated_inner_steps(quadratic_task):
    _, _, _, _, theta, support, query = quadratic_task
    for first_order in (False, True):
        start = theta.clone().requires_grad_()
        trained = unrolled_sgd(
            {"theta": start}, lambda p: support(p["theta"]), lr=ALPHA, steps=3, first_order=first_order
        )
        query(trained["theta"]).backward()
        by_steps, adapted = meta_gradient(theta, support, query, steps=3, first_order=first_order)
        torch.testing.assert_close(trained["theta"].detach(), adapted, rtol=0, atol=0)
        torch.testing.assert_close(start.grad, by_steps, rtol=0, atol=0)


def test_unrolled_sgd_hypergradient_matches_the_closed_form_of_ridge_descent():
    # Gradient descent on 1/2 |X w - y|^2 / n + lam/2 |w|^2 from w = 0 is linear: w_T = sum_t M^t eta X^T y / n
    # with M = I - eta (X^T X / n + lam I). The derivative of a validation loss in lam, by central differences
    # of that exact formula, against autograd through objlib's unrolled run.
    g = torch.Generator().manual_seed(1)
    n, d, eta, steps = 30, 5, 0.1, 40
    X, y = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)
    Xv, yv = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)

    def closed_form_w(lam):
        M = torch.eye(d, dtype=torch.float64) - eta * (X.T @ X / n + lam * torch.eye(d, dtype=torch.float64))
        w, push = torch.zeros(d, dtype=torch.float64), eta * X.T @ y / n
        for _ in range(steps):
            w = M @ w + push
        return w

    def validation(w):
        return 0.5 * ((Xv @ w - yv) ** 2).mean()

    lam = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    start = {"w": torch.zeros(d, dtype=torch.float64, requires_grad=True)}
    trained = unrolled_sgd(
        start, lambda p: 0.5 * ((X @ p["w"] - y) ** 2).mean() + 0.5 * lam * p["w"] @ p["w"], lr=eta, steps=steps
    )
    torch.testing.assert_close(trained["w"].detach(), closed_form_w(0.3), rtol=1e-12, atol=1e-13)
    validation(trained["w"]).backward()
    h = 1e-6
    numeric = (validation(closed_form_w(0.3 + h)) - validation(closed_form_w(0.3 - h))) / (2 * h)
    torch.testing.assert_close(lam.grad, numeric, rtol=1e-6, atol=1e-10)


def test_inner_step_leaves_frozen_and_unused_tensors_and_the_input_alone():
    w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    frozen = torch.tensor([3.0], dtype=torch.float64)
    unused = torch.tensor([4.0], dtype=torch.float64, requires_grad=True)
    params = {"w": w, "frozen": frozen, "unused": unused}
    adapted = maml_inner_step(params, (w**2).sum() * frozen.sum(), inner_lr=0.1)
    torch.testing.assert_close(adapted["w"].detach(), w.detach() * (1 - 0.1 * 2 * 3))
    assert adapted["frozen"] is frozen and adapted["unused"] is unused
    assert params["w"] is w and set(params) == {"w", "frozen", "unused"}


def test_zero_inner_lr_gives_the_plain_query_gradient(quadratic_task):
    _, B, _, b, theta, support, query = quadratic_task
    start = theta.clone().requires_grad_()
    adapted = maml_inner_step({"t": start}, support(start), inner_lr=0.0)
    query(adapted["t"]).backward()
    torch.testing.assert_close(start.grad, B @ (theta - b), rtol=1e-14, atol=1e-15)


def test_meta_objective_gradcheck():
    g = torch.Generator().manual_seed(2)
    X, y = torch.randn(6, 3, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    Xq, yq = torch.randn(6, 3, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)

    def meta_objective(w):  # non-quadratic: a tanh model, so the Hessian changes with w
        adapted = unrolled_sgd({"w": w}, lambda p: ((torch.tanh(X @ p["w"]) - y) ** 2).mean(), lr=0.3, steps=2)
        return ((torch.tanh(Xq @ adapted["w"]) - yq) ** 2).mean()

    w = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(meta_objective, (w,))
    assert torch.autograd.gradgradcheck(meta_objective, (w,))


# ---------------------------------------------------------------------------------------
# maml_outer_step against the same computation written by hand
# ---------------------------------------------------------------------------------------


def small_mlp(seed=3):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    ).double()


def mse(pred, target):
    return ((pred - target) ** 2).mean()


def hand_forward(w, x):
    h = torch.tanh(x @ w[0].T + w[1])
    h = torch.tanh(h @ w[2].T + w[3])
    return h @ w[4].T + w[5]


def hand_meta_gradient(weights, tasks, inner_lr, inner_steps, first_order):
    """The MAML gradient with torch.autograd.grad on explicit tensors: no functional_call, no objlib."""
    weights = [w.detach().clone().requires_grad_() for w in weights]
    losses = []
    for xs, ys, xq, yq in tasks:
        adapted = weights
        for _ in range(inner_steps):
            grads = torch.autograd.grad(mse(hand_forward(adapted, xs), ys), adapted, create_graph=not first_order)
            adapted = [w - inner_lr * g for w, g in zip(adapted, grads, strict=True)]
        losses.append(mse(hand_forward(adapted, xq), yq))
    mean_loss = torch.stack(losses).mean()
    return torch.autograd.grad(mean_loss, weights), mean_loss.detach()


def func_meta_gradient(model, tasks, inner_lr, inner_steps):
    """The same gradient with torch.func transforms (grad of a function that calls grad)."""
    names = [name for name, _ in model.named_parameters()]

    def loss_at(params, x, y):
        return mse(functional_call(model, params, (x,)), y)

    def meta_loss(params):
        total = 0.0
        for xs, ys, xq, yq in tasks:
            adapted = params
            for _ in range(inner_steps):
                step = grad(loss_at)(adapted, xs, ys)
                adapted = {k: adapted[k] - inner_lr * step[k] for k in names}
            total = total + loss_at(adapted, xq, yq)
        return total / len(tasks)

    params = {k: v.detach() for k, v in model.named_parameters()}
    gradients = grad(meta_loss)(params)
    return [gradients[k] for k in names]


@pytest.mark.parametrize("inner_steps", [1, 2])
def test_outer_step_equals_a_hand_written_second_order_computation(inner_steps):
    model = small_mlp()
    tasks = sine_tasks(3, k_shot=5, k_query=7, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    before = [p.detach().clone() for p in model.parameters()]
    by_hand, hand_loss = hand_meta_gradient(before, tasks, 0.05, inner_steps, first_order=False)
    by_func = func_meta_gradient(model, tasks, 0.05, inner_steps)
    lr = 0.5
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss = maml_outer_step(model, tasks, loss_fn=mse, meta_optimizer=optimizer, inner_lr=0.05, inner_steps=inner_steps)
    torch.testing.assert_close(loss, hand_loss, rtol=1e-14, atol=1e-15)
    assert not loss.requires_grad
    for p, p0, gh, gf in zip(model.parameters(), before, by_hand, by_func, strict=True):
        torch.testing.assert_close(p.grad, gh, rtol=1e-12, atol=1e-14)  # the accumulated mean meta-gradient
        torch.testing.assert_close(gh, gf, rtol=1e-12, atol=1e-14)  # two independent routes agree
        torch.testing.assert_close(p.detach(), p0 - lr * gh, rtol=1e-14, atol=1e-14)  # and the step applied it


def test_first_order_outer_step_equals_the_hand_written_first_order_gradient():
    model = small_mlp()
    tasks = sine_tasks(3, k_shot=5, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    first, _ = hand_meta_gradient(list(model.parameters()), tasks, 0.05, 2, first_order=True)
    second, _ = hand_meta_gradient(list(model.parameters()), tasks, 0.05, 2, first_order=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    maml_outer_step(model, tasks, loss_fn=mse, meta_optimizer=optimizer, inner_lr=0.05, inner_steps=2, first_order=True)
    for p, g1 in zip(model.parameters(), first, strict=True):
        torch.testing.assert_close(p.grad, g1, rtol=1e-12, atol=1e-14)
    assert max((g1 - g2).abs().max() for g1, g2 in zip(first, second, strict=True)) > 1e-6  # not the same thing


def test_zero_inner_steps_is_multi_task_training_on_the_query_sets():
    model = small_mlp()
    tasks = sine_tasks(4, k_shot=5, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    plain = torch.stack([mse(model(xq), yq) for _, _, xq, yq in tasks]).mean()
    expected = torch.autograd.grad(plain, list(model.parameters()))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    loss = maml_outer_step(model, tasks, loss_fn=mse, meta_optimizer=optimizer, inner_lr=0.3, inner_steps=0)
    torch.testing.assert_close(loss, plain.detach())
    for p, g in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-13, atol=1e-15)


def test_outer_step_handles_frozen_and_tied_parameters():
    torch.manual_seed(7)
    first, last = torch.nn.Linear(1, 1).double(), torch.nn.Linear(1, 1).double()
    model = torch.nn.Sequential(first, torch.nn.Tanh(), last)
    last.weight = first.weight  # tied: one tensor used twice
    first.bias.requires_grad_(False)
    tasks = sine_tasks(2, k_shot=4, generator=torch.Generator().manual_seed(8), dtype=torch.float64)

    def forward(w, b, x):  # the tied network by hand, frozen bias a constant
        return torch.tanh(x * w + first.bias.detach()) * w + b

    w0, b0 = first.weight.detach().clone().requires_grad_(), last.bias.detach().clone().requires_grad_()
    total = 0.0
    for xs, ys, xq, yq in tasks:
        gw, gb = torch.autograd.grad(mse(forward(w0, b0, xs), ys), (w0, b0), create_graph=True)
        total = total + mse(forward(w0 - 0.1 * gw, b0 - 0.1 * gb, xq), yq) / len(tasks)
    expected_w, expected_b = torch.autograd.grad(total, (w0, b0))
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.0)
    maml_outer_step(model, tasks, loss_fn=mse, meta_optimizer=optimizer, inner_lr=0.1)
    torch.testing.assert_close(first.weight.grad, expected_w, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(last.bias.grad, expected_b, rtol=1e-12, atol=1e-14)
    assert first.bias.grad is None


def test_maml_learns_linear_tasks_that_adapt_in_one_step():
    # Tasks y = s * x with random slopes s around 3: after meta-training, one inner step from the
    # meta-learned weight fits a new task better than from the weight before meta-training.
    g = torch.Generator().manual_seed(9)

    def linear_tasks(n):
        slopes = 3 + torch.randn(n, generator=g, dtype=torch.float64)
        x = torch.randn(n, 10, 1, generator=g, dtype=torch.float64)
        return [(xi[:5], s * xi[:5], xi[5:], s * xi[5:]) for xi, s in zip(x, slopes, strict=True)]

    model = torch.nn.Linear(1, 1, bias=False).double()
    with torch.no_grad():
        model.weight.fill_(-2.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    losses = [
        maml_outer_step(model, linear_tasks(8), loss_fn=mse, meta_optimizer=optimizer, inner_lr=0.1).item()
        for _ in range(100)
    ]
    assert sum(losses[-10:]) < 0.1 * sum(losses[:10])
    assert abs(model.weight.item() - 3.0) < 0.5


# ---------------------------------------------------------------------------------------
# sine_tasks
# ---------------------------------------------------------------------------------------


def fitted_amplitude_and_phase(x, y):
    """A sin(x - phi) = (A cos phi) sin x - (A sin phi) cos x: least squares recovers A and phi."""
    basis = torch.cat([torch.sin(x), -torch.cos(x)], dim=1)
    c = torch.linalg.lstsq(basis, y).solution.squeeze(1)
    return torch.hypot(c[0], c[1]).item(), math.atan2(c[1].item(), c[0].item())


def test_sine_tasks_shapes_ranges_and_distribution():
    tasks = sine_tasks(400, k_shot=6, k_query=9, generator=torch.Generator().manual_seed(10), dtype=torch.float64)
    assert len(tasks) == 400
    amplitudes, phases = [], []
    for xs, ys, xq, yq in tasks:
        assert xs.shape == ys.shape == (6, 1) and xq.shape == yq.shape == (9, 1)
        assert xs.dtype == torch.float64
        x, y = torch.cat([xs, xq]), torch.cat([ys, yq])
        assert x.min() >= -5 and x.max() <= 5
        amplitude, phase = fitted_amplitude_and_phase(x, y)
        torch.testing.assert_close(y, amplitude * torch.sin(x - phase), rtol=1e-10, atol=1e-10)  # one sine, no noise
        amplitudes.append(amplitude)
        phases.append(phase)
    assert 0.1 - 1e-9 <= min(amplitudes) and max(amplitudes) <= 5 + 1e-9
    assert -1e-9 <= min(phases) and max(phases) <= math.pi + 1e-9
    assert scipy.stats.kstest(amplitudes, "uniform", args=(0.1, 4.9)).pvalue > 1e-3
    assert scipy.stats.kstest(phases, "uniform", args=(0.0, math.pi)).pvalue > 1e-3
    inputs = torch.cat([torch.cat([xs, xq]) for xs, _, xq, _ in tasks]).squeeze(1)
    assert scipy.stats.kstest(inputs.numpy(), "uniform", args=(-5.0, 10.0)).pvalue > 1e-3


def test_sine_tasks_are_reproducible_with_a_generator():
    first = sine_tasks(5, k_shot=3, generator=torch.Generator().manual_seed(11))
    again = sine_tasks(5, k_shot=3, generator=torch.Generator().manual_seed(11))
    other = sine_tasks(5, k_shot=3, generator=torch.Generator().manual_seed(12))
    assert all(torch.equal(a, b) for ta, tb in zip(first, again, strict=True) for a, b in zip(ta, tb, strict=True))
    assert not torch.equal(first[0][0], other[0][0])
    assert first[0][2].shape == (3, 1)  # k_query defaults to k_shot
    assert first[0][0].dtype == torch.get_default_dtype()


# ---------------------------------------------------------------------------------------
# bad input and the NaN policy
# ---------------------------------------------------------------------------------------


def test_inner_step_refuses_bad_input():
    w = torch.ones(2, requires_grad=True)
    loss = (w**2).sum()
    with pytest.raises(ValueError, match="inner_lr"):
        maml_inner_step({"w": w}, loss, inner_lr=-0.1)
    with pytest.raises(TypeError, match="inner_lr"):
        maml_inner_step({"w": w}, loss, inner_lr="0.1")
    with pytest.raises(TypeError, match="params"):
        maml_inner_step([w], loss, inner_lr=0.1)
    with pytest.raises(ValueError, match="params"):
        maml_inner_step({}, loss, inner_lr=0.1)
    with pytest.raises(ValueError, match="params"):
        maml_inner_step({"w": w.detach()}, loss, inner_lr=0.1)
    with pytest.raises(TypeError, match="params"):
        maml_inner_step({"w": torch.ones(2, dtype=torch.long)}, loss, inner_lr=0.1)
    with pytest.raises(ValueError, match="loss"):
        maml_inner_step({"w": w}, w**2, inner_lr=0.1)
    with pytest.raises(TypeError, match="loss"):
        maml_inner_step({"w": w}, 1.0, inner_lr=0.1)
    with pytest.raises(ValueError, match="steps"):
        unrolled_sgd({"w": w}, lambda p: (p["w"] ** 2).sum(), lr=0.1, steps=-1)
    with pytest.raises(TypeError, match="steps"):
        unrolled_sgd({"w": w}, lambda p: (p["w"] ** 2).sum(), lr=0.1, steps=2.0)
    with pytest.raises(ValueError, match="lr"):
        unrolled_sgd({"w": w}, lambda p: (p["w"] ** 2).sum(), lr=-1.0, steps=2)
    with pytest.raises(TypeError, match="loss_fn"):
        unrolled_sgd({"w": w}, None, lr=0.1, steps=2)


def test_nan_loss_is_refused_with_checks_on_and_propagates_with_them_off():
    w = torch.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="loss"):
        maml_inner_step({"w": w}, (w * float("nan")).sum(), inner_lr=0.1)
    with objlib.value_checks(False):
        adapted = maml_inner_step({"w": w}, (w * float("nan")).sum(), inner_lr=0.1)
    assert torch.isnan(adapted["w"]).all()


def test_outer_step_refuses_bad_input():
    model = small_mlp()
    tasks = sine_tasks(2, k_shot=3, generator=torch.Generator().manual_seed(13), dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    kwargs = {"loss_fn": mse, "meta_optimizer": opt, "inner_lr": 0.1}
    with pytest.raises(ValueError, match="tasks"):
        maml_outer_step(model, [], **kwargs)
    with pytest.raises(ValueError, match=r"tasks\[1\]"):
        maml_outer_step(model, [tasks[0], tasks[1][:3]], **kwargs)
    with pytest.raises(TypeError, match="tasks"):
        maml_outer_step(model, tasks[0][0], **kwargs)
    with pytest.raises(TypeError, match="model"):
        maml_outer_step(lambda x: x, tasks, **kwargs)
    with pytest.raises(TypeError, match="meta_optimizer"):
        maml_outer_step(model, tasks, loss_fn=mse, meta_optimizer=None, inner_lr=0.1)
    with pytest.raises(TypeError, match="loss_fn"):
        maml_outer_step(model, tasks, loss_fn="mse", meta_optimizer=opt, inner_lr=0.1)
    with pytest.raises(ValueError, match="inner_lr"):
        maml_outer_step(model, tasks, loss_fn=mse, meta_optimizer=opt, inner_lr=-0.1)
    with pytest.raises(ValueError, match="inner_steps"):
        maml_outer_step(model, tasks, **kwargs, inner_steps=-1)
    bad = [(tasks[0][0], tasks[0][1].clone().fill_(float("nan")), tasks[0][2], tasks[0][3])]
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"tasks\[0\].y_support"):
        maml_outer_step(model, bad, **kwargs)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))  # nothing moved
    with objlib.value_checks(False):
        loss = maml_outer_step(model, bad, **kwargs)
    assert torch.isnan(loss)


def test_sine_tasks_refuses_bad_input():
    with pytest.raises(ValueError, match="n"):
        sine_tasks(0, k_shot=5)
    with pytest.raises(TypeError, match="n"):
        sine_tasks(2.0, k_shot=5)
    with pytest.raises(ValueError, match="k_shot"):
        sine_tasks(2, k_shot=0)
    with pytest.raises(ValueError, match="k_query"):
        sine_tasks(2, k_shot=3, k_query=0)
    with pytest.raises(TypeError, match="dtype"):
        sine_tasks(2, k_shot=3, dtype=torch.int64)
