"""How many iterations ``objlib.divergences.sinkhorn`` needs at small epsilon.

    python benchmarks/sinkhorn_iterations.py [--problems 40] [--max-iter 30000]

Random 10 x 10 problems (costs uniform in [0, 1], random positive marginals), epsilon = 1e-3,
float64, ``tol = 1e-9`` (the L1 marginal violation): the median and 90th percentile of the
iterations each variant runs before it stops (checked every 10 iterations), and how many did not
converge within ``--max-iter``. Counts, not times: they do not depend on the machine's load.
Not a ``bench_*`` file, so ``run.py`` does not load it.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch

from objlib.divergences import _solve

VARIANTS = {
    "plain Sinkhorn": dict(epsilon_scaling=False, over_relaxation=1.0),
    "epsilon scaling": dict(epsilon_scaling=True, over_relaxation=1.0),
    "epsilon scaling + over_relaxation=1.8": dict(epsilon_scaling=True, over_relaxation=1.8),
}


def problems(count: int, n: int = 10, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    for _ in range(count):
        cost = torch.rand(n, n, generator=g, dtype=torch.float64)
        a = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
        b = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
        yield a / a.sum(), b / b.sum(), cost


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=40)
    parser.add_argument("--max-iter", type=int, default=30_000)
    parser.add_argument("--epsilon", type=float, default=1e-3)
    options = parser.parse_args(argv[1:])
    cases = list(problems(options.problems))
    print(f"{options.problems} random 10 x 10 problems, epsilon = {options.epsilon:g}, tol = 1e-9, float64")
    for name, kwargs in VARIANTS.items():
        counts, failed = [], 0
        for a, b, cost in cases:
            solved = _solve(
                a,
                b,
                cost,
                options.epsilon,
                options.max_iter,
                1e-9,
                kwargs["epsilon_scaling"],
                kwargs["over_relaxation"],
            )
            counts.append(solved.iterations)
            failed += not solved.violation <= 1e-9
        counts.sort()
        p90 = counts[min(len(counts) - 1, int(0.9 * len(counts)))]
        print(f"{name:<40} median {statistics.median(counts):>7.0f}  90th percentile {p90:>6}  not converged {failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
