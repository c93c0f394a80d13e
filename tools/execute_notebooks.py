"""Re-execute notebooks in place, so their stored outputs are those of the current code.

    python tools/execute_notebooks.py [chapters/NN_name.ipynb ...]   (default: every chapter)

Each notebook runs in a fresh kernel from this Python environment, with ``chapters/`` as
the working directory (as nbval and the book build do), and volatile metadata is dropped
so that re-running leaves unchanged notebooks byte-identical.
"""

from __future__ import annotations

import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent


def execute(path: pathlib.Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> int:
    paths = [pathlib.Path(a) for a in argv[1:]] or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in paths:
        seconds = execute(path.resolve())
        print(f"executed {path} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
