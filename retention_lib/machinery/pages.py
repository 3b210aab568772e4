"""What a reader sees: checks on the built HTML pages of the book that no other test looks at.

:func:`page_defects` reads one rendered page and lists what lets a reader down: a table header that is a
library key (``fit_miss``) instead of words, a raw ``nan`` or an unformatted number in a table
(``2.114412``, a count shown as ``15848.0``), a table wider than a page can show (more than
:data:`MAX_COLUMNS` columns), an image whose alt text is its file name (so a screen reader says a hash),
an image wider than the content, and a cross-reference to one of the book's exercises or sections typed as
a number ("see exercise 3"), which goes stale when the book is renumbered (a reference role keeps it right).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["MAX_COLUMNS", "CONTENT_WIDTH_PX", "Defect", "page_defects", "book_defects"]

#: the most columns a table may have before it hides some behind the page edge
MAX_COLUMNS = 8
#: the width of the book's content column in CSS pixels (the theme's main column at a laptop's width)
CONTENT_WIDTH_PX = 830

_KEY = re.compile(r"^([a-z][a-z0-9]*(_[a-z0-9]+)+|[A-Z][A-Z0-9]*(_[A-Z0-9]+)+)$")  # snake_case or CREDIT_CARD: code
_RAW_FLOAT = re.compile(r"^[-+]?\d+\.\d{5,}$")  # five or more decimals: nobody formatted it
_COUNT_AS_FLOAT = re.compile(r"^[-+]?\d{3,}\.0$")  # 15848.0
_MISSING = {"nan", "NaN", "<NA>", "None", "NaT", "inf", "-inf"}  # an infinite ratio is a missing one too
_FILE_ALT = re.compile(r"(\.(png|svg|jpe?g|gif)$)|(^(\.\./)?_images/)|(^[0-9a-f]{24,}$)")
_TYPED_REF = re.compile(r"\b(?:exercise|section)\s+\d+(?:\.\d+)*\b", re.I)  # the book's own numbering
_WIDTH = re.compile(r"width:\s*(\d+)px")


@dataclass(frozen=True)
class Defect:
    page: str
    kind: str  # "key header", "missing value", "raw number", "wide table", "file alt", "wide image", "typed ref"
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: {self.kind}: {self.detail}"


class _Page(HTMLParser):
    """Collects tables (header and body cells per row), images and the prose text of a page."""

    _VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    #: generated text, not typed prose: code, the numbered titles of exercises, links made by a reference role
    _GENERATED = ("caption-number", "reference internal", "admonition-title", "toc", "bd-sidebar", "headerlink")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.images: list[dict] = []
        self.prose: list[str] = []
        self._cell: list[str] | None = None
        self._row: list[tuple[str, str]] | None = None
        self._open: list[tuple[str, bool]] = []  # the open elements, and whether each hides its text from prose

    @property
    def _skip(self) -> bool:
        return any(hidden for _, hidden in self._open)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in self._VOID:
            cls = a.get("class") or ""
            self._open.append(
                (tag, tag in ("pre", "code", "script", "style", "nav") or any(g in cls for g in self._GENERATED))
            )
        if tag == "table":
            self.tables.append({"rows": []})
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("th", "td") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append({"alt": a.get("alt") or "", "src": a.get("src") or "", "style": a.get("style") or ""})

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):  # close it, and anything left open inside it
            if self._open[i][0] == tag:
                del self._open[i:]
                break
        if tag in ("th", "td") and self._cell is not None and self._row is not None:
            self._row.append((tag, " ".join("".join(self._cell).split())))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1]["rows"].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif not self._skip:
            self.prose.append(data)


def page_defects(path: Path, name: str | None = None) -> list[Defect]:
    """Every defect of the rendered page at ``path`` (see the module's description), named ``name``."""
    name = name or Path(path).name
    page = _Page()
    page.feed(Path(path).read_text(errors="replace"))
    found: list[Defect] = []
    for i, table in enumerate(page.tables, 1):
        rows = table["rows"]
        width = max((len(r) for r in rows), default=0)
        if width > MAX_COLUMNS:
            found.append(Defect(name, "wide table", f"table {i} has {width} columns (at most {MAX_COLUMNS})"))
        # a column whose every number ends in ".0" holds counts written as floats; one such number among
        # others with decimals is a formatted float that happens to be whole (a speed of "100.0")
        numbers: dict[int, list[str]] = {}
        for row in rows:
            for j, (tag, text) in enumerate(row):
                if tag == "td" and re.match(r"^[-+]?[\d,]+\.\d+$", text):
                    numbers.setdefault(j, []).append(text)
        whole = {j for j, texts in numbers.items() if all(t.endswith(".0") for t in texts)}
        for row in rows:
            for j, (tag, text) in enumerate(row):
                if tag == "th" and _KEY.match(text):
                    found.append(Defect(name, "key header", f"table {i}: {text!r}"))
                elif tag == "td" and text in _MISSING:
                    found.append(Defect(name, "missing value", f"table {i}: {text!r} (show '-' and say why)"))
                elif tag == "td" and (_RAW_FLOAT.match(text) or (j in whole and _COUNT_AS_FLOAT.match(text))):
                    found.append(Defect(name, "raw number", f"table {i}: {text!r}"))
    for img in page.images:
        if _FILE_ALT.search(img["alt"]) or not img["alt"].strip():
            found.append(Defect(name, "file alt", f"alt text {img['alt']!r} of {Path(img['src']).name}"))
        m = _WIDTH.search(img["style"])
        if m and int(m.group(1)) > CONTENT_WIDTH_PX:
            found.append(Defect(name, "wide image", f"{Path(img['src']).name} is {m.group(1)} px wide"))
    prose = " ".join(" ".join(page.prose).split())
    found += [Defect(name, "typed ref", repr(m.group(0))) for m in _TYPED_REF.finditer(prose)]
    return found


def book_defects(html_dir: Path) -> list[Defect]:
    """:func:`page_defects` of every chapter page of a built book (``<html>/notebooks/*.html``)."""
    return [d for page in sorted(Path(html_dir).glob("notebooks/*.html")) for d in page_defects(page, page.stem)]
