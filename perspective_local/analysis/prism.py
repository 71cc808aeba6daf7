"""Load the released PRISM files, check them against the documented schema, build tidy tables.

``load_prism(directory)`` reads ``conversations.jsonl`` and ``survey.jsonl`` (required) and
``utterances.jsonl`` / ``metadata.jsonl`` (optional) and returns a :class:`PrismData` with

* ``responses``: one row per opening-turn (turn 0) model response: ids, conversation type,
  when the conversation ended (``finished_at``, PRISM's ``generated_datetime``),
  LLM, score, the chosen / highest flags, the opening prompt and the response text;
* ``users``: one row per participant with the analysis-2 moderators as nullable booleans
  (``<NA>`` where the participant answered "Prefer not to say");
* ``report``: counts of everything dropped or odd, so nothing disappears silently.

Schema problems raise :class:`PrismSchemaError`, naming the file, line and field of each.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from perspective_local.analysis.terms import CONVERSATION_TYPES

if TYPE_CHECKING:
    import pandas as pd

#: PRISM's sentinel for an empty text (user or model content).
EMPTY_TEXT = "EMPTY STRING"
#: The answer the moderation analysis drops.
PREFER_NOT = "Prefer not to say"
AGE_BANDS_YOUNGER = ("18-24 years old", "25-34 years old", "35-44 years old")
AGE_BANDS_OLDER = ("45-54 years old", "55-64 years old", "65+ years old")
#: ``high_values`` is ``stated_prefs.values > HIGH_VALUES_CUTOFF`` (the paper: "above 50").
HIGH_VALUES_CUTOFF = 50
#: How many schema problems one error message lists before it stops reading.
MAX_REPORTED_PROBLEMS = 20

HighestRule = Literal["chosen", "max"]


class PrismSchemaError(ValueError):
    """One or more PRISM records do not match the documented schema."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = "" if len(problems) < MAX_REPORTED_PROBLEMS else "\n  (stopped after this many)"
        super().__init__("PRISM files do not match the schema:\n  " + "\n  ".join(problems) + more)


@dataclass
class LoadReport:
    """What the loader dropped, repaired or noticed, as counts with reasons."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str, n: int = 1) -> None:
        if n:
            self.counts[reason] += n

    def lines(self) -> list[str]:
        return [f"{reason}: {n}" for reason, n in sorted(self.counts.items())]


@dataclass
class PrismData:
    """The tidy tables the analyses use, plus what was skipped on the way."""

    responses: pd.DataFrame
    users: pd.DataFrame
    report: LoadReport
    files: dict[str, str]


class _Checker:
    """Collects schema problems for one file, each tagged with line and field."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems
        self.line = 0

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{self.file} line {self.line}: field '{where}': {message}")
        if len(self.problems) >= MAX_REPORTED_PROBLEMS:
            raise PrismSchemaError(self.problems)

    def get(
        self, record: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str = ""
    ) -> Any:
        name = f"{where}{key}"
        if key not in record or record[key] is None:
            self.fail(name, "missing")
            return None
        value = record[key]
        # bool is an int subclass: reject it where an int is wanted, and vice versa.
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            self.fail(
                name, f"expected {_kind_name(kind)}, got {type(value).__name__} {value!r:.40}"
            )
            return None
        return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def _records(path: Path, checker: _Checker) -> Iterator[dict[str, Any]]:
    """Yield the objects of a JSONL file; bare ``NaN`` tokens become ``None``."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            checker.line = number
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                checker.fail("<line>", f"not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(record, dict):
                checker.fail("<line>", f"expected a JSON object, got {type(record).__name__}")
                continue
            yield _nan_to_none(record)


def _require(directory: Path, name: str) -> Path:
    path = directory / name
    if not path.is_file():
        present = sorted(p.name for p in directory.glob("*.jsonl")) if directory.is_dir() else []
        raise FileNotFoundError(
            f"PRISM file {name} not found in {directory} "
            f"(found: {', '.join(present) or 'no .jsonl files'})"
        )
    return path


def _score(checker: _Checker, item: dict[str, Any], where: str) -> int | None:
    value = checker.get(item, "score", (int, float), where)
    if value is None:
        return None
    if float(value) != int(value) or not 1 <= value <= 100:
        checker.fail(f"{where}score", f"expected an integer 1-100, got {value!r}")
        return None
    return int(value)


def _conversation_rows(
    record: dict[str, Any], checker: _Checker, report: LoadReport
) -> list[dict[str, Any]]:
    """Validate one conversation and return its opening-turn response rows."""
    conversation_id = checker.get(record, "conversation_id", str)
    user_id = checker.get(record, "user_id", str)
    conversation_type = checker.get(record, "conversation_type", str)
    history = checker.get(record, "conversation_history", list)
    # When the conversation ended; optional, it orders a participant's conversations.
    finished_at = record.get("generated_datetime")
    if finished_at is not None and not isinstance(finished_at, str):
        checker.fail("generated_datetime", f"expected str, got {type(finished_at).__name__}")
        finished_at = None
    if conversation_type is not None and conversation_type not in CONVERSATION_TYPES:
        checker.fail(
            "conversation_type",
            f"unknown value {conversation_type!r}; expected one of {sorted(CONVERSATION_TYPES)}",
        )
    if history is None:
        return []
    opening: str | None = None
    rows: list[dict[str, Any]] = []
    chosen_per_turn: Counter[int] = Counter()
    for position, item in enumerate(history):
        where = f"conversation_history[{position}]."
        if not isinstance(item, dict):
            checker.fail(where.rstrip("."), "expected an object")
            continue
        turn = checker.get(item, "turn", int, where)
        role = checker.get(item, "role", str, where)
        content = checker.get(item, "content", str, where)
        if role not in (None, "user", "model"):
            checker.fail(f"{where}role", f"expected 'user' or 'model', got {role!r}")
        if role == "user" and turn == 0:
            opening = content
        if role != "model":
            continue
        model_name = checker.get(item, "model_name", str, where)
        score = _score(checker, item, where)
        chosen = checker.get(item, "if_chosen", bool, where)
        if turn is None or chosen is None:
            continue
        chosen_per_turn[turn] += int(chosen)
        if turn == 0:
            rows.append(
                {
                    "conversation_id": conversation_id,
                    "user_id": user_id,
                    "conversation_type": conversation_type,
                    "finished_at": finished_at,
                    "model_name": model_name,
                    "within_turn_id": item.get("within_turn_id"),
                    "score": score,
                    "chosen": chosen,
                    "response": content,
                }
            )
    if opening is None:
        checker.fail("conversation_history", "no turn-0 user item (the opening prompt)")
    elif record.get("opening_prompt") not in (None, opening):
        report.add("conversations whose opening_prompt differs from history[0] (history used)")
    if not rows:
        checker.fail("conversation_history", "no turn-0 model responses")
    # Later turns may legitimately have 0, 1 or 2 chosen rows (identical A/B texts): count only.
    report.add(
        "later turns with two chosen responses (kept as released; not used)",
        sum(1 for turn, n in chosen_per_turn.items() if turn > 0 and n > 1),
    )
    for row in rows:
        row["prompt"] = opening
    return rows


def _survey_row(record: dict[str, Any], checker: _Checker) -> dict[str, Any]:
    user_id = checker.get(record, "user_id", str)
    age = checker.get(record, "age", str)
    gender = checker.get(record, "gender", str)
    ethnicity = checker.get(record, "ethnicity", dict)
    prefs = checker.get(record, "stated_prefs", dict)
    simplified = checker.get(ethnicity, "simplified", str, "ethnicity.") if ethnicity else None
    values = checker.get(prefs, "values", (int, float), "stated_prefs.") if prefs else None
    if age is not None and age not in (*AGE_BANDS_YOUNGER, *AGE_BANDS_OLDER, PREFER_NOT):
        checker.fail("age", f"unknown age band {age!r}")
    if values is not None and not 0 <= values <= 100:
        checker.fail("stated_prefs.values", f"expected 0-100, got {values!r}")
    return {
        "user_id": user_id,
        "age": age,
        "gender": gender,
        "ethnicity": simplified,
        "values_pref": values,
    }


def _moderators(users: pd.DataFrame) -> pd.DataFrame:
    """Add the analysis-2 moderators; "Prefer not to say" becomes ``<NA>``."""
    import pandas as pd

    def flag(column: str, true_when: pd.Series) -> pd.Series:
        result = pd.Series(true_when, dtype="boolean")
        result[users[column] == PREFER_NOT] = pd.NA
        return result

    users = users.copy()
    users["younger"] = flag("age", users["age"].isin(AGE_BANDS_YOUNGER))
    users["male"] = flag("gender", users["gender"] == "Male")
    users["white"] = flag("ethnicity", users["ethnicity"] == "White")
    users["high_values"] = pd.Series(users["values_pref"] > HIGH_VALUES_CUTOFF, dtype="boolean")
    return users


def _non_english_openings(directory: Path, report: LoadReport) -> set[str] | None:
    """Conversations whose opening prompt metadata flags as not English, if the files allow."""
    metadata = directory / "metadata.jsonl"
    utterances = directory / "utterances.jsonl"
    if not metadata.is_file() or not utterances.is_file():
        report.add("English filter not applied (needs metadata.jsonl and utterances.jsonl)")
        return None
    problems: list[str] = []
    checker = _Checker("utterances.jsonl", problems)
    opening_interactions: dict[str, str] = {}
    for record in _records(utterances, checker):
        interaction = checker.get(record, "interaction_id", str)
        conversation = checker.get(record, "conversation_id", str)
        turn = checker.get(record, "turn", int)
        if turn == 0 and interaction is not None and conversation is not None:
            opening_interactions[interaction] = conversation
    checker = _Checker("metadata.jsonl", problems)
    dropped: set[str] = set()
    for record in _records(metadata, checker):
        column = checker.get(record, "column_id", str)
        if column != "user_prompt":
            continue
        en_flag = checker.get(record, "en_flag", bool)
        interaction = record.get("interaction_id")
        if en_flag is False and interaction in opening_interactions:
            dropped.add(opening_interactions[interaction])
    if problems:
        raise PrismSchemaError(problems)
    return dropped


def load_prism(
    directory: str | Path,
    *,
    highest: HighestRule = "chosen",
    english_only: bool = True,
) -> PrismData:
    """Read and validate a PRISM release directory into tidy tables.

    ``highest="chosen"`` takes PRISM's ``if_chosen`` (exactly one per opening turn, ties
    broken at random by PRISM); ``"max"`` marks every response whose score equals the
    turn's maximum, so ties give several. ``english_only`` drops conversations whose opening
    prompt ``metadata.jsonl`` flags as not English (the paper's filter is unstated; this is
    our reading), and is a counted no-op when the metadata or utterances are absent.
    """
    import pandas as pd

    directory = Path(directory)
    conversations_path = _require(directory, "conversations.jsonl")
    survey_path = _require(directory, "survey.jsonl")
    report = LoadReport()
    problems: list[str] = []

    checker = _Checker("survey.jsonl", problems)
    users_rows = [_survey_row(record, checker) for record in _records(survey_path, checker)]
    checker = _Checker("conversations.jsonl", problems)
    rows: list[dict[str, Any]] = []
    seen_conversations: set[str] = set()
    for record in _records(conversations_path, checker):
        new_rows = _conversation_rows(record, checker, report)
        conversation_id = record.get("conversation_id")
        if conversation_id in seen_conversations:
            checker.fail("conversation_id", f"duplicate id {conversation_id!r}")
        seen_conversations.add(str(conversation_id))
        rows.extend(new_rows)
    if problems:
        raise PrismSchemaError(problems)

    users = pd.DataFrame(users_rows)
    if users.empty:
        raise PrismSchemaError([f"survey.jsonl: no participants in {survey_path}"])
    duplicated = users["user_id"].duplicated()
    if duplicated.any():
        raise PrismSchemaError(
            [f"survey.jsonl: duplicate user_id {u!r}" for u in users["user_id"][duplicated][:5]]
        )
    responses = pd.DataFrame(rows)
    if responses.empty:
        raise PrismSchemaError([f"conversations.jsonl: no opening-turn responses in {directory}"])

    unknown_users = ~responses["user_id"].isin(users["user_id"])
    if unknown_users.any():
        raise PrismSchemaError(
            [
                f"conversations.jsonl: user_id {u!r} has no survey.jsonl row"
                for u in responses.loc[unknown_users, "user_id"].unique()[:5]
            ]
        )

    if english_only:
        non_english = _non_english_openings(directory, report)
        if non_english:
            drop = responses["conversation_id"].isin(non_english)
            report.add("conversations dropped: opening prompt not English", len(non_english))
            report.add("responses dropped: opening prompt not English", int(drop.sum()))
            responses = responses[~drop]

    responses = _flag_highest(responses, highest, report)
    responses["subset"] = responses["conversation_type"].map(CONVERSATION_TYPES)
    responses["empty_prompt"] = responses["prompt"] == EMPTY_TEXT
    responses["empty_response"] = responses["response"] == EMPTY_TEXT
    report.add("opening responses that are EMPTY STRING", int(responses["empty_response"].sum()))
    report.add(
        "conversations whose opening prompt is EMPTY STRING",
        int(responses.loc[responses["empty_prompt"], "conversation_id"].nunique()),
    )
    files = {p.name: str(p) for p in sorted(directory.glob("*.jsonl")) if p.name != "scores.jsonl"}
    return PrismData(responses.reset_index(drop=True), _moderators(users), report, files)


def _flag_highest(responses: pd.DataFrame, rule: HighestRule, report: LoadReport) -> pd.DataFrame:
    responses = responses.copy()
    by_conversation = responses.groupby("conversation_id")
    top = by_conversation["score"].transform("max")
    responses["top_score"] = responses["score"] == top
    chosen_counts = by_conversation["chosen"].transform("sum")
    report.add(
        "opening turns whose chosen count is not 1 (highest taken from scores)",
        int(responses.loc[chosen_counts != 1, "conversation_id"].nunique()),
    )
    ties = by_conversation["top_score"].transform("sum") > 1
    report.add(
        "opening turns with a tie for the top score",
        int(responses.loc[ties, "conversation_id"].nunique()),
    )
    if rule == "chosen":
        responses["highest"] = responses["chosen"].where(chosen_counts == 1, responses["top_score"])
    else:
        responses["highest"] = responses["top_score"]
    responses["highest"] = responses["highest"].astype(bool)
    responses["n_options"] = by_conversation["score"].transform("size")
    report.add(
        "opening turns with a single response (no choice; kept)",
        int(responses.loc[responses["n_options"] == 1, "conversation_id"].nunique()),
    )
    return responses
