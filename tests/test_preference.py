"""Tests for objlib.preference against brute-force loops, closed forms and TRL's formulas (float64).

TRL is not installed: where a test says "TRL's formula" it writes out, in torch, the loss as
TRL's documentation and trainers define it (``DPOTrainer`` with ``loss_type="sigmoid"`` and
``"ipo"``, ``KTOTrainer``, ``RewardTrainer``, and the shifted, ``-100``-padded labels of
their ``get_batch_logps``). Conventions that differ are tested as differences.
"""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import objlib
from objlib.divergences import kl
from objlib.preference import (
    bradley_terry_loss,
    dpo_loss,
    implicit_reward,
    ipo_loss,
    kl_penalized_reward,
    kto_loss,
    sequence_log_probs,
)

LN2 = math.log(2.0)
F64 = torch.float64


def _logps(n, *, seed, scale=5.0, requires_grad=False):
    """Four batches of (negative) sequence log-probabilities: policy chosen/rejected, ref chosen/rejected."""
    g = torch.Generator().manual_seed(seed)
    out = [-scale * torch.rand(n, generator=g, dtype=F64) - 0.1 for _ in range(4)]
    return [x.requires_grad_(requires_grad) for x in out]


def _sequences(b=4, t=6, v=7, *, seed=0, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(b, t, v, generator=g, dtype=dtype)
    tokens = torch.randint(0, v, (b, t), generator=g)
    mask = torch.rand(b, t, generator=g) < 0.7
    mask[0] = False  # one sequence with nothing to count
    mask[1] = True
    return logits, tokens, mask


def _brute_force_log_probs(logits, tokens, mask):
    """One token at a time: log softmax by the definition, summed where the mask is on."""
    out = []
    for b in range(logits.shape[0]):
        total = 0.0
        for t in range(logits.shape[1]):
            if mask[b, t]:
                row = logits[b, t].tolist()
                log_z = math.log(sum(math.exp(z - max(row)) for z in row)) + max(row)
                total += row[int(tokens[b, t])] - log_z
        out.append(total)
    return torch.tensor(out, dtype=F64)


# ---------------------------------------------------------------------------------------
# sequence_log_probs
# ---------------------------------------------------------------------------------------


def test_sequence_log_probs_matches_a_per_token_loop():
    logits, tokens, mask = _sequences(5, 9, 11, seed=1)
    out = sequence_log_probs(logits, tokens, mask)
    torch.testing.assert_close(out, _brute_force_log_probs(logits, tokens, mask), rtol=1e-12, atol=1e-12)
    assert out[0] == 0  # nothing counted: log 1


def test_sequence_log_probs_matches_fused_cross_entropy():
    logits, tokens, mask = _sequences(6, 8, 5, seed=2)
    nll = F.cross_entropy(logits.reshape(-1, 5), tokens.masked_fill(~mask, -100).reshape(-1), reduction="none")
    torch.testing.assert_close(sequence_log_probs(logits, tokens, mask), -nll.reshape(6, 8).sum(-1), rtol=1e-12, atol=0)


def test_sequence_log_probs_follows_trl_batch_logps_convention():
    # TRL: labels are the input ids with -100 on the prompt and padding; logits[:, :-1] score labels[:, 1:],
    # per-token log-probabilities come from log_softmax + gather, summed where the label is not -100.
    g = torch.Generator().manual_seed(3)
    b, t, v = 3, 10, 13
    model_logits = torch.randn(b, t, v, generator=g, dtype=F64)
    labels = torch.randint(0, v, (b, t), generator=g)
    labels[:, :3] = -100  # the prompt
    labels[0, 7:] = -100  # padding of a short response
    shifted_labels, shifted_logits = labels[:, 1:], model_logits[:, :-1]
    loss_mask = shifted_labels != -100
    gathered = torch.gather(shifted_logits.log_softmax(-1), 2, shifted_labels.clamp(min=0).unsqueeze(2)).squeeze(2)
    trl = (gathered * loss_mask).sum(-1)
    assert not shifted_logits.is_contiguous()  # the slice goes in without a copy
    torch.testing.assert_close(sequence_log_probs(shifted_logits, shifted_labels, loss_mask), trl, rtol=1e-12, atol=0)
    # TRL's IPO averages over the counted tokens instead: a different number for unequal lengths
    averaged = trl / loss_mask.sum(-1)
    assert not torch.allclose(averaged, trl)


def test_padding_never_changes_a_sequence_log_probability():
    logits, tokens, mask = _sequences(4, 7, 6, seed=4)
    reference = sequence_log_probs(logits, tokens, mask)
    g = torch.Generator().manual_seed(5)
    noisy = torch.where(mask[..., None], logits, 1e4 * torch.randn(logits.shape, generator=g, dtype=F64))
    noisy[~mask] = noisy[~mask].index_fill(-1, torch.tensor([0]), -math.inf)  # -inf logits at padding
    padded_tokens = torch.where(mask, tokens, torch.full_like(tokens, -100))
    padded_tokens[0, 0] = 999  # out of range, but masked out
    assert torch.equal(sequence_log_probs(noisy, padded_tokens, mask), reference)
    with objlib.value_checks(False):  # NaN at padded positions is also ignored
        nan_padded = torch.where(mask[..., None], logits, torch.full_like(logits, math.nan))
        assert torch.equal(sequence_log_probs(nan_padded, tokens, mask), reference)
    # and padded positions get no gradient
    leaf = noisy.clone().requires_grad_()
    sequence_log_probs(leaf, padded_tokens, mask).sum().backward()
    assert torch.equal(leaf.grad[~mask], torch.zeros_like(leaf.grad[~mask]))


def test_prompt_masking_gives_the_conditional_log_probability():
    # log p(response | prompt) = log p(prompt, response) - log p(prompt) for the same logits
    logits, tokens, _ = _sequences(3, 8, 5, seed=6)
    prompt = torch.zeros(3, 8, dtype=torch.bool)
    prompt[:, :3] = True
    everything = torch.ones(3, 8, dtype=torch.bool)
    response = sequence_log_probs(logits, tokens, ~prompt)
    torch.testing.assert_close(
        response,
        sequence_log_probs(logits, tokens, everything) - sequence_log_probs(logits, tokens, prompt),
        rtol=1e-12,
        atol=1e-12,
    )


def test_sequence_probabilities_sum_to_one_over_every_sequence():
    g = torch.Generator().manual_seed(7)
    t, v = 3, 4
    position_logits = torch.randn(t, v, generator=g, dtype=F64)
    all_sequences = torch.tensor(list(itertools.product(range(v), repeat=t)))
    logits = position_logits.expand(len(all_sequences), t, v)
    logps = sequence_log_probs(logits, all_sequences, torch.ones_like(all_sequences, dtype=torch.bool))
    assert (logps <= 0).all()
    torch.testing.assert_close(logps.exp().sum(), torch.tensor(1.0, dtype=F64), rtol=1e-12, atol=0)


@pytest.mark.parametrize("sliced", [False, True])
def test_sequence_log_probs_gradient_matches_autograd_through_log_softmax(sliced):
    logits, tokens, mask = _sequences(4, 6, 9, seed=8)
    full = torch.cat([logits, logits[:, :1]], dim=1).requires_grad_()
    weights = torch.randn(4, dtype=F64)
    view = full[:, :-1] if sliced else full
    toks, msk = (tokens, mask) if sliced else (torch.cat([tokens, tokens[:, :1]], 1), torch.cat([mask, mask[:, :1]], 1))
    (ours,) = torch.autograd.grad((sequence_log_probs(view, toks, msk) * weights).sum(), full)
    reference = view.log_softmax(-1).gather(-1, toks[..., None]).squeeze(-1).masked_fill(~msk, 0).sum(-1)
    (theirs,) = torch.autograd.grad((reference * weights).sum(), full)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-14)


def test_sequence_log_probs_gradcheck():
    logits, tokens, mask = _sequences(3, 4, 5, seed=9)
    leaf = logits.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda z: sequence_log_probs(z, tokens, mask), (leaf,))
    wide = torch.cat([logits, logits], dim=1).requires_grad_()
    assert torch.autograd.gradcheck(lambda z: sequence_log_probs(z[:, ::2], tokens, mask), (wide,))


def test_sequence_log_probs_saves_no_copy_of_the_logits():
    # what autograd keeps for backward: the logits themselves (same storage) and (B, T) tensors
    logits, tokens, mask = _sequences(4, 6, 50, seed=10)
    logits.requires_grad_()
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = sequence_log_probs(logits, tokens, mask)
    big = [t for t in saved if t.numel() >= logits.numel()]
    assert len(big) == 1 and big[0].data_ptr() == logits.data_ptr()
    assert sum(t.numel() for t in saved if t.numel() < logits.numel()) <= 4 * 4 * 6
    out.sum().backward()


def test_sequence_log_probs_extreme_logits_and_dtypes():
    logits = torch.tensor([[[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]]], requires_grad=True)
    out = sequence_log_probs(logits, [[1, 1]], [[True, True]])
    out.sum().backward()
    assert math.isfinite(out.item()) and abs(out.item() + 2e4) < 1 and torch.isfinite(logits.grad).all()
    # integer logits become the default float; float tokens and 0/1 masks are accepted
    ints = sequence_log_probs(torch.zeros(1, 2, 4, dtype=torch.int64), [[0.0, 3.0]], [[1, 0]])
    assert ints.dtype == torch.get_default_dtype() and abs(ints.item() - math.log(0.25)) < 1e-6
    half = sequence_log_probs(torch.zeros(1, 2, 4, dtype=torch.bfloat16), [[0, 3]], [[1, 1]])
    assert half.dtype == torch.bfloat16
    assert sequence_log_probs([[[0.0, 0.0]]], [[1]], [[True]]).dtype == torch.get_default_dtype()


def test_sequence_log_probs_nan_policy():
    logits, tokens, mask = _sequences(3, 4, 5, seed=11)
    logits[1, 2, 3] = math.nan
    with pytest.raises(ValueError, match="logits"):
        sequence_log_probs(logits, tokens, mask)
    with objlib.value_checks(False):
        out = sequence_log_probs(logits, tokens, mask)
    assert math.isnan(out[1]) and torch.isfinite(out[[0, 2]]).all()  # sequence 1 counts every position


@pytest.mark.parametrize(
    "logits, tokens, mask, error, match",
    [
        (torch.zeros(2, 3), [[0, 0, 0]], [[True] * 3], ValueError, "logits must have 3"),
        (torch.zeros(2, 3, 4), [[0, 0, 0]], [[True] * 3] * 2, ValueError, "tokens must have shape"),
        (torch.zeros(2, 3, 4), [[0] * 3] * 2, [[True] * 3], ValueError, "mask must have shape"),
        (torch.zeros(1, 2, 4), [[0, 4]], [[True, True]], ValueError, r"tokens must hold ids in \[0, 4\)"),
        (torch.zeros(1, 2, 4), [[0, -100]], [[True, True]], ValueError, "tokens must hold ids"),
        (torch.zeros(1, 2, 4), [[0, 0.5]], [[True, True]], ValueError, "tokens must hold integer"),
        (torch.zeros(1, 2, 4), [[0, 1]], [[1, 2]], ValueError, "mask must be boolean"),
        (torch.tensor([[[0.0, math.inf]]]), [[0]], [[True]], ValueError, "logits must be finite"),
        (torch.zeros(0, 2, 4), torch.zeros(0, 2), torch.zeros(0, 2), ValueError, "logits is empty"),
        ("logits", [[0]], [[True]], TypeError, "logits must be a tensor"),
        (torch.zeros(1, 1, 2), None, [[True]], TypeError, "tokens must be a tensor"),
    ],
)
def test_sequence_log_probs_refuses_bad_input(logits, tokens, mask, error, match):
    with pytest.raises(error, match=match):
        sequence_log_probs(logits, tokens, mask)


# ---------------------------------------------------------------------------------------
# bradley_terry_loss
# ---------------------------------------------------------------------------------------


def test_bradley_terry_matches_bce_with_logits_and_trl_reward_trainer():
    g = torch.Generator().manual_seed(12)
    chosen, rejected, margin = (torch.randn(50, generator=g, dtype=F64) for _ in range(3))
    diff = chosen - rejected - margin
    torch.testing.assert_close(
        bradley_terry_loss(chosen, rejected, margin=margin, reduction="none"),
        F.binary_cross_entropy_with_logits(diff, torch.ones_like(diff), reduction="none"),
        rtol=1e-12,
        atol=0,
    )
    trl = -F.logsigmoid(chosen - rejected - margin).mean()  # RewardTrainer with a margin column
    torch.testing.assert_close(bradley_terry_loss(chosen, rejected, margin=margin), trl, rtol=1e-12, atol=0)
    torch.testing.assert_close(
        bradley_terry_loss(chosen, rejected, margin=0.5, reduction="sum"),
        -F.logsigmoid(chosen - rejected - 0.5).sum(),
        rtol=1e-12,
        atol=0,
    )


def test_bradley_terry_depends_on_reward_differences_only_and_is_the_bt_likelihood():
    g = torch.Generator().manual_seed(13)
    chosen, rejected = torch.randn(20, generator=g, dtype=F64), torch.randn(20, generator=g, dtype=F64)
    shifted = bradley_terry_loss(chosen + 7.0, rejected + 7.0)
    torch.testing.assert_close(shifted, bradley_terry_loss(chosen, rejected), rtol=1e-12, atol=0)
    # exp(-loss) is the Bradley-Terry probability e^{r_w} / (e^{r_w} + e^{r_l})
    prob = torch.exp(-bradley_terry_loss(chosen, rejected, reduction="none"))
    torch.testing.assert_close(prob, chosen.exp() / (chosen.exp() + rejected.exp()), rtol=1e-12, atol=0)


def test_bradley_terry_extreme_rewards_and_gradcheck():
    r = torch.tensor([1e4, -1e4], dtype=F64, requires_grad=True)
    loss = bradley_terry_loss(r, torch.zeros(2, dtype=F64), reduction="none")
    assert loss[0].item() == 0.0 and loss[1].item() == 1e4
    loss.sum().backward()
    assert torch.isfinite(r.grad).all()
    g = torch.Generator().manual_seed(14)
    args = tuple(torch.randn(5, generator=g, dtype=F64).requires_grad_() for _ in range(3))
    assert torch.autograd.gradcheck(lambda c, r, m: bradley_terry_loss(c, r, margin=m), args)


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (([1.0, 2.0], [1.0]), {}, ValueError, "chosen_rewards and rejected_rewards must have the same shape"),
        (([1.0, math.nan], [1.0, 0.0]), {}, ValueError, "chosen_rewards must not contain NaN"),
        (([1.0, math.inf], [1.0, math.inf]), {}, ValueError, "chosen_rewards must be finite here"),
        (([1.0, 0.0], [1.0, 0.0]), {"margin": torch.tensor([0.0, math.nan])}, ValueError, "margin must not contain"),
        (([1.0, 0.0], [1.0, 0.0]), {"margin": [1.0, 2.0, 3.0]}, ValueError, "margin must be a number or have"),
        (([1.0, 0.0], [1.0, 0.0]), {"margin": math.nan}, ValueError, "margin must be a number"),
        (([1.0, 0.0], [1.0, 0.0]), {"margin": "big"}, TypeError, "margin must be a tensor"),
        (([], []), {}, ValueError, "chosen_rewards is empty"),
        (([1.0], [0.0]), {"reduction": "batchmean"}, ValueError, "reduction"),
    ],
)
def test_bradley_terry_refuses_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        bradley_terry_loss(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# kl_penalized_reward and implicit_reward
# ---------------------------------------------------------------------------------------


def test_kl_penalized_reward_expectation_is_reward_minus_beta_kl():
    g = torch.Generator().manual_seed(15)
    policy = torch.softmax(torch.randn(30, generator=g, dtype=F64), -1)
    ref = torch.softmax(torch.randn(30, generator=g, dtype=F64), -1)
    reward = torch.randn(30, generator=g, dtype=F64)
    shaped = kl_penalized_reward(reward, policy.log(), ref.log(), beta=0.3)
    torch.testing.assert_close(shaped, reward - 0.3 * (policy.log() - ref.log()), rtol=1e-15, atol=0)
    torch.testing.assert_close(
        (policy * shaped).sum(), (policy * reward).sum() - 0.3 * kl(policy, ref), rtol=1e-12, atol=0
    )
    assert torch.equal(kl_penalized_reward(reward, policy.log(), ref.log(), beta=0.0), reward)


def test_closed_form_optimum_and_implicit_reward_recover_the_reward():
    # pi* = pi_ref exp(r / beta) / Z maximises E[r] - beta KL; beta log(pi*/pi_ref) = r - beta log Z
    g = torch.Generator().manual_seed(16)
    ref = torch.softmax(torch.randn(12, generator=g, dtype=F64), -1)
    reward = torch.randn(12, generator=g, dtype=F64)
    beta = 0.4
    optimum = torch.softmax(ref.log() + reward / beta, -1)
    recovered = implicit_reward(optimum.log(), ref.log(), beta=beta)
    log_z = torch.logsumexp(ref.log() + reward / beta, -1)
    torch.testing.assert_close(recovered, reward - beta * log_z, rtol=1e-12, atol=1e-12)

    def objective(p):
        return (p * kl_penalized_reward(reward, p.log(), ref.log(), beta=beta)).sum()

    torch.testing.assert_close(objective(optimum), beta * log_z, rtol=1e-12, atol=0)  # the optimal value
    for _ in range(20):  # any other policy falls short by exactly beta KL(p || pi*)
        p = torch.softmax(torch.randn(12, generator=g, dtype=F64), -1)
        torch.testing.assert_close(objective(p), beta * log_z - beta * kl(p, optimum), rtol=1e-12, atol=1e-12)


def test_implicit_reward_is_trl_rewards_and_gradcheck():
    pc, pr, rc, rr = _logps(8, seed=17, requires_grad=True)
    torch.testing.assert_close(implicit_reward(pc, rc, beta=0.1), 0.1 * (pc - rc), rtol=1e-15, atol=0)
    assert torch.autograd.gradcheck(lambda a, b: implicit_reward(a, b, beta=0.7), (pc, rc))
    assert torch.autograd.gradcheck(lambda r, a, b: kl_penalized_reward(r, a, b, beta=0.7), (pr, pc, rc))


@pytest.mark.parametrize(
    "fn, args, kwargs, error, match",
    [
        (kl_penalized_reward, ([1.0], [-1.0], [-1.0]), {"beta": -0.1}, ValueError, "beta must lie in"),
        (kl_penalized_reward, ([1.0], [-1.0, -2.0], [-1.0]), {"beta": 0.1}, ValueError, "rewards and policy_logps"),
        (kl_penalized_reward, ([math.nan], [-1.0], [-1.0]), {"beta": 0.1}, ValueError, "rewards must not contain NaN"),
        (kl_penalized_reward, ([1.0], [-1.0], [math.nan]), {"beta": 0.1}, ValueError, "ref_logps must not contain"),
        (kl_penalized_reward, ([1.0], [-1.0], [-1.0]), {"beta": "0.1"}, TypeError, "beta must be a real"),
        (implicit_reward, ([-1.0], [-1.0]), {"beta": 0.0}, ValueError, "beta must lie in"),
        (implicit_reward, ([-math.inf], [-math.inf]), {"beta": 0.1}, ValueError, "policy_logps must be finite here"),
        (implicit_reward, ([-1.0], [[-1.0]]), {"beta": 0.1}, ValueError, "same shape"),
    ],
)
def test_reward_functions_refuse_bad_input(fn, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# dpo_loss
# ---------------------------------------------------------------------------------------


def _trl_dpo(pc, pr, rc, rr, beta, label_smoothing):
    """TRL's DPOTrainer loss, loss_type="sigmoid", as its documentation writes it."""
    logits = (pc - pr) - (rc - rr)
    return -F.logsigmoid(beta * logits) * (1 - label_smoothing) - F.logsigmoid(-beta * logits) * label_smoothing


@pytest.mark.parametrize("beta", [0.01, 0.1, 1.0, 5.0])
def test_dpo_is_ln2_when_the_policy_is_the_reference(beta):
    pc, pr, _, _ = _logps(10, seed=18)
    for ls in (0.0, 0.2, 0.5):
        loss = dpo_loss(pc, pr, pc, pr, beta=beta, label_smoothing=ls, reduction="none")
        torch.testing.assert_close(loss, torch.full_like(loss, LN2), rtol=1e-15, atol=0)


def test_dpo_gradient_weight_is_beta_sigmoid_of_minus_beta_delta():
    pc, pr, rc, rr = _logps(16, seed=19, requires_grad=True)
    beta = 0.5
    dpo_loss(pc, pr, rc, rr, beta=beta, reduction="sum").backward()
    delta = ((pc - rc) - (pr - rr)).detach()
    weight = beta * torch.sigmoid(-beta * delta)
    torch.testing.assert_close(pc.grad, -weight, rtol=1e-12, atol=0)  # raise the chosen response
    torch.testing.assert_close(pr.grad, weight, rtol=1e-12, atol=0)  # lower the rejected one
    torch.testing.assert_close(rc.grad, weight, rtol=1e-12, atol=0)
    torch.testing.assert_close(rr.grad, -weight, rtol=1e-12, atol=0)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.3, 0.5])
def test_dpo_matches_trl_sigmoid_loss_with_label_smoothing(label_smoothing):
    pc, pr, rc, rr = _logps(40, seed=20, scale=30.0)
    for beta in (0.1, 0.5):
        trl = _trl_dpo(pc, pr, rc, rr, beta, label_smoothing)
        ours = dpo_loss(pc, pr, rc, rr, beta=beta, label_smoothing=label_smoothing, reduction="none")
        torch.testing.assert_close(ours, trl, rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(
            dpo_loss(pc, pr, rc, rr, beta=beta, label_smoothing=label_smoothing), trl.mean(), rtol=1e-12, atol=0
        )


def test_dpo_is_bradley_terry_of_the_implicit_rewards():
    pc, pr, rc, rr = _logps(25, seed=21)
    beta = 0.2
    bt = bradley_terry_loss(implicit_reward(pc, rc, beta=beta), implicit_reward(pr, rr, beta=beta))
    torch.testing.assert_close(dpo_loss(pc, pr, rc, rr, beta=beta), bt, rtol=1e-12, atol=0)


@pytest.mark.parametrize("eps", [0.05, 0.2, 0.4])
def test_conservative_dpo_has_a_finite_optimum(eps):
    # d/d(beta delta) of (1 - e) softplus(-x) + e softplus(x) vanishes at x = log((1 - e) / e)
    beta = 0.5
    x_star = math.log((1 - eps) / eps)
    pc = torch.tensor([x_star / beta - 1.0], dtype=F64, requires_grad=True)
    zero = torch.tensor([-1.0], dtype=F64)
    dpo_loss(pc, zero, zero, zero, beta=beta, label_smoothing=eps).backward()
    assert abs(pc.grad.item()) < 1e-12
    # plain DPO keeps decreasing: the optimum is at infinity
    losses = [dpo_loss([d - 1.0], [-1.0], [-1.0], [-1.0], beta=beta).item() for d in (1.0, 10.0, 100.0)]
    assert losses[0] > losses[1] > losses[2] > 0


@given(st.floats(-50, 50), st.floats(-50, 50), st.floats(0.01, 5.0))
def test_dpo_decreases_in_the_margin(d1, d2, beta):
    lo, hi = min(d1, d2), max(d1, d2)
    loss_lo, loss_hi = (dpo_loss([d - 1.0], [-1.0], [-1.0], [-1.0], beta=beta).item() for d in (lo, hi))
    assert loss_hi <= loss_lo


def test_dpo_extreme_inputs_stay_finite():
    pc = torch.tensor([-1.0, -1e4, -1.0], dtype=F64, requires_grad=True)
    pr = torch.tensor([-1e4, -1.0, -math.inf], dtype=F64)  # a rejected response the policy rules out
    rc = rr = torch.full((3,), -5.0, dtype=F64)
    loss = dpo_loss(pc, pr, rc, rr, beta=1.0, reduction="none")
    assert loss[0].item() == 0.0 and abs(loss[1].item() - (1e4 - 1)) < 1e-6 and loss[2].item() == 0.0
    loss.sum().backward()
    assert torch.isfinite(pc.grad).all()
    smoothed = dpo_loss(pc.detach()[:2], pr[:2], rc[:2], rr[:2], beta=1.0, label_smoothing=0.1, reduction="none")
    assert torch.isfinite(smoothed).all()


def test_dpo_and_ipo_gradcheck():
    args = _logps(6, seed=22, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: dpo_loss(*a, beta=0.3), args)
    assert torch.autograd.gradcheck(lambda *a: dpo_loss(*a, beta=0.3, label_smoothing=0.2, reduction="none"), args)
    assert torch.autograd.gradcheck(lambda *a: ipo_loss(*a, beta=0.3), args)


def test_dpo_mixed_dtypes_promote_as_torch():
    pc, pr, rc, rr = _logps(4, seed=23)
    mixed = dpo_loss(pc.float(), pr.float(), rc, rr)
    assert mixed.dtype == F64
    torch.testing.assert_close(mixed, dpo_loss(pc.float().double(), pr.float().double(), rc, rr), rtol=1e-15, atol=0)
    ints = dpo_loss([-1, -2], [-3, -1], [-1, -1], [-1, -1])
    assert ints.dtype == torch.get_default_dtype()
    assert dpo_loss(pc.float(), pr.float(), rc.float(), rr.float()).dtype == torch.float32


@pytest.mark.parametrize("fn", [dpo_loss, ipo_loss])
def test_paired_losses_nan_policy(fn):
    pc, pr, rc, rr = _logps(5, seed=24)
    rr[2] = math.nan
    with pytest.raises(ValueError, match="ref_rejected_logps must not contain NaN"):
        fn(pc, pr, rc, rr)
    with objlib.value_checks(False):
        out = fn(pc, pr, rc, rr, reduction="none")
        assert math.isnan(out[2]) and torch.isfinite(out[[0, 1, 3, 4]]).all()
        assert math.isnan(fn(pc, pr, rc, rr).item())


@pytest.mark.parametrize("fn", [dpo_loss, ipo_loss])
@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (
            ([-1.0, -2.0], [-1.0], [-1.0], [-1.0]),
            {},
            "policy_chosen_logps and policy_rejected_logps must have the same",
        ),
        (([-1.0], [-1.0], [-1.0], [[-1.0]]), {}, "policy_chosen_logps and ref_rejected_logps must have the same"),
        (([-1.0], [math.nan], [-1.0], [-1.0]), {}, "policy_rejected_logps must not contain NaN"),
        (([-math.inf], [-1.0], [-math.inf], [-1.0]), {}, "policy_chosen_logps must be finite here"),
        (([-1.0], [-1.0], [-1.0], [-1.0]), {"beta": 0.0}, "beta must lie in"),
        (([-1.0], [-1.0], [-1.0], [-1.0]), {"reduction": "avg"}, "reduction"),
        (([], [], [], []), {}, "policy_chosen_logps is empty"),
    ],
)
def test_paired_losses_refuse_bad_input(fn, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(*args, **kwargs)


@pytest.mark.parametrize("label_smoothing, error", [(0.6, ValueError), (-0.1, ValueError), ("x", TypeError)])
def test_dpo_refuses_bad_label_smoothing(label_smoothing, error):
    with pytest.raises(error, match="label_smoothing"):
        dpo_loss([-1.0], [-1.0], [-1.0], [-1.0], label_smoothing=label_smoothing)


# ---------------------------------------------------------------------------------------
# ipo_loss
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.05, 0.1, 0.5, 2.0])
def test_ipo_closed_forms(beta):
    pc, pr, rc, rr = _logps(6, seed=25)
    at_zero = ipo_loss(pc, pr, pc, pr, beta=beta, reduction="none")
    torch.testing.assert_close(at_zero, torch.full_like(at_zero, 1 / (4 * beta**2)), rtol=1e-12, atol=0)
    # zero when the margin hits its target 1 / (2 beta), and quadratic around it
    on_target = rc + (pr - rr) + 1 / (2 * beta)
    assert ipo_loss(on_target, pr, rc, rr, beta=beta).item() < 1e-20
    torch.testing.assert_close(ipo_loss(on_target + 0.3, pr, rc, rr, beta=beta), torch.tensor(0.09, dtype=F64))


def test_ipo_minimum_is_at_the_bounded_margin():
    beta = 0.25
    deltas = torch.linspace(-5, 10, 1501, dtype=F64)
    zeros = torch.zeros_like(deltas) - 1.0
    losses = ipo_loss(deltas - 1.0, zeros, zeros, zeros, beta=beta, reduction="none")
    assert abs(deltas[losses.argmin()].item() - 1 / (2 * beta)) < 1e-9
    dpo = dpo_loss(deltas - 1.0, zeros, zeros, zeros, beta=beta, reduction="none")
    assert dpo.argmin() == len(deltas) - 1  # DPO: the larger the margin the better


def test_ipo_matches_trl_on_token_averaged_log_probs_only():
    # TRL's loss_type="ipo": (logits - 1/(2 beta))^2 with log-probabilities averaged over tokens
    g = torch.Generator().manual_seed(26)
    b, t, v = 6, 9, 5
    logits = {k: torch.randn(b, t, v, generator=g, dtype=F64) for k in ("policy", "ref")}
    tokens = {k: torch.randint(0, v, (b, t), generator=g) for k in ("chosen", "rejected")}
    lengths = {"chosen": torch.tensor([9, 3, 5, 9, 2, 7]), "rejected": torch.tensor([4, 9, 9, 1, 6, 8])}
    masks = {k: torch.arange(t) < lengths[k][:, None] for k in lengths}
    summed = {(m, k): sequence_log_probs(logits[m], tokens[k], masks[k]) for m in ("policy", "ref") for k in tokens}
    averaged = {key: value / lengths[key[1]] for key, value in summed.items()}
    beta = 0.1
    order = [("policy", "chosen"), ("policy", "rejected"), ("ref", "chosen"), ("ref", "rejected")]
    pc, pr, rc, rr = (averaged[key] for key in order)
    trl = (((pc - pr) - (rc - rr)) - 1 / (2 * beta)) ** 2
    torch.testing.assert_close(ipo_loss(*(averaged[k] for k in order), beta=beta, reduction="none"), trl)
    summed_loss = ipo_loss(*(summed[k] for k in order), beta=beta, reduction="none")
    assert not torch.allclose(summed_loss, trl)  # the library's summed convention is a different loss


# ---------------------------------------------------------------------------------------
# kto_loss
# ---------------------------------------------------------------------------------------


def _trl_kto(policy, ref, desirable, policy_kl, ref_kl, beta, w_d, w_u):
    """TRL's KTOTrainer loss as written there: chosen and rejected terms concatenated, then averaged."""
    kl_estimate = (policy_kl - ref_kl).mean().clamp(min=0).detach()
    chosen_logratios = (policy - ref)[desirable]
    rejected_logratios = (policy - ref)[~desirable]
    chosen_losses = 1 - torch.sigmoid(beta * (chosen_logratios - kl_estimate))
    rejected_losses = 1 - torch.sigmoid(beta * (kl_estimate - rejected_logratios))
    return torch.cat((w_d * chosen_losses, w_u * rejected_losses), 0).mean()


def test_kto_is_one_half_at_initialisation():
    pc, pr, _, _ = _logps(10, seed=27)
    desirable = torch.arange(10) % 3 == 0
    out = kto_loss(pc, pc, desirable, policy_kl_logps=pr, ref_kl_logps=pr, reduction="none")
    torch.testing.assert_close(out, torch.full_like(out, 0.5), rtol=1e-15, atol=0)
    weighted = kto_loss(pc, pc, desirable, policy_kl_logps=pr, ref_kl_logps=pr, desirable_weight=2.0, reduction="none")
    torch.testing.assert_close(weighted, torch.where(desirable, 1.0, 0.5).to(F64), rtol=1e-15, atol=0)


@pytest.mark.parametrize("shift", [-0.7, 0.0, 0.9])
def test_kto_matches_trl_formula(shift):
    policy, ref, policy_kl, ref_kl = _logps(30, seed=28)
    policy_kl = ref_kl + shift + 0.1 * torch.randn(30, generator=torch.Generator().manual_seed(1), dtype=F64)
    desirable = torch.rand(30, generator=torch.Generator().manual_seed(2)) < 0.4
    for beta, w_d, w_u in [(0.1, 1.0, 1.0), (0.5, 1.33, 0.8)]:
        ours = kto_loss(
            policy,
            ref,
            desirable,
            policy_kl_logps=policy_kl,
            ref_kl_logps=ref_kl,
            beta=beta,
            desirable_weight=w_d,
            undesirable_weight=w_u,
        )
        trl = _trl_kto(policy, ref, desirable, policy_kl, ref_kl, beta, w_d, w_u)
        torch.testing.assert_close(ours, trl, rtol=1e-12, atol=0)


def test_kto_reference_point_is_detached_and_clamped():
    policy, ref, policy_kl, ref_kl = _logps(8, seed=29, requires_grad=True)
    desirable = torch.tensor([True, False] * 4)
    below = (ref_kl - 1.0).detach().requires_grad_()  # mean log-ratio -1: the clamp makes z0 = 0
    clamped = kto_loss(policy, ref, desirable, policy_kl_logps=below, ref_kl_logps=ref_kl, reduction="none")
    z0_zero = kto_loss(policy, ref, desirable, policy_kl_logps=ref_kl, ref_kl_logps=ref_kl, reduction="none")
    torch.testing.assert_close(clamped, z0_zero, rtol=1e-15, atol=0)
    loss = kto_loss(policy, ref, desirable, policy_kl_logps=policy_kl, ref_kl_logps=ref_kl)
    loss.backward()
    assert policy_kl.grad is None and ref_kl.grad is None  # no gradient through z0
    assert policy.grad is not None and (policy.grad != 0).all()


def test_kto_extremes_gradcheck_and_mixed_dtypes():
    policy = torch.tensor([-1e4, -1.0, -1.0], dtype=F64, requires_grad=True)
    ref = torch.tensor([-1.0, -1e4, -1.0], dtype=F64)
    out = kto_loss(policy, ref, [1, 1, 0], policy_kl_logps=[-1.0], ref_kl_logps=[-1.0], beta=1.0, reduction="none")
    assert out[0].item() == 1.0 and out[1].item() == 0.0 and abs(out[2].item() - 0.5) < 1e-15
    out.sum().backward()
    assert torch.isfinite(policy.grad).all()
    p, r, pk, rk = _logps(6, seed=30, requires_grad=True)
    desirable = torch.tensor([1, 0, 1, 1, 0, 0])
    assert torch.autograd.gradcheck(
        lambda a, b: kto_loss(a, b, desirable, policy_kl_logps=pk + 0.5, ref_kl_logps=rk, beta=0.7), (p, r)
    )
    mixed = kto_loss(
        p.detach().float(), r.detach(), desirable, policy_kl_logps=pk.detach().float(), ref_kl_logps=rk.detach()
    )
    assert mixed.dtype == F64


def test_kto_nan_policy():
    policy, ref, policy_kl, ref_kl = _logps(4, seed=31)
    policy_kl[0] = math.nan
    with pytest.raises(ValueError, match="policy_kl_logps must not contain NaN"):
        kto_loss(policy, ref, [1, 0, 1, 0], policy_kl_logps=policy_kl, ref_kl_logps=ref_kl)
    with objlib.value_checks(False):  # a NaN reference point stays NaN through the clamp
        assert torch.isnan(
            kto_loss(policy, ref, [1, 0, 1, 0], policy_kl_logps=policy_kl, ref_kl_logps=ref_kl, reduction="none")
        ).all()
    policy[1] = math.nan
    with pytest.raises(ValueError, match="policy_logps must not contain NaN"):
        kto_loss(policy, ref, [1, 0, 1, 0], policy_kl_logps=ref_kl, ref_kl_logps=ref_kl)


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (([-1.0, -2.0], [-1.0, -2.0], [True]), {}, ValueError, "desirable must have the shape"),
        (([-1.0, -2.0], [-1.0, -2.0], [1, 2]), {}, ValueError, "desirable must be boolean"),
        (([-1.0], [-1.0, -2.0], [True]), {}, ValueError, "policy_logps and ref_logps must have the same"),
        (([-1.0], [-1.0], [True]), {"ref_kl_logps": [-1.0, -2.0]}, ValueError, "policy_kl_logps and ref_kl_logps"),
        (([-1.0], [-1.0], [True]), {"policy_kl_logps": [], "ref_kl_logps": []}, ValueError, "policy_kl_logps is empty"),
        (([-1.0], [-1.0], [True]), {"desirable_weight": -1.0}, ValueError, "desirable_weight must lie in"),
        (([-1.0], [-1.0], [True]), {"undesirable_weight": -1.0}, ValueError, "undesirable_weight must lie in"),
        (([-1.0], [-1.0], [True]), {"beta": -1.0}, ValueError, "beta must lie in"),
        (([-1.0], [-1.0], None), {}, TypeError, "desirable must be a tensor"),
    ],
)
def test_kto_refuses_bad_input(args, kwargs, error, match):
    kwargs = {"policy_kl_logps": [-1.0], "ref_kl_logps": [-1.0], **kwargs}
    with pytest.raises(error, match=match):
        kto_loss(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# every loss: reductions
# ---------------------------------------------------------------------------------------


def _all_losses(reduction):
    pc, pr, rc, rr = _logps(7, seed=32)
    desirable = torch.arange(7) % 2 == 0
    return [
        bradley_terry_loss(pc, pr, reduction=reduction),
        dpo_loss(pc, pr, rc, rr, label_smoothing=0.1, reduction=reduction),
        ipo_loss(pc, pr, rc, rr, reduction=reduction),
        kto_loss(pc, rc, desirable, policy_kl_logps=pr, ref_kl_logps=rr, reduction=reduction),
    ]


def test_reductions_are_mean_and_sum_of_the_per_example_losses():
    for per_example, mean, total in zip(_all_losses("none"), _all_losses("mean"), _all_losses("sum"), strict=True):
        assert per_example.shape == (7,)
        torch.testing.assert_close(mean, per_example.mean(), rtol=1e-15, atol=0)
        torch.testing.assert_close(total, per_example.sum(), rtol=1e-15, atol=0)


def test_batch_axes_are_kept_by_reduction_none():
    pc, pr, rc, rr = (x.reshape(2, 3) for x in _logps(6, seed=33))
    assert dpo_loss(pc, pr, rc, rr, reduction="none").shape == (2, 3)
    torch.testing.assert_close(dpo_loss(pc, pr, rc, rr), dpo_loss(pc, pr, rc, rr, reduction="none").mean())
