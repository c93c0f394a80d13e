"""The whole-book PDF (`make pdf`): every page of the book, every chapter title, math typeset.

Run after `make pdf` (`make test` does both). Sphinx writes inline and display math into the
HTML between \\( \\) and \\[ \\]; the PDF is printed after MathJax has replaced them, so finding
one in the PDF's text means a formula was printed as raw TeX.
"""

from __future__ import annotations

import json
import pathlib
import re
import unicodedata

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PDF = ROOT / "_build" / "pdf" / "objectives.pdf"
RAW_TEX = re.compile(r"\\[(\[]|\\begin\{|\$\$")


def _squeeze(text: str) -> str:
    """One space between words, and typographic ligatures ("ﬁ") as their letters."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


@pytest.fixture(scope="module")
def pages() -> list[str]:
    from pypdf import PdfReader

    if not PDF.exists():
        pytest.fail("no _build/pdf/objectives.pdf: run `make pdf` first")
    stale = [p.name for p in (ROOT / "chapters").glob("*.ipynb") if p.stat().st_mtime > PDF.stat().st_mtime]
    assert not stale, f"the PDF is older than {stale[:3]}: run `make pdf` again"
    return [page.extract_text() or "" for page in PdfReader(PDF).pages]


def _toc_documents() -> list[str]:
    return re.findall(r"^\s*(?:root:|- file:)\s*(\S+)", (ROOT / "_toc.yml").read_text(), flags=re.M)


def test_every_page_of_the_book_starts_a_page_of_the_pdf(pages):
    # Each document of the toc begins on a new sheet, and the chapters are longer than one.
    assert len(pages) >= len(_toc_documents()) + 2 * len(list((ROOT / "chapters").glob("*.ipynb")))


def test_every_chapter_title_is_in_the_pdf(pages):
    text = _squeeze(" ".join(pages))
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        title = next(c for c in cells if c["cell_type"] == "markdown")["source"][0].lstrip("# ").strip()
        assert _squeeze(title) in text, f"the PDF does not contain the title of {path.name}: {title!r}"


def test_the_worked_solutions_are_printed_unfolded(pages):
    text = _squeeze(" ".join(pages))
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            prose = re.sub(r"\A```\{solution-start\}[^`]*```", "", "".join(cell["source"])).strip()
            if cell["cell_type"] == "markdown" and "{solution-start}" in "".join(cell["source"]) and prose:
                words = _squeeze(re.split(r"[$`*{]", prose)[0])[:40]
                assert words in text, f"the PDF does not print the solution of {path.name} that begins {words!r}"
                break


def test_no_formula_is_printed_as_raw_tex(pages):
    raw = [(n, m.group()) for n, page in enumerate(pages, start=1) for m in RAW_TEX.finditer(page)]
    assert not raw, f"raw TeX on pages {sorted({n for n, _ in raw})[:10]}"


def test_the_checks_can_fail():
    assert RAW_TEX.search(r"the risk \(R(h)\) of h") and RAW_TEX.search("$$x$$")
    assert not RAW_TEX.search("R(h) = E[L(h(x), y)]")
