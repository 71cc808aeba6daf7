"""Reranking candidates by a profile, from Python and through the CLI (``rank``, ``profiles``).

The CLI test at the end runs ``profiles`` for real (tiny draws) on a synthetic release with
planted profiles, then ranks candidates with the folder it wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from perspective_local.analysis import ranking
from perspective_local.analysis.terms import PREDICTORS, REQUIRED_PERSPECTIVE
from perspective_local.cli import app

runner = CliRunner()


def _scores(**study: float) -> dict[str, float]:
    """Perspective probabilities whose study attributes are ``study`` (others 0.1)."""
    values = {name: 0.1 for name in REQUIRED_PERSPECTIVE}
    for name, value in study.items():
        if name == "REASONING_NUANCE":
            values["REASONING_EXPERIMENTAL"] = values["NUANCE_EXPERIMENTAL"] = value**0.5
        elif name == "TOXICITY":
            values["TOXICITY"] = value
        else:
            values[f"{name}_EXPERIMENTAL"] = value
    return values


@pytest.fixture
def profile_dir(tmp_path: Path) -> Path:
    """A profile folder written by hand: 'reasoner' likes reasoning, 'storyteller' stories."""
    import pandas as pd

    weights = {
        "reasoner": dict.fromkeys(PREDICTORS, 0.0) | {"REASONING_NUANCE": 5.0},
        "storyteller": dict.fromkeys(PREDICTORS, 0.0) | {"PERSONAL_STORY": 5.0},
    }
    rows = [{"user_id": u, "attribute": a, "mean": w, "sd": 1.0, "lower": w - 1, "upper": w + 1,
             "conversations": 5} for u, ws in weights.items() for a, w in ws.items()]  # fmt: skip
    pd.DataFrame(rows).to_parquet(tmp_path / ranking.PROFILES_FILE)
    population = dict.fromkeys(PREDICTORS, 0.0) | {"TOXICITY": -5.0}
    (tmp_path / ranking.POPULATION_FILE).write_text(
        json.dumps(
            {
                "attributes": list(PREDICTORS),
                "weight": {"mean": [population[a] for a in PREDICTORS]},
            }
        )
    )
    return tmp_path


CANDIDATES = [
    {"text": "A careful argument.", "group": "q1", "scores": _scores(REASONING_NUANCE=0.8)},
    {"text": "When I was young...", "group": "q1", "scores": _scores(PERSONAL_STORY=0.9)},
    {"text": "You fool.", "group": "q1", "scores": _scores(TOXICITY=0.9)},
]


def test_each_user_gets_their_own_order_and_probabilities_sum_to_one(profile_dir: Path) -> None:
    book = ranking.load_profiles(profile_dir)
    for user, best in (("reasoner", "A careful argument."), ("storyteller", "When I was young...")):
        ranked = ranking.rank(book, CANDIDATES, user_id=user)
        assert ranked[0]["text"] == best
        assert [r["rank"] for r in ranked] == [1, 2, 3]
        assert sum(r["probability"] for r in ranked) == pytest.approx(1.0)
        assert all(r["user_id"] == user for r in ranked)
    population = ranking.rank(book, CANDIDATES)
    assert population[-1]["text"] == "You fool."
    assert population[0]["utility"] == pytest.approx(-5.0 * 0.1)


def test_groups_are_ranked_separately_and_scorer_fills_missing_scores(profile_dir: Path) -> None:
    book = ranking.load_profiles(profile_dir)
    asked: list[list[str]] = []

    def scorer(texts: Any) -> list[dict[str, float]]:
        asked.append(list(texts))
        return [_scores(REASONING_NUANCE=0.9) for _ in texts]

    candidates = [*CANDIDATES, {"text": "Unscored but reasoned.", "group": "q2"},
                  {"text": "Another.", "group": "q2", "scores": _scores()}]  # fmt: skip
    ranked = ranking.rank(book, candidates, user_id="reasoner", scorer=scorer)
    assert asked == [["Unscored but reasoned."]]
    q2 = [r for r in ranked if r["group"] == "q2"]
    assert [r["text"] for r in q2] == ["Unscored but reasoned.", "Another."]
    assert sum(r["probability"] for r in q2) == pytest.approx(1.0)
    utility = ranking.study_attributes(_scores(REASONING_NUANCE=0.9)) @ np.eye(7)[4] * 5.0
    assert q2[0]["utility"] == pytest.approx(float(utility))


@pytest.mark.parametrize(
    ("candidates", "kwargs", "message"),
    [
        ([], {}, "no candidates"),
        ([{"group": "q"}], {}, "candidate 1: field 'text'"),
        ([{"text": "   "}], {}, "candidate 1: field 'text'"),
        ([{"text": "x", "scores": "high"}], {}, "field 'scores': expected an object"),
        ([{"text": "x"}], {}, "have no 'scores'"),
        ([{"text": "x", "scores": {"TOXICITY": 0.5}}], {}, "scores.AFFINITY_EXPERIMENTAL"),
        ([{"text": "x", "scores": _scores()}], {"user_id": "nobody"}, "'nobody' has no profile"),
    ],
)
def test_bad_candidates_and_unknown_users_get_clear_errors(
    profile_dir: Path, candidates: list[dict[str, Any]], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ranking.ProfileError, match=message):
        ranking.rank(ranking.load_profiles(profile_dir), candidates, **kwargs)


def test_unknown_user_can_fall_back_to_the_population(profile_dir: Path) -> None:
    book = ranking.load_profiles(profile_dir)
    ranked = ranking.rank(book, CANDIDATES, user_id="nobody", strict=False)
    assert ranked[-1]["text"] == "You fool."


def test_missing_or_broken_profile_folders_are_named(tmp_path: Path, profile_dir: Path) -> None:
    with pytest.raises(ranking.ProfileError, match=r"user_profiles\.parquet not found"):
        ranking.load_profiles(tmp_path / "none")
    (profile_dir / ranking.POPULATION_FILE).write_text("{not json")
    with pytest.raises(ranking.ProfileError, match="not a readable profile"):
        ranking.load_profiles(profile_dir)


def test_rank_cli_errors_are_one_line_and_nonzero(tmp_path: Path, profile_dir: Path) -> None:
    candidates = tmp_path / "candidates.jsonl"
    candidates.write_text(json.dumps(CANDIDATES[0]) + "\n{broken\n")
    result = runner.invoke(app, ["rank", str(candidates), "--profiles", str(profile_dir)])
    assert result.exit_code != 0
    assert "candidates.jsonl line 2: invalid JSON" in result.output
    result = runner.invoke(app, ["rank", str(tmp_path / "missing.jsonl"), "--profiles",
                                 str(profile_dir)])  # fmt: skip
    assert result.exit_code != 0 and "does not exist" in result.output
    candidates.write_text(json.dumps(CANDIDATES[0]) + "\n")
    result = runner.invoke(app, ["rank", str(candidates), "--profiles", str(profile_dir),
                                 "--user", "ghost"])  # fmt: skip
    assert result.exit_code != 0 and "'ghost' has no profile" in result.output
    assert "Traceback" not in result.output


def test_profiles_cli_rejects_bad_holdout_settings(small_release: Path, tmp_path: Path) -> None:
    for flag, value, message in (("--holdout-last", "0", "--holdout-last must be at least 1"),
                                 ("--cold-share", "1.5", "--cold-share must be in")):  # fmt: skip
        result = runner.invoke(app, ["profiles", "--prism-dir", str(small_release), "--out",
                                     str(tmp_path / "out"), flag, value])  # fmt: skip
        assert result.exit_code != 0
        assert message in result.output


def test_profiles_then_rank_end_to_end(tmp_path: Path) -> None:
    """The real commands: fit (tiny draws), evaluate, write, then rank from the folder."""
    from perspective_local.analysis.synth import synthesize

    prism = tmp_path / "prism"
    synthesize(prism, users=60, seed=4, profiles=True)
    out = tmp_path / "profiles"
    result = runner.invoke(app, [
        "profiles", "--prism-dir", str(prism), "--scores", str(prism / "scores.jsonl"),
        "--out", str(out), "--draws", "60", "--tune", "60", "--chains", "1",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("user_profiles.parquet", "population.json", "loo.csv", "prediction.csv",
                 "learning_curve.csv", "profiles.md", "figures/profiles.png",
                 "figures/learning_curve.png"):  # fmt: skip
        assert (out / name).is_file(), name
    import pandas as pd

    prediction = pd.read_csv(out / "prediction.csv")
    assert set(prediction["start"]) == {"warm", "cold"}
    assert {"population", "user", "user shrunk to covariates", "covariates"} <= set(
        prediction["predictor"]
    )
    assert "## Learning curve" in (out / "profiles.md").read_text()
    # 60 draws cannot reach the ESS threshold: the run says so, and so does the report.
    convergence = json.loads((out / "population.json").read_text())["convergence"]
    assert any("< 400" in p for p in convergence["problems"]), convergence
    assert "WARNING" in result.output
    assert "**Warning:**" in (out / "profiles.md").read_text()
    user = str(pd.read_parquet(out / "user_profiles.parquet")["user_id"].iloc[0])
    candidates = tmp_path / "candidates.jsonl"
    candidates.write_text("".join(json.dumps(c) + "\n" for c in CANDIDATES))
    ranked_path = tmp_path / "ranked.jsonl"
    result = runner.invoke(app, ["rank", str(candidates), "--profiles", str(out), "--user", user,
                                 "--output", str(ranked_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    ranked = [json.loads(line) for line in ranked_path.read_text().splitlines()]
    assert sorted(r["rank"] for r in ranked) == [1, 2, 3]
    assert all(r["user_id"] == user for r in ranked)
