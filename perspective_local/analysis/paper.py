"""The paper's published estimates (Tables 2-4 of Kyrychenko et al. 2025), as package data.

``paper_tables.csv`` beside this module holds one row per published coefficient with the
same columns as our ``coefficients.csv`` plus ``direction``, transcribed from the paper's
tables (see ``shared/docs/paper_methods.md`` section 4). Reports read it to put our
estimates beside the published ones, and to test each coefficient in the paper's direction.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from perspective_local.analysis.hypotheses import Direction

if TYPE_CHECKING:
    import pandas as pd

TABLE_FILE = "paper_tables.csv"
#: The paper's ELPD-LOO difference, model with vs without the LLM random effect.
ELPD_DIFF_LLM = 504.9
ELPD_DIFF_LLM_SE = 30.5


@cache
def _table() -> pd.DataFrame:
    import pandas as pd

    with resources.files(__package__).joinpath(TABLE_FILE).open(encoding="utf-8") as handle:
        # keep_default_na=False: an empty star is "no star", not a missing value.
        table = pd.read_csv(handle, keep_default_na=False, na_values={"estimate": []})
    return table


def paper_table() -> pd.DataFrame:
    """All published coefficients (a copy, safe to modify)."""
    return _table().copy()


def paper_directions(analysis: str) -> dict[str, Direction]:
    """The hypothesis direction the paper uses for each term of ``analysis``."""
    table = _table()
    rows = table[table["analysis"] == analysis]
    return {str(t): d for t, d in zip(rows["term"], rows["direction"], strict=True)}
