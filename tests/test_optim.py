"""Tests for objlib.optim.Lion against the paper's rule written out, and against optax.lion."""

import copy
import io

import numpy as np
import pytest
import torch

from objlib.optim import Lion


def gradient_sequence(shapes, steps, seed):
    """A fixed sequence of gradients, one list of tensors per step (float64)."""
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(s, generator=g, dtype=torch.float64) for s in shapes] for _ in range(steps)]


def paper_rule(thetas, gradients, *, lr, beta1, beta2, weight_decay):
    """Chen et al. (2023), Algorithm 2, one line per line of the paper; returns every iterate."""
    thetas = [t.clone() for t in thetas]
    momenta = [torch.zeros_like(t) for t in thetas]
    history = []
    for step_gradients in gradients:
        for i, g in enumerate(step_gradients):
            c = beta1 * momenta[i] + (1 - beta1) * g
            thetas[i] = thetas[i] - lr * (torch.sign(c) + weight_decay * thetas[i])
            momenta[i] = beta2 * momenta[i] + (1 - beta2) * g
        history.append([t.clone() for t in thetas])
    return history


def run_lion(thetas, gradients, **kwargs):
    params = [torch.nn.Parameter(t.clone()) for t in thetas]
    opt = Lion(params, **kwargs)
    history = []
    for step_gradients in gradients:
        for p, g in zip(params, step_gradients, strict=True):
            p.grad = g.clone()
        opt.step()
        history.append([p.detach().clone() for p in params])
    return history, opt


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize(
    ("lr", "betas", "weight_decay"), [(1e-2, (0.9, 0.99), 0.0), (3e-3, (0.5, 0.8), 0.7), (0.1, (0.0, 0.0), 0.1)]
)
def test_lion_follows_the_papers_rule_step_by_step(foreach, lr, betas, weight_decay):
    shapes = [(3, 4), (5,), ()]
    start = [t for t in gradient_sequence(shapes, 1, seed=0)[0]]
    gradients = gradient_sequence(shapes, 25, seed=1)
    expected = paper_rule(start, gradients, lr=lr, beta1=betas[0], beta2=betas[1], weight_decay=weight_decay)
    got, _ = run_lion(start, gradients, lr=lr, betas=betas, weight_decay=weight_decay, foreach=foreach)
    for step, (got_step, want_step) in enumerate(zip(got, expected, strict=True)):
        for a, b in zip(got_step, want_step, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-15, msg=f"step {step}")


def test_lion_agrees_with_optax():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    optax = pytest.importorskip("optax")
    shapes = [(4, 3), (6,)]
    start = [t.float() for t in gradient_sequence(shapes, 1, seed=2)[0]]
    gradients = [[g.float() for g in step] for step in gradient_sequence(shapes, 30, seed=3)]
    got, _ = run_lion(start, gradients, lr=1e-2, betas=(0.9, 0.99), weight_decay=0.5)
    transform = optax.lion(1e-2, b1=0.9, b2=0.99, weight_decay=0.5)
    params = [jnp.asarray(t.numpy()) for t in start]
    state = transform.init(params)

    @jax.jit  # one compiled step instead of dozens of eagerly dispatched jax operations
    def step_fn(grads, state, params):
        updates, state = transform.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    for step, step_gradients in enumerate(gradients):
        params, state = step_fn([jnp.asarray(g.numpy()) for g in step_gradients], state, params)
        for a, b in zip(got[step], params, strict=True):
            np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_foreach_and_for_loop_give_identical_numbers_across_devices_and_dtypes():
    shapes = [(3, 4), (5,)]
    start = gradient_sequence(shapes, 1, seed=4)[0] + [torch.randn(7)]  # a float32 tensor too: two buckets
    gradients = [step + [torch.randn(7)] for step in gradient_sequence(shapes, 10, seed=5)]
    loop, _ = run_lion(start, gradients, lr=1e-2, weight_decay=0.3, foreach=False)
    fused, _ = run_lion(start, gradients, lr=1e-2, weight_decay=0.3, foreach=True)
    default, _ = run_lion(start, gradients, lr=1e-2, weight_decay=0.3)
    for a, b, c in zip(loop[-1], fused[-1], default[-1], strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_every_update_has_size_lr_whatever_the_gradient_scale():
    start = [torch.randn(50, dtype=torch.float64)]
    small = gradient_sequence([(50,)], 1, seed=6)
    big = [[1e6 * small[0][0]]]
    after_small = run_lion(start, small, lr=0.01)[0][-1][0]
    after_big = run_lion(start, big, lr=0.01)[0][-1][0]
    torch.testing.assert_close((after_small - start[0]).abs(), torch.full((50,), 0.01, dtype=torch.float64))
    assert torch.equal(after_small, after_big)


def test_zero_gradient_moves_only_by_the_weight_decay():
    start = [torch.tensor([2.0, -4.0], dtype=torch.float64)]
    zeros = [[torch.zeros(2, dtype=torch.float64)]]
    after = run_lion(start, zeros, lr=0.1, weight_decay=0.5)[0][-1][0]
    torch.testing.assert_close(after, start[0] * (1 - 0.1 * 0.5))


def test_maximize_ascends():
    start = [torch.randn(4, dtype=torch.float64)]
    gradients = gradient_sequence([(4,)], 8, seed=7)
    negated = [[-g for g in step] for step in gradients]
    up, _ = run_lion(start, gradients, lr=1e-2, weight_decay=0.2, maximize=True)
    down, _ = run_lion(start, negated, lr=1e-2, weight_decay=0.2)
    assert torch.equal(up[-1][0], down[-1][0])


def test_param_groups_keep_their_own_hyper_parameters():
    a = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    b = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = Lion([{"params": [a]}, {"params": [b], "lr": 0.5, "weight_decay": 0.2}], lr=0.1)
    a.grad = torch.ones(3, dtype=torch.float64)
    b.grad = torch.ones(3, dtype=torch.float64)
    opt.step()
    torch.testing.assert_close(a.detach(), torch.full((3,), 0.9, dtype=torch.float64))
    torch.testing.assert_close(b.detach(), torch.full((3,), 1 - 0.5 * (1 + 0.2), dtype=torch.float64))
    assert opt.param_groups[1]["betas"] == (0.9, 0.99)


def test_parameters_without_gradient_are_skipped():
    a = torch.nn.Parameter(torch.ones(2))
    b = torch.nn.Parameter(torch.ones(2))
    opt = Lion([a, b], lr=0.1, weight_decay=1.0)
    a.grad = torch.ones(2)
    opt.step()
    assert torch.equal(b.detach(), torch.ones(2)) and b not in opt.state
    assert set(opt.state[a]) == {"exp_avg"}


def test_closure_is_evaluated_and_its_loss_returned():
    w = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
    opt = Lion([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 2.0
    torch.testing.assert_close(w.detach(), torch.tensor([0.9, -0.9]))


def train(model, opt, batches):
    for x, y in batches:
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()


def test_state_dict_round_trips_and_resumed_training_is_identical():
    g = torch.Generator().manual_seed(8)
    batches = [(torch.randn(16, 3, generator=g), torch.randn(16, 1, generator=g)) for _ in range(20)]
    torch.manual_seed(9)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    resumed_model = copy.deepcopy(model)

    def make(m):
        return Lion(
            [{"params": m[0].parameters()}, {"params": m[2].parameters(), "lr": 3e-3}], lr=1e-2, weight_decay=0.1
        )

    uninterrupted = make(model)
    train(model, uninterrupted, batches)

    first_half = make(resumed_model)
    train(resumed_model, first_half, batches[:10])
    buffer = io.BytesIO()
    torch.save({"model": resumed_model.state_dict(), "optimizer": first_half.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer)
    torch.manual_seed(10)
    fresh_model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    fresh_model.load_state_dict(saved["model"])
    fresh = make(fresh_model)
    fresh.load_state_dict(saved["optimizer"])
    assert fresh.param_groups[1]["lr"] == 3e-3
    train(fresh_model, fresh, batches[10:])
    for a, b in zip(model.parameters(), fresh_model.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(uninterrupted.state.values(), fresh.state.values(), strict=True):
        assert torch.equal(a["exp_avg"], b["exp_avg"])


def test_lion_with_decaying_steps_reaches_the_minimiser_of_a_quadratic():
    g = torch.Generator().manual_seed(11)
    target = torch.randn(10, generator=g, dtype=torch.float64)
    scales = torch.rand(10, generator=g, dtype=torch.float64) * 100 + 0.01  # badly conditioned
    w = torch.nn.Parameter(torch.zeros(10, dtype=torch.float64))
    opt = Lion([w], lr=0.05, betas=(0.9, 0.99))
    steps = 3000
    for t in range(steps):
        opt.param_groups[0]["lr"] = 0.05 * (1 - t / steps)
        opt.zero_grad()
        (0.5 * scales * (w - target) ** 2).sum().backward()
        opt.step()
    assert (w.detach() - target).abs().max() < 1e-3


def test_lion_refuses_bad_hyper_parameters_and_parameters():
    w = [torch.nn.Parameter(torch.ones(2))]
    with pytest.raises(ValueError, match="lr"):
        Lion(w, lr=-1e-3)
    with pytest.raises(ValueError, match="lr"):
        Lion(w, lr=float("nan"))
    with pytest.raises(ValueError, match=r"betas\[0\]"):
        Lion(w, betas=(1.0, 0.99))
    with pytest.raises(ValueError, match=r"betas\[0\]"):
        Lion(w, betas=(-0.1, 0.99))
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        Lion(w, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="betas"):
        Lion(w, betas=0.9)
    with pytest.raises(TypeError, match="betas"):
        Lion(w, betas=("a", 0.9))
    with pytest.raises(ValueError, match="weight_decay"):
        Lion(w, weight_decay=-0.1)
    opt = Lion(w)
    with pytest.raises(ValueError, match="lr"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], "lr": -1.0})
    assert len(opt.param_groups) == 1  # the bad group was not added
    with pytest.raises(TypeError, match="params"):
        Lion([torch.nn.Parameter(torch.ones(2, dtype=torch.complex64))])
    sparse = torch.nn.Parameter(torch.ones(3))
    sparse.grad = torch.ones(3).to_sparse()
    with pytest.raises(ValueError, match="sparse"):
        Lion([sparse]).step()


@pytest.mark.parametrize("foreach", [False, True])
def test_nan_gradient_propagates_and_is_never_frozen_into_a_number(foreach):
    # torch.sign(nan) == 0: without care the parameter would silently stop moving.
    w = torch.nn.Parameter(torch.ones(2))
    opt = Lion([w], lr=0.1, foreach=foreach)
    w.grad = torch.tensor([float("nan"), 1.0])
    opt.step()
    assert torch.isnan(w[0]) and w[1].item() == pytest.approx(0.9)
    w.grad = torch.tensor([1.0, 1.0])  # the momentum of the first coordinate is NaN now
    opt.step()
    assert torch.isnan(w[0]) and torch.isnan(opt.state[w]["exp_avg"][0]) and w[1].item() == pytest.approx(0.8)
