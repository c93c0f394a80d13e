#!/usr/bin/env bash
# Put MathJax 3 where the book's HTML expects it (_build/extra/mathjax/, copied to the site root
# by Sphinx's html_extra_path), so that math typesets with no network. Without npm, fall back to a
# small loader that fetches MathJax from a CDN, and say so loudly.
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
  cp -R "$src"/. "$dest"/
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
