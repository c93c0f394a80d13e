"""A pytest plugin that records, per notebook, what nbval found: run time, result, and a key.

    python -m pytest -p tools.nbval_record --nbval ... chapters/

The key hashes everything a notebook's outputs depend on: the notebook itself (its code and its
stored outputs), the library under objlib/, the pinned requirements and nbval's sanitising
rules. A notebook whose key matches a passing entry of the record has stored outputs that nbval
has shown to be what the current code prints, so the book, the student edition and the PDF can
be built from them without executing it again (tools/verify_outputs.py). The record also feeds
the book's execution status page (_ext/book_status.py).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import pathlib
import platform
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECORD = ROOT / "_build" / "execution.json"
# What every notebook's outputs depend on besides the notebook itself.
SHARED_INPUTS = ("requirements.txt", "tools/nbval_sanitize.cfg")


def _hash_files(paths) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def library_key() -> str:
    files = [p for p in (ROOT / "objlib").rglob("*.py") if "__pycache__" not in p.parts]
    return _hash_files(files + [ROOT / p for p in SHARED_INPUTS])


def notebook_key(path: pathlib.Path, library: str | None = None) -> str:
    digest = hashlib.sha256(path.read_bytes())
    digest.update((library or library_key()).encode())
    return digest.hexdigest()


def read_record(path: pathlib.Path = RECORD) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _notebook_of(nodeid: str) -> str | None:
    file = nodeid.split("::", 1)[0]
    return file if file.endswith(".ipynb") else None


def _code_cells(path: pathlib.Path) -> int:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return sum(1 for c in cells if c["cell_type"] == "code")


class _Recorder:
    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.items: dict[str, set[str]] = {}
        self.failed: dict[str, list[str]] = {}
        self.started = time.time()

    def pytest_runtest_logreport(self, report):
        notebook = _notebook_of(report.nodeid)
        if notebook is None:
            return
        self.seconds[notebook] = self.seconds.get(notebook, 0.0) + report.duration
        if report.when == "call":
            self.items.setdefault(notebook, set()).add(report.nodeid)
        if report.failed:
            self.failed.setdefault(notebook, []).append(report.nodeid.split("::", 1)[1])

    def pytest_sessionfinish(self, session):
        if not self.seconds:
            return
        record = read_record()
        library = library_key()
        checked = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        for notebook, seconds in self.seconds.items():
            path = ROOT / notebook
            complete = len(self.items.get(notebook, ())) == _code_cells(path)
            failed = self.failed.get(notebook, [])
            record[notebook] = {
                "key": notebook_key(path, library),
                "passed": complete and not failed,
                "complete": complete,
                "failed_cells": failed,
                "seconds": round(seconds, 1),
                "checked": checked,
                "threads": os.environ.get("OMP_NUM_THREADS", "default"),
                "python": platform.python_version(),
            }
        RECORD.parent.mkdir(parents=True, exist_ok=True)
        tmp = RECORD.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(sorted(record.items())), indent=1) + "\n")
        tmp.replace(RECORD)


def pytest_configure(config):
    # Under pytest-xdist the controller sees every worker's reports: only it writes the record.
    if not hasattr(config, "workerinput") and config.getoption("nbval", False) is not False:
        config.pluginmanager.register(_Recorder(), "nbval-record")
