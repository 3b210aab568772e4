"""Run the notebooks of the book with papermill (the book itself is built by :mod:`retention_lib.machinery.build`).

Layout, one folder per profile so that profiles never overwrite each other::

    _build/<profile>/notebooks/   executed notebooks
    _build/<profile>/artifacts/   results that chapters share (scores, models, predictions)
    _build/<profile>/src/         the book's sources staged for Jupyter Book
    _build/<profile>/_build/html  the rendered book

An executed notebook records a key: the hash of the source notebook, its parameters and the
source of the library modules it imports (followed through the library's own imports). A later
run with the same key reuses it instead of executing again.
"""

from __future__ import annotations

import fnmatch
import json
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

from retention_lib.base.cache import content_key

from . import params
from . import params as P
from .dependencies import LIB_DIR, library_files, library_hash, notebook_code
from .kernels import ipc_kernel_manager as _kernel_manager_class
from .schedule import THREAD_VARS, ChaptersFailed, upstream_chapters
from .schedule import alone as _alone
from .schedule import jobs_possible as _jobs_possible
from .schedule import scheduled as _scheduled
from .schedule import shared_threads as _shared_threads
from .schedule import upstreams as _upstreams

__all__ = [
    "project_root",
    "profile_dir",
    "run",
    "notebook_errors",
    "reproduce",
    "upstream_chapters",
    "glued_values",
    "compare_glued",
    "TIMINGS",
    "is_timing",
    "library_files",
    "library_hash",
    "RunError",
    "BuildError",
]


class RunError(RuntimeError):
    """A notebook raised while running."""


class BuildError(RuntimeError):
    """The book could not be built cleanly."""


def project_root() -> Path:
    """The checkout holding ``notebooks/`` and ``book/`` (this package's parent folder)."""
    root = LIB_DIR.parent
    if not (root / "notebooks").is_dir():
        raise FileNotFoundError(f"{root} has no notebooks/ folder: run from a checkout of the book (pip install -e .)")
    return root


def profile_dir(profile: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "_build" / profile


def _key(source: Path, values: dict[str, Any], profile: str, lib: str) -> str:
    return content_key(source, {"profile": profile, "parameters": values}, lib)


def _meta(nb_path: Path) -> dict:
    try:
        return json.loads(nb_path.read_text())["metadata"].get("retention_lib", {})
    except (OSError, ValueError, KeyError):
        return {}


def notebook_errors(nb_path: Path) -> list[str]:
    """Descriptions of the error outputs stored in an executed notebook (empty when none)."""
    nb = json.loads(Path(nb_path).read_text())
    errs = []
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "error":
                errs.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
    if nb.get("metadata", {}).get("papermill", {}).get("exception"):
        errs = errs or ["papermill recorded an exception"]
    return errs


def glued_values(nb_path: Path) -> dict[str, str]:
    """The values an executed notebook glued for its prose, as the text myst-nb reads (name -> text)."""
    nb = json.loads(Path(nb_path).read_text())
    out = {}
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) or []:
            book = o.get("metadata", {}).get("scrapbook")
            if book:
                data = o.get("data", {})
                out[book["name"]] = data.get(book.get("mime_prefix", "") + "text/plain", "")
    return out


#: glued values that measure the machine (speed, device), not the method: they differ run to run
TIMINGS = frozenset(
    {"device", "ft_minutes", "ft_rate", "score_rate", "speed_infer", "speed_train", "bg_fit_seconds", "cv_seconds"}
)
#: so does every glued value whose name contains one of these (``*_seconds``, ``cv_seconds_06``)
TIMING_MARKS = ("_seconds", "seconds_")


def is_timing(name: str, stem: str | None = None) -> bool:
    """Whether a glued value measures the machine: listed in :data:`TIMINGS`, named ``*_seconds*``, or
    matching one of the ``measured`` patterns of chapter ``stem`` in ``profiles.yaml`` (a chapter about
    speed declares its speeds, ratios and prices per hour there)."""
    if name in TIMINGS or any(m in name for m in TIMING_MARKS):
        return True
    if stem is None:
        return False

    book = params.spec()["notebooks"].get(stem, {})
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in book.get("measured", ()))


def compare_glued(
    before: dict[str, dict[str, str]], after: dict[str, dict[str, str]], rtol: float = 1e-9, ignore=is_timing
) -> list[str]:
    """Differences between two sets of glued values (chapter -> name -> text); empty when equal.

    Numbers are equal within ``rtol`` (relative), or when their text is the same (so ``nan`` equals ``nan``);
    other text must match exactly. Names for which
    ``ignore(name, stem)`` is true (by default the timings, :func:`is_timing`) are skipped; a value present
    on one side only is a difference.
    """
    diffs = []
    for stem in sorted(set(before) | set(after)):
        b, a = before.get(stem, {}), after.get(stem, {})
        for name in sorted(set(b) | set(a)):
            if ignore(name, stem):
                continue
            if name not in a or name not in b:
                diffs.append(f"{stem}.{name}: only {'before' if name in b else 'after'} ({b.get(name, a.get(name))})")
                continue
            x, y = b[name], a[name]
            try:  # the same text is the same value ("nan" included, which no float equals)
                same = x == y or math.isclose(float(x), float(y), rel_tol=rtol, abs_tol=1e-15)
            except ValueError:
                same = False
            if not same:
                diffs.append(f"{stem}.{name}: {x} -> {y}")
    return diffs


def _set_meta(nb_path: Path, meta: dict) -> None:
    nb = json.loads(nb_path.read_text())
    nb["metadata"]["retention_lib"] = meta
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def run(
    profile: str,
    only: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    root: Path | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
    jobs: int = 1,
) -> list[Path]:
    """Execute the notebooks of ``profile`` in book order (all, or those in ``only``).

    Every name and value is checked before anything runs. With ``jobs`` > 1, up to that many chapters
    run side by side, each in its own process, a chapter only after the chapters it reads from
    (:func:`upstream_chapters`) and a chapter marked ``alone`` in ``profiles.yaml`` (it measures speed)
    with nothing beside it; the numbers are the same, the timings on the pages are measured under load.
    Returns the executed notebooks.
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise P.ParameterError(f"jobs: the number of chapters run side by side must be 1 or more, got {jobs!r}")
    root = root or project_root()
    src_dir = root / "notebooks"
    stems = _chapters(src_dir, only)
    values = P.resolve(profile, stems, overrides)
    out_dir = profile_dir(profile, root)
    nb_dir, art_dir = out_dir / "notebooks", out_dir / "artifacts"
    nb_dir.mkdir(parents=True, exist_ok=True)
    art_dir.mkdir(parents=True, exist_ok=True)
    done, summary = [], []
    total = time.perf_counter()
    # the notebooks run with notebooks/ as working directory: a relative path is the same on every
    # machine, and is what the parameters cell holds when a reader runs a chapter by hand
    rel_art = os.path.relpath(art_dir, src_dir)
    jobs = _jobs_possible(jobs, stems, src_dir, art_dir, log)
    with tempfile.TemporaryDirectory(prefix="retention-kernel-") as sockets:
        todo = {}
        for i, stem in enumerate(stems, 1):
            source, target = src_dir / f"{stem}.ipynb", nb_dir / f"{stem}.ipynb"
            if not source.exists():
                raise FileNotFoundError(f"notebook {source} is listed in {P.SPEC_FILE.name} but missing")
            key = _key(source, values[stem], profile, library_hash(notebook_code(source)))
            prev = _meta(target) if target.exists() else {}
            tag = f"[{i}/{len(stems)}] {stem} ({profile})"
            if not force and prev.get("key") == key and prev.get("ok"):
                log(f"{tag}: unchanged, reusing the executed notebook ({prev.get('seconds', 0):.1f} s when run)")
                summary.append((stem, "reused", prev.get("seconds", 0.0)))
            elif jobs == 1:
                log(f"{tag}: running ...")
                params = dict(values[stem], profile=profile, artifacts_dir=rel_art)
                seconds = _execute(source, target, params, key, values[stem], profile, sockets, tag)
                log(f"{tag}: done in {seconds:.1f} s")
                summary.append((stem, "ran", seconds))
            else:
                params = dict(values[stem], profile=profile, artifacts_dir=rel_art)
                todo[stem] = (source, target, params, key, values[stem], profile, str(Path(sockets) / stem), tag)
                summary.append((stem, "ran", None))
            done.append(target)
        if todo:
            took = _side_by_side(todo, jobs, src_dir, log)
            summary = [(st, how, took[st] if sec is None else sec) for st, how, sec in summary]
    width = max(len(st) for st, _, _ in summary)
    table = [f"{'chapter':<{width}}  {'':6}  {'seconds':>7}"] + [
        f"{st:<{width}}  {how:6}  {sec:7.1f}" for st, how, sec in summary
    ]
    log("\n".join(table))
    log(f"{len(stems)} notebook(s) in {time.perf_counter() - total:.1f} s; executed copies in {nb_dir}")
    return done


def _side_by_side(todo: dict[str, tuple], jobs: int, src_dir: Path, log) -> dict[str, float]:
    """Execute the chapters of ``todo`` (stem -> :func:`_execute`'s arguments) up to ``jobs`` at once, each in a
    process of its own (:func:`.schedule.scheduled`); the seconds each took."""
    for args in todo.values():
        Path(args[6]).mkdir()
    alone = _alone(todo)
    with futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:

        def submit(stem):
            log(f"{todo[stem][-1]}: running ...")
            return pool.submit(_execute_sharing, None if stem in alone else jobs, *todo[stem])

        def finished(stem, seconds):
            log(f"{todo[stem][-1]}: done in {seconds:.1f} s")

        try:
            return _scheduled(list(todo), jobs, submit, _upstreams(src_dir, todo), alone, finished)
        except ChaptersFailed as many:
            error = RunError(str(many))
            error.failures = many.failures  # each chapter's own RunError
            raise error from None


def _chapters(src_dir: Path, only: list[str] | None) -> list[str]:
    """The chapters to run, in book order: every one, or those in ``only`` (each must exist)."""
    order = P.notebooks()
    unknown_files = [s for s in sorted(p.stem for p in src_dir.glob("*.ipynb")) if s not in order]
    if unknown_files:
        raise P.ParameterError(f"notebooks without an entry in {P.SPEC_FILE}: {', '.join(unknown_files)}")
    if not only:
        return order
    bad = [s for s in only if s not in order]
    if bad:
        raise P.ParameterError(f"unknown notebook(s) {', '.join(bad)}; notebooks: {', '.join(order)}")
    return [s for s in order if s in only]


#: the thread settings this process started with (in a worker of the pool: the parent's)
_OWN_THREADS = {var: os.environ.get(var) for var in THREAD_VARS}


def _execute_sharing(jobs: int | None, *args) -> float:
    """:func:`_execute` in a worker process, its kernel limited to its share of the cores (``jobs``), or with
    the machine's own settings (``None``: a chapter that runs alone). A worker runs several chapters in
    turn, so the settings are put back before each."""
    for var, value in _OWN_THREADS.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    os.environ.update(_shared_threads(jobs))
    return _execute(*args)


def _execute(
    source: Path, target: Path, params: dict, key: str, values: dict, profile: str, sockets: str, tag: str
) -> float:
    """Run one notebook with papermill and record its key in the executed copy; the seconds it took."""
    import papermill as pm  # imported late: `python -m retention_lib --help` stays fast

    t0 = time.perf_counter()
    ok, error = True, None
    try:
        pm.execute_notebook(
            str(source),
            str(target),
            parameters=params,
            kernel_name="python3",
            cwd=str(source.parent),
            progress_bar=sys.stderr.isatty(),
            log_output=False,
            kernel_manager_class=_kernel_manager_class(sockets),
        )
    except pm.PapermillExecutionError as exc:
        ok, error = False, f"{exc.ename}: {exc.evalue} (cell {exc.exec_count})"
    seconds = time.perf_counter() - t0
    meta = {
        "key": key if ok else None,
        "ok": ok,
        "profile": profile,
        "parameters": values,
        "seconds": round(seconds, 2),
    }
    _set_meta(target, meta)
    if not ok:
        raise RunError(
            f"{tag} failed after {seconds:.1f} s: {error}\nThe executed notebook with the traceback is {target}"
        )
    return seconds


def reproduce(
    profile: str, root: Path | None = None, only: list[str] | None = None, timeout: int = 1800, jobs: int = 1
) -> subprocess.CompletedProcess:
    """Run every executed notebook of ``profile`` again with nbval and compare the outputs of the cells
    tagged ``nbval-check-output`` (each chapter's key numbers) with the stored ones.

    The copies run from a scratch folder laid out like the checkout (their ``artifacts_dir`` is the
    relative path ``../_build/<profile>/artifacts``, linked to the profile's artifacts), so nothing in
    ``_build`` is replaced but the artifacts the notebooks write again, identically. With ``jobs`` > 1,
    each notebook is checked by its own pytest process, up to ``jobs`` at once, in the order
    :func:`run` keeps side by side (a chapter after those it reads from, so that none reads a file
    another is writing again). Returns a completed process: ``returncode`` 0 when every checked output
    is reproduced, ``stdout`` pytest's reports.
    """
    root = root or project_root()
    out_dir = profile_dir(profile, root)
    unknown = [s for s in only or [] if s not in P.notebooks()]
    if unknown:
        raise RunError(f"unknown notebook(s) {', '.join(unknown)}; notebooks: {', '.join(P.notebooks())}")
    stems = [s for s in P.notebooks() if s in (only or P.notebooks())]
    for stem in stems:
        if not (out_dir / "notebooks" / f"{stem}.ipynb").exists():
            raise RunError(f"{stem} has not run in profile '{profile}': run it before checking it")
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "-q"]
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    with tempfile.TemporaryDirectory(prefix="retention-nbval-") as tmp:

        def check(group: list[str], folder: str) -> subprocess.CompletedProcess:
            scratch = Path(tmp) / folder
            (scratch / "notebooks").mkdir(parents=True)
            for stem in group:
                shutil.copy2(out_dir / "notebooks" / f"{stem}.ipynb", scratch / "notebooks" / f"{stem}.ipynb")
            (scratch / "_build" / profile).mkdir(parents=True)
            (scratch / "_build" / profile / "artifacts").symlink_to(out_dir / "artifacts", target_is_directory=True)
            mine = dict(env, **_shared_threads(None if len(group) > 1 or group[0] in alone else jobs))
            return subprocess.run(
                [*cmd, "notebooks"], cwd=scratch, capture_output=True, text=True, timeout=timeout, env=mine
            )

        alone = _alone(stems)
        if jobs <= 1 or len(stems) == 1:
            return check(stems, "all")
        with futures.ThreadPoolExecutor(jobs) as pool:  # threads that wait on one pytest process each
            procs = _scheduled(
                stems,
                jobs,
                lambda stem: pool.submit(check, [stem], stem),
                _upstreams(root / "notebooks", stems),
                alone,
            )
    report = "\n".join(f"--- {stem}\n{procs[stem].stdout}{procs[stem].stderr}" for stem in stems)
    failed = next((procs[s].returncode for s in stems if procs[s].returncode != 0), 0)  # killed: negative
    return subprocess.CompletedProcess(cmd, failed, report, "")
