"""A shop's own files, read through the column map its owner writes, and checked in the owner's terms.

The column map is a small YAML file::

    purchases: {customer_id: "Customer No", date: "Order Date", amount: "Total"}   # order_id optional
    reviews:   {customer_id: "Customer No", date: "Posted", text: "Review"}   # rating, item optional
    experiment: {customer_id: "Customer No", group: "Arm"}                    # optional table
    date_format: "%d/%m/%Y"                                                   # optional; ISO needs none
    control_arm: "control"              # with an experiment: the arm that got no offer (default "control")
    offer_costs: {discount: 1.0}        # with an experiment: what contacting one customer costs, per offer
    offer_date: "1997-09-30"            # with an experiment: the day the offers went out (it is the cutoff)

Files are CSV or parquet. Columns the map does not name are left out; rows are never dropped: every
problem (a missing column, an unparseable date, a negative amount, a duplicate row, an empty review,
a review by a customer who never bought, a cutoff outside the data) is an error that names the file,
the column as the file names it, the line and the value.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from retention_lib.base.tables import require_columns
from retention_lib.data import Column, Schema, read_table, validate
from retention_lib.world import Observed

__all__ = ["ColumnMap", "ShopError", "TABLES", "read_column_map", "read_shop_table", "load_shop"]


class ShopError(ValueError):
    """A shop's files or column map cannot be used as they are; the message says where and why."""


def _columns(date_format: str | None) -> dict[str, dict[str, Column]]:
    date = Column("date", "datetime", "day of the event", date_format=date_format)
    customer = Column("customer_id", "str", "the customer, as the shop identifies them")
    return {
        "purchases": {
            "customer_id": customer,
            "date": date,
            "amount": Column("amount", "float", "money paid for the purchase", min=0),
            "order_id": Column("order_id", "str", "the order (optional; unique when given)"),
        },
        "reviews": {
            "customer_id": customer,
            "date": date,
            "text": Column("text", "str", "what the customer wrote"),
            "rating": Column("rating", "int", "stars given (optional)", nullable=True, min=1, max=5),
            "item": Column("item", "str", "the item reviewed (optional)", nullable=True),
        },
        "experiment": {"customer_id": customer, "group": Column("group", "str", "the arm the customer was drawn into")},
    }


#: each table's columns: the required ones first, then the optional ones
TABLES = {role: tuple(cols) for role, cols in _columns(None).items()}
REQUIRED = {
    "purchases": ("customer_id", "date", "amount"),
    "reviews": ("customer_id", "date", "text"),
    "experiment": ("customer_id", "group"),
}


@dataclass(frozen=True)
class ColumnMap:
    """Which of the shop's columns holds what: ``tables[role][name in the book] = name in the file``."""

    tables: dict[str, dict[str, str]]
    date_format: str | None
    source: str
    control_arm: str = "control"
    offer_costs: dict[str, float] | None = None
    offer_date: pd.Timestamp | None = None


def _closest(word: str, options) -> str:
    near = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.5)
    return f" (did you mean {near[0]!r}?)" if near else ""


def read_column_map(path: str | Path) -> ColumnMap:
    """Read and check a column map (see the module's description)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ShopError(f"{path}: not a readable YAML column map ({exc})") from exc
    if not isinstance(raw, dict):
        raise ShopError(
            f"{path}: expected a mapping with 'purchases' and 'reviews' (and optionally 'experiment', "
            f"'date_format'), got {type(raw).__name__}"
        )
    date_format = raw.get("date_format")
    if date_format is not None and not isinstance(date_format, str):
        raise ShopError(f"{path}: date_format must be text such as '%d/%m/%Y', got {date_format!r}")
    control_arm, offer_costs, offer_date = _experiment_settings(path, raw)
    tables = {}
    for key, value in raw.items():
        if key in SETTINGS:
            continue
        if key not in TABLES:
            raise ShopError(
                f"{path}: unknown table {key!r}{_closest(key, list(TABLES) + list(SETTINGS))}; "
                f"tables: {', '.join(TABLES)}; settings: {', '.join(SETTINGS)}"
            )
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ShopError(
                f"{path}: {key} must map the book's column names to your file's, "
                f"e.g. {{customer_id: 'Customer No'}}; got {value!r}"
            )
        unknown = [name for name in value if name not in TABLES[key]]
        if unknown:
            raise ShopError(
                f"{path}: {key}: unknown column name {unknown[0]!r}{_closest(unknown[0], TABLES[key])}; "
                f"the book's names for this table: {', '.join(TABLES[key])}"
            )
        missing = [name for name in REQUIRED[key] if name not in value]
        if missing:
            raise ShopError(
                f"{path}: {key}: say which of your columns holds {', '.join(missing)} "
                f"(required: {', '.join(REQUIRED[key])})"
            )
        tables[key] = dict(value)
    for key in ("purchases", "reviews"):
        if key not in tables:
            raise ShopError(f"{path}: no '{key}' table; the map needs purchases and reviews")
    return ColumnMap(tables, date_format, str(path), control_arm, offer_costs, offer_date)


#: the column map's keys that are settings, not tables
SETTINGS = ("date_format", "control_arm", "offer_costs", "offer_date")


def _experiment_settings(path: Path, raw: dict) -> tuple[str, dict[str, float] | None, pd.Timestamp | None]:
    """The control arm's name, each offer's contact cost and the day the offers went out, checked."""
    control = raw.get("control_arm", "control")
    if not isinstance(control, str) or not control:
        raise ShopError(f"{path}: control_arm must be the name of the arm that got no offer, got {control!r}")
    offer_date = raw.get("offer_date")
    if offer_date is not None:
        try:
            offer_date = pd.Timestamp(str(offer_date))
        except ValueError:
            raise ShopError(f"{path}: offer_date must be a day such as '1997-09-30', got {offer_date!r}") from None
    costs = raw.get("offer_costs")
    if costs is None:
        return control, None, offer_date
    if not isinstance(costs, dict) or not costs:
        raise ShopError(f"{path}: offer_costs must map each offer to its cost per customer, e.g. {{discount: 1.0}}")
    out = {}
    for arm, cost in costs.items():
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not cost >= 0:
            raise ShopError(f"{path}: offer_costs: {arm!r} costs {cost!r}; expected a number of money at least 0")
        out[str(arm)] = float(cost)
    return control, out, offer_date


def read_shop_table(path: str | Path, role: str, columns: ColumnMap) -> pd.DataFrame:
    """One of the shop's files (``role``: purchases, reviews or experiment), with the book's column names and
    types; :class:`~retention_lib.data.DataValidationError` lists every broken rule in the file's terms."""
    path = Path(path)
    if role not in columns.tables:
        raise ShopError(f"the column map {columns.source} has no '{role}' table")
    raw = read_table(path)
    mapping = columns.tables[role]
    require_columns(
        raw,
        list(mapping.values()),
        str(path),
        f"the columns {columns.source} names for {role}: "
        + ", ".join(f"{column!r} ({name})" for name, column in mapping.items()),
        ShopError,
    )
    renames = {column: name for name, column in mapping.items()}
    frame = raw[list(renames)].rename(columns=renames)
    spec = _columns(columns.date_format)[role]
    # a customer is in one arm; a review is one text of one customer on one day; two purchases alike on one
    # day can both be real (no order id): only a mapped order_id must be unique
    unique = {"experiment": ("customer_id",), "reviews": tuple(mapping)}.get(
        role, ("order_id",) if "order_id" in mapping else ()
    )
    schema = Schema(role, tuple(spec[name] for name in mapping), unique=unique)
    first_line = None if ".parquet" in path.name else 2
    typed, _ = validate(frame, schema, str(path), renames=renames, first_line=first_line)
    return typed


def load_shop(
    purchases: str | Path,
    reviews: str | Path,
    columns: str | Path | ColumnMap,
    experiment: str | Path | None = None,
    cutoff=None,
    holdout_weeks: float = 39,
    min_customers: int = 100,
) -> Observed:
    """A shop's files as the book's :class:`~retention_lib.world.Observed`: purchases, reviews (numbered by
    customer and date), the experiment's assignment (``not in experiment`` for everyone it does not list)
    and the calibration cutoff and holdout end.

    ``cutoff`` defaults to ``holdout_weeks`` before the last purchase; the holdout must fit in the data.
    """
    cmap = columns if isinstance(columns, ColumnMap) else read_column_map(columns)
    p = read_shop_table(purchases, "purchases", cmap)
    r = read_shop_table(reviews, "reviews", cmap)
    first, last = p["date"].min(), p["date"].max()
    cutoff = _experiment_cutoff(cmap, experiment, cutoff)
    cutoff = last - pd.Timedelta(weeks=holdout_weeks) if cutoff is None else pd.Timestamp(cutoff)
    end = cutoff + pd.Timedelta(weeks=holdout_weeks)
    if not first < cutoff < last or end > last + pd.Timedelta(days=1):
        raise ShopError(
            f"cutoff {cutoff.date()}: the purchases run from {first.date()} to {last.date()}; the cutoff "
            f"must fall inside them with a {holdout_weeks:g}-week holdout after it (which ends {end.date()})"
        )
    later = p["date"] > end
    if later.any():  # never dropped silently: the holdout must reach the end of the data
        weeks = (last - cutoff) / pd.Timedelta(weeks=1)
        raise ShopError(
            f"{purchases}: {int(later.sum())} purchase(s) after the holdout's end {end.date()} (the last on "
            f"{last.date()}); give holdout_weeks={weeks:.1f} for this cutoff, or a later cutoff"
        )
    _same_customers(r, p, reviews, cmap.tables["reviews"]["customer_id"], "reviewed", "made no purchase")
    buyers = p.loc[p["date"] <= cutoff, "customer_id"].nunique()
    if buyers < min_customers:
        raise ShopError(
            f"{purchases}: {buyers} customer(s) bought by the cutoff {cutoff.date()}; the models need at "
            f"least {min_customers}"
        )
    e = _experiment_table(experiment, p, cutoff, cmap)
    customers = pd.Index(p["customer_id"].unique(), name="customer_id")
    assignment = pd.DataFrame(
        {
            "customer_id": customers,
            "group": e.set_index("customer_id")["group"].reindex(customers).fillna("not in experiment").to_numpy(),
        }
    )
    p = p.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    r = r.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    r.insert(0, "review_id", range(len(r)))
    return Observed(
        purchases=p,
        reviews=r,
        assignment=assignment.sort_values("customer_id").reset_index(drop=True),
        cutoff=cutoff,
        end=end,
    )


def _experiment_table(experiment, p: pd.DataFrame, cutoff, cmap: ColumnMap) -> pd.DataFrame:
    """The experiment's customers and arms (control named ``control``), every one a customer who had bought by the
    day the offers went out; an empty table without an experiment."""
    if experiment is not None:
        e = read_shop_table(experiment, "experiment", cmap)
        _same_customers(
            e, p, experiment, cmap.tables["experiment"]["customer_id"], "are in the experiment", "made no purchase"
        )
        e["group"] = _experiment_arms(e["group"], experiment, cmap)
        late = ~e["customer_id"].isin(p.loc[p["date"] <= cutoff, "customer_id"])
        if late.any():
            examples = ", ".join(repr(v) for v in e.loc[late, "customer_id"].unique()[:3])
            raise ShopError(
                f"{experiment}: {int(late.sum())} customer(s) in the experiment first bought after the offers went out "
                f"on {cutoff.date()} (column {cmap.tables['experiment']['customer_id']!r}: {examples}); an experiment "
                "is drawn among the customers a shop has when it sends the offers"
            )
    else:
        e = pd.DataFrame({"customer_id": pd.Series(dtype="string"), "group": pd.Series(dtype="string")})
    return e


def _experiment_cutoff(cmap: ColumnMap, experiment, cutoff):
    """With an experiment, the cutoff is the day its offers went out (``offer_date``): the features are what the
    shop knew before the offer, and the holdout is what followed it. A different cutoff would read the offer's
    effect into the features (or leave weeks of it out of the outcome)."""
    if experiment is None:
        return cutoff
    if cmap.offer_date is None:
        raise ShopError(
            f"{cmap.source}: with an experiment, say when its offers went out, e.g. offer_date: '1997-09-30' "
            "(the method measures what followed that day)"
        )
    if cutoff is not None and pd.Timestamp(cutoff) != cmap.offer_date:
        raise ShopError(
            f"cutoff {pd.Timestamp(cutoff).date()}: with an experiment the cutoff is the day its offers went out, "
            f"{cmap.offer_date.date()} (offer_date in {cmap.source}); leave the cutoff out, or drop the experiment"
        )
    return cmap.offer_date


#: arm names the book's code gives a meaning of its own
_RESERVED_ARMS = ("none", "not in experiment")


def _experiment_arms(group: pd.Series, path, cmap: ColumnMap) -> pd.Series:
    """The experiment's arms with the control arm named ``control`` (as in the book's worlds); every other arm
    needs its cost in the column map (``offer_costs``)."""
    column = cmap.tables["experiment"]["group"]
    arms = sorted(pd.unique(group.astype(str)))
    reserved = [a for a in arms if a in _RESERVED_ARMS and a != cmap.control_arm]
    if reserved:
        raise ShopError(f"{path}: the arm name {reserved[0]!r} (column {column!r}) is reserved; rename that arm")
    if cmap.control_arm not in arms:
        raise ShopError(
            f"{path}: no customer in the control arm {cmap.control_arm!r} (column {column!r} has {arms}); "
            f"name the arm that got no offer with control_arm in {cmap.source}"
        )
    offers = [a for a in arms if a != cmap.control_arm]
    if not offers:
        raise ShopError(f"{path}: every customer is in the control arm {cmap.control_arm!r}; there is no offer to test")
    costs = cmap.offer_costs or {}
    missing = [a for a in offers if a not in costs]
    if missing:
        raise ShopError(
            f"{cmap.source}: offer_costs gives no cost for the arm(s) {missing} of {path} (column {column!r}); "
            f"add e.g. offer_costs: {{{missing[0]}: 1.0}} (money per customer contacted)"
        )
    renamed = group.astype(str).replace({cmap.control_arm: "control"})
    if cmap.control_arm != "control" and (group.astype(str) == "control").any():
        raise ShopError(
            f"{path}: an arm is named 'control' but control_arm is {cmap.control_arm!r}; rename one of them"
        )
    return renamed


def _same_customers(table: pd.DataFrame, purchases: pd.DataFrame, path, column: str, what: str, problem: str) -> None:
    """Every customer of ``table`` made a purchase; otherwise the error lists a few, as the file writes them."""
    stray = ~table["customer_id"].isin(purchases["customer_id"])
    if stray.any():
        examples = ", ".join(repr(v) for v in table.loc[stray, "customer_id"].unique()[:3])
        raise ShopError(
            f"{path}: {int(stray.sum())} row(s) of customers who {what} but {problem} (column {column!r}: "
            f"{examples}); a customer id must be written the same way in every file"
        )
