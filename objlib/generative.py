r"""Generative objectives: likelihood bounds, flows, adversarial games and diffusion (chapter 8).

Four families of objective train a model whose output is a *distribution* over data:

* **Likelihood and its bounds.** :func:`flow_nll` is the exact negative log-likelihood of a
  normalising flow; :func:`negative_elbo` is the variational autoencoder's bound on it and
  :func:`iwae_bound` the tighter importance-weighted bound.
* **Adversarial games.** :func:`gan_discriminator_loss` and :func:`gan_generator_loss` (the
  saturating and the non-saturating form) are the original GAN's; :func:`wgan_critic_loss`,
  :func:`wgan_generator_loss` and :func:`gradient_penalty` are WGAN-GP's.
* **Diffusion.** :func:`linear_beta_schedule` and :func:`cosine_beta_schedule` give the noise
  levels, :func:`q_sample` draws from the forward (noising) process and :func:`ddpm_loss` is
  the noise-prediction objective of denoising diffusion.

Batches are along the **first axis**: one example is ``x[i]``, whatever its own shape (a
vector, an image), and a per-example quantity (a log-likelihood, a penalty) is summed over the
example's own axes. ``reduction`` (``"mean"`` by default) then acts over the examples; each
docstring says what ``"mean"`` averages over. Scores and logits are never probabilities: every
loss is written with ``softplus`` or ``logsumexp`` and stays finite for logits of
:math:`\pm 10^4`.

Value checks (switched off with :func:`objlib.set_value_checks`): a NaN or an infinite entry in
the data is a ``ValueError`` naming the argument. The losses that sum every entry of their
inputs (:func:`negative_elbo`, :func:`iwae_bound`, :func:`flow_nll`, the GAN and WGAN losses)
look at the inputs only when their result is not finite, since every NaN and every infinite
logit or score reaches it (as NaN or inf). :func:`gradient_penalty`, :func:`q_sample` and :func:`ddpm_loss` check their
data first, because a critic or a model may ignore a NaN in its input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F

from . import _checks
from ._checks import (
    as_float_tensor,
    as_index_tensor,
    check_int,
    check_nonempty,
    check_reduction,
    check_same_shape,
    check_scalar,
    check_unit_interval,
    reduce,
)

__all__ = [
    "NegativeELBO",
    "negative_elbo",
    "iwae_bound",
    "flow_nll",
    "gan_discriminator_loss",
    "gan_generator_loss",
    "wgan_critic_loss",
    "wgan_generator_loss",
    "gradient_penalty",
    "linear_beta_schedule",
    "cosine_beta_schedule",
    "q_sample",
    "ddpm_loss",
]

LOG_2PI = math.log(2.0 * math.pi)


# ---------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------


def _batch(x, name: str, *, like: torch.Tensor | None = None) -> torch.Tensor:
    """A float tensor with a non-empty batch axis first."""
    x = as_float_tensor(x, name, like=like)
    if x.dim() == 0:
        raise ValueError(f"{name} must have a batch axis first, got a scalar")
    check_nonempty(x, name)
    return x


def _promote(*tensors: torch.Tensor) -> list[torch.Tensor]:
    """Cast tensors to their common dtype, as torch's type promotion would choose it."""
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return [t.to(dtype) for t in tensors]


def _per_example_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum over every axis but the first: (N, ...) -> (N,)."""
    return x.reshape(x.shape[0], -1).sum(dim=1)


def _per_example_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over every axis but the first: (N, ...) -> (N,)."""
    return x.reshape(x.shape[0], -1).mean(dim=1)


def _finite(x: torch.Tensor, name: str) -> None:
    """No NaN or inf in ``x``: one reduction pass (``aminmax`` carries NaN to its result)."""
    if _checks.value_checks_enabled():
        low, high = torch.aminmax(x.detach())
        if not (math.isfinite(float(low)) and math.isfinite(float(high))):
            raise ValueError(f"{name} must be finite, got NaN or inf entries")


def _checked_result(out: torch.Tensor, *checks: tuple[torch.Tensor, str]) -> torch.Tensor:
    """Check the inputs only when the result is not finite.

    For the losses that sum or average every entry of their inputs, a NaN or an inf anywhere
    reaches the result; so a finite result costs one scalar read, and a non-finite one sends
    every input through :func:`_finite`, which names the culprit. A non-finite result from finite inputs (an
    overflow) is returned as it is.
    """
    if not _checks.value_checks_enabled():
        return out
    value = out.detach()
    if not (math.isfinite(float(value)) if value.dim() == 0 else bool(torch.isfinite(value).all())):
        for x, name in checks:
            _finite(x, name)
    return out


def _softplus(x: torch.Tensor, *, negate: bool = False, reduction: str = "none") -> torch.Tensor:
    """softplus(-x) (``negate``) or softplus(x), reduced: the fused binary cross-entropy kernel.

    ``F.binary_cross_entropy_with_logits(x, 1) = softplus(-x)`` and ``(x, 0) = softplus(x)``,
    computed as ``max(x, 0) - x t + log1p(exp(-|x|))``: exact for every finite ``x``
    (``F.softplus`` turns linear past a threshold).
    """
    target = torch.ones_like(x) if negate else torch.zeros_like(x)
    return F.binary_cross_entropy_with_logits(x, target, reduction=reduction)


def _paired(real_terms, fake_terms, real: torch.Tensor, fake: torch.Tensor, reduction: str, names: tuple[str, str]):
    """Combine the real and the generated batch's terms into one loss.

    ``real_terms(reduction)`` and ``fake_terms(reduction)`` compute each batch's terms.
    ``"mean"`` and ``"sum"`` reduce each batch separately, so the two may differ in size;
    ``"none"`` returns the per-pair sum and therefore needs batches of one shape.
    """
    if reduction == "none":
        check_same_shape(real, fake, *names)
    return real_terms(reduction) + fake_terms(reduction)


def _check_callable(fn, name: str) -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")


def _check_generator(generator) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")


def _check_model_output(out, like: torch.Tensor, name: str, what: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"{name} must return a tensor, got {type(out).__name__}")
    if out.shape != like.shape:
        raise ValueError(f"{name} must return {what} of shape {tuple(like.shape)}, got {tuple(out.shape)}")
    return out


def _broadcast_over_example(per_example: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reshape (N,) to (N, 1, ..., 1) so that it scales each example of ``x``."""
    return per_example.reshape((x.shape[0],) + (1,) * (x.dim() - 1))


# ---------------------------------------------------------------------------------------
# likelihood: the ELBO, the importance-weighted bound and flows
# ---------------------------------------------------------------------------------------


class NegativeELBO(NamedTuple):
    """The negative ELBO and its two parts: ``loss = reconstruction + beta * kl``."""

    loss: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor


def negative_elbo(
    x_logits,
    x,
    mu,
    logvar,
    *,
    likelihood: str = "bernoulli",
    beta: float = 1.0,
    reduction: str = "mean",
) -> NegativeELBO:
    r"""Negative evidence lower bound of a variational autoencoder, with its two parts.

    For an encoder :math:`q(z \mid x) = \mathcal N(\mu, \operatorname{diag} e^{\log\sigma^2})`,
    the prior :math:`p(z) = \mathcal N(0, I)` and a decoder :math:`p(x \mid z)` evaluated at one
    sample :math:`z \sim q(z \mid x)` (whose output is ``x_logits``),

    .. math::

        -\mathrm{ELBO}_\beta(x) = \underbrace{-\log p(x \mid z)}_{\text{reconstruction}}
            + \beta \, \underbrace{\mathrm{KL}\bigl(q(z \mid x) \,\|\, p(z)\bigr)}_{\text{kl}},
        \qquad
        \mathrm{KL} = \tfrac12 \sum_k \bigl(\sigma_k^2 + \mu_k^2 - 1 - \log \sigma_k^2\bigr).

    With :math:`\beta = 1` it bounds the negative log-likelihood from above in expectation over
    :math:`z`: :math:`-\log p(x) \le \mathbb E_q[-\log p(x \mid z)] + \mathrm{KL}`. Likelihoods:

    * ``"bernoulli"``: ``x_logits`` are logits, :math:`-\log p(x \mid z) = \sum_j
      \operatorname{softplus}(\ell_j) - x_j \ell_j` (binary cross-entropy, finite for any logit);
    * ``"gaussian"``: ``x_logits`` is the mean :math:`m` of a unit-variance Gaussian,
      :math:`-\log p(x \mid z) = \sum_j \tfrac12 (x_j - m_j)^2 + \tfrac12 \log 2\pi`, the
      constant kept so that the value is a true bound on :math:`-\log p(x)`.

    Both parts are summed over the data dimensions and the latent dimensions of each example
    and only then reduced over the batch; a per-pixel mean would silently divide the
    reconstruction term, and so reweight the KL term, by the number of pixels.

    Args:
        x_logits: decoder output for each example, shape ``(N, ...)``.
        x: the data, the shape of ``x_logits``; in :math:`[0, 1]` for ``"bernoulli"``.
        mu, logvar: the encoder's means and log variances, one shape ``(N, ...)``.
        likelihood: ``"bernoulli"`` (default) or ``"gaussian"``.
        beta: the weight :math:`\beta \ge 0` of the KL term (Higgins et al. 2017).
        reduction: ``"mean"`` (over the ``N`` examples), ``"sum"`` or ``"none"``, applied to
            ``loss``, ``reconstruction`` and ``kl`` alike.

    Returns:
        :class:`NegativeELBO` ``(loss, reconstruction, kl)``.

    The reconstruction term agrees with ``-torch.distributions.Bernoulli(logits=x_logits)
    .log_prob(x)`` (or ``Normal(x_logits, 1)``) summed per example, and the KL term with
    ``torch.distributions.kl_divergence`` between the two ``Normal`` distributions.

    Kingma and Welling (2014), "Auto-encoding variational Bayes"; the weight :math:`\beta`:
    Higgins et al. (2017), "beta-VAE".

    >>> out = negative_elbo([[0.0, 0.0]], [[1.0, 0.0]], [[0.0]], [[0.0]])
    >>> round(float(out.loss), 4), float(out.kl)  # 2 log 2 and KL(N(0,1) || N(0,1)) = 0
    (1.3863, 0.0)
    """
    check_reduction(reduction)
    if likelihood not in ("bernoulli", "gaussian"):
        raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian', got {likelihood!r}")
    beta = check_scalar(beta, "beta", low=0.0)
    x_logits = _batch(x_logits, "x_logits")
    x = _batch(x, "x", like=x_logits)
    mu = _batch(mu, "mu", like=x_logits)
    logvar = _batch(logvar, "logvar", like=mu)
    check_same_shape(x_logits, x, "x_logits", "x")
    check_same_shape(mu, logvar, "mu", "logvar")
    if mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu must have one row per example of x: x has {x.shape[0]} examples, mu has {mu.shape[0]}")
    if likelihood == "bernoulli":
        check_unit_interval(x, "x")  # NaN fails here too
    inputs = ((x_logits, "x_logits"), (x, "x"), (mu, "mu"), (logvar, "logvar"))
    x_logits, x, mu, logvar = _promote(x_logits, x, mu, logvar)

    kl_terms = torch.exp(logvar) + mu**2 - 1.0 - logvar
    if reduction == "none":
        reconstruction = _per_example_sum(_reconstruction_terms(x_logits, x, likelihood, "none"))
        kl = 0.5 * _per_example_sum(kl_terms)
    else:  # the batch totals directly, without a per-element intermediate (a fused kernel)
        scale = 1.0 / x.shape[0] if reduction == "mean" else 1.0
        reconstruction = scale * _reconstruction_terms(x_logits, x, likelihood, "sum")
        kl = (0.5 * scale) * kl_terms.sum()
    loss = _checked_result(reconstruction + beta * kl, *inputs)
    return NegativeELBO(loss, reconstruction, kl)


def _reconstruction_terms(x_logits: torch.Tensor, x: torch.Tensor, likelihood: str, reduction: str):
    """-log p(x | z) per element (``"none"``) or summed over the batch (``"sum"``)."""
    if likelihood == "bernoulli":
        return F.binary_cross_entropy_with_logits(x_logits, x, reduction=reduction)
    squares = (x - x_logits) ** 2
    if reduction == "none":
        return 0.5 * squares + 0.5 * LOG_2PI
    return 0.5 * squares.sum() + 0.5 * LOG_2PI * x.numel()


def iwae_bound(log_weights, *, reduction: str = "mean") -> torch.Tensor:
    r"""Importance-weighted lower bound on the log-likelihood, from K log importance weights.

    With :math:`z_1, \dots, z_K` drawn independently from :math:`q(z \mid x)` and the log weights
    :math:`\log w_k = \log p(x, z_k) - \log q(z_k \mid x)`,

    .. math::

        \mathcal L_K(x) = \log \frac1K \sum_{k=1}^K w_k
            = \operatorname{logsumexp}_k (\log w_k) - \log K .

    Its expectation is a lower bound on :math:`\log p(x)` that never decreases with :math:`K`,
    equals the ELBO at :math:`K = 1` and tends to :math:`\log p(x)` as :math:`K \to \infty`;
    it is exact for every :math:`K` when :math:`q` is the true posterior (all weights equal
    :math:`p(x)`). This is a bound to *maximise*; train with ``-iwae_bound(...)``. Computed by
    ``logsumexp``, so weights as small as :math:`e^{-10^4}` do not underflow.

    Args:
        log_weights: shape ``(..., K)``: K log importance weights per example along the last
            axis; the leading axes are the batch. ``-inf`` (a zero weight) is allowed.
        reduction: ``"mean"`` (default; over the examples), ``"sum"`` or ``"none"``.

    Agrees with ``log(mean(exp(log_weights)))`` computed directly where that does not
    underflow.

    Burda, Grosse and Salakhutdinov (2016), "Importance weighted autoencoders".

    >>> round(float(iwae_bound([[0.0, math.log(3.0)]])), 4)  # log((1 + 3) / 2) = log 2
    0.6931
    """
    check_reduction(reduction)
    log_weights = as_float_tensor(log_weights, "log_weights")
    if log_weights.dim() == 0:
        raise ValueError("log_weights must hold the K samples of each example along its last axis, got a scalar")
    check_nonempty(log_weights, "log_weights")
    bound = reduce(torch.logsumexp(log_weights, dim=-1) - math.log(log_weights.shape[-1]), reduction)
    # NaN and +inf reach the bound; -inf (a zero weight) is allowed, so check only then
    if _checks.value_checks_enabled() and bool(torch.isnan(bound).any() | (bound == math.inf).any()):
        if not bool((log_weights.detach() < math.inf).all()):
            raise ValueError("log_weights must not hold NaN or +inf entries")
    return bound


def flow_nll(z, log_abs_det_jacobian, *, reduction: str = "mean") -> torch.Tensor:
    r"""Exact negative log-likelihood of a normalising flow with a standard normal base.

    A flow maps data :math:`x` to :math:`z = f(x)` by an invertible map; by the change of
    variables :math:`\log p(x) = \log \mathcal N(f(x); 0, I) + \log \lvert \det J_f(x) \rvert`, so

    .. math::

        -\log p(x) = \tfrac12 \lVert z \rVert^2 + \tfrac D2 \log 2\pi
            - \log \lvert \det J_f(x) \rvert ,

    with :math:`D` the number of entries of one example.

    Args:
        z: the flow's output :math:`f(x)` for each example, shape ``(N, ...)``.
        log_abs_det_jacobian: :math:`\log \lvert \det J_f(x) \rvert` of the map from ``x`` to
            ``z``, shape ``(N,)``.
        reduction: ``"mean"`` (default; over the ``N`` examples, in nats per example),
            ``"sum"`` or ``"none"``.

    Agrees with ``-(Normal(0, 1).log_prob(z).sum(...) + log_abs_det_jacobian)``, and with
    ``torch.distributions.TransformedDistribution``'s ``log_prob`` for an invertible transform.

    Dinh, Sohl-Dickstein and Bengio (2017), "Density estimation using Real NVP";
    Papamakarios et al. (2021), "Normalizing flows for probabilistic modeling and inference".

    >>> round(float(flow_nll([[0.0, 0.0]], [0.0])), 4)  # log 2 pi
    1.8379
    """
    check_reduction(reduction)
    z = _batch(z, "z")
    log_abs_det_jacobian = _batch(log_abs_det_jacobian, "log_abs_det_jacobian", like=z)
    if log_abs_det_jacobian.shape != z.shape[:1]:
        raise ValueError(
            f"log_abs_det_jacobian must have shape (N,) = ({z.shape[0]},), one value per example of z, "
            f"got {tuple(log_abs_det_jacobian.shape)}"
        )
    inputs = ((z, "z"), (log_abs_det_jacobian, "log_abs_det_jacobian"))
    z, log_abs_det_jacobian = _promote(z, log_abs_det_jacobian)
    dim = z[0].numel()
    nll = 0.5 * _per_example_sum(z**2) + 0.5 * dim * LOG_2PI - log_abs_det_jacobian
    return _checked_result(reduce(nll, reduction), *inputs)


# ---------------------------------------------------------------------------------------
# adversarial objectives
# ---------------------------------------------------------------------------------------


def gan_discriminator_loss(real_logits, fake_logits, *, reduction: str = "mean") -> torch.Tensor:
    r"""The GAN discriminator's loss: binary cross-entropy of real against generated samples.

    With :math:`D = \sigma(\ell)` the discriminator's probability that a sample is real,

    .. math::

        L_D = -\mathbb E_{\text{real}} \log D - \mathbb E_{\text{fake}} \log (1 - D)
            = \operatorname{mean} \operatorname{softplus}(-\ell_{\text{real}})
            + \operatorname{mean} \operatorname{softplus}(\ell_{\text{fake}}),

    the negative of Goodfellow et al.'s value function, as a sum of two means. A discriminator
    that cannot tell the two apart (:math:`D = 1/2`) scores :math:`2 \log 2`; against the
    optimal discriminator the generator's value is :math:`2 \log 2 - 2\,\mathrm{JS}`.

    Args:
        real_logits: logits of the data, shape ``(N, ...)``.
        fake_logits: logits of generated samples, shape ``(M, ...)``.
        reduction: ``"mean"`` (default): the mean over the real batch plus the mean over the
            generated batch, so the two may differ in size; ``"sum"``: the two sums;
            ``"none"``: the per-pair terms (the batches must then have one shape).

    Agrees with ``F.binary_cross_entropy_with_logits(real, ones) +
    F.binary_cross_entropy_with_logits(fake, zeros)``.

    Goodfellow et al. (2014), "Generative adversarial nets".

    >>> round(float(gan_discriminator_loss([0.0], [0.0])), 4)  # D = 1/2: 2 log 2
    1.3863
    """
    check_reduction(reduction)
    real, fake = _promote(_batch(real_logits, "real_logits"), _batch(fake_logits, "fake_logits"))
    loss = _paired(
        lambda r: _softplus(real, negate=True, reduction=r),
        lambda r: _softplus(fake, reduction=r),
        real,
        fake,
        reduction,
        ("real_logits", "fake_logits"),
    )
    return _checked_result(loss, (real, "real_logits"), (fake, "fake_logits"))


def gan_generator_loss(fake_logits, *, saturating: bool = False, reduction: str = "mean") -> torch.Tensor:
    r"""The GAN generator's loss, in the non-saturating (default) or the saturating form.

    .. math::

        \text{non-saturating: } -\log D(G(z)) = \operatorname{softplus}(-\ell), \qquad
        \text{saturating: } \log\bigl(1 - D(G(z))\bigr) = -\operatorname{softplus}(\ell).

    The saturating form is the minimax game's own term; its derivative in the logit,
    :math:`-\sigma(\ell)`, vanishes when the discriminator confidently rejects the samples
    (:math:`\ell \to -\infty`), which is the situation early in training. The non-saturating
    form has the same fixed point and the derivative :math:`-(1 - \sigma(\ell)) \approx -1`
    there (Goodfellow et al. 2014, section 3).

    Args:
        fake_logits: the discriminator's logits of generated samples, shape ``(N, ...)``.
        saturating: use :math:`\log(1 - D)` instead of :math:`-\log D`.
        reduction: ``"mean"`` (default; over the samples), ``"sum"`` or ``"none"``.

    Agrees with ``F.binary_cross_entropy_with_logits(fake, ones)`` (non-saturating) and with
    ``-F.binary_cross_entropy_with_logits(fake, zeros)`` (saturating).

    Goodfellow et al. (2014), "Generative adversarial nets".

    >>> round(float(gan_generator_loss([0.0])), 4), round(float(gan_generator_loss([0.0], saturating=True)), 4)
    (0.6931, -0.6931)
    """
    check_reduction(reduction)
    if not isinstance(saturating, bool):
        raise TypeError(f"saturating must be a bool, got {type(saturating).__name__}")
    fake = _batch(fake_logits, "fake_logits")
    loss = -_softplus(fake, reduction=reduction) if saturating else _softplus(fake, negate=True, reduction=reduction)
    return _checked_result(loss, (fake, "fake_logits"))


def wgan_critic_loss(real_scores, fake_scores, *, reduction: str = "mean") -> torch.Tensor:
    r"""The Wasserstein GAN critic's loss: generated scores minus real scores.

    .. math::

        L_C = \mathbb E_{\text{fake}} f(\tilde x) - \mathbb E_{\text{real}} f(x).

    By Kantorovich-Rubinstein duality, :math:`W_1 = \sup_{\lVert f \rVert_L \le 1}
    \mathbb E_{\text{real}} f - \mathbb E_{\text{fake}} f`, so a critic kept (about)
    1-Lipschitz, e.g. by :func:`gradient_penalty`, estimates :math:`W_1` by :math:`-L_C` at
    its optimum. The critic scores real samples high; its scores are unbounded reals, not
    logits.

    Args:
        real_scores: critic scores of the data, shape ``(N, ...)``.
        fake_scores: critic scores of generated samples, shape ``(M, ...)``.
        reduction: ``"mean"`` (default): the mean over the generated batch minus the mean
            over the real batch; ``"sum"``: the difference of the sums; ``"none"``: the
            per-pair differences (the batches must then have one shape).

    Arjovsky, Chintala and Bottou (2017), "Wasserstein generative adversarial networks".

    >>> float(wgan_critic_loss([2.0, 4.0], [1.0]))  # 1 - 3
    -2.0
    """
    check_reduction(reduction)
    real, fake = _promote(_batch(real_scores, "real_scores"), _batch(fake_scores, "fake_scores"))
    loss = _paired(
        lambda r: -reduce(real, r), lambda r: reduce(fake, r), real, fake, reduction, ("real_scores", "fake_scores")
    )
    return _checked_result(loss, (real, "real_scores"), (fake, "fake_scores"))


def wgan_generator_loss(fake_scores, *, reduction: str = "mean") -> torch.Tensor:
    r"""The Wasserstein GAN generator's loss: minus the critic's scores of its samples.

    .. math::

        L_G = -\mathbb E_{z} f(G(z)),

    the part of :func:`wgan_critic_loss` that depends on the generator, with the sign flipped.

    Args:
        fake_scores: critic scores of generated samples, shape ``(N, ...)``.
        reduction: ``"mean"`` (default; over the samples), ``"sum"`` or ``"none"``.

    Arjovsky, Chintala and Bottou (2017), "Wasserstein generative adversarial networks".

    >>> float(wgan_generator_loss([1.0, 3.0]))
    -2.0
    """
    check_reduction(reduction)
    fake = _batch(fake_scores, "fake_scores")
    return _checked_result(reduce(-fake, reduction), (fake, "fake_scores"))


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real,
    fake,
    *,
    weight: float = 10.0,
    generator: torch.Generator | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""WGAN-GP's gradient penalty: the critic's gradient norm pulled towards 1 between samples.

    For each pair, a point on the segment between a real and a generated sample,
    :math:`\hat x = \alpha x + (1 - \alpha) \tilde x` with one :math:`\alpha \sim U[0, 1]` per
    pair, and

    .. math::

        \mathrm{GP} = \lambda \, \bigl( \lVert \nabla_{\hat x} f(\hat x) \rVert_2 - 1 \bigr)^2,

    the norm taken over all the non-batch dimensions of one example. The optimal critic of the
    Wasserstein distance has gradient norm 1 on such segments, so this soft constraint replaces
    weight clipping. The gradient is taken with ``create_graph=True``, so the penalty is
    differentiable in the critic's parameters (and in ``real`` and ``fake``).

    Args:
        critic: a function (e.g. an ``nn.Module``) from a batch ``(N, ...)`` to scores of
            shape ``(N,)`` or ``(N, 1)``, each score depending on its own example only.
        real, fake: batches of one shape ``(N, ...)``. ``fake`` is usually detached from the
            generator for the critic's update.
        weight: :math:`\lambda \ge 0` (10 in Gulrajani et al.).
        generator: the ``torch.Generator`` that draws ``alpha`` as
            ``torch.rand(N, 1, ..., 1, generator=generator)``; ``None`` uses the global one.
        reduction: ``"mean"`` (default; over the ``N`` pairs), ``"sum"`` or ``"none"``.

    Agrees with the direct formulation ``torch.autograd.grad(critic(x_hat).sum(), x_hat,
    create_graph=True)`` on the same ``alpha``.

    Gulrajani et al. (2017), "Improved training of Wasserstein GANs".

    >>> import torch
    >>> linear = lambda x: x @ torch.tensor([3.0, 4.0])  # gradient norm 5 everywhere
    >>> float(gradient_penalty(linear, torch.zeros(2, 2), torch.ones(2, 2)))  # 10 (5 - 1)^2
    160.0
    """
    check_reduction(reduction)
    _check_callable(critic, "critic")
    _check_generator(generator)
    weight = check_scalar(weight, "weight", low=0.0)
    real = _batch(real, "real")
    fake = _batch(fake, "fake", like=real)
    check_same_shape(real, fake, "real", "fake")
    # checked up front: a NaN need not reach the penalty (a linear critic ignores its input)
    _finite(real, "real")
    _finite(fake, "fake")
    real, fake = _promote(real, fake)

    shape = (real.shape[0],) + (1,) * (real.dim() - 1)  # one alpha per pair
    alpha = torch.rand(shape, generator=generator, dtype=real.dtype, device=real.device)
    x_hat = alpha * real + (1 - alpha) * fake
    if not x_hat.requires_grad:
        x_hat.requires_grad_(True)
    scores = critic(x_hat)
    if not isinstance(scores, torch.Tensor) or scores.shape not in ((real.shape[0],), (real.shape[0], 1)):
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(f"critic must return scores of shape (N,) or (N, 1) with N = {real.shape[0]}, got {shape}")
    if scores.requires_grad:
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True, allow_unused=True)
    else:
        grad = None
    if grad is None:  # the scores do not depend on the input: a zero gradient
        grad = torch.zeros_like(x_hat)
    norm = torch.linalg.vector_norm(grad.reshape(grad.shape[0], -1), dim=1)
    return reduce(weight * (norm - 1.0) ** 2, reduction)


# ---------------------------------------------------------------------------------------
# diffusion
# ---------------------------------------------------------------------------------------


def _check_steps(T) -> int:
    return check_int(T, "T", low=1)


def linear_beta_schedule(T: int, *, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    r"""DDPM's linear noise schedule: :math:`\beta_t` evenly spaced from ``beta_start`` to ``beta_end``.

    .. math::

        \beta_t = \beta_{\text{start}} + \frac{t}{T - 1} (\beta_{\text{end}} - \beta_{\text{start}}),
        \qquad t = 0, \dots, T - 1,

    (0-indexed: ``betas[0] = beta_start``, ``betas[T - 1] = beta_end``). The forward process
    adds noise by :math:`x_t = \sqrt{1 - \beta_t}\, x_{t-1} + \sqrt{\beta_t}\, \varepsilon`, so
    :math:`\bar\alpha_t = \prod_{s \le t} (1 - \beta_s)` = ``torch.cumprod(1 - betas, 0)`` is
    what :func:`q_sample` and :func:`ddpm_loss` take. The defaults are Ho et al.'s for
    :math:`T = 1000`; with fewer steps, larger values keep :math:`\bar\alpha_{T-1}` near 0.

    Args:
        T: the number of steps, at least 1 (``T = 1`` gives ``[beta_start]``).
        beta_start, beta_end: :math:`0 < \beta_{\text{start}} \le \beta_{\text{end}} < 1`.

    Returns the ``T`` betas in the default dtype (computed in float64).

    Ho, Jain and Abbeel (2020), "Denoising diffusion probabilistic models".

    >>> linear_beta_schedule(3, beta_start=0.1, beta_end=0.3)
    tensor([0.1000, 0.2000, 0.3000])
    """
    T = _check_steps(T)
    beta_start = check_scalar(beta_start, "beta_start", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    beta_end = check_scalar(beta_end, "beta_end", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    if beta_end < beta_start:
        raise ValueError(f"beta_end must be at least beta_start = {beta_start}, got {beta_end}")
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float64).to(torch.get_default_dtype())


def cosine_beta_schedule(T: int, *, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    r"""Nichol and Dhariwal's cosine noise schedule, defined through :math:`\bar\alpha`.

    .. math::

        \bar\alpha(u) = \frac{g(u)}{g(0)}, \quad
        g(u) = \cos^2\Bigl( \frac{u / T + s}{1 + s} \cdot \frac\pi2 \Bigr), \qquad
        \beta_t = \min\Bigl( 1 - \frac{\bar\alpha(t + 1)}{\bar\alpha(t)},\ \beta_{\max} \Bigr),

    for :math:`t = 0, \dots, T - 1`, so that (where no clipping happens)
    ``torch.cumprod(1 - betas, 0)[t]`` :math:`= \bar\alpha(t + 1)`: the signal fades slowly at both
    ends, unlike the linear schedule, which destroys it early. The small offset :math:`s` keeps
    the first steps from being too small; :math:`\beta_{\max}` clips the last steps, where
    :math:`\bar\alpha \to 0` would give :math:`\beta = 1`.

    Args:
        T: the number of steps, at least 1.
        s: the offset :math:`s \ge 0` (0.008 in the paper).
        max_beta: the clip :math:`0 < \beta_{\max} \le 1` (0.999 in the paper).

    Returns the ``T`` betas in the default dtype (computed in float64).

    Nichol and Dhariwal (2021), "Improved denoising diffusion probabilistic models".

    >>> betas = cosine_beta_schedule(1000)
    >>> round(float(betas[0]), 6), round(float(betas[-1]), 6)  # tiny first step, clipped last one
    (4.1e-05, 0.999)
    """
    T = _check_steps(T)
    s = check_scalar(s, "s", low=0.0)
    max_beta = check_scalar(max_beta, "max_beta", low=0.0, high=1.0, low_inclusive=False)
    u = torch.arange(T + 1, dtype=torch.float64) / T
    g = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    alphas_cumprod = g / g[0]
    betas = (1 - alphas_cumprod[1:] / alphas_cumprod[:-1]).clamp(max=max_beta)
    return betas.to(torch.get_default_dtype())


def _diffusion_inputs(x0, alphas_cumprod):
    x0 = _batch(x0, "x0")
    alphas_cumprod = _batch(alphas_cumprod, "alphas_cumprod", like=x0)
    if alphas_cumprod.dim() != 1:
        raise ValueError(f"alphas_cumprod must be a 1-D vector of T values, got shape {tuple(alphas_cumprod.shape)}")
    _finite(x0, "x0")  # up front: a model may ignore a NaN in x_t
    check_unit_interval(alphas_cumprod, "alphas_cumprod")
    return x0, alphas_cumprod


def _time_steps(t, n: int, num_steps: int, device) -> torch.Tensor:
    """Integer time steps of shape (N,) in [0, T); a single step is used for every example."""
    t = as_index_tensor(t, "t").to(device)
    if t.dim() == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"t must be one time step or a vector of shape (N,) = ({n},), got {tuple(t.shape)}")
    if not _checks.value_checks_enabled():
        return t
    low, high = (int(v) for v in torch.aminmax(t))
    if low < 0 or high >= num_steps:
        raise ValueError(f"t must hold time steps in [0, T) = [0, {num_steps}), got values in [{low}, {high}]")
    return t


def _noise(noise, x0: torch.Tensor, generator, *, check: bool = True) -> torch.Tensor:
    if noise is None:
        return torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    noise = as_float_tensor(noise, "noise", like=x0)
    check_same_shape(x0, noise, "x0", "noise")
    if check:
        _finite(noise, "noise")
    return noise


def _noised(x0, t, noise, alphas_cumprod) -> torch.Tensor:
    x0, noise, alphas_cumprod = _promote(x0, noise, alphas_cumprod)
    abar = _broadcast_over_example(alphas_cumprod[t], x0)
    return torch.sqrt(abar) * x0 + torch.sqrt(1 - abar) * noise


def q_sample(x0, t, noise=None, *, alphas_cumprod, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Draw :math:`x_t` from the forward (noising) process of a diffusion model, in one step.

    .. math::

        x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon,
        \qquad \varepsilon \sim \mathcal N(0, I),

    the closed form of :math:`t + 1` Gaussian noising steps, with
    :math:`\bar\alpha_t = \prod_{s \le t} (1 - \beta_s)` (0-indexed, as the schedules here).

    Args:
        x0: clean data, shape ``(N, ...)``.
        t: integer time steps in ``[0, T)``: one for every example, shape ``(N,)``, or one
            number for all.
        noise: the :math:`\varepsilon`, the shape of ``x0``; ``None`` draws it with
            ``torch.randn(x0.shape, generator=generator)``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``, values in :math:`[0, 1]`.
        generator: the ``torch.Generator`` for the noise (``None``: the global one).

    Returns :math:`x_t`, the shape of ``x0``, differentiable in ``x0``, ``noise`` and
    ``alphas_cumprod``.

    Ho, Jain and Abbeel (2020), "Denoising diffusion probabilistic models"; Sohl-Dickstein et
    al. (2015), "Deep unsupervised learning using nonequilibrium thermodynamics".

    >>> q_sample([[2.0]], 0, [[1.0]], alphas_cumprod=[0.64])  # 0.8 * 2 + 0.6 * 1
    tensor([[2.2000]])
    """
    _check_generator(generator)
    x0, alphas_cumprod = _diffusion_inputs(x0, alphas_cumprod)
    t = _time_steps(t, x0.shape[0], alphas_cumprod.shape[0], x0.device)
    noise = _noise(noise, x0, generator)
    return _noised(x0, t, noise, alphas_cumprod)


def ddpm_loss(
    model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x0,
    *,
    alphas_cumprod,
    t=None,
    noise=None,
    generator: torch.Generator | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""The denoising diffusion objective: predict the noise that :func:`q_sample` added.

    .. math::

        L = \mathbb E_{t, x_0, \varepsilon} \bigl\lVert \varepsilon
            - \varepsilon_\theta\bigl(\sqrt{\bar\alpha_t}\, x_0
            + \sqrt{1 - \bar\alpha_t}\, \varepsilon,\ t\bigr) \bigr\rVert^2,

    Ho et al.'s simplified objective. Its minimiser is
    :math:`\varepsilon^\star(x_t, t) = \mathbb E[\varepsilon \mid x_t]
    = -\sqrt{1 - \bar\alpha_t}\, \nabla \log q_t(x_t)`, a scaled score of the noised data
    distribution: the objective is denoising score matching at every noise level
    (Vincent 2011; Song et al. 2021).

    Args:
        model: called as ``model(x_t, t)`` with ``x_t`` of the shape of ``x0`` and ``t`` an
            int64 tensor of shape ``(N,)``; returns the predicted noise, the shape of ``x0``.
        x0: clean data, shape ``(N, ...)``.
        alphas_cumprod: :math:`\bar\alpha`, shape ``(T,)``, values in :math:`[0, 1]`.
        t: time steps, shape ``(N,)`` or one number; ``None`` draws one per example uniformly
            from ``[0, T)`` with ``torch.randint(T, (N,), generator=generator)``.
        noise: the :math:`\varepsilon`; ``None`` draws it with ``torch.randn`` from
            ``generator``, after ``t``.
        generator: the ``torch.Generator`` for ``t`` and the noise (``None``: the global one).
        reduction: ``"mean"`` (default): the mean squared error over every element of every
            example; ``"none"``: each example's mean over its elements, shape ``(N,)``;
            ``"sum"``: the sum of those.

    Ho, Jain and Abbeel (2020), "Denoising diffusion probabilistic models".

    >>> import torch
    >>> x0, eps = torch.tensor([[2.0]]), torch.tensor([[1.0]])
    >>> float(ddpm_loss(lambda x, t: torch.zeros_like(x), x0, alphas_cumprod=[0.64], noise=eps))
    1.0
    """
    check_reduction(reduction)
    _check_callable(model, "model")
    _check_generator(generator)
    x0, alphas_cumprod = _diffusion_inputs(x0, alphas_cumprod)
    num_steps = alphas_cumprod.shape[0]
    if t is None:  # drawn in range: nothing to check
        t = torch.randint(num_steps, (x0.shape[0],), generator=generator, device=x0.device)
    else:
        t = _time_steps(t, x0.shape[0], num_steps, x0.device)
    noise = _noise(noise, x0, generator, check=False)  # a NaN in it reaches the loss: checked there
    x_t = _noised(x0, t, noise, alphas_cumprod)
    predicted = _check_model_output(model(x_t, t), x0, "model", "predicted noise")
    if reduction == "none":
        loss = _per_example_mean((predicted - noise) ** 2)
    else:  # every example has the same number of elements: the fused kernel's mean or sum
        loss = F.mse_loss(predicted, noise, reduction=reduction)
        if reduction == "sum":
            loss = loss / x0[0].numel()
    return _checked_result(loss, (noise, "noise"))
