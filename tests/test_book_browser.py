"""Open every page of the built book in headless Chromium, with no network, and check it.

Fails when a page with math shows no typeset math (MathJax's ``mjx-container`` elements) or a
TeX error, when an internal link, anchor or image is broken, when a page logs an error, or when a
page is missing from the table of contents. Run after ``make book`` (``make test`` does both).
Outside CI, a missing Chromium skips this module with a message saying how to install it.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import pathlib
import shutil
import socketserver
import tempfile
import threading
import urllib.parse
from html.parser import HTMLParser

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# Pages Sphinx makes that are not chapters of the book.
GENERATED = {"genindex.html", "search.html", "py-modindex.html", "prf-prf.html"}  # prf-prf: sphinx-proof index


def _require_browser():
    if CHROMIUM and CHROMEDRIVER:
        return
    message = (
        "headless Chromium is needed for the browser check: install Debian's packages with "
        "`sudo apt-get install chromium chromium-driver`, then run `make browser`"
    )
    if os.environ.get("OBJLIB_REQUIRE_BROWSER") or os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class _PageParser(HTMLParser):
    """Collects ids, links and image sources of one HTML page."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []
        self.has_math = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if "math" in (attrs.get("class") or "").split():
            self.has_math = True


@functools.cache
def _parse(path: pathlib.Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _pages(root: pathlib.Path = HTML) -> list[pathlib.Path]:
    return sorted(p for p in root.rglob("*.html") if not p.relative_to(root).parts[0].startswith("_"))


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


@pytest.fixture(scope="module")
def book():
    if not (HTML / "index.html").exists():
        pytest.fail("no built book in _build/html: run `make book` first")
    sources = [*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("*.md"), ROOT / "_toc.yml", ROOT / "_config.yml"]
    built = max(p.stat().st_mtime for p in _pages())
    stale = [str(p.relative_to(ROOT)) for p in sources if p.stat().st_mtime > built]
    if stale:
        pytest.fail(f"_build/html is older than {stale[:3]}: run `make book` again")
    return HTML


def test_every_chapter_is_in_the_toc_and_every_toc_entry_is_built(book):
    toc = set(_toc_files())
    chapters = {f"chapters/{p.stem}" for p in ROOT.glob("chapters/*.ipynb")}
    assert chapters <= toc, f"chapters missing from _toc.yml: {sorted(chapters - toc)}"
    for entry in toc:
        assert (book / f"{entry}.html").exists(), f"{entry} is in _toc.yml but was not built"
    # Every built page is reachable from the navigation sidebar of the front page (the toc's root;
    # index.html only redirects there).
    front = f"{_toc_files()[0]}.html"
    nav = {urllib.parse.urljoin(front, href).split("#")[0] for href in _parse(book / front).links}
    for page in _pages():
        rel = page.relative_to(book).as_posix()
        if rel not in GENERATED and rel not in {"index.html", front}:
            assert rel in nav, f"{rel} is built but not linked from the table of contents"


def _static_problems(root: pathlib.Path) -> list[str]:
    """Broken internal links, anchors and images, and images loaded from the network."""
    problems = []
    for page in _pages(root):
        parsed = _parse(page)
        for href in parsed.links:
            url = urllib.parse.urlparse(href)
            if url.scheme or href.startswith("//"):
                continue
            target = (page.parent / urllib.parse.unquote(url.path)).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{page.name}: link {href} -> missing file")
            elif url.fragment and target.suffix == ".html" and url.fragment not in _parse(target).ids:
                problems.append(f"{page.name}: link {href} -> missing anchor #{url.fragment}")
        for src in parsed.images:
            if src.startswith("data:"):
                continue
            url = urllib.parse.urlparse(src)
            if url.scheme:
                problems.append(f"{page.name}: image {src} is loaded from the network")
            elif not (page.parent / urllib.parse.unquote(url.path)).exists():
                problems.append(f"{page.name}: image {src} -> missing file")
    return problems


def test_internal_links_anchors_and_images_resolve(book):
    problems = _static_problems(book)
    assert not problems, "\n".join(problems)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _serve(directory: pathlib.Path):
    """Serve ``directory`` on a free loopback port for the duration of the block."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()


@pytest.fixture(scope="module")
def server(book):
    with _serve(book) as url:
        yield url


@pytest.fixture(scope="module")
def driver():
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="objlib-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
        # No network: every host but the local server fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    drv.set_script_timeout(30)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) { done('no-mathjax'); return; }
MathJax.startup.promise.then(() => done('ok'), (e) => done('error: ' + e));
"""


def _browser_problems(driver, server: str, root: pathlib.Path) -> list[str]:
    """Open every page: math typeset by MathJax without TeX errors, images loaded, no console errors."""
    problems = []
    for page in _pages(root):
        rel = page.relative_to(root).as_posix()
        driver.get(f"{server}/{rel}")
        has_math = _parse(page).has_math
        state = driver.execute_async_script(WAIT_FOR_MATHJAX)
        typeset = driver.execute_script("return document.querySelectorAll('mjx-container').length")
        errors = driver.execute_script("return document.querySelectorAll('mjx-merror, merror').length")
        if has_math and state != "ok":
            problems.append(f"{rel}: MathJax did not start ({state})")
        if has_math and typeset == 0:
            problems.append(f"{rel}: page has math but no typeset math (mjx-container)")
        if errors:
            problems.append(f"{rel}: {errors} TeX error(s) in typeset math")
        broken = driver.execute_script(
            "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        problems += [f"{rel}: image did not load: {src[:80]}" for src in broken]
        for entry in driver.get_log("browser"):
            if entry["level"] == "SEVERE":
                problems.append(f"{rel}: console error: {entry['message'][:200]}")
    return problems


def test_every_page_renders_math_and_images_offline(book, server, driver):
    assert len(_pages(book)) >= 3
    problems = _browser_problems(driver, server, book)
    assert not problems, "\n".join(problems)


# The checks above must be able to fail: run them on a small site broken on purpose.
BROKEN_PAGE = """<!DOCTYPE html><html><head><title>broken</title></head><body>
<p id="here">Raw TeX that nothing typesets: <span class="math">\\(x^2\\)</span></p>
<a href="missing.html">a missing page</a> <a href="#nowhere">a missing anchor</a>
<a href="#here">a good anchor</a> <img src="missing.png" alt="a missing image">
</body></html>"""


@pytest.fixture
def broken_site(tmp_path):
    (tmp_path / "page.html").write_text(BROKEN_PAGE, encoding="utf-8")
    return tmp_path


def test_static_checks_catch_broken_links_anchors_and_images(broken_site):
    problems = "\n".join(_static_problems(broken_site))
    assert "link missing.html -> missing file" in problems
    assert "missing anchor #nowhere" in problems
    assert "#here" not in problems
    assert "image missing.png -> missing file" in problems


def test_browser_checks_catch_untypeset_math_and_missing_images(broken_site, driver):
    with _serve(broken_site) as url:
        problems = "\n".join(_browser_problems(driver, url, broken_site))
    assert "MathJax did not start (no-mathjax)" in problems
    assert "page has math but no typeset math" in problems
    assert "image did not load" in problems
