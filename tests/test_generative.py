"""Tests for objlib.generative against torch.distributions, torch.autograd and closed forms (float64)."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Normal, kl_divergence

import objlib
from objlib.divergences import gaussian_kl, js
from objlib.generative import (
    cosine_beta_schedule,
    ddpm_loss,
    flow_nll,
    gan_discriminator_loss,
    gan_generator_loss,
    gradient_penalty,
    iwae_bound,
    linear_beta_schedule,
    negative_elbo,
    q_sample,
    wgan_critic_loss,
    wgan_generator_loss,
)

F64 = torch.float64
LN2 = math.log(2.0)
LOG_2PI = math.log(2 * math.pi)


def randn(*shape, seed=0, scale=1.0):
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def vae_batch(n=6, data_shape=(5,), d=3, seed=0):
    """Decoder logits, binary data, encoder means and log variances."""
    g = torch.Generator().manual_seed(seed)
    logits = 2 * torch.randn(n, *data_shape, generator=g, dtype=F64)
    x = (torch.rand(n, *data_shape, generator=g, dtype=F64) < 0.5).to(F64)
    mu = torch.randn(n, d, generator=g, dtype=F64)
    logvar = 0.5 * torch.randn(n, d, generator=g, dtype=F64)
    return logits, x, mu, logvar


def mlp_critic(seed=0, d=3, hidden=5):
    """A smooth float64 critic (tanh), so its gradient is differentiable again."""
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(d, hidden, generator=g, dtype=F64)
    w2 = torch.randn(hidden, generator=g, dtype=F64)
    return lambda x: torch.tanh(x.reshape(x.shape[0], -1) @ w1) @ w2


# ---------------------------------------------------------------------------------------
# negative_elbo
# ---------------------------------------------------------------------------------------


def test_negative_elbo_terms_match_torch_distributions():
    logits, x, mu, logvar = vae_batch()
    out = negative_elbo(logits, x, mu, logvar, reduction="none")
    reconstruction = -Bernoulli(logits=logits).log_prob(x).sum(1)
    posterior, prior = Normal(mu, torch.exp(0.5 * logvar)), Normal(torch.zeros_like(mu), torch.ones_like(mu))
    kl = kl_divergence(posterior, prior).sum(1)
    torch.testing.assert_close(out.reconstruction, reconstruction, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out.kl, kl, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out.kl, gaussian_kl(mu, logvar.exp(), 0 * mu, 1 + 0 * mu, reduction="none"))
    torch.testing.assert_close(out.loss, reconstruction + kl, rtol=1e-12, atol=1e-12)


def test_negative_elbo_gaussian_likelihood_keeps_the_constant():
    logits, _, mu, logvar = vae_batch(data_shape=(4,))
    x = randn(6, 4, seed=3)
    out = negative_elbo(logits, x, mu, logvar, likelihood="gaussian", reduction="none")
    torch.testing.assert_close(out.reconstruction, -Normal(logits, 1.0).log_prob(x).sum(1), rtol=1e-12, atol=1e-12)
    perfect = negative_elbo(x, x, 0 * mu, 0 * logvar, likelihood="gaussian", reduction="none")
    torch.testing.assert_close(perfect.loss, torch.full((6,), 2 * LOG_2PI, dtype=F64))  # 4 * 0.5 log 2 pi


def test_negative_elbo_gaussian_kl_term_closed_form():
    mu = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=F64)
    logvar = torch.tensor([[0.0, math.log(4.0)], [math.log(0.25), 0.0]], dtype=F64)
    expected = 0.5 * torch.tensor(
        [(1 + 0 - 1 - 0) + (4 + 1 - 1 - math.log(4)), (0.25 + 4 - 1 + math.log(4)) + 1], dtype=F64
    )
    out = negative_elbo(torch.zeros(2, 1), torch.zeros(2, 1), mu, logvar, reduction="none")
    torch.testing.assert_close(out.kl, expected, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_negative_elbo_sums_per_example_then_reduces_every_part(likelihood):
    logits, x, mu, logvar = vae_batch(data_shape=(1, 2, 3))
    kw = {"beta": 0.3, "likelihood": likelihood}
    none = negative_elbo(logits, x, mu, logvar, reduction="none", **kw)
    flat = negative_elbo(logits.flatten(1), x.flatten(1), mu, logvar, reduction="none", **kw)
    for part, flat_part in zip(none, flat, strict=True):
        assert part.shape == (6,)
        torch.testing.assert_close(part, flat_part)
    torch.testing.assert_close(none.loss, none.reconstruction + 0.3 * none.kl)
    mean = negative_elbo(logits, x, mu, logvar, **kw)  # the batch totals, computed without "none"
    total = negative_elbo(logits, x, mu, logvar, reduction="sum", **kw)
    for part_none, part_mean, part_sum in zip(none, mean, total, strict=True):
        torch.testing.assert_close(part_mean, part_none.mean())
        torch.testing.assert_close(part_sum, part_none.sum())
    # never a per-pixel mean: the reconstruction is a sum over the 6 pixels
    per_pixel = negative_elbo(
        logits.flatten()[:, None], x.flatten()[:, None], mu[:1].expand(36, 3), logvar[:1].expand(36, 3), **kw
    )
    torch.testing.assert_close(mean.reconstruction, 6 * per_pixel.reconstruction)


def test_negative_elbo_is_an_upper_bound_with_equality_at_the_true_posterior():
    # z ~ N(0, 1), x | z ~ N(w z, 1): p(x) = N(0, 1 + w^2), p(z | x) = N(w x / (1 + w^2), 1 / (1 + w^2)).
    w, x = 1.5, torch.tensor([0.7], dtype=F64)
    nll = -Normal(0.0, math.sqrt(1 + w**2)).log_prob(x)
    g = torch.Generator().manual_seed(1)
    n = 200_000
    for post_mean, post_var, exact in [(w * x / (1 + w**2), 1 / (1 + w**2), True), (0 * x, 1.0 + 0 * x, False)]:
        z = post_mean + math.sqrt(post_var) * torch.randn(n, 1, generator=g, dtype=F64)
        mu = post_mean.expand(n, 1)
        logvar = torch.full((n, 1), math.log(post_var), dtype=F64)
        values = negative_elbo(w * z, x.expand(n, 1), mu, logvar, likelihood="gaussian", reduction="none").loss
        mean, error = values.mean(), values.std() / math.sqrt(n)
        if exact:
            assert abs(mean - nll) < 4 * error
        else:
            assert mean - nll > 10 * error  # a wrong posterior leaves a gap


def test_negative_elbo_finite_at_logits_1e4():
    logits = torch.tensor([[1e4, -1e4, 1e4, -1e4]], dtype=F64, requires_grad=True)
    x = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=F64)
    out = negative_elbo(logits, x, torch.zeros(1, 2), torch.zeros(1, 2))
    assert out.loss.item() == 2e4
    out.loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_negative_elbo_gradcheck():
    logits, x, mu, logvar = vae_batch(n=3, data_shape=(4,), d=2)
    args = tuple(t.clone().requires_grad_() for t in (logits, mu, logvar))
    assert torch.autograd.gradcheck(lambda a, b, c: negative_elbo(a, x, b, c, beta=0.7, reduction="none"), args)
    xg = randn(3, 4, seed=5).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: negative_elbo(a, b, mu, logvar, likelihood="gaussian").loss, (args[0], xg)
    )


def test_negative_elbo_mixed_dtypes_and_integer_data():
    logits, x, mu, logvar = vae_batch()
    out = negative_elbo(logits.float(), x.long(), mu, logvar.float())
    assert out.loss.dtype == F64
    torch.testing.assert_close(out.loss, negative_elbo(logits.float().double(), x, mu, logvar.float().double()).loss)
    assert negative_elbo(logits.float(), x.bool(), mu.float(), logvar.float()).loss.dtype == torch.float32


@pytest.mark.parametrize(
    "change, kwargs, error, match",
    [
        ({"x": torch.zeros(6, 4)}, {}, ValueError, "x_logits and x must have the same shape"),
        ({"logvar": torch.zeros(6, 2)}, {}, ValueError, "mu and logvar must have the same shape"),
        ({"mu": torch.zeros(5, 3), "logvar": torch.zeros(5, 3)}, {}, ValueError, "mu must have one row per example"),
        ({"x": torch.full((6, 5), 2.0)}, {}, ValueError, "x must lie in"),
        ({}, {"likelihood": "poisson"}, ValueError, "likelihood"),
        ({}, {"beta": -1.0}, ValueError, "beta"),
        ({}, {"reduction": "batchmean"}, ValueError, "reduction"),
        ({"x_logits": torch.tensor(1.0), "x": torch.tensor(1.0)}, {}, ValueError, "x_logits must have a batch axis"),
        ({"x_logits": torch.zeros(0, 5), "x": torch.zeros(0, 5)}, {}, ValueError, "x_logits is empty"),
        ({"mu": "mu"}, {}, TypeError, "mu must be a tensor"),
    ],
)
def test_negative_elbo_refuses_bad_input(change, kwargs, error, match):
    args = dict(zip(("x_logits", "x", "mu", "logvar"), vae_batch(), strict=True))
    args.update(change)
    with pytest.raises(error, match=match):
        negative_elbo(args["x_logits"], args["x"], args["mu"], args["logvar"], **kwargs)


@pytest.mark.parametrize("position", range(4))
def test_negative_elbo_nan_policy(position):
    args = list(vae_batch())
    args[position] = args[position].clone()
    args[position][1, 0] = math.nan
    name = ("x_logits", "x", "mu", "logvar")[position]
    with pytest.raises(ValueError, match=name):
        negative_elbo(*args)
    with objlib.value_checks(False):
        out = negative_elbo(*args)
    assert torch.isnan(out.loss)
    decoder_side = position < 2  # x_logits and x enter the reconstruction, mu and logvar the KL
    assert torch.isnan(out.reconstruction) == decoder_side and torch.isnan(out.kl) != decoder_side


# ---------------------------------------------------------------------------------------
# iwae_bound
# ---------------------------------------------------------------------------------------


def test_iwae_bound_matches_log_mean_exp():
    log_w = randn(4, 3, 7, seed=2)
    expected = torch.log(torch.exp(log_w).mean(-1))
    torch.testing.assert_close(iwae_bound(log_w, reduction="none"), expected, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(iwae_bound(log_w), expected.mean())
    torch.testing.assert_close(iwae_bound(log_w, reduction="sum"), expected.sum())
    torch.testing.assert_close(iwae_bound(log_w[..., :1], reduction="none"), log_w[..., 0])  # K = 1: the ELBO


def test_iwae_bound_is_exact_at_the_true_posterior_and_tightens_with_k_otherwise():
    # z ~ N(0, 1), x | z ~ N(z, 1): log p(x) = log N(x; 0, 2) and p(z | x) = N(x / 2, 1 / 2).
    x = torch.tensor(1.3, dtype=F64)
    log_px = Normal(0.0, math.sqrt(2.0)).log_prob(x)
    prior, g = Normal(0.0, 1.0), torch.Generator().manual_seed(3)

    def log_weights(q, n, k):
        z = q.mean + q.stddev * torch.randn(n, k, generator=g, dtype=F64)
        return Normal(z, 1.0).log_prob(x) + prior.log_prob(z) - q.log_prob(z)

    posterior = Normal(x / 2, math.sqrt(0.5))
    for k in (1, 5, 50):
        torch.testing.assert_close(iwae_bound(log_weights(posterior, 10, k), reduction="none"), log_px.expand(10))
    bounds = [iwae_bound(log_weights(prior, 20_000, k)).item() for k in (1, 10, 100)]
    assert bounds[0] < bounds[1] < bounds[2] < log_px.item()
    assert log_px.item() - bounds[2] < 0.1 * (log_px.item() - bounds[0])


def test_iwae_bound_extreme_and_zero_weights():
    log_w = torch.tensor([[-1e4, -1e4 + math.log(3.0)], [0.0, -math.inf]], dtype=F64, requires_grad=True)
    out = iwae_bound(log_w, reduction="none")
    torch.testing.assert_close(out.detach(), torch.tensor([-1e4 + LN2, -LN2], dtype=F64))
    out.sum().backward()
    assert torch.isfinite(log_w.grad).all() and log_w.grad[1, 1] == 0


def test_iwae_bound_gradcheck_and_dtypes():
    log_w = randn(3, 4, seed=4).requires_grad_()
    assert torch.autograd.gradcheck(lambda w: iwae_bound(w, reduction="none"), (log_w,))
    assert iwae_bound([[0, 1]]).dtype == torch.get_default_dtype()


@pytest.mark.parametrize(
    "log_w, match",
    [
        (torch.tensor(0.0), "log_weights must hold the K samples"),
        (torch.zeros(3, 0), "log_weights is empty"),
        (torch.tensor([[0.0, math.nan]]), "log_weights must not hold NaN"),
        (torch.tensor([[0.0, math.inf]]), "log_weights must not hold NaN or \\+inf"),
    ],
)
def test_iwae_bound_refuses_bad_input(log_w, match):
    with pytest.raises(ValueError, match=match):
        iwae_bound(log_w)


def test_iwae_bound_nan_propagates_with_checks_off():
    with objlib.value_checks(False):
        assert torch.isnan(iwae_bound(torch.tensor([[0.0, math.nan]])))


# ---------------------------------------------------------------------------------------
# flow_nll
# ---------------------------------------------------------------------------------------


def test_flow_nll_matches_standard_normal_log_prob():
    z, ladj = randn(5, 2, 3, seed=6), randn(5, seed=7)
    expected = -(Normal(0.0, 1.0).log_prob(z).sum((1, 2)) + ladj)
    torch.testing.assert_close(flow_nll(z, ladj, reduction="none"), expected, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(flow_nll(z, ladj), expected.mean())
    torch.testing.assert_close(flow_nll(z, ladj, reduction="sum"), expected.sum())


def test_flow_nll_of_an_affine_flow_matches_transformed_distribution():
    loc, scale = torch.tensor([1.0, -2.0], dtype=F64), torch.tensor([0.5, 3.0], dtype=F64)
    base = torch.distributions.Independent(Normal(torch.zeros(2, dtype=F64), torch.ones(2, dtype=F64)), 1)
    model = torch.distributions.TransformedDistribution(base, [torch.distributions.AffineTransform(loc, scale)])
    x = model.sample((8,))
    z = (x - loc) / scale  # the flow x -> z, whose Jacobian is diag(1 / scale)
    ladj = -torch.log(scale).sum().expand(8)
    torch.testing.assert_close(flow_nll(z, ladj, reduction="none"), -model.log_prob(x), rtol=1e-13, atol=1e-13)


def test_flow_nll_gradcheck_and_dtypes():
    z, ladj = randn(4, 2, seed=8).requires_grad_(), randn(4, seed=9).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: flow_nll(a, b, reduction="none"), (z, ladj))
    assert flow_nll(z.float(), ladj).dtype == F64
    assert flow_nll([[0, 0]], [0]).dtype == torch.get_default_dtype()


@pytest.mark.parametrize(
    "z, ladj, match",
    [
        (torch.zeros(4, 2), torch.zeros(4, 1), "log_abs_det_jacobian must have shape \\(N,\\)"),
        (torch.zeros(4, 2), torch.zeros(3), "log_abs_det_jacobian must have shape"),
        (torch.tensor(0.0), torch.zeros(1), "z must have a batch axis"),
        (torch.tensor([[0.0, math.nan]]), torch.zeros(1), "z must be finite"),
        (torch.zeros(1, 2), torch.tensor([math.inf]), "log_abs_det_jacobian must be finite"),
    ],
)
def test_flow_nll_refuses_bad_input(z, ladj, match):
    with pytest.raises(ValueError, match=match):
        flow_nll(z, ladj)


def test_flow_nll_nan_propagates_with_checks_off():
    with objlib.value_checks(False):
        assert torch.isnan(flow_nll(torch.tensor([[0.0, math.nan]]), torch.zeros(1)))


# ---------------------------------------------------------------------------------------
# GAN and WGAN losses
# ---------------------------------------------------------------------------------------


def test_gan_discriminator_loss_is_2ln2_at_one_half_and_matches_bce():
    assert abs(gan_discriminator_loss(torch.zeros(5), torch.zeros(3)).item() - 2 * LN2) < 1e-7
    real, fake = randn(7, 1, seed=10, scale=3), randn(4, 1, seed=11, scale=3)
    expected = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(
        fake, torch.zeros_like(fake)
    )
    torch.testing.assert_close(gan_discriminator_loss(real, fake), expected, rtol=1e-13, atol=1e-13)
    log_lik = Bernoulli(logits=real).log_prob(torch.ones_like(real)).sum()
    log_lik = log_lik + Bernoulli(logits=fake).log_prob(torch.zeros_like(fake)).sum()
    torch.testing.assert_close(gan_discriminator_loss(real, fake, reduction="sum"), -log_lik, rtol=1e-13, atol=1e-13)


def test_gan_losses_reduce_pairs_with_none():
    real, fake = randn(6, seed=12), randn(6, seed=13)
    pairs = gan_discriminator_loss(real, fake, reduction="none")
    torch.testing.assert_close(pairs, F.softplus(-real) + F.softplus(fake))
    torch.testing.assert_close(pairs.mean(), gan_discriminator_loss(real, fake))
    torch.testing.assert_close(pairs.sum(), gan_discriminator_loss(real, fake, reduction="sum"))
    critic = wgan_critic_loss(real, fake, reduction="none")
    torch.testing.assert_close(critic, fake - real)
    torch.testing.assert_close(wgan_critic_loss(real, fake[:2]), fake[:2].mean() - real.mean())
    torch.testing.assert_close(wgan_critic_loss(real, fake, reduction="sum"), fake.sum() - real.sum())
    torch.testing.assert_close(wgan_generator_loss(fake, reduction="none"), -fake)
    torch.testing.assert_close(wgan_generator_loss(fake), -fake.mean())
    with pytest.raises(ValueError, match="real_logits and fake_logits must have the same shape"):
        gan_discriminator_loss(real, fake[:2], reduction="none")
    with pytest.raises(ValueError, match="real_scores and fake_scores must have the same shape"):
        wgan_critic_loss(real, fake[:2], reduction="none")


def test_gan_value_at_the_optimal_discriminator_is_2ln2_minus_2js():
    # Expectations over two discrete distributions, with D* = p / (p + q), i.e. logit log(p / q).
    g = torch.Generator().manual_seed(14)
    p = torch.softmax(torch.randn(9, generator=g, dtype=F64), 0)
    q = torch.softmax(torch.randn(9, generator=g, dtype=F64), 0)
    logit = torch.log(p / q)
    on_real = gan_generator_loss(logit, reduction="none")  # -log D
    on_fake = -gan_generator_loss(logit, saturating=True, reduction="none")  # -log(1 - D)
    value = (p * on_real).sum() + (q * on_fake).sum()
    torch.testing.assert_close(value, 2 * LN2 - 2 * js(p, q), rtol=1e-12, atol=1e-12)


def test_gan_generator_loss_forms_and_their_gradients():
    fake = torch.tensor([-10.0, 0.0, 3.0], dtype=F64, requires_grad=True)
    non_saturating = gan_generator_loss(fake, reduction="sum")
    torch.testing.assert_close(
        non_saturating, F.binary_cross_entropy_with_logits(fake, torch.ones(3, dtype=F64), reduction="sum")
    )
    (grad_ns,) = torch.autograd.grad(non_saturating, fake)
    saturating = gan_generator_loss(fake, saturating=True, reduction="sum")
    torch.testing.assert_close(saturating, torch.log1p(-torch.sigmoid(fake)).sum())
    (grad_s,) = torch.autograd.grad(saturating, fake)
    torch.testing.assert_close(grad_ns, -(1 - torch.sigmoid(fake.detach())))
    torch.testing.assert_close(grad_s, -torch.sigmoid(fake.detach()))
    assert abs(grad_s[0]) < 1e-4 < 0.99 < abs(grad_ns[0])  # a rejected sample: only one form gives a gradient


@pytest.mark.parametrize("saturating", [False, True])
def test_gan_losses_finite_at_logits_1e4(saturating):
    logits = torch.tensor([1e4, -1e4], dtype=F64, requires_grad=True)
    loss = gan_generator_loss(logits, saturating=saturating, reduction="sum") + gan_discriminator_loss(logits, logits)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    assert gan_discriminator_loss(torch.tensor([-1e4]), torch.tensor([1e4])).item() == 2e4


def test_adversarial_losses_gradcheck():
    real, fake = randn(4, seed=15).requires_grad_(), randn(4, seed=16).requires_grad_()
    assert torch.autograd.gradcheck(lambda r, f: gan_discriminator_loss(r, f, reduction="none"), (real, fake))
    assert torch.autograd.gradcheck(lambda f: gan_generator_loss(f, saturating=True), (fake,))
    assert torch.autograd.gradcheck(lambda f: gan_generator_loss(f), (fake,))
    assert torch.autograd.gradcheck(lambda r, f: wgan_critic_loss(r, f), (real, fake))
    assert torch.autograd.gradcheck(lambda f: wgan_generator_loss(f), (fake,))


def test_adversarial_losses_promote_dtypes():
    assert gan_discriminator_loss(torch.zeros(2), torch.zeros(2, dtype=F64)).dtype == F64
    assert wgan_critic_loss([1, 2], torch.zeros(2, dtype=F64)).dtype == F64
    assert gan_generator_loss([0, 1]).dtype == torch.get_default_dtype()


BINARY_LOSSES = [
    ("real_logits", lambda a, b, **kw: gan_discriminator_loss(a, b, **kw)),
    ("real_scores", lambda a, b, **kw: wgan_critic_loss(a, b, **kw)),
]


@pytest.mark.parametrize(("first", "fn"), BINARY_LOSSES)
def test_adversarial_losses_refuse_bad_input(first, fn):
    second = first.replace("real", "fake")
    with pytest.raises(ValueError, match=f"{first} must be finite"):
        fn(torch.tensor([math.nan]), torch.zeros(1))
    with pytest.raises(ValueError, match=f"{second} is empty"):
        fn(torch.zeros(1), torch.zeros(0))
    with pytest.raises(ValueError, match="reduction"):
        fn(torch.zeros(1), torch.zeros(1), reduction="batchmean")
    with pytest.raises(TypeError, match=first):
        fn("a", torch.zeros(1))
    with objlib.value_checks(False):
        assert torch.isnan(fn(torch.tensor([math.nan]), torch.zeros(1)))


def test_generator_losses_refuse_bad_input():
    for fn in (gan_generator_loss, wgan_generator_loss):
        with pytest.raises(ValueError, match="fake_.* must be finite"):
            fn(torch.tensor([0.0, math.nan]))
        with pytest.raises(ValueError, match="fake_.* must be finite"):
            fn(torch.tensor([-math.inf]))
        with pytest.raises(ValueError, match="fake_.* must have a batch axis"):
            fn(torch.tensor(0.0))
        with objlib.value_checks(False):
            assert torch.isnan(fn(torch.tensor([math.nan])))
    for logit in (math.inf, -math.inf):  # infinite logits are refused in either form
        for saturating in (False, True):
            with pytest.raises(ValueError, match="fake_logits must be finite"):
                gan_generator_loss(torch.tensor([logit]), saturating=saturating)
    with pytest.raises(TypeError, match="saturating"):
        gan_generator_loss([0.0], saturating=1)


# ---------------------------------------------------------------------------------------
# gradient_penalty
# ---------------------------------------------------------------------------------------


def test_gradient_penalty_of_a_linear_critic_is_the_closed_form():
    w = torch.tensor([3.0, -1.0, 2.0, 0.5], dtype=F64)
    critic = lambda x: x.reshape(x.shape[0], -1) @ w + 1.0  # noqa: E731
    real, fake = randn(6, 1, 2, 2, seed=17), randn(6, 1, 2, 2, seed=18)
    expected = 10.0 * (w.norm() - 1) ** 2
    torch.testing.assert_close(gradient_penalty(critic, real, fake, reduction="none"), expected.expand(6))
    torch.testing.assert_close(gradient_penalty(critic, real, fake, weight=2.0), expected / 5)
    assert gradient_penalty(critic, real, fake, weight=0.0).item() == 0.0


def _direct_penalty(critic, real, fake, generator, weight=10.0):
    """The formulation of Gulrajani et al.'s Algorithm 1, written out."""
    alpha = torch.rand(real.shape[0], 1, generator=generator, dtype=real.dtype)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * ((grad.norm(dim=1) - 1) ** 2).mean()


def test_gradient_penalty_matches_the_direct_formulation_with_parameter_gradients():
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    real, fake = randn(16, 3, seed=19), randn(16, 3, seed=20)
    ours = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(5))
    params = list(critic.parameters())
    ours_grads = torch.autograd.grad(ours, params, allow_unused=True, materialize_grads=True)
    ref = _direct_penalty(critic, real, fake, torch.Generator().manual_seed(5))
    ref_grads = torch.autograd.grad(ref, params, allow_unused=True, materialize_grads=True)
    torch.testing.assert_close(ours, ref, rtol=1e-13, atol=1e-13)
    for a, b in zip(ours_grads, ref_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)
    # the penalty trains every weight of the critic; the output bias does not move its gradient
    assert all(g.abs().sum() > 0 for g in ours_grads[:3]) and ours_grads[3].abs().sum() == 0


def test_gradient_penalty_one_alpha_per_pair_between_the_two_samples():
    seen = []

    def critic(x):
        seen.append(x.detach().clone())
        return x.sum(1)

    real, fake = randn(50, 2, seed=21), randn(50, 2, seed=22)
    gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(6))
    alpha = (seen[0] - fake) / (real - fake)  # the same alpha in both coordinates
    torch.testing.assert_close(alpha[:, 0], alpha[:, 1])
    assert (alpha >= 0).all() and (alpha <= 1).all()
    torch.testing.assert_close(alpha[:, 0], torch.rand(50, generator=torch.Generator().manual_seed(6), dtype=F64))


def test_gradient_penalty_gradcheck_in_real_and_fake():
    critic = mlp_critic()
    real, fake = randn(4, 3, seed=23).requires_grad_(), randn(4, 3, seed=24).requires_grad_()

    def penalty(r, f):
        return gradient_penalty(critic, r, f, generator=torch.Generator().manual_seed(7), reduction="none")

    assert torch.autograd.gradcheck(penalty, (real, fake))


def test_gradient_penalty_is_the_weight_where_the_critic_is_flat():
    real, fake = randn(3, 2, seed=25), randn(3, 2, seed=26)
    for critic in (lambda x: torch.zeros(x.shape[0], dtype=F64), lambda x: 0 * x.sum(1)):
        assert gradient_penalty(critic, real, fake).item() == 10.0
    # a zero gradient norm (x^2 at 0) still has a finite derivative
    zeros = torch.zeros(3, 2, dtype=F64, requires_grad=True)
    out = gradient_penalty(lambda x: (x**2).sum(1), zeros, torch.zeros(3, 2, dtype=F64))
    assert out.item() == 10.0
    out.backward()
    assert torch.isfinite(zeros.grad).all()


def test_gradient_penalty_promotes_dtypes():
    out = gradient_penalty(lambda x: (x**2).sum(1), torch.ones(3, 2), torch.zeros(3, 2, dtype=F64))
    assert out.dtype == F64


@pytest.mark.parametrize(
    "critic, real, fake, kwargs, error, match",
    [
        ("critic", torch.zeros(2, 2), torch.zeros(2, 2), {}, TypeError, "critic must be callable"),
        (lambda x: x, torch.zeros(2, 2), torch.zeros(2, 2), {}, ValueError, "critic must return scores of shape"),
        (lambda x: x.sum(1), torch.zeros(2, 2), torch.zeros(3, 2), {}, ValueError, "real and fake must have the same"),
        (lambda x: x.sum(1), torch.zeros(2, 2), torch.zeros(2, 2), {"weight": -1.0}, ValueError, "weight"),
        (lambda x: x.sum(1), torch.zeros(2, 2), torch.zeros(2, 2), {"generator": 0}, TypeError, "generator"),
        (lambda x: x.sum(1), torch.zeros(2, 2), torch.zeros(2, 2), {"reduction": "avg"}, ValueError, "reduction"),
        (lambda x: x.sum(1), torch.tensor([[math.nan, 0.0]]), torch.zeros(1, 2), {}, ValueError, "real must be finite"),
        (lambda x: x.sum(1), torch.zeros(1, 2), torch.tensor([[math.inf, 0.0]]), {}, ValueError, "fake must be finite"),
        (lambda x: x.sum(1), torch.zeros(0, 2), torch.zeros(0, 2), {}, ValueError, "real is empty"),
    ],
)
def test_gradient_penalty_refuses_bad_input(critic, real, fake, kwargs, error, match):
    with pytest.raises(error, match=match):
        gradient_penalty(critic, real, fake, **kwargs)


def test_gradient_penalty_nan_propagates_with_checks_off():
    with objlib.value_checks(False):
        out = gradient_penalty(lambda x: (x**2).sum(1), torch.tensor([[math.nan, 0.0]]), torch.zeros(1, 2))
    assert torch.isnan(out)


# ---------------------------------------------------------------------------------------
# noise schedules
# ---------------------------------------------------------------------------------------


def test_linear_schedule_endpoints_spacing_and_dtype():
    betas = linear_beta_schedule(1000)
    assert betas.shape == (1000,) and betas.dtype == torch.get_default_dtype()
    assert abs(betas[0].item() - 1e-4) < 1e-9 and abs(betas[-1].item() - 0.02) < 1e-9
    torch.testing.assert_close(betas.double().diff(), torch.full((999,), 0.0199 / 999, dtype=F64), rtol=0, atol=1e-8)
    assert linear_beta_schedule(1, beta_start=0.3, beta_end=0.5).tolist() == pytest.approx([0.3])


@pytest.fixture
def default_float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    yield
    torch.set_default_dtype(previous)


@pytest.mark.usefixtures("default_float64")
@pytest.mark.parametrize("schedule", [lambda T: linear_beta_schedule(T, beta_end=0.2), cosine_beta_schedule])
def test_cumulative_product_is_the_variance_of_the_iterated_process(schedule):
    # x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps: Var(x_t | x_0) = 1 - alphas_cumprod[t].
    betas = schedule(50)
    alphas_cumprod = torch.cumprod(1 - betas, 0)
    signal, variance = torch.tensor(1.0), torch.tensor(0.0)
    for t, beta in enumerate(betas):
        signal, variance = torch.sqrt(1 - beta) * signal, (1 - beta) * variance + beta
        torch.testing.assert_close(signal, alphas_cumprod[t].sqrt(), rtol=1e-13, atol=1e-15)
        torch.testing.assert_close(variance, 1 - alphas_cumprod[t], rtol=1e-13, atol=1e-15)


@pytest.mark.usefixtures("default_float64")
def test_cosine_schedule_matches_nichol_and_dhariwals_alphas_cumprod():
    T, s = 200, 0.008
    betas = cosine_beta_schedule(T)
    f = [math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2 for t in range(T + 1)]
    expected = torch.tensor([f[t + 1] / f[0] for t in range(T)], dtype=F64)
    alphas_cumprod = torch.cumprod(1 - betas, 0)
    unclipped = betas < 0.999
    assert unclipped[:-1].all() and not unclipped[-1]  # only the last step, where abar -> 0, is clipped
    torch.testing.assert_close(alphas_cumprod[:-1], expected[:-1], rtol=1e-12, atol=1e-15)
    assert betas[-1].item() == 0.999
    assert (betas > 0).all() and (betas.diff() > 0).all()


def test_cosine_schedule_clip_and_dtype():
    betas = cosine_beta_schedule(10, max_beta=0.2)
    assert betas.dtype == torch.get_default_dtype() and betas.max().item() == pytest.approx(0.2)
    assert cosine_beta_schedule(1, max_beta=1.0).item() == 1.0  # a single step destroys the signal


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: linear_beta_schedule(0), ValueError, "T must lie"),
        (lambda: linear_beta_schedule(10.0), TypeError, "T must be an int"),
        (lambda: linear_beta_schedule(10, beta_start=0.0), ValueError, "beta_start"),
        (lambda: linear_beta_schedule(10, beta_end=1.0), ValueError, "beta_end"),
        (lambda: linear_beta_schedule(10, beta_start=0.1, beta_end=0.01), ValueError, "beta_end must be at least"),
        (lambda: cosine_beta_schedule(0), ValueError, "T must lie"),
        (lambda: cosine_beta_schedule(10, s=-0.1), ValueError, "s must lie"),
        (lambda: cosine_beta_schedule(10, max_beta=0.0), ValueError, "max_beta"),
        (lambda: cosine_beta_schedule(10, max_beta=math.nan), ValueError, "max_beta"),
    ],
)
def test_schedules_refuse_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------------------
# q_sample and ddpm_loss
# ---------------------------------------------------------------------------------------

ABAR = torch.cumprod(1 - linear_beta_schedule(20, beta_end=0.3).double(), 0)


def test_q_sample_matches_the_formula_example_by_example():
    x0, noise = randn(5, 2, 3, seed=27), randn(5, 2, 3, seed=28)
    t = torch.tensor([0, 3, 19, 7, 7])
    out = q_sample(x0, t, noise, alphas_cumprod=ABAR)
    for i in range(5):
        a = ABAR[t[i]]
        torch.testing.assert_close(out[i], a.sqrt() * x0[i] + (1 - a).sqrt() * noise[i], rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(
        q_sample(x0, 7, noise, alphas_cumprod=ABAR), q_sample(x0, torch.full((5,), 7), noise, alphas_cumprod=ABAR)
    )


def test_q_sample_draws_noise_from_the_generator_with_the_right_moments():
    x0 = torch.full((100_000, 1), 2.0, dtype=F64)
    out = q_sample(x0, 10, alphas_cumprod=ABAR, generator=torch.Generator().manual_seed(8))
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(8), dtype=F64)
    torch.testing.assert_close(out, q_sample(x0, 10, noise, alphas_cumprod=ABAR))
    mean, var = out.mean().item(), out.var().item()
    assert abs(mean - 2 * ABAR[10].sqrt().item()) < 4 * math.sqrt(var / len(out))
    assert abs(var - (1 - ABAR[10].item())) < 0.02


def test_q_sample_gradcheck():
    x0, noise = randn(3, 2, seed=29).requires_grad_(), randn(3, 2, seed=30).requires_grad_()
    abar = ABAR[:5].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b, c: q_sample(a, [0, 2, 4], b, alphas_cumprod=c), (x0, noise, abar))


def oracle(x0, alphas_cumprod):
    """The predictor that knows x0 and so recovers the noise exactly."""

    def model(x_t, t):
        a = alphas_cumprod[t].reshape(-1, *([1] * (x_t.dim() - 1)))
        return (x_t - a.sqrt() * x0) / (1 - a).sqrt()

    return model


def test_ddpm_loss_of_the_true_noise_predictor_is_zero():
    x0 = randn(64, 2, 2, seed=31)
    loss = ddpm_loss(oracle(x0, ABAR), x0, alphas_cumprod=ABAR, generator=torch.Generator().manual_seed(9))
    assert loss.item() < 1e-25


def test_ddpm_loss_matches_the_formula_and_draws_t_then_noise():
    x0 = randn(8, 3, seed=32)
    w = randn(3, 3, seed=33)

    def model(x_t, t):
        return x_t @ w + t[:, None].to(x_t.dtype) / 10

    g = torch.Generator().manual_seed(10)
    t = torch.randint(20, (8,), generator=g)
    noise = torch.randn(8, 3, generator=g, dtype=F64)
    x_t = ABAR[t, None].sqrt() * x0 + (1 - ABAR[t, None]).sqrt() * noise
    expected = ((model(x_t, t) - noise) ** 2).mean(1)
    ours = ddpm_loss(model, x0, alphas_cumprod=ABAR, generator=torch.Generator().manual_seed(10), reduction="none")
    torch.testing.assert_close(ours, expected, rtol=1e-13, atol=1e-13)
    given = ddpm_loss(model, x0, alphas_cumprod=ABAR, t=t, noise=noise)
    torch.testing.assert_close(given, F.mse_loss(model(x_t, t), noise))  # the mean over every element
    torch.testing.assert_close(
        ddpm_loss(model, x0, alphas_cumprod=ABAR, t=t, noise=noise, reduction="sum"), expected.sum()
    )


def test_ddpm_loss_is_minimised_by_the_scaled_score_of_gaussian_data():
    # x0 ~ N(0, s^2): x_t ~ N(0, v) with v = abar s^2 + 1 - abar; E[eps | x_t] = -sqrt(1 - abar) * score(x_t).
    s, t, n = 2.0, 5, 200_000
    abar = ABAR[t].item()
    v = abar * s**2 + 1 - abar
    g = torch.Generator().manual_seed(11)
    x0 = s * torch.randn(n, 1, generator=g, dtype=F64)
    noise = torch.randn(n, 1, generator=g, dtype=F64)

    def scaled_score(factor=1.0, shift=0.0):
        return lambda x_t, t: -math.sqrt(1 - abar) * factor * (-x_t / v) + shift

    per_example = ddpm_loss(scaled_score(), x0, alphas_cumprod=ABAR, t=t, noise=noise, reduction="none")
    irreducible = abar * s**2 / v  # Var(eps | x_t)
    assert abs(per_example.mean().item() - irreducible) < 4 * per_example.std().item() / math.sqrt(n)
    for factor, shift in ((1.1, 0.0), (0.9, 0.0), (1.0, 0.1)):
        worse = ddpm_loss(scaled_score(factor, shift), x0, alphas_cumprod=ABAR, t=t, noise=noise)
        assert worse > per_example.mean()


def test_ddpm_loss_gradcheck():
    x0, noise = randn(3, 2, seed=34).requires_grad_(), randn(3, 2, seed=35)
    w = randn(2, 2, seed=36).requires_grad_()

    def loss(w, x0):
        return ddpm_loss(lambda x, t: torch.tanh(x @ w), x0, alphas_cumprod=ABAR, t=[1, 5, 9], noise=noise)

    assert torch.autograd.gradcheck(loss, (w, x0))


def test_diffusion_dtypes():
    x0 = torch.zeros(2, 2)
    assert q_sample(x0, 0, alphas_cumprod=ABAR).dtype == F64
    assert ddpm_loss(lambda x, t: x, x0, alphas_cumprod=ABAR.float()).dtype == torch.float32
    assert q_sample([[1, 2]], 0, [[0, 0]], alphas_cumprod=[0.25]).tolist() == [[0.5, 1.0]]


def _zero_model(x, t):
    return torch.zeros_like(x)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"t": 20}, ValueError, "t must hold time steps in \\[0, T\\) = \\[0, 20\\)"),
        ({"t": -1}, ValueError, "t must hold time steps"),
        ({"t": [0, 1]}, ValueError, "t must be one time step or a vector of shape \\(N,\\) = \\(3,\\)"),
        ({"t": 1.5}, ValueError, "t must hold integer"),
        ({"noise": torch.zeros(3, 1)}, ValueError, "x0 and noise must have the same shape"),
        ({"noise": torch.full((3, 2), math.nan)}, ValueError, "noise must be finite"),
        ({"alphas_cumprod": torch.ones(4, 5)}, ValueError, "alphas_cumprod must be a 1-D"),
        ({"alphas_cumprod": torch.tensor([0.5, 1.5])}, ValueError, "alphas_cumprod must lie in \\[0, 1\\]"),
        ({"x0": torch.tensor([[math.nan, 0.0]] * 3)}, ValueError, "x0 must be finite"),
        ({"x0": torch.tensor(1.0)}, ValueError, "x0 must have a batch axis"),
        ({"generator": 3}, TypeError, "generator"),
    ],
)
def test_diffusion_refuses_bad_input(kwargs, error, match):
    args = {"x0": torch.zeros(3, 2), "t": 0, "noise": None, "alphas_cumprod": ABAR, "generator": None}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        q_sample(
            args["x0"], args["t"], args["noise"], alphas_cumprod=args["alphas_cumprod"], generator=args["generator"]
        )
    with pytest.raises(error, match=match):
        ddpm_loss(
            _zero_model,
            args["x0"],
            t=args["t"],
            noise=args["noise"],
            alphas_cumprod=args["alphas_cumprod"],
            generator=args["generator"],
        )


def test_ddpm_loss_refuses_a_bad_model():
    with pytest.raises(TypeError, match="model must be callable"):
        ddpm_loss("unet", torch.zeros(2, 2), alphas_cumprod=ABAR)
    with pytest.raises(ValueError, match="model must return predicted noise of shape \\(2, 2\\)"):
        ddpm_loss(lambda x, t: x[:, :1], torch.zeros(2, 2), alphas_cumprod=ABAR)
    with pytest.raises(TypeError, match="model must return a tensor"):
        ddpm_loss(lambda x, t: 0.0, torch.zeros(2, 2), alphas_cumprod=ABAR)
    with pytest.raises(ValueError, match="reduction"):
        ddpm_loss(_zero_model, torch.zeros(2, 2), alphas_cumprod=ABAR, reduction="elementwise")


def test_diffusion_nan_propagates_with_checks_off():
    x0 = torch.tensor([[math.nan, 0.0]])
    with objlib.value_checks(False):
        assert torch.isnan(q_sample(x0, 0, alphas_cumprod=ABAR)).any()
        assert torch.isnan(ddpm_loss(lambda x, t: x, x0, alphas_cumprod=ABAR))
