"""Run every benchmark case: ``python benchmarks/run.py [substring ...]``.

Cases live in ``benchmarks/bench_*.py`` files as a module-level list ``CASES`` of
:class:`harness.Case`. Prints one line per case with the median ratio objlib / peer and
exits 1 if any case misses its target.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import run_case  # noqa: E402


def load_cases():
    cases = []
    for path in sorted(HERE.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cases.extend(module.CASES)
    return cases


def main(argv: list[str]) -> int:
    wanted = argv[1:]
    cases = [c for c in load_cases() if not wanted or any(w in c.name for w in wanted)]
    if not cases:
        print("no benchmark cases matched", wanted)
        return 1
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} thread(s); ratio = objlib / peer, median of interleaved rounds")
    print(f"{'case':<58} {'peer':<34} {'objlib ms':>10} {'peer ms':>10} {'ratio':>7} {'target':>7}")
    missed = []
    for case in cases:
        r = run_case(case)
        target = "" if r["target"] is None else f"<={r['target']:.2f}"
        flag = "" if r["ok"] else "  MISS"
        times = f"{r['ours_ms']:>10.3f} {r['peer_ms']:>10.3f} {r['ratio']:>7.2f}"
        print(f"{r['name']:<58} {r['peer']:<34} {times} {target:>7}{flag}", flush=True)
        if not r["ok"]:
            missed.append(r["name"])
    if missed:
        print(f"{len(missed)} case(s) missed their target: {', '.join(missed)}")
        return 1
    print(f"all {len(cases)} case(s) within target")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
