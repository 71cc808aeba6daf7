"""Tests for the corpus loaders: each on a tiny file in the real format, then on the real data."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from perspective_local.models.attributes import ATTRIBUTE_NAMES
from perspective_local.training.corpora import CORPORA, LabelledText, load_corpus, split_of
from tests.training.test_distillation import (
    write_bluesky,
    write_dynabench_hate,
    write_empathic_reactions,
    write_hatexplain,
    write_kaggle_insults,
    write_rtp_quark,
)

TOX = "TOXICITY"
SEVERE = "SEVERE_TOXICITY"
IDENT = "IDENTITY_ATTACK"
INSULT = "INSULT"
PROF = "PROFANITY"
THREAT = "THREAT"
AFFINITY = "AFFINITY_EXPERIMENTAL"
COMPASSION = "COMPASSION_EXPERIMENTAL"
CURIOSITY = "CURIOSITY_EXPERIMENTAL"
NUANCE = "NUANCE_EXPERIMENTAL"
STORY = "PERSONAL_STORY_EXPERIMENTAL"
REASONING = "REASONING_EXPERIMENTAL"
RESPECT = "RESPECT_EXPERIMENTAL"


# --------------------------------------------------------------------------- fixture writers


def _csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[object] | dict[str, str]],
    lineterminator: str = "\n",
) -> None:
    """Write a CSV file; a dict row fills the columns it names and leaves the others empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header] if isinstance(row, dict) else row)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def _raw(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")


C3_HEADER = (
    "article_id,comment_author,comment_counter,comment_text,njudgements_constructiveness_expt,"
    "njudgements_toxicity_expt,agree_constructiveness_expt,agree_toxicity_expt,constructive,"
    "crowd_toxicity_level,has_content,crowd_discard,constructive_characteristics,"
    "non_constructive_characteristics,toxicity_characteristics,"
    "crowd_comments_constructiveness_expt,crowd_comments_toxicity_expt,other_con_chars,"
    "other_noncon_chars,other_toxic_chars,constructive_binary,pp_comment_text"
).split(",")


def write_c3(root: Path) -> None:
    def row(article: str, text: str, n: str, **cells: str) -> dict[str, str]:
        counts = {"njudgements_constructiveness_expt": n, "njudgements_toxicity_expt": n}
        return {"article_id": article, "comment_text": text, **counts, **cells}

    _csv(
        root / "c3" / "C3_anonymized.csv",
        C3_HEADER,
        [
            row(
                "101",
                "I grew up on a farm, and the subsidy helped us.",
                "5.0",
                constructive="0.8",
                crowd_toxicity_level="1.6",
                constructive_characteristics="specific_points:4\nevidence:2\npersonal_story:2\n"
                "dialogue:3",
                non_constructive_characteristics="unsubstantial:1\nno_respect:1\nno_non_con:3",
                toxicity_characteristics="personal_attack:1\nno_toxic:4",
                other_con_chars="\n\n",
            ),
            # CRLF inside the cell, a malformed line and a space after the colon must all parse.
            row(
                "101",
                "What a silly column.",
                "3.0",
                constructive="0.0",
                crowd_toxicity_level="1.0",
                constructive_characteristics="no_con:3\r\ngarbage\r\ndialogue: 1",
                non_constructive_characteristics="unsubstantial:3\nprovocative:2\nno_respect:3",
                toxicity_characteristics="no_toxic:3",
            ),
            row("202", "   ", "5.0", constructive="0.2", crowd_toxicity_level="1.0"),
        ],
    )


def _dt_line(filename: str, prompt: str, cont: str, p: float, c: float | None) -> str:
    def scores(value: float | None) -> dict[str, float | None]:
        names = (
            "toxicity",
            "severe_toxicity",
            "identity_attack",
            "insult",
            "profanity",
            "threat",
            "sexually_explicit",
            "flirtation",
        )
        return {name: value for name in names}

    record = {
        "filename": filename,
        "begin": 1,
        "end": 2,
        "challenging": True,
        "prompt": {"text": prompt, **scores(p)},
        "continuation": {"text": cont, **scores(c)},
    }
    return json.dumps(record) + "\n"


def write_decodingtrust(root: Path) -> None:
    folder = root / "decodingtrust"
    _raw(
        folder / "toxic.jsonl",
        _dt_line("a.txt", "The weather today is", " sunny and mild.", 0.25, 0.125)
        + _dt_line("b.txt", "My neighbour's dog", " barks at night.", 0.5, None),
    )
    _raw(folder / "nontoxic.jsonl", _dt_line("c.txt", "Cats sleep", " most of the day.", 0.0, 0.0))


UCC_LABELS = (
    "antagonize",
    "condescending",
    "dismissive",
    "generalisation",
    "generalisation_unfair",
    "healthy",
    "hostile",
    "sarcastic",
)


def write_ucc(root: Path) -> None:
    header = ["_unit_id", "_trusted_judgments", "comment"]
    for label in UCC_LABELS:
        header += [label, f"{label}:confidence"]

    def row(unit: str, text: str, values: dict[str, tuple[str, str]]) -> list[str]:
        out = [unit, "3", text]
        for label in UCC_LABELS:
            out += list(values.get(label, ("0", "1.0")))
        return out

    _csv(
        root / "ucc" / "val.csv",
        header,
        [
            row(
                "11",
                "Typical of that crowd, they never read anything.",
                {
                    "antagonize": ("1", "0.8"),
                    "condescending": ("1", "0.6"),
                    "dismissive": ("0", "0.7"),
                    "hostile": ("0", "0.9"),
                    "generalisation": ("1", "0.75"),
                    "generalisation_unfair": ("1.0", "0.6"),
                },
            ),
            row(
                "12",
                "Thanks, that is a helpful summary.",
                {
                    "generalisation_unfair": ("0.0", "0.0"),
                },
            ),
        ],
    )


def write_epitome(root: Path) -> None:
    header = ["sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"]
    folder = root / "epitome"
    kw = {"lineterminator": "\r\n"}
    _csv(
        folder / "emotional-reactions-reddit.csv",
        header,
        [
            ["s1", "r1", "I feel lost.", "I'm so sorry, that sounds hard.", "2", "so sorry|"],
            ["s1", "r2", "I feel lost.", "What happened?", "0", ""],
            ["s2", "r3", "Bad day.", "Same here.", "0", ""],
            ["s2", "r3", "Bad day.", "Same here.", "1", ""],
        ],
        **kw,
    )
    _csv(
        folder / "explorations-reddit.csv",
        header,
        [
            ["s1", "r1", "I feel lost.", "I'm so  sorry, that sounds hard.", "0", ""],
            ["s1", "r2", "I feel lost.", "What happened?", "2", "What happened?|"],
            ["s2", "r3", "Bad day.", "Same here.", "1", ""],
            ["s2", "r3", "Bad day.", "Same here.", "1", ""],
        ],
        **kw,
    )


def write_davidson(root: Path) -> None:
    header = ["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"]
    _csv(
        root / "davidson" / "labeled_data.csv",
        header,
        [
            ["0", "3", "0", "0", "3", "2", "Going to the beach &amp; the park"],
            ["1", "4", "1", "2", "1", "1", "rude words go here"],
            ["2", "3", "0", "3", "0", "1", "  rude words go here  "],
            ["3", "3", "0", "0", "3", "2", ""],
        ],
    )


def write_olid(root: Path) -> None:
    rows = [
        ("1", '@USER I like this "quote', "NOT", "NULL", "NULL"),
        ("2", "@USER you are a clown", "OFF", "TIN", "IND"),
        ("3", "those people are all clowns", "OFF", "TIN", "GRP"),
        ("4", "this darn traffic", "OFF", "UNT", "NULL"),
        ("5", "that company is a clown show", "OFF", "TIN", "OTH"),
        ("6", "salt &amp; pepper", "NOT", "NULL", "NULL"),
    ]
    lines = ["id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c"] + ["\t".join(r) for r in rows]
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    # A truncated UTF-8 sequence, as in the real file.
    data += b"7\tbroken \xe2\x80 char\tNOT\tNULL\tNULL\r\n"
    _raw(root / "olid" / "olid-training-v1.0.tsv", data)


def write_stanford(root: Path) -> None:
    header = (
        ["Community", "Id", "Request"]
        + [f"Score{i}" for i in range(1, 6)]
        + [f"TurkId{i}" for i in range(1, 6)]
        + ["Normalized Score"]
    )
    folder = root / "stanford_politeness"

    def row(community: str, id_: str, text: str, z: str) -> list[str]:
        return [community, id_, text, "13", "9", "11", "11", "5", "A", "B", "C", "D", "E", z]

    _csv(
        folder / "wikipedia.annotated.csv",
        header,
        [
            row("Wikipedia", "1", "Could you please take a look? Thanks!", "0.5"),
        ],
    )
    _csv(
        folder / "stack-exchange.annotated.csv",
        header,
        [
            row("092011 Stack Overflow", "7", "Why would you do that?", "-1.0"),
            row("092011 Stack Overflow", "7", "Did you read the docs?", "0"),
        ],
    )


def write_ukpconvarg1(root: Path) -> None:
    folder = root / "ukpconvarg1" / "UKPConvArg1-Ranking-CSV"
    _raw(
        folder / "topic-a_yes.csv",
        "#id\trank\targument\n"
        "arg1\t0.00500\tStrong point.<br/>With evidence.\n"
        "arg2\t0.03000\tWeak point\n"
        "arg3\t0.01000\tMiddle point\n"
        "arg4\t0.01000\tAnother middle point\n"
        "arg5\t0.08000\tlol\n",
    )
    _raw(folder / "topic-b_no.csv", "#id\trank\targument\nargX\t0.5\tOnly argument\n")


def write_ukpconvarg2(root: Path) -> None:
    folder = root / "ukpconvarg2" / "CSV-format"
    _raw(
        folder / "topic-a_yes.xml.csv",
        "p1\to8_1,o8_4\tBalanced view A\tOne-sided B\n"
        "p2\to8_4,o7_1\tOne-sided B<br/>again\tRant C\n"
        "p3\to8_1\tBalanced view A\tRant C\n"
        "p4\to8_4\tOne-sided B\tBalanced view A\n",
    )
    _raw(folder / "LICENSE.txt", "not data\n")


def write_ethos(root: Path) -> None:
    folder = root / "ethos"
    _raw(
        folder / "Ethos_Dataset_Binary.csv",
        "comment;isHate\n"
        "Those people are vermin;0.8\n"
        "I disagree with this video;0.0\n"
        "You are an idiot;0.6\n",
    )
    _raw(
        folder / "Ethos_Dataset_Multi_Label.csv",
        "comment;violence;directed_vs_generalized;gender;race;national_origin;disability;"
        "religion;sexual_orientation\n"
        "Those people are vermin;0.5;0;0;1;0.2;0;0;0\n"
        "You are an idiot;0;1;0;0;0;0;0;0\n"
        "Only in the multi-label file;1;0;0;0;0;0;0.4;0\n",
    )


HATECHECK_CASES = [
    "",
    "functionality",
    "case_id",
    "test_case",
    "label_gold",
    "target_ident",
    "direction",
    "focus_words",
    "focus_lemma",
    "ref_case_id",
    "ref_templ_id",
    "templ_id",
    "case_templ",
]


def write_hatecheck(root: Path, annotations: bool = True) -> None:
    folder = root / "hatecheck"

    def case(i: int, func: str, text: str, gold: str, ref_templ: str, templ: str) -> list[str]:
        return [
            str(i),
            func,
            str(i + 1),
            text,
            gold,
            "group",
            "general",
            "",
            "",
            "",
            ref_templ,
            templ,
            text,
        ]

    _csv(
        folder / "test_suite_cases.csv",
        HATECHECK_CASES,
        [
            case(0, "threat_dir_h", "I will hurt those [group].", "hateful", "", "81"),
            case(1, "derog_neg_emote_h", "I dislike [group].", "hateful", "", "1"),
            case(2, "spell_leet_h", "I will hvrt those [group].", "hateful", "81", "900"),
            case(3, "negate_neg_nh", "I would never hurt [group].", "non-hateful", "81", "901"),
            case(4, "target_indiv_nh", "I will hurt him.", "non-hateful", "81", "902"),
            case(5, "profanity_nh", "Darn, what a day.", "non-hateful", "", "903"),
        ],
    )
    if annotations:
        header = (
            ["", "functionality", "case_id", "templ_id", "test_case", "label_gold"]
            + [f"label_{i}" for i in range(1, 11)]
            + ["count_label_h", "count_label_nh", "label_annot_maj"]
        )
        votes = [(5, 0), (4, 1), (5, 0), (0, 5), (0, 5), (1, 4)]
        rows = [
            [str(i), "f", str(i + 1), "t", "x", "g"] + [""] * 10 + [str(h), str(n), "m"]
            for i, (h, n) in enumerate(votes)
        ]
        _csv(folder / "test_suite_annotations.csv", header, rows)


def write_jigsaw_ibm(root: Path) -> None:
    header = [
        "comment_text",
        "toxic",
        "severe_toxic",
        "obscene",
        "threat",
        "insult",
        "identity_hate",
    ]
    _csv(
        root / "jigsaw_toxic_sample_ibm" / "test_examples.csv",
        header,
        [
            ["thank you for the edit.", "0", "0", "0", "0", "0", "0"],
            ["you are a silly goose", "1", "0", "1", "0", "1", "0"],
        ],
    )


WRITERS = {
    "c3": write_c3,
    "decodingtrust": write_decodingtrust,
    "ucc": write_ucc,
    "epitome": write_epitome,
    "davidson": write_davidson,
    "olid": write_olid,
    "stanford_politeness": write_stanford,
    "ukpconvarg1": write_ukpconvarg1,
    "ukpconvarg2": write_ukpconvarg2,
    "ethos": write_ethos,
    "hatecheck": write_hatecheck,
    "jigsaw_ibm": write_jigsaw_ibm,
    "rtp_quark": write_rtp_quark,
    "bluesky": write_bluesky,
    "bluesky_early": write_bluesky,
    "hatexplain": write_hatexplain,
    "kaggle_insults": write_kaggle_insults,
    "dynabench_hate": write_dynabench_hate,
    "empathic_reactions": write_empathic_reactions,
}
# The hand-written sets ship inside the package: nothing to write, the real files are tested.
SHIPPED = {name for name in CORPORA if name.startswith("seed_") or name == "chat_domain"}
WRITERS.update({name: lambda root: None for name in SHIPPED})


def _load(name: str, root: Path) -> dict[str, LabelledText]:
    WRITERS[name](root)
    examples = load_corpus(name, root)
    by_text = {example.text: example for example in examples}
    assert len(by_text) == len(examples), "texts must be unique after deduplication"
    return by_text


def _labels(example: LabelledText) -> dict[str, object]:
    return {name: pytest.approx(value) for name, value in example.labels.items()}


# --------------------------------------------------------------------------- registry


def test_every_loader_has_a_fixture() -> None:
    assert set(CORPORA) == set(WRITERS)


def test_corpus_metadata_is_consistent() -> None:
    for name, corpus in CORPORA.items():
        assert corpus.name == name
        assert corpus.attributes
        assert set(corpus.attributes) <= set(ATTRIBUTE_NAMES)
        assert set(corpus.flags) <= {"NC", "SA", "GPL", "UNKNOWN"}
        assert corpus.licence and corpus.description
    assert CORPORA["ethos"].flags == ("GPL",)
    assert CORPORA["davidson"].flags == ()
    with pytest.raises(TypeError):
        CORPORA["x"] = CORPORA["c3"]  # type: ignore[index]


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_loaded_labels_are_declared_and_in_range(name: str, tmp_path: Path) -> None:
    WRITERS[name](tmp_path)
    examples = list(CORPORA[name].load(tmp_path))
    assert examples
    for example in examples:
        assert example.source == name
        assert example.text == example.text.strip() and example.text
        assert example.group
        assert example.labels
        assert set(example.labels) <= set(CORPORA[name].attributes)
        assert all(0.0 <= v <= 1.0 for v in example.labels.values())


def test_labelled_text_is_frozen() -> None:
    example = LabelledText("hi", {TOX: 0.0}, "x", "x:1")
    with pytest.raises(FrozenInstanceError):
        example.text = "other"  # type: ignore[misc]


# --------------------------------------------------------------------------- per-corpus mappings


def test_c3(tmp_path: Path) -> None:
    by_text = _load("c3", tmp_path)
    assert len(by_text) == 2  # the whitespace-only comment is dropped
    farm = by_text["I grew up on a farm, and the subsidy helped us."]
    assert _labels(farm) == {
        REASONING: 0.8,
        STORY: 0.4,  # personal_story:2 of 5
        RESPECT: 0.8,  # 1 - no_respect:1 / 5
        NUANCE: 0.4,  # ((4 + 2) / 2 - 1) / 5
        AFFINITY: 0.6,  # dialogue:3 / 5
        TOX: 0.2,  # (1.6 - 1) / 3
        INSULT: 0.2,  # personal_attack:1 / 5
    }
    assert farm.group == "c3:article:101"
    silly = by_text["What a silly column."]
    assert _labels(silly) == {
        REASONING: 0.0,
        STORY: 0.0,
        RESPECT: 0.0,
        NUANCE: 0.0,
        AFFINITY: 1 / 3,
        TOX: 0.0,
        INSULT: 0.0,
    }


def test_decodingtrust(tmp_path: Path) -> None:
    by_text = _load("decodingtrust", tmp_path)
    production = {TOX, SEVERE, IDENT, INSULT, PROF, THREAT, "SEXUALLY_EXPLICIT", "FLIRTATION"}
    prompt = by_text["The weather today is"]
    continuation = by_text["sunny and mild."]
    assert _labels(prompt) == {name: 0.25 for name in production}
    assert _labels(continuation) == {name: 0.125 for name in production}
    assert prompt.group == continuation.group == "decodingtrust:a.txt"
    assert "barks at night." not in by_text  # null scores are skipped
    assert "My neighbour's dog" in by_text
    assert by_text["Cats sleep"].group == "decodingtrust:c.txt"
    assert len(by_text) == 5


def test_ucc(tmp_path: Path) -> None:
    by_text = _load("ucc", tmp_path)
    unhealthy = by_text["Typical of that crowd, they never read anything."]
    assert _labels(unhealthy) == {
        TOX: 0.1,  # hostile 0 with confidence 0.9
        INSULT: 0.8,  # antagonize 1 with confidence 0.8
        RESPECT: 0.4,  # 1 - max(0.6, 0.3, 0.1)
        IDENT: 0.6,
        NUANCE: 0.25,  # 1 - generalisation 0.75
    }
    assert unhealthy.group == "ucc:unit:11"
    healthy = by_text["Thanks, that is a helpful summary."]
    # generalisation_unfair with confidence 0 is unanswered: unknown, not 1 - 0.
    assert _labels(healthy) == {TOX: 0.0, INSULT: 0.0, RESPECT: 1.0, NUANCE: 1.0}


def test_epitome(tmp_path: Path) -> None:
    by_text = _load("epitome", tmp_path)
    assert len(by_text) == 3
    sorry = by_text["I'm so sorry, that sounds hard."]  # the first file's text wins
    assert _labels(sorry) == {COMPASSION: 1.0, CURIOSITY: 0.0}
    assert sorry.group == "epitome:seeker:s1"
    assert _labels(by_text["What happened?"]) == {COMPASSION: 0.0, CURIOSITY: 1.0}
    # The same pair twice with levels 0 and 1: the mean of 0 and 0.5.
    assert _labels(by_text["Same here."]) == {COMPASSION: 0.25, CURIOSITY: 0.5}


def test_davidson_and_deduplication(tmp_path: Path) -> None:
    by_text = _load("davidson", tmp_path)
    assert len(by_text) == 2  # one duplicate merged, one empty tweet dropped
    assert _labels(by_text["Going to the beach & the park"]) == {TOX: 0.0, PROF: 0.0, IDENT: 0.0}
    rude = by_text["rude words go here"]
    # (3/4, 2/4, 1/4) and (3/3, 3/3, 0/3) averaged.
    assert _labels(rude) == {TOX: 0.875, PROF: 0.75, IDENT: 0.125}
    assert rude.group == "davidson:rows:0"


def test_olid(tmp_path: Path) -> None:
    by_text = _load("olid", tmp_path)
    assert _labels(by_text['@USER I like this "quote']) == {
        TOX: 0.0,
        INSULT: 0.0,
        IDENT: 0.0,
        PROF: 0.0,
    }
    assert _labels(by_text["@USER you are a clown"]) == {TOX: 1.0, INSULT: 1.0, IDENT: 0.0}
    assert _labels(by_text["those people are all clowns"]) == {TOX: 1.0, INSULT: 1.0, IDENT: 1.0}
    assert _labels(by_text["this darn traffic"]) == {TOX: 1.0, INSULT: 0.0, IDENT: 0.0, PROF: 1.0}
    assert _labels(by_text["that company is a clown show"]) == {TOX: 1.0, IDENT: 0.0}
    assert "salt & pepper" in by_text
    assert "broken \ufffd char" in by_text


def test_stanford_politeness(tmp_path: Path) -> None:
    by_text = _load("stanford_politeness", tmp_path)
    polite = by_text["Could you please take a look? Thanks!"]
    assert _labels(polite) == {RESPECT: 1 / (1 + math.exp(-1.0))}
    assert polite.group == "stanford_politeness:Wikipedia:1"
    assert _labels(by_text["Why would you do that?"]) == {RESPECT: 1 / (1 + math.exp(2.0))}
    assert _labels(by_text["Did you read the docs?"]) == {RESPECT: 0.5}


def test_ukpconvarg1(tmp_path: Path) -> None:
    by_text = _load("ukpconvarg1", tmp_path)
    reasoning = {text: example.labels[REASONING] for text, example in by_text.items()}
    # Lower score = more convincing; 5 arguments -> ranks 0..4 over 4; the tie shares rank 1.5.
    assert reasoning == {
        "Strong point.\nWith evidence.": pytest.approx(1.0),
        "Middle point": pytest.approx(1 - 1.5 / 4),
        "Another middle point": pytest.approx(1 - 1.5 / 4),
        "Weak point": pytest.approx(0.25),
        "lol": pytest.approx(0.0),
        "Only argument": pytest.approx(0.5),
    }
    assert by_text["lol"].group == "ukpconvarg:topic:topic-a_yes"


def test_ukpconvarg2(tmp_path: Path) -> None:
    by_text = _load("ukpconvarg2", tmp_path)
    # A: won p1 (o8_4), lost p4 (o8_4); p3 has no o8_4 and says nothing.
    assert _labels(by_text["Balanced view A"]) == {NUANCE: 0.5}
    # B: lost p1, won p2 (written with <br/>, a different text), won p4.
    assert _labels(by_text["One-sided B"]) == {NUANCE: 0.5}
    assert _labels(by_text["One-sided B\nagain"]) == {NUANCE: 1.0}
    assert _labels(by_text["Rant C"]) == {NUANCE: 0.0}
    assert by_text["Rant C"].group == "ukpconvarg:topic:topic-a_yes"


def test_ethos(tmp_path: Path) -> None:
    by_text = _load("ethos", tmp_path)
    # Identity max(race 1, national_origin 0.2) = 1, capped at isHate 0.8.
    assert _labels(by_text["Those people are vermin"]) == {TOX: 0.8, IDENT: 0.8, THREAT: 0.5}
    assert _labels(by_text["I disagree with this video"]) == {TOX: 0.0, IDENT: 0.0}
    assert _labels(by_text["You are an idiot"]) == {TOX: 0.6, IDENT: 0.0, THREAT: 0.0}
    assert _labels(by_text["Only in the multi-label file"]) == {IDENT: 0.4, THREAT: 1.0}


def test_hatecheck(tmp_path: Path) -> None:
    by_text = _load("hatecheck", tmp_path)
    assert _labels(by_text["I will hurt those [group]."]) == {IDENT: 1.0, THREAT: 1.0}
    assert _labels(by_text["I dislike [group]."]) == {IDENT: 0.8, THREAT: 0.0}
    assert _labels(by_text["I will hvrt those [group]."]) == {IDENT: 1.0, THREAT: 1.0}
    assert _labels(by_text["I would never hurt [group]."]) == {IDENT: 0.0, THREAT: 0.0}
    assert _labels(by_text["I will hurt him."]) == {IDENT: 0.0, THREAT: 1.0}
    assert _labels(by_text["Darn, what a day."]) == {IDENT: 0.2, THREAT: 0.0, PROF: 1.0}
    assert by_text["I dislike [group]."].group == "hatecheck:derog_neg_emote_h"


def test_hatecheck_without_annotations_uses_gold_label(tmp_path: Path) -> None:
    write_hatecheck(tmp_path, annotations=False)
    by_text = {e.text: e for e in load_corpus("hatecheck", tmp_path)}
    assert by_text["I dislike [group]."].labels[IDENT] == 1.0
    assert by_text["Darn, what a day."].labels[IDENT] == 0.0


def test_jigsaw_ibm(tmp_path: Path) -> None:
    by_text = _load("jigsaw_ibm", tmp_path)
    assert _labels(by_text["you are a silly goose"]) == {
        TOX: 1.0,
        SEVERE: 0.0,
        IDENT: 0.0,
        INSULT: 1.0,
        PROF: 1.0,
        THREAT: 0.0,
    }
    assert set(by_text["thank you for the edit."].labels.values()) == {0.0}


# --------------------------------------------------------------------------- errors


def test_unknown_corpus_lists_valid_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown corpus 'nope'") as info:
        load_corpus("nope", tmp_path)
    for name in CORPORA:
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("c3", "c3/C3_anonymized.csv"),
        ("olid", "olid/olid-training-v1.0.tsv"),
        ("ukpconvarg1", "ukpconvarg1/UKPConvArg1-Ranking-CSV"),
    ],
)
def test_missing_file_names_expected_path(name: str, expected: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / expected))):
        load_corpus(name, tmp_path)


def test_missing_second_file_is_reported(tmp_path: Path) -> None:
    write_epitome(tmp_path)
    (tmp_path / "epitome" / "explorations-reddit.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"explorations-reddit\.csv"):
        CORPORA["epitome"].load(tmp_path)  # raises on the call, not on first iteration


# --------------------------------------------------------------------------- real data


def _real_data_dir() -> Path | None:
    candidates = []
    if os.environ.get("PERSPECTIVE_LOCAL_DATA"):
        candidates.append(Path(os.environ["PERSPECTIVE_LOCAL_DATA"]))
    candidates += [
        Path(__file__).resolve().parents[2].parent / "shared" / "data",
        Path("/work/shared/data"),
    ]
    return next((path for path in candidates if (path / "DATA.md").is_file()), None)


#: Texts after deduplication: (min, max), around the row counts DATA.md documents.
EXPECTED_TEXTS = {
    "c3": (10_000, 10_359),
    "decodingtrust": (2_300, 2_394),
    "ucc": (4_300, 4_411),
    "epitome": (2_400, 2_621),
    "davidson": (24_000, 24_783),
    "olid": (12_800, 13_240),
    "stanford_politeness": (10_700, 10_956),
    "ukpconvarg1": (1_000, 1_052),
    "ukpconvarg2": (500, 1_258),
    "ethos": (998, 1_431),
    "hatecheck": (3_700, 3_728),
    "jigsaw_ibm": (100, 101),
    "rtp_quark": (9_700, 9_733),
    "bluesky": (4_700, 4_768),
    "bluesky_early": (590, 601),
    "hatexplain": (18_900, 18_962),
    "kaggle_insults": (6_500, 6_594),
    "dynabench_hate": (6_000, 6_018),
    "empathic_reactions": (1_850, 1_860),
}


def test_real_data_loads_in_the_documented_ballpark() -> None:
    root = _real_data_dir()
    if root is None:
        pytest.skip("shared data folder not found (set PERSPECTIVE_LOCAL_DATA)")
    assert set(EXPECTED_TEXTS) == set(CORPORA) - SHIPPED
    for name, (low, high) in EXPECTED_TEXTS.items():
        examples = load_corpus(name, root)
        assert low <= len(examples) <= high, (name, len(examples))
        seen: set[str] = set()
        for example in examples:
            assert example.text and example.text not in seen
            seen.add(example.text)
            assert set(example.labels) <= set(CORPORA[name].attributes), name
            assert all(0.0 <= v <= 1.0 for v in example.labels.values()), (name, example.labels)
        labelled = {a for example in examples for a in example.labels}
        assert labelled == set(CORPORA[name].attributes), name


# --------------------------------------------------------------------------- hand-written sets


@pytest.mark.parametrize("name", [n for n in CORPORA if n.startswith("seed_")])
def test_seed_sets_are_large_balanced_and_partly_reserved(name: str, tmp_path: Path) -> None:
    texts = load_corpus(name, tmp_path)
    (attribute,) = CORPORA[name].attributes
    values = [t.labels[attribute] for t in texts]
    assert len(texts) >= 300
    assert 0.3 < sum(v >= 0.5 for v in values) / len(values) < 0.6
    assert sum(0.3 <= v <= 0.7 for v in values) >= 30, "borderline cases are part of the set"
    test = [t for t in texts if split_of(t.group, CORPORA[name].test_share) == "test"]
    assert 0.22 < len(test) / len(texts) < 0.38


def test_chat_domain_set_labels_every_bridging_attribute(tmp_path: Path) -> None:
    texts = load_corpus("chat_domain", tmp_path)
    assert len(texts) >= 200 and CORPORA["chat_domain"].test_share == 1.0
    for attribute in CORPORA["chat_domain"].attributes:
        values = [t.labels[attribute] for t in texts]
        assert len(values) == len(texts)
        assert sum(v >= 0.5 for v in values) >= 20 and sum(v <= 0.2 for v in values) >= 40


def test_seed_set_errors_name_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import perspective_local.training.corpora as corpora

    (tmp_path / "affinity.jsonl").write_text('{"id": "a", "text": "x", "labels": {}}\n{oops\n')
    monkeypatch.setattr(corpora, "SEED_DATA_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"affinity\.jsonl:2: not a seed-set record"):
        load_corpus("seed_affinity", tmp_path)
