"""The course edition (`make student`, tools/student_edition.py): checked for every chapter, graded on a sample.

Run after `make student` (`make test` does both). Every notebook is executed once per `make test`,
by nbval, which also runs each exercise's `answer-test` cell on the stored solutions: that is the
instructor's full marks for every chapter. What would cost a second execution of each chapter is
done here without one, for every chapter:

- the layout of CONTRIBUTING.md holds, and the released notebook is the chapter with each solution
  replaced by nbgrader's stub and each test hidden, and nothing else changed;
- an untouched notebook scores zero: every test reads a variable that only its own solution
  assigns (so a name the chapter defined earlier cannot make it pass);
- exercise cells fail only their own tests: nothing that a solution assigns is read by a later
  cell outside that exercise.

nbgrader then grades the chapters of GRADE_SAMPLE (default: chapter 1, the quickest) end to end,
twice: the released notebook untouched (runs top to bottom, every test fails, autograded score 0)
and the instructor's notebook (full autograded marks).
"""

from __future__ import annotations

import ast
import os
import pathlib
import re
import shutil
import sys

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import student_edition as se  # noqa: E402

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
NUMBERS = se.chapter_numbers()
SAMPLE = [ROOT / p for p in os.environ.get("GRADE_SAMPLE", "chapters/01_what_is_an_objective.ipynb").split()]


def _read(path):
    return nbformat.read(path, as_version=4)


def _exercises(path):
    return se.exercises(_read(path), NUMBERS[path.stem])


@pytest.fixture(scope="module")
def released():
    if not (se.STUDENT.exists() and (se.COURSE / "gradebook.db").exists()):
        pytest.fail("no student edition in _build/: run `make student` first")
    return se.STUDENT


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_the_exercises_follow_the_layout(path):
    found = _exercises(path)  # raises LayoutError, naming the cell, where the layout is broken
    if found:
        assert [e.number for e in found] == [f"{NUMBERS[path.stem]}.{k}" for k in range(1, len(found) + 1)]


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell assigns, names it reads) at its top level and inside its functions."""
    assigned, read = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (assigned if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            assigned.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            assigned |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return assigned, read


def zero_score_problems(nb, found) -> list[str]:
    """Why an untouched student notebook might score above zero, or one stub might fail another's test."""
    code = {i: c.source for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    problems = []
    for e in found:
        if e.test is None:
            continue
        by_solution = set().union(*(_names(code[i])[0] for i in e.solutions))
        by_others = set().union(*(_names(s)[0] for i, s in code.items() if i not in e.solutions))
        tested = _names(code[e.test])[1]
        if not (tested & by_solution) - by_others:
            problems.append(
                f"{e.label}: its answer-test reads no variable that only its solution assigns "
                f"({sorted(tested & by_solution)} are assigned elsewhere too), so an untouched notebook could pass it"
            )
        for i in [i for i in code if i > e.end]:
            leaked = (_names(code[i])[1] & by_solution) - by_others
            if leaked:
                problems.append(f"cell {i} reads {sorted(leaked)}, which only the solution of {e.label} assigns")
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_untouched_exercises_score_zero_and_fail_only_their_own_tests(path):
    problems = zero_score_problems(_read(path), _exercises(path))
    assert not problems, "\n".join(problems)


def _exercise(label, solution, test, statement_extra=""):
    cells = [
        nbformat.v4.new_markdown_cell(f"```{{exercise}}\n:label: {label}\n\nCompute it.{statement_extra}\n```"),
        nbformat.v4.new_markdown_cell(f"```{{solution-start}} {label}\n:class: dropdown\n```\n\nWhy."),
    ]
    if solution is not None:
        cells.append(nbformat.v4.new_code_cell(solution, metadata={"tags": ["solution"]}))
    if test is not None:
        cells.append(nbformat.v4.new_code_cell(test, metadata={"tags": ["answer-test"]}))
    return cells + [nbformat.v4.new_markdown_cell("```{solution-end}\n```")]


def test_the_checks_catch_a_broken_layout_and_answers_that_need_no_work():
    body = [nbformat.v4.new_code_cell("import objlib\nanswer = 1")]
    nb = nbformat.v4.new_notebook(cells=body + _exercise("ex-ch9-1", "answer = 2", "assert answer > 0"))
    assert "so an untouched notebook could pass it" in "\n".join(zero_score_problems(nb, se.exercises(nb, 9)))
    leaky = body + _exercise("ex-ch9-1", "mine = 2", "assert mine == 2") + [nbformat.v4.new_code_cell("print(mine)")]
    nb = nbformat.v4.new_notebook(cells=leaky)
    assert "reads ['mine'], which only the solution of ex-ch9-1" in "\n".join(
        zero_score_problems(nb, se.exercises(nb, 9))
    )
    for cells, message in [
        (_exercise("ex-ch9-1", "mine = 2", None), "need one `answer-test` cell"),
        (_exercise("ex-ch9-1", "mine = 2", "print(mine)"), "may hold only asserts"),
        (_exercise("ex-ch9-1", None, None)[:1] + _exercise("ex-ch9-1", None, None)[2:], "must open with"),
    ]:
        with pytest.raises(se.LayoutError, match=re.escape(message)):
            se.exercises(nbformat.v4.new_notebook(cells=cells), 9)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_the_release_is_the_chapter_with_solutions_stubbed_and_tests_hidden(path, released):
    found = _exercises(path)
    if not found:
        pytest.skip(f"{path.name} has no exercises yet")
    chapter, student = _read(path), _read(released / path.name)
    assert "needs-objlib" in student.cells[1].metadata.get("tags", []), "the edition opens with the objlib check"
    # Every cell outside the exercises is the chapter's own, in order, without outputs.
    outside = [c.source for i, c in enumerate(chapter.cells) if not any(i in e.cells for e in found)]
    plain = [c.source for c in student.cells[2:] if "nbgrader" not in c.metadata]
    assert plain == outside
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    graded = {c.metadata["nbgrader"]["grade_id"]: c for c in student.cells if "nbgrader" in c.metadata}
    for e in found:
        assert f"### Exercise {e.number}" in graded[f"{e.label}-statement"].source
        if se.SOLUTION_START.sub("", chapter.cells[e.prose].source).strip():
            assert graded[f"{e.label}-answer"].source == "YOUR ANSWER HERE"
        for k, index in enumerate(e.solutions, start=1):
            stub = graded[f"{e.label}-code-{k}"].source
            assert "raise NotImplementedError()" in stub and chapter.cells[index].source not in stub
        if e.test is not None:
            test = graded[f"{e.label}-test"]
            assert "assert" not in test.source, f"{e.label}: the released test shows its asserts"
            assert test.metadata["nbgrader"]["points"] == 1 and test.metadata["nbgrader"]["locked"]


def _grade(tmp_path, notebooks: dict[str, pathlib.Path]):
    """Grade {student: notebook} with `make grade`'s code, on a copy of the course."""
    folder = tmp_path / "submissions"
    for student, notebook in notebooks.items():
        (folder / student).mkdir(parents=True)
        shutil.copy(notebook, folder / student / notebook.name)
    return {s.student: s for s in se.grade(folder)}


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: p.stem)
def test_nbgrader_gives_full_marks_to_the_solutions_and_zero_to_an_untouched_notebook(path, released, tmp_path):
    source = se.COURSE / "source" / path.stem / path.name
    scores = _grade(tmp_path, {"instructor": source, "untouched": released / path.name})
    tests = sum(1 for e in _exercises(path) if e.test is not None)
    assert tests
    assert scores["instructor"].auto == scores["instructor"].auto_max == tests
    assert scores["untouched"].auto == 0 and scores["untouched"].auto_max == tests
    # The untouched notebook ran top to bottom: every code cell executed, and the only errors are
    # the stubs' NotImplementedError and the failures of the tests that check them.
    graded = _read(se.COURSE / "autograded" / "untouched" / path.stem / path.name)
    for cell in graded.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, f"a cell did not run: {cell.source[:60]}"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        role = cell.metadata.get("nbgrader", {})
        if role.get("solution"):
            assert [o.ename for o in errors] == ["NotImplementedError"]
        elif role.get("grade"):
            assert [o.ename for o in errors] in (["NameError"], ["AssertionError"])
        else:
            assert not errors, f"a chapter cell failed in the student edition: {cell.source[:60]}"
