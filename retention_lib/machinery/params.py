"""Profiles and parameters: one file (``profiles.yaml``) lists every notebook's parameters.

Each parameter has a type, its allowed values (a range or a list of choices), a help text, and
one value per profile (``smoke``, ``standard``, ``full``). Values given by a user are checked
before any work starts; an unknown name, a wrong type or a value out of range raises
:class:`ParameterError` naming the parameter and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "Param",
    "ParameterError",
    "PROFILES",
    "RESERVED",
    "spec",
    "notebooks",
    "parameters",
    "resolve",
    "parse_assignments",
    "coerce",
]

SPEC_FILE = Path(__file__).with_name("profiles.yaml")

#: parameters every notebook has, set by the runner rather than by a profile
RESERVED = {
    "profile": "name of the profile the notebook runs in (set by the runner)",
    "artifacts_dir": "folder where the notebook reads and writes results shared between chapters "
    "(set by the runner: one folder per profile)",
}


class ParameterError(ValueError):
    """A parameter name, type or value is not allowed."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # int, float, bool, str, date (ISO text, YYYY-MM-DD)
    help: str
    values: dict[str, Any]  # profile -> value
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None

    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        kind = {
            "int": "an integer",
            "float": "a number",
            "bool": "true or false",
            "str": "text",
            "date": "a date YYYY-MM-DD",
        }[self.type]
        if self.min is not None and self.max is not None:
            return f"{kind} from {self.min} to {self.max}"
        if self.min is not None:
            return f"{kind} >= {self.min}"
        if self.max is not None:
            return f"{kind} <= {self.max}"
        return kind


@functools.cache
def _load(path: str) -> dict:
    with open(path) as f:
        raw = yaml.safe_load(f)
    profiles = dict(raw["profiles"])
    books: dict[str, dict] = {}
    for stem, nb in raw["notebooks"].items():
        params = {}
        for name, p in (nb.get("parameters") or {}).items():
            if name in RESERVED:
                raise ParameterError(f"{path}: {stem}: '{name}' is reserved for the runner")
            if "value" in p:
                values = {prof: p["value"] for prof in profiles}
            else:
                values = dict(p["values"])
            if set(values) != set(profiles):
                raise ParameterError(
                    f"{path}: {stem}.{name}: values needed for profiles {sorted(profiles)}, got {sorted(values)}"
                )
            param = Param(
                name=name,
                type=p["type"],
                help=p["help"],
                values=values,
                min=p.get("min"),
                max=p.get("max"),
                choices=tuple(p["choices"]) if "choices" in p else None,
            )
            # the file itself must obey its own rules; values are stored in their coerced form
            values = {
                prof: coerce(param, v, where=f"{path}: profile '{prof}', notebook {stem}") for prof, v in values.items()
            }
            params[name] = Param(**{**param.__dict__, "values": values})
        books[stem] = {
            "title": nb["title"],
            "parameters": params,
            "measured": tuple(nb.get("measured") or ()),
            "alone": bool(nb.get("alone", False)),
        }
    return {"profiles": profiles, "notebooks": books}


def spec(path: Path | str = SPEC_FILE) -> dict:
    """The parsed profiles file: ``{"profiles": {name: description}, "notebooks": {...}}``."""
    return _load(str(path))


def notebooks() -> list[str]:
    """Notebook stems in book order."""
    return list(spec()["notebooks"])


def parameters(stem: str) -> dict[str, Param]:
    try:
        return spec()["notebooks"][stem]["parameters"]
    except KeyError:
        raise ParameterError(f"unknown notebook '{stem}'; notebooks: {', '.join(notebooks())}") from None


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def coerce(param: Param, value: Any, where: str = "") -> Any:
    """Turn ``value`` (a string from the command line, or a YAML value) into the parameter's type."""
    prefix = f"{where}: " if where else ""

    def fail(why: str = "") -> ParameterError:
        return ParameterError(f"{prefix}parameter '{param.name}' must be {param.allowed()}, got {value!r}{why}")

    t = param.type
    if t == "bool":
        if isinstance(value, bool):
            out = value
        elif isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            out = value.strip().lower() in _TRUE
        else:
            raise fail()
    elif t == "int":
        if isinstance(value, bool):
            raise fail()
        if isinstance(value, int):
            out = value
        elif isinstance(value, str):
            try:
                out = int(value.strip().replace("_", ""))
            except ValueError:
                raise fail() from None
        else:
            raise fail()
    elif t == "float":
        if isinstance(value, bool):
            raise fail()
        if isinstance(value, (int, float)):
            out = float(value)
        elif isinstance(value, str):
            try:
                out = float(value.strip())
            except ValueError:
                raise fail() from None
        else:
            raise fail()
        if out != out or out in (float("inf"), float("-inf")):
            raise fail(" (not a finite number)")
    elif t == "str":
        if not isinstance(value, str):
            raise fail()
        out = value
    elif t == "date":
        if isinstance(value, dt.date):
            value = value.isoformat()
        try:
            out = dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise fail() from None
        if (param.min is not None and out < str(param.min)) or (param.max is not None and out > str(param.max)):
            raise fail()
        return out
    else:
        raise ParameterError(f"{prefix}parameter '{param.name}' has unknown type {t!r}")
    if param.choices is not None and out not in param.choices:
        raise fail()
    if param.min is not None and out < param.min:
        raise fail()
    if param.max is not None and out > param.max:
        raise fail()
    return out


def parse_assignments(items: list[str] | None) -> dict[str, str]:
    """``["epochs=3", "lr=1e-4"]`` -> ``{"epochs": "3", "lr": "1e-4"}``."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"--set expects name=value, got {item!r}")
        if name in out:
            raise ParameterError(f"parameter '{name}' is set twice")
        out[name] = value
    return out


def resolve(profile: str, stems: list[str], overrides: dict[str, Any] | None = None) -> dict[str, dict]:
    """Values of every parameter of each notebook in ``stems`` for ``profile``, with overrides.

    An override applies to every selected notebook that has a parameter of that name; a name
    no selected notebook has is an error.
    """
    if profile not in PROFILES:
        raise ParameterError(f"unknown profile '{profile}'; profiles: {', '.join(PROFILES)}")
    overrides = dict(overrides or {})
    known = {}
    for stem in stems:
        known.update({n: stem for n in parameters(stem)})
    for name in overrides:
        if name in RESERVED:
            raise ParameterError(f"parameter '{name}' is set by the runner and cannot be overridden")
        if name not in known:
            names = sorted(known)
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ParameterError(
                f"unknown parameter '{name}' for notebook(s) {', '.join(stems)}.{hint} "
                f"Known parameters: {', '.join(names) or '(none)'}"
            )
    out = {}
    for stem in stems:
        values = {}
        for name, p in parameters(stem).items():
            if name in overrides:
                values[name] = coerce(p, overrides[name], where=stem)
            else:
                values[name] = p.values[profile]
        out[stem] = values
    return out


PROFILES = tuple(spec()["profiles"])
