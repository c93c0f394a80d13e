"""objlib.preference against the formulas a reader would otherwise write in torch.

* ``dpo_loss`` (N = 4096 pairs, float32, forward + backward into the two policy inputs)
  against ``-F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()``, the formula of the paper
  and of TRL's ``loss_type="sigmoid"``: once with value checks off (target <= 1.1x), once
  with them on (no target: the line reports what the NaN checks cost).
* ``sequence_log_probs`` at B = 8, T = 512, V = 32000 (float32, forward + backward) against
  the direct formulation ``log_softmax(logits).gather(...)``, masked and summed. Its time
  has no target; its **peak memory** must not exceed that of a fused ``F.cross_entropy``
  over the same logits. The memory check runs when that case sets up and prints its own
  line above the timing; it raises (failing ``make bench``) if the target is missed.

How the memory is measured: torch's profiler with ``profile_memory=True`` records every
allocation and free of the CPU allocator; ``torch.profiler``'s memory profile
(``prof._memory_profile().timeline``, the data behind ``export_memory_timeline``) lists
them in order, and the peak is the largest running sum of bytes created minus bytes
destroyed during one forward + backward, starting with no gradient stored. The logits
themselves exist before and are not counted; the gradient that backward returns is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from harness import Case
from torch.profiler import ProfilerActivity, profile
from torch.profiler._memory_profiler import Action

import objlib
from objlib.preference import dpo_loss, sequence_log_probs

PAIRS = 4096
BETA = 0.1
BATCH, LENGTH, VOCAB = 8, 512, 32000
MiB = 2**20


def _dpo_inputs():
    g = torch.Generator().manual_seed(0)
    logps = [-200 * torch.rand(PAIRS, generator=g) for _ in range(4)]  # summed log-probabilities
    logps[0].requires_grad_()
    logps[1].requires_grad_()
    return logps


def _dpo_formula(pc, pr, rc, rr):
    return -F.logsigmoid(BETA * ((pc - rc) - (pr - rr))).mean()


def _dpo_unchecked(pc, pr, rc, rr):
    previous = objlib.set_value_checks(False)
    try:
        return dpo_loss(pc, pr, rc, rr, beta=BETA)
    finally:
        objlib.set_value_checks(previous)


def _sequence_inputs():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(BATCH, LENGTH, VOCAB, generator=g).requires_grad_()
    tokens = torch.randint(0, VOCAB, (BATCH, LENGTH), generator=g)
    lengths = torch.randint(LENGTH // 4, LENGTH + 1, (BATCH,), generator=g)
    mask = torch.arange(LENGTH) < lengths[:, None]  # right padding
    mask[:, :32] = False  # and a prompt
    return logits, tokens, mask


def _log_softmax_gather(logits, tokens, mask):
    token_logps = logits.log_softmax(-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    return token_logps.masked_fill(~mask, 0).sum()


def _fused_cross_entropy(logits, tokens, mask):
    targets = tokens.masked_fill(~mask, -100).reshape(-1)
    return -F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets, reduction="none").sum()


def peak_bytes(fn, logits, tokens, mask) -> int:
    """Peak of bytes allocated minus bytes freed during ``fn(...).backward()``."""
    logits.grad = None
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True, with_stack=True) as prof:
        fn(logits, tokens, mask).backward()
    logits.grad = None
    live = peak = 0
    for _, action, _, size in prof._memory_profile().timeline:
        if action == Action.CREATE:
            live += size
        elif action == Action.DESTROY:
            live -= size
        peak = max(peak, live)
    return peak


def memory_report(inputs) -> None:
    """Print the peak memory of sequence_log_probs and of F.cross_entropy; raise if ours is larger."""
    one = inputs[0].numel() * inputs[0].element_size()
    ours = peak_bytes(lambda *a: sequence_log_probs(*a).sum(), *inputs)
    fused = peak_bytes(_fused_cross_entropy, *inputs)
    direct = peak_bytes(_log_softmax_gather, *inputs)
    print(
        f"preference.sequence_log_probs peak memory, fwd+bwd, (B, T, V) = ({BATCH}, {LENGTH}, {VOCAB}): "
        f"objlib {ours / MiB:.0f} MiB, F.cross_entropy {fused / MiB:.0f} MiB, log_softmax+gather "
        f"{direct / MiB:.0f} MiB (one (B, T, V) float32 tensor = {one / MiB:.0f} MiB); "
        f"ratio objlib / F.cross_entropy {ours / fused:.2f} (target <= 1.00)",
        flush=True,
    )
    if ours > fused:
        raise AssertionError(f"sequence_log_probs peaks at {ours} bytes, above F.cross_entropy's {fused}")


def _sequence_case_inputs():
    inputs = _sequence_inputs()
    memory_report(inputs)
    return inputs


CASES = [
    Case(
        name="preference.dpo_loss 4096 fwd+bwd (checks off)",
        make_inputs=_dpo_inputs,
        ours=_dpo_unchecked,
        peer=_dpo_formula,
        peer_name="-logsigmoid(beta * delta) in torch",
        target=1.1,
        rounds=201,
    ),
    Case(
        name="preference.dpo_loss 4096 fwd+bwd (checks on)",
        make_inputs=_dpo_inputs,
        ours=lambda *a: dpo_loss(*a, beta=BETA),
        peer=_dpo_formula,
        peer_name="-logsigmoid(beta * delta) in torch",
        rounds=201,
    ),
    Case(
        name="preference.sequence_log_probs 8x512x32000 fwd+bwd",
        make_inputs=_sequence_case_inputs,
        ours=lambda *a: sequence_log_probs(*a).sum(),
        peer=_log_softmax_gather,
        peer_name="log_softmax + gather, masked sum",
        rounds=5,
    ),
]

if __name__ == "__main__":
    memory_report(_sequence_inputs())
