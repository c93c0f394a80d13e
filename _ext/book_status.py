"""The ``{execution-status}`` directive: each chapter's nbval run time and result.

The book is built from stored outputs that nbval checked once in this build (tools/verify_outputs.py,
tools/nbval_record.py), so myst-nb's ``{nb-exec-table}``, which reports the executions of the HTML
build itself, would be empty. This directive shows the record nbval left in _build/execution.json
instead, and says so plainly for a chapter that was not checked.
"""

from __future__ import annotations

import json
import pathlib

from sphinx.util.docutils import SphinxDirective


class ExecutionStatus(SphinxDirective):
    has_content = False

    def run(self):
        record_path = pathlib.Path(self.env.srcdir) / self.config.book_execution_record
        self.env.note_dependency(str(record_path))
        try:
            record = json.loads(record_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            record = {}
        chapters = sorted(d for d in self.env.found_docs if d.startswith("chapters/"))
        rows = ["| Chapter | Run time under nbval | Result |", "|---|---|---|"]
        checked = set()
        for docname in chapters:
            entry = record.get(f"{docname}.ipynb")
            if entry is None:
                rows.append(f"| {{doc}}`/{docname}` | | not checked in this build |")
                continue
            if entry["passed"]:
                result = "outputs reproduced"
            elif not entry["complete"]:
                result = "run interrupted"
            else:
                result = "differs in " + ", ".join(entry["failed_cells"][:3])
            rows.append(f"| {{doc}}`/{docname}` | {entry['seconds']:.1f} s | {result} |")
            checked.add((entry["checked"], entry["threads"], entry["python"]))
        text = "\n".join(rows)
        if checked:
            when = "; ".join(f"{c} ({t} thread(s), Python {p})" for c, t, p in sorted(checked))
            text += f"\n\nChecked: {when}."
        return self.parse_text_to_nodes(text)


def setup(app):
    app.add_config_value("book_execution_record", "_build/execution.json", "env")
    app.add_directive("execution-status", ExecutionStatus)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
