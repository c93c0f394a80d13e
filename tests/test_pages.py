"""The back-matter pages cannot drift from the chapters, and a course's launch buttons work.

- glossary.md: every `{term}` the book uses is defined there, and every entry names the chapter
  that develops the term, which must use it.
- notation.md: every symbol is written in its chapter exactly as the table gives it, and every
  objlib argument (or function, or attribute) the table cites exists.
- launch buttons: none by default (checked on the built book by tests/test_book_browser.py); with
  a repository and a JupyterHub in _config.yml, a chapter built here shows one that opens it there.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
TERM_ROLE = re.compile(r"\{term\}`([^`\n]+)`")


def _markdown(path: pathlib.Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def _loose(text: str) -> str:
    """Lower case, hyphens as spaces, runs of white space as one space."""
    return re.sub(r"\s+", " ", text.lower().replace("-", " "))


def glossary() -> dict[str, str]:
    """Term -> its definition, from the {glossary} block of glossary.md."""
    block = _markdown(ROOT / "glossary.md").split("```{glossary}", 1)[1].split("```", 1)[0]
    entries = re.findall(r"^(\S[^\n]*)\n((?:[ ]{2}[^\n]*\n?)+)", block, flags=re.M)
    return {term.strip(): " ".join(line.strip() for line in body.splitlines()) for term, body in entries}


def test_glossary_entries_are_alphabetical_and_name_a_chapter_that_uses_them():
    terms = glossary()
    assert len(terms) >= 20
    assert list(terms) == sorted(terms, key=str.lower), "keep the glossary in alphabetical order"
    for term, definition in terms.items():
        link = re.search(r"Developed in \[Chapter (\d+)\]\((chapters/(\d\d)_\w+\.ipynb)\)\.", definition)
        assert link, f"glossary: {term!r} does not end with 'Developed in [Chapter N](chapters/NN_name.ipynb).'"
        number, path, prefix = link.groups()
        assert int(number) == int(prefix) and (ROOT / path).exists(), (
            f"glossary: {term!r} links {path} as Chapter {number}"
        )
        assert _loose(term) in _loose(_markdown(ROOT / path)), f"glossary: {path} never says {term!r}"


def test_every_term_the_book_links_is_defined_in_the_glossary():
    defined = {_loose(t) for t in glossary()}
    pages = [*CHAPTERS, *ROOT.glob("*.md")]
    for page in pages:
        text = re.sub(r"``.*?``", "", _markdown(page), flags=re.S)  # a role shown as code is no link
        for role in TERM_ROLE.findall(text):
            target = re.search(r"<([^>]+)>\s*$", role)
            term = (target.group(1) if target else role).strip()
            assert _loose(term) in defined, f"{page.name} links {{term}}`{role}`, which glossary.md does not define"


def notation() -> list[tuple[str, str, str]]:
    """(chapter path, symbol TeX, objlib reference) for every row of notation.md."""
    rows = []
    for section in re.split(r"^## ", _markdown(ROOT / "notation.md"), flags=re.M)[1:]:
        chapter = re.search(r"\((chapters/[^)]+\.ipynb)\)", section).group(1)
        for symbols, _meaning, where in re.findall(r"^\| (\$.*?) \| (.*?) \|\s*(.*?)\s*\|$", section, flags=re.M):
            for symbol in re.findall(r"\$([^$]+)\$", symbols):
                rows.append((chapter, symbol, where.strip()))
    return rows


def test_every_notation_symbol_is_written_so_in_its_chapter():
    rows = notation()
    assert len(rows) >= 30
    squeeze = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    for chapter, symbol, _ in rows:
        assert squeeze(symbol) in squeeze(_markdown(ROOT / chapter)), f"notation.md: {chapter} never writes ${symbol}$"


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(dotted)


def test_every_objlib_argument_the_notation_cites_exists():
    cited = [where for _, _, where in notation() if where]
    assert cited
    for where in cited:
        match = re.fullmatch(r"`(objlib\.[\w.]+)(?:\((\w+)\))?`", where)
        assert match, f"notation.md: write the objlib column as `objlib.module.function(argument)`, not {where}"
        dotted, argument = match.groups()
        try:
            obj = _resolve(dotted)
        except (ModuleNotFoundError, AttributeError):
            pytest.fail(f"notation.md cites {dotted}, which objlib does not have")
        if argument:
            assert argument in inspect.signature(obj).parameters, (
                f"notation.md: {dotted} takes no argument {argument!r}"
            )


def _one_chapter_book(tmp_path: pathlib.Path, config_changes: dict) -> pathlib.Path:
    """Chapter 1 alone, as a book, with _config.yml changed as a course would change it."""
    for name in ["_ext", "_static"]:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "chapters").mkdir()
    shutil.copy(ROOT / "chapters/01_what_is_an_objective.ipynb", tmp_path / "chapters")
    shutil.copy(ROOT / "references.bib", tmp_path)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    for section, values in config_changes.items():
        config.setdefault(section, {}).update(values)
    config["sphinx"]["config"].pop("html_extra_path", None)
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: chapters/01_what_is_an_objective\n")
    return tmp_path


def _build(book: pathlib.Path) -> subprocess.CompletedProcess:
    jupyter_book = pathlib.Path(sys.executable).parent / "jupyter-book"
    return subprocess.run(
        [str(jupyter_book), "build", str(book), "--builder", "html"], capture_output=True, text=True, timeout=300
    )


COURSE = {
    "repository": {"url": "https://github.com/a-course/objectives", "branch": "main"},
    "launch_buttons": {"jupyterhub_url": "https://hub.example.edu", "notebook_interface": "jupyterlab"},
}


def test_a_course_that_sets_its_hub_gets_a_launch_button_on_every_chapter(tmp_path):
    book = _one_chapter_book(tmp_path, COURSE)
    result = _build(book)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    page = (book / "_build/html/chapters/01_what_is_an_objective.html").read_text(encoding="utf-8")
    links = re.findall(r'href="(https://hub\.example\.edu/[^"]+)"', page)
    assert links, "the configured chapter shows no JupyterHub launch button"
    assert "git-pull?repo=https%3A//github.com/a-course/objectives" in links[0].replace("%3A%2F%2F", "%3A//")
    assert "01_what_is_an_objective.ipynb" in links[0]


def test_a_hub_without_a_repository_is_refused_with_a_message(tmp_path):
    book = _one_chapter_book(tmp_path, {"launch_buttons": COURSE["launch_buttons"]})
    result = _build(book)
    assert result.returncode != 0
    assert "set repository.url too" in result.stdout + result.stderr
