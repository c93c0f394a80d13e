"""Print the single-page HTML build of the book to one PDF with headless Chromium.

    python tools/make_pdf.py _build/singlehtml/index.html _build/pdf/objectives.pdf

`make pdf` builds the whole book as one HTML page (Jupyter Book's singlehtml builder, from the
stored outputs that nbval checked), then this opens it in Debian's Chromium, the browser the
book's tests already use, waits for MathJax to typeset every formula, and prints it through the
DevTools protocol (Page.printToPDF): A4, page numbers in the footer, each chapter on a new page
(_static/book.css, @media print), and the worked solutions unfolded. LaTeX was the other option: Debian's texlive-xetex,
texlive-latex-extra and latexmk add 245 MB of downloads and 728 MB on disk to every fresh CI
machine, for a second typesetting of the same math.
"""

from __future__ import annotations

import argparse
import base64
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from browser import CHROMEDRIVER, CHROMIUM, WAIT_FOR_MATHJAX, headless_chromium  # noqa: E402

FOOTER = (
    '<div style="font-size: 8px; width: 100%; text-align: center; color: #555;">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


def print_pdf(page: pathlib.Path, out: pathlib.Path) -> int:
    if not (CHROMIUM and CHROMEDRIVER):
        raise SystemExit(
            "make pdf needs Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver"
        )
    start = time.perf_counter()
    with headless_chromium() as driver:
        driver.set_script_timeout(300)
        driver.get(page.resolve().as_uri())
        state = driver.execute_async_script(WAIT_FOR_MATHJAX)
        if state != "ok":
            raise SystemExit(f"MathJax did not typeset {page}: {state}")
        # On paper the worked solutions are printed, not folded away.
        driver.execute_script(
            "document.querySelectorAll('details').forEach(d => { d.open = true; });"
            "document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));"
        )
        pdf = driver.execute_cdp_cmd(
            "Page.printToPDF",
            {
                "paperWidth": 8.27,  # A4, in inches
                "paperHeight": 11.69,
                "marginTop": 0.6,
                "marginBottom": 0.7,
                "marginLeft": 0.6,
                "marginRight": 0.6,
                "printBackground": True,
                "displayHeaderFooter": True,
                "headerTemplate": "<span></span>",
                "footerTemplate": FOOTER,
            },
        )
    data = base64.b64decode(pdf["data"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"make_pdf: {out} ({len(data) / 2**20:.1f} MB) printed in {time.perf_counter() - start:.0f} s")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=pathlib.Path, help="the singlehtml build's index.html")
    parser.add_argument("out", type=pathlib.Path)
    args = parser.parse_args(argv)
    page = args.page
    # Jupyter Book's index.html only redirects to the root document's page.
    redirect = page.read_text(encoding="utf-8")
    if 'http-equiv="Refresh"' in redirect:
        page = page.parent / redirect.split("url=", 1)[1].split('"', 1)[0]
    return print_pdf(page, args.out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
