"""Every chapter follows CONVENTIONS.md: listed in the toc, seeded first, claims asserted,
exercises with executed solutions, citations, stored outputs. (nbval checks the outputs themselves.)"""

import json
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CITED = re.compile(r"\{cite(?::[pt])?\}`([^`]+)`")


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell):
    return "".join(cell["source"])


def _markdown(path):
    """A chapter's prose: its markdown cells, joined."""
    return "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown")


def _bib_keys():
    return set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "references.bib").read_text(), flags=re.M))


def test_there_are_chapters_and_the_toc_lists_them_in_order():
    assert CHAPTERS, "no chapters"
    toc = (ROOT / "_toc.yml").read_text()
    listed = re.findall(r"file: (chapters/\S+)", toc)
    assert listed == [f"chapters/{p.stem}" for p in CHAPTERS], "_toc.yml must list every chapter, in file order"
    assert yaml.safe_load(toc)["root"] == "intro"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_conventions(path):
    cells = _cells(path)
    first_md = next(c for c in cells if c["cell_type"] == "markdown")
    assert re.match(r"# [A-Z]", _source(first_md)), "a chapter opens with '# Title' (the toc numbers it)"
    assert "## Overview" in _source(first_md) or any("## Overview" in _source(c) for c in cells[:3])

    code = [c for c in cells if c["cell_type"] == "code"]
    assert "objlib.seed_everything(" in _source(code[0]), "the first code cell seeds everything"
    assert all(c.get("execution_count") is not None for c in code), "every code cell has stored outputs"
    assert all(o.get("output_type") != "error" for c in code for o in c.get("outputs", [])), "stored errors"
    long_lines = [line for c in code for line in _source(c).splitlines() if len(line) > 88]
    assert not long_lines, f"code lines over 88 characters scroll sideways on a phone: {long_lines[:3]}"
    asserts = sum(len(re.findall(r"^\s*assert ", _source(c), flags=re.M)) for c in code)
    assert asserts >= 5, f"only {asserts} asserts: every checkable claim ends in an assert"

    markdown = _markdown(path)
    exercises = re.findall(r"```\{exercise\}\n:label: (\S+)", markdown)
    assert len(exercises) >= 2, "a chapter ends with exercises"
    for label in exercises:
        assert re.search(rf"```\{{solution-start\}} {re.escape(label)}\n:class: dropdown", markdown), (
            f"exercise {label} needs a worked solution that folds away (solution-start ... :class: dropdown)"
        )
    assert markdown.count("{solution-start}") == markdown.count("{solution-end}")

    keys = {k.strip() for group in CITED.findall(markdown) for k in group.split(",")}
    assert keys, "a chapter cites its sources"
    missing = keys - _bib_keys()
    assert not missing, f"cited but not in references.bib: {sorted(missing)}"


def test_chapters_are_numbered_by_the_toc():
    """Numbers come from the toc, so exercises read 'Exercise 4.3' and never go stale."""
    parts = yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]
    for part in parts:
        if any(c["file"].startswith("chapters/") for c in part["chapters"]):
            assert part.get("numbered"), f"part {part['caption']!r} holds chapters but is not numbered"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_numbered_things_are_referenced_by_label(path):
    """A hand-typed 'Exercise 3' or 'Theorem 2' goes wrong when numbering changes: use {numref}/{prf:ref}."""
    markdown = _markdown(path)
    typed = re.findall(r"\b(?:Exercise|Theorem|Definition|Lemma|Figure|Fig\.) \d", markdown)
    assert not typed, f"hand-typed numbers: {typed}"
    for number, target in re.findall(r"\[Chapter (\d+)\]\(([^)]+)\)", markdown):
        assert (path.parent / target).exists() and target.startswith(f"{int(number):02d}_"), (
            f"[Chapter {number}] links to {target}"
        )
    # Every mention of a chapter is a working link, so a reader can follow it (HTML and JupyterLab).
    assert not _unlinked_chapter_mentions(markdown), f"unlinked: {_unlinked_chapter_mentions(markdown)}"


def _unlinked_chapter_mentions(markdown):
    """'Chapter N' and 'Chapters N and M' written without a [Chapter N](file) link."""
    prose = re.sub(r"\[Chapters? \d+\]\([^)]+\)", "", markdown)
    return re.findall(r"\bChapters? \d+", prose)


def test_unlinked_chapter_mentions_are_caught():
    text = "As [Chapter 3](03_surrogate_losses.ipynb) showed, and Chapter 9 will show; see Chapters 10."
    assert _unlinked_chapter_mentions(text) == ["Chapter 9", "Chapters 10"]


def test_the_intro_lists_every_chapter_under_its_part():
    intro = (ROOT / "intro.md").read_text()
    linked = re.findall(r"\]\(chapters/(\d\d_\w+)\.ipynb\)", intro)
    assert linked == [p.stem for p in CHAPTERS], "intro.md must link every chapter, in order"
    parts = yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]
    for part in parts:
        if any(c["file"].startswith("chapters/") for c in part["chapters"]):
            assert part["caption"] in intro, f"intro.md does not name the part {part['caption']!r}"


def test_exercise_and_theorem_labels_are_unique_across_the_book():
    labels = []
    for path in CHAPTERS:
        labels += re.findall(r"^:label: (\S+)", _markdown(path), flags=re.M)
    duplicates = {label for label in labels if labels.count(label) > 1}
    assert not duplicates, f"labels used twice: {sorted(duplicates)}"
