"""How well the scrubber works, measured: real reviews with planted personal data of known kind and place.

:func:`plant` inserts one item per review (a name, an e-mail address, a phone number, a card number, a
street address or an order number, made by Faker with a seed) into a sentence of its own at a random
sentence boundary of a real review, and records where it is. :func:`detection_report` then says, per
kind, how many planted items the scrubber found as that kind (recall), how many it redacted at all
(as any kind), and how many of its findings of that kind were planted items (precision), each with a
Wilson interval. Findings on the real reviews' own words (a brand read as a person) count against
precision: they are the scrubber's false positives.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from retention_lib.sentiment.labels import check_texts

__all__ = ["KINDS", "TEMPLATES", "plant", "detection_report", "misses"]

#: the planted kinds, named as the scrubber names what it finds
KINDS = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "STREET_ADDRESS", "ORDER_NUMBER")
#: sentences the planted values are written in ({} is the value)
TEMPLATES = {
    "PERSON": [
        "I bought this for my friend {}.",
        "{} from the store helped me pick the size.",
        "My mother {} loved it too.",
        "Thanks to {} for the quick exchange.",
    ],
    "EMAIL_ADDRESS": [
        "Email me at {} if you want photos.",
        "The receipt went to {}.",
        "Contact {} for the fit details.",
    ],
    "PHONE_NUMBER": [
        "Call me at {} if you have questions.",
        "Customer service ({}) was helpful.",
        "I phoned {} to change the order.",
    ],
    "CREDIT_CARD": [
        "I paid with card {} and was charged twice.",
        "Refund it to {} please.",
        "My card number {} was declined at first.",
    ],
    "STREET_ADDRESS": [
        "It was delivered to {} a day late.",
        "Please ship the next one to {}.",
        "The package sat outside {} all day.",
    ],
    "ORDER_NUMBER": ["Order {} arrived late.", "I returned it under order {}.", "My order number was {}."],
}


def _value(fake, kind: str) -> str:
    return {
        "PERSON": fake.name,
        "EMAIL_ADDRESS": fake.email,
        "PHONE_NUMBER": fake.phone_number,
        "CREDIT_CARD": fake.credit_card_number,
        "STREET_ADDRESS": fake.street_address,
        "ORDER_NUMBER": lambda: fake.bothify("ORD-########"),
    }[kind]()


def plant(texts, seed: int = 0, kinds=KINDS) -> pd.DataFrame:
    """One planted item per text: ``text`` (the review with the item), ``kind``, ``start``, ``end``,
    ``value`` and ``source`` (the position of the original text). The kind cycles through ``kinds``
    in a random order; the place is a random sentence boundary (before, between or after sentences)."""
    from faker import Faker

    texts = check_texts(texts)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"kinds: unknown {unknown}; choose from {list(KINDS)}")
    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    order = rng.permutation(np.resize(np.array(kinds), len(texts)))
    rows = []
    for i, (text, kind) in enumerate(zip(texts, order)):
        value = _value(fake, kind)
        templates = TEMPLATES[kind]
        sentence = templates[rng.integers(len(templates))]
        bounds = [0] + [m.end() for m in re.finditer(r"[.!?]\s+", text)] + [len(text)]
        at = bounds[rng.integers(len(bounds))]
        before, after = text[:at].rstrip(), text[at:].lstrip()
        lead = (before + " ") if before else ""
        planted = lead + sentence.format(value) + ((" " + after) if after else "")
        start = len(lead) + sentence.index("{}")
        rows.append(
            {"text": planted, "kind": kind, "start": start, "end": start + len(value), "value": value, "source": i}
        )
        assert planted[start : start + len(value)] == value
    return pd.DataFrame(rows)


def _wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def detection_report(planted: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """Recall and precision per kind, with 95 % Wilson intervals.

    Parameters
    ----------
    planted : DataFrame
        :func:`plant`'s table (one planted item per row, ``row`` = its position).
    findings : DataFrame
        :meth:`Scrubber.find` on ``planted["text"]``.

    Returns
    -------
    DataFrame
        Indexed by kind: ``planted``, ``found as its kind``, ``recall``, ``recall low``, ``recall high``,
        ``redacted (any kind)``, ``findings``, ``precision``, ``precision low``, ``precision high``.
    """
    p = planted.reset_index(drop=True)
    f = findings.merge(
        p[["start", "end", "kind"]].rename(columns={"start": "p_start", "end": "p_end"}),
        left_on="row",
        right_index=True,
    )
    f["overlaps"] = (f["start"] < f["p_end"]) & (f["end"] > f["p_start"])
    f["right"] = f["overlaps"] & (f["entity"] == f["kind"])
    hit_kind = f[f["right"]].groupby("row").size().reindex(p.index, fill_value=0) > 0
    hit_any = f[f["overlaps"]].groupby("row").size().reindex(p.index, fill_value=0) > 0
    rows = {}
    for kind in sorted(set(p["kind"]) | set(f["entity"])):
        mine = p["kind"] == kind
        n, k = int(mine.sum()), int(hit_kind[mine].sum())
        fk = f[f["entity"] == kind]
        rl, rh = _wilson(k, n)
        pl, ph = _wilson(int(fk["right"].sum()), len(fk))
        rows[kind] = {
            "planted": n,
            "found as its kind": k,
            "recall": k / n if n else np.nan,
            "recall low": rl,
            "recall high": rh,
            "redacted (any kind)": hit_any[mine].mean() if n else np.nan,
            "findings": len(fk),
            "precision": fk["right"].mean() if len(fk) else np.nan,
            "precision low": pl,
            "precision high": ph,
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("kind")


def misses(planted: pd.DataFrame, findings: pd.DataFrame, context: int = 50) -> pd.DataFrame:
    """The planted items not found as their kind: ``kind``, ``value``, ``found as`` (the kinds of the
    findings that overlap it, if any: then it was still redacted), ``redacted`` and ``in context``."""
    p = planted.reset_index(drop=True)
    f = findings.merge(
        p[["start", "end"]].rename(columns={"start": "p_start", "end": "p_end"}), left_on="row", right_index=True
    )
    f = f[(f["start"] < f["p_end"]) & (f["end"] > f["p_start"])]
    kinds = f.groupby("row")["entity"].agg(lambda e: ", ".join(sorted(set(e))))
    out = p.assign(**{"found as": kinds.reindex(p.index).fillna("")})
    out = out[[k not in fa.split(", ") for k, fa in zip(out["kind"], out["found as"])]]
    out = out.assign(
        redacted=out["found as"] != "",
        **{
            "in context": [
                ("..." if r.start > context else "")
                + r.text[max(0, r.start - context) : r.end + context]
                + ("..." if r.end + context < len(r.text) else "")
                for r in out.itertuples()
            ]
        },
    )
    return out[["kind", "value", "found as", "redacted", "in context"]]
