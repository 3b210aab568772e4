"""Chapters side by side: which chapters a chapter reads from, which must run alone, and a scheduler that
runs up to ``jobs`` at once in that order, each kernel with its share of the cores."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

from . import params as P
from .dependencies import notebook_code

__all__ = [
    "ChaptersFailed",
    "cores",
    "upstream_results",
    "upstream_chapters",
    "upstreams",
    "alone",
    "scheduled",
    "shared_threads",
]

#: ``S.upstream("<artifact>", "<chapter>")`` in a notebook's code: the chapters whose results it reads
_UPSTREAM = re.compile(r"""upstream\(\s*["']([^"']+)["']\s*,\s*["'](\d\d_[a-z0-9_]+)["']""")


def upstream_results(nb_path: Path) -> list[tuple[str, str]]:
    """``(artifact, chapter)`` for each saved result the notebook at ``nb_path`` reads (its ``S.upstream``
    calls): the file in the artifacts folder, and the chapter that writes it."""
    return sorted(set(_UPSTREAM.findall(notebook_code(nb_path))))


def upstream_chapters(nb_path: Path) -> list[str]:
    """The chapters whose saved results the notebook at ``nb_path`` reads, in book order: they must have
    run before it."""
    found = {chapter for _, chapter in upstream_results(nb_path)}
    return [s for s in P.notebooks() if s in found]


def upstreams(src_dir: Path, stems) -> dict[str, list[str]]:
    """:func:`upstream_chapters` of each of ``stems`` (notebooks in ``src_dir``)."""
    return {st: upstream_chapters(src_dir / f"{st}.ipynb") for st in stems}


def alone(stems) -> set[str]:
    """Those of ``stems`` marked ``alone`` in ``profiles.yaml``: they measure speed, and run by themselves."""
    book = P.spec()["notebooks"]
    return {st for st in stems if book.get(st, {}).get("alone")}


def scheduled(
    stems: list[str],
    jobs: int,
    submit: Callable[[str], futures.Future],
    upstream: dict[str, list[str]],
    alone: set[str],
    finished: Callable[[str, Any], None] = lambda stem, result: None,
) -> dict[str, Any]:
    """Run ``stems`` (in book order) with up to ``jobs`` at once: ``submit(stem)`` starts one and returns
    its future. A chapter starts when every chapter of ``stems`` it reads from has finished; one in
    ``alone`` starts only when nothing runs (and then before the others), and nothing starts beside it. After a failure nothing more
    starts; once the running ones have finished, the failure is raised (several: :class:`ChaptersFailed`, with
    each). Raises ``ValueError`` when chapters are left that can never start. Returns each result."""
    pending, running, results, failures = list(stems), {}, {}, []
    while pending or running:
        # when nothing runs, a chapter that must run alone goes first (others can then fill the lanes after it)
        order = sorted(pending, key=lambda st: st not in alone) if not running else list(pending)
        for stem in [] if failures else order:
            if len(running) >= jobs or any(s in alone for s in running):
                break
            if any(u in pending or u in running for u in upstream.get(stem, ())) or (stem in alone and running):
                continue
            running[stem] = submit(stem)
            pending.remove(stem)
        if failures:
            pending.clear()
        if not running:
            if pending:  # nothing runs and nothing can start: a chapter waits for one that is not coming
                raise ValueError(f"cannot start {pending}: each waits for a chapter that never runs ({upstream})")
            break
        finished_now, _ = futures.wait(running.values(), return_when=futures.FIRST_COMPLETED)
        for stem in [st for st, fut in running.items() if fut in finished_now]:
            fut = running.pop(stem)
            try:
                results[stem] = fut.result()
                finished(stem, results[stem])
            except Exception as exc:  # kept, and raised when the others have stopped
                failures.append(exc)
    if len(failures) == 1:
        raise failures[0]
    if failures:  # every one of them, each in its own words
        raise ChaptersFailed(failures)
    return results


class ChaptersFailed(Exception):
    """More than one chapter failed side by side; ``failures`` holds each chapter's own exception."""

    def __init__(self, failures: list[Exception]):
        self.failures = list(failures)
        super().__init__("\n".join(str(f) for f in self.failures))


#: the thread pools a kernel's numerical libraries start (OpenMP, BLAS, PyTorch read these)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def shared_threads(jobs: int | None) -> dict[str, str]:
    """The environment of a kernel that shares the machine with ``jobs - 1`` others: its share of the cores
    for every thread pool. Two OpenMP programs that each start a thread per core make each other wait
    (a waiting thread spins): measured here, three chapters side by side took 190 s instead of 21. Results
    are the same (checked on the book's glued numbers). ``None`` or 1: the kernel has the machine to itself."""
    if jobs is None or jobs <= 1:
        return {}
    return {var: os.environ.get(var, str(max(1, cores() // jobs))) for var in THREAD_VARS}


def cores() -> int:
    """The cores this process may use (a container's limit, not the host's count, where the system says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every system
        return os.cpu_count() or 1


def jobs_possible(jobs: int, stems: list[str], src_dir: Path, art_dir: Path, log) -> int:
    """``jobs``, or 1 when a chapter reads a result that is missing from ``art_dir`` and is written by a chapter
    not among ``stems``: each chapter would run that one itself, and two at once would collide."""
    missing = [
        chapter
        for st in stems
        for artifact, chapter in upstream_results(src_dir / f"{st}.ipynb")
        if chapter not in stems and not (art_dir / artifact).exists()
    ]
    missing = list(dict.fromkeys(missing))
    if jobs > 1 and missing:
        log(f"running one chapter at a time: {', '.join(missing)} must run first and are not among those asked for")
        return 1
    return jobs
