"""objlib exposes every public name that ../shared/objlib-contract.md fixes, documented as
CONVENTIONS.md asks: a summary line, the formula in LaTeX, the source, and a worked example."""

import importlib
import inspect
import re

import pytest

# The contract's names, by module, for the chapters that exist so far.
CONTRACT = {
    "regression": ["mse", "mae", "huber", "quantile", "log_cosh"],
    "classification": ["zero_one", "hinge", "logistic", "binary_cross_entropy", "cross_entropy", "focal"],
    "metrics": ["accuracy", "f1_score", "expected_calibration_error", "recall_at_k"],
    "divergences": ["kl", "js", "wasserstein_1d", "sinkhorn", "gaussian_kl"],
    "ranking": ["pairwise_hinge", "ranknet", "lambdarank", "listnet", "dcg", "ndcg"],
    "structured": ["crf_log_partition", "crf_nll", "crf_decode", "structured_hinge"],
}
# Objectives (not evaluation metrics): these take `reduction` where the contract says losses do.
# Plain counts with no source paper to cite.
UNCITED_METRICS = {"accuracy", "f1_score", "recall_at_k"}
WITHOUT_REDUCTION = {"zero_one", "crf_log_partition", "crf_decode", "sinkhorn", "wasserstein_1d", "dcg", "ndcg"}

CASES = [(module, name) for module, names in CONTRACT.items() for name in names]


@pytest.mark.parametrize(("module", "name"), CASES)
def test_contract_name_exists_and_is_documented(module, name):
    fn = getattr(importlib.import_module(f"objlib.{module}"), name, None)
    assert callable(fn), f"objlib.{module}.{name} is missing"
    doc = inspect.getdoc(fn) or ""
    summary = doc.split("\n", 1)[0]
    assert summary and summary.endswith("."), f"{name}: the docstring needs a one-line summary sentence"
    assert ".. math::" in doc or ":math:" in doc, f"{name}: the docstring needs the formula in LaTeX"
    assert ">>>" in doc, f"{name}: the docstring needs a worked example"
    if name not in UNCITED_METRICS:
        cites_a_year = re.search(r"\b(1[789]\d\d|20[0-2]\d)\b", doc)
        assert cites_a_year, f"{name}: the docstring must cite its source (author, year)"


@pytest.mark.parametrize(("module", "name"), [c for c in CASES if c[0] != "metrics" and c[1] not in WITHOUT_REDUCTION])
def test_losses_take_a_keyword_only_reduction_defaulting_to_mean(module, name):
    fn = getattr(importlib.import_module(f"objlib.{module}"), name)
    params = inspect.signature(fn).parameters
    assert "reduction" in params, f"{name} has no reduction keyword"
    assert params["reduction"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["reduction"].default == "mean"


def test_every_module_is_listed_by_the_package():
    import objlib

    for module in CONTRACT:
        assert module in dir(objlib)
        assert getattr(objlib, module).__name__ == f"objlib.{module}"
