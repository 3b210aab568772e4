"""A profile table made fit to leave the shop, and the checks it must pass before it does.

:func:`export_profiles` applies the whole recipe of chapter 11 in one place: top-code the counts,
generalise the quasi-identifiers into bands until the table is k-anonymous (:func:`.k_anonymise`),
band every column that carries the same clock as a generalised one with the same bands, and write
each band as its midpoint for the models downstream. :func:`audit_export` then tries to undo it
(:func:`.rebuild_audit`, :func:`.linkage_attack`) and says whether it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from retention_lib.base.names import in_words
from retention_lib.base.tables import require_columns

from .kanon import KAnonymised, band_midpoints, bands, k_anonymise, top_code
from .linkage import export_intervals, linkage_attack, rebuild_audit

__all__ = ["Export", "ExportAudit", "export_profiles", "audit_export", "audit_table"]


@dataclass
class Export:
    """A table as it leaves the shop (numbers; a band as its midpoint), indexed like the profiles it came from."""

    table: pd.DataFrame
    anonymised: KAnonymised  #: the k-anonymisation behind it (bands chosen, rows suppressed, steps)
    caps: dict  #: top codes: column -> cap (counts, and the top band of a generalised column)
    banded_with: dict = None  #: column -> the generalised column whose bands it was given

    def shown_as(self, column: str) -> tuple:
        """How the export shows ``column``: ``("band", width[, cap])``, ``("cap", cap)``, ``("exact",)`` or
        ``("absent",)`` (what :func:`.export_intervals` reads)."""
        partner = (self.banded_with or {}).get(column, column)
        if partner in self.anonymised.widths:
            w = self.anonymised.widths[partner]
            return ("band", w, self.caps[partner]) if partner in self.caps else ("band", w)
        if column not in self.table.columns:
            return ("absent",)
        return ("cap", self.caps[column]) if column in self.caps else ("exact",)


def export_profiles(
    profiles: pd.DataFrame,
    columns,
    quasi,
    k: int,
    ladders: dict,
    caps: dict | None = None,
    banded_with: dict | None = None,
    max_suppressed: float = 0.02,
) -> Export:
    """Top-code, k-anonymise and band a profile table for export.

    Parameters
    ----------
    profiles : DataFrame
        One row per customer, exact values.
    columns : list of str
        The columns to export (everything else is dropped).
    quasi : list of str
        The quasi-identifiers (among ``columns``).
    k : int
    ladders : dict
        Quasi-identifier -> band widths, fine to coarse (:func:`.k_anonymise`).
    caps : dict or None
        Column -> top code: a count (``frequency_cal: 10`` means "10 or more") or the top band of a
        generalised column (``spend_cal: 200`` means "200 or more").
    banded_with : dict or None
        Column -> generalised column whose bands it gets (a clock that can rebuild it: the weeks since
        the last purchase for tenure).
    """
    caps, banded_with = dict(caps or {}), dict(banded_with or {})
    require_columns(
        profiles,
        list(columns) + list(quasi) + list(banded_with),
        "export_profiles' profiles",
        "every exported, quasi-identifying and banded-with column",
    )
    stray = [c for c in quasi if c not in columns]
    if stray:
        raise ValueError(f"export_profiles: quasi-identifiers {stray} are not among the exported columns")
    counts = {c: v for c, v in caps.items() if c not in ladders}
    table = top_code(profiles[list(columns)], counts)
    anon = k_anonymise(table, quasi, k, ladders, max_suppressed, {c: v for c, v in caps.items() if c in ladders})
    out = anon.table.copy()
    for c, partner in banded_with.items():
        if partner not in anon.widths:
            raise ValueError(f"banded_with[{c!r}]: {partner!r} is not a generalised column ({list(anon.widths)})")
        out[c] = bands(out[c], anon.widths[partner], caps.get(partner))
    for c in list(anon.widths) + list(banded_with):
        out[c] = band_midpoints(out[c])
    return Export(out, anon, caps, banded_with)


@dataclass
class ExportAudit:
    """What :func:`audit_export` found."""

    rebuild: pd.DataFrame  #: per quasi-identifier: identities, the model's error against the band's, passes
    identities: dict  #: quasi-identifier -> identities found, best first
    attack: dict  #: the linkage attack (:func:`.linkage_attack`)
    bound: float  #: 1 / k: the attack's rate must not exceed it

    @property
    def passes(self) -> bool:
        return bool(self.rebuild["passes"].all() and self.attack["reidentified"] <= self.bound)


def audit_export(
    export: Export,
    truth: pd.DataFrame,
    attacker_knows,
    k: int,
    known_widths: dict | None = None,
    max_error_ratio: float = 0.5,
    seed: int = 0,
    min_share: float = 0.01,
) -> ExportAudit:
    """Try to undo an export: rebuild each quasi-identifier of ``truth`` from it, and link the customers an
    attacker knows (the columns ``attacker_knows`` of ``truth``, at ``known_widths``) to its rows.

    ``truth`` holds the exact values of the quasi-identifiers, indexed like the profiles; the exported
    rows are looked up in it.
    """
    known = list(attacker_knows)
    if export.anonymised.k < k:
        raise ValueError(
            f"the export is {export.anonymised.k}-anonymous, less than the k={k} its audit is asked to bound"
        )
    require_columns(truth, known, "the truth", "every column in attacker_knows")
    t = truth.loc[export.table.index]
    exact = [q for q in t.columns if export.shown_as(q) == ("exact",)]
    report, identities = rebuild_audit(
        export.table, t, max_error_ratio=max_error_ratio, seed=seed, exact=exact, min_share=min_share
    )
    counts = {c: cap for c, cap in export.caps.items() if c not in export.anonymised.widths}
    intervals = export_intervals(export.table, {q: export.shown_as(q) for q in known}, identities, caps=counts)
    attack = linkage_attack(intervals, t[known], np.arange(len(t)), known_widths)
    return ExportAudit(report, identities, attack, 1 / k)


#: how the audit's table names the facts it checks
FACTS = {"T_cal": "tenure (weeks)", "frequency_cal": "repeat purchases", "spend_cal": "total spend ($)"}


def audit_table(audit: ExportAudit) -> pd.DataFrame:
    """The audit's findings per fact, for a reader: the identity that rebuilds it, the share of rows it
    rebuilds, the band's and the model's mean error, their ratio and whether the column holds. A column
    exported as it is has no band (its error is 0): its ratio is missing, shown as "-", not infinite."""
    r = audit.rebuild
    out = pd.DataFrame(
        {
            "rebuilt exactly by": r["identity"].map(lambda t: in_words(t) if isinstance(t, str) else t),
            "rows rebuilt": (100 * r["rebuilt exactly"]).map("{:.1f} %".format),
            "band's error": r["band's error"].round(3),
            "model's error": r["model's error"].round(3),
            "model / band": r["error ratio"].where(r["band's error"] > 0).round(2),
            "holds": r["passes"].map({True: "yes", False: "no"}),
        }
    )
    return out.rename(index=lambda q: FACTS.get(q, q)).rename_axis("fact")
