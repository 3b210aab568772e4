"""Static checks of the committed notebooks and of the packaging files (fast, no execution)."""

import ast
import json
import re
import tomllib

import nbformat
import pytest
import yaml
from conftest import ROOT
from packaging.specifiers import SpecifierSet

from retention_lib.machinery import params as P

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_every_notebook_has_a_profile_entry_and_back():
    assert [p.stem for p in NOTEBOOKS] == sorted(P.notebooks())
    assert P.notebooks() == sorted(P.notebooks()), "book order is the numeric order of the stems"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs_with_one_parameters_cell_matching_the_profiles(path):
    raw = json.loads(path.read_text())
    assert all("id" in c for c in raw["cells"]), f"{path.name}: a cell without an id (nbformat 4.5 wants one)"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    for c in code:
        assert not c.outputs and c.execution_count is None, f"{path.name}: stored with outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} parameters cells"
    values = {}
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, (
            f"{path.name}: the parameters cell holds only simple assignments"
        )
        values[node.targets[0].id] = ast.literal_eval(node.value)
    spec = P.parameters(path.stem)
    assert set(values) == set(spec) | set(P.RESERVED)
    assert values["profile"] == "standard"
    for name, p in spec.items():  # running the notebook by hand gives the standard profile
        assert values[name] == p.values["standard"], name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_has_goals_summary_exercises_and_a_provenance_footer(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "What you will learn" in text
    assert "## Summary" in text and "## Exercises" in text
    assert re.search(r"\{solution\}.*\n:class: dropdown", text), "solutions are hidden"
    assert "--set" in text, "at least one exercise changes a parameter and reruns"
    assert nb.cells[-1].source.strip() == "S.footer()"


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    version = python.split("=", 1)[1]
    assert SpecifierSet(project["requires-python"]).contains(version + ".0")
    pip_part = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip_part == ["-e .[test]"], "conda users install the project itself, with pyproject's pins"
    assert {d for d in deps if isinstance(d, str)} == {python, "pip"}, "no dependency outside pyproject"


def test_pins_that_matter():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.13.0" in deps
    assert any(re.fullmatch(r"jupyter-book>=1[^,]*,<2", d) for d in deps)


def test_ci_calls_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_design_cards_layout():
    for name in ["book", "notebooks", "retention_lib", "tests"]:
        assert (ROOT / name).is_dir(), name
    for name in ["environment.yml", "_config.yml", "README.md"]:
        assert (ROOT / name).is_file(), name
    assert not (ROOT / "book" / "_config.yml").exists(), "one configuration, at the top"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"


def test_the_workshop_kit_has_workshop_values_and_no_solutions(tmp_path):
    from retention_lib.machinery import workshop

    kit = workshop.write_kit(tmp_path / "kit", ROOT)
    assert (kit / "SETUP.md").exists()
    for stem in P.notebooks():
        nb = nbformat.read(kit / "notebooks" / f"{stem}.ipynb", as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "{solution}" not in text and "{exercise}" in text, stem
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        values = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(params.source).body}
        assert values["profile"] == "workshop"
        for name, p in P.parameters(stem).items():
            assert values[name] == p.values["workshop"], (stem, name)
        # the kit's notebooks find the workshop profile's artifacts of this checkout
        assert (kit / "notebooks" / values["artifacts_dir"]).resolve() == (
            ROOT / "_build" / "workshop" / "artifacts"
        ).resolve()
    source = nbformat.read(ROOT / "notebooks" / "05_linked_world.ipynb", as_version=4)
    assert "{solution}" in "\n".join(c.source for c in source.cells if c.cell_type == "markdown")


def test_the_instructor_page_lists_every_chapter_and_its_exercises(tmp_path):
    from retention_lib.machinery import workshop

    workshop.instructor_page(tmp_path / "workshop.md", tmp_path / "nothing-run")
    page = (tmp_path / "workshop.md").read_text()
    assert "No workshop run has been measured" in page
    for stem in P.notebooks():
        assert f"| {stem} |" in page
    assert "Switch the link off" in page  # chapter 05's first exercise, named where it fits


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_checked_cell_glues_a_timing(path):
    """nbval compares a checked cell's outputs between two runs: a timing glued there never reproduces."""
    for cell in json.loads(path.read_text())["cells"]:
        if "nbval-check-output" in cell["metadata"].get("tags", []):
            timings = re.findall(r"[\"'](\w+_seconds)[\"']\s*:", "".join(cell["source"]))
            assert not timings, f"{path.name}: the checked cell glues {timings}; glue timings in a cell of their own"
