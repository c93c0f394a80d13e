"""Compile every objlib objective with ``torch.compile(fullgraph=True)`` and compare with eager.

    python tools/check_compiled.py [substring ...]

Value checks are off (they read data, which does not compile). For each objective of
``tests/objectives.py`` marked ``compiles``: the compiled value must equal the eager one (float64,
rtol 1e-9) and so must the gradients of its ``grad`` arguments. A graph break is a failure
(``fullgraph=True`` raises). Objectives marked ``compiles=False`` are listed with the reason.
Exits 1 on any failure. A first compile costs seconds per objective on 2 cores: this is a
``make`` target, not a unit test; ``tests/test_compile.py`` runs a few of these in CI.
"""

from __future__ import annotations

import pathlib
import sys
import time
import warnings

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from objectives import OBJECTIVES, Objective  # noqa: E402

import objlib  # noqa: E402


def _leaves(objective: Objective, args: dict) -> dict:
    return {k: v.clone().requires_grad_() if k in objective.grad else v for k, v in args.items()}


def _outputs(out) -> list[torch.Tensor]:
    outs = out if isinstance(out, tuple) else (out,)
    return [o for o in outs if isinstance(o, torch.Tensor)]


def check(objective: Objective) -> str:
    """'' if compiled and eager agree, else what went wrong."""
    torch._dynamo.reset()
    compiled = torch.compile(objective.fn, fullgraph=True, dynamic=False)
    args = objective.args()
    with objlib.value_checks(False):
        eager_args, compiled_args = _leaves(objective, args), _leaves(objective, args)
        eager = _outputs(objective.fn(*eager_args.values(), **objective.kwargs))
        try:
            result = _outputs(compiled(*compiled_args.values(), **objective.kwargs))
        except Exception as err:  # noqa: BLE001 - report every way compiling can fail
            return f"does not compile: {type(err).__name__}: {str(err).splitlines()[0][:160]}"
    for e, c in zip(eager, result, strict=True):
        if e.is_floating_point() and not torch.allclose(e, c, rtol=1e-9, atol=1e-12, equal_nan=True):
            return f"compiled value differs: {c} against eager {e}"
        if not e.is_floating_point() and not torch.equal(e, c):
            return "compiled output differs"
    if objective.grad:
        floating = [o for o in eager if o.is_floating_point()]
        eager_grads = torch.autograd.grad(floating[0].sum(), [eager_args[k] for k in objective.grad])
        compiled_grads = torch.autograd.grad(result[0].sum(), [compiled_args[k] for k in objective.grad])
        for name, e, c in zip(objective.grad, eager_grads, compiled_grads, strict=True):
            if not torch.allclose(e, c, rtol=1e-9, atol=1e-12):
                return f"compiled gradient in {name} differs by {(e - c).abs().max().item():.2e}"
    return ""


def main(argv: list[str]) -> int:
    wanted = argv[1:]
    chosen = [o for o in OBJECTIVES if not wanted or any(w in o.name for w in wanted)]
    failures = []
    for objective in chosen:
        if not objective.compiles:
            print(f"{objective.name:<48} not compiled: {objective.why_not}")
            continue
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            problem = check(objective)
        status = problem or "ok, compiled = eager (value and gradient)"
        print(f"{objective.name:<48} {time.perf_counter() - start:6.1f} s  {status}", flush=True)
        if problem:
            failures.append(objective.name)
    if failures:
        print(f"{len(failures)} objective(s) failed: {', '.join(failures)}")
        return 1
    print(f"all {sum(o.compiles for o in chosen)} compilable objective(s) compile with fullgraph=True")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
