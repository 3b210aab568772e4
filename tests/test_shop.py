"""A shop's own files: the demo round-trips to the world it came from; every bad input is a clear error."""

import numpy as np
import pandas as pd
import pytest
import yaml

from retention_lib import data, world
from retention_lib.data import DataValidationError
from retention_lib.shop import ShopError, export_demo_shop, load_shop, read_column_map


@pytest.fixture(scope="module")
def w():
    return world.simulate(1500, seed=4, pool=world.review_pool(data.load("reviews")), experiment_share=0.3)


@pytest.fixture
def demo(w, tmp_path):
    return export_demo_shop(w, tmp_path / "shop")


def _load(paths, **kw):
    return load_shop(paths["purchases"], paths["reviews"], paths["columns"], paths.get("experiment"), **kw)


def test_the_demo_shop_reads_back_as_the_world_it_came_from(w, demo):
    o = w.observed
    got = _load(demo, cutoff=o.cutoff)
    assert got.cutoff == o.cutoff and got.end == o.end
    p = o.purchases.assign(customer_id=o.purchases["customer_id"].astype(str))
    pd.testing.assert_series_equal(got.purchases["customer_id"].astype(str), p["customer_id"], check_names=False)
    pd.testing.assert_series_equal(got.purchases["date"], p["date"], check_names=False)
    np.testing.assert_array_equal(got.purchases["amount"].to_numpy(dtype=float), p["amount"].to_numpy())  # exact
    assert got.reviews["text"].tolist() == o.reviews["text"].tolist()
    assert got.reviews["review_id"].tolist() == list(range(len(o.reviews)))
    groups = got.assignment.set_index("customer_id")["group"].astype(str)
    truth = o.assignment.assign(customer_id=o.assignment["customer_id"].astype(str)).set_index("customer_id")["group"]
    assert groups.sort_index().equals(truth.astype(str).sort_index())
    header = demo["purchases"].read_text().splitlines()[0]
    assert header == "Customer No,Order Date,Total" and "/" in demo["purchases"].read_text().splitlines()[1]


def _rewrite(path, edit):
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(frame)
    frame.to_csv(path, index=False)


@pytest.mark.parametrize(
    "edit,error,match",
    [
        (
            lambda f: setattr(f, "columns", [c.replace("Total", "Totl") for c in f.columns]),
            ShopError,
            r"purchases.csv: missing column\(s\) \['Total'\]; expected the columns .*columns.yaml names for purchases: "
            r"'Customer No' \(customer_id\), 'Order Date' \(date\), 'Total' \(amount\).*did you mean 'Totl' for 'Total'\?",
        ),
        (
            lambda f: f.loc.__setitem__((1, "Order Date"), "31/02/1997"),
            DataValidationError,
            r"column 'Order Date' \[date\].*unparsable date.*line 3: '31/02/1997'",
        ),
        (
            lambda f: f.loc.__setitem__((0, "Total"), "-5.00"),
            DataValidationError,
            r"column 'Total' \[amount\].*negative value.*line 2: '-5.00'",
        ),
        (
            lambda f: f.loc.__setitem__((0, "Total"), "12,50"),
            DataValidationError,
            r"column 'Total' \[amount\].*wrong type: expected a number.*'12,50'",
        ),
    ],
)
def test_bad_purchases_are_named_in_the_files_terms(demo, edit, error, match):
    _rewrite(demo["purchases"], edit)
    with pytest.raises(error, match=match):
        _load(demo)


def test_bad_reviews_are_named_in_the_files_terms(w, demo):
    _rewrite(demo["reviews"], lambda f: f.loc.__setitem__((2, "Review"), "   "))
    with pytest.raises(DataValidationError, match=r"column 'Review' \[text\].*null or empty value.*line 4"):
        _load(demo)
    export_demo_shop(w, demo["purchases"].parent)
    _rewrite(demo["reviews"], lambda f: f.loc.__setitem__((0, "Customer No"), "999"))
    with pytest.raises(
        ShopError,
        match=r"reviews.csv: 1 row\(s\) of customers who reviewed but made no purchase "
        r"\(column 'Customer No': '999'\)",
    ):
        _load(demo)


def test_duplicates_are_refused_where_they_cannot_be_real(w, demo):
    """Two purchases alike on one day can both be real; two identical reviews, or a repeated order id, cannot."""
    n = len(w.observed.purchases)
    _rewrite(demo["purchases"], lambda f: f.loc.__setitem__(len(f), f.iloc[0].tolist()))
    assert len(_load(demo, cutoff=w.observed.cutoff).purchases) == n + 1  # kept, not dropped
    _rewrite(demo["reviews"], lambda f: f.loc.__setitem__(len(f), f.iloc[0].tolist()))
    with pytest.raises(DataValidationError, match=r"column 'Customer No\+Posted\+Review\+Item'.*duplicate key"):
        _load(demo)
    export_demo_shop(w, demo["purchases"].parent)
    _rewrite(demo["purchases"], lambda f: f.insert(0, "Order", ["A1"] * 2 + [f"B{i}" for i in range(len(f) - 2)]))
    cmap = yaml.safe_load(demo["columns"].read_text())
    cmap["purchases"]["order_id"] = "Order"
    demo["columns"].write_text(yaml.safe_dump(cmap))
    with pytest.raises(DataValidationError, match=r"column 'Order' \[order_id\].*duplicate key.*'A1'"):
        _load(demo)


def test_a_file_that_is_not_utf8_says_where(demo):
    text = demo["reviews"].read_bytes()
    first = text.index(b"\n") + 1
    demo["reviews"].write_bytes(text[:first] + "caf\u00e9".encode("latin-1") + text[first:])  # latin-1 on line 2
    with pytest.raises(DataValidationError, match=r"not UTF-8 text: byte 0xe9 on line 2 \(save the file as UTF-8\)"):
        _load(demo)


def test_the_cutoff_and_the_number_of_customers_are_checked(demo):
    with pytest.raises(ShopError, match=r"cutoff 2031-01-01: the purchases run from .* the cutoff must fall inside"):
        _load(demo, cutoff="2031-01-01")
    with pytest.raises(ShopError, match=r"customer\(s\) bought by the cutoff .* the models need at least 100000"):
        _load(demo, min_customers=100_000)
    early = pd.Timestamp("1997-08-01")
    with pytest.raises(
        ShopError, match=r"purchase\(s\) after the holdout's end .* give holdout_weeks=4\d\.\d for this"
    ):
        _load(demo, cutoff=early)


def test_an_experiment_with_strangers_is_refused(demo):
    _rewrite(demo["experiment"], lambda f: f.loc.__setitem__((0, "Customer No"), "C-1"))
    with pytest.raises(ShopError, match=r"experiment.csv: 1 row\(s\) of customers who are in the experiment but made"):
        _load(demo)


@pytest.mark.parametrize(
    "text,match",
    [
        ("- a\n- b\n", "expected a mapping"),
        (
            "purchases: {customer_id: a, date: b, amount: c}\nreview: {customer_id: a}\n",
            r"unknown table 'review' \(did you mean 'reviews'\?\)",
        ),
        (
            "purchases: {customer_id: a, date: b, amount: c}\nreviews: {customer_id: a, date: b, txt: c}\n",
            r"reviews: unknown column name 'txt' \(did you mean 'text'\?\)",
        ),
        (
            "purchases: {customer_id: a, date: b}\nreviews: {customer_id: a, date: b, text: c}\n",
            r"purchases: say which of your columns holds amount",
        ),
        ("purchases: {customer_id: a, date: b, amount: c}\n", "no 'reviews' table"),
        (
            "purchases: {customer_id: a, date: b, amount: c}\nreviews: {customer_id: a, date: b, text: c}\n"
            "date_format: 5\n",
            "date_format must be text",
        ),
    ],
)
def test_a_bad_column_map_is_a_clear_error(tmp_path, text, match):
    path = tmp_path / "columns.yaml"
    path.write_text(text)
    with pytest.raises(ShopError, match=match):
        read_column_map(path)


def test_the_demo_column_map_is_what_a_user_would_write(demo):
    cmap = read_column_map(demo["columns"])
    assert cmap.date_format == "%d/%m/%Y" and cmap.tables["purchases"]["amount"] == "Total"
    assert yaml.safe_load(demo["columns"].read_text())["reviews"]["text"] == "Review"


def _with_settings(demo, **settings):
    cmap = yaml.safe_load(demo["columns"].read_text())
    cmap.update(settings)
    cmap = {k: v for k, v in cmap.items() if v is not None}
    demo["columns"].write_text(yaml.safe_dump(cmap))
    return demo


def test_the_experiments_control_arm_and_offer_costs_come_from_the_column_map(demo):
    got = _load(demo)
    assert set(got.assignment["group"]) == {"control", "discount", "recovery", "not in experiment"}
    assert read_column_map(demo["columns"]).offer_costs.keys() == {"discount", "recovery"}
    _rewrite(demo["experiment"], lambda f: f.__setitem__("Arm", f["Arm"].replace({"control": "Holdout"})))
    with pytest.raises(ShopError, match=r"experiment.csv: no customer in the control arm 'control' \(column 'Arm' has"):
        _load(demo)
    got = _load(_with_settings(demo, control_arm="Holdout"))
    assert "control" in set(got.assignment["group"]) and "Holdout" not in set(got.assignment["group"])


def test_an_offer_without_a_cost_is_refused(demo):
    with pytest.raises(
        ShopError, match=r"offer_costs gives no cost for the arm\(s\) \['recovery'\] of .*experiment.csv"
    ):
        _load(_with_settings(demo, offer_costs={"discount": 0.5}))
    with pytest.raises(ShopError, match=r"offer_costs: 'discount' costs -1; expected a number of money at least 0"):
        _load(_with_settings(demo, offer_costs={"discount": -1, "recovery": 1}))
    with pytest.raises(ShopError, match=r"every customer is in the control arm"):
        _rewrite(demo["experiment"], lambda f: f.__setitem__("Arm", "control"))
        _load(_with_settings(demo, offer_costs={"discount": 1, "recovery": 1}))
