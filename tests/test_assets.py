import hashlib
import json
import os
import re
import zipfile
from pathlib import Path

import pytest

from retention_lib.base import assets
from retention_lib.base.assets import Asset, AssetArchiveError, AssetFetchError, AssetHashError


def make_wheel(path: Path, members: dict[str, bytes], compress=zipfile.ZIP_DEFLATED) -> str:
    with zipfile.ZipFile(path, "w", compress) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fake_asset(
    sha: str, members=("pkg/data/a.csv", "pkg/model/"), wheel="fakepkg-1.0-py3-none-any.whl", package="fakepkg"
) -> Asset:
    return Asset(
        name="fake",
        package=package,
        version="1.0",
        wheel=wheel,
        sha256=sha,
        members=tuple(members),
        strip="pkg/",
        description="test asset",
    )


CONTENT = {
    "pkg/data/a.csv": b"x,y\n1,2\n",
    "pkg/model/config.json": b"{}",
    "pkg/model/sub/w.bin": b"\0\1",
    "pkg/other.txt": b"not wanted",
}


def place(tmp_path, tmp_cache, content=CONTENT, **kw):
    src = tmp_path / "built.whl"
    sha = make_wheel(src, content, **kw)
    wheels = tmp_cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    target = wheels / "fakepkg-1.0-py3-none-any.whl"
    target.write_bytes(src.read_bytes())
    return sha, target


def no_download(asset, dest):
    raise AssertionError("the downloader must not be called")


def test_registry_pins_every_asset():
    assert set(assets.ASSETS) == {"cdnow", "reviews", "instacart", "obd", "minilm", "hillstrom"}
    for a in assets.ASSETS.values():
        assert re.fullmatch(r"[0-9a-f]{64}", a.sha256), a.name
        assert a.wheel.lower().startswith(f"{a.package}-{a.version}".lower()), a.name
        assert a.wheel.endswith(".tar.gz" if a.source_archive else ".whl"), a.name
        assert a.members and all(m.startswith(a.strip) for m in a.members), a.name


def test_hand_placed_wheel_is_verified_extracted_and_never_fetched_again(tmp_path, tmp_cache):
    sha, _ = place(tmp_path, tmp_cache)
    reg = {"fake": fake_asset(sha)}
    folder = assets.fetch("fake", downloader=no_download, registry=reg)
    assert (folder / "data" / "a.csv").read_bytes() == CONTENT["pkg/data/a.csv"]
    assert (folder / "model" / "sub" / "w.bin").read_bytes() == b"\0\1"
    assert not (folder / "other.txt").exists()
    # a second call does not even read the wheel: delete it and fetch again
    (tmp_cache / "wheels" / "fakepkg-1.0-py3-none-any.whl").unlink()
    assert assets.fetch("fake", downloader=no_download, registry=reg) == folder


def test_downloader_is_used_when_no_wheel_is_cached(tmp_path, tmp_cache):
    src = tmp_path / "fakepkg-1.0-py3-none-any.whl"
    sha = make_wheel(src, CONTENT)
    calls = []

    def downloader(asset, dest):
        calls.append(asset.requirement)
        (dest / src.name).write_bytes(src.read_bytes())

    folder = assets.fetch("fake", downloader=downloader, registry={"fake": fake_asset(sha)})
    assert calls == ["fakepkg==1.0"]
    assert (folder / "data" / "a.csv").exists()


def test_hash_mismatch_names_asset_expected_and_actual(tmp_path, tmp_cache):
    actual, target = place(tmp_path, tmp_cache)
    expected = "0" * 64
    with pytest.raises(AssetHashError) as err:
        assets.fetch("fake", downloader=no_download, registry={"fake": fake_asset(expected)})
    msg = str(err.value)
    assert "'fake'" in msg and expected in msg and actual in msg and str(target) in msg
    assert not (tmp_cache / "assets" / "fake").exists()


def test_unreachable_registry_says_which_package_and_how_to_place_the_wheel(tmp_cache, tmp_path, monkeypatch):
    # real pip, with every index switched off: exactly what an offline machine sees
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))
    asset = fake_asset(
        "1" * 64, package="retention-lib-no-such-package", wheel="retention_lib_no_such_package-1.0-py3-none-any.whl"
    )
    with pytest.raises(AssetFetchError) as err:
        assets.fetch("fake", registry={"fake": asset})
    msg = str(err.value)
    assert "retention-lib-no-such-package==1.0" in msg
    assert asset.wheel in msg and str(tmp_cache / "wheels") in msg and asset.sha256 in msg


def test_damaged_archive_is_reported(tmp_path, tmp_cache):
    wheels = tmp_cache / "wheels"
    wheels.mkdir(parents=True)
    junk = b"this is not a zip archive" * 10
    (wheels / "fakepkg-1.0-py3-none-any.whl").write_bytes(junk)
    sha = hashlib.sha256(junk).hexdigest()
    with pytest.raises(AssetArchiveError, match="damaged"):
        assets.fetch("fake", downloader=no_download, registry={"fake": fake_asset(sha)})


def test_corrupted_member_fails_its_crc_check(tmp_path, tmp_cache):
    payload = b"A" * 200
    sha, target = place(
        tmp_path, tmp_cache, content={"pkg/data/a.csv": payload, "pkg/model/c": b"1"}, compress=zipfile.ZIP_STORED
    )
    raw = bytearray(target.read_bytes())
    raw[raw.index(payload) + 50] ^= 0xFF  # flip one byte inside the stored member
    target.write_bytes(bytes(raw))
    sha = hashlib.sha256(bytes(raw)).hexdigest()  # pinned hash matches: only the CRC can catch it
    with pytest.raises(AssetArchiveError, match="damaged"):
        assets.fetch("fake", downloader=no_download, registry={"fake": fake_asset(sha)})


def test_missing_member_is_reported(tmp_path, tmp_cache):
    sha, _ = place(tmp_path, tmp_cache, content={"pkg/data/a.csv": b"1"})
    with pytest.raises(AssetArchiveError, match="no member 'pkg/model/'"):
        assets.fetch("fake", downloader=no_download, registry={"fake": fake_asset(sha)})


def test_unknown_asset_lists_known_ones():
    with pytest.raises(KeyError, match="cdnow"):
        assets.fetch("cdnwo")


def test_real_assets_are_fetched_and_marked_with_their_pinned_hash():
    for name, a in assets.ASSETS.items():
        folder = assets.fetch(name)
        marker = json.loads((folder / ".complete.json").read_text())
        assert marker["sha256"] == a.sha256
        for m in a.members:
            assert (folder / a.target(m)).exists(), (name, m)


def test_a_source_archive_with_a_zip_inside_is_read_member_by_member(tmp_path, tmp_cache):
    """An sdist (.tar.gz) whose member is a zip: ``outer.zip!inner.csv`` extracts the inner file only."""
    import io
    import tarfile

    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("data.csv", "a,b\n1,2\n")
        zf.writestr("other.csv", "not wanted")
    src = tmp_path / "fakepkg-1.0.tar.gz"
    with tarfile.open(src, "w:gz") as tf:
        info = tarfile.TarInfo("fakepkg-1.0/pkg/data.csv.zip")
        info.size = len(inner.getvalue())
        tf.addfile(info, io.BytesIO(inner.getvalue()))
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    calls = []

    def downloader(asset, dest):
        calls.append(asset.requirement)
        (dest / src.name).write_bytes(src.read_bytes())

    asset = Asset(
        "fake",
        "fakepkg",
        "1.0",
        src.name,
        sha,
        ("fakepkg-1.0/pkg/data.csv.zip!data.csv",),
        "fakepkg-1.0/pkg/",
        "test asset",
        source_archive=True,
    )
    folder = assets.fetch("fake", downloader=downloader, registry={"fake": asset})
    assert calls == ["fakepkg==1.0"] and (folder / "data.csv").read_text() == "a,b\n1,2\n"
    assert not (folder / "other.csv").exists()
    missing = Asset(
        "fake2",
        "fakepkg",
        "1.0",
        src.name,
        sha,
        ("fakepkg-1.0/pkg/data.csv.zip!nope.csv",),
        "fakepkg-1.0/pkg/",
        "test asset",
        source_archive=True,
    )
    with pytest.raises(AssetArchiveError, match="has no member 'nope.csv'"):
        assets.fetch("fake2", downloader=downloader, registry={"fake2": missing})


def test_a_source_archive_comes_from_the_index_and_its_listed_hash_is_checked_first(tmp_path, monkeypatch):
    """No pip (which would run the package's setup.py): the index's JSON listing, checked against the pin, then
    the file; a listing with another hash stops before anything is downloaded."""
    import io

    body = b"archive bytes"
    sha = hashlib.sha256(body).hexdigest()
    asset = Asset("fake", "fakepkg", "1.0", "fakepkg-1.0.tar.gz", sha, ("x",), "", "test", source_archive=True)
    opened = []

    def urlopen(request, timeout):
        url = getattr(request, "full_url", request)
        opened.append(url)
        if url.endswith("/fakepkg/"):
            listing = {
                "files": [{"filename": "fakepkg-1.0.tar.gz", "hashes": {"sha256": listed}, "url": "https://f/x"}]
            }
            return io.BytesIO(json.dumps(listing).encode())
        return io.BytesIO(body)

    monkeypatch.setattr(assets.urllib.request, "urlopen", urlopen)
    monkeypatch.setenv("PIP_INDEX_URL", "https://index.example/simple/")
    listed = sha
    assets.download(asset, tmp_path)
    assert (tmp_path / "fakepkg-1.0.tar.gz").read_bytes() == body
    assert opened == ["https://index.example/simple/fakepkg/", "https://f/x"]
    listed, opened[:] = "0" * 64, []
    with pytest.raises(AssetHashError, match="lists fakepkg-1.0.tar.gz with sha256 0000.*not downloaded"):
        assets.download(asset, tmp_path / "none")
    assert opened == ["https://index.example/simple/fakepkg/"]
