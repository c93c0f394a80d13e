/* The book's own script (Jupyter Book loads every .js file in _static/).

   Search from the file system. Sphinx's search page fetches every hit's page to show a snippet;
   a browser refuses such requests between file:// pages (a CORS error per hit, and no snippets).
   When the book is opened from disk, the search page answers those requests from
   _static/search-texts.js, the pages' text written at build time by _ext/book_fixes.py.
   tests/test_book_browser.py::test_search_from_the_file_system_shows_snippets checks it. */
(function () {
  if (window.location.protocol !== "file:" || !/\/search\.html$/.test(window.location.pathname)) return;
  const root = new URL(document.documentElement.dataset.content_root || "./", window.location.href).href;
  const texts = new Promise((resolve) => {
    const script = document.createElement("script");
    script.src = root + "_static/search-texts.js";
    script.onload = script.onerror = () => resolve(window.BOOK_SEARCH_TEXTS || {});
    document.head.appendChild(script);
  });
  const escape = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const fetchFromNetwork = window.fetch.bind(window);
  window.fetch = (resource, options) => {
    const url = new URL(typeof resource === "string" ? resource : resource.url, window.location.href).href;
    if (!url.startsWith(root) || !url.endsWith(".html")) return fetchFromNetwork(resource, options);
    const page = url.slice(root.length, -".html".length);
    return texts.then((all) =>
      page in all
        ? new Response('<div role="main">' + escape(all[page]) + "</div>", { headers: { "Content-Type": "text/html" } })
        : fetchFromNetwork(resource, options)
    );
  };
})();

/* Inline math wider than its line. MathJax cannot break a formula across lines, and the theme
   hides what does not fit, so a long inline formula was cut off on a phone. Such formulas (and
   only those: a scrolling box would shift the baseline of every other one) get their own
   horizontal scroller. tests/test_book_browser.py::test_no_page_is_wider_than_the_screen. */
(function () {
  const mark = () =>
    document.querySelectorAll(".bd-article span.math").forEach((span) => {
      span.classList.remove("book-wide-math");
      const line = span.parentElement.getBoundingClientRect();
      if (span.scrollWidth > span.clientWidth + 1 || span.getBoundingClientRect().right > line.right + 1)
        span.classList.add("book-wide-math");
    });
  const start = () => {
    if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) return;
    MathJax.startup.promise.then(mark);
    let timer;
    window.addEventListener("resize", () => { clearTimeout(timer); timer = setTimeout(mark, 100); });
  };
  // After every script, MathJax included, has loaded.
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start);
})();
