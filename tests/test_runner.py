"""The runner's cache key: a notebook reruns when the library code it uses changes, and only then."""

import json

import pytest

from retention_lib.machinery import build as book
from retention_lib.machinery import runner, schedule


def write_files(folder, files: dict):
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def make_package(root):
    return write_files(
        root / "mylib",
        {
            "__init__.py": "",
            "a.py": "from .b import f\n\ndef g():\n    from . import c\n    return c\n",
            "b.py": "def f():\n    return 1\n",
            "c.py": "X = 1\n",
            "d.py": "Y = 1\n",
            "spec.yaml": "k: 1\n",
        },
    )


def edit(path):
    path.write_text(path.read_text() + "\n# edited\n")


@pytest.mark.parametrize("code", ["from mylib import a", "import mylib.a", "from mylib.a import g as h"])
def test_hash_follows_imports_through_the_package(tmp_path, code):
    lib = make_package(tmp_path)
    before = runner.library_hash(code, lib)
    edit(lib / "d.py")  # not imported by a, b or c
    assert runner.library_hash(code, lib) == before
    edit(lib / "spec.yaml")  # parameters are keyed by their values, not by the file
    assert runner.library_hash(code, lib) == before
    for name in ["b.py", "c.py", "__init__.py"]:  # b: top-level import; c: inside a function
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
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["import mylib"]},
            {"cell_type": "code", "source": ["%matplotlib inline\n", "from mylib import a\n", "!ls"]},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    assert runner.notebook_code(path) == "from mylib import a"


def test_hash_follows_relative_imports_in_subpackages(tmp_path):
    lib = make_package(tmp_path)
    sub = write_files(
        lib / "sub",
        {
            "__init__.py": "from .x import f\n",
            "x.py": "from ..b import f\nfrom . import y\n",
            "y.py": "Y = 2\n",
            "z.py": "Z = 3\n",
        },
    )
    names = {f.relative_to(lib).as_posix() for f in runner.library_files("from mylib.sub import f", lib)}
    assert names == {"__init__.py", "sub/__init__.py", "sub/x.py", "sub/y.py", "b.py"}
    # a submodule imported directly runs its package's __init__ first, which imports x and y
    direct = {f.relative_to(lib).as_posix() for f in runner.library_files("from mylib.sub.z import Z", lib)}
    assert {"sub/__init__.py", "sub/x.py", "sub/z.py"} <= direct and "d.py" not in direct
    before = runner.library_hash("from mylib.sub import f", lib)
    edit(sub / "z.py")
    assert runner.library_hash("from mylib.sub import f", lib) == before
    edit(lib / "b.py")
    assert runner.library_hash("from mylib.sub import f", lib) != before


def test_the_book_chapters_depend_on_the_modules_they_use():
    from pathlib import Path

    root = Path(runner.__file__).resolve().parents[2]
    lib = root / "retention_lib"
    used = {
        nb.stem: {f.relative_to(lib).as_posix() for f in runner.library_files(runner.notebook_code(nb))}
        for nb in (root / "notebooks").glob("*.ipynb")
    }
    assert not any(f.startswith("sentiment/") for f in used["03_retention_loss"])
    assert "retention/losses.py" in used["03_retention_loss"]
    assert (
        not any(f.startswith("retention/") for f in used["02_sentiment"]) and "base/metrics.py" in used["02_sentiment"]
    )
    assert {
        "retention/features.py",
        "retention/bgnbd.py",
        "retention/classifiers.py",
        "retention/mlp.py",
        "base/metrics.py",
    } <= used["04_retention_purchases"]
    assert {
        "world/simulate.py",
        "world/rules.py",
        "world/storage.py",
        "profiles/user_profiles.py",
        "retention/bgnbd.py",
    } <= used["05_linked_world"]
    assert not any(f.startswith(("serving/", "privacy/", "recommend/")) for f in used["05_linked_world"])


def test_the_training_fingerprint_covers_the_training_code_only():
    """Editing the speed code must not discard a resumable fine-tuning run (chapter 02's 10 minutes)."""
    import hashlib
    import inspect
    from pathlib import Path

    from retention_lib.sentiment import classifier, fine_tuning, training

    assert "training_code_digest()" in inspect.getsource(fine_tuning.FineTuningRun)
    modules = [classifier, training, fine_tuning]
    assert list(training.TRAINING_CODE) == [Path(m.__file__).name for m in modules]
    expected = hashlib.sha256(b"".join(Path(m.__file__).read_bytes() for m in modules)).hexdigest()
    assert training.training_code_digest() == expected
    assert "throughput" not in "".join(inspect.getsource(m) for m in modules)


def test_the_table_of_contents_lists_every_chapter_in_book_order(tmp_path):
    import yaml

    from retention_lib.machinery import params as P

    book.write_toc(tmp_path / "_toc.yml")
    toc = yaml.safe_load((tmp_path / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    chapters = [f for f in files if f.startswith("notebooks/")]
    assert chapters == [f"notebooks/{s}" for s in P.notebooks()]
    assert toc["root"] == "intro" and {"how-to-use", "parameters", "references"} <= set(files)


def test_glued_values_are_read_and_compared(tmp_path):
    out = {
        "output_type": "display_data",
        "metadata": {"scrapbook": {"name": "auc", "mime_prefix": "x/"}},
        "data": {"x/text/plain": "0.7731"},
    }
    nb = {"cells": [{"cell_type": "code", "source": "", "outputs": [out]}], "metadata": {}}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    assert runner.glued_values(path) == {"auc": "0.7731"}
    before = {"04": {"auc": "0.7731", "best": "LR", "cv_seconds": "40.1"}}
    assert runner.compare_glued(before, {"04": {"auc": "0.7731000000000001", "best": "LR", "cv_seconds": "9"}}) == []
    diffs = runner.compare_glued(before, {"04": {"auc": "0.7732", "cv_seconds": "9"}})
    assert diffs == ["04.auc: 0.7731 -> 0.7732", "04.best: only before (LR)"]
    assert runner.compare_glued({"07": {"corr": "nan"}}, {"07": {"corr": "nan"}}) == []
    assert runner.compare_glued({"07": {"corr": "nan"}}, {"07": {"corr": "0.1"}}) == ["07.corr: nan -> 0.1"]
    assert (
        runner.compare_glued(
            {"09": {"draw_seconds": "42.1", "cv_seconds_06": "3"}},
            {"09": {"draw_seconds": "40.0", "cv_seconds_06": "9"}},
        )
        == []
    )
    assert runner.is_timing("tune_seconds") and not runner.is_timing("seconds")
    # a chapter about speed declares its machine-dependent values in profiles.yaml ("measured")
    assert runner.is_timing("naive_rate", "10_cost_scale") and runner.is_timing("best_backend", "10_cost_scale")
    assert not runner.is_timing("gain_pts", "10_cost_scale") and not runner.is_timing("naive_rate")
    assert (
        runner.compare_glued(
            {"10_cost_scale": {"naive_rate": "52.1", "gain_pts": "2.1"}},
            {"10_cost_scale": {"naive_rate": "49.0", "gain_pts": "2.1"}},
        )
        == []
    )


def test_glue_calls_leave_the_reading_flow_with_the_values_they_stored(tmp_path):
    glue_out = {
        "output_type": "display_data",
        "metadata": {"scrapbook": {"name": "a", "mime_prefix": ""}},
        "data": {"text/plain": "1"},
    }
    table_out = {"output_type": "execute_result", "metadata": {}, "data": {"text/plain": "table"}, "execution_count": 1}
    cells = [
        {
            "cell_type": "code",
            "metadata": {},
            "id": "k",
            "outputs": [glue_out, table_out],
            "source": 'x = 1\nglue_all({"a": x,\n          "b": 2})\nx',
        },
        {"cell_type": "code", "metadata": {}, "id": "g", "outputs": [glue_out], "source": "glue('a', 1)"},
        {"cell_type": "code", "metadata": {}, "id": "n", "outputs": [], "source": "y = 2"},
        {"cell_type": "markdown", "metadata": {}, "source": "glue('a', 1)"},
    ]
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}}))
    assert book.hide_glue_cells(path) == 2
    out = json.loads(path.read_text())["cells"]
    assert [c.get("id") for c in out] == ["k", "k-glue", "g", "n", None]
    assert out[0]["source"] == "x = 1\nx" and out[0]["outputs"] == [table_out]
    assert out[1]["metadata"]["tags"] == ["remove-cell"] and out[1]["outputs"] == [glue_out]
    assert out[1]["source"] == 'glue_all({"a": x,\n          "b": 2})'
    assert out[2]["metadata"]["tags"] == ["remove-cell"] and out[2]["outputs"] == [glue_out]
    assert "tags" not in out[3]["metadata"]


# --- chapters side by side -------------------------------------------------------------------------------------


def test_the_book_knows_which_chapters_each_reads_from():
    from conftest import ROOT

    up = schedule.upstreams(ROOT / "notebooks", ["01_data", "05_linked_world", "09_ab_testing", "10_cost_scale"])
    assert up["01_data"] == [] and up["05_linked_world"] == ["02_sentiment"]
    assert up["09_ab_testing"] == ["05_linked_world", "08_strategy"]
    assert "02_sentiment" in up["10_cost_scale"]
    assert {"02_sentiment", "10_cost_scale"} <= schedule.alone(runner.P.notebooks())  # they measure speed


def _timeline(stems, jobs, upstream, alone, fail=()):
    """Run fake chapters through the scheduler; each records when it started and ended."""
    import threading
    import time
    from concurrent import futures

    events, lock = [], threading.Lock()

    def chapter(stem):
        with lock:
            events.append(("start", stem))
        time.sleep(0.05)
        with lock:
            events.append(("end", stem))
        if stem in fail:
            raise runner.RunError(f"{stem} failed")
        return stem.upper()

    with futures.ThreadPoolExecutor(8) as pool:
        try:
            out = schedule.scheduled(stems, jobs, lambda s: pool.submit(chapter, s), upstream, alone)
        except (runner.RunError, schedule.ChaptersFailed) as exc:
            out = exc
    return events, out


def _running_at_each_start(events):
    running, seen = set(), []
    for kind, stem in events:
        if kind == "start":
            running.add(stem)
            seen.append((stem, set(running)))
        else:
            running.discard(stem)
    return seen


def test_chapters_run_side_by_side_after_what_they_read_and_alone_when_they_measure_speed():
    stems = ["a", "b", "c", "d", "e", "f"]
    upstream = {"c": ["b"], "d": ["b"], "f": ["c", "d"]}
    events, out = _timeline(stems, 2, upstream, alone={"b", "e"})
    assert out == {s: s.upper() for s in stems}
    order = [s for kind, s in events if kind == "end"]
    for stem, ups in upstream.items():  # a chapter starts only after every chapter it reads from has ended
        start = events.index(("start", stem))
        assert all(events.index(("end", u)) < start for u in ups)
    for stem, running in _running_at_each_start(events):
        assert len(running) <= 2  # never more than jobs at once
        if stem in {"b", "e"}:
            assert running == {stem}  # a chapter that measures speed has the machine to itself
        assert not (running - {stem}) & {"b", "e"}
    assert events[0] == ("start", "b")  # nothing runs at first: the chapter that must run alone goes first
    assert max(len(r) for _, r in _running_at_each_start(events)) == 2 and sorted(order) == stems


def test_after_a_failure_nothing_more_starts_and_the_failure_is_raised():
    events, out = _timeline(["a", "b", "c"], 1, {"c": ["b"]}, alone=set(), fail={"a"})
    assert isinstance(out, runner.RunError) and "a failed" in str(out)
    assert ("start", "c") not in events and ("start", "b") not in events


def test_figures_are_described_for_their_alt_text(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from retention_lib.base import plots

    fig, (a, b) = plt.subplots(1, 2)
    fig.suptitle("Who stays")
    a.set_title("Retention by cohort")
    b.set(xlabel="weeks", ylabel="share buying")
    assert plots.describe(fig) == "Who stays; Retention by cohort; share buying against weeks"
    assert plots.describe(plt.figure()) == ""  # nothing to say: the page check reports the image
    plt.close("all")
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": "",
                "outputs": [
                    {"output_type": "display_data", "data": {"image/png": "iVBOR"}, "metadata": {"alt": "Who stays"}},
                    {"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {"alt": "not an image"}},
                ],
            },
            {
                "cell_type": "code",
                "metadata": {},
                "source": "",
                "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBOR"}, "metadata": {}}],
            },
        ]
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    assert book.describe_images(path) == 1
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["metadata"]["mystnb"]["image"]["alt"] == "Who stays" and "mystnb" not in cells[1]["metadata"]


def test_every_chapter_that_fails_side_by_side_is_reported_and_a_deadlock_is_an_error():
    events, out = _timeline(["a", "b", "c"], 2, {}, alone=set(), fail={"a", "b"})
    assert isinstance(out, schedule.ChaptersFailed) and {str(f) for f in out.failures} == {"a failed", "b failed"}
    assert ("start", "c") not in events  # nothing starts after a failure
    with pytest.raises(ValueError, match="cannot start"):
        _timeline(["a", "b"], 2, {"a": ["b"], "b": ["a"]}, alone=set())
    assert schedule.shared_threads(None) == {} and schedule.shared_threads(1) == {}
    assert all(int(v) >= 1 for v in schedule.shared_threads(2).values())
