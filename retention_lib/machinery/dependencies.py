"""Which library files a notebook depends on, for the runner's cache: a chapter reruns when the code it imports changes, not when any code does."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from retention_lib.base.cache import content_key

LIB_DIR = Path(__file__).resolve().parents[1]  # the retention_lib package


def _imported_modules(code: str, package: str, current: str | None = None, is_package: bool = False) -> set[str] | None:
    """Dotted names (``pkg.sub.mod``) of ``package``'s modules that ``code`` imports.

    ``current`` is the dotted name of the module holding ``code`` (None for a notebook), so that
    relative imports resolve; ``is_package`` says it is an ``__init__.py``. A name may be a module
    or an attribute of a package: :func:`library_files` keeps what exists as a file. Returns None
    when ``code`` imports the whole package (``import pkg`` or ``from pkg import *``).
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == package:
                    if a.name == package:
                        return None
                    found.add(a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if current is None:
                    continue
                parts = current.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            if mod.split(".")[0] != package:
                continue
            if mod == package and any(a.name == "*" for a in node.names):
                return None
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names if a.name != "*")
    return found


def _module_file(name: str, lib_dir: Path) -> Path | None:
    """The file of dotted module ``name`` (a ``.py`` file or a package's ``__init__.py``), if any."""
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    for f in (lib_dir / rel.with_suffix(".py") if rel.parts else None, lib_dir / rel / "__init__.py"):
        if f is not None and f.is_file():
            return f
    return None


def notebook_code(nb_path: Path) -> str:
    """The code cells of a notebook as one Python source (IPython magics and shell lines dropped)."""
    nb = json.loads(Path(nb_path).read_text())
    lines = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            src = "".join(cell.get("source", []))
            lines += [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def library_files(code: str | None = None, lib_dir: Path = LIB_DIR) -> list[Path]:
    """The library files that ``code`` (a notebook's code) depends on, sorted.

    Only the modules it imports from the package count, followed through the package's own
    imports (relative and absolute, in subpackages too), with the ``__init__.py`` of every
    package on the way: editing the sentiment code does not invalidate the chapter on the
    retention loss. ``profiles.yaml`` does not count: a notebook's run key holds the values of its
    own parameters, so adding a chapter or changing another chapter's values reruns nothing else.
    Without ``code``, when something imports the package as a whole, or when a module cannot be
    parsed, every ``.py`` and ``.yaml`` file counts.
    """
    every = sorted(f for f in lib_dir.rglob("*") if f.suffix in (".py", ".yaml") and "__pycache__" not in f.parts)
    if code is None:
        return every
    package = lib_dir.name
    try:
        todo = _imported_modules(code, package)
        if todo is None:
            return every
        seen: set[str] = set()
        files: set[Path] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            parts = name.split(".")
            todo |= {".".join(parts[:k]) for k in range(1, len(parts))} - seen  # parents run first
            f = _module_file(name, lib_dir)
            if f is None:
                continue
            files.add(f)
            more = _imported_modules(f.read_text(), package, name, f.name == "__init__.py")
            if more is None:
                return every
            todo |= more - seen
    except SyntaxError:
        return every
    return [f for f in every if f in files]


def library_hash(code: str | None = None, lib_dir: Path = LIB_DIR) -> str:
    """Hash of the library source that ``code`` depends on (see :func:`library_files`)."""
    return content_key(*(part for f in library_files(code, lib_dir) for part in (f.relative_to(lib_dir).as_posix(), f)))
