"""Small Sphinx fixes and additions for the book's HTML. Each is tested by tests/test_book_browser.py.

- Duplicate scripts: sphinx-thebe registers its inline configuration script from an event that
  runs after the HTML builder has started, so Sphinx ends up with the same script twice on every
  page and the browser reports "Identifier 'THEBE_JS_URL' has already been declared".
- Back matter: the general index and sphinx-proof's index are generated pages, which _toc.yml
  cannot list; they are appended to the toc's "Back matter" part.
- Proof index: sphinx-proof lists raw labels ("thm-ch2-vc"); here each entry reads as the book
  prints it ("Theorem 2.3 (The VC bound)"), grouped by chapter.
- Launch buttons: Jupyter Book defaults the repository to its own; a launch button needs ours.
- Downloaded notebooks: a chapter downloaded from the book opens with a cell that says what it
  needs, instead of failing at `import objlib`.
- The whole-book PDF is printed from a single-page HTML build; extensions that register node
  visitors for "singlehtml" by name hide the "html" visitors of the others (sphinx-proof's) from it.
- Search from the file system: the search page fetches each hit's page for a snippet, which a
  browser refuses for file:// pages. The pages' text is written to _static/search-texts.js, and
  _static/book.js serves the snippets from it when the book is opened from disk.
"""

from __future__ import annotations

import json
import pathlib
import sys

import nbformat
from sphinx.errors import ConfigError

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import book_bibstyle  # noqa: E402,F401  (registers the "authoryear" pybtex style)
import book_status  # noqa: E402

BACK_MATTER = "Back matter"
INDEX_PAGES = [("General index", "genindex"), ("Proof index", "prf-prf")]


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # A body-only script is registered once with filename None and once with "".
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _register_index_pages(app):
    # Sphinx resolves toctree entries to its own generated pages (genindex, search); the proof
    # index is one more generated page.
    from sphinx.domains.std import StandardDomain

    StandardDomain._virtual_doc_names.setdefault("prf-prf", ("prf-prf", "Proof index"))


def _add_index_pages_to_back_matter(app, doctree):
    if app.env.docname != app.config.root_doc:
        return
    for toctree in doctree.findall(lambda n: n.tagname == "toctree"):
        if toctree.get("caption") == BACK_MATTER:
            toctree["entries"].extend(INDEX_PAGES)
            return


def _proof_titles(app, doctree):
    """Remember each proof block's kind and title, for the proof index."""
    from sphinx_proof.nodes import NODE_TYPES

    store = app.env.__dict__.setdefault("book_proof_titles", {})
    kinds = tuple(NODE_TYPES.values())
    for node in doctree.findall(lambda n: isinstance(n, kinds)):
        title = node.get("title", "").strip()
        if title.startswith("(") and title.endswith(")"):
            title = title[1:-1]
        store[node.get("label")] = (app.env.docname, node.get("type", ""), title)


def _purge_proof_titles(app, env, docname):
    store = env.__dict__.get("book_proof_titles", {})
    for label in [k for k, v in store.items() if v[0] == docname]:
        del store[label]


def _merge_proof_titles(app, env, docnames, other):
    env.__dict__.setdefault("book_proof_titles", {}).update(other.__dict__.get("book_proof_titles", {}))


def _readable_proof_index(self, docnames=None):
    """sphinx-proof's ProofIndex.generate, with 'Theorem 2.1 (Title)' entries grouped by chapter."""
    env = self.domain.env
    titles = getattr(env, "book_proof_titles", {})
    groups: dict[tuple, list] = {}
    for label, values in getattr(env, "proof_list", {}).items():
        docname, kind = values["docname"], values["realtype"]
        number = env.toc_fignumbers.get(docname, {}).get(kind, {}).get(label, ())
        title = titles.get(label, ("", "", ""))[2]
        name = f"{kind.capitalize()} {'.'.join(map(str, number))}".strip()
        if title:
            name += f" ({title})"
        chapter = env.toc_secnumbers.get(docname, {}).get("", ())
        heading = env.titles[docname].astext() if docname in env.titles else docname
        key = (chapter, f"{'.'.join(map(str, chapter))}. {heading}" if chapter else heading)
        # name, subtype, docname, anchor, extra, qualifier, description
        groups.setdefault(key, []).append((number, [name, 0, docname, label, "", "", kind]))
    content = [(key[1], [entry for _, entry in sorted(entries)]) for key, entries in sorted(groups.items())]
    return content, False


def _check_launch_buttons(app, config):
    options = config.html_theme_options
    launch = options.get("launch_buttons", {})
    hub = [k for k in ("jupyterhub_url", "binderhub_url", "colab_url") if launch.get(k)]
    if hub and not options.get("repository_url"):
        raise ConfigError(
            f"_config.yml sets launch_buttons.{hub[0]} but not repository.url: a launch button "
            "opens the notebook from the book's repository, so set repository.url too."
        )


NEEDS_OBJLIB = """\
# This chapter of the book *Objectives* imports objlib, the book's library. Run it from a copy
# of the book's repository (`make lab` there), or install objlib into this kernel first:
#     pip install -e /path/to/objectives        (see "Running the notebooks" in the book)
import importlib.util

if importlib.util.find_spec("objlib") is None:
    raise ModuleNotFoundError(
        "This notebook needs objlib, the library of the book Objectives: get the book's "
        "repository and run `make lab` there, or `pip install -e .` from its root "
        "(the book's page 'Running the notebooks' says how)."
    )
"""


def needs_objlib_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(NEEDS_OBJLIB)
    cell.metadata["tags"] = ["needs-objlib"]
    return cell


def with_cell_ids(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Cell ids where the notebook's format (4.5 and later) expects them, none where it does not."""
    for index, cell in enumerate(nb.cells):
        if nb.nbformat_minor >= 5:
            cell.setdefault("id", f"cell-{index}")
        else:
            cell.pop("id", None)
    return nb


def _mark_downloaded_notebooks(app, exception):
    if exception or app.builder.format != "html":
        return
    for path in pathlib.Path(app.outdir, "_sources").rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        if nb.cells and "needs-objlib" in nb.cells[0].metadata.get("tags", []):
            continue
        nb.cells.insert(0, needs_objlib_cell())
        nbformat.write(with_cell_ids(nb), path)


def _collect_search_text(app, pagename, templatename, context, doctree):
    if doctree is not None:
        app.env.__dict__.setdefault("book_search_texts", {})[pagename] = doctree.astext()


def _write_search_texts(app, exception):
    if exception or app.builder.format != "html":
        return
    texts = getattr(app.env, "book_search_texts", {})
    out = pathlib.Path(app.outdir, "_static", "search-texts.js")
    out.write_text("window.BOOK_SEARCH_TEXTS = " + json.dumps(texts, ensure_ascii=False) + ";\n", encoding="utf-8")


def _drop_search_texts_of_removed(app, env, docname):
    env.__dict__.get("book_search_texts", {}).pop(docname, None)


def _html_visitors_for_singlehtml(app):
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node, visitors in handlers.get("html", {}).items():
        single.setdefault(node, visitors)


def setup(app):
    import sphinx_proof.domain

    sphinx_proof.domain.ProofIndex.generate = _readable_proof_index
    sphinx_proof.domain.ProofIndex.localname = "Proof index"
    _register_index_pages(app)
    book_status.setup(app)
    # Run after every other extension has added its scripts to the page.
    app.connect("html-page-context", _dedupe_scripts, priority=999)
    app.connect("html-page-context", _collect_search_text)
    # After sphinx-external-toc has inserted the toctrees (priority 500).
    app.connect("doctree-read", _add_index_pages_to_back_matter, priority=900)
    app.connect("doctree-read", _proof_titles)
    app.connect("env-purge-doc", _purge_proof_titles)
    app.connect("env-purge-doc", _drop_search_texts_of_removed)
    app.connect("env-merge-info", _merge_proof_titles)
    app.connect("config-inited", _check_launch_buttons)
    app.connect("builder-inited", _html_visitors_for_singlehtml)
    app.connect("build-finished", _mark_downloaded_notebooks)
    app.connect("build-finished", _write_search_texts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
