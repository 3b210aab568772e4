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
    np.testing.assert_allclose(
        got.purchases["amount"].to_numpy(dtype=float), p["amount"].to_numpy(), atol=0.005
    )  # cents
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
    demo = {**demo, "experiment": None}  # without an experiment the cutoff is free (with one, it is the offer's day)
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


def test_with_an_experiment_the_cutoff_is_the_day_the_offers_went_out(w, demo):
    assert _load(demo).cutoff == w.observed.cutoff  # from offer_date in the column map
    with pytest.raises(ShopError, match=r"cutoff 1997-08-01: with an experiment the cutoff is the day its offers went"):
        _load(demo, cutoff="1997-08-01")
    with pytest.raises(ShopError, match=r"with an experiment, say when its offers went out, e.g. offer_date"):
        _load(_with_settings(demo, offer_date=None))
    with pytest.raises(ShopError, match=r"offer_date must be a day"):
        _load(_with_settings(demo, offer_date="soon"))


def test_an_experiment_of_customers_who_came_later_is_refused(w, demo):
    late = w.observed.purchases.groupby("customer_id")["date"].min().pipe(lambda d: d[d > w.observed.cutoff]).index
    if len(late) == 0:  # this world acquires everyone before the cutoff: move the offer day back instead
        first = pd.Timestamp(w.observed.purchases["date"].min()) + pd.Timedelta(days=30)
        _with_settings(demo, offer_date=str(first.date()))
        with pytest.raises(ShopError, match=r"customer\(s\) in the experiment first bought after the offers went out"):
            _load(demo, holdout_weeks=(w.observed.purchases["date"].max() - first) / pd.Timedelta(weeks=1))
        return
    _rewrite(demo["experiment"], lambda f: f.loc.__setitem__((0, "Customer No"), str(late[0])))
    with pytest.raises(ShopError, match=r"first bought after the offers went out"):
        _load(demo)


def test_reserved_arm_names_are_refused(demo):
    _rewrite(demo["experiment"], lambda f: f.loc.__setitem__((0, "Arm"), "none"))
    with pytest.raises(ShopError, match=r"the arm name 'none' \(column 'Arm'\) is reserved"):
        _load(_with_settings(demo, offer_costs={"discount": 1, "recovery": 1, "none": 0}))


def _reading(obs, seed=0):
    """A reader's output for every review of a shop (random: these tests check the method's mechanics)."""
    p = np.random.default_rng(seed).random(len(obs.reviews))
    return pd.DataFrame({"p_negative": p, "negative": p > 0.7})


def test_the_method_scores_every_customer_and_values_every_list_under_one_budget(w, demo):
    from retention_lib import strategy as st
    from retention_lib.shop import method as M
    from retention_lib.strategy.study import text_rule_score

    obs = _load(demo)
    reading = _reading(obs)
    check = M.retention_check(obs, reading, folds=3, seed=0, n_resamples=20)
    assert 0.5 < check["auc"] < 1 and check["gain_low"] <= check["gain"] <= check["gain_high"]
    assert len(check["y"]) == len(tv_no_offer(obs))
    now = M.customers_now(obs, reading, check, 0)
    assert len(now) == obs.assignment["customer_id"].nunique()
    assert sorted(now["risk_rank"]) == list(range(1, len(now) + 1)) and now["p_buy_bgnbd"].between(0, 1).all()
    costs = read_column_map(demo["columns"]).offer_costs
    experiment = st.experiment_frame(obs, st.OfferCosts.per_contact(costs))
    row = experiment[experiment["arm"] == "discount"].iloc[0]
    assert row["profit"] == pytest.approx(row["spend"] - costs["discount"])
    effects = M.offer_effects(experiment)
    assert set(effects.index) == {"discount", "recovery"}
    assert (
        (effects["low"] <= effects["effect on buying again"]) & (effects["effect on buying again"] <= effects["high"])
    ).all()
    ids = experiment.index
    rules = M.contact_rules(check["risk"].loc[ids], text_rule_score(obs, reading, ids), ["discount", "recovery"], 0)
    assert len(rules) == 6
    valued = M.targeting_values(rules, experiment, 0.2)
    assert (valued["contacted"] <= round(0.2 * len(ids))).all()  # a cap for every list
    flagged = int(text_rule_score(obs, reading, ids).notna().sum())
    assert valued.loc["discount to negative last reviews", "contacted"] == min(flagged, round(0.2 * len(ids)))
    best = M.best_list(rules, experiment, 0.2, valued)
    v = valued.loc[best["name"]]
    assert (
        best["name"] == valued["value"].astype(float).idxmax() and best["low"] < v["low"] and best["high"] > v["high"]
    )
    from retention_lib import world

    expected = world.expected_outcomes(w, draws=2, seed=0)
    expected.index = expected.index.astype(str)
    truth = M.true_values(rules, expected, 0.2)
    assert (truth["contacted"] == valued["contacted"]).all()


def tv_no_offer(obs):
    from retention_lib.profiles import text_value as tv

    return tv.no_offer_customers(obs)


def test_customers_who_came_after_the_cutoff_are_scored_today_not_at_the_cutoff(w, demo):
    from retention_lib.shop import method as M

    first = w.observed.purchases.groupby("customer_id")["date"].min().sort_values()
    cutoff = first.iloc[int(len(first) * 0.8)]  # a fifth of the customers came later
    weeks = (w.observed.purchases["date"].max() - cutoff) / pd.Timedelta(weeks=1)
    obs = _load({**demo, "experiment": None}, cutoff=cutoff, holdout_weeks=weeks)
    reading = _reading(obs)
    check = M.retention_check(obs, reading, folds=3, seed=0, n_resamples=20)
    later = set(obs.assignment["customer_id"]) - set(check["risk"].index)
    assert len(later) > 0.1 * len(first)  # no risk at the cutoff for them ...
    now = M.customers_now(obs, reading, check, 0)
    assert later <= set(now.index)  # ... but a score today
