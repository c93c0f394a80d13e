r"""Preference fine-tuning objectives: reward models, RLHF's KL penalty, DPO, IPO and KTO (chapter 10).

Everything here works on **sequence-level log-probabilities**: the log-probability of a
whole response, the sum of its tokens' log-probabilities, which :func:`sequence_log_probs`
computes from a model's logits. Every loss takes its output, one value per example, and
``reduction`` (``"mean"`` by default) acts over the examples (pairs for the paired losses,
single responses for :func:`kto_loss`).

Notation: for a prompt :math:`x` and responses :math:`y_w` (chosen, preferred) and
:math:`y_l` (rejected), a policy :math:`\pi_\theta` and a frozen reference policy
:math:`\pi_\mathrm{ref}`, the *log-ratio margin* of a pair is

.. math::

    \Delta = \bigl(\log\pi_\theta(y_w) - \log\pi_\mathrm{ref}(y_w)\bigr)
           - \bigl(\log\pi_\theta(y_l) - \log\pi_\mathrm{ref}(y_l)\bigr).

Conventions of TRL (``huggingface/trl``), the library most readers will compare with:

* TRL's DPO ``"sigmoid"`` loss and its ``label_smoothing`` are :func:`dpo_loss`; its rewards
  ``beta * (policy_logps - ref_logps)`` are :func:`implicit_reward`.
* TRL's ``"ipo"`` loss averages the log-probabilities over each response's tokens before
  forming :math:`\Delta`; :func:`ipo_loss` takes whatever log-probabilities it is given, and
  the contract of this library passes summed ones (divide by the token counts to get TRL's).
* TRL's KTO estimates the reference point from mismatched (prompt, response) pairs, detaches
  it and clamps it at 0, as :func:`kto_loss` does.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from . import _checks
from ._checks import (
    as_float_tensor,
    as_index_tensor,
    check_ndim,
    check_nonempty,
    check_reduction,
    check_scalar,
    raise_on_nan,
    reduce,
)

__all__ = [
    "sequence_log_probs",
    "bradley_terry_loss",
    "kl_penalized_reward",
    "dpo_loss",
    "ipo_loss",
    "kto_loss",
    "implicit_reward",
]


# ---------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------


def _all_alike(values: list) -> bool:
    """Whether every value is a non-empty float tensor of the first one's dtype, shape and device."""
    first = values[0]
    if not (isinstance(first, torch.Tensor) and first.is_floating_point() and first.numel()):
        return False
    dtype, shape, device = first.dtype, first.shape, first.device  # read once: each read costs
    for t in values[1:]:
        if not (isinstance(t, torch.Tensor) and t.dtype == dtype and t.shape == shape and t.device == device):
            return False
    return True


def _float_tensors(**named) -> list[torch.Tensor]:
    """Float tensors of one shape, promoted to one dtype as torch promotes them.

    The first argument sets the expected shape; the others must match it exactly (never
    broadcast). An empty first argument is refused: a loss needs at least one example.
    """
    values = list(named.values())
    if _all_alike(values):
        return values  # the common case, and the cheap one: nothing to convert, promote or refuse
    names = list(named)
    tensors = [as_float_tensor(named[names[0]], names[0])]
    for name in names[1:]:
        tensors.append(as_float_tensor(named[name], name, like=tensors[0]))
    first = tensors[0]
    dtype = first.dtype
    for name, t in zip(names[1:], tensors[1:], strict=True):
        if t.shape != first.shape:
            raise ValueError(
                f"{names[0]} and {name} must have the same shape (no broadcasting), "
                f"got {names[0]}: {tuple(first.shape)} and {name}: {tuple(t.shape)}"
            )
        if t.dtype != dtype:
            dtype = torch.promote_types(dtype, t.dtype)
    check_nonempty(first, names[0])
    return [t if t.dtype == dtype else t.to(dtype) for t in tensors]


def _positive(value, name: str) -> float:
    """A hyper-parameter in (0, inf]; plain positive floats skip the general check (it costs microseconds)."""
    if type(value) is float and value > 0.0:
        return value
    return check_scalar(value, name, low=0.0, low_inclusive=False)


def _tensor_or_none(x) -> torch.Tensor | None:
    return x if isinstance(x, torch.Tensor) else None


def _check_binary(x: torch.Tensor, name: str) -> torch.Tensor:
    """A bool tensor from bool or 0/1 numbers; anything else is refused (value check)."""
    if x.dtype == torch.bool:
        return x
    if _checks.value_checks_enabled() and not bool(((x == 0) | (x == 1)).all()):
        raise ValueError(f"{name} must be boolean or hold only 0 and 1")
    return x != 0


# Rows of logits per logsumexp call in the forward pass: bounds its temporary to about
# 2**22 elements (16 MiB in float32) instead of one (B, T, V) copy.
_CHUNK_ELEMENTS = 2**22


class _SequenceLogProbs(torch.autograd.Function):
    """sum_t mask_t (z_{t, y_t} - logsumexp_v z_{t, v}), with a one-tensor backward.

    Forward saves the logits (a reference, not a copy), the (B, T) log-normalisers, the
    tokens and the mask. Backward builds the gradient in a single (B, T, V) tensor:
    d/dz_{t, v} = g_t (1[v = y_t] - softmax(z_t)_v), g_t = grad_out * mask_t, as
    ``softmax * (-g)`` and then ``+ g`` at the target ids, all in place. Autograd through
    the formula, like ``F.cross_entropy``, holds three (B, T, V) tensors at its peak.
    First order only (no double backward).
    """

    @staticmethod
    def forward(ctx, logits, tokens, mask):
        flat = logits.reshape(-1, logits.shape[-1]) if logits.is_contiguous() else None
        if flat is None:  # a slice such as logits[:, :-1]: chunk over the batch, no copy
            rows = max(1, _CHUNK_ELEMENTS // max(1, logits.shape[1] * logits.shape[2]))
            parts = [torch.logsumexp(logits[i : i + rows], dim=-1) for i in range(0, logits.shape[0], rows)]
        else:
            rows = max(1, _CHUNK_ELEMENTS // max(1, logits.shape[-1]))
            parts = [torch.logsumexp(flat[i : i + rows], dim=-1) for i in range(0, flat.shape[0], rows)]
        log_normaliser = torch.cat(parts).reshape(logits.shape[:2])
        token_log_probs = logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) - log_normaliser
        ctx.save_for_backward(logits, tokens, mask, log_normaliser)
        # where, not a product with the mask: a padded position's -inf or NaN must not leak in
        return torch.where(mask, token_log_probs, token_log_probs.new_zeros(())).sum(dim=-1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        logits, tokens, mask, log_normaliser = ctx.saved_tensors
        g = torch.where(mask, grad_out.unsqueeze(-1), grad_out.new_zeros(())).unsqueeze(-1)
        grad = torch.sub(logits, log_normaliser.unsqueeze(-1)).exp_()  # softmax: the one (B, T, V) tensor
        grad.mul_(-g)
        grad.scatter_add_(-1, tokens.unsqueeze(-1), g)
        return grad, None, None


def _pair_tensors(pc, pr, rc, rr) -> list[torch.Tensor]:
    """The four log-probabilities of the paired losses, converted, of one shape and dtype."""
    return _float_tensors(policy_chosen_logps=pc, policy_rejected_logps=pr, ref_chosen_logps=rc, ref_rejected_logps=rr)


def _raise_on_nan_pairs(loss, pc, pr, rc, rr) -> torch.Tensor:
    """:func:`_checks.raise_on_nan` for the paired losses, naming their inputs."""
    return raise_on_nan(
        loss, policy_chosen_logps=pc, policy_rejected_logps=pr, ref_chosen_logps=rc, ref_rejected_logps=rr
    )


# ---------------------------------------------------------------------------------------
# sequence log-probabilities
# ---------------------------------------------------------------------------------------


def sequence_log_probs(logits, tokens, mask) -> torch.Tensor:
    r"""Summed log-probability of each sequence's tokens where ``mask`` is True.

    .. math::

        \log \pi(y) = \sum_{t\,:\,m_t = 1} \log \operatorname{softmax}(z_t)_{y_t}
        = \sum_{t\,:\,m_t = 1} \Bigl( z_{t, y_t} - \log \sum_{v} e^{z_{t, v}} \Bigr)

    The chain rule of probability: an autoregressive model's probability of a response is
    the product of its next-token probabilities (as in Ziegler et al. 2019 and Rafailov et
    al. 2023). The mask leaves out the prompt and the padding; a masked-out position
    never changes the result, whatever its logits and token hold (a padding id such as
    ``-100`` is fine there).

    There is **no shift inside**: ``logits[:, t]`` scores ``tokens[:, t]``. A causal
    language model's logits at position ``t`` predict token ``t + 1``, so pass
    ``logits[:, :-1]``, ``tokens[:, 1:]`` and ``mask[:, 1:]``.

    Memory: it holds no (B, T, V) tensor beyond the gradient it returns. The forward pass
    computes the log-normaliser with ``torch.logsumexp`` over chunks of rows and gathers the
    target logits, saving only the logits themselves (a reference) and (B, T) tensors; the
    backward pass builds the gradient in place in one (B, T, V) tensor. ``F.cross_entropy``
    saves its (B, T, V) log-softmax and holds three such tensors at the peak of its
    backward pass (``benchmarks/bench_preference.py`` measures both). First order only: no
    double backward.

    Args:
        logits: (B, T, V) real logits (a slice such as ``logits[:, :-1]`` is fine).
        tokens: (B, T) integer token ids, in :math:`[0, V)` where ``mask`` is True.
        mask: (B, T), bool or 0/1: True for the response tokens that count.

    Returns:
        (B,) summed log-probabilities, in the dtype of ``logits``, differentiable in
        ``logits``. A sequence with no True position gets 0 (the empty product is 1).

    With value checks on, NaN or +inf logits are refused (anywhere); with them off a NaN at
    a counted position propagates to that sequence's value.

    >>> logits = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [5.0, -5.0]]])
    >>> round(float(sequence_log_probs(logits, [[0, 1, 0]], [[True, True, False]])), 6)
    -2.006409
    >>> round(math.log(1 / 2) + math.log(1 / (1 + math.e)), 6)  # the same, by hand
    -2.006409
    """
    logits = as_float_tensor(logits, "logits")
    check_ndim(logits, "logits", 3)
    check_nonempty(logits, "logits")
    tokens = as_index_tensor(tokens, "tokens")
    mask = _checks.as_tensor(mask, "mask")
    for name, t in (("tokens", tokens), ("mask", mask)):
        if t.shape != logits.shape[:2]:
            raise ValueError(
                f"{name} must have shape (B, T) = {tuple(logits.shape[:2])} for logits of shape "
                f"{tuple(logits.shape)}, got {tuple(t.shape)}"
            )
    mask = _check_binary(mask, "mask").to(logits.device)
    tokens = tokens.to(logits.device)
    if _checks.value_checks_enabled():
        # One reduction pass with no (B, T, V) temporary: the sum is NaN or +inf only if some
        # logit is NaN or +inf (or float32 overflowed, which the exact test below clears).
        total = float(logits.detach().sum())
        if not total < math.inf and bool((~(logits.detach() < math.inf)).any()):
            raise ValueError("logits must be finite or -inf, got NaN or +inf entries")
        counted = tokens[mask]
        vocab = logits.shape[-1]
        if counted.numel() and (int(counted.min()) < 0 or int(counted.max()) >= vocab):
            raise ValueError(
                f"tokens must hold ids in [0, {vocab}) where mask is True, got values in "
                f"[{int(counted.min())}, {int(counted.max())}]"
            )
    safe_tokens = tokens.masked_fill(~mask, 0)  # any valid id: these positions are dropped
    return _SequenceLogProbs.apply(logits, safe_tokens, mask)


# ---------------------------------------------------------------------------------------
# reward modelling and RLHF
# ---------------------------------------------------------------------------------------


def bradley_terry_loss(chosen_rewards, rejected_rewards, *, margin=0.0, reduction: str = "mean") -> torch.Tensor:
    r"""Negative log-likelihood of preferences under the Bradley-Terry model: the reward-model loss.

    .. math::

        \ell = -\log \sigma\bigl(r(y_w) - r(y_l) - m\bigr)
        = \operatorname{softplus}\bigl(-(r(y_w) - r(y_l) - m)\bigr)

    Bradley and Terry (1952) model the probability that :math:`y_w` is preferred to
    :math:`y_l` as :math:`\sigma(r(y_w) - r(y_l))`; fitting a reward model :math:`r` to
    human comparisons by maximum likelihood is the first stage of RLHF (Christiano et al.
    2017; Ouyang et al. 2022). Only reward *differences* matter: adding a constant to every
    reward leaves the loss unchanged. A margin :math:`m > 0` asks the chosen reward to
    win by at least :math:`m` (Llama 2 uses a per-pair margin from the raters' confidence).

    Args:
        chosen_rewards: rewards of the preferred responses, any shape.
        rejected_rewards: rewards of the rejected responses, the same shape.
        margin: a number, or a tensor of the same shape (one margin per pair).
        reduction: ``"mean"`` (over pairs) | ``"sum"`` | ``"none"``.

    Agrees with ``F.binary_cross_entropy_with_logits(r_w - r_l - m, ones)``.

    >>> round(float(bradley_terry_loss([1.0, 0.0], [0.0, 0.0], reduction="none")[1]), 6)  # ln 2
    0.693147
    """
    check_reduction(reduction)
    chosen, rejected = _float_tensors(chosen_rewards=chosen_rewards, rejected_rewards=rejected_rewards)
    if isinstance(margin, numbers.Real) and not isinstance(margin, bool):
        margin = check_scalar(margin, "margin")
    else:
        margin = as_float_tensor(margin, "margin", like=chosen)
        if margin.dim() and margin.shape != chosen.shape:
            raise ValueError(
                f"margin must be a number or have the shape of chosen_rewards, {tuple(chosen.shape)}, "
                f"got {tuple(margin.shape)}"
            )
    loss = reduce(-F.logsigmoid(chosen - rejected - margin), reduction)
    return raise_on_nan(loss, chosen_rewards=chosen, rejected_rewards=rejected, margin=_tensor_or_none(margin))


def kl_penalized_reward(rewards, policy_logps, ref_logps, *, beta: float) -> torch.Tensor:
    r"""The reward RLHF maximises: the reward model's score minus a KL penalty to the reference.

    .. math::

        R(x, y) = r(x, y) - \beta \bigl(\log\pi_\theta(y \mid x) - \log\pi_\mathrm{ref}(y \mid x)\bigr)

    Its expectation under :math:`\pi_\theta` is
    :math:`\mathbb E_{\pi_\theta}[r] - \beta\,\mathrm{KL}(\pi_\theta \,\Vert\, \pi_\mathrm{ref})`,
    the KL-regularised objective of Ziegler et al. (2019) and Ouyang et al. (2022), whose
    maximiser is :math:`\pi_\mathrm{ref}\, e^{r / \beta} / Z`. The penalty keeps the policy
    where the reward model was trained; without it (``beta=0``) the policy drifts to
    responses the reward model overrates.

    Sequence level: one reward per response. (InstructGPT spreads the penalty over tokens
    and adds the score at the last one; summed over a response, the two agree.) Returns a
    value per response, not a loss: a policy-gradient method uses it as a constant reward
    (detach it), while differentiating its exact expectation over a small, enumerable
    response set gives the gradient of the objective itself.

    Args:
        rewards: reward-model scores, any shape.
        policy_logps: :math:`\log \pi_\theta(y)`, the same shape.
        ref_logps: :math:`\log \pi_\mathrm{ref}(y)`, the same shape.
        beta: the penalty's weight :math:`\beta \ge 0`.

    >>> kl_penalized_reward([1.0, 2.0], [-1.0, -3.0], [-2.0, -2.0], beta=0.5)
    tensor([0.5000, 2.5000])
    """
    beta = check_scalar(beta, "beta", low=0.0)
    rewards, policy_logps, ref_logps = _float_tensors(rewards=rewards, policy_logps=policy_logps, ref_logps=ref_logps)
    shaped = rewards - beta * (policy_logps - ref_logps)
    return raise_on_nan(shaped, rewards=rewards, policy_logps=policy_logps, ref_logps=ref_logps)


def implicit_reward(policy_logps, ref_logps, *, beta: float) -> torch.Tensor:
    r"""The reward a DPO-trained policy implies: beta times its log-ratio to the reference.

    .. math::

        \hat r(x, y) = \beta \log \frac{\pi_\theta(y \mid x)}{\pi_\mathrm{ref}(y \mid x)}

    Inverting the optimum of the KL-regularised objective,
    :math:`\pi^\star = \pi_\mathrm{ref}\, e^{r / \beta} / Z`, gives
    :math:`r = \beta \log(\pi^\star / \pi_\mathrm{ref}) + \beta \log Z`: up to a constant
    per prompt, which cancels in every comparison, a policy *is* a reward model (Rafailov
    et al. 2023). TRL logs it as ``rewards/chosen`` and ``rewards/rejected``.

    Args:
        policy_logps: :math:`\log\pi_\theta(y)`, any shape.
        ref_logps: :math:`\log\pi_\mathrm{ref}(y)`, the same shape.
        beta: :math:`\beta > 0`, the same as in the loss that trained the policy.

    >>> implicit_reward([-1.0, -4.0], [-2.0, -2.0], beta=0.1)
    tensor([ 0.1000, -0.2000])
    """
    beta = _positive(beta, "beta")
    policy_logps, ref_logps = _float_tensors(policy_logps=policy_logps, ref_logps=ref_logps)
    return raise_on_nan(beta * (policy_logps - ref_logps), policy_logps=policy_logps, ref_logps=ref_logps)


# ---------------------------------------------------------------------------------------
# direct preference optimisation and its relatives
# ---------------------------------------------------------------------------------------


def dpo_loss(
    policy_chosen_logps,
    policy_rejected_logps,
    ref_chosen_logps,
    ref_rejected_logps,
    *,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Direct preference optimisation: the Bradley-Terry loss of the policy's implicit reward.

    .. math::

        \ell = -(1 - \varepsilon) \log\sigma(\beta\Delta) - \varepsilon \log\sigma(-\beta\Delta)

    with :math:`\Delta` the log-ratio margin of the module docstring and
    :math:`\varepsilon` = ``label_smoothing``. With :math:`\varepsilon = 0` it is
    :func:`bradley_terry_loss` of :func:`implicit_reward`: Rafailov et al. (2023) showed that
    the maximiser of the KL-regularised RLHF objective can be fitted to preferences directly,
    with no reward model and no sampling. Its gradient in :math:`\log\pi_\theta(y_w)` is
    :math:`-\beta\,\sigma(-\beta\Delta)`: pairs the policy already ranks right get little
    weight. At :math:`\Delta = 0` (the policy equals the reference) the loss is
    :math:`\ln 2`.

    :math:`\varepsilon > 0` is conservative DPO (Mitchell 2023): it assumes each label was
    flipped with probability :math:`\varepsilon`, which moves the optimum from
    :math:`\beta\Delta = \infty` to the finite :math:`\beta\Delta = \log\frac{1 -
    \varepsilon}{\varepsilon}`.

    Args:
        policy_chosen_logps: :math:`\log\pi_\theta(y_w)`, summed over tokens
            (:func:`sequence_log_probs`); any shape, one entry per pair.
        policy_rejected_logps: :math:`\log\pi_\theta(y_l)`, the same shape.
        ref_chosen_logps: :math:`\log\pi_\mathrm{ref}(y_w)`, the same shape.
        ref_rejected_logps: :math:`\log\pi_\mathrm{ref}(y_l)`, the same shape.
        beta: :math:`\beta > 0`, the strength of the implicit KL penalty.
        label_smoothing: :math:`\varepsilon \in [0, 1/2]`, the assumed label-flip rate.
        reduction: ``"mean"`` (over pairs) | ``"sum"`` | ``"none"``.

    Equals TRL's ``DPOTrainer`` loss (``loss_type="sigmoid"``, the same ``label_smoothing``).

    >>> round(float(dpo_loss([-3.0], [-5.0], [-3.0], [-5.0])), 6)  # policy = reference: ln 2
    0.693147
    """
    check_reduction(reduction)
    beta = _positive(beta, "beta")
    if not (type(label_smoothing) is float and label_smoothing == 0.0):
        label_smoothing = check_scalar(label_smoothing, "label_smoothing", low=0.0, high=0.5)
    pc, pr, rc, rr = _pair_tensors(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    scaled = beta * ((pc - rc) - (pr - rr))
    # logsigmoid is exact in both tails (F.softplus switches to the identity above 20)
    if label_smoothing == 0:
        loss = -F.logsigmoid(scaled)
    else:
        loss = -(1 - label_smoothing) * F.logsigmoid(scaled) - label_smoothing * F.logsigmoid(-scaled)
    return _raise_on_nan_pairs(reduce(loss, reduction), pc, pr, rc, rr)


def ipo_loss(
    policy_chosen_logps,
    policy_rejected_logps,
    ref_chosen_logps,
    ref_rejected_logps,
    *,
    beta: float = 0.1,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Identity preference optimisation: regress the log-ratio margin onto a finite target.

    .. math::

        \ell = \Bigl(\Delta - \frac{1}{2\beta}\Bigr)^2

    Azar et al. (2024) note that when a pair's preference is (nearly) deterministic, the
    Bradley-Terry model behind :func:`dpo_loss` wants :math:`\Delta \to \infty`, and the KL
    regularisation then stops holding the policy near the reference. IPO replaces the
    log-sigmoid with a square whose minimum is the bounded margin :math:`1 / (2\beta)`; at
    :math:`\Delta = 0` the loss is :math:`1 / (4\beta^2)`.

    The log-probabilities are used as given. This library passes summed ones
    (:func:`sequence_log_probs`); TRL's ``loss_type="ipo"`` averages them over each
    response's tokens first, which changes the scale of :math:`\Delta` and so the meaning of
    :math:`\beta` (divide by the token counts to reproduce TRL).

    Args:
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps:
            as in :func:`dpo_loss`, one shape.
        beta: :math:`\beta > 0`; the target margin is :math:`1 / (2\beta)`.
        reduction: ``"mean"`` (over pairs) | ``"sum"`` | ``"none"``.

    >>> float(ipo_loss([-3.0], [-5.0], [-3.0], [-5.0], beta=0.5))  # 1 / (4 beta^2)
    1.0
    """
    check_reduction(reduction)
    beta = _positive(beta, "beta")
    pc, pr, rc, rr = _pair_tensors(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    delta = (pc - rc) - (pr - rr)
    return _raise_on_nan_pairs(reduce((delta - 1 / (2 * beta)).square(), reduction), pc, pr, rc, rr)


def kto_loss(
    policy_logps,
    ref_logps,
    desirable,
    *,
    policy_kl_logps,
    ref_kl_logps,
    beta: float = 0.1,
    desirable_weight: float = 1.0,
    undesirable_weight: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Kahneman-Tversky optimisation: a loss on single responses labelled good or bad.

    .. math::

        \ell(y) = \begin{cases}
          w_D \bigl(1 - \sigma(\beta (r - z_0))\bigr) & y \text{ desirable} \\
          w_U \bigl(1 - \sigma(\beta (z_0 - r))\bigr) & y \text{ undesirable}
        \end{cases}
        \qquad r = \log\frac{\pi_\theta(y)}{\pi_\mathrm{ref}(y)}

    Ethayarajh et al. (2024) need no pairs: a desirable response's log-ratio is pushed above
    a reference point :math:`z_0`, an undesirable one's below it, through a sigmoid value
    function that saturates (gains and losses far from :math:`z_0` stop mattering, as in
    prospect theory). The reference point estimates
    :math:`\mathrm{KL}(\pi_\theta \,\Vert\, \pi_\mathrm{ref})` from mismatched
    (prompt, response) pairs,

    .. math::

        z_0 = \max\Bigl(0,\ \operatorname{mean}\bigl(\log\pi_\theta(y') - \log\pi_\mathrm{ref}(y')\bigr)\Bigr),

    and is **detached** (no gradient flows through it) and clamped at 0, as in the paper
    and TRL. At initialisation (:math:`\pi_\theta = \pi_\mathrm{ref}`) every term is
    :math:`w / 2`. The weights let a data set with unequal numbers of desirable and
    undesirable examples be balanced (the paper keeps
    :math:`w_D n_D / (w_U n_U)` in :math:`[1, 4/3]`).

    Args:
        policy_logps: :math:`\log\pi_\theta(y)` of each labelled response, any shape.
        ref_logps: :math:`\log\pi_\mathrm{ref}(y)`, the same shape.
        desirable: the same shape, bool or 0/1: True for a desirable response.
        policy_kl_logps: :math:`\log\pi_\theta(y')` of the mismatched responses, any
            non-empty shape.
        ref_kl_logps: :math:`\log\pi_\mathrm{ref}(y')`, the shape of ``policy_kl_logps``.
        beta: :math:`\beta > 0`.
        desirable_weight, undesirable_weight: :math:`w_D, w_U \ge 0`.
        reduction: ``"mean"`` (over all labelled responses, desirable and undesirable
            together, the weights not renormalised, as TRL) | ``"sum"`` | ``"none"``.

    >>> float(kto_loss([-2.0, -3.0], [-2.0, -3.0], [True, False],
    ...                policy_kl_logps=[-4.0], ref_kl_logps=[-4.0]))  # at initialisation
    0.5
    """
    check_reduction(reduction)
    beta = _positive(beta, "beta")
    w_desirable = check_scalar(desirable_weight, "desirable_weight", low=0.0)
    w_undesirable = check_scalar(undesirable_weight, "undesirable_weight", low=0.0)
    policy_logps, ref_logps = _float_tensors(policy_logps=policy_logps, ref_logps=ref_logps)
    policy_kl_logps, ref_kl_logps = _float_tensors(policy_kl_logps=policy_kl_logps, ref_kl_logps=ref_kl_logps)
    desirable = _checks.as_tensor(desirable, "desirable")
    if desirable.shape != policy_logps.shape:
        raise ValueError(
            f"desirable must have the shape of policy_logps, {tuple(policy_logps.shape)}, got {tuple(desirable.shape)}"
        )
    desirable = _check_binary(desirable, "desirable").to(policy_logps.device)
    dtype = torch.promote_types(policy_logps.dtype, policy_kl_logps.dtype)
    # clamp, not max(0, .) through where: a NaN estimate stays NaN
    z0 = (policy_kl_logps - ref_kl_logps).mean().clamp(min=0).detach().to(dtype)
    log_ratio = (policy_logps - ref_logps).to(dtype)
    # 1 - sigmoid(u) = sigmoid(-u), exact in the tail where 1 - sigmoid(u) rounds to 0
    desirable_loss = w_desirable * torch.sigmoid(beta * (z0 - log_ratio))
    undesirable_loss = w_undesirable * torch.sigmoid(beta * (log_ratio - z0))
    loss = reduce(torch.where(desirable, desirable_loss, undesirable_loss), reduction)
    return raise_on_nan(
        loss, policy_logps=policy_logps, ref_logps=ref_logps, policy_kl_logps=policy_kl_logps, ref_kl_logps=ref_kl_logps
    )
