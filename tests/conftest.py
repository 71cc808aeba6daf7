"""Shared fixtures: tiny labelled corpora in the real file formats, a model trained on them
with the real encoder, the shipped default model, the real server on loopback ports, and a
loopback HTTP file server for the download tests."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http_files import FileServer, serving
from tests.servers import ServerHandle, start_server

HOSTILE = [
    "You are a worthless idiot and everyone here hates you.",
    "Shut up, you pathetic moron, nobody asked for your garbage opinion.",
    "What a stupid, ignorant thing to say. You clearly have no brain.",
    "Go to hell, you disgusting loser. I will make you regret this.",
    "This is the dumbest comment I have ever read, you fool.",
    "You people are filth and should be thrown out of this country.",
]
FRIENDLY = [
    "Thank you for sharing this, it was really helpful to read.",
    "I see your point, and I think the data supports a careful approach here.",
    "When my father lost his job, our town's library gave us a lifeline.",
    "Could you explain what you mean by that? I would like to understand.",
    "That sounds really hard. I'm so sorry you are going through this.",
    "Good article. The second section makes a fair argument about costs.",
]


def _c3_rows(n_articles: int = 12) -> list[dict[str, Any]]:
    rows = []
    for article in range(n_articles):
        for i, text in enumerate(HOSTILE + FRIENDLY):
            hostile = text in HOSTILE
            rows.append(
                {
                    "article_id": 1000 + article,
                    "comment_author": i,
                    "comment_counter": f"source1_{1000 + article}_{i}",
                    "comment_text": f"{text} (article {article})",
                    "njudgements_constructiveness_expt": 5,
                    "njudgements_toxicity_expt": 5,
                    "agree_constructiveness_expt": 1.0,
                    "agree_toxicity_expt": 1.0,
                    "constructive": 0.0 if hostile else 0.8,
                    "crowd_toxicity_level": 3.5 if hostile else 1.0,
                    "has_content": "",
                    "crowd_discard": "",
                    "constructive_characteristics": "no_con:5"
                    if hostile
                    else "specific_points:4\nevidence:3\npersonal_story:2\ndialogue:2",
                    "non_constructive_characteristics": "provocative:4\nno_respect:5"
                    if hostile
                    else "no_non_con:5",
                    "toxicity_characteristics": "personal_attack:4\nabusive:3"
                    if hostile
                    else "no_toxic:5",
                    "crowd_comments_constructiveness_expt": "",
                    "crowd_comments_toxicity_expt": "",
                    "other_con_chars": "",
                    "other_noncon_chars": "",
                    "other_toxic_chars": "",
                    "constructive_binary": 0 if hostile else 1,
                    "pp_comment_text": text.lower(),
                }
            )
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _perspective_scores(hostile: bool) -> dict[str, float]:
    value = 0.9 if hostile else 0.05
    return {
        name: value
        for name in (
            "toxicity", "severe_toxicity", "identity_attack", "insult", "profanity", "threat",
            "sexually_explicit", "flirtation",
        )
    }  # fmt: skip


def _politeness_rows(community: str) -> list[dict[str, Any]]:
    rows = []
    for i in range(40):
        polite = i % 2 == 0
        text = (FRIENDLY if polite else HOSTILE)[i % 6]
        rows.append(
            {"Community": community, "Id": str(i), "Request": f"{text} [{community} {i}]"}
            | {f"Score{k}": 20 if polite else 5 for k in range(1, 6)}
            | {f"TurkId{k}": f"T{k}" for k in range(1, 6)}
            | {"Normalized Score": 1.2 if polite else -1.2}
        )
    return rows


#: Rows of a tiny Surge AI profanity list (its published columns), with terms the hostile
#: texts use, so that training on the tiny corpora exercises the lexicon features.
SURGE_ROWS = [
    {"text": text, "canonical_form_1": text, "canonical_form_2": "", "canonical_form_3": "",
     "category_1": category, "category_2": "", "category_3": "", "severity_rating": rating,
     "severity_description": severity}
    for text, category, rating, severity in (
        ("idiot", "mental disability", 1.2, "Mild"),
        ("moron", "mental disability", 1.4, "Mild"),
        ("loser", "other / general insult", 1.0, "Mild"),
        ("go to hell", "religious offense", 1.8, "Strong"),
        ("filth", "other / general insult", 1.6, "Strong"),
        ("shit", "bodily fluids / excrement", 2.0, "Strong"),
    )
]  # fmt: skip

#: The corpora that ``write_tiny_corpora`` writes.
TINY_CORPORA = ("c3", "decodingtrust", "epitome", "stanford_politeness")


def write_tiny_corpora(root: Path) -> Path:
    """C3, DecodingTrust, EPITOME and Stanford Politeness files, in their published layouts,
    that between them label all 15 attributes, and a small Surge AI profanity list. Returns
    the data root."""
    _write_csv(root / "surge_profanity" / "profanity_en.csv", SURGE_ROWS)
    _write_csv(root / "c3" / "C3_anonymized.csv", _c3_rows())
    (root / "decodingtrust").mkdir(parents=True, exist_ok=True)
    for name, pool in (("toxic.jsonl", HOSTILE), ("nontoxic.jsonl", FRIENDLY)):
        with open(root / "decodingtrust" / name, "w", encoding="utf-8") as stream:
            for i in range(24):
                text = pool[i % len(pool)]
                line = {
                    "filename": f"{name}-{i}.txt",
                    "begin": 0,
                    "end": len(text),
                    "challenging": pool is HOSTILE,
                    "prompt": {"text": f"{text} #{i}", **_perspective_scores(pool is HOSTILE)},
                    "continuation": {
                        "text": f" and that is all, {i}.",
                        **_perspective_scores(False),
                    },
                }
                stream.write(json.dumps(line) + "\n")
    for name in ("emotional-reactions-reddit.csv", "explorations-reddit.csv"):
        rows = [
            {
                "sp_id": f"sp{i}",
                "rp_id": f"rp{i}",
                "seeker_post": "I feel alone lately.",
                "response_post": f"{(FRIENDLY if i % 2 else HOSTILE)[i % 6]} ({i})",
                "level": 2 if i % 2 else 0,
                "rationales": "",
            }
            for i in range(48)
        ]
        _write_csv(root / "epitome" / name, rows)
    _write_csv(root / "stanford_politeness" / "wikipedia.annotated.csv", _politeness_rows("Wiki"))
    _write_csv(
        root / "stanford_politeness" / "stack-exchange.annotated.csv", _politeness_rows("SE")
    )
    return root


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache directory of the session's own instead of the user's: the default backend
    (``auto``, ONNX on a CPU) exports its graph into the cache on first use. Subprocesses
    inherit it through the environment."""
    patch = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("cache")
    patch.setenv("PERSPECTIVE_LOCAL_CACHE_DIR", str(path))
    yield path
    patch.undo()


@pytest.fixture(scope="session")
def tiny_corpora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_corpora(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_corpora: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model artifact trained with the real encoder on the tiny corpora."""
    from perspective_local.training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("model")
    train(
        TrainConfig(
            data_dir=tiny_corpora,
            out_dir=out,
            corpora=TINY_CORPORA,
            cache_dir=None,
            name="tiny-test",
        ),
        progress=lambda line: None,
    )
    return out


@pytest.fixture(scope="session")
def tiny_scorer(tiny_model_dir: Path) -> Any:
    from perspective_local.models.backends.heads import HeadsBackend

    return HeadsBackend.load(tiny_model_dir, device="cpu")


@pytest.fixture(scope="session")
def default_scorer() -> Any:
    from perspective_local.models.backends.heads import HeadsBackend

    return HeadsBackend.default(device="cpu")


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Iterator[Any]:
    def write(name: str, lines: list[Any]) -> Path:
        path = tmp_path / name
        path.write_text(
            "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
            encoding="utf-8",
        )
        return path

    yield write


@pytest.fixture(scope="session")
def server(default_scorer: Any) -> Iterator[ServerHandle]:
    """One server for the whole session, without API keys."""
    handle = start_server(default_scorer)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def keyed_server(default_scorer: Any) -> Iterator[ServerHandle]:
    """A server that accepts only the keys ``k-good`` and ``k-other``."""
    handle = start_server(default_scorer, api_keys="k-good,k-other")
    yield handle
    handle.stop()


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    """A loopback HTTP server serving the bytes a test puts in ``files`` (Range supported)."""
    with serving() as server:
        yield server
