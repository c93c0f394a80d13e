"""Headless Chromium for the book's checks and its PDF: Debian's chromium and chromium-driver.

The browser check (tests/test_book_browser.py) and `make pdf` (tools/make_pdf.py) start it the
same way: a fresh profile, no first-run work, no background network, no network at all except the
loopback addresses the caller allows.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
# An async script: resolves once MathJax has typeset the page ('ok'), or says why not.
WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) { done('no-mathjax'); return; }
MathJax.startup.promise.then(() => done('ok'), (e) => done('error: ' + e));
"""


@contextlib.contextmanager
def headless_chromium(*flags: str, allow_host: str | None = None, console_log: bool = False):
    """A selenium driver of headless Chromium that resolves no host but ``allow_host``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="objlib-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    rules = "MAP * ~NOTFOUND" + (f" , EXCLUDE {allow_host}" if allow_host else "")
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--host-resolver-rules={rules}", *flags):
        options.add_argument(flag)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
