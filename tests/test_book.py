"""Run every notebook in the smoke profile, build the book with warnings as errors, check the HTML."""

import json
import re
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
from conftest import ROOT

from retention_lib.machinery import build as book
from retention_lib.machinery import params as P
from retention_lib.machinery import runner

pytestmark = pytest.mark.slow  # runs every notebook and builds the book: minutes

#: a folder made by tempfile (tmpab12_x9z) or a system temporary folder, on any platform
TEMP_FOLDER = re.compile(r"/tmp/|/var/folders/|\\Temp\\|\btmp[a-z0-9_]{8}\b")


@pytest.fixture(scope="module")
def smoke_run():
    logs = []
    paths = runner.run("smoke", log=logs.append, jobs=2)  # side by side where the chapters allow (same numbers)
    return paths, logs


@pytest.fixture(scope="module")
def smoke_html(smoke_run):
    return book.build("smoke", log=lambda m: None)


def test_every_notebook_runs_in_the_smoke_profile(smoke_run):
    paths, _ = smoke_run
    assert [p.stem for p in paths] == P.notebooks()
    for p in paths:
        assert runner.notebook_errors(p) == []
        meta = json.loads(p.read_text())["metadata"]["retention_lib"]
        assert meta["ok"] and meta["profile"] == "smoke"


def test_no_raw_customer_id_survives_in_the_exported_profiles(smoke_run):
    import numpy as np

    from retention_lib import privacy, world

    art = ROOT / "_build" / "smoke" / "artifacts"
    ids = np.unique(world.load(art / "world").observed.purchases["customer_id"].to_numpy())
    export = art / "profiles_export.parquet"
    assert export.exists(), "chapter 11 writes the export"
    assert privacy.raw_ids_in(export, ids).empty
    table = __import__("pandas").read_parquet(export)
    assert privacy.k_of(table, ["T_cal", "frequency_cal", "spend_cal", "n_reviews"]) >= 5
    for rebuilds in ("recency_cal", "ipt_mean_weeks", "monetary_value_cal"):  # each would give tenure or spend back
        assert rebuilds not in table.columns


def test_runs_end_with_a_table_of_chapter_times(smoke_run):
    _, logs = smoke_run
    assert all(stem in logs[-2] for stem in P.notebooks()), "the last lines list every chapter's time"


def test_the_kernel_runs_without_network_ports_or_warnings(tmp_path, capfd):
    root = tmp_path / "proj"
    shutil.copytree(ROOT / "book", root / "book")
    (root / "notebooks").mkdir()
    shutil.copy2(ROOT / "notebooks" / "01_data.ipynb", root / "notebooks" / "01_data.ipynb")
    runner.run("smoke", only=["01_data"], root=root, log=lambda m: None)
    assert "without encryption" not in capfd.readouterr().err
    nb = json.loads((root / "_build" / "smoke" / "notebooks" / "01_data.ipynb").read_text())
    injected = next(c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    assert 'artifacts_dir = "../_build/smoke/artifacts"' in "".join(injected["source"])


def test_a_second_run_with_nothing_changed_reuses_the_executed_notebooks(smoke_run):
    logs = []
    runner.run("smoke", log=logs.append)
    assert sum("unchanged, reusing" in m for m in logs) == len(P.notebooks())
    assert not any("running" in m for m in logs)


def test_the_book_builds_offline_with_figures_glued_numbers_and_math(smoke_html):
    assert (smoke_html / "index.html").exists()
    assert book.check_offline_html(smoke_html) == []
    for stem in P.notebooks():
        page = (smoke_html / "notebooks" / f"{stem}.html").read_text()
        assert "<img" in page, f"{stem}: no figure"
        assert "{glue" not in page, f"{stem}: a glued number was not filled in"
        assert "Traceback" not in page
    assert list(smoke_html.rglob("tex-chtml*.js")), "MathJax is served locally"
    # no path of the machine that built the book (the checkout, the home folder, a temporary folder) on any page
    for page in smoke_html.rglob("*.html"):
        text = page.read_text(errors="replace")
        for machine_path in {str(ROOT), str(Path.home()) + "/", tempfile.gettempdir().rstrip("/") + "/"}:
            assert machine_path not in text, f"{page.name} shows {machine_path}"
        temporary = TEMP_FOLDER.search(text)
        assert temporary is None, f"{page.name} shows a temporary folder: {temporary.group(0)}"
    params_page = (smoke_html / "parameters.html").read_text()
    for stem in P.notebooks():
        for name in P.parameters(stem):
            assert name in params_page


#: what a reader of the smoke book still meets, per chapter page: a ratchet (issue 28), now at zero. A new defect
#: fails the test with the page and what is wrong (retention_lib.machinery.pages says why each matters); one that
#: cannot be fixed at once is listed here with its reason, e.g. {"07_recommendations": {"wide image": 1}}
PAGE_DEFECTS_LEFT: dict[str, dict[str, int]] = {}


def test_no_figure_of_the_smoke_book_draws_labels_over_each_other(smoke_run):
    """Every figure a chapter shows was checked by its kernel for texts drawn over each other
    (base.plots.overlapping_labels, recorded in the output's metadata): none may have any."""
    paths, _ = smoke_run
    found = []
    for path in paths:
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            for out in cell.get("outputs", []) or []:
                pairs = (out.get("metadata") or {}).get("overlapping_labels")
                if pairs:
                    found.append(f"{path.stem}, cell {i}: {'; '.join(pairs[:3])}")
    assert not found, "labels a reader cannot read:\n" + "\n".join(found)


def test_no_page_of_the_smoke_book_has_more_defects_than_are_left(smoke_html):
    from collections import Counter

    from retention_lib.machinery import pages

    found = pages.book_defects(smoke_html)
    counts = Counter((d.page, d.kind) for d in found)
    worse = [
        f"{page}: {kind}: {n} (left: {PAGE_DEFECTS_LEFT.get(page, {}).get(kind, 0)})\n    "
        + "\n    ".join(str(d) for d in found if (d.page, d.kind) == (page, kind))
        for (page, kind), n in sorted(counts.items())
        if n > PAGE_DEFECTS_LEFT.get(page, {}).get(kind, 0)
    ]
    assert not worse, "pages a reader would stumble on; fix them (or, for a fixed one, lower the count):\n" + "\n".join(
        worse
    )
    better = [
        f"{page}: {kind}: {counts[(page, kind)]} < {n}"
        for page, kinds in PAGE_DEFECTS_LEFT.items()
        for kind, n in kinds.items()
        if counts[(page, kind)] < n
    ]
    if better:  # a number that happens to come out whole or missing in this run must not turn CI red: say it
        warnings.warn("fewer defects than PAGE_DEFECTS_LEFT allows; lower it: " + "; ".join(better), stacklevel=1)


def test_the_page_check_finds_each_defect_a_reader_meets(tmp_path):
    from retention_lib.machinery import pages

    page = tmp_path / "bad.html"
    wide = "".join(f"<th>column {i}</th>" for i in range(pages.MAX_COLUMNS + 1))
    page.write_text(
        "<html><body><p>As exercise 3 shows, see section 2.1.</p>"
        '<p class="admonition-title"><span class="caption-number">Exercise 38 </span>(generated)</p>'
        '<a class="reference internal" href="#x"><span>Exercise 40</span></a>'
        "<pre>exercise 9 in code is not prose</pre>"
        "<table><tr><th>fit_miss</th><th>share kept</th><th>CREDIT_CARD</th></tr>"
        "<tr><td>nan</td><td>2.114412</td><td>inf</td></tr><tr><td>15848.0</td><td>0.42</td><td>1</td></tr></table>"
        f"<table><tr>{wide}</tr></table>"
        '<img alt="../_images/e684.png" src="../_images/e684.png" style="width: 1118px; height: 363px;"/>'
        '<img alt="Retention by cohort: the share of customers still buying" src="a.png" style="width: 600px;"/>'
        "</body></html>"
    )
    kinds = sorted(d.kind for d in pages.page_defects(page))
    assert kinds == sorted(
        [
            "typed ref",
            "typed ref",
            "key header",
            "key header",
            "missing value",
            "missing value",
            "raw number",
            "raw number",
            "wide table",
            "file alt",
            "wide image",
        ]
    ), kinds


def test_check_offline_html_finds_remote_assets(tmp_path):
    (tmp_path / "a.html").write_text(
        '<script src="https://cdn.example/x.js"></script>'
        '<link href="//fonts.example/f.css"><img src="_static/ok.png">'
        '<a href="https://example.org/source">a cited source</a>'
    )
    found = book.check_offline_html(tmp_path)
    assert len(found) == 2 and "cdn.example" in found[0]


def test_a_notebook_that_raises_fails_the_run_and_the_build(tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(ROOT / "book", root / "book")
    shutil.copy2(ROOT / "_config.yml", root / "_config.yml")
    (root / "notebooks").mkdir()
    nb = json.loads((ROOT / "notebooks" / "01_data.ipynb").read_text())
    nb["cells"].insert(
        2,
        {
            "cell_type": "code",
            "id": "boom",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": "raise RuntimeError('deliberate failure')",
        },
    )
    (root / "notebooks" / "01_data.ipynb").write_text(json.dumps(nb))
    with pytest.raises(runner.RunError, match="deliberate failure"):
        runner.run("smoke", only=["01_data"], root=root, log=lambda m: None)
    with pytest.raises(runner.BuildError, match="01_data: the executed notebook raised"):
        book.build("smoke", root=root, log=lambda m: None)


def test_the_smoke_book_reproduces_under_nbval(smoke_run):
    """Each chapter's key outputs (cells tagged nbval-check-output) come out the same when run again."""
    tagged = 0
    for stem in P.notebooks():
        nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
        tagged += sum("nbval-check-output" in c["metadata"].get("tags", []) for c in nb["cells"])
        assert any("nbval-check-output" in c["metadata"].get("tags", []) for c in nb["cells"]), stem
    proc = runner.reproduce("smoke", jobs=2)
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_nbval_catches_an_output_that_does_not_reproduce(smoke_run, tmp_path):
    root = tmp_path / "proj"
    nb_dir = root / "_build" / "smoke" / "notebooks"
    nb_dir.mkdir(parents=True)
    source = runner.profile_dir("smoke") / "notebooks" / "01_data.ipynb"
    nb = json.loads(source.read_text())
    cell = next(c for c in nb["cells"] if "nbval-check-output" in c["metadata"].get("tags", []))
    out = next(o for o in cell["outputs"] if "text/plain" in o.get("data", {}))
    out["data"]["text/plain"] = "a number that the code does not produce"
    (nb_dir / "01_data.ipynb").write_text(json.dumps(nb))
    (root / "_build" / "smoke" / "artifacts").symlink_to(runner.profile_dir("smoke") / "artifacts")
    proc = runner.reproduce("smoke", root=root, only=["01_data"])
    assert proc.returncode != 0 and "a number that the code does not produce" in proc.stdout


# --- claims as code: the book rerun under other parameters ----------------------------------------------------

#: a world with no link between reviews and leaving, half its customers in the experiment, and another seed
RERUN = {"text_effect": 0.0, "experiment_share": 0.5, "seed": 1}


def _glued(path):
    import ast

    out = {}
    for name, text in runner.glued_values(path).items():
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text
    return out


def _verdict(low, high, above, below, between):
    return above if low > 0 else below if high < 0 else between


def test_a_rerun_under_other_parameters_leaves_no_false_verdict(smoke_run, tmp_path):
    """Chapters 05 to 09 again, in another world (RERUN): every verdict word they glue must agree with the
    numbers glued beside it; a chapter may instead stop, but only on one of its asserts."""
    root = tmp_path / "book"
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    shutil.copytree(
        ROOT / "_build" / "smoke" / "artifacts",
        root / "_build" / "smoke" / "artifacts",
        ignore=shutil.ignore_patterns("world", "user_profiles.parquet", "profiles_export.parquet", "strategy_*"),
    )
    later = ["06_language_model", "07_recommendations", "08_strategy", "09_ab_testing"]

    def ran(stem):
        path = runner.profile_dir("smoke", root) / "notebooks" / f"{stem}.ipynb"
        meta = runner._meta(path) if path.exists() else {}
        return path if meta.get("ok") and meta["parameters"]["seed"] == 1 else None

    stopped = set()  # chapters that stopped on one of their asserts
    batches = [["05_linked_world"], later]  # the world first; then its readers side by side
    while batches:
        stems = batches.pop(0)
        mine = {k: v for k, v in RERUN.items() if any(k in P.parameters(s) for s in stems)}
        try:
            runner.run("smoke", only=stems, overrides=mine, root=root, log=lambda m: None, jobs=2)
        except runner.RunError as error:
            for failure in getattr(error, "failures", [error]):  # every chapter that failed, each on its own
                assert "AssertionError" in str(failure), f"failed under {RERUN}, not on one of its asserts: {failure}"
                stopped |= {s for s in stems if f"] {s} (" in str(failure)}
            if "05_linked_world" in stopped:
                break  # no world, nothing after it
            # the others of the batch did not start after the failure: run them now (09 needs 08)
            rest = [
                s
                for s in stems
                if not ran(s) and s not in stopped and not (s == "09_ab_testing" and "08_strategy" in stopped)
            ]
            if rest:
                batches.insert(0, rest)
    glued = {stem: _glued(ran(stem)) for stem in ["05_linked_world", *later] if ran(stem)}
    g5, g6 = glued.get("05_linked_world"), glued.get("06_language_model")
    # chapters 07 to 09: each glued verdict against the interval glued beside it
    g7, g8, g9 = (glued.get(s) for s in later[1:])
    if g7:
        assert g7["reader_heading_07"] == _verdict(
            g7["lm_minus_tf_low"],
            g7["lm_minus_tf_high"],
            "The language model's reading is worth more here",
            "The cheaper reader does better here",
            "The cheaper reader holds its own",
        )
        for words, lo, hi in [
            ("rep_lm_verdict_07", "rep_lm_ret_low", "rep_lm_ret_high"),
            ("rep_readers_verdict_07", "rep_lm_minus_tf_low", "rep_lm_minus_tf_high"),
        ]:
            assert g7[words] == _verdict(
                g7[lo], g7[hi], "keeps more customers than", "keeps fewer customers than", "cannot be told apart from"
            ), (words, g7[words], g7[lo], g7[hi])
    if g8:
        assert g8["best_vs_risk_verdict"] == _verdict(
            g8["best_vs_risk_lo"], g8["best_vs_risk_hi"], "beats", "does worse than", "cannot be told apart from"
        )
    if g9:
        assert g9["first_verdict"] == _verdict(
            g9["first_low"], g9["first_high"], "earns more than", "earns less than", "cannot be told apart from"
        )
    if not (g5 and g6):
        return  # chapter 05 or 06 stopped on an assert (checked above)
    # the rerun really ran in another world, and chapter 06 says what its no-link world showed
    assert g6["zero_lesson"].startswith("the method finds nothing") == (g6["zero_lo"] <= 0 <= g6["zero_hi"])
    # chapter 05: with the link off in both worlds, its verdicts on negative against positive readers follow the intervals
    assert g5["text_effect_value"] == 0.0
    for words, lo, hi in [
        ("link_on_summary", "link_diff_lo", "link_diff_hi"),
        ("null_words", "null_diff_lo", "null_diff_hi"),
    ]:
        if "nothing to compare" in g5[words] or "cannot be compared" in g5[words]:
            continue  # a group is empty in this small world
        apart = g5[lo] > 0 or g5[hi] < 0
        said_apart = not any(w in g5[words] for w in ("holds zero", "disappears", "about as often"))
        assert apart == said_apart, f"05: {words} = {g5[words]!r} but the interval is {g5[lo]:+.4f} to {g5[hi]:+.4f}"
    # chapter 06: every heading and verdict against its interval
    found = g6["gain_lm_lo"] > 0
    assert g6["lm_heading"].startswith("The language model recovers") == found, (g6["lm_heading"], g6["gain_lm_lo"])
    assert ("measurable share" in g6["machinery_words"]) == found, g6["machinery_words"]
    lo, hi = g6["lm_minus_tfidf_lo"], g6["lm_minus_tfidf_hi"]
    assert g6["tfidf_heading"] == _verdict(
        lo, hi, "It beats TF-IDF here", "TF-IDF beats it here", "It does not beat TF-IDF here"
    )
    assert g6["content_words"] == _verdict(g6["content_lo"], g6["content_hi"], "adds", "costs", "changes the AUC by")
    assert g6["replicated_verdict"] == _verdict(
        g6["lm_minus_tfidf_mean_low"],
        g6["lm_minus_tfidf_mean_high"],
        "beats",
        "does worse than",
        "cannot be told apart from",
    )
    for words, lo, hi in [("zero_verdict", "zero_lo", "zero_hi"), ("placebo_verdict", "placebo_lo", "placebo_hi")]:
        assert (g6[words] == "contains") == (g6[lo] <= 0 <= g6[hi]), (words, g6[words], g6[lo], g6[hi])
    bias = g6["neg_p_behaviour"] - g6["neg_group_rate"]
    assert g6["neg_bias_words"] == (
        "too optimistic" if bias > 0.01 else "too pessimistic" if bias < -0.01 else "about right"
    )


def test_the_shop_chapter_finds_what_chapter_06s_code_finds_on_the_same_world(smoke_run):
    """Chapter 12 on the demo shop (the world of chapter 05 written as a shop's files and read back) gives the
    ROC AUC and the reviews' gain that chapter 06's own calls give on the world itself."""
    import pandas as pd

    from retention_lib import data, world
    from retention_lib.profiles import text_value as tv

    art = ROOT / "_build" / "smoke" / "artifacts"
    nb = ROOT / "_build" / "smoke" / "notebooks" / "12_your_shop.ipynb"
    g = _glued(nb)
    folds = P.resolve("smoke", ["12_your_shop"])["12_your_shop"]["folds"]
    o = world.load(art / "world").observed
    reviews, scores = data.load("reviews"), pd.read_parquet(art / "review_scores.parquet")
    reading = tv.fit_readers(reviews, scores, 0)["lm"](o.reviews["text"])
    sets, y = tv.observed_sets(o, {"lm": reading}, customers=tv.no_offer_customers(o))
    oof = tv.out_of_fold(sets, y, {"gb": tv.make_text_models(0)["gb"]}, folds, 0)
    table = tv.ablation_table(oof, y, n_resamples=20, seed=0).xs("gb", level="model")
    assert g["shop_customers"] == o.assignment["customer_id"].nunique()
    assert abs(g["shop_auc"] - table.loc["behaviour + lm", "roc_auc"]) < 0.005
    assert abs(g["shop_text_gain"] - table.loc["behaviour + lm", "roc_auc_gain"]) < 0.005
    assert g["shop_truth_words"].startswith("In the demo"), "the demo shows the contact lists' true value"
    verdict = _verdict(
        g["shop_text_gain_low"], g["shop_text_gain_high"], "adds to", "takes away from", "cannot be told apart from"
    )
    assert g["shop_reviews_verdict"] == verdict


def test_a_shops_own_review_texts_are_read_by_chapter_02s_model(smoke_run):
    """Texts chapter 02 never scored are scored once each by its saved model (through chapter 10's backend), the
    others looked up; both readings are the model's own."""
    import numpy as np
    import pandas as pd

    from retention_lib import data, sentiment
    from retention_lib.shop import method as M

    art = ROOT / "_build" / "smoke" / "artifacts"
    reviews, scores = data.load("reviews"), pd.read_parquet(art / "review_scores.parquet")
    known = sentiment.review_texts(reviews).reindex(scores.index).dropna().iloc[:2].tolist()
    new = ["The zip broke on the second wear and the shop never answered.", "Lovely soft fabric, fits perfectly."]
    texts = known + new + new[:1]
    logs = []
    reading, how = M.read_reviews(texts, "lm", reviews, scores, art / "sentiment_model", log=logs.append)
    assert how == {"texts": 5, "looked_up": 2, "scored": 2} and "scoring 2 new review text(s)" in logs[0]
    clf = sentiment.SentimentClassifier.load(art / "sentiment_model", device="cpu")
    np.testing.assert_allclose(reading["p_negative"].iloc[2:4], clf.predict_proba(new)[:, 0], atol=1e-5)
    assert reading["p_negative"].iloc[4] == reading["p_negative"].iloc[2]
    with pytest.raises(FileNotFoundError, match="2 review text"):
        M.read_reviews(texts, "lm", reviews, scores, art / "no_model")


def test_the_shop_command_turns_a_shops_files_into_a_report_and_a_customer_table(smoke_run, tmp_path, capsys):
    """``python -m retention_lib shop`` on the demo's files, given as a user gives theirs; it runs chapter 12 of the
    smoke profile on them, so the test runs it on the demo again at the end."""
    import pandas as pd

    from retention_lib import privacy
    from retention_lib.__main__ import main

    demo = ROOT / "_build" / "smoke" / "artifacts" / "demo_shop"
    shop = tmp_path / "my shop"
    shutil.copytree(demo, shop)
    args = [
        "shop",
        "--profile",
        "smoke",
        "--purchases",
        str(shop / "purchases.csv"),
        "--reviews",
        str(shop / "reviews.csv"),
        "--columns",
        str(shop / "columns.yaml"),
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(args + ["--experiment", str(shop / "nowhere.csv")]) == 2
    assert "--experiment: no such file" in capsys.readouterr().err
    assert main(args + ["--set", "reviews_file=x.csv"]) == 2
    assert "give the files with --purchases" in capsys.readouterr().err
    assert main(args + ["--experiment", str(shop / "experiment.csv"), "--set", "table_format=parquet"]) == 0
    printed = capsys.readouterr().out
    page, table = (
        tmp_path / "out" / "report" / "_build" / "html" / "12_your_shop.html",
        tmp_path / "out" / "shop_customers.parquet",
    )
    assert f"report: {page}" in printed and f"customer table: {table}" in printed
    html = page.read_text()
    assert "the list with the highest estimate is" in html and "glue:text" not in html  # the experiment was read
    assert "This page runs on your shop" in html
    customers = pd.read_parquet(table)
    ids = pd.read_csv(shop / "purchases.csv", dtype=str)["Customer No"].unique()
    assert len(customers) == len(ids) and privacy.raw_ids_in(table, ids).empty
    assert not [i for i in ids if re.search(rf"\b{re.escape(i)}\b", html)], "a raw customer id on the report"
    assert customers["risk_rank"].min() == 1 and customers["p_buy_again"].between(0, 1).all()
    runner.run("smoke", only=["12_your_shop"], log=lambda m: None)  # the book's chapter 12 on the demo again
