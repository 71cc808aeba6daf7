"""Per-user preference profiles: choice sets, splits, metrics, and recovery of planted slopes.

The recovery tests fit the real random-slope model (nutpie/PyMC, small draws) on a
300-user synthetic release with planted per-user weights, and check what the issue asks:
90% intervals of the per-user weights cover the planted values for 85-95% of (user,
attribute) pairs, the population SDs and correlations are recovered within their intervals,
and per-user prediction beats the population on held-out choices by a margin in line with
what the planted heterogeneity makes available (the oracle that knows the planted
population distribution).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from perspective_local.analysis import prediction, profiles
from perspective_local.analysis.prism import load_prism
from perspective_local.analysis.scores import attach_scores, read_scores_file
from perspective_local.analysis.specs import SamplerOptions
from perspective_local.analysis.synth import synthesize
from perspective_local.analysis.terms import PREDICTORS


def _sets(directory: Path) -> profiles.ChoiceSets:
    data = load_prism(directory)
    table = attach_scores(data, read_scores_file(directory / "scores.jsonl"))
    return profiles.ChoiceSets.from_table(table, data.users)


# ---- choice sets and splits (no sampling) ------------------------------------------------


def test_choice_sets_hold_each_conversation_once_with_its_chosen_option(
    small_release: Path,
) -> None:
    data = load_prism(small_release)
    table = attach_scores(data, read_scores_file(small_release / "scores.jsonl"))
    sets = profiles.ChoiceSets.from_table(table, data.users)
    assert sets.x.shape == (sets.n, 4, len(PREDICTORS))
    assert sets.available.sum() == len(
        table[table["conversation_id"].isin(sets.conversations)].dropna(subset=list(PREDICTORS))
    )
    # The chosen option's attributes are the chosen response's.
    first = sets.conversations[0]
    chosen_row = table[(table["conversation_id"] == first) & table["highest"]]
    np.testing.assert_allclose(
        sets.x[0, sets.chosen[0]], chosen_row[list(PREDICTORS)].to_numpy()[0]
    )
    assert sets.available[np.arange(sets.n), sets.chosen].all()
    # Conversations lost to EMPTY STRING chosen replies are counted, not silently gone.
    kept = set(sets.conversations)
    lost = table.loc[~table["conversation_id"].isin(kept), "conversation_id"].nunique()
    assert sum(sets.dropped.values()) >= lost
    # Positions count each user's conversations in the order they ended.
    for u in range(len(sets.users)):
        assert sorted(sets.position[sets.user == u]) == list(range((sets.user == u).sum()))


def test_positions_follow_the_end_time_not_the_file_order(release_copy: Path) -> None:
    path = release_copy / "conversations.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    user = records[0]["user_id"]
    mine = [r for r in records if r["user_id"] == user]
    assert len(mine) >= 2, "the fixture's first user needs two conversations"
    # The user's first conversation in the file ended last.
    mine[0]["generated_datetime"] = "2023-12-30 23:59:59"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    sets = _sets(release_copy)
    position = dict(zip(sets.conversations, sets.position, strict=True))
    assert position[mine[0]["conversation_id"]] == len(mine) - 1


def test_holdout_split_separates_users_and_keeps_the_last_conversations(
    small_release: Path,
) -> None:
    sets = _sets(small_release)
    split = prediction.holdout_split(sets, last=1, cold_share=0.25, seed=3)
    assert split.cold is not None
    assert not set(split.cold.users) & set(split.train.users)
    assert set(split.warm.users) <= set(split.train.users)
    assert len(split.cold.users) == round(0.25 * len(sets.users))
    assert split.train.n + split.warm.n + split.cold.n == sets.n
    latest_trained: dict[str, int] = {}
    for name, position in zip(
        np.asarray(split.train.users)[split.train.user], split.train.position, strict=True
    ):
        latest_trained[str(name)] = max(latest_trained.get(str(name), -1), int(position))
    warm_names = np.asarray(split.warm.users)[split.warm.user]
    for name, position in zip(warm_names, split.warm.position, strict=True):
        assert position > latest_trained[str(name)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"last": 0}, "last must be at least 1"), ({"cold_share": 1.0}, "cold_share must be")],
)
def test_holdout_split_rejects_bad_arguments(
    small_release: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        prediction.holdout_split(_sets(small_release), **kwargs)


def test_metrics_of_perfect_uniform_and_wrong_predictors(small_release: Path) -> None:
    sets = _sets(small_release)
    perfect = np.zeros(sets.available.shape)
    perfect[np.arange(sets.n), sets.chosen] = 1.0
    uniform = sets.available / sets.available.sum(axis=1, keepdims=True)
    wrong = np.where(sets.available, 1.0, 0.0)
    wrong[np.arange(sets.n), sets.chosen] = 1e-9
    table = prediction.score_predictions(
        {"uniform": uniform, "perfect": perfect, "wrong": wrong}, sets, baseline="uniform",
        resamples=200,
    ).set_index(["predictor", "metric"])  # fmt: skip
    assert table.loc[("perfect", "accuracy"), "value"] == 1.0
    assert table.loc[("perfect", "log_loss"), "value"] == pytest.approx(0.0, abs=1e-9)
    assert table.loc[("perfect", "brier"), "value"] == pytest.approx(0.0, abs=1e-9)
    chance = table.loc[("uniform", "accuracy"), "chance_accuracy"]
    assert table.loc[("uniform", "accuracy"), "value"] == pytest.approx(chance)
    assert table.loc[("wrong", "accuracy"), "value"] == 0.0
    assert table.loc[("wrong", "log_loss"), "difference_lower"] > 0
    row = table.loc[("uniform", "log_loss")]
    assert row["ci_lower"] <= row["value"] <= row["ci_upper"]


def test_population_and_user_methods_need_the_right_fit(small_release: Path) -> None:
    sets = _sets(small_release)
    fit = profiles.ProfileFit(idata=None, sets=sets, slopes=False, covariates=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a profile fitted with covariates"):
        prediction.predict(fit, sets, "covariates")
    with pytest.raises(ValueError, match="needs a profile fitted with random slopes"):
        prediction.predict(fit, sets, "user")


def test_synthetic_profiles_are_planted_and_chosen_has_the_top_score(tmp_path: Path) -> None:
    truth = synthesize(tmp_path, users=40, seed=2, profiles=True)
    planted = truth["profiles"]
    assert len(planted["users"]) == 40
    assert set(planted["population"]) == set(PREDICTORS)
    correlation = np.array(planted["correlation"])
    assert np.allclose(correlation, correlation.T)
    assert np.all(np.linalg.eigvalsh(correlation) > 0)
    assert set(truth["expected"]) == {"mirroring"}
    data = load_prism(tmp_path)
    responses = data.responses
    top = responses.groupby("conversation_id")["score"].transform("max")
    assert (responses.loc[responses["chosen"], "score"] == top[responses["chosen"]]).all()


# ---- recovery of planted per-user slopes (real sampling) ---------------------------------


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("prism_profiles")
    truth = synthesize(directory, users=300, seed=11, profiles=True)
    sets = _sets(directory)
    split = prediction.holdout_split(sets, last=2, cold_share=0.2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = profiles.fit_profiles(
            split.train, SamplerOptions(draws=300, tune=300, chains=2, seed=1), covariates=True
        )
    return {"truth": truth["profiles"], "raw_truth": truth, "sets": sets, "split": split,
            "fit": fit}  # fmt: skip


def _covered(lower: Any, upper: Any, true: Any) -> Any:
    return (np.asarray(lower) <= true) & (true <= np.asarray(upper))


def test_per_user_intervals_cover_the_planted_weights(planted: dict[str, Any]) -> None:
    table = profiles.user_profiles(planted["fit"])
    users = planted["truth"]["users"]
    true = np.array([users[u][a] for u, a in zip(table["user_id"], table["attribute"],
                                                 strict=True)])  # fmt: skip
    coverage = _covered(table["lower"], table["upper"], true).mean()
    assert 0.85 <= coverage <= 0.95, coverage
    # Intervals narrow as a user's conversations accumulate (the data inform them).
    width = table["upper"] - table["lower"]
    few, many = table["conversations"] <= 2, table["conversations"] >= 4
    assert width[many].mean() < width[few].mean()


def test_population_sds_correlations_and_weights_are_recovered(planted: dict[str, Any]) -> None:
    summary = profiles.population_summary(planted["fit"])
    truth = planted["truth"]
    sd = np.array([truth["sd"][a] for a in PREDICTORS])
    assert _covered(summary["sd"]["lower"], summary["sd"]["upper"], sd).sum() >= 6
    weight = np.array([truth["population"][a] for a in PREDICTORS])
    assert _covered(summary["weight"]["lower"], summary["weight"]["upper"], weight).sum() >= 6
    correlation = np.array(truth["correlation"])
    pairs = np.triu_indices(len(PREDICTORS), 1)
    covered = _covered(summary["correlation"]["lower"], summary["correlation"]["upper"],
                       correlation)[pairs]  # fmt: skip
    assert covered.sum() >= 17, covered.sum()
    # The values-minded weigh curiosity more and reasoning less (planted +4 / -5).
    high_values = list(planted["fit"].sets.covariate_names).index("high_values")
    lower = np.array(summary["covariate_weight"]["lower"])[high_values]
    upper = np.array(summary["covariate_weight"]["upper"])[high_values]
    assert lower[PREDICTORS.index("CURIOSITY")] > 0
    assert upper[PREDICTORS.index("REASONING_NUANCE")] < 0


def test_per_user_prediction_beats_the_population_by_the_planted_margin(
    planted: dict[str, Any],
) -> None:
    fit, split = planted["fit"], planted["split"]
    oracle = prediction.oracle_hyper(planted["raw_truth"], planted["sets"])
    predictions = {
        "covariates": prediction.predict(fit, split.warm, "covariates"),
        "user": prediction.predict(fit, split.warm, "user"),
        "population": prediction.predict(fit, split.warm, "population"),
        "oracle covariates": prediction.updated_predict(
            oracle, prediction._empty_like(split.train), split.warm, samples=1000
        ),
        "oracle user": prediction.updated_predict(oracle, split.train, split.warm, samples=1000),
    }
    table = prediction.score_predictions(
        predictions, split.warm, baseline="covariates", resamples=500
    ).set_index(["predictor", "metric"])
    # Per-user weights beat the population, with an interval that excludes no gain.
    population = prediction.score_predictions(
        {"population": predictions["population"], "user": predictions["user"]}, split.warm,
        resamples=500,
    ).set_index(["predictor", "metric"])  # fmt: skip
    assert population.loc[("user", "log_loss"), "difference_upper"] < 0
    assert population.loc[("user", "accuracy"), "difference"] > 0
    # And the gain from a user's own choices, beyond the covariates, is at least half of
    # what an oracle that knows the planted population distribution gets from them.
    gain = -table.loc[("user", "log_loss"), "difference"]
    available = -(
        table.loc[("oracle user", "log_loss"), "value"]
        - table.loc[("oracle covariates", "log_loss"), "value"]
    )
    assert available > 0
    assert gain >= 0.5 * available, (gain, available)


def test_learning_curve_rises_and_its_update_matches_the_sampler(planted: dict[str, Any]) -> None:
    fit, split = planted["fit"], planted["split"]
    hyper = prediction.Hyper.from_fit(fit)
    curve = prediction.learning_curve(hyper, split.train, split.warm, resamples=200)
    log_loss = curve[curve["metric"] == "log_loss"].set_index("observed")["value"]
    assert list(log_loss.index) == [0, 1, 2, 4, "all"]
    assert log_loss["all"] < log_loss[0]
    # Importance sampling from the population, given all training conversations, agrees
    # with the MCMC posterior of each user's weights.
    updated = prediction.updated_predict(hyper, split.train, split.warm)
    sampled = prediction.predict(fit, split.warm, "user")
    assert np.abs(updated - sampled)[split.warm.available].mean() < 0.03
