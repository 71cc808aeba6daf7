"""Lexicon features: whole-word matching on the encoder's tokens, the artifact file, and the
same features (and scores) from the torch and ONNX backends."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from perspective_local.models.artifact import (
    DEFAULT_MODEL_DIR,
    LEXICON_FILE,
    ArtifactError,
    TrainedAdapters,
    load_adapters,
    load_artifact,
    load_manifest,
    save_artifact,
)
from perspective_local.models.backends.heads import HeadsBackend
from perspective_local.models.encoder import default_encoder_path
from perspective_local.models.lexicon import Lexicon, LexiconData, LexiconError, Term
from perspective_local.models.windows import Windower
from perspective_local.training.corpora import SURGE_FEATURES, load_surge_lexicon
from tests.conftest import SURGE_ROWS, _write_csv

DATA = LexiconData(
    features=("mild", "strong", "bodily"),
    terms=(Term("ass", (0,)), Term("shit", (1, 2)), Term("piece of shit", (1,))),
    source="written for this test",
    licence="Apache-2.0",
)


@pytest.fixture(scope="module")
def windower() -> Windower:
    return Windower(default_encoder_path(), max_length=32, window_overlap=4)


def counts(lexicon: Lexicon, windower: Windower, texts: list[str]) -> np.ndarray:
    windows = windower.windows(texts)
    ids, mask = windower.pad(windows, np.arange(len(windows)))
    return np.rint(np.expm1(lexicon.features(ids, mask))).astype(int)


def test_terms_match_whole_words_only(windower: Windower) -> None:
    lexicon = Lexicon(DATA, windower.tokenizer)
    found = counts(lexicon, windower, [
        "You ass.",  # a word of its own, punctuation after it
        "The assassin passed the class assessment.",  # inside longer words: no match
        "SHIT, shit and more Shit",  # the tokenizer lower-cases
        "what a piece of shit",  # the longest term at a position counts, once
        "nothing to see here",
    ])  # fmt: skip
    assert found.tolist() == [[1, 0, 0], [0, 0, 0], [0, 3, 3], [0, 1, 0], [0, 0, 0]]


def test_padding_is_never_counted(windower: Windower) -> None:
    lexicon = Lexicon(DATA, windower.tokenizer)
    long, short = windower.windows(["ass " * 20]), windower.windows(["ass"])
    ids, mask = windower.pad(long, np.arange(len(long)))
    one, one_mask = windower.pad(short, np.arange(1))
    padded = np.full_like(ids[:1], windower.pad_id)
    padded[0, : one.shape[1]] = one[0]
    padded_mask = np.zeros_like(mask[:1])
    padded_mask[0, : one.shape[1]] = one_mask[0]
    assert np.expm1(lexicon.features(padded, padded_mask))[0, 0] == pytest.approx(1.0)


def test_lexicon_file_round_trips_and_rejects_bad_indices(tmp_path: Path) -> None:
    path = DATA.write(tmp_path)
    assert LexiconData.read(path) == DATA
    body = json.loads(path.read_text())
    body["terms"].append(["oops", [7]])
    path.write_text(json.dumps(body))
    with pytest.raises(LexiconError, match="'oops' names a feature"):
        LexiconData.read(path)
    path.write_text("{not json")
    with pytest.raises(LexiconError, match="Malformed"):
        LexiconData.read(path)


def test_surge_list_maps_severity_and_category(tmp_path: Path) -> None:
    _write_csv(tmp_path / "surge_profanity" / "profanity_en.csv", SURGE_ROWS)
    data = load_surge_lexicon(tmp_path)
    terms = {t.text: [SURGE_FEATURES[i] for i in t.features] for t in data.terms}
    assert terms["go to hell"] == ["strong", "racial_religious"]
    assert terms["idiot"] == ["mild", "insult"]
    rows = [*SURGE_ROWS, {**SURGE_ROWS[0], "text": "new", "category_1": "astrology"}]
    _write_csv(tmp_path / "surge_profanity" / "profanity_en.csv", rows)
    with pytest.raises(ValueError, match="'new' has unknown severity or category"):
        load_surge_lexicon(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"profanity_en\.csv"):
        load_surge_lexicon(tmp_path / "nowhere")


@pytest.fixture(scope="module")
def lexicon_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped heads with three lexicon inputs: a large weight on 'strong' for PROFANITY."""
    manifest, weight, bias = load_artifact(DEFAULT_MODEL_DIR)
    # The shipped heads' lexicon columns become this test's three; PROFANITY's 'strong' is 4.
    extra = np.zeros((weight.shape[0], len(DATA.features)), dtype=np.float32)
    extra[manifest.attributes.index("PROFANITY"), 1] = 4.0
    plain = np.hstack([weight[:, : manifest.encoder.dimension], extra])
    adapters = None
    if manifest.encoder.adapters is not None:
        tensors = load_adapters(DEFAULT_MODEL_DIR, manifest)
        assert tensors is not None
        spec = manifest.encoder.adapters
        adapters = TrainedAdapters(tensors, spec.rank, spec.alpha)
    out = tmp_path_factory.mktemp("lexicon-model")
    save_artifact(out, manifest, plain, bias, adapters=adapters, lexicon=DATA)
    return out


@pytest.fixture(scope="module")
def plain_scorer(lexicon_model: Path, tmp_path_factory: pytest.TempPathFactory) -> HeadsBackend:
    """The same heads and adapters with the lexicon columns at zero and no lexicon."""
    manifest, weight, bias = load_artifact(lexicon_model)
    out = tmp_path_factory.mktemp("plain-model")
    tensors = load_adapters(lexicon_model, manifest)
    spec = manifest.encoder.adapters
    adapters = TrainedAdapters(tensors, spec.rank, spec.alpha) if tensors and spec else None
    dimension = manifest.encoder.dimension
    save_artifact(out, replace(manifest, lexicon=None), weight[:, :dimension], bias,
                  adapters=adapters)  # fmt: skip
    return HeadsBackend.load(out, device="cpu")


def test_lexicon_inputs_move_the_heads(lexicon_model: Path, plain_scorer: HeadsBackend) -> None:
    scorer = HeadsBackend.load(lexicon_model, device="cpu")
    texts = ["well shit, that went badly", "well, that went badly"]
    with_lexicon = scorer.score(texts, ["PROFANITY", "TOXICITY"])
    without = plain_scorer.score(texts, ["PROFANITY", "TOXICITY"])
    # Only PROFANITY has a lexicon weight, and only the text with a term moves.
    profanity, plain = with_lexicon.column("PROFANITY"), without.column("PROFANITY")
    assert profanity[0] > plain[0] + 0.1
    assert profanity[1] == pytest.approx(plain[1], abs=1e-6)
    np.testing.assert_allclose(
        with_lexicon.column("TOXICITY"), without.column("TOXICITY"), atol=1e-6
    )
    assert "lexicon" in scorer.description


def test_onnx_export_computes_the_same_scores(lexicon_model: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from perspective_local.models.backends.onnx import OnnxBackend
    from perspective_local.models.backends.onnx_export import export_onnx

    scorer = HeadsBackend.load(lexicon_model, device="cpu")
    export_onnx(scorer, tmp_path / "onnx")
    onnx = OnnxBackend(tmp_path / "onnx")
    texts = ["well shit, that went badly", "a piece of shit " * 80, "thank you", "Shit!"]
    np.testing.assert_allclose(onnx.score(texts).values, scorer.score(texts).values, atol=2e-5)


def test_a_damaged_or_missing_lexicon_is_refused(lexicon_model: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(lexicon_model, copy)
    assert load_manifest(copy).lexicon is not None
    path = copy / LEXICON_FILE
    path.write_text(path.read_text().replace("shit", "shot"))
    with pytest.raises(ArtifactError, match="does not match its manifest"):
        HeadsBackend.load(copy, device="cpu")
    path.unlink()
    with pytest.raises(ArtifactError, match=f"no {LEXICON_FILE}"):
        HeadsBackend.load(copy, device="cpu")


def test_saving_without_a_lexicon_removes_a_stale_one(lexicon_model: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(lexicon_model, copy)
    manifest, weight, bias = load_artifact(copy)
    plain = manifest.encoder.dimension
    save_artifact(copy, replace(manifest, lexicon=None), weight[:, :plain], bias)
    assert not (copy / "adapters.safetensors").exists()  # none given: none kept
    assert not (copy / LEXICON_FILE).exists()
    assert load_manifest(copy).lexicon is None
