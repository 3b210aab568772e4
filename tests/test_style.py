"""The book's table and figure style: what every page's tables and figures go through."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from retention_lib.base import plots
from retention_lib.base.tables import readable, shown
from retention_lib.machinery import pages, session


def test_a_table_is_shown_with_labels_counts_and_four_significant_digits():
    t = pd.DataFrame(
        {"roc_auc": [0.720453, np.nan], "n_customers": [15848.0, 3.0], "rate": [245.04, 12.3456], "note": ["a", None]},
        index=pd.Index(["behaviour", "lr_rich"], name="feature_set"),
    )
    s = shown(t)
    assert list(s.columns) == ["ROC AUC", "n customers", "rate", "note"]
    assert list(s.index) == ["behaviour only", "logistic regression, rich"] and s.index.name == "feature set"
    assert s["ROC AUC"].tolist() == ["0.7205", "-"] and s["n customers"].tolist() == ["15,848", "3"]
    assert s["rate"].tolist() == ["245", "12.35"] and s["note"].tolist() == ["a", "-"]
    mixed = shown(pd.DataFrame({"value": [150.0, 0.692922, "text", float("nan")]}, dtype=object))
    assert mixed["value"].tolist() == ["150", "0.6929", "text", "-"]
    assert shown(pd.DataFrame({"p": [3.9e-07]}))["p"].tolist() == ["3.90e-07"]
    kinds = shown(pd.DataFrame({"CREDIT_CARD": [np.inf, 1.5], "SOME_KIND": [-np.inf, 2.5]}))
    assert list(kinds.columns) == ["card number", "some kind"]  # a label, or an unknown key's words
    assert kinds.iloc[0].tolist() == ["∞", "-∞"]  # never Python's "inf"
    rows = shown(pd.DataFrame({"x": [1.0, 2.0]}, index=["fit_miss vs als_lm", "spend per repeat ($)"]))
    assert rows.index[0].startswith("fit misses vs ALS re-ranked") and rows.index[1] == "spend per repeat ($)"
    assert shown(pd.DataFrame({"d": [-6e-4, 0.0021]}))["d"].tolist() == ["-0.0006", "0.0021"]  # no exponent beside


def test_a_shown_table_passes_the_page_check(tmp_path):
    t = pd.DataFrame({"roc_auc_gain": [0.0123456, np.nan], "customers": [15848.0, 20000.0]})
    page = tmp_path / "page.html"
    page.write_text(f"<html><body>{shown(t).to_html()}</body></html>")
    assert pages.page_defects(page) == []
    page.write_text(f"<html><body>{t.to_html()}</body></html>")
    assert {d.kind for d in pages.page_defects(page)} == {"key header", "missing value", "raw number"}


def test_p_values_below_a_thousandth_are_written_in_scientific_notation():
    out = readable(pd.DataFrame({"p": [0.00074, 0.21, 3.9e-07]}), pvalue=["p"])
    assert out["p"].tolist() == ["7.4e-04", "0.21", "3.9e-07"]


@pytest.mark.parametrize(
    "shape,turned",
    [((3, 12), True), ((12, 3), False), ((12, 12), False), ((7, 7), False), ((7, 8), True)],
)
def test_a_wide_short_table_is_turned_and_a_long_one_is_not(shape, turned):
    t = pd.DataFrame(np.zeros(shape))
    assert session._narrow(t).shape == (shape[::-1] if turned else shape)


def test_labels_drawn_over_each_other_are_found_and_spread():
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([1, 100], [0, 1])
    ax.set(xscale="log", title="a title")
    notes = [
        ax.annotate(f"label number {k}", (10, 0.5), xytext=(5, 0), textcoords="offset points", fontsize=9)
        for k in range(3)
    ]
    found = plots.overlapping_labels(fig)
    assert "'label number 0' / 'label number 1'" in found and len(found) == 3
    plots.spread_labels(notes)
    assert plots.overlapping_labels(fig) == []
    assert len({n.xyann[1] for n in notes}) == 3  # three heights
    plt.close(fig)


@pytest.mark.parametrize("span,expected,absent", [((300, 3000), "500", None), ((150, 12000), "10,000", "500")])
def test_a_log_axis_is_labelled_in_plain_numbers(span, expected, absent):
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(span, [0, 1])
    ax.set_xscale("log")
    plots.plain_log_ticks(ax.xaxis)
    fig.draw_without_rendering()
    lo, hi = ax.get_xlim()
    texts = [t.get_text() for t, v in zip(ax.get_xticklabels(), ax.get_xticks()) if lo <= v <= hi]
    assert "1,000" in texts and expected in texts and not any("times" in t or "^" in t for t in texts)
    assert absent is None or absent not in texts  # over many decades, 1-2-5 steps would crowd
    assert plots.overlapping_labels(fig) == []
    plt.close(fig)


def test_the_linked_world_diagram_is_readable():
    ax = plots.linked_world_diagram()
    assert plots.overlapping_labels(ax.figure) == []
    arrows = [c.arrow_patch for c in ax.texts if getattr(c, "arrow_patch", None) is not None]
    assert len(arrows) == 12 and all(a.patchB is not None for a in arrows)  # each head ends at its box's edge
    plt.close(ax.figure)
