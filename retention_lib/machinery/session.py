"""What every notebook does first and last: seeds, plot style, device, and a provenance record."""

from __future__ import annotations

import datetime as dt
import inspect
import platform
import random
import time
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from IPython import get_ipython
from IPython.display import Markdown
from tqdm import TqdmExperimentalWarning, TqdmWarning

from retention_lib.base import plots, tables
from retention_lib.base.devices import device, device_name, machine

from . import pages, runner

__all__ = [
    "Session",
    "start",
    "show_source",
    "seed_everything",
    "device",
    "glue",
    "glue_all",
    "timer",
    "Timer",
    "machine",
    "record_benchmark",
]

_PACKAGES = [
    "retention-lib",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "torch",
    "transformers",
    "matplotlib",
    "seaborn",
    "papermill",
]


def glue(name: str, value) -> None:
    """Store a value for the prose (``{glue:text}`name:.2f```) without displaying it.

    NumPy scalars are turned into Python numbers first: myst-nb formats a glued value by parsing
    its text, and ``np.float64(0.4)`` is not a number it can parse.
    """
    from myst_nb import glue as _glue

    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (int, float, str)):
        raise TypeError(f"glue {name!r}: expected a number or text, got {type(value).__name__}")
    _glue(name, value, display=False)


def glue_all(values: dict) -> None:
    """:func:`glue` every ``name: value`` of a dict: a chapter's results for its prose in one call."""
    for name, value in values.items():
        glue(name, value)


class Timer:
    """Wall time of a block: ``with timer() as t: ...`` then ``t.seconds`` (``t.rate(n)``: n per second)."""

    def __enter__(self) -> Timer:
        self._t0 = time.perf_counter()
        self.seconds = float("nan")
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._t0

    def rate(self, n: int) -> float:
        """``n`` items over the block's time: items per second."""
        return n / self.seconds


def timer() -> Timer:
    """A :class:`Timer` for a ``with`` block."""
    return Timer()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when installed) torch from one number."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds the legacy global state that some libraries still draw from
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency, but stay importable without it
        return
    torch.manual_seed(seed)


def record_benchmark(results: Path, title: str, body: str) -> Path:
    """Append a dated section ``## title, YYYY-MM-DD`` with ``body`` to a results file (created if missing)."""
    results = Path(results)
    head = (
        ""
        if results.exists()
        else (
            "# Benchmark results\n\nAppended by the scripts in this folder; each section names the machine it ran on.\n"
        )
    )
    section = f"\n## {title}, {dt.date.today().isoformat()}\n\n{body.rstrip()}\n"
    results.write_text((results.read_text() if results.exists() else head) + section)
    return results


@dataclass
class Session:
    profile: str
    seed: int
    artifacts_dir: Path
    started: float = field(default_factory=time.perf_counter)

    def artifact(self, name: str) -> Path:
        """Path of a shared result in this profile's artifacts folder."""
        return self.artifacts_dir / name

    def upstream(self, name: str, chapter: str, log=print) -> Path:
        """Path of a result another chapter saves (``name`` in the artifacts folder).

        When it is missing, that chapter is run first in this profile (with its profile values),
        so that every chapter also runs on its own.
        """
        path = self.artifact(name)
        if not path.exists():
            log(f"{name} is missing: running chapter {chapter} in profile '{self.profile}' first")
            runner.run(self.profile, only=[chapter], log=log)
            if not path.exists():
                raise FileNotFoundError(f"chapter {chapter} ran but did not write {path}")
        return path

    def footer(self) -> pd.DataFrame:
        """A table of what produced this notebook: profile, seed, device, wall time, versions."""
        rows = {
            "profile": self.profile,
            "seed": self.seed,
            "device": device_name(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "wall time (s)": _seconds(time.perf_counter() - self.started),
        }
        for pkg in _PACKAGES:
            try:
                rows[pkg] = metadata.version(pkg)
            except metadata.PackageNotFoundError:
                rows[pkg] = "not installed"
        return pd.DataFrame({"value": pd.Series(rows, dtype=str)}).rename_axis("run")


def show_source(*objects) -> Markdown:
    """The library's code of ``objects`` (functions or classes), shown in the page as a highlighted code block:
    the reader sees what runs, not a copy that can drift from it. Give the cell the ``hide-input`` tag."""
    blocks = [f"```python\n{inspect.getsource(obj).rstrip()}\n```" for obj in objects]
    where = ", ".join(f"`{obj.__module__}.{obj.__qualname__}`" for obj in objects)
    return Markdown(f"*From {where}:*\n\n" + "\n\n".join(blocks))


def _seconds(seconds: float) -> str:
    """A wall time as a reader reads it: 8.4, 294 (not 294.0, which reads as a count written as a float)."""
    return f"{seconds:,.0f}" if seconds >= 100 else f"{seconds:.1f}"


def _describe_figures() -> None:
    """In a Jupyter kernel, every figure shown carries its description (:func:`plots.describe`) in its
    output's metadata (``alt``); the book's build makes it the image's alt text, so that a screen reader
    says what the figure shows instead of its file name. Outside a kernel, nothing changes."""
    try:
        from matplotlib_inline import backend_inline
    except ImportError:
        return
    original = backend_inline._fetch_figure_metadata
    if getattr(original, "describes", False):
        return

    def with_description(fig):
        metadata = dict(original(fig) or {})
        alt = plots.describe(fig)
        if alt:
            metadata["alt"] = alt
        overlaps = plots.overlapping_labels(fig)
        if overlaps:  # counted by the tests: labels drawn over each other cannot be read
            metadata["overlapping_labels"] = overlaps
        return metadata or None

    with_description.describes = True
    backend_inline._fetch_figure_metadata = with_description


def _show_tables() -> None:
    """In a Jupyter kernel, every DataFrame is shown in the book's table style (:func:`tables.shown`: labels
    for code keys, counts as whole numbers, about four significant digits, "-" for a missing value; a wide,
    short table turned, :func:`_narrow`). A table
    already written as text (:func:`tables.readable`) passes unchanged. Outside a kernel, nothing changes."""
    shell = get_ipython()
    if shell is None:
        return
    shell.display_formatter.formatters["text/html"].for_type(
        pd.DataFrame, lambda t: tables.shown(_narrow(t))._repr_html_()
    )


def _narrow(table: pd.DataFrame) -> pd.DataFrame:
    """A table too wide for the page (more than :data:`pages.MAX_COLUMNS` columns with its row labels) but short
    enough to turn is shown turned: its columns become rows, so none hides behind the page's edge."""
    wide = table.shape[1] + table.index.nlevels > pages.MAX_COLUMNS
    short = table.shape[0] + table.columns.nlevels <= pages.MAX_COLUMNS
    return table.T if wide and short else table


def start(profile: str, seed: int, artifacts_dir: str | Path) -> Session:
    """Seed everything, set the book's plot and table style and return the notebook's session."""
    seed_everything(seed)
    plots.set_style()
    _describe_figures()
    _show_tables()
    # tqdm.auto warns in kernels without ipywidgets; the progress text is all we need
    warnings.filterwarnings("ignore", category=TqdmWarning)
    warnings.filterwarnings("ignore", category=TqdmExperimentalWarning)
    folder = Path(artifacts_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return Session(profile=profile, seed=seed, artifacts_dir=folder)
