"""The PRISM loader: tidy tables from a synthetic release, and clear errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perspective_local.analysis.prism import PrismSchemaError, load_prism


def _rewrite(path: Path, edit: callable) -> None:  # type: ignore[valid-type]
    records = [json.loads(line) for line in path.read_text().splitlines()]
    edit(records)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_tables_from_a_release(small_release: Path) -> None:
    truth = json.loads((small_release / "truth.json").read_text())
    data = load_prism(small_release)
    responses = data.responses
    assert len(responses) == truth["opening_responses"]
    assert responses["conversation_id"].nunique() == truth["conversations"]
    for column in ("user_id", "conversation_id", "conversation_type", "model_name", "score",
                   "chosen", "highest", "prompt", "response", "subset"):  # fmt: skip
        assert column in responses
    assert responses.groupby("conversation_id")["highest"].sum().eq(1).all()
    assert responses["score"].between(1, 100).all()
    assert set(responses["subset"]) <= {"unguided", "values", "controversy"}
    # the chosen response has the top score (ties broken at random, as in PRISM)
    chosen = responses[responses["highest"]]
    top = responses.groupby("conversation_id")["score"].max()
    assert (
        chosen.set_index("conversation_id")["score"] == top[chosen["conversation_id"]].values
    ).all()


def test_moderators_and_prefer_not_to_say(small_release: Path) -> None:
    users = load_prism(small_release).users
    prefer_not = users["age"] == "Prefer not to say"
    assert users.loc[prefer_not, "younger"].isna().all()
    assert users.loc[users["age"] == "18-24 years old", "younger"].all()
    assert users.loc[users["age"] == "65+ years old", "younger"].eq(False).all()
    assert users.loc[users["values_pref"] > 50, "high_values"].all()
    assert users.loc[users["values_pref"] == 50, "high_values"].eq(False).all()
    assert users.loc[users["gender"] == "Male", "male"].all()


def test_quirks_are_counted(small_release: Path) -> None:
    report = load_prism(small_release).report.counts
    assert report["later turns with two chosen responses (kept as released; not used)"] > 0
    assert any("EMPTY STRING" in reason for reason in report)


def test_missing_file_names_it(release_copy: Path) -> None:
    (release_copy / "survey.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match=r"survey\.jsonl not found"):
        load_prism(release_copy)


def test_bad_json_names_file_and_line(release_copy: Path) -> None:
    path = release_copy / "conversations.jsonl"
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:-5]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(PrismSchemaError, match=r"conversations\.jsonl line 3: .*not valid JSON"):
        load_prism(release_copy)


def test_unknown_conversation_type(release_copy: Path) -> None:
    def edit(records: list[dict]) -> None:  # type: ignore[type-arg]
        records[4]["conversation_type"] = "free chat"

    _rewrite(release_copy / "conversations.jsonl", edit)
    with pytest.raises(PrismSchemaError, match=r"line 5: field 'conversation_type': unknown value"):
        load_prism(release_copy)


def test_wrong_field_type_names_the_field(release_copy: Path) -> None:
    def edit(records: list[dict]) -> None:  # type: ignore[type-arg]
        records[0]["conversation_history"][1]["score"] = "high"
        del records[1]["conversation_history"][2]["if_chosen"]

    _rewrite(release_copy / "conversations.jsonl", edit)
    with pytest.raises(PrismSchemaError) as info:
        load_prism(release_copy)
    message = str(info.value)
    assert "line 1: field 'conversation_history[1].score': expected int or float" in message
    assert "line 2: field 'conversation_history[2].if_chosen': missing" in message


def test_survey_schema(release_copy: Path) -> None:
    def edit(records: list[dict]) -> None:  # type: ignore[type-arg]
        records[3]["stated_prefs"]["values"] = 140
        records[5]["age"] = "ancient"

    _rewrite(release_copy / "survey.jsonl", edit)
    with pytest.raises(PrismSchemaError) as info:
        load_prism(release_copy)
    assert "survey.jsonl line 4: field 'stated_prefs.values'" in str(info.value)
    assert "survey.jsonl line 6: field 'age': unknown age band" in str(info.value)


def test_non_english_openings_are_dropped_and_counted(release_copy: Path) -> None:
    before = load_prism(release_copy).responses
    opening = {}
    for line in (release_copy / "utterances.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["conversation_id"] == "c3" and row["turn"] == 0:
            opening = row

    def edit(records: list[dict]) -> None:  # type: ignore[type-arg]
        for record in records:
            if (
                record["column_id"] == "user_prompt"
                and record["interaction_id"] == opening["interaction_id"]
            ):
                record["en_flag"] = False
                record["language_flag"] = "de"

    _rewrite(release_copy / "metadata.jsonl", edit)
    data = load_prism(release_copy)
    assert "c3" not in set(data.responses["conversation_id"])
    assert len(data.responses) == len(before) - (before["conversation_id"] == "c3").sum()
    assert data.report.counts["conversations dropped: opening prompt not English"] == 1
    assert len(load_prism(release_copy, english_only=False).responses) == len(before)


def test_metadata_nan_tokens_parse(small_release: Path) -> None:
    assert "NaN" in (small_release / "metadata.jsonl").read_text()[:2000]
    load_prism(small_release)  # does not raise


def test_highest_max_counts_ties(release_copy: Path) -> None:
    def edit(records: list[dict]) -> None:  # type: ignore[type-arg]
        for item in records[0]["conversation_history"]:
            if item["role"] == "model" and item["turn"] == 0:
                item["score"] = 50

    _rewrite(release_copy / "conversations.jsonl", edit)
    chosen = load_prism(release_copy, highest="chosen").responses
    tied = load_prism(release_copy, highest="max").responses
    first = tied["conversation_id"] == "c0"
    assert chosen.loc[first, "highest"].sum() == 1
    assert tied.loc[first, "highest"].all()
