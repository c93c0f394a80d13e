"""objlib as a package: PEP 561 type information, annotated public functions, the build config.

Building and installing the wheel is ``tools/test_wheel.sh`` (CI); these checks are fast.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib

import pytest
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
TYPED_MODULES = ("regression", "classification", "metrics", "erm", "divergences", "ranking", "structured")


def _pyproject() -> dict:
    path = ROOT / "pyproject.toml"
    if not path.exists():
        pytest.skip("run from an installed wheel: no pyproject.toml beside the tests")
    return tomllib.loads(path.read_text())


def test_py_typed_ships_with_the_package():
    import objlib

    assert (pathlib.Path(objlib.__file__).parent / "py.typed").exists()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["objlib"]


def test_mypy_checks_every_typed_module():
    files = _pyproject()["tool"]["mypy"]["files"]
    for name in (*TYPED_MODULES, "_checks"):
        assert f"objlib/{name}.py" in files


def _public_callables():
    for name in TYPED_MODULES:
        module = importlib.import_module(f"objlib.{name}")
        for public in module.__all__:
            obj = getattr(module, public)
            if inspect.isfunction(obj):
                yield f"{name}.{public}", obj
            elif inspect.isclass(obj) and obj.__module__ == module.__name__:
                for attr, member in vars(obj).items():
                    if inspect.isfunction(member) and (not attr.startswith("_") or attr == "__init__"):
                        yield f"{name}.{public}.{attr}", member


@pytest.mark.parametrize(("name", "fn"), list(_public_callables()), ids=lambda x: x if isinstance(x, str) else "")
def test_public_functions_carry_type_hints(name, fn):
    signature = inspect.signature(fn)
    missing = [
        p for p, v in signature.parameters.items() if p not in ("self", "cls") and v.annotation is inspect._empty
    ]
    assert not missing, f"{name}: parameters without a type hint: {missing}"
    assert signature.return_annotation is not inspect._empty, f"{name}: no return type"


def test_import_objlib_needs_only_torch_and_numpy():
    import subprocess
    import sys

    code = (
        "import sys, objlib\n"
        "for m in ('regression', 'classification', 'metrics', 'erm', 'divergences', 'ranking', 'structured'):\n"
        "    __import__('objlib.' + m)\n"
        "print(sorted({'scipy', 'sklearn', 'ot', 'matplotlib', 'pandas'} & {k.split('.')[0] for k in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
