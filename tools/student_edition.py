"""The course edition of the chapters, made and graded with nbgrader.

    python tools/student_edition.py                  # make student
    python tools/student_edition.py --grade FOLDER   # make grade

`make student` converts each chapter's exercises, written in the layout of CONTRIBUTING.md
("Exercises and the course edition"), into nbgrader's terms, in an nbgrader course folder
_build/course/ (one assignment per chapter, named by the notebook's stem), and lets nbgrader
release it:

- the exercise statement becomes a read-only cell headed "Exercise N.k";
- the prose of the worked solution becomes a manually graded answer cell (1 point): the student
  sees "YOUR ANSWER HERE", the grader sees our solution in the source;
- the code cells tagged `solution` become autograded answer cells: the student sees a stub;
- the `answer-test` cell becomes a read-only autograder test worth 1 point whose asserts are hidden
  from the student and restored when the notebook is graded;
- the `{solution-end}` cell is dropped, and the chapter opens with a cell saying what it needs.

The student notebooks are written to _build/student/. `make grade` copies a folder of submissions
(FOLDER/<student>/<chapter>.ipynb) into the course, lets nbgrader autograde them, and writes
_build/grades.csv with each notebook's autograded score and the points left to grade by hand.
tests/test_student_edition.py checks the edition and grades a sample end to end.
"""

from __future__ import annotations

import argparse
import ast
import csv
import dataclasses
import os
import pathlib
import re
import shutil
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
COURSE = ROOT / "_build" / "course"
STUDENT = ROOT / "_build" / "student"
GRADES = ROOT / "_build" / "grades.csv"
COURSE_ID = "objectives"
sys.path.insert(0, str(ROOT / "_ext"))
from book_fixes import needs_objlib_cell, with_cell_ids  # noqa: E402

EXERCISE = re.compile(r"```\{exercise\}\n:label: (\S+)\n(.*?)\n```", re.S)
SOLUTION_START = re.compile(r"\A```\{solution-start\} (\S+)\n(?::\w+:[^\n]*\n)*```\n?")
SOLUTION_END = re.compile(r"\A\s*```\{solution-end\}\n```\s*\Z")


class LayoutError(ValueError):
    """A chapter's exercise cells do not follow CONTRIBUTING.md's layout."""


@dataclasses.dataclass
class Exercise:
    label: str
    number: str  # "1.3"
    statement: int  # cell indices
    prose: int
    solutions: list[int]
    test: int | None
    end: int

    @property
    def cells(self) -> range:
        return range(self.statement, self.end + 1)


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def chapter_numbers() -> dict[str, int]:
    """Notebook stem -> chapter number, in the order of _toc.yml (the toc numbers the chapters)."""
    files = re.findall(r"file: chapters/(\S+)", (ROOT / "_toc.yml").read_text())
    return {stem: n for n, stem in enumerate(files, start=1)}


def exercises(nb, chapter: int) -> list[Exercise]:
    """The exercises of a chapter, checked against the layout of CONTRIBUTING.md."""
    found: list[Exercise] = []
    cells = nb.cells
    i = 0
    while i < len(cells):
        cell = cells[i]
        statements = EXERCISE.findall(cell.source) if cell.cell_type == "markdown" else []
        if not statements:
            if cell.cell_type == "markdown" and "{solution-start}" in cell.source:
                raise LayoutError(
                    f"cell {i}: a solution starts outside an exercise (its statement must be the cell before)"
                )
            if "solution" in _tags(cell) or "answer-test" in _tags(cell):
                raise LayoutError(f"cell {i}: a `solution` or `answer-test` cell outside an exercise")
            i += 1
            continue
        if len(statements) > 1 or "{solution-start}" in cell.source:
            raise LayoutError(f"cell {i}: one exercise statement per markdown cell, and nothing of its solution")
        label = statements[0][0]
        where = f"exercise {label} (cell {i})"
        start = SOLUTION_START.match(cells[i + 1].source) if i + 1 < len(cells) else None
        if not start or cells[i + 1].cell_type != "markdown" or start.group(1) != label:
            raise LayoutError(f"{where}: the next cell must open with ```{{solution-start}} {label}")
        j = i + 2
        solutions = []
        while j < len(cells) and "solution" in _tags(cells[j]):
            if cells[j].cell_type != "code":
                raise LayoutError(f"{where}: cell {j} is tagged `solution` but is not code")
            solutions.append(j)
            j += 1
        test = None
        if j < len(cells) and "answer-test" in _tags(cells[j]):
            test = j
            j += 1
        if bool(solutions) != (test is not None):
            raise LayoutError(f"{where}: `solution` code cells need one `answer-test` cell right after them, and back")
        if j >= len(cells) or not SOLUTION_END.match(cells[j].source):
            raise LayoutError(f"{where}: cell {j} must hold only the {{solution-end}} directive")
        if test is not None:
            body = ast.parse(cells[test].source).body
            if not body or not all(isinstance(s, ast.Assert) for s in body):
                raise LayoutError(f"{where}: the `answer-test` cell may hold only asserts")
        found.append(Exercise(label, f"{chapter}.{len(found) + 1}", i, i + 1, solutions, test, j))
        i = j + 1
    return found


def _meta(grade_id: str, *, solution=False, grade=False, locked=False, points=0) -> dict:
    meta = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": locked, "schema_version": 3}
    if grade:
        meta["points"] = points
    return meta


def _statement(cell_source: str, number: str) -> str:
    """The exercise directive as plain Markdown, readable in any Jupyter front end."""
    before = cell_source[: EXERCISE.search(cell_source).start()].strip()
    body = EXERCISE.search(cell_source).group(2).strip()
    return (before + "\n\n" if before else "") + f"### Exercise {number}\n\n{body}"


def source_notebook(nb, chapter: int, title: str):
    """The chapter in nbgrader's terms: the instructor's version, with solutions and hidden tests."""
    found = {e.statement: e for e in exercises(nb, chapter)}
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    intro = nbformat.v4.new_markdown_cell(
        f"**Course edition of Chapter {chapter}, _{title}_, from the book *Objectives*.** Fill in every "
        "cell that says `YOUR CODE HERE` or `YOUR ANSWER HERE`, and run the notebook from the top. "
        "Each exercise that asks for a computed answer is checked by hidden tests (1 point each); "
        "explanations and proofs are graded by hand (1 point each)."
    )
    out.cells = [intro, needs_objlib_cell()]
    i = 0
    while i < len(nb.cells):
        if i not in found:
            out.cells.append(nb.cells[i])
            i += 1
            continue
        e = found[i]
        statement = nbformat.v4.new_markdown_cell(_statement(nb.cells[e.statement].source, e.number))
        statement.metadata["nbgrader"] = _meta(f"{e.label}-statement", locked=True)
        out.cells.append(statement)
        prose_text = SOLUTION_START.sub("", nb.cells[e.prose].source).strip()
        if prose_text:  # an exercise answered in code alone has no prose to grade
            prose = nbformat.v4.new_markdown_cell(prose_text)
            prose.metadata["nbgrader"] = _meta(f"{e.label}-answer", solution=True, grade=True, points=1)
            out.cells.append(prose)
        for k, index in enumerate(e.solutions):
            code = nbformat.v4.new_code_cell(nb.cells[index].source)
            code.metadata["nbgrader"] = _meta(f"{e.label}-code-{k + 1}", solution=True)
            out.cells.append(code)
        if e.test is not None:
            test = nbformat.v4.new_code_cell(
                f"# Checks your answer to Exercise {e.number} (1 point) when the notebook is graded.\n"
                f"### BEGIN HIDDEN TESTS\n{nb.cells[e.test].source.strip()}\n### END HIDDEN TESTS"
            )
            test.metadata["nbgrader"] = _meta(f"{e.label}-test", grade=True, locked=True, points=1)
            out.cells.append(test)
        i = e.end + 1
    return with_cell_ids(out)


def _config():
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(COURSE)
    c.CourseDirectory.course_id = COURSE_ID
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
    # Seeded chapters train small models: the time of a cell, never of a whole notebook.
    c.Execute.timeout = 300
    return c


def api():
    # nbgrader runs this environment's `alembic` to set up its gradebook: find it without activation.
    os.environ["PATH"] = f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = _config()
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _titles(paths) -> dict[str, str]:
    titles = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "markdown")
        titles[path.stem] = first.source.splitlines()[0].lstrip("# ").strip()
    return titles


def chapters_with_exercises() -> list[pathlib.Path]:
    numbers = chapter_numbers()
    out = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        try:
            found = exercises(nbformat.read(path, as_version=4), numbers[path.stem])
        except LayoutError as error:
            raise SystemExit(
                f"{path.relative_to(ROOT)}: {error} (see CONTRIBUTING.md, 'Exercises and the course edition')"
            ) from None
        if found:
            out.append(path)
    return out


def write_sources(paths: list[pathlib.Path]) -> None:
    numbers, titles = chapter_numbers(), _titles(paths)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        folder = COURSE / "source" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(nb, numbers[path.stem], titles[path.stem]), folder / path.name)
    (COURSE / "nbgrader_config.py").write_text(
        "# Written by tools/student_edition.py (make student): the course of the book's chapters.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        "c.ClearSolutions.code_stub = {'python': '# YOUR CODE HERE\\nraise NotImplementedError()'}\n"
        "c.ClearSolutions.text_stub = 'YOUR ANSWER HERE'\n"
        "c.Execute.timeout = 300\n"
    )


def make_student_edition() -> list[pathlib.Path]:
    paths = chapters_with_exercises()
    shutil.rmtree(COURSE, ignore_errors=True)
    shutil.rmtree(STUDENT, ignore_errors=True)
    write_sources(paths)
    grader = api()
    STUDENT.mkdir(parents=True)
    for path in paths:
        result = grader.generate_assignment(path.stem)
        if not result["success"]:
            raise SystemExit(f"nbgrader could not release {path.name}:\n{result.get('log')}\n{result.get('error')}")
        shutil.copy(COURSE / "release" / path.stem / path.name, STUDENT / path.name)
    where = f"{STUDENT.relative_to(ROOT)}/, the course in {COURSE.relative_to(ROOT)}/"
    print(f"student edition: {len(paths)} chapters in {where}")
    return paths


@dataclasses.dataclass
class Score:
    student: str
    chapter: str
    auto: float
    auto_max: float
    by_hand_max: float
    needs_manual_grade: bool


def grade(submissions: pathlib.Path) -> list[Score]:
    """Autograde FOLDER/<student>/<chapter>.ipynb with nbgrader; write _build/grades.csv."""
    from nbgrader.api import Gradebook

    if not (COURSE / "gradebook.db").exists():
        make_student_edition()
    grader = api()
    graded: list[tuple[str, str]] = []
    for notebook in sorted(submissions.glob("*/*.ipynb")):
        student, stem = notebook.parent.name, notebook.stem
        if not (COURSE / "source" / stem).exists():
            print(f"grade: skipping {notebook}: no chapter {stem} with exercises")
            continue
        target = COURSE / "submitted" / student / stem
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook, target / notebook.name)
        result = grader.autograde(stem, student)
        if not result["success"]:
            raise SystemExit(f"nbgrader could not grade {notebook}:\n{result.get('log')}\n{result.get('error')}")
        graded.append((student, stem))
    scores = []
    with Gradebook(f"sqlite:///{COURSE / 'gradebook.db'}", COURSE_ID) as gb:
        for student, stem in graded:
            nb = gb.find_submission_notebook(stem, stem, student)
            scores.append(
                Score(student, stem, nb.code_score, nb.max_code_score, nb.max_written_score, nb.needs_manual_grade)
            )
    GRADES.parent.mkdir(parents=True, exist_ok=True)
    with GRADES.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "chapter", "autograded", "autograded_max", "by_hand_max", "needs_manual_grade"])
        for s in scores:
            writer.writerow([s.student, s.chapter, s.auto, s.auto_max, s.by_hand_max, s.needs_manual_grade])
    width = max([len(s.student) for s in scores] + [7])
    print(f"{'student':{width}}  chapter                              autograded   by hand")
    for s in scores:
        manual = f"{s.by_hand_max:g} to grade" if s.needs_manual_grade else "-"
        print(f"{s.student:{width}}  {s.chapter:36} {s.auto:4g} / {s.auto_max:<4g}  {manual}")
    print(f"grades: {GRADES.relative_to(ROOT)}")
    return scores


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grade", type=pathlib.Path, metavar="FOLDER", help="grade FOLDER/<student>/<chapter>.ipynb")
    args = parser.parse_args(argv)
    if args.grade:
        if not args.grade.is_dir():
            parser.error(f"{args.grade} is not a folder of submissions (one subfolder per student)")
        grade(args.grade.resolve())
    else:
        make_student_edition()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
