"""Building the book from the executed notebooks: the staged sources, the generated pages, the HTML.

Layout (per profile, see :mod:`retention_lib.runner`)::

    _build/<profile>/src/         the book's sources staged for Jupyter Book
    _build/<profile>/_build/html  the rendered book

The book is built from notebooks the runner executed, never executed again here. Staging adds the
generated pages (table of contents, parameter appendix, instructor page) and moves the cells that only
glue values for the prose out of the reading flow.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import yaml

from . import params as P
from .runner import BuildError, _meta, notebook_errors, profile_dir, project_root
from .workshop import PROFILE as WORKSHOP
from .workshop import instructor_page

__all__ = ["build", "report", "check_offline_html", "write_parameter_appendix", "write_toc", "hide_glue_cells"]


def profiles_table() -> list[str]:
    """The profiles of ``profiles.yaml`` and what each is for (with its time budget), as Markdown table lines:
    the one place the book states how many profiles there are and how long each takes."""
    return [
        "| profile | for, and how long |",
        "|---|---|",
        *[f"| `{p}` | {d} |" for p, d in P.spec()["profiles"].items()],
    ]


def _profile_values(p, profiles: list[str]) -> str:
    """One cell for a parameter's values: one value once when every profile has it, else each profile's
    (four columns of profiles made the appendix wider than the page)."""
    values = [p.values[pr] for pr in profiles]
    if all(v == values[0] for v in values):
        return f"`{values[0]!r}` in every profile"
    return "; ".join(f"{pr} `{v!r}`" for pr, v in zip(profiles, values))


def write_parameter_appendix(path: Path) -> None:
    """Write the appendix page that lists every parameter of every profile."""
    s = P.spec()
    profiles = list(s["profiles"])
    lines = [
        "# Appendix: every parameter",
        "",
        "This page is generated from `retention_lib/machinery/profiles.yaml` when the book is built. "
        "Change a value for one run with `python -m retention_lib run --profile standard "
        "--only NOTEBOOK --set name=value`; a name or value not allowed here is rejected "
        "before anything runs.",
        "",
        "## Profiles",
        "",
        *profiles_table(),
        "",
        "Every notebook also receives two parameters from the runner:",
        "",
        *[f"- `{n}`: {h}." for n, h in P.RESERVED.items()],
        "",
    ]
    for stem, nb in s["notebooks"].items():
        lines += [
            f"## {nb['title']} (`{stem}`)",
            "",
            "| parameter | value in each profile | allowed | meaning |",
            "|---|---|---|---|",
        ]
        for name, p in nb["parameters"].items():
            meaning = p.help.replace("|", "\\|")  # a "|" in a help text (||w||) would end the table's cell
            lines.append(f"| `{name}` | {_profile_values(p, profiles)} | {p.allowed()} | {meaning} |")
        lines.append("")
    path.write_text("\n".join(lines))


def _glue_statements(source: str) -> list[tuple[int, int]] | None:
    """Line ranges (1-based, inclusive) of the top-level ``glue(...)``/``glue_all(...)`` calls of a
    cell; None when the cell does not parse."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return None
    return [
        (node.lineno, node.end_lineno)
        for node in body
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", getattr(node.value.func, "attr", None)) in ("glue", "glue_all")
    ]


def hide_glue_cells(nb_path: Path) -> int:
    """Take the bookkeeping out of the reading flow: the ``glue``/``glue_all`` calls of every code cell
    move, with the values they stored, to a cell of their own right after it, tagged ``remove-cell``.

    The page then shows each value where the prose uses it, and the code the reader sees is what
    computes and displays. Only an executed notebook staged for the book is changed (not re-run).
    Returns how many cells had glue calls taken out.
    """
    nb = json.loads(Path(nb_path).read_text())
    cells, n = [], 0
    for cell in nb.get("cells", []):
        cells.append(cell)
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        spans = _glue_statements(source)
        if not spans:
            continue
        lines = source.splitlines(keepends=True)
        glued = {i for lo, hi in spans for i in range(lo - 1, hi)}
        kept = "".join(line for i, line in enumerate(lines) if i not in glued).rstrip("\n")
        moved = "".join(line for i, line in enumerate(lines) if i in glued).rstrip("\n")
        outputs = cell.get("outputs", []) or []
        stored = [o for o in outputs if "scrapbook" in o.get("metadata", {})]
        hidden = {
            "cell_type": "code",
            "execution_count": None,
            "id": f"{cell.get('id', 'c')}-glue",
            "metadata": {"tags": ["remove-cell"]},
            "outputs": stored,
            "source": moved,
        }
        if kept.strip():
            cell["source"] = kept
            cell["outputs"] = [o for o in outputs if "scrapbook" not in o.get("metadata", {})]
            cells.append(hidden)
        else:  # nothing but glue: hide the cell itself
            cell.setdefault("metadata", {}).setdefault("tags", []).append("remove-cell")
        n += 1
    nb["cells"] = cells
    Path(nb_path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return n


#: the book's pages around the chapters; the chapters come from ``profiles.yaml``, in its order
_TOC_BEFORE = [("Using this book", ["how-to-use", "reading-numbers", "workshop"])]
_TOC_AFTER = [("Appendix", ["parameters", "references"])]


def describe_images(nb_path: Path) -> int:
    """Give every figure of an executed notebook the alt text its kernel recorded (``alt`` in the output's
    metadata, from :func:`retention_lib.base.plots.describe`): MyST-NB reads it from the cell's
    ``mystnb.image.alt``. Returns how many cells got one."""
    nb = json.loads(Path(nb_path).read_text())
    n = 0
    for cell in nb["cells"]:
        alts = [
            o["metadata"]["alt"]
            for o in cell.get("outputs", []) or []
            if any(k.startswith("image/") for k in o.get("data", {})) and (o.get("metadata") or {}).get("alt")
        ]
        if alts:
            image = cell.setdefault("metadata", {}).setdefault("mystnb", {}).setdefault("image", {})
            image.setdefault("alt", "; ".join(dict.fromkeys(alts)))
            n += 1
    Path(nb_path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return n


def write_toc(path: Path) -> None:
    """Write the book's table of contents: the prose pages, and every chapter of ``profiles.yaml``.

    Generated from the one list of chapters (as the parameter appendix is), so a chapter cannot
    silently drop out of the book.
    """

    def part(caption, files, numbered=None):
        out = {"caption": caption}
        if numbered is not None:
            out["numbered"] = numbered
        out["chapters"] = [{"file": f} for f in files]
        return out

    toc = {
        "format": "jb-book",
        "root": "intro",
        "parts": [part(c, f) for c, f in _TOC_BEFORE]
        + [part("Chapters", [f"notebooks/{stem}" for stem in P.notebooks()], numbered=False)]
        + [part(c, f) for c, f in _TOC_AFTER],
    }
    path.write_text(
        "# Generated by retention_lib.machinery.build.write_toc from profiles.yaml: do not edit.\n"
        + yaml.safe_dump(toc, sort_keys=False)
    )


class _AssetFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":  # a link the reader may follow (a cited source), not something the page loads
            return
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data-src") and value and re.match(r"\s*(https?:)?//", value):
                self.found.append(f"<{tag} {name}={value!r}>")


def check_offline_html(html_dir: Path) -> list[str]:
    """Every asset (``src``, ``href`` of a stylesheet, ...) in the built HTML that the page would load over
    http(s) (empty when the page works offline). Links (``<a href>``), such as a cited source's
    address, are not loaded and are allowed."""
    problems = []
    for page in sorted(Path(html_dir).rglob("*.html")):
        finder = _AssetFinder()
        finder.feed(page.read_text(errors="replace"))
        problems += [f"{page.relative_to(html_dir)}: {f}" for f in finder.found]
    return problems


def build(profile: str, root: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Build the HTML book from the notebooks executed in ``profile``; return the HTML folder.

    Fails on a missing or failed notebook, on any Sphinx warning, and on any http(s) asset.
    """
    root = root or project_root()
    out_dir = profile_dir(profile, root)
    nb_dir, stage = out_dir / "notebooks", out_dir / "src"
    problems = []
    for stem in P.notebooks():
        nb = nb_dir / f"{stem}.ipynb"
        if not nb.exists():
            problems.append(
                f"{stem}: not run in profile '{profile}' "
                f"(python -m retention_lib run --profile {profile} --only {stem})"
            )
            continue
        meta, errors = _meta(nb), notebook_errors(nb)
        if not meta.get("ok") or errors:
            problems.append(f"{stem}: the executed notebook raised: {'; '.join(errors) or 'see ' + str(nb)}")
        elif meta.get("profile") != profile:
            problems.append(f"{stem}: executed in profile '{meta.get('profile')}', not '{profile}'")
    if problems:
        raise BuildError("cannot build the book:\n  - " + "\n  - ".join(problems))

    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(root / "book", stage, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
    shutil.copy2(root / "_config.yml", stage / "_config.yml")  # the book's configuration lives at the top
    shutil.copytree(nb_dir, stage / "notebooks")
    for staged in (stage / "notebooks").glob("*.ipynb"):
        hide_glue_cells(staged)
        describe_images(staged)
    write_parameter_appendix(stage / "parameters.md")
    (stage / "profiles-table.md").write_text("\n".join(profiles_table()) + "\n")  # included by how-to-use.md

    instructor_page(stage / "workshop.md", profile_dir(WORKSHOP, root) / "notebooks")
    write_toc(stage / "_toc.yml")
    log(f"building the book ({profile}) ...")
    html = _jupyter_book(stage, out_dir)
    log(f"built: open {html / 'index.html'}")
    return html


def _jupyter_book(stage: Path, out_dir: Path) -> Path:
    """Build the staged book in ``stage`` into ``out_dir/_build/html`` (clean: a cached build hides warnings),
    with every Sphinx warning an error and no asset from the internet; return the HTML folder."""
    html = out_dir / "_build" / "html"
    if html.exists():
        shutil.rmtree(out_dir / "_build")
    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(stage),
        "--path-output",
        str(out_dir),
        "--builder",
        "html",
        "-W",
        "-n",
        "--keep-going",
    ]
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise BuildError(f"jupyter-book failed (exit {proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}")
    offline = check_offline_html(html)
    if offline:
        raise BuildError("the HTML loads assets from the internet:\n  " + "\n  ".join(offline[:20]))
    return html


def report(nb_path: Path, out_dir: Path, root: Path | None = None) -> Path:
    """One executed chapter as a page of its own (the book's style, its glued numbers and figures), built in
    ``out_dir``; returns the page's HTML file. Chapter 12's report on a shop's own files is built so."""
    root = root or project_root()
    nb_path, out_dir = Path(nb_path), Path(out_dir)
    errors = notebook_errors(nb_path)
    if errors:
        raise BuildError(f"{nb_path}: the executed notebook raised: {'; '.join(errors)}")
    stage = out_dir / "src"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    shutil.copy2(root / "_config.yml", stage / "_config.yml")
    shutil.copy2(root / "book" / "references.bib", stage / "references.bib")
    shutil.copy2(nb_path, stage / nb_path.name)
    hide_glue_cells(stage / nb_path.name)
    describe_images(stage / nb_path.name)
    (stage / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": nb_path.stem}))
    return _jupyter_book(stage, out_dir) / f"{nb_path.stem}.html"
