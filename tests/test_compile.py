"""A representative few objectives compiled with ``torch.compile(fullgraph=True)`` in CI.

Compiling costs seconds per objective on 2 cores, so CI checks one of each kind here: a
hand-written autograd function (focal), the logits form of ``kl`` (a custom function behind a
dtype-dependent choice) and the CRF (whose fast path reads the data in eager mode and switches to
the textbook recursion under compile). ``make compile-check`` (tools/check_compiled.py) checks
every objective.
"""

from __future__ import annotations

import importlib.util
import pathlib

import pytest
from objectives import OBJECTIVES

TOOL = pathlib.Path(__file__).resolve().parent.parent / "tools" / "check_compiled.py"
REPRESENTATIVE = ("classification.focal", "divergences.kl logits", "structured.crf_nll")


def _checker():
    if not TOOL.exists():  # the installed-wheel run copies tests/ only
        pytest.skip("tools/check_compiled.py is not beside the tests")
    spec = importlib.util.spec_from_file_location("check_compiled", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.check


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_compiled_equals_eager_without_graph_breaks(name):
    (objective,) = [o for o in OBJECTIVES if o.name == name]
    assert objective.compiles
    problem = _checker()(objective)
    assert problem == "", problem


def test_every_objective_that_does_not_compile_says_why():
    for objective in OBJECTIVES:
        assert objective.compiles or objective.why_not, objective.name
