"""objlib.regression and objlib.classification against the implementation a user would call.

Forward + backward. Regression and binary losses on 10**6 float32 elements; cross-entropy
on 4096 x 1000 logits. The peers are PyTorch's fused kernels, and for the focal loss the
formula of ``torchvision.ops.sigmoid_focal_loss`` written out in torch (torchvision itself
is not a dependency). objlib's time includes its input checks (shapes, label domains).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from harness import Case

from objlib import classification as C
from objlib import regression as R

N = 10**6
BATCH, CLASSES = 4096, 1000


def _regression_inputs():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(N, generator=g).requires_grad_()
    target = torch.randn(N, generator=g)
    return pred, target


def _binary_inputs():
    g = torch.Generator().manual_seed(1)
    logits = (3 * torch.randn(N, generator=g)).requires_grad_()
    targets = (torch.rand(N, generator=g) < 0.1).float()  # 10% positives
    return logits, targets


def _soft_binary_inputs():
    g = torch.Generator().manual_seed(2)
    logits = (3 * torch.randn(N, generator=g)).requires_grad_()
    targets = torch.rand(N, generator=g)
    return logits, targets


def _ce_inputs():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(BATCH, CLASSES, generator=g).requires_grad_()
    target = torch.randint(0, CLASSES, (BATCH,), generator=g)
    return logits, target


def torchvision_focal(logits, targets, gamma=2.0, alpha=0.25):
    """The formula of torchvision.ops.sigmoid_focal_loss (v0.19), with a mean reduction."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss.mean()


CASES = [
    Case("regression.mse fwd+bwd 1e6", _regression_inputs, R.mse, F.mse_loss, "F.mse_loss", target=1.2),
    Case("regression.mae fwd+bwd 1e6", _regression_inputs, R.mae, F.l1_loss, "F.l1_loss", target=1.2),
    Case(
        "regression.huber fwd+bwd 1e6",
        _regression_inputs,
        lambda p, t: R.huber(p, t, delta=1.0),
        lambda p, t: F.huber_loss(p, t, delta=1.0),
        "F.huber_loss",
        target=1.2,
    ),
    Case(
        "classification.binary_cross_entropy fwd+bwd 1e6",
        _soft_binary_inputs,
        C.binary_cross_entropy,
        F.binary_cross_entropy_with_logits,
        "F.binary_cross_entropy_with_logits",
        target=1.2,
    ),
    Case(
        "classification.cross_entropy fwd+bwd 4096x1000",
        _ce_inputs,
        C.cross_entropy,
        F.cross_entropy,
        "F.cross_entropy",
        target=1.2,
    ),
    Case(
        "classification.cross_entropy smoothing=0.1 fwd+bwd 4096x1000",
        _ce_inputs,
        lambda z, y: C.cross_entropy(z, y, label_smoothing=0.1),
        lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1),
        "F.cross_entropy(label_smoothing=0.1)",
        target=1.2,
    ),
    Case(
        "classification.focal fwd+bwd 1e6",
        _binary_inputs,
        C.focal,
        torchvision_focal,
        "torchvision focal formula (torch)",
        target=0.8,
    ),
]
