"""The book's one plotting style and the few figures that more than one chapter draws."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

__all__ = ["set_style", "date_axis", "cohort_heatmap", "retention_curves"]


def set_style() -> None:
    """Seaborn's whitegrid theme, readable sizes, and crisp figures in the rendered page."""
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    plt.rcParams.update({"figure.figsize": (7.5, 4.2), "figure.dpi": 100, "savefig.dpi": 150,
                         "axes.titleweight": "bold", "axes.titlesize": 12})
    try:  # sharper PNGs in the rendered book
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    except ImportError:  # pragma: no cover
        pass


def date_axis(ax):
    """Concise, non-overlapping date labels on the x axis."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return ax


def cohort_heatmap(retention: pd.DataFrame, sizes: pd.Series, ax=None):
    """Heatmap of cohort retention (rows: acquisition month, columns: months since)."""
    ax = ax or plt.subplots(figsize=(9, 0.6 * len(retention) + 1.6))[1]
    labels = [f"{c} (n={sizes[c]:,})" for c in retention.index]
    sns.heatmap(retention.set_axis(labels) * 100, annot=True, fmt=".1f", cmap="Blues", vmin=0,
                vmax=max(1.0, float((retention.iloc[:, 1:] * 100).max().max())) if retention.shape[1] > 1 else 100,
                cbar_kws={"label": "customers buying that month (%)"}, ax=ax)
    ax.set(xlabel="months since the first purchase", ylabel="acquisition cohort",
           title="Cohort retention: share of each cohort buying again")
    return ax


def retention_curves(retention: pd.DataFrame, ax=None):
    """One line per cohort: share buying in month k after acquisition (k >= 1)."""
    ax = ax or plt.subplots()[1]
    long = (retention.iloc[:, 1:] * 100).rename_axis("cohort").reset_index().melt(
        id_vars="cohort", var_name="month", value_name="share").dropna()
    sns.lineplot(data=long, x="month", y="share", hue="cohort", marker="o", ax=ax)
    ax.set(xlabel="months since the first purchase", ylabel="customers buying (%)",
           title="Retention curves by acquisition cohort", ylim=(0, None))
    return ax
