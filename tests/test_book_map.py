"""Tests for objlib._book_map, the data of chapter 14's map of the book.

The map must cover objlib as it is: every public module, every public name, and for each
module chapters that exist and really use it. The references here are independent of the
map's own code: the package's files on disk and each module's ``__all__``.
"""

import importlib
import json
import pathlib
import re
import types

import pytest

import objlib
from objlib import _book_map

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"


def modules_on_disk():
    """Every public module file of the package, found without the map's helpers."""
    return {p.stem for p in pathlib.Path(objlib.__file__).parent.glob("*.py") if not p.stem.startswith("_")}


def chapter_code(stem):
    cells = json.loads((CHAPTERS / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def uses(code, module):
    """Whether a chapter's code imports or calls objlib.<module>."""
    imported = re.findall(r"^\s*from objlib import ([^\n]+)", code, flags=re.M)
    return bool(re.search(rf"\bobjlib\.{module}\b", code)) or any(
        module in re.findall(r"\w+", names) for names in imported
    )


def test_every_public_module_is_on_the_map_once():
    on_map = [entry.module for entry in _book_map.book_map() + _book_map.helpers()]
    assert len(on_map) == len(set(on_map))
    expected = {f"objlib.{m}" for m in modules_on_disk() | set(objlib._SUBMODULES)} | {"objlib"}
    assert set(on_map) == expected


def test_every_public_name_of_every_module_is_on_the_map():
    listed = {(entry.module, name) for entry in _book_map.book_map() + _book_map.helpers() for name in entry.names}
    expected = set()
    for short in modules_on_disk():
        module = importlib.import_module(f"objlib.{short}")
        names = getattr(module, "__all__", None) or [
            n for n, obj in vars(module).items() if callable(obj) and getattr(obj, "__module__", "") == module.__name__
        ]
        expected |= {(module.__name__, n) for n in names if not n.startswith("_")}
    expected |= {("objlib", n) for n in objlib.__all__ if n not in objlib._SUBMODULES and n != "__version__"}
    assert listed == expected
    for module, name in listed:  # and every one of them exists
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def test_every_chapter_named_exists_and_uses_its_module():
    for entry in _book_map.book_map():
        assert entry.chapters, f"{entry.module} is taught by no chapter"
        assert list(entry.chapters) == sorted(entry.chapters), "chapters in book order"
        short = entry.module.removeprefix("objlib.")
        for stem in entry.chapters:
            assert (CHAPTERS / f"{stem}.ipynb").exists(), f"{entry.module}: no chapter {stem}"
            assert uses(chapter_code(stem), short), f"{stem} never uses {entry.module}"


def test_the_table_names_only_modules_that_exist():
    assert set(_book_map.TAUGHT_IN) <= modules_on_disk()
    assert not set(_book_map.TAUGHT_IN) & set(_book_map.HELPERS)


def test_the_map_runs_in_book_order():
    firsts = [entry.chapters[0] for entry in _book_map.book_map()]
    assert firsts == sorted(firsts)


def test_a_module_missing_from_the_table_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(objlib, "_SUBMODULES", (*objlib._SUBMODULES, "newfamily"))
    with pytest.raises(ValueError, match="newfamily"):
        _book_map.book_map()


def test_the_usage_check_can_fail():
    assert uses("from objlib.rl import gae", "rl") and uses("from objlib import envs, rl", "rl")
    assert uses("x = objlib.rl.gae(r)", "rl")
    assert not uses("from objlib.rl import gae", "envs") and not uses("import objlib.rlx", "rl")


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("Regression losses: the objectives of chapter 4.", "Regression losses"),
        ("Divergences between distributions (chapter 5).", "Divergences between distributions"),
        ("Environments (chapters 9 and 12): small games.", "Environments"),
        ("One look for every figure.", "One look for every figure"),
        ("fake: what the package holds.", "what the package holds"),
    ],
)
def test_family_is_the_first_line_up_to_a_colon(doc, expected):
    module = types.ModuleType("objlib.fake", doc)
    assert _book_map.family(module) == expected


def test_family_of_every_module_is_a_short_phrase():
    for entry in _book_map.book_map():
        assert entry.family and len(entry.family) < 80 and "chapter" not in entry.family.lower()


def test_a_module_without_a_docstring_is_refused_by_name():
    with pytest.raises(ValueError, match="objlib.fake"):
        _book_map.family(types.ModuleType("objlib.fake"))


def test_public_names_without_all_are_the_functions_and_classes_defined_there():
    module = types.ModuleType("objlib.fake")
    exec("import math\nfrom math import sqrt\nCONSTANT = 1\ndef f(): pass\ndef _g(): pass\nclass C: pass", vars(module))
    assert _book_map.public_names(module) == ("f", "C")
    module.__all__ = ["f"]
    assert _book_map.public_names(module) == ("f",)
