#!/usr/bin/env bash
# Build objlib as a user installs it and test the installed package, not the checkout.
#
#   tools/test_wheel.sh            (about 2-3 minutes on 2 cores, most of it pip and pytest)
#
# 1. `python -m build` makes the sdist and the wheel (isolated build; --no-isolation as a
#    fallback where the build requirements cannot be fetched); both must hold py.typed.
# 2. A fresh virtual environment gets the wheel and torch==2.13.0 only (numpy comes as its
#    dependency): `import objlib` and every first-half module must import with nothing else,
#    from the environment's site-packages.
# 3. The test tools are added (pytest, hypothesis, scipy, scikit-learn, POT, pytorch-crf,
#    matplotlib) with the `rl` extra (gymnasium), and the doctests of the installed modules and the unit tests of the first-half
#    modules run from a directory outside the source tree, with tests/ copied there, so that
#    a file missing from the wheel fails the run instead of being found in the checkout.
#
# Which tests: every module's, except objlib.rl's, which compare with torchrl (a large install that
# would dominate the run; they run from the checkout in `make test`). The references that only
# some tests use (optax, pytorch-metric-learning) are left out too: those tests skip here.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
PYTHON=${PYTHON:-$SRC/.venv/bin/python}
start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/objlib-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== building the sdist and the wheel"
if ! "$PYTHON" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1; then
  echo "   isolated build failed (see below); retrying with --no-isolation"
  tail -5 "$work/build.log"
  "$PYTHON" -m build --no-isolation --outdir "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
fi
wheel=$(ls "$work"/dist/objlib-*.whl)
sdist=$(ls "$work"/dist/objlib-*.tar.gz)
"$PYTHON" - "$wheel" "$sdist" <<'PY'
import sys, tarfile, zipfile
wheel = set(zipfile.ZipFile(sys.argv[1]).namelist())
sdist = {name.split("/", 1)[1] for name in tarfile.open(sys.argv[2]).getnames() if "/" in name}
for needed in ("objlib/py.typed", "objlib/__init__.py", "objlib/_checks.py", "objlib/divergences.py"):
    assert needed in wheel, f"the wheel lacks {needed}"
    assert needed in sdist, f"the sdist lacks {needed}"
print(f"   wheel: {len(wheel)} files, sdist: {len(sdist)} files, py.typed in both")
PY

echo "== a fresh environment with the wheel and torch only"
"$PYTHON" -m venv "$work/venv"
VPY="$work/venv/bin/python"
"$VPY" -m pip install --quiet "$wheel" "torch==2.13.0"
cd "$work"  # nothing of the checkout on sys.path from here on
"$VPY" - <<'PY'
import importlib, pathlib, sys
import objlib
where = pathlib.Path(objlib.__file__).resolve()
assert "site-packages" in where.parts, f"objlib was imported from {where}, not the installed wheel"
# every module but objlib.envs (the `rl` extra, gymnasium) needs only torch and numpy
for name in objlib._SUBMODULES:
    if name not in ("envs", "plotting"):
        importlib.import_module(f"objlib.{name}")
extra = sorted({m.split(".")[0] for m in sys.modules} & {"scipy", "sklearn", "ot", "matplotlib", "gymnasium", "pandas"})
assert not extra, f"import objlib pulled in {extra}"
assert (where.parent / "py.typed").exists()
print(f"   import objlib {objlib.__version__} from {where.parent}: needs only torch and numpy")
PY

echo "== test tools and the rl extra, then doctests and unit tests against the installed package"
# objlib[rl] (gymnasium) lets the contract test import objlib.envs, and checks the extra installs
"$VPY" -m pip install --quiet "${wheel}[rl]" pytest hypothesis pytest-xdist scipy scikit-learn POT pytorch-crf matplotlib
mkdir -p "$work/tests"
tests="test_checks.py test_regression.py test_classification.py test_metrics.py test_erm.py
test_divergences.py test_ranking.py test_structured.py test_policies.py test_contract.py test_packaging.py
test_self_supervised.py test_generative.py test_preference.py test_multitask.py test_meta.py test_optim.py
test_envs.py test_gaming.py"
cp "$SRC/tests/conftest.py" "$SRC/tests/objectives.py" "$work/tests/"
for t in $tests; do cp "$SRC/tests/$t" "$work/tests/"; done
cat >"$work/pytest.ini" <<'INI'
[pytest]
addopts = -ra --strict-markers -p no:cacheprovider
filterwarnings = error::RuntimeWarning:objlib.*
markers = browser: not run here
INI
site=$(dirname "$("$VPY" -c 'import objlib; print(objlib.__file__)')")
modules=""
for m in _checks regression classification metrics erm divergences ranking structured \
         self_supervised generative preference multitask meta optim envs gaming; do
  modules="$modules $site/$m.py"
done
OMP_NUM_THREADS=1 "$VPY" -m pytest -q -n 2 --doctest-modules $modules tests
echo "== tools/test_wheel.sh finished in $(( $(date +%s) - start )) s"
