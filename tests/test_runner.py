"""The runner's cache key: a notebook reruns when the library code it uses changes, and only then."""

import json

import pytest

from retention_lib import runner


def make_package(root):
    lib = root / "mylib"
    lib.mkdir()
    (lib / "__init__.py").write_text("")
    (lib / "a.py").write_text("from .b import f\n\ndef g():\n    from . import c\n    return c\n")
    (lib / "b.py").write_text("def f():\n    return 1\n")
    (lib / "c.py").write_text("X = 1\n")
    (lib / "d.py").write_text("Y = 1\n")
    (lib / "spec.yaml").write_text("k: 1\n")
    return lib


def edit(path):
    path.write_text(path.read_text() + "\n# edited\n")


@pytest.mark.parametrize("code", ["from mylib import a", "import mylib.a", "from mylib.a import g as h"])
def test_hash_follows_imports_through_the_package(tmp_path, code):
    lib = make_package(tmp_path)
    before = runner.library_hash(code, lib)
    edit(lib / "d.py")                      # not imported by a, b or c
    assert runner.library_hash(code, lib) == before
    for name in ["b.py", "c.py", "__init__.py", "spec.yaml"]:   # b: top-level import; c: inside a function
        edit(lib / name)
        after = runner.library_hash(code, lib)
        assert after != before, name
        before = after


@pytest.mark.parametrize("code", ["import mylib", "from mylib import *", "x = (", None])
def test_hash_falls_back_to_every_file(tmp_path, code):
    lib = make_package(tmp_path)
    before = runner.library_hash(code, lib)
    edit(lib / "d.py")
    assert runner.library_hash(code, lib) != before


def test_a_module_importing_the_whole_package_makes_every_file_count(tmp_path):
    lib = make_package(tmp_path)
    (lib / "b.py").write_text("import mylib\n")
    before = runner.library_hash("from mylib import a", lib)
    edit(lib / "d.py")
    assert runner.library_hash("from mylib import a", lib) != before


def test_notebook_code_skips_markdown_and_magics(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": ["import mylib"]},
                    {"cell_type": "code", "source": ["%matplotlib inline\n", "from mylib import a\n", "!ls"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    assert runner.notebook_code(path) == "from mylib import a"


def test_the_book_chapters_depend_on_the_modules_they_use():
    from pathlib import Path

    root = Path(runner.__file__).resolve().parents[1]
    used = {nb.stem: {f.name for f in runner.library_files(runner.notebook_code(nb))}
            for nb in (root / "notebooks").glob("*.ipynb")}
    assert "sentiment.py" not in used["03_retention_loss"] and "losses.py" in used["03_retention_loss"]
    assert "retention.py" not in used["02_sentiment"] and "metrics.py" in used["02_sentiment"]
    assert {"retention.py", "mlp.py", "metrics.py"} <= used["04_retention_purchases"]
