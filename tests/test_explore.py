import numpy as np
import pandas as pd
import pytest

from retention_lib.data import explore


def tx(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "date", "quantity", "amount"])
    df["date"] = pd.to_datetime(df["date"])
    return df


# three customers, two cohorts, data ending in March
TX = tx(
    [
        (1, "2020-01-05", 1, 10.0),
        (1, "2020-01-05", 2, 5.0),  # two orders, one customer-day
        (1, "2020-02-10", 1, 7.0),
        (2, "2020-01-20", 1, 3.0),
        (2, "2020-03-01", 1, 4.0),
        (3, "2020-02-02", 1, 8.0),
    ]
)


def test_customer_days_merge_same_day_orders():
    d = explore.customer_days(TX)
    assert len(d) == 5
    first = d[(d.customer_id == 1) & (d.date == "2020-01-05")].iloc[0]
    assert first.amount == 15.0 and first.quantity == 3 and first.orders == 2


def test_cohort_retention_by_hand():
    ret, sizes = explore.cohort_retention(TX, months=2)
    assert sizes.to_dict() == {"2020-01": 2, "2020-02": 1}
    # January cohort: customer 1 buys in Feb (k=1), customer 2 in March (k=2)
    assert ret.loc["2020-01"].tolist() == [1.0, 0.5, 0.5]
    # February cohort: month 1 = March observed and empty; month 2 = April not observed
    assert ret.loc["2020-02", 0] == 1.0 and ret.loc["2020-02", 1] == 0.0
    assert np.isnan(ret.loc["2020-02", 2])


def test_cohort_retention_rejects_bad_months():
    with pytest.raises(ValueError, match="months"):
        explore.cohort_retention(TX, 0)


def test_repeat_purchases_count_days_not_rows():
    assert explore.repeat_purchases(TX).to_dict() == {1: 1, 2: 1, 3: 0}


def test_click_rates_with_wilson_interval_from_scipy():
    log = pd.DataFrame({"g": ["a"] * 100 + ["b"] * 50, "click": [1] * 10 + [0] * 90 + [1] * 5 + [0] * 45})
    r = explore.click_rates(log, ["g"]).set_index("g")
    assert r.loc["a", "ctr"] == pytest.approx(0.1)
    # Wilson 95 % interval for 10/100, a textbook value
    assert r.loc["a", "ctr_low"] == pytest.approx(0.0552, abs=1e-4)
    assert r.loc["a", "ctr_high"] == pytest.approx(0.1744, abs=1e-4)


def test_word_counts_and_missing_values():
    s = pd.Series(["a b c", None, "  one  "], dtype="string")
    assert explore.word_counts(s).tolist() == [3, 0, 1]
    mv = explore.missing_values(pd.DataFrame({"x": [1, None], "y": [1, 2]}))
    assert mv.index.tolist() == ["x"] and mv.loc["x", "share (%)"] == 50


def test_labels_for_display_and_session_helpers():
    import time

    from retention_lib.base import names
    from retention_lib.machinery import session

    t = pd.DataFrame({"roc_auc": [0.7], "custom": [1]}, index=["lr_rich"])
    shown = names.human(t)
    assert list(shown.columns) == ["ROC AUC", "custom"] and list(shown.index) == ["logistic regression, rich"]
    assert names.label("unknown key") == "unknown key"
    assert len(set(names.LABELS.values())) == len(names.LABELS), "two keys share a label"
    with session.timer() as clock:
        time.sleep(0.01)
    assert clock.seconds >= 0.01 and clock.rate(10) == pytest.approx(10 / clock.seconds)
