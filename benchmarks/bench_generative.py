"""Speed of objlib.generative against the code a reader would otherwise write, forward + backward.

* ``gradient_penalty``: against the direct ``torch.autograd.grad`` formulation of Gulrajani et
  al.'s Algorithm 1 (interpolate, gradient with ``create_graph=True``, norm, squared gap),
  with the same ``alpha`` drawn from a generator seeded alike, on an MLP critic (64 -> 256 ->
  256 -> 1, float32) and a batch of 256. The backward pass is the double backward that trains
  the critic.
* ``negative_elbo``: against ``F.binary_cross_entropy_with_logits(..., reduction="sum")`` plus
  the closed-form KL, divided by the batch size, on MNIST-sized data (512 x 784, latent 32).
  The call takes about a millisecond, and objlib adds one pass the plain formula does not make:
  the check that ``x`` lies in [0, 1] (``torch.aminmax``, 0.07 ms on one thread, but 0.3 ms on
  two on the machine these numbers come from, where a 400k-element reduction is slower with two
  threads than with one), hence the target of 1.3.
* ``gan_discriminator_loss``: against two ``F.binary_cross_entropy_with_logits`` calls,
  4096 logits each.
* ``ddpm_loss``: against ``q_sample`` written out and ``F.mse_loss``, with the same ``t`` and
  noise, on CIFAR-sized images (128 x 3 x 32 x 32, T = 1000) and a 1x1 convolution as the
  model, so that the loss's own work (noising, input checks, squared error) is what is timed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from harness import Case

from objlib.generative import ddpm_loss, gan_discriminator_loss, gradient_penalty, negative_elbo

N_GP, D_GP, HIDDEN = 256, 64, 256


def _critic():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(D_GP, HIDDEN),
        torch.nn.Tanh(),
        torch.nn.Linear(HIDDEN, HIDDEN),
        torch.nn.Tanh(),
        torch.nn.Linear(HIDDEN, 1),
    )


def _gp_inputs():
    g = torch.Generator().manual_seed(1)
    return _critic(), torch.randn(N_GP, D_GP, generator=g), torch.randn(N_GP, D_GP, generator=g)


def _objlib_gp(critic, real, fake):
    return gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(2))


def _direct_gp(critic, real, fake):
    alpha = torch.rand(real.shape[0], 1, generator=torch.Generator().manual_seed(2))
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return 10.0 * ((grad.norm(2, dim=1) - 1) ** 2).mean()


def _elbo_inputs():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(512, 784, generator=g).requires_grad_()
    x = (torch.rand(512, 784, generator=g) < 0.3).float()
    mu = torch.randn(512, 32, generator=g).requires_grad_()
    logvar = (0.1 * torch.randn(512, 32, generator=g)).requires_grad_()
    return logits, x, mu, logvar


def _plain_elbo(logits, x, mu, logvar):
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (reconstruction + kl) / x.shape[0]


def _gan_inputs():
    g = torch.Generator().manual_seed(4)
    return torch.randn(4096, generator=g).requires_grad_(), torch.randn(4096, generator=g).requires_grad_()


def _plain_gan(real, fake):
    return F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(
        fake, torch.zeros_like(fake)
    )


def _ddpm_inputs():
    g = torch.Generator().manual_seed(5)
    x0 = torch.randn(128, 3, 32, 32, generator=g)
    weight = (0.1 * torch.randn(3, 3, 1, 1, generator=g)).requires_grad_()
    alphas_cumprod = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000), 0)
    t = torch.randint(1000, (128,), generator=g)
    noise = torch.randn(128, 3, 32, 32, generator=g)
    return weight, x0, alphas_cumprod, t, noise


def _objlib_ddpm(weight, x0, alphas_cumprod, t, noise):
    return ddpm_loss(lambda x, t: F.conv2d(x, weight), x0, alphas_cumprod=alphas_cumprod, t=t, noise=noise)


def _plain_ddpm(weight, x0, alphas_cumprod, t, noise):
    abar = alphas_cumprod[t].view(-1, 1, 1, 1)
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * noise
    return F.mse_loss(F.conv2d(x_t, weight), noise)


CASES = [
    Case(
        name=f"generative.gradient_penalty MLP {D_GP}-{HIDDEN}-{HIDDEN}-1 N={N_GP}",
        make_inputs=_gp_inputs,
        ours=_objlib_gp,
        peer=_direct_gp,
        peer_name="torch.autograd.grad, written out",
        target=1.1,
    ),
    Case(
        name="generative.negative_elbo 512x784, latent 32",
        make_inputs=_elbo_inputs,
        ours=lambda logits, x, mu, logvar: negative_elbo(logits, x, mu, logvar).loss,
        peer=_plain_elbo,
        peer_name="F.bce_with_logits(sum) + KL",
        target=1.3,
    ),
    Case(
        name="generative.gan_discriminator_loss 2x4096",
        make_inputs=_gan_inputs,
        ours=lambda real, fake: gan_discriminator_loss(real, fake),
        peer=_plain_gan,
        peer_name="2 x F.bce_with_logits",
        target=1.5,
    ),
    Case(
        name="generative.ddpm_loss 128x3x32x32, T=1000",
        make_inputs=_ddpm_inputs,
        ours=_objlib_ddpm,
        peer=_plain_ddpm,
        peer_name="q_sample written out + F.mse_loss",
        target=1.2,
    ),
]
