from typing import Any

import numpy as np
import pytest

from perspective_local.models.encoder import Encoder, default_encoder_path, pick_device


@pytest.fixture(scope="module")
def encoder(tiny_scorer):  # type: ignore[no-untyped-def]
    return tiny_scorer.encoder


def test_embeddings_match_sentence_transformers(encoder: Encoder) -> None:
    """Our pooling must reproduce what sentence-transformers computes for this model."""
    from sentence_transformers import SentenceTransformer

    texts = ["The weather is lovely today.", "You are an idiot.", "Ça va? Emoji 🎉 too."]
    reference = SentenceTransformer(str(default_encoder_path()), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    ours = encoder.embed(texts)
    assert ours.shape == (3, 384)
    np.testing.assert_allclose((ours * reference).sum(axis=1), 1.0, atol=1e-5)


def test_long_text_is_split_into_overlapping_windows(encoder: Encoder) -> None:
    long_text = " ".join(f"word{i}" for i in range(600))
    windows = encoder.windower.windows(["short text", long_text])
    per_text = np.bincount(windows.text_index)
    assert per_text[0] == 1 and per_text[1] >= 3
    assert max(windows.lengths()) <= encoder.max_length
    first, second = (windows.input_ids[i] for i in np.flatnonzero(windows.text_index == 1)[:2])
    # The second window starts with the tail of the first (after its [CLS]).
    overlap = encoder.window_overlap
    assert first[-1 - overlap : -1] == second[1 : 1 + overlap]


def test_batches_group_by_length_and_cover_every_window(encoder: Encoder) -> None:
    texts = ["a", "a b c d e f g h", "a b", "a b c d"] * 5
    windows = encoder.windower.windows(texts)
    batches = list(encoder.windower.batches(windows, batch_size=4))
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(texts)))
    lengths = windows.lengths()
    assert [int(lengths[b].max()) for b in batches] == sorted(
        (int(lengths[b].max()) for b in batches), reverse=True
    )


def test_slack_starts_a_pass_where_windows_get_much_shorter(encoder: Encoder) -> None:
    texts = [" ".join(["word"] * n) for n in (40, 38, 36, 20, 19, 18, 3, 2, 1)]
    windows = encoder.windower.windows(texts)
    lengths = windows.lengths()
    passes = list(encoder.windower.batches(windows, batch_size=32, slack_tokens=4))
    assert [sorted(int(n) for n in lengths[b]) for b in passes] == [
        sorted(int(n) for n in lengths[group]) for group in ([0, 1, 2], [3, 4, 5], [6, 7, 8])
    ]
    # Within a pass no window is more than the slack shorter than the longest.
    assert all(int(lengths[b].max() - lengths[b].min()) <= 4 for b in passes)
    assert len(list(encoder.windower.batches(windows, batch_size=32))) == 1
    capped = list(encoder.windower.batches(windows, batch_size=2, slack_tokens=4))
    assert [len(b) for b in capped] == [2, 1, 2, 1, 2, 1]


def test_embedding_does_not_depend_on_batch_composition(encoder: Encoder) -> None:
    texts = ["one", "a much longer sentence with many more tokens in it", "two words"]
    alone = np.stack([encoder.embed([t])[0] for t in texts])
    together = encoder.embed(texts, batch_size=2)
    np.testing.assert_allclose(alone, together, atol=1e-5)


def test_pick_device() -> None:
    import torch

    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="Unsupported device"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


def test_batch_size_must_be_positive(encoder: Encoder) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        list(encoder.windower.batches(encoder.windower.windows(["x"]), 0))


def test_gpu_batch_size_follows_free_memory() -> None:
    from perspective_local.models.encoder import MAX_GPU_BATCH_SIZE, windows_that_fit

    minilm = {"max_length": 256, "hidden_size": 384, "intermediate_size": 1536, "num_heads": 12}
    # About 4.7 MB of fp16 activations per full window: 1 GiB free fits ~110 in half of it.
    assert 100 <= windows_that_fit(1 << 30, **minilm) <= 120
    assert windows_that_fit(80 << 30, **minilm) == MAX_GPU_BATCH_SIZE
    assert windows_that_fit(1 << 20, **minilm) == 1  # Never zero: one window always runs.
    roberta = {"max_length": 512, "hidden_size": 768, "intermediate_size": 3072, "num_heads": 12}
    assert windows_that_fit(8 << 30, **roberta) < windows_that_fit(8 << 30, **minilm)


def test_cpu_batch_size_is_the_measured_default(default_scorer: Any) -> None:
    from perspective_local.models.encoder import CPU_BATCH_SIZE

    assert default_scorer.encoder.default_batch_size == CPU_BATCH_SIZE
