"""Refuse to build from stored outputs that nbval has not shown to be current.

    python tools/verify_outputs.py [--jobs N] [notebooks ...]   (default: every chapter)

The book, the student edition and the PDF are built from the outputs stored in the notebooks,
without executing them. This runs first: a notebook whose record entry (tools/nbval_record.py)
matches its current key (the notebook, objlib, the pins) has passed nbval already and is not run
again; every other notebook is checked by nbval now, once, and the record is updated. After
`make test`'s nbval pass nothing is run here; after editing one chapter only that chapter is;
after a change to objlib every chapter is. Exits non-zero, naming the notebooks, when a notebook
prints something other than what it stores.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from nbval_record import ROOT, library_key, notebook_key, read_record  # noqa: E402

NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tools/nbval_sanitize.cfg"]


def stale(paths: list[pathlib.Path]) -> list[pathlib.Path]:
    record, library = read_record(), library_key()
    out = []
    for path in paths:
        entry = record.get(path.relative_to(ROOT).as_posix(), {})
        if not (entry.get("passed") and entry.get("key") == notebook_key(path, library)):
            out.append(path)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "chapters").glob("*.ipynb"))
    todo = stale(paths)
    if not todo:
        print(f"verify_outputs: the stored outputs of all {len(paths)} notebooks passed nbval already")
        return 0
    names = [p.relative_to(ROOT).as_posix() for p in todo]
    print(f"verify_outputs: checking {len(todo)} of {len(paths)} notebooks with nbval: {' '.join(names)}")
    jobs = ["-n", str(min(args.jobs, len(todo))), "--dist", "loadscope"] if args.jobs > 1 and len(todo) > 1 else []
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tools.nbval_record", *jobs, *NBVAL, *names]
    # One OpenMP thread per notebook, as in `make test` (the chapters fix torch's threads too).
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    subprocess.run(command, cwd=ROOT, env=env, check=False)
    still = stale(todo)
    if still:
        names = " ".join(p.relative_to(ROOT).as_posix() for p in still)
        print(
            f"verify_outputs: the stored outputs of {names} are not what the current code prints.\n"
            f"Refresh them with `.venv/bin/python tools/execute_notebooks.py {names}` (or `make outputs`), "
            "check the diff, and build again.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
