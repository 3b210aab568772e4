"""The library's shape: two wings, layers in the book's order, no loops, no hidden imports, short modules
and functions, one linter. Each test names what to fix when it fails."""

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "retention_lib"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LAZY = PYPROJECT["tool"]["retention-lib"]["lazy-imports"]

#: functions allowed past MAX_FUNCTION_LINES of code (docstring not counted), each with its reason
LONG_FUNCTIONS = {
    "retention/mlp.py:MLPRetention.fit": "a plain PyTorch training loop, read top to bottom: checks, batches, loss, early stopping",
    "machinery/params.py:coerce": "one branch per parameter type, each with its own error message",
    "recommend/ranker.py:candidate_features": "one column per feature of the ranker, each a line, in the table's order",
    "base/plots.py:linked_world_diagram": "a diagram drawn box by box: coordinates and labels, no logic",
    "privacy/scrub.py:Scrubber.__init__": "the scrubber's recognisers registered one by one, each a few lines",
}
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def _modules():
    for p in sorted(LIB.rglob("*.py")):
        yield p, ast.parse(p.read_text(), filename=str(p))


def _package(path: Path) -> str:
    """The first-level package (or top-level module) a file belongs to: ``world``, ``base``, ``__main__``."""
    rel = path.relative_to(LIB).parts
    return rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")


def test_the_layers_and_the_two_wings_hold():
    """import-linter's contracts in pyproject.toml: layers in the book's order, the machinery apart from the
    method, no loop between siblings at any depth. Imports inside functions count too."""
    exe = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_ruff_finds_nothing():
    """The linter configured in pyproject.toml; `ruff check --fix` repairs most of what it reports."""
    exe = Path(sys.executable).with_name("ruff")
    out = subprocess.run([str(exe), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_ruff_format_changes_nothing():
    """The formatter configured in pyproject.toml; `ruff format` applies it."""
    exe = Path(sys.executable).with_name("ruff")
    out = subprocess.run([str(exe), "format", "--check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_imports_inside_functions_are_only_the_heavy_optional_ones():
    """Everything else is imported at the top of its module, where a reader (and import-linter) sees it."""
    found = []
    for path, tree in _modules():
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    tops = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    tops = ["retention_lib" if node.level else (node.module or "").split(".")[0]]
                else:
                    continue
                found += [f"{path.relative_to(ROOT)}:{node.lineno} imports {t}" for t in tops if t not in LAZY]
    assert not found, (
        "move these imports to the top of the module, or add the package with its reason to "
        "[tool.retention-lib.lazy-imports] and ruff's banned-module-level-imports:\n" + "\n".join(found)
    )


def test_the_lazy_list_and_ruffs_ban_agree():
    banned = PYPROJECT["tool"]["ruff"]["lint"]["flake8-tidy-imports"]["banned-module-level-imports"]
    assert set(banned) == set(LAZY)
    assert all(len(reason) > 20 for reason in LAZY.values()), "each lazy import needs its reason, in words"


def test_no_private_name_crosses_a_package():
    """A package's private names (``_x``) are its own: another package uses its public API."""
    found = []
    for path, tree in _modules():
        here = _package(path)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.level:
                continue
            parts = (node.module or "").split(".")
            if parts[0] != "retention_lib" or len(parts) < 2 or parts[1] == here:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} {a.name} from {node.module}"
                for a in node.names
                if a.name.startswith("_")
            ]
    assert not found, "\n".join(found)


def test_no_module_is_long():
    long = {
        str(p.relative_to(ROOT)): n for p, _ in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these modules by idea (at most {MAX_MODULE_LINES} lines): {long}"


def _code_lines(fn: ast.FunctionDef) -> int:
    n = fn.end_lineno - fn.lineno + 1
    first = fn.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        n -= first.end_lineno - first.lineno + 1
    return n


def _functions(tree):
    """(qualified name, node) of every function, methods as ``Class.method``."""

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield prefix + child.name, child
                yield from walk(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, prefix + child.name + ".")
            else:
                yield from walk(child, prefix)

    return walk(tree, "")


def test_no_function_is_long_without_a_reason():
    """Functions past MAX_FUNCTION_LINES lines of code are split into named phases, or listed with a reason."""
    seen, long = set(), {}
    for path, tree in _modules():
        for name, fn in _functions(tree):
            key = f"{path.relative_to(LIB).as_posix()}:{name}"
            n = _code_lines(fn)
            if n > MAX_FUNCTION_LINES:
                seen.add(key)
                if key not in LONG_FUNCTIONS:
                    long[key] = n
    assert not long, f"split into named phases, or list in LONG_FUNCTIONS with a reason: {long}"
    assert not set(LONG_FUNCTIONS) - seen, f"no longer long, remove from LONG_FUNCTIONS: {set(LONG_FUNCTIONS) - seen}"


@pytest.mark.parametrize("package", sorted(p.name for p in LIB.iterdir() if (p / "__init__.py").exists()))
def test_every_package_says_what_it_holds(package):
    init = LIB / package / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text()))
    assert doc and len(doc) > 80, f"{init}: a docstring that says what the package holds, module by module"


def test_the_folder_listing_is_the_books_contents():
    """The method's packages, in the layers contract's order (lowest first), follow the chapters."""
    layers = PYPROJECT["tool"]["importlinter"]["contracts"][0]["layers"]
    method = [layer.removeprefix("retention_lib.") for layer in reversed(layers)]
    assert method[:2] == ["base", "data"] and method[-2:] == ["machinery", "__main__"]
    packages = {p.name for p in LIB.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(method) - {"__main__"}, "every package sits in exactly one layer"


def test_one_check_of_missing_columns():
    """Columns are checked by base.tables.require_columns, not by a hand-written comprehension again
    (data/schema.py collects every problem of a file into one report, so it keeps its own)."""
    hand_written = re.compile(r"\[(\w+) for \1 in [^\]]* if \1 not in \w+\.columns\]|if (\w+) not in \w+\.columns:")
    found = []
    for path, _ in _modules():
        if path.relative_to(LIB).as_posix() in ("base/tables.py", "data/schema.py"):
            continue
        found += [
            f"{path.relative_to(ROOT)}:{i}"
            for i, line in enumerate(path.read_text().splitlines(), 1)
            if hand_written.search(line)
        ]
    assert not found, f"use retention_lib.base.tables.require_columns: {found}"


def test_require_columns_names_the_table_the_missing_and_what_it_has():
    import pandas as pd

    from retention_lib.base.tables import require_columns

    table = pd.DataFrame({"customer_id": [1], "Date": ["2024-01-01"]})
    require_columns(table, ["customer_id"], "purchases")  # nothing missing: no error
    with pytest.raises(
        KeyError,
        match=r"purchases: missing column\(s\) \['date'\]; expected customer_id and date "
        r"\(it has \['customer_id', 'Date'\]\)",
    ):
        require_columns(table, ["customer_id", "date", "date"], "purchases", "customer_id and date", KeyError)


def test_one_way_to_key_a_cache():
    """Caches key their files with base.cache.content_key; hashlib appears only there, in the assets'
    verification of downloaded files, and in privacy (keyed pseudonyms and the audit of plain hashes)."""
    allowed = {"base/cache.py", "base/assets.py", "privacy/pseudonyms.py", "privacy/audit.py"}
    users = {p.relative_to(LIB).as_posix() for p, _ in _modules() if "hashlib" in p.read_text()}
    assert users <= allowed, f"use retention_lib.base.cache.content_key: {sorted(users - allowed)}"
