"""Privacy: keyed pseudonyms, the scrubber's recall on planted personal data, k-anonymity, clear errors."""

import numpy as np
import pandas as pd
import pytest

from retention_lib import data, privacy, sentiment, world
from retention_lib.privacy import KEY_ENV, PseudonymKeyError, k_anonymise, k_of, load_key, pseudonymise
from retention_lib.privacy.evaluate import KINDS, detection_report, plant
from retention_lib.profiles.user_profiles import BEHAVIOUR_FEATURES

KEY = b"k" * 32


def test_the_same_key_gives_the_same_pseudonym_and_another_key_another():
    ids = [101, 102, "c-7", 101]
    a, b = pseudonymise(ids, KEY), pseudonymise(ids, KEY)
    np.testing.assert_array_equal(a, b)
    assert a[0] == a[3] and len(set(a)) == 3 and all(len(x) == 32 for x in a)
    other = pseudonymise(ids, b"j" * 32)
    assert not set(a) & set(other)
    assert "101" not in "".join(a)
    import hashlib
    import hmac

    assert a[0] == hmac.new(KEY, b"101", hashlib.sha256).hexdigest()[:32]  # the standard HMAC, nothing home-made


def test_keys_come_from_outside_and_smoke_alone_has_a_test_key(monkeypatch, tmp_path):
    from retention_lib.privacy import default_key_file, keygen
    from retention_lib.privacy.pseudonyms import TEST_KEY

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv(KEY_ENV, "e" * 40)
    assert load_key("smoke") == TEST_KEY  # always: smoke runs give the same numbers anywhere
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(
        PseudonymKeyError, match="no pseudonymisation key for profile 'standard': run `python -m retention_lib keygen`"
    ):
        load_key("standard")
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(PseudonymKeyError, match="has 5 bytes; use at least 32"):
        load_key("standard")
    monkeypatch.setenv(KEY_ENV, "s" * 40)
    assert load_key("standard") == b"s" * 40
    monkeypatch.delenv(KEY_ENV)
    path = keygen()  # the default place, outside any repository
    assert path == default_key_file() and oct(path.stat().st_mode)[-3:] == "600"
    assert load_key("standard") == path.read_bytes().strip() and len(load_key("standard")) == 64
    with pytest.raises(PseudonymKeyError, match="already holds a key"):
        keygen()
    repo = tmp_path / "repo"
    (repo / "keys").mkdir(parents=True)
    (repo / "keys" / "k.txt").write_text("x" * 40)
    with pytest.raises(PseudonymKeyError, match="is inside the repository"):
        load_key("standard", repo / "keys" / "k.txt", repo_root=repo)
    with pytest.raises(PseudonymKeyError, match="is inside the repository"):
        keygen(repo / "new.key", repo_root=repo)
    (tmp_path / "k.txt").write_text("y" * 40 + "\n")
    assert load_key("standard", tmp_path / "k.txt", repo_root=repo) == b"y" * 40
    with pytest.raises(ValueError, match="1 missing value"):
        pseudonymise([1, None], KEY)


def test_plain_hashes_are_guessed_back_and_keyed_ones_are_not(tmp_path):
    from retention_lib.privacy import guessable_share, plain_hash, raw_ids_in

    ids = np.arange(100001, 101001)
    candidates = np.arange(100000, 200000)  # an attacker lists every plausible id
    assert guessable_share(plain_hash(ids), candidates) == 1.0
    assert guessable_share(pseudonymise(ids, KEY), candidates) == 0.0
    export = pd.DataFrame({"spend": np.arange(1000.0)}, index=pd.Index(pseudonymise(ids, KEY), name="customer"))
    export.to_parquet(tmp_path / "clean.parquet")
    assert raw_ids_in(tmp_path / "clean.parquet", ids).empty
    export.assign(note=[str(i) if i % 100 == 0 else "" for i in ids]).to_parquet(tmp_path / "leak.parquet")
    leak = raw_ids_in(tmp_path / "leak.parquet", ids)
    assert leak.to_dict("records") == [{"where": "note", "matches": 10}]
    pd.DataFrame({"customer_id": ids}).to_csv(tmp_path / "raw.csv", index=False)
    assert raw_ids_in(tmp_path / "raw.csv", ids)["matches"].sum() == 1000


def test_k_anonymity_generalises_ages_and_suppresses_the_rest():
    rng = np.random.default_rng(0)
    t = pd.DataFrame({"age": rng.integers(18, 80, 600), "department": rng.choice(["Tops", "Dresses", "Jackets"], 600)})
    assert k_of(t, ["age", "department"]) < 5
    out = k_anonymise(t, ["age", "department"], k=5)
    assert k_of(out.table, ["age", "department"]) >= 5 and out.k >= 5
    assert out.widths["age"] > 1 and len(out.table) + len(out.suppressed) == len(t)
    assert out.steps["rows in groups < k"].iloc[-1] == len(out.suppressed)
    assert out.table["age"].str.fullmatch(r"\d+-\d+").all()
    with pytest.raises(ValueError, match="coarsen the other quasi-identifiers"):
        k_anonymise(t.assign(id=np.arange(600)), ["age", "department", "id"], k=5)
    with pytest.raises(
        ValueError, match=r"the table: missing column\(s\) \['region'\]; expected every quasi-identifier"
    ):
        k_of(t, ["region"])


@pytest.fixture(scope="module")
def scrubber():
    from retention_lib.privacy import Scrubber

    return Scrubber()


@pytest.fixture(scope="module")
def real_texts():
    labelled, _ = sentiment.make_dataset(data.load("reviews"), "3class")
    return labelled["text"].sample(180, random_state=3).tolist()


def test_planted_items_sit_where_the_table_says(real_texts):
    p = plant(real_texts, seed=1)
    assert set(p["kind"]) == set(KINDS) and p["kind"].value_counts().min() == 30
    for r in p.itertuples():
        assert r.text[r.start : r.end] == r.value
        assert real_texts[r.source].split()[0] in r.text
    pd.testing.assert_frame_equal(plant(real_texts, seed=1), p)


def test_recall_on_planted_personal_data_stays_above_its_floor(scrubber, real_texts):
    p = plant(real_texts, seed=1)
    report = detection_report(p, scrubber.find(p["text"].tolist()))
    for kind in ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "ORDER_NUMBER"):
        assert report.loc[kind, "recall"] >= 0.9, (kind, report.loc[kind].to_dict())
    assert report.loc["PERSON", "recall"] >= 0.85 and report.loc["STREET_ADDRESS", "recall"] >= 0.8
    assert (report["recall low"] <= report["recall"]).all()
    from retention_lib.privacy.evaluate import misses

    missed = misses(p, scrubber.find(p["text"].tolist()))
    assert len(missed) == (report["planted"] - report["found as its kind"]).sum()
    assert all(v in c for v, c in zip(missed["value"], missed["in context"]))
    scrubbed = scrubber.scrub(p["text"].tolist())
    for r, text in zip(p.itertuples(), scrubbed):
        if r.kind in ("EMAIL_ADDRESS", "ORDER_NUMBER"):  # recall 1 on these: every one redacted
            assert r.value not in text and "<" in text


def test_the_scrubber_is_offline_and_refuses_unknown_kinds(scrubber):
    import tldextract.tldextract as impl

    assert not impl.TLD_EXTRACTOR.suffix_list_urls  # the bundled list, no download
    from retention_lib.privacy import Scrubber

    with pytest.raises(ValueError, match=r"entities: unknown \['SSN'\]"):
        Scrubber(entities=["SSN"])
    with pytest.raises(ModuleNotFoundError, match="is not installed"):
        Scrubber(model="en_core_web_xx_missing")
    assert scrubber.scrub(["The dress runs small."]) == ["The dress runs small."]


def test_lattice_generalises_several_columns_at_the_lowest_height_and_top_codes():
    rng = np.random.default_rng(1)
    t = pd.DataFrame(
        {"weeks": rng.uniform(0, 12, 800), "spend": rng.lognormal(3.5, 0.8, 800), "dept": rng.choice(["a", "b"], 800)}
    )
    out = k_anonymise(
        t,
        ["weeks", "spend", "dept"],
        k=5,
        ladders={"weeks": (1, 2, 4, 13), "spend": (5, 25, 100)},
        caps={"spend": 200},
        max_suppressed=0.05,
    )
    assert k_of(out.table, ["weeks", "spend", "dept"]) >= 5
    good = out.steps[out.steps["share in groups < k"] <= 0.05]
    assert out.steps.loc[good.index, "height"].min() == out.steps["height"].iloc[-1]  # stopped at the first good height
    chosen = good[good["height"] == good["height"].min()].sort_values("rows in groups < k").iloc[0]
    assert out.widths == {"weeks": chosen["weeks width"], "spend": chosen["spend width"]}
    top = t.loc[out.table.index, "spend"] >= 200
    assert (out.table.loc[top, "spend"] == "200+").all() and not out.table.loc[~top, "spend"].str.endswith("+").any()
    lo, hi = privacy.band_bounds(pd.Series(["30-39", "23", "200+"]))
    assert lo.tolist() == [30, 23, 200] and hi.tolist() == [40, 24, np.inf]
    assert privacy.band_midpoints(pd.Series(["30-39", "23", "200+"])).tolist() == [35.0, 23.5, 200.0]
    with pytest.raises(ValueError, match="must be a multiple of the width"):
        privacy.bands(t["spend"], 30, cap=200)


def test_identities_are_found_where_they_hold_and_not_in_a_bands_own_midpoint():
    rng = np.random.default_rng(2)
    n = 500
    freq = rng.integers(0, 6, n).astype(float)
    gap, last = rng.uniform(1, 5, n).round(2), rng.uniform(0, 10, n).round(2)
    tenure = last + gap * freq
    export = pd.DataFrame({"weeks_since_last": last, "gap": gap, "freq": np.minimum(freq, 4), "noise": rng.random(n)})
    found = privacy.find_identities(export, "tenure", pd.Series(tenure))
    assert str(found[0]) == "weeks_since_last + gap × freq" or str(found[0]) == "weeks_since_last + freq × gap"
    assert found[0].share == pytest.approx(np.mean(freq <= 4))  # the top-coded rows break it
    # an identity that holds on few rows is kept out by min_share, and listed when asked for
    rare = pd.Series(np.where(np.arange(n) < 3, last + gap, rng.uniform(50, 60, n)))
    assert all(
        "gap" not in str(i) or i.share < 0.01 for i in privacy.find_identities(export, "t", rare)
    ) and not privacy.find_identities(export, "t", rare)
    assert str(privacy.find_identities(export, "t", rare, min_share=1 / n)[0]) == "gap + weeks_since_last"
    assert np.allclose(found[0].evaluate(export)[freq <= 4], tenure[freq <= 4])
    # a column banded like the target equals it where the value sits at a band's middle: no identity
    truth = pd.Series(np.arange(n) % 8 + 0.0)
    banded = pd.DataFrame({"t": (truth // 4) * 4 + 2.0, "twin": (truth // 4) * 4 + 2.0})
    assert privacy.find_identities(banded, "t", truth) == []


def test_linkage_attack_by_hand():
    # five exported rows: two share a band with the first target, one is unique
    export = pd.DataFrame({"weeks": [30.0, 30.0, 30.0, 34.0, 38.0], "spend": [10.0, 10.0, 12.0, 10.0, 99.0]})
    iv = privacy.export_intervals(export, {"weeks": ("band", 4), "spend": ("exact",)})
    known = pd.DataFrame({"weeks": [29.3, 37.0, 33.0], "spend": [10.0, 99.0, 10.0]})
    r = privacy.linkage_attack(iv, known, np.array([0, 4, 3]), known_widths={"weeks": 1})
    # target 0 agrees with rows 0 and 1 (1/2), target 1 with row 4 only (1), target 2 with row 3 (1)
    assert r["reidentified"] == pytest.approx((0.5 + 1 + 1) / 3) and r["unique"] == pytest.approx(2 / 3)
    coarse = privacy.export_intervals(export, {"weeks": ("band", 4), "spend": ("absent",)})
    r = privacy.linkage_attack(coarse, known, np.array([0, 4, 3]), known_widths={"weeks": 1})
    assert r["reidentified"] == pytest.approx((1 / 3 + 1 + 1) / 3)
    with pytest.raises(ValueError, match=r"\['spend'\] have no intervals"):
        privacy.linkage_attack({"weeks": iv["weeks"]}, known, np.array([0, 4, 3]))


@pytest.fixture(scope="module")
def shop_profiles():
    from retention_lib.retention import calibration_holdout

    w = world.simulate(6000, seed=3, pool=world.review_pool(data.load("reviews")))
    o = w.observed
    p = calibration_holdout(o.purchases, o.cutoff, o.end)
    n = o.reviews[o.reviews["date"] <= o.cutoff].groupby("customer_id").size()
    return p.assign(n_reviews=n.reindex(p.index, fill_value=0))


BEHAVIOUR = [*BEHAVIOUR_FEATURES, "n_reviews"]
KNOWS = ["T_cal", "frequency_cal", "spend_cal"]


def test_the_audit_catches_an_export_that_bands_tenure_but_keeps_its_clock(shop_profiles):
    p = shop_profiles
    leaky = privacy.export_profiles(
        p,
        [c for c in BEHAVIOUR if c != "recency_cal"],
        ["T_cal", "frequency_cal", "n_reviews"],
        5,
        {"T_cal": (1, 2, 4, 8, 13, 26, 52)},
        caps={"frequency_cal": 10, "n_reviews": 3},
    )
    audit = privacy.audit_export(leaky, p[KNOWS], KNOWS, 5, known_widths={"T_cal": 1})
    t = audit.rebuild.loc["T_cal"]
    assert t["rebuilt exactly"] > 0.95 and not t["passes"]
    assert "weeks_since_last" in t["identity"] and "ipt_mean_weeks" in t["identity"]
    assert audit.rebuild.loc["spend_cal", "rebuilt exactly"] == 1.0  # exported as it is
    assert audit.attack["reidentified"] > 0.5 > audit.bound and not audit.passes
    shown = privacy.audit_table(audit)  # a column exported as it is has no band: no ratio, not "inf"
    assert np.isfinite(shown["model / band"].dropna()).all() and shown["model / band"].isna().any()


def test_the_fixed_export_passes_the_audit_and_the_attack_bound(shop_profiles):
    p = shop_profiles
    keep = [c for c in BEHAVIOUR if c not in ("recency_cal", "ipt_mean_weeks", "monetary_value_cal")]
    fixed = privacy.export_profiles(
        p,
        keep,
        ["T_cal", "frequency_cal", "spend_cal", "n_reviews"],
        5,
        {"T_cal": (1, 2, 4, 8, 13), "spend_cal": (5, 10, 25, 50, 100)},
        caps={"frequency_cal": 10, "n_reviews": 3, "spend_cal": 200},
        banded_with={"weeks_since_last": "T_cal"},
        max_suppressed=0.05,
    )
    assert k_of(fixed.table, ["T_cal", "frequency_cal", "spend_cal", "n_reviews"]) >= 5
    assert fixed.shown_as("spend_cal") == ("band", fixed.anonymised.widths["spend_cal"], 200)
    assert fixed.shown_as("frequency_cal") == ("cap", 10) and fixed.shown_as("recency_cal") == ("absent",)
    assert fixed.shown_as("weeks_since_last") == ("band", fixed.anonymised.widths["T_cal"])  # banded with tenure
    audit = privacy.audit_export(fixed, p[KNOWS], KNOWS, 5, known_widths={"T_cal": 1})
    assert (audit.rebuild["rebuilt exactly"] == 0).all(), audit.rebuild
    assert audit.passes and audit.attack["reidentified"] <= 1 / 5 and audit.attack["unique"] == 0
