"""A demo shop: a linked world's ``observed`` tables written as a shop would export them, under other
column names and with day-first dates, beside the column map that reads them back. The world's truth
stays behind, so what the method finds on the demo can be checked."""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["DEMO_COLUMNS", "export_demo_shop"]

#: the demo's column map: the shop's own names for what the book calls customer_id, date, amount, ...
DEMO_COLUMNS = {
    "purchases": {"customer_id": "Customer No", "date": "Order Date", "amount": "Total"},
    "reviews": {"customer_id": "Customer No", "date": "Posted", "text": "Review", "item": "Item"},
    "experiment": {"customer_id": "Customer No", "group": "Arm"},
    "date_format": "%d/%m/%Y",
}


def export_demo_shop(world, folder: str | Path) -> dict[str, Path]:
    """Write ``world.observed`` as ``purchases.csv``, ``reviews.csv``, ``experiment.csv`` (the customers in
    the randomised experiment) and ``columns.yaml`` in ``folder``; return their paths by table."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    o, fmt = world.observed, DEMO_COLUMNS["date_format"]
    tables = {
        # amounts in cents, as a shop writes them (the world's are exact floats)
        "purchases": o.purchases.assign(
            date=o.purchases["date"].dt.strftime(fmt), amount=o.purchases["amount"].round(2)
        ),
        "reviews": o.reviews.assign(date=o.reviews["date"].dt.strftime(fmt), item=o.reviews["clothing_id"]),
        "experiment": o.assignment[o.assignment["group"] != "not in experiment"],
    }
    paths = {}
    for role, frame in tables.items():
        names = DEMO_COLUMNS[role]
        paths[role] = folder / f"{role}.csv"
        frame[list(names)].rename(columns=names).to_csv(paths[role], index=False)
    paths["columns"] = folder / "columns.yaml"
    c = world.config  # what each offer costs per customer contacted: numbers the shop knows
    settings = {
        "control_arm": "control",
        "offer_costs": {"discount": c.discount_contact_cost, "recovery": c.recovery_contact_cost},
        "offer_date": str(o.cutoff.date()),  # the world sends its offers at the cutoff
    }
    paths["columns"].write_text(yaml.safe_dump({**DEMO_COLUMNS, **settings}, sort_keys=False, allow_unicode=True))
    return paths
