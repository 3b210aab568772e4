import pandas as pd
import pytest

from retention_lib import data
from retention_lib.data import DataValidationError

CDNOW_HEADER = "customer_id date number_of_cds dollar_value\n"
INSTACART_HEADER = (
    ",order_id,user_id,order_number,order_dow,order_hour_of_day,days_since_prior_order,"
    "product_id,add_to_cart_order,reordered\n"
)
REVIEWS_HEADER = (
    "Clothing ID,Age,Title,Review Text,Rating,Recommended IND,Positive Feedback Count,"
    "Division Name,Department Name,Class Name\n"
)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def violation(err, column):
    found = [v for v in err.value.violations if v.column == column]
    assert found, f"no violation for column {column!r} in {err.value}"
    return found[0]


# ---------------------------------------------------------------- the real files


def test_cdnow_master_matches_the_published_description():
    tx = data.load("cdnow")
    assert len(tx) == 69_659
    assert tx["customer_id"].nunique() == 23_570
    assert tx["date"].min() == pd.Timestamp("1997-01-01") and tx["date"].max() == pd.Timestamp("1998-06-30")
    assert list(tx.columns) == ["customer_id", "date", "quantity", "amount"]
    assert tx["date"].dtype.kind == "M" and tx["amount"].dtype == "float64"


def test_cdnow_sample_has_2357_customers():
    s = data.load("cdnow_sample")
    assert s["customer_id"].nunique() == 2_357
    assert s["customer_index"].min() == 1 and s["customer_index"].max() == 2_357


def test_reviews():
    r = data.load("reviews")
    assert len(r) == 23_486
    assert r["clothing_id"].nunique() == 1_206
    assert int(r["review_text"].isna().sum()) == 845
    assert set(r["rating"].unique()) == {1, 2, 3, 4, 5}
    assert r["recommended"].dtype == bool


def test_instacart():
    o = data.load("instacart")
    assert len(o) == 150_000 and o["user_id"].nunique() == 593
    first = o.drop_duplicates("order_id")
    assert first.loc[first["order_number"] == 1, "days_since_prior_order"].isna().all()


HILLSTROM_HEADER = (
    "recency,history_segment,history,mens,womens,zip_code,newbie,channel,segment,visit,conversion,spend\n"
)


def test_hillstrom_is_the_published_experiment():
    """64,000 customers in three randomised arms of the published sizes, with the published conversion rates."""
    h = data.load("hillstrom")
    assert len(h) == 64_000
    assert h["segment"].value_counts().to_dict() == {
        "Womens E-Mail": 21_387,
        "Mens E-Mail": 21_307,
        "No E-Mail": 21_306,
    }
    rates = h.groupby("segment")["conversion"].mean()
    assert rates.round(4).to_dict() == {"Mens E-Mail": 0.0125, "No E-Mail": 0.0057, "Womens E-Mail": 0.0088}
    assert (h.loc[h["conversion"] == 0, "spend"] == 0).all()


def test_open_bandit_has_both_policies_and_three_campaigns():
    obd = data.load("obd")
    clicks = obd.groupby(["policy", "campaign"], observed=True)["click"].agg(["size", "sum"])
    assert (clicks["size"] == 10_000).all() and len(clicks) == 6
    expected = {
        ("random", "all"): 38,
        ("bts", "all"): 42,
        ("random", "men"): 46,
        ("bts", "men"): 69,
        ("random", "women"): 46,
        ("bts", "women"): 46,
    }
    assert clicks["sum"].to_dict() == expected
    assert obd.filter(like="user-item_affinity").dtypes.eq("float64").all()


def test_validation_report_counts_every_rule():
    rep = data.validation_report("cdnow")
    assert (rep["violations"] == 0).all()
    assert (rep["rows_checked"] == 69_659).all()
    assert {"amount", "quantity", "date", "customer_id"} <= set(rep["column"])


def test_a_users_good_file_loads_like_the_asset(tmp_path):
    rows = ["00001 19970101  1   11.77", "00002 19970112  1   12.00", "00002 19970301  3   30.50"]
    p = write(tmp_path, "mine.txt", CDNOW_HEADER + "\n".join(rows) + "\n")
    df = data.load("cdnow", p)
    assert df.to_dict("list") == {
        "customer_id": [1, 2, 2],
        "date": [pd.Timestamp("1997-01-01"), pd.Timestamp("1997-01-12"), pd.Timestamp("1997-03-01")],
        "quantity": [1, 1, 3],
        "amount": [11.77, 12.0, 30.5],
    }


def test_data_cards_cover_every_dataset_and_column():
    from retention_lib.base import assets

    for name, ds in data.DATASETS.items():
        assert ds.name == name and ds.asset in assets.ASSETS
        card = data.data_card(name)
        for key in ("title", "source", "licence", "citation", "description"):
            assert card[key], (name, key)
        assert set(c.name for c in ds.schema.columns) <= set(card["columns"])
        # every final type names a column the dataset has (after renaming), so none is silently ignored
        known = {c.name for c in ds.schema.columns} | set(ds.added_columns)
        assert set(ds.dtypes) <= known and set(ds.sort_by) <= known, name
        assert set(ds.renames.values()) <= known, name


def test_subsample():
    df = pd.DataFrame({"x": range(10)})
    assert data.subsample(df, 0, 1) is df and data.subsample(df, 10, 1) is df and data.subsample(df, 50, 1) is df
    part = data.subsample(df, 4, 1)
    assert len(part) == 4 and part.equals(data.subsample(df, 4, 1)) and part.equals(df.sample(4, random_state=1))
    with pytest.raises(ValueError, match=">= 0"):
        data.subsample(df, -1, 1)


# ---------------------------------------------------------------- every rule, on crafted bad files


def test_error_is_a_value_error_naming_file_column_rule_count_and_examples(tmp_path):
    p = write(tmp_path, "bad.txt", CDNOW_HEADER + "1 19970101 1 -5\n2 19970102 1 3\n3 19970103 1 -7\n")
    with pytest.raises(ValueError) as err:
        data.load("cdnow", p)
    assert isinstance(err.value, DataValidationError)
    v = violation(err, "amount")
    assert v.count == 2 and "negative" in v.rule
    msg = str(err.value)
    assert str(p) in msg and "'dollar_value' [amount]" in msg and "2 row(s)" in msg
    assert "line 2: '-5'" in msg and "line 4" in msg  # lines of the file: the header is line 1


def test_missing_column(tmp_path):
    p = write(tmp_path, "bad.txt", "customer_id date number_of_cds\n1 19970101 1\n")
    with pytest.raises(DataValidationError) as err:
        data.load("cdnow", p)
    assert "required column is missing" in violation(err, "amount").rule
    # in the user's terms: the column their file should have, and the names their file does have
    msg = str(err.value)
    assert "column 'dollar_value' [amount]" in msg and "the file has: customer_id, date, number_of_cds" in msg
    assert "quantity" not in msg


def test_errors_speak_the_files_language_in_every_loader(tmp_path):
    """Line numbers of the file, values as written, no numpy spellings, for each dataset's format."""
    cases = {
        "cdnow": ("bad.txt", CDNOW_HEADER + "1 19970101 1 11\n2 19970101 -3 12\n", "number_of_cds", "line 3: '-3'"),
        "cdnow_sample": ("bad.txt", "1 1 19970101 1 11\n2 2 19970101 1 -4\n", "amount", "line 2: '-4'"),
        "instacart": ("bad.csv", INSTACART_HEADER + "0,1,1,1,9,8,,196,1.0,0.0\n", "order_dow", "line 2: '9'"),
        "reviews": (
            "bad.csv",
            REVIEWS_HEADER + "1,30,Nice,Lovely,7,1,0,General,Dresses,Dresses\n",
            "Rating",
            "line 2: '7'",
        ),
        "obd": (
            "bad.csv",
            ",timestamp,item_id,position,click,propensity_score\n0,2019-11-24 00:00:00+00:00,1,5,0,0.5\n",
            "position",
            "line 2: '5'",
        ),
        "hillstrom": (
            "bad.csv",
            HILLSTROM_HEADER + "10,2) $100 - $200,142.44,1,0,Surburban,0,Phone,Womens E-Mail,0,0,0\n"
            "6,3) $200 - $350,329.08,1,1,Rural,1,Web,No E-Mail,0,2,0\n",
            "conversion",
            "line 3: '2'",
        ),
    }
    for name, (fname, text, column, example) in cases.items():
        p = write(tmp_path, f"{name}_{fname}", text)
        with pytest.raises(DataValidationError) as err:
            data.load(name, p)
        msg = str(err.value)
        assert f"column '{column}'" in msg and example in msg, (name, msg)
        assert "np." not in msg, msg


def test_wrong_type(tmp_path):
    p = write(tmp_path, "bad.txt", CDNOW_HEADER + "1 19970101 1 abc\n2 19970101 1.5 3\n")
    with pytest.raises(DataValidationError) as err:
        data.load("cdnow", p)
    assert "expected a number" in violation(err, "amount").rule
    q = violation(err, "quantity")
    assert "whole number" in q.rule and q.examples == ["line 3: '1.5'"]


def test_null_where_a_value_is_required(tmp_path):
    p = write(tmp_path, "bad.csv", INSTACART_HEADER + "0,,1,1,2,8,,196,1.0,0.0\n1,5,1,2,2,8,3,197,1.0,1.0\n")
    with pytest.raises(DataValidationError) as err:
        data.load("instacart", p)
    v = violation(err, "order_id")
    assert v.rule.startswith("null") and v.count == 1
    # a null where nulls are allowed (first order) is not a violation
    assert not [x for x in err.value.violations if x.column == "days_since_prior_order"]


def test_negative_quantity(tmp_path):
    p = write(tmp_path, "bad.txt", CDNOW_HEADER + "1 19970101 -2 10\n")
    with pytest.raises(DataValidationError) as err:
        data.load("cdnow", p)
    assert "negative value" in violation(err, "quantity").rule


@pytest.mark.parametrize(
    "date,rule",
    [
        ("19971341", "unparsable date"),
        ("1997-01-01", "unparsable date"),
        ("20991231", "implausible date"),
        ("18500101", "implausible date"),
    ],
)
def test_bad_dates(tmp_path, date, rule):
    p = write(tmp_path, "bad.txt", CDNOW_HEADER + f"1 {date} 1 10\n")
    with pytest.raises(DataValidationError) as err:
        data.load("cdnow", p)
    assert violation(err, "date").rule.startswith(rule)


def test_rating_out_of_range_and_bad_flag(tmp_path):
    p = write(
        tmp_path,
        "bad.csv",
        REVIEWS_HEADER + "1,30,Nice,Lovely dress,6,1,0,General,Dresses,Dresses\n2,40,,,0,2,0,General,Tops,Knits\n",
    )
    with pytest.raises(DataValidationError) as err:
        data.load("reviews", p)
    r = violation(err, "rating")
    assert r.count == 2 and "between 1 and 5" in r.rule
    assert "0 or 1" in violation(err, "recommended").rule


def test_good_reviews_csv_loads(tmp_path):
    p = write(
        tmp_path,
        "ok.csv",
        REVIEWS_HEADER + "1,30,Nice,Lovely dress,5,1,0,General,Dresses,Dresses\n2,40,,,3,0,2,General,Tops,Knits\n",
    )
    r = data.load("reviews", p)
    assert r["rating"].tolist() == [5, 3] and r["title"].isna().tolist() == [False, True]


def test_duplicate_key(tmp_path):
    p = write(
        tmp_path,
        "bad.csv",
        INSTACART_HEADER + "0,7,1,1,2,8,,196,1.0,0.0\n1,7,1,1,2,8,,196,2.0,0.0\n2,7,1,1,2,8,,200,3.0,0.0\n",
    )
    with pytest.raises(DataValidationError) as err:
        data.load("instacart", p)
    v = violation(err, "order_id+product_id")
    assert v.count == 2 and "duplicate key" in v.rule


@pytest.mark.parametrize("text,rule", [("", "empty"), (CDNOW_HEADER, "no data rows")])
def test_empty_file(tmp_path, text, rule):
    p = write(tmp_path, "empty.txt", text)
    with pytest.raises(DataValidationError, match=rule) as err:
        data.load("cdnow", p)
    assert str(p) in str(err.value)


def test_obd_propensity_out_of_range(tmp_path):
    p = write(
        tmp_path,
        "all.csv",
        ",timestamp,item_id,position,click,propensity_score\n"
        "0,2019-11-24 00:00:34.762830+00:00,14,3,0,0.0125\n"
        "1,2019-11-24 00:00:35.762830+00:00,14,4,2,1.5\n",
    )
    with pytest.raises(DataValidationError) as err:
        data.load("obd", p)
    assert violation(err, "position").count == 1
    assert violation(err, "click").count == 1
    assert violation(err, "propensity_score").count == 1


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        data.load("cdnow", tmp_path / "nope.txt")


def test_unknown_dataset():
    with pytest.raises(KeyError, match="instacart"):
        data.load("instakart")
