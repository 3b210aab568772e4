"""The book's one plotting style and the few figures that more than one chapter draws."""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score, roc_curve

from .legibility import describe, overlapping_labels, plain_log_ticks, spread_labels
from .names import label

__all__ = [
    "describe",
    "overlapping_labels",
    "plain_log_ticks",
    "spread_labels",
    "forest",
    "set_style",
    "date_axis",
    "cohort_heatmap",
    "retention_curves",
    "roc_and_calibration",
    "gains_chart",
    "learning_curves",
    "reliability_diagram",
    "linked_world_diagram",
    "paired_differences",
]


def set_style() -> None:
    """Seaborn's whitegrid theme, readable sizes, and crisp figures in the rendered page."""
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    plt.rcParams.update(
        {
            "figure.figsize": (7.5, 4.2),
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "axes.titleweight": "bold",
            "axes.titlesize": 12,
        }
    )
    try:  # sharper PNGs in the rendered book
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    except ImportError:  # pragma: no cover
        pass


def date_axis(ax):
    """Concise, non-overlapping date labels on the x axis."""
    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return ax


def cohort_heatmap(retention: pd.DataFrame, sizes: pd.Series, ax=None):
    """Heatmap of cohort retention (rows: acquisition month, columns: months since)."""
    ax = ax or plt.subplots(figsize=(7.8, 0.6 * len(retention) + 1.6))[1]
    labels = [f"{c} (n={sizes[c]:,})" for c in retention.index]
    sns.heatmap(
        retention.set_axis(labels) * 100,
        annot=True,
        fmt=".0f",  # whole percentages: "100.0" does not fit a month's cell
        cmap="Blues",
        vmin=0,
        vmax=max(1.0, float((retention.iloc[:, 1:] * 100).max().max())) if retention.shape[1] > 1 else 100,
        cbar_kws={"label": "customers buying that month (%)"},
        ax=ax,
    )
    ax.set(
        xlabel="months since the first purchase",
        ylabel="acquisition cohort",
        title="Cohort retention: share of each cohort buying again",
    )
    return ax


def retention_curves(retention: pd.DataFrame, ax=None):
    """One line per cohort: share buying in month k after acquisition (k >= 1)."""
    ax = ax or plt.subplots()[1]
    long = (
        (retention.iloc[:, 1:] * 100)
        .rename_axis("cohort")
        .reset_index()
        .melt(id_vars="cohort", var_name="month", value_name="share")
        .dropna()
    )
    sns.lineplot(data=long, x="month", y="share", hue="cohort", marker="o", ax=ax)
    ax.set(
        xlabel="months since the first purchase",
        ylabel="customers buying (%)",
        title="Retention curves by acquisition cohort",
        ylim=(0, None),
    )
    return ax


#: one colour per retention model in every figure of the book (a model that is green in one figure and orange
#: in the next makes a reader compare the wrong lines); keys not listed take the next free colours
MODEL_COLOURS = {
    "bgnbd_expected": "C0",
    "bgnbd_p": "C1",
    "lr_rfm": "C2",
    "lr_rich": "C3",
    "gb_rich": "C4",
    "mlp_rich": "C5",
    "lr_gb_rich": "C6",
}


def model_colours(keys) -> dict:
    """The colour of each key: its own in :data:`MODEL_COLOURS`, else the next colour no listed model uses.

    >>> model_colours(["lr_rich", "something else", "bgnbd_p"])
    {'lr_rich': 'C3', 'something else': 'C7', 'bgnbd_p': 'C1'}
    """
    free = iter(f"C{i}" for i in range(7, 10))
    return {k: MODEL_COLOURS[k] if k in MODEL_COLOURS else next(free, "C9") for k in keys}


def roc_and_calibration(y, predictions: dict, rankings=(), n_bins: int = 10, axes=None):
    """Left: ROC curves of every score. Right: calibration curves of the probability scores.

    ``predictions`` maps a model key to its scores; ``rankings`` lists the keys whose scores only
    rank (they get no calibration curve). Legends use the keys' labels.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(7.8, 5.2))  # room for the ROC legend below its panel
    ax_roc, ax_cal = axes
    colour = model_colours(predictions)
    for key, score in predictions.items():
        fpr, tpr, _ = roc_curve(y, score)
        ax_roc.plot(fpr, tpr, color=colour[key], label=f"{label(key)} (AUC {roc_auc_score(y, score):.3f})")
        if key not in rankings:
            frac, mean_pred = calibration_curve(y, score, n_bins=n_bins, strategy="quantile")
            ax_cal.plot(mean_pred, frac, "o-", ms=4, color=colour[key], label=label(key))
    ax_roc.plot([0, 1], [0, 1], ls=":", color="grey")
    ax_roc.set(
        xlabel="false positive rate (leavers flagged as stayers)",
        ylabel="true positive rate (stayers found)",
        title="ROC curves",
    )
    ax_roc.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2))  # below: on the axes it hid the curves
    ax_cal.plot([0, 1], [0, 1], ls=":", color="grey", label="perfect calibration")
    ax_cal.set(
        xlabel="mean predicted P(any holdout purchase)",
        ylabel="observed share who purchased",
        title=f"Calibration ({n_bins} equal-size bins)",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax_cal.legend(fontsize=9, loc="upper left")
    return axes


def gains_chart(y, scores: dict, ax=None):
    """Cumulative gains: share of all stayers found when targeting the top x % by each score (key -> score)."""
    ax = ax or plt.subplots()[1]
    y = np.asarray(y, dtype=float)
    colour = model_colours(scores)
    for key, score in scores.items():
        order = np.argsort(-np.asarray(score), kind="stable")
        captured = np.concatenate([[0], np.cumsum(y[order]) / y.sum()])
        share = np.linspace(0, 1, len(captured))
        ax.plot(share * 100, captured * 100, color=colour[key], label=label(key))
    ax.plot([0, 100], [0, 100], ls=":", color="grey", label="random order")
    ax.set(
        xlabel="customers targeted, highest score first (%)", ylabel="stayers captured (%)", title="Cumulative gains"
    )
    ax.legend(fontsize=9, loc="lower right")
    return ax


def learning_curves(curve: pd.DataFrame, ax=None):
    """AUC against training customers (log scale): validation solid with a band of one sd, training dashed.

    ``curve`` is the output of :func:`retention_lib.retention.auc_learning_curve`.
    """
    ax = ax or plt.subplots()[1]
    colour = model_colours(curve["model"].unique())
    for key, d in curve.groupby("model", sort=False):
        name, c = label(key), colour[key]
        ax.plot(d["customers"], d["validation_auc"], "o-", color=c, label=f"{name}, validation")
        ax.fill_between(
            d["customers"],
            d["validation_auc"] - d["validation_auc_sd"],
            d["validation_auc"] + d["validation_auc_sd"],
            color=c,
            alpha=0.15,
        )
        ax.plot(d["customers"], d["training_auc"], "--", color=c, alpha=0.7, label=f"{name}, training")
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set(xlabel="customers in the training set (log scale)", ylabel="ROC AUC", title="More customers, same ceiling")
    ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5))  # beside: on the axes it hid the curves
    return ax


def reliability_diagram(correct, confidence, n_bins: int = 10, ax=None):
    """Accuracy against confidence in equal-width bins, with the share of predictions per bin."""
    ax = ax or plt.subplots(figsize=(5.5, 5))[1]
    correct, confidence = np.asarray(correct, dtype=float), np.asarray(confidence, dtype=float)
    edges = np.linspace(0, 1, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    centers, acc, share = [], [], []
    for k in range(n_bins):
        m = idx == k
        if m.any():
            centers.append(confidence[m].mean())
            acc.append(correct[m].mean())
            share.append(m.mean())
    ax.plot([0, 1], [0, 1], ls=":", color="grey", label="perfect calibration")
    ax.plot(centers, acc, "o-", color="C0", label="model")
    for c, a, s in zip(centers, acc, share):
        # below its point, or above it where the point sits on the axis (its label would cross the tick labels)
        ax.annotate(f"{s:.0%}", (c, a), textcoords="offset points", xytext=(4, -12 if a > 0.08 else 6), fontsize=9)
    ax.set(
        xlabel="confidence in the predicted class",
        ylabel="share of predictions that are right",
        title="Reliability diagram (labels: share of predictions)",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    ax.legend(loc="upper left", fontsize=9)
    return ax


def linked_world_diagram(ax=None):
    """The causal links of the linked world (chapter 05): what drives what; what the shop observes, what is
    hidden, and what was fitted to real data (the world's settings, not something the shop sees)."""
    ax = ax or plt.subplots(figsize=(7.8, 4.6))[1]
    fitted, hidden, observed = "fitted", "hidden", "observed"
    boxes = {  # name: (x, y, kind)
        "CDNOW fit\n(BG/NBD r, alpha, a, b)": (0.08, 0.85, fitted),
        "purchase rate\nlambda": (0.32, 0.85, hidden),
        "satisfaction s": (0.08, 0.45, hidden),
        "experience e\n(each purchase)": (0.32, 0.45, hidden),
        "dropout p\n(lasting + after e)": (0.56, 0.85, hidden),
        "purchases\n(dated, spend)": (0.80, 0.85, observed),
        "review: stars\n(from e)": (0.56, 0.45, hidden),
        "review text\n(real, same stars)": (0.80, 0.45, observed),
        "offer at cutoff": (0.50, 0.08, observed),
        "holdout purchases\n(every arm)": (0.80, 0.08, hidden),
    }
    arrows = [
        ("CDNOW fit\n(BG/NBD r, alpha, a, b)", "purchase rate\nlambda"),
        ("CDNOW fit\n(BG/NBD r, alpha, a, b)", "dropout p\n(lasting + after e)"),
        ("purchase rate\nlambda", "dropout p\n(lasting + after e)"),
        ("satisfaction s", "experience e\n(each purchase)"),
        ("satisfaction s", "dropout p\n(lasting + after e)"),
        ("experience e\n(each purchase)", "dropout p\n(lasting + after e)"),
        ("experience e\n(each purchase)", "review: stars\n(from e)"),
        ("review: stars\n(from e)", "review text\n(real, same stars)"),
        ("dropout p\n(lasting + after e)", "purchases\n(dated, spend)"),
        ("dropout p\n(lasting + after e)", "holdout purchases\n(every arm)"),
        ("experience e\n(each purchase)", "holdout purchases\n(every arm)"),
        ("offer at cutoff", "holdout purchases\n(every arm)"),
    ]
    style = {  # fill, edge, line style
        observed: ("#cfe3f5", "#3b75af", "-"),
        hidden: ("#e8e8e8", "#888888", "--"),
        fitted: ("#ffffff", "#333333", ":"),
    }
    texts = {}
    for name, (x, y, kind) in boxes.items():
        fc, ec, ls = style[kind]
        texts[name] = ax.text(
            x,
            y,
            name,
            ha="center",
            va="center",
            fontsize=9.5,
            bbox=dict(boxstyle="round,pad=0.45", fc=fc, ec=ec, ls=ls),
        )
    for a, b in arrows:  # each arrow ends at the edge of the box it points to, so its head shows
        (xa, ya, _), (xb, yb, _) = boxes[a], boxes[b]
        ax.annotate(
            "",
            xy=(xb, yb),
            xytext=(xa, ya),
            arrowprops=dict(
                arrowstyle="-|>",
                mutation_scale=14,
                color="#555555",
                lw=1.2,
                shrinkA=3,
                shrinkB=3,
                patchA=texts[a].get_bbox_patch(),
                patchB=texts[b].get_bbox_patch(),
                # an arrow past a box in its row bends over it
                connectionstyle="arc3,rad=-0.3" if ya == yb and abs(xb - xa) > 0.35 else "arc3",
            ),
        )
    ax.text(
        0.0,
        0.0,
        "blue, solid: observed by the shop\ngrey, dashed: hidden (the truth)\nwhite, dotted: fitted to real data",
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize=9,
    )
    ax.set(xlim=(-0.04, 0.96), ylim=(-0.05, 1.0), title="The linked world: what drives what")
    ax.axis("off")
    return ax


def forest(
    table: pd.DataFrame,
    estimate: str = "gain",
    low: str = "low",
    high: str = "high",
    ax=None,
    xlabel: str = "",
    title: str = "",
    scale: float = 1.0,
    color: str = "#4c72b0",
    offset: float = 0.0,
    legend_label: str | None = None,
):
    """One line per row of ``table``: the ``estimate`` as a dot with its interval (``low`` to ``high``),
    times ``scale``, against a line at zero; the rows keep the table's order from the top. Several
    groups share one axis when each is drawn with its own ``color``, a small vertical ``offset`` and a
    ``legend_label`` (the rows of every group in the same order)."""
    ax = ax or plt.gca()
    mid, lo, hi = (scale * table[c].to_numpy(dtype=float) for c in (estimate, low, high))
    y = np.arange(len(table))[::-1]
    ax.errorbar(mid, y + offset, xerr=[mid - lo, hi - mid], fmt="o", capsize=3, color=color, label=legend_label)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(
        xlabel=xlabel, title=title, yticks=y, yticklabels=[label(n) if isinstance(n, str) else n for n in table.index]
    )
    ax.xaxis.set_major_locator(plt.MaxNLocator(5))  # few ticks: small differences have long labels
    return ax


def paired_differences(table: pd.DataFrame, what: str, baseline: str, ax=None, title: str | None = None):
    """Each row's difference from ``baseline`` in percentage points, with its interval: the columns
    ``"{what} vs {baseline}"``, ``"{what} low"`` and ``"{what} high"`` of a comparison table (such as
    :func:`retention_lib.recommend.compare_following`'s), one line per row except the baseline."""
    d = table.drop(index=baseline)
    return forest(
        d.iloc[::-1],
        f"{what} vs {baseline}",
        f"{what} low",
        f"{what} high",
        ax=ax,
        scale=100,
        xlabel=f"difference from {label(baseline)} (points)",
        title=title or label(what),
    )
