"""brms-style hypothesis rows and convergence checks on known draws."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from perspective_local.analysis.hypotheses import (
    convergence_problems,
    hypothesis,
    star,
)


def test_evidence_ratio_and_posterior_probability() -> None:
    # The paper's 3,972 of 4,000 draws: evidence ratio 141.857, posterior probability .993.
    draws = np.r_[np.full(3972, 0.5), np.full(28, -0.5)]
    row = hypothesis(draws, ">")
    assert row["evid_ratio"] == pytest.approx(3972 / 28)
    assert row["post_prob"] == pytest.approx(0.993)
    assert row["star"] == "*"
    flipped = hypothesis(draws, "<")
    assert flipped["evid_ratio"] == pytest.approx(28 / 3972)
    assert flipped["star"] == ""


def test_all_draws_give_infinite_ratio() -> None:
    row = hypothesis(np.linspace(1, 2, 4000), ">")
    assert math.isinf(row["evid_ratio"])
    assert row["post_prob"] == 1.0


def test_interval_is_5_and_95_percent_quantiles() -> None:
    draws = np.random.default_rng(0).normal(1.036, 0.090, 400_000)
    row = hypothesis(draws, ">")
    # The paper's 1.036 (0.090) -> [0.888, 1.185].
    assert row["ci_lower"] == pytest.approx(0.888, abs=0.002)
    assert row["ci_upper"] == pytest.approx(1.184, abs=0.002)
    assert row["estimate"] == pytest.approx(1.036, abs=0.001)
    assert row["est_error"] == pytest.approx(0.090, abs=0.001)


@pytest.mark.parametrize(
    ("ratio", "mark"), [(101, "*"), (100, "†"), (10.5, "†"), (10, ""), (math.inf, "*")]
)
def test_star_rule(ratio: float, mark: str) -> None:
    assert star(ratio) == mark


def test_convergence_problems_are_described() -> None:
    table = pd.DataFrame(
        {
            "parameter": ["b[0]", "sd_user"],
            "r_hat": [1.0, 1.05],
            "ess_bulk": [2000, 150],
            "ess_tail": [1500, 900],
        }
    )
    table.attrs["divergences"] = 3
    problems = convergence_problems(table)
    assert any("R-hat" in p and "sd_user" in p for p in problems)
    assert any("ess_bulk" in p for p in problems)
    assert "3 divergent transitions" in problems
    healthy = table.iloc[:1].copy()
    healthy.attrs["divergences"] = 0
    assert convergence_problems(healthy) == []
