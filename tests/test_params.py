import pytest

from retention_lib import __main__ as cli
from retention_lib.machinery import params as P
from retention_lib.machinery.params import ParameterError


def test_every_parameter_has_a_value_in_every_profile():
    assert P.PROFILES == ("smoke", "workshop", "standard", "full")
    for stem in P.notebooks():
        for p in P.parameters(stem).values():
            assert set(p.values) == set(P.PROFILES)
            assert p.help


def test_resolve_gives_profile_values_and_coerces_overrides():
    v = P.resolve("smoke", ["01_data"], {"cohort_months": "9"})
    assert v["01_data"]["cohort_months"] == 9
    assert v["01_data"]["seed"] == P.parameters("01_data")["seed"].values["smoke"]


def test_unknown_name_is_rejected_with_a_suggestion():
    with pytest.raises(ParameterError) as err:
        P.resolve("standard", ["01_data"], {"cohort_month": "3"})
    msg = str(err.value)
    assert "unknown parameter 'cohort_month'" in msg and "Did you mean 'cohort_months'" in msg
    assert "example_rows" in msg  # lists what is allowed


@pytest.mark.parametrize(
    "value,why", [("abc", "an integer"), ("3.5", "an integer"), ("40", "from 2 to 18"), ("1", "from 2 to 18")]
)
def test_wrong_type_or_range_names_the_parameter_and_what_is_allowed(value, why):
    with pytest.raises(ParameterError) as err:
        P.resolve("standard", ["01_data"], {"cohort_months": value})
    msg = str(err.value)
    assert "'cohort_months'" in msg and why in msg and repr(value) in msg


def test_coerce_each_type():
    b = P.Param("flag", "bool", "h", {})
    assert P.coerce(b, "true") is True and P.coerce(b, "0") is False
    with pytest.raises(ParameterError):
        P.coerce(b, "maybe")
    f = P.Param("lr", "float", "h", {}, min=0.0, max=1.0)
    assert P.coerce(f, "1e-4") == 1e-4
    for bad in ("nan", "inf", "2", "x", True):
        with pytest.raises(ParameterError):
            P.coerce(f, bad)
    c = P.Param("model", "str", "h", {}, choices=("a", "b"))
    assert P.coerce(c, "a") == "a"
    with pytest.raises(ParameterError, match="one of 'a', 'b'"):
        P.coerce(c, "z")
    i = P.Param("n", "int", "h", {})
    with pytest.raises(ParameterError):
        P.coerce(i, True)


def test_reserved_and_profile_and_notebook_names():
    with pytest.raises(ParameterError, match="set by the runner"):
        P.resolve("standard", ["01_data"], {"profile": "full"})
    with pytest.raises(ParameterError, match="unknown profile"):
        P.resolve("fast", ["01_data"])
    with pytest.raises(ParameterError, match="unknown notebook"):
        P.parameters("99_nothing")


def test_parse_assignments():
    assert P.parse_assignments(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ParameterError, match="name=value"):
        P.parse_assignments(["epochs"])
    with pytest.raises(ParameterError, match="twice"):
        P.parse_assignments(["a=1", "a=2"])


def test_profiles_file_must_obey_its_own_rules(tmp_path):
    bad = tmp_path / "profiles.yaml"
    bad.write_text(
        "profiles: {smoke: s, standard: s, full: f}\nnotebooks:\n  01_x:\n    title: X\n"
        "    parameters:\n      n: {type: int, min: 1, help: h, values: {smoke: 0, standard: 1, full: 1}}\n"
    )
    with pytest.raises(ParameterError, match="profile 'smoke'.*'n'"):
        P.spec(bad)


def test_cli_rejects_a_misspelled_parameter_before_running(capsys):
    code = cli.main(["run", "--profile", "smoke", "--only", "01_data", "--set", "cohort_month=3"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown parameter 'cohort_month'" in err


def test_cli_rejects_an_unknown_notebook(capsys):
    assert cli.main(["run", "--profile", "smoke", "--only", "01_dta"]) == 2
    assert "unknown notebook(s) 01_dta" in capsys.readouterr().err


def test_the_appendix_lists_each_parameter_once_with_a_value_per_profile_in_four_columns(tmp_path):
    from retention_lib.machinery.build import write_parameter_appendix

    write_parameter_appendix(tmp_path / "parameters.md")
    text = (tmp_path / "parameters.md").read_text()
    chapters = text[text.index("(`01_data`)") :]  # the profiles' own table comes first
    rows = [r for r in chapters.splitlines() if r.startswith("| `")]
    assert len(rows) == sum(len(P.parameters(stem)) for stem in P.notebooks())
    for row in rows:
        cells = [c for c in row.replace("\\|", "").split("|")[1:-1]]
        assert len(cells) == 4, row  # parameter, values, allowed, meaning: no column per profile
        assert "in every profile" in cells[1] or all(f"{pr} `" in cells[1] for pr in P.PROFILES), row
