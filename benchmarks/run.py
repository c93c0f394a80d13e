"""Run every benchmark case: ``python benchmarks/run.py [--threads LIST] [substring ...]``.

Cases live in ``benchmarks/bench_*.py`` files as a module-level list ``CASES`` of
:class:`harness.Case`. Prints one line per case and thread count with the median ratio
objlib / peer, and exits 1 if any case misses its target at any thread count.

``--threads`` is a comma-separated list of intra-op thread counts, ``default`` meaning torch's
own choice; the default ``1,default`` runs every case at one thread and at the default count
(once if they are equal). The machine's load average is printed with the results, since
timings on a shared machine depend on it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
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


def thread_counts(spec: str) -> list[int]:
    default = torch.get_num_threads()
    counts = []
    for item in spec.split(","):
        count = default if item.strip() == "default" else int(item)
        if count not in counts:
            counts.append(count)
    return counts


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,default", help="comma-separated thread counts (default: 1,default)")
    parser.add_argument("wanted", nargs="*", help="run only the cases whose name contains one of these")
    options = parser.parse_args(argv[1:])
    cases = [c for c in load_cases() if not options.wanted or any(w in c.name for w in options.wanted)]
    if not cases:
        print("no benchmark cases matched", options.wanted)
        return 1
    counts = thread_counts(options.threads)
    print(
        f"torch {torch.__version__}, default {torch.get_num_threads()} thread(s), {os.cpu_count()} CPU(s), "
        f"load average {load_average()}; ratio = objlib / peer, median of interleaved rounds"
    )
    print(f"{'case':<58} {'peer':<34} {'thr':>3} {'objlib ms':>10} {'peer ms':>10} {'ratio':>7} {'target':>7}")
    missed = []
    for case in cases:
        for count in counts:
            r = run_case(case, threads=count)
            target = "" if r["target"] is None else f"<={r['target']:.2f}"
            flag = "" if r["ok"] else "  MISS"
            times = f"{r['ours_ms']:>10.3f} {r['peer_ms']:>10.3f} {r['ratio']:>7.2f}"
            print(f"{r['name']:<58} {r['peer']:<34} {r['threads']:>3} {times} {target:>7}{flag}", flush=True)
            if not r["ok"]:
                missed.append(f"{r['name']} ({r['threads']} thread(s))")
    print(f"load average at the end: {load_average()}")
    if missed:
        print(f"{len(missed)} case(s) missed their target: {', '.join(missed)}")
        return 1
    print(f"all {len(cases)} case(s) within target at {', '.join(map(str, counts))} thread(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
