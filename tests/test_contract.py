"""objlib exposes every public name that ../shared/objlib-contract.md fixes, documented as
CONVENTIONS.md asks: a summary line, the formula in LaTeX, the source, and a worked example."""

import importlib
import inspect
import re

import pytest

# The contract's names, by module, for the chapters that exist so far.
CONTRACT = {
    "regression": ["mse", "mae", "huber", "quantile", "log_cosh"],
    "classification": [
        "zero_one",
        "hinge",
        "multiclass_hinge",
        "logistic",
        "binary_cross_entropy",
        "cross_entropy",
        "focal",
    ],
    "metrics": [
        "accuracy",
        "f1_score",
        "expected_calibration_error",
        "recall_at_k",
        "f1_optimal_threshold",
        "fit_temperature",
    ],
    "divergences": [
        "kl",
        "js",
        "wasserstein_1d",
        "sinkhorn",
        "gaussian_kl",
        "sliced_wasserstein",
        "sinkhorn_divergence",
        "distillation_loss",
    ],
    "ranking": ["pairwise_hinge", "ranknet", "lambdarank", "listnet", "dcg", "ndcg"],
    "structured": ["crf_log_partition", "crf_nll", "crf_decode", "structured_hinge"],
    "self_supervised": [
        "masked_token_loss",
        "next_token_loss",
        "info_nce",
        "nt_xent",
        "clip_loss",
        "alignment",
        "uniformity",
    ],
    "generative": [
        "negative_elbo",
        "iwae_bound",
        "flow_nll",
        "gan_discriminator_loss",
        "gan_generator_loss",
        "wgan_critic_loss",
        "wgan_generator_loss",
        "gradient_penalty",
        "linear_beta_schedule",
        "cosine_beta_schedule",
        "q_sample",
        "ddpm_loss",
    ],
    "rl": [
        "discounted_returns",
        "gae",
        "reinforce_loss",
        "actor_critic_loss",
        "ppo_clip_loss",
        "ppo_value_loss",
        "approx_kl",
        "soft_policy_loss",
        "soft_optimal_policy",
        "soft_value",
        "policy_evaluation",
        "value_iteration",
    ],
    "envs": ["MultiArmedBandit", "ShortCorridor", "BoatRace", "BlockStack"],
    "gaming": ["best_of_n_probs", "best_of_n_kl"],
    "preference": [
        "sequence_log_probs",
        "bradley_terry_loss",
        "kl_penalized_reward",
        "dpo_loss",
        "ipo_loss",
        "kto_loss",
        "implicit_reward",
    ],
    "multitask": [
        "weighted_sum",
        "chebyshev_scalarisation",
        "UncertaintyWeighting",
        "GradNorm",
        "pcgrad",
        "min_norm_weights",
        "pareto_front",
        "hypervolume",
    ],
    "meta": ["maml_inner_step", "unrolled_sgd", "maml_outer_step", "sine_tasks"],
    "optim": ["Lion"],
}
# Objectives (not evaluation metrics): these take `reduction` where the contract says losses do.
# Plain counts with no source paper to cite.
UNCITED_METRICS = {"accuracy", "f1_score", "recall_at_k"}
WITHOUT_REDUCTION = {"zero_one", "crf_log_partition", "crf_decode", "sinkhorn", "wasserstein_1d", "dcg", "ndcg"}
# Each compares two whole point clouds and returns one number.
WITHOUT_REDUCTION |= {"sliced_wasserstein", "sinkhorn_divergence"}
# The log of a mean over pairs (Wang and Isola): there is no per-example value to reduce.
WITHOUT_REDUCTION |= {"uniformity"}
# Noise schedules and the forward process of chapter 8.
WITHOUT_REDUCTION |= {"linear_beta_schedule", "cosine_beta_schedule", "q_sample"}
# Returns, values and solvers of chapter 9 (per-step tensors, not losses), the environments.
WITHOUT_REDUCTION |= {"discounted_returns", "gae", "soft_optimal_policy", "soft_value", "policy_evaluation"}
WITHOUT_REDUCTION |= {"value_iteration", "MultiArmedBandit", "ShortCorridor", "BoatRace", "BlockStack"}
# Chapter 12's best-of-n distribution and its KL are not losses.
WITHOUT_REDUCTION |= {"best_of_n_probs", "best_of_n_kl"}
# Per-sequence quantities of chapter 10 that the losses take as input.
WITHOUT_REDUCTION |= {"sequence_log_probs", "kl_penalized_reward", "implicit_reward"}
# Chapter 11 combines losses that are already reduced; chapter 13's steps, tasks and optimiser.
WITHOUT_REDUCTION |= set(CONTRACT["multitask"]) | set(CONTRACT["meta"]) | set(CONTRACT["optim"])

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
