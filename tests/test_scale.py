"""Profiles past one process: stable shards, and Ray's profiles equal pandas' in one process."""

import numpy as np
import pandas as pd
import pytest

from retention_lib import data, world
from retention_lib.serving import scale


def test_shards_are_stable_and_cover_every_customer():
    ids = np.arange(10_000)
    a, b = scale.shard_of(ids, 7), scale.shard_of(ids.copy(), 7)
    np.testing.assert_array_equal(a, b)
    assert a.min() == 0 and a.max() == 6
    counts = np.bincount(a)
    assert counts.min() > 0.8 * counts.mean()  # a hash, not a block split
    np.testing.assert_array_equal(scale.shard_of(np.array(["c1", "c2"]), 3), scale.shard_of(np.array(["c1", "c2"]), 3))
    with pytest.raises(ValueError, match="shards must be a whole number >= 1"):
        scale.shard_of(ids, 0)


@pytest.mark.slow
def test_ray_profiles_equal_in_process_profiles():
    w = world.simulate(3000, seed=2, pool=world.review_pool(data.load("reviews")))
    obs = w.observed
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), len(obs.reviews))
    proba = pd.DataFrame(p, columns=["p_negative", "p_neutral", "p_positive"])
    reference = scale.profile_features(obs.purchases, obs.reviews, proba, obs.cutoff, obs.end)
    assert len(reference) == 3000 and reference["n_reviews"].sum() > 0
    try:
        got = scale.profiles_with_ray(obs, proba, workers=2, shards=5)
        pd.testing.assert_frame_equal(got, reference)
        table, again = scale.profile_timings(obs, proba, workers=2)  # checks Ray against pandas itself
        assert list(table["how"]) == ["pandas, this process", "Ray, 1 worker", "Ray, 2 workers"]
        assert (table["seconds"] > 0).all() and table["speed-up vs Ray, 1 worker"].iloc[1] == 1
        pd.testing.assert_frame_equal(again, reference)
        with pytest.raises(ValueError, match="proba: 3 rows, but the reviews have"):
            scale.profiles_with_ray(obs, proba.head(3), workers=2)
        with pytest.raises(ValueError, match="workers must be a whole number >= 1"):
            scale.profiles_with_ray(obs, proba, workers=0)
    finally:
        scale.stop_ray()
