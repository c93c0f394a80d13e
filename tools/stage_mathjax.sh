#!/usr/bin/env bash
# Put MathJax 3 where the book's HTML expects it (_build/extra/mathjax/, copied to the site root
# by Sphinx's html_extra_path), so that math typesets with no network. Without npm, fall back to a
# small loader that fetches MathJax from a CDN, and say so loudly.
# Only what the pages load is copied (2 MB of the package's 24 MB): the combined TeX-to-CHTML
# component, its web fonts, and the TeX extensions it autoloads when a page uses their macros
# (\boldsymbol, \cancel, \color, ...). The speech, explorer and other optional components are
# not. tests/test_book_browser.py checks the size and that no page asks for a missing file.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=_build/extra/mathjax
src=node_modules/mathjax/es5
if [ ! -f "$src/tex-chtml.js" ] && command -v npm >/dev/null 2>&1; then
  npm ci --no-audit --no-fund --loglevel=error
fi
rm -rf "$dest"
mkdir -p "$dest"
if [ -f "$src/tex-chtml.js" ]; then
  cp "$src/tex-chtml.js" "$dest/"
  mkdir -p "$dest/output/chtml/fonts" "$dest/input/tex"
  cp -R "$src/output/chtml/fonts/woff-v2" "$dest/output/chtml/fonts/"
  cp -R "$src/input/tex/extensions" "$dest/input/tex/"
else
  cat >&2 <<'MSG'
WARNING: MathJax could not be installed (npm is missing or failed). The book will load MathJax
from a CDN when a page is opened, so math shows as raw TeX without a network connection.
Install Node.js and npm, then run `make book` again, to serve MathJax with the book.
MSG
  cat > "$dest/tex-chtml.js" <<'JS'
/* MathJax was not installed when this book was built (no npm): load it from a CDN instead. */
(function () {
  var s = document.createElement("script");
  s.src = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js";
  s.async = true;
  document.head.appendChild(s);
})();
JS
fi
