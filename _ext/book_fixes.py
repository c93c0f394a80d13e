"""Small Sphinx fixes for the book's HTML.

sphinx-thebe registers its inline configuration script from an event that runs after the HTML
builder has started, so Sphinx ends up with the same script twice on every page and the browser
reports "Identifier 'THEBE_JS_URL' has already been declared". Drop exact duplicates.
"""


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


def setup(app):
    # Run after every other extension has added its scripts to the page.
    app.connect("html-page-context", _dedupe_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
