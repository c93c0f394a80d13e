"""The map of the book that closes chapter 14: every objlib module, its family and its chapters.

Almost everything on the map is read from objlib itself, so the map cannot drift from the code:

* the modules: :data:`objlib._SUBMODULES`, then any other public module file of the package
  (one that a new chapter added before it was listed there);
* each module's public names: its ``__all__`` (or, for a module without one, the functions
  and classes it defines under a public name);
* the family of objectives a module holds: the first line of its docstring, up to a colon,
  without a "(chapter N)" reference.

The one thing the code cannot say is which chapter teaches a module. That is the table
:data:`TAUGHT_IN`, and ``tests/test_book_map.py`` checks it against the chapters: every
chapter it names exists and uses the module.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType
from typing import NamedTuple

import objlib

# Module -> the chapter files (stems in chapters/) that teach it, in book order.
TAUGHT_IN: dict[str, tuple[str, ...]] = {
    "erm": ("02_erm_vc_theory",),
    "classification": ("03_surrogate_losses", "04_loss_catalogue"),
    "metrics": ("03_surrogate_losses", "04_loss_catalogue", "13_training_vs_evaluation"),
    "regression": ("04_loss_catalogue",),
    "divergences": ("05_divergences",),
    "ranking": ("06_ranking_structured",),
    "structured": ("06_ranking_structured",),
    "self_supervised": ("07_self_supervised",),
    "generative": ("08_generative",),
    "rl": ("09_reinforcement_learning",),
    "envs": ("09_reinforcement_learning", "12_specification_gaming"),
    "preference": ("10_preference_finetuning",),
    "multitask": ("11_multi_objective",),
    "gaming": ("12_specification_gaming",),
    "meta": ("13_training_vs_evaluation",),
    "optim": ("13_training_vs_evaluation",),
}

# Modules that hold no objective, only tools every chapter uses; the map lists them apart,
# together with the functions of the package itself.
HELPERS: tuple[str, ...] = ("plotting",)

_CHAPTER_REFERENCE = re.compile(r"\s*\(chapters? [^)]*\)", flags=re.IGNORECASE)


class Entry(NamedTuple):
    """One row of the map."""

    module: str  # the full name, e.g. "objlib.rl"
    family: str  # what its objectives are, from its docstring
    chapters: tuple[str, ...]  # stems of the chapter files that teach it
    names: tuple[str, ...]  # its public names, in its own order


def public_modules() -> tuple[str, ...]:
    """The short names of objlib's public submodules: the lazily imported ones, then any other."""
    files = {m.name for m in pkgutil.iter_modules(objlib.__path__) if not m.name.startswith("_")}
    listed = tuple(objlib._SUBMODULES)
    return (*listed, *sorted(files - set(listed)))


def public_names(module: ModuleType) -> tuple[str, ...]:
    """A module's ``__all__``, or the functions and classes it defines under a public name."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return tuple(names)
    return tuple(
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__
    )


def family(module: ModuleType) -> str:
    """The family of objectives a module holds: its docstring's first line, up to a colon."""
    lines = (module.__doc__ or "").strip().splitlines()
    if not lines:
        raise ValueError(f"module {module.__name__} has no docstring to name its family by")
    first, _, rest = lines[0].partition(": ")
    if first == module.__name__.rsplit(".", 1)[-1] and rest:  # "objlib: the training ..."
        first = rest
    return _CHAPTER_REFERENCE.sub("", first).strip().rstrip(".")


def _entry(name: str, chapters: tuple[str, ...]) -> Entry:
    module = importlib.import_module(f"objlib.{name}")
    return Entry(module.__name__, family(module), chapters, public_names(module))


def book_map() -> list[Entry]:
    """One entry per objective module, in the order the book first teaches them.

    >>> [entry.module for entry in book_map()][:3]
    ['objlib.erm', 'objlib.classification', 'objlib.metrics']
    """
    names = [m for m in public_modules() if m not in HELPERS]
    untaught = [m for m in names if m not in TAUGHT_IN]
    if untaught:
        raise ValueError(f"objlib/_book_map.py: add the chapters that teach {untaught} to TAUGHT_IN")
    order = {name: k for k, name in enumerate(names)}
    names.sort(key=lambda m: (TAUGHT_IN[m][0], order[m]))
    return [_entry(m, TAUGHT_IN[m]) for m in names]


def helpers() -> list[Entry]:
    """The package's own functions and the helper modules, used by every chapter."""
    own = tuple(n for n in objlib.__all__ if n not in objlib._SUBMODULES and n != "__version__")
    return [Entry("objlib", family(objlib), (), own), *(_entry(m, ()) for m in HELPERS)]
