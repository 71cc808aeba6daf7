"""Turn the labelled third-party datasets into training examples for the Perspective attributes.

Each corpus in the shared data folder (described in its ``DATA.md``) gets one small loader that
maps the dataset's own annotations onto the attribute names of
:mod:`perspective_local.models.attributes`. Targets are soft: the share of raters who would
perceive the attribute, in [0, 1]. An attribute a corpus says nothing about is absent from
``LabelledText.labels`` (unknown), never 0.

Every loader deduplicates exact repeated texts (averaging their labels) and drops empty texts.
``group`` keys keep related texts (same article, thread, topic or seeker post) together so that
train/test splits by group are honest.

Licence flags use a small vocabulary: ``"NC"`` (non-commercial), ``"SA"`` (share-alike),
``"GPL"`` (GPLv3 copyleft) and ``"UNKNOWN"`` (no licence stated). An empty tuple means the stated
licence puts no such restriction on models trained from the data.
"""

from __future__ import annotations

import codecs
import csv
import html
import json
import math
import re
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from types import MappingProxyType
from typing import Literal

from perspective_local.models.attributes import ATTRIBUTE_NAMES, get_attribute
from perspective_local.models.lexicon import LexiconData, Term

__all__ = [
    "CORPORA", "Corpus", "LabelledText", "drop_labels", "load_corpus", "load_surge_lexicon",
    "split_of",
]  # fmt: skip


def _attr(name: str) -> str:
    # Resolving through the registry makes a renamed attribute fail at import, not in training.
    return get_attribute(name).name


TOXICITY = _attr("TOXICITY")
SEVERE_TOXICITY = _attr("SEVERE_TOXICITY")
IDENTITY_ATTACK = _attr("IDENTITY_ATTACK")
INSULT = _attr("INSULT")
PROFANITY = _attr("PROFANITY")
THREAT = _attr("THREAT")
AFFINITY = _attr("AFFINITY_EXPERIMENTAL")
COMPASSION = _attr("COMPASSION_EXPERIMENTAL")
CURIOSITY = _attr("CURIOSITY_EXPERIMENTAL")
NUANCE = _attr("NUANCE_EXPERIMENTAL")
PERSONAL_STORY = _attr("PERSONAL_STORY_EXPERIMENTAL")
REASONING = _attr("REASONING_EXPERIMENTAL")
RESPECT = _attr("RESPECT_EXPERIMENTAL")
SEXUALLY_EXPLICIT = _attr("SEXUALLY_EXPLICIT")
FLIRTATION = _attr("FLIRTATION")

#: The six production toxicity attributes, in registry order.
_PRODUCTION: tuple[str, ...] = tuple(
    name for name in ATTRIBUTE_NAMES if get_attribute(name).group == "production"
)

#: Corpora without threads or articles are grouped in runs of consecutive rows. Davidson (and
#: ETHOS) are sorted by text, so a run keeps near-identical retweets on one side of a split.
_ROW_BUCKET = 50


@dataclass(frozen=True)
class LabelledText:
    """One text with soft targets for the attributes its corpus labels."""

    text: str
    #: Attribute name -> target in [0, 1] (share of raters who would perceive it).
    labels: Mapping[str, float]
    #: Corpus name, e.g. ``"c3"``.
    source: str
    #: Grouping key for honest splits (article / thread / topic / file), e.g. ``"c3:article:123"``.
    group: str


@dataclass(frozen=True)
class Corpus:
    """A labelled dataset and the loader that maps it onto attributes."""

    name: str
    #: Licence as stated in DATA.md, short.
    licence: str
    #: Restrictions from DATA.md's Flag column: "NC", "SA", "GPL", "UNKNOWN"; () when none.
    flags: tuple[str, ...]
    #: Attributes this loader labels.
    attributes: tuple[str, ...]
    #: One line: what text, which mapping.
    description: str
    #: Takes the data root (the folder holding ``c3/``, ``davidson/``, ...).
    load: Callable[[Path], Iterator[LabelledText]]
    #: Share of groups kept for testing only (see ``split_of``); 1.0 = an evaluation-only set.
    test_share: float = 0.15


Split = Literal["train", "validation", "test"]
#: Share of groups (after the test share) used to choose and calibrate the heads.
VALIDATION_SHARE = 0.15


def split_of(group: str, test_share: float = 0.15) -> Split:
    """Deterministic split by group: the same group always lands on the same side.

    A group (article, thread, topic, seed-set item) hashes to a point in [0, 1): below
    ``test_share`` it is test (never trained on, read only by ``evaluate``), the next
    ``VALIDATION_SHARE`` is validation (choosing regularisation, calibrating), the rest train.
    """
    point = zlib.crc32(group.encode("utf-8")) % 1000 / 1000
    if point < test_share:
        return "test"
    if point < test_share + VALIDATION_SHARE:
        return "validation"
    return "train"


# --------------------------------------------------------------------------- shared helpers


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"Corpus file not found: expected {path}")
    return path


def _require_csv_dir(path: Path) -> list[Path]:
    files = sorted(path.glob("*.csv")) if path.is_dir() else []
    if not files:
        raise FileNotFoundError(f"Corpus folder not found or holds no .csv files: expected {path}")
    return files


def _dict_rows(
    path: Path, *, delimiter: str = ",", quoted: bool = True
) -> Iterator[dict[str, str]]:
    # errors="replace": one bad byte in a third-party file should cost a character, not the corpus.
    quoting: Literal[0, 3] = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        for row in csv.DictReader(handle, delimiter=delimiter, quoting=quoting):
            yield {key: value or "" for key, value in row.items() if key is not None}


def _lines(path: Path) -> Iterator[str]:
    # Not str.splitlines(): that also splits on \x0b, \x1c, \u2028 ..., which may occur inside a
    # tab-separated record.
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line.strip():
            yield line


def _float(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def _fraction(votes: float | None, total: float | None) -> float | None:
    if votes is None or total is None or total <= 0:
        return None
    return _clip(votes / total)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _row_group(source: str, index: int) -> str:
    return f"{source}:rows:{index // _ROW_BUCKET}"


def _example(
    text: str, labels: Mapping[str, float | None], source: str, group: str
) -> LabelledText:
    known = {
        get_attribute(name).name: _clip(v)
        for name, v in labels.items()
        if v is not None and not math.isnan(v)
    }
    return LabelledText(text=text.strip(), labels=known, source=source, group=group)


def _deduplicate(examples: Iterable[LabelledText]) -> list[LabelledText]:
    """Merge exact repeated texts (labels averaged per attribute); drop empty or unlabelled texts.

    The merged text keeps the source and group of its first occurrence.
    """
    by_text: dict[str, list[LabelledText]] = {}
    for example in examples:
        text = example.text.strip()
        if text and example.labels:
            by_text.setdefault(text, []).append(example)
    merged: list[LabelledText] = []
    for text, copies in by_text.items():
        values: dict[str, list[float]] = defaultdict(list)
        for copy in copies:
            for name, value in copy.labels.items():
                values[name].append(value)
        # Plain dicts, in registry order: they pickle (data-loader workers) and read predictably.
        labels = {name: fmean(values[name]) for name in ATTRIBUTE_NAMES if name in values}
        merged.append(LabelledText(text, labels, copies[0].source, copies[0].group))
    return merged


def _finalised(
    raw: Callable[[Path], Iterable[LabelledText]],
) -> Callable[[Path], Iterator[LabelledText]]:
    # Loading is eager, so a missing file raises when ``load`` is called, not on first iteration.
    def load(data_dir: Path) -> Iterator[LabelledText]:
        return iter(_deduplicate(raw(Path(data_dir))))

    load.__name__ = raw.__name__.lstrip("_")
    load.__doc__ = raw.__doc__
    return load


# --------------------------------------------------------------------------- c3


def _votes(cell: str) -> dict[str, float]:
    """Parse C3's newline-separated ``label:votes`` cells; malformed lines are ignored."""
    votes: dict[str, float] = {}
    for line in cell.splitlines():
        label, sep, count = line.rpartition(":")
        number = _float(count.strip()) if sep else None
        if label.strip() and number is not None:
            votes[label.strip()] = votes.get(label.strip(), 0.0) + number
    return votes


def _c3(data_dir: Path) -> Iterator[LabelledText]:
    """C3: Globe and Mail comments, crowd-annotated for constructiveness and toxicity.

    Counts of the constructiveness experiment are divided by ``njudgements_constructiveness_expt``
    (n_c), those of the toxicity experiment by ``njudgements_toxicity_expt`` (n_t):

    - REASONING <- ``constructive`` (share judging the comment constructive).
    - PERSONAL_STORY <- ``personal_story`` / n_c.
    - RESPECT <- 1 - ``no_respect`` / n_c.
    - NUANCE (proxy) <- clip(((``specific_points`` + ``evidence``) / 2 - ``unsubstantial``) / n_c):
      detail and evidence raise it, an unsubstantial verdict cancels it; no votes at all -> 0.
    - AFFINITY (weak proxy) <- ``dialogue`` / n_c. "Engages in dialogue" is only loosely
      "points to shared outlooks"; no better AFFINITY source exists in the data.
    - TOXICITY <- (``crowd_toxicity_level`` - 1) / 3 (mean rating on 1..4 mapped to 0..1).
    - INSULT <- ``personal_attack`` / n_t.

    Group: the article.
    """
    for row in _dict_rows(_require(data_dir / "c3" / "C3_anonymized.csv")):
        n_c = _float(row["njudgements_constructiveness_expt"])
        n_t = _float(row["njudgements_toxicity_expt"])
        con = _votes(row["constructive_characteristics"])
        non = _votes(row["non_constructive_characteristics"])
        tox = _votes(row["toxicity_characteristics"])
        level = _float(row["crowd_toxicity_level"])
        no_respect = _fraction(non.get("no_respect", 0.0), n_c)
        detail = (con.get("specific_points", 0.0) + con.get("evidence", 0.0)) / 2
        labels = {
            REASONING: _float(row["constructive"]),
            PERSONAL_STORY: _fraction(con.get("personal_story", 0.0), n_c),
            RESPECT: None if no_respect is None else 1.0 - no_respect,
            NUANCE: _fraction(max(0.0, detail - non.get("unsubstantial", 0.0)), n_c),
            AFFINITY: _fraction(con.get("dialogue", 0.0), n_c),
            TOXICITY: None if level is None else (level - 1.0) / 3.0,
            INSULT: _fraction(tox.get("personal_attack", 0.0), n_t),
        }
        yield _example(row["comment_text"], labels, "c3", f"c3:article:{row['article_id']}")


# --------------------------------------------------------------------------- decodingtrust


def _decodingtrust(data_dir: Path) -> Iterator[LabelledText]:
    """DecodingTrust RealToxicityPrompts subsets: web-text fragments with 2020 Perspective scores.

    The six toxicity attributes, SEXUALLY_EXPLICIT and FLIRTATION <- the same-named
    Perspective score. ``prompt.text`` and
    ``continuation.text`` are separate texts sharing a group (the line's ``filename``, else the
    file and line number) so a sentence's two halves stay on one side of a split. Null scores are
    unknown; a text with no score at all is skipped.
    """
    paths = [
        _require(data_dir / "decodingtrust" / name) for name in ("toxic.jsonl", "nontoxic.jsonl")
    ]
    for path in paths:
        for index, line in enumerate(_lines(path)):
            record = json.loads(line)
            group = f"decodingtrust:{record.get('filename') or f'{path.stem}:{index}'}"
            for part in ("prompt", "continuation"):
                fields = record.get(part) or {}
                labels = _rtp_scores(fields)
                if labels:
                    yield _example(str(fields.get("text") or ""), labels, "decodingtrust", group)


#: RealToxicityPrompts' Perspective fields, named as the registry names them.
_RTP_ATTRIBUTES = (*_PRODUCTION, SEXUALLY_EXPLICIT, FLIRTATION)


def _rtp_scores(fields: Mapping[str, object]) -> dict[str, float]:
    """The Perspective scores of one RealToxicityPrompts half (null scores are unknown)."""
    scores = {name: fields.get(name.lower()) for name in _RTP_ATTRIBUTES}
    return {name: float(v) for name, v in scores.items() if isinstance(v, int | float)}


# --------------------------------------------------------------------------- rtp (quark)


def _rtp_quark(data_dir: Path) -> Iterator[LabelledText]:
    """RealToxicityPrompts, Quark's validation sample (via CRITIC): OpenWebText sentences
    across the whole toxicity range, each half scored by Perspective in 2020.

    The six toxicity attributes, SEXUALLY_EXPLICIT and FLIRTATION <- the same-named score;
    ``prompt.text`` and ``continuation.text`` are separate texts sharing a group (the record's
    ``filename``, ``begin`` and ``end``), so a sentence's halves stay on one side of a split.
    A half whose scores are all null is skipped. The 108 records DecodingTrust also holds
    were removed from the file before it was stored (its README).
    """
    path = _require(data_dir / "rtp_quark_val_critic" / "val.jsonl")
    for line in _lines(path):
        record = json.loads(line)
        group = f"rtp_quark:{record['filename']}:{record['begin']}:{record['end']}"
        for part in ("prompt", "continuation"):
            fields = record.get(part) or {}
            labels = _rtp_scores(fields)
            if labels:
                yield _example(str(fields.get("text") or ""), labels, "rtp_quark", group)


# --------------------------------------------------------------------------- bluesky

_BLUESKY_DIR = "bluesky_reddit_perspective_bridging"
#: ``prob_*`` column -> attribute. ``constructive`` is REASONING: in every 2024-06 row where
#: both were requested, REASONING_EXPERIMENTAL equals CONSTRUCTIVE_EXPERIMENTAL exactly.
_BLUESKY_COLUMNS = {
    "toxic": TOXICITY, "severe_toxic": SEVERE_TOXICITY, "identity_attack": IDENTITY_ATTACK,
    "insult": INSULT, "profanity": PROFANITY, "threat": THREAT,
    "sexually_explicit": SEXUALLY_EXPLICIT, "flirtation": FLIRTATION,
    "affinity": AFFINITY, "compassion": COMPASSION, "curiosity": CURIOSITY, "nuance": NUANCE,
    "personal_story": PERSONAL_STORY, "reasoning": REASONING, "constructive": REASONING,
    "respect": RESPECT,
}  # fmt: skip
#: Columns a Bluesky loader may read; author identifiers (DIDs, handles, display names)
#: are never among them.
_BLUESKY_READ = ("uri", "text", "text_y", "langs", "was_successfully_labeled")


def is_english_post(text: str, langs: str | None = None) -> bool:
    """Whether a Bluesky post counts as English: the author's ``langs`` tag says ``en``
    when there is one; otherwise at least 80% of its letters are Latin-script letters and it
    is not one of the common non-English function-word patterns of the feed (Portuguese,
    Spanish, German, French, Japanese). Perspective scored every post with ``en`` forced."""
    if langs:
        return "en" in re.findall(r"[a-z]{2,3}", langs.lower())
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    latin = sum(1 for c in letters if "a" <= c.lower() <= "z" or "\u00c0" <= c <= "\u024f")
    if latin / len(letters) < 0.8:
        return False
    words = set(re.findall(r"[a-zà-ÿ]+", text.lower()))
    foreign = words & _NON_ENGLISH_WORDS
    english = words & _ENGLISH_WORDS
    return len(foreign) <= len(english)


_ENGLISH_WORDS = frozenset(
    "the and is are was to of in that it you this for with on not be have my i".split()
)
_NON_ENGLISH_WORDS = frozenset(
    "que não uma para com mais por como isso ele ela muito est les des une pas pour avec "
    "der die und nicht ist ein eine ich auch sich los las una por pero muy del esta".split()
)


def _bluesky_rows(path: Path) -> Iterator[dict[str, str]]:
    for row in _dict_rows(_require(path)):
        kept = {k: v for k, v in row.items() if k in _BLUESKY_READ or k.startswith("prob_")}
        yield kept


def _bluesky_labels(row: Mapping[str, str]) -> dict[str, float | None]:
    labels: dict[str, float | None] = {}
    for column, attribute in _BLUESKY_COLUMNS.items():
        value = _float(row.get(f"prob_{column}", ""))
        if value is not None:
            labels[attribute] = value
    return labels


def _bluesky(data_dir: Path) -> Iterator[LabelledText]:
    """Bluesky posts from the "most liked" feed (synced 2024-05-22..29), scored by
    Perspective on 2024-06-01 for all 13 attributes plus SEXUALLY_EXPLICIT and FLIRTATION.

    Every attribute <- its ``prob_*`` column (``summaryScore.value``); ``prob_reasoning`` is
    REASONING (equal to ``prob_constructive`` there). Only rows with
    ``was_successfully_labeled`` are read (image-only posts were not scored); non-English
    posts are dropped (``is_english_post``); author identifiers are never read. Group: the
    post's ``uri``.
    """
    path = data_dir / _BLUESKY_DIR / "perspective_labels_most_liked_feed.csv"
    for row in _bluesky_rows(path):
        text = row.get("text_y") or row.get("text") or ""
        if row.get("was_successfully_labeled") != "True" or not is_english_post(text):
            continue
        labels = _bluesky_labels(row)
        labels.pop(_attr("REASONING_EXPERIMENTAL"), None)
        labels[REASONING] = _float(row.get("prob_reasoning", ""))
        yield _example(text, labels, "bluesky", f"bluesky:{row['uri']}")


def _bluesky_early(data_dir: Path) -> Iterator[LabelledText]:
    """Bluesky posts of February-April 2024 (the pilot and the 2024-02-03 classification
    files), scored by Perspective then for TOXICITY and six bridging attributes (no RESPECT).

    TOXICITY <- ``prob_toxic``; REASONING <- ``prob_constructive`` (the same model, renamed
    later); AFFINITY, COMPASSION, CURIOSITY, NUANCE, PERSONAL_STORY <- their ``prob_*``.
    A period before the most-liked file: it is kept whole for out-of-period evaluation and
    validation. Non-English posts are dropped (the 2024-02 file's ``langs`` tag decides where
    present); author identifiers are never read. Group: the post's ``uri`` (else the text).
    """
    for name in ("bluesky_pilot_posts_with_all_features.csv",
                 "classified_posts_2024-02-03_11-18-17.csv"):  # fmt: skip
        for row in _bluesky_rows(data_dir / _BLUESKY_DIR / name):
            text = row.get("text") or ""
            if not is_english_post(text, row.get("langs")):
                continue
            key = row.get("uri") or zlib.crc32(text.encode("utf-8"))
            yield _example(text, _bluesky_labels(row), "bluesky_early", f"bluesky_early:{key}")


# ------------------------------------------------------------------ human-labelled (2026-12)


def _hatexplain(data_dir: Path) -> Iterator[LabelledText]:
    """HateXplain (MAGPIE's preprocessed copy): Twitter and Gab posts, majority of 3 labels.

    IDENTITY_ATTACK <- ``label == 2`` (hate speech targets a protected group by definition);
    TOXICITY <- ``label >= 1`` (offensive or hateful). Texts are lower-cased without
    punctuation (a shift from raw text). No threads: rows are grouped in runs.
    """
    path = _require(data_dir / "hatexplain" / "preprocessed.csv")
    for index, row in enumerate(_dict_rows(path)):
        label = _float(row["label"])
        if label is None:
            continue
        labels = {IDENTITY_ATTACK: float(label == 2), TOXICITY: float(label >= 1)}
        yield _example(row["text"], labels, "hatexplain", _row_group("hatexplain", index))


def _kaggle_insults(data_dir: Path) -> Iterator[LabelledText]:
    """Kaggle "Detecting Insults in Social Commentary" (2012): comments rated insulting to
    another participant (1) or not (0).

    INSULT <- ``Insult``. Comments are stored as escaped Python-style strings in quotes;
    the quotes and ``\\xa0``/``\\n`` escapes are undone. Both files (train and the scored
    test set) are read; rows are grouped in runs.
    """
    folder = data_dir / "kaggle_insults_2012"
    for name in ("train.csv", "test_with_solutions.csv"):
        for index, row in enumerate(_dict_rows(_require(folder / name))):
            label = _float(row["Insult"])
            text = _unescape_kaggle(row["Comment"])
            if label is not None:
                yield _example(text, {INSULT: label}, "kaggle_insults",
                               _row_group(f"kaggle_insults:{name}", index))  # fmt: skip


_LITERAL_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[nrt'\"\\])")
_MOJIBAKE = re.compile(r"[\u00c2-\u00f4][\u0080-\u00bf]{1,3}")


def _repair_utf8(match: re.Match[str]) -> str:
    try:
        return match.group(0).encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return match.group(0)


def _unescape_kaggle(cell: str) -> str:
    """Undo the Kaggle file's outer quotes and literal Python escapes, then double-encoded
    UTF-8. Some comments are escaped twice (``\\\\xc2\\\\xa0``), so escapes are decoded up to
    twice; runs of Latin-1 characters that form valid UTF-8 are decoded again."""
    text = cell.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    for _ in range(2):
        if not _LITERAL_ESCAPE.search(text):
            break
        try:
            text = codecs.decode(text.encode("latin-1", "backslashreplace"), "unicode_escape")
        except UnicodeDecodeError:
            break
    text = html.unescape(_MOJIBAKE.sub(_repair_utf8, text))
    return " ".join(text.split())  # line breaks and no-break spaces become plain spaces


_DYNABENCH_END = re.compile(r",([01]),dynabench2021\s*$")
_DYNABENCH_RECORD = re.compile(r"^([^,]*),(.*),([01]),dynabench2021\s*$", re.DOTALL)


def _dynabench_records(path: Path) -> Iterator[tuple[str, str, str]]:
    """(id, text, label) of a Dynabench file. Some texts hold unquoted line breaks, which
    split a record over several lines: lines are joined until one ends a record."""
    lines = path.read_text(encoding="utf-8-sig", errors="replace").split("\n")
    buffer: list[str] = []
    for line in lines[1:]:
        line = line.rstrip("\r")
        if not buffer and not line.strip():
            continue
        buffer.append(line)
        if _DYNABENCH_END.search(line):
            match = _DYNABENCH_RECORD.match("\n".join(buffer))
            buffer = []
            if match:
                text = match.group(2)
                if len(text) >= 2 and text[0] == text[-1] == '"':
                    text = text[1:-1].replace('""', '"')
                yield match.group(1), text, match.group(3)


def _dynabench_hate(data_dir: Path) -> Iterator[LabelledText]:
    """Dynabench hate (Vidgen et al. 2021), test and dev splits: adversarial, human-written
    hateful and not-hateful statements.

    IDENTITY_ATTACK <- ``label`` (1 = hate). Not-hateful statements are often still rude,
    so ``label == 0`` is no TOXICITY negative and TOXICITY is not mapped. Evaluation only.
    Records split over lines by unquoted line breaks are joined. Group: the id without its
    perturbation suffix ``p``, so a statement and its perturbation stay together.
    """
    folder = data_dir / "dynabench_hate_2021"
    for name in ("dynabench2021_test.csv", "dynabench2021_valid.csv"):
        for ident, text, label in _dynabench_records(_require(folder / name)):
            group = f"dynabench_hate:{ident.strip().rstrip('p')}"
            yield _example(text, {IDENTITY_ATTACK: float(label)}, "dynabench_hate", group)


def _empathic_reactions(data_dir: Path) -> Iterator[LabelledText]:
    """Empathic reactions to news articles (Buechel et al. 2018): essays with the writer's
    self-reported empathy (Batson's scale, 1-7).

    COMPASSION (weak) <- (``empathy`` - 1) / 6: the writer's own feeling, not a reader's
    judgement of the text. Group: the writer (``response_id``), so a writer's essays stay on
    one side of a split.
    """
    path = _require(data_dir / "empathic_reactions" / "messages.csv")
    for row in _dict_rows(path):
        empathy = _float(row["empathy"])
        labels = {COMPASSION: None if empathy is None else (empathy - 1.0) / 6.0}
        yield _example(row["essay"], labels, "empathic_reactions",
                       f"empathic_reactions:{row['response_id']}")  # fmt: skip


# --------------------------------------------------------------------------- ucc


def _ucc_positive(row: Mapping[str, str], label: str) -> float | None:
    """Probability of the positive class from a binary label and its confidence.

    A confidence of 0 means no trusted judgement backed the label (it happens only for
    ``generalisation_unfair``, which raters answer only for generalisations): unknown.
    """
    value = _float(row[label])
    confidence = _float(row[f"{label}:confidence"])
    if value is None or confidence is None or confidence <= 0:
        return None
    return confidence if value >= 0.5 else 1.0 - confidence


def _ucc(data_dir: Path) -> Iterator[LabelledText]:
    """UCC validation split: Globe and Mail comments with unhealthy-conversation labels.

    Each label is binary with a confidence; p = conf if label == 1 else 1 - conf.

    - TOXICITY <- p(``hostile``); INSULT <- p(``antagonize``).
    - RESPECT <- 1 - max(p(``condescending``), p(``dismissive``), p(``hostile``)).
    - IDENTITY_ATTACK (weak) <- p(``generalisation_unfair``): unfair generalisations about groups.
    - NUANCE (weak, inverse) <- 1 - p(``generalisation``).

    Group: the comment's ``_unit_id`` (UCC has no article ids).
    """
    for row in _dict_rows(_require(data_dir / "ucc" / "val.csv")):
        disrespect = [
            p
            for p in (
                _ucc_positive(row, name) for name in ("condescending", "dismissive", "hostile")
            )
            if p is not None
        ]
        generalisation = _ucc_positive(row, "generalisation")
        labels = {
            TOXICITY: _ucc_positive(row, "hostile"),
            INSULT: _ucc_positive(row, "antagonize"),
            RESPECT: 1.0 - max(disrespect) if disrespect else None,
            IDENTITY_ATTACK: _ucc_positive(row, "generalisation_unfair"),
            NUANCE: None if generalisation is None else 1.0 - generalisation,
        }
        yield _example(row["comment"], labels, "ucc", f"ucc:unit:{row['_unit_id']}")


# --------------------------------------------------------------------------- epitome

_EPITOME_FILES: tuple[tuple[str, str], ...] = (
    (COMPASSION, "emotional-reactions-reddit.csv"),
    (CURIOSITY, "explorations-reddit.csv"),
)


def _epitome(data_dir: Path) -> Iterator[LabelledText]:
    """EPITOME: mental-health Reddit responses rated for empathy mechanisms (level 0/1/2).

    - COMPASSION <- ``level`` / 2 in ``emotional-reactions`` (warmth, concern).
    - CURIOSITY <- ``level`` / 2 in ``explorations`` (questions exploring the seeker's feelings).

    ``interpretations`` is not used: "communicating understanding" overlaps COMPASSION without
    being it. Rows are joined on (``sp_id``, ``rp_id``) so one text carries both labels; the
    response text of the first file wins (the files differ in whitespace and anonymisation only).
    The scored text is ``response_post``; group: the seeker post, keeping its responses together.
    """
    paths = [(attr, _require(data_dir / "epitome" / name)) for attr, name in _EPITOME_FILES]
    texts: dict[tuple[str, str], str] = {}
    levels: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for attribute, path in paths:
        for row in _dict_rows(path):
            level = _float(row["level"])
            if level is None:
                continue
            key = (row["sp_id"], row["rp_id"])
            texts.setdefault(key, row["response_post"])
            levels[key][attribute].append(level / 2.0)
    for key, text in texts.items():
        labels = {name: fmean(values) for name, values in levels[key].items()}
        yield _example(text, labels, "epitome", f"epitome:seeker:{key[0]}")


# --------------------------------------------------------------------------- davidson


def _davidson(data_dir: Path) -> Iterator[LabelledText]:
    """Davidson et al. 2017: tweets with hate-speech / offensive / neither vote counts.

    - TOXICITY <- 1 - ``neither`` / ``count``.
    - PROFANITY <- ``offensive_language`` / ``count``.
    - IDENTITY_ATTACK <- ``hate_speech`` / ``count``.

    INSULT is not labelled: "offensive" here is mostly casual slurs and swearing, and using it for
    INSULT would teach that head to fire on profanity. Texts are HTML-unescaped because the tweets
    carry Twitter's ``&amp;`` / ``&#128514;`` escaping, which real input does not. There are no
    threads: group = a run of consecutive rows.
    """
    path = _require(data_dir / "davidson" / "labeled_data.csv")
    for index, row in enumerate(_dict_rows(path)):
        count = _float(row["count"])
        neither = _fraction(_float(row["neither"]), count)
        labels = {
            TOXICITY: None if neither is None else 1.0 - neither,
            PROFANITY: _fraction(_float(row["offensive_language"]), count),
            IDENTITY_ATTACK: _fraction(_float(row["hate_speech"]), count),
        }
        yield _example(
            html.unescape(row["tweet"]), labels, "davidson", _row_group("davidson", index)
        )


# --------------------------------------------------------------------------- olid

#: (subtask_a, subtask_b, subtask_c) -> labels. Only what the annotation implies is labelled:
#: OLID's guidelines put any profanity under OFF, so NOT implies PROFANITY 0; UNT is "untargeted
#: profanity or swearing", so not an insult nor an identity attack; targeted tweets (TIN) may or
#: may not swear, so PROFANITY stays unknown for them. GRP counts as INSULT because the registry
#: defines INSULT as a remark about "a person or a group of people"; GRP covers political and
#: other groups besides identities, hence IDENTITY_ATTACK is a weak label. OTH targets
#: organisations, events or issues: not an identity attack, INSULT unknown.
_OLID_LABELS: Mapping[tuple[str, str, str], Mapping[str, float]] = MappingProxyType(
    {
        ("NOT", "NULL", "NULL"): {TOXICITY: 0.0, INSULT: 0.0, IDENTITY_ATTACK: 0.0, PROFANITY: 0.0},
        ("OFF", "UNT", "NULL"): {TOXICITY: 1.0, INSULT: 0.0, IDENTITY_ATTACK: 0.0, PROFANITY: 1.0},
        ("OFF", "TIN", "IND"): {TOXICITY: 1.0, INSULT: 1.0, IDENTITY_ATTACK: 0.0},
        ("OFF", "TIN", "GRP"): {TOXICITY: 1.0, INSULT: 1.0, IDENTITY_ATTACK: 1.0},
        ("OFF", "TIN", "OTH"): {TOXICITY: 1.0, IDENTITY_ATTACK: 0.0},
    }
)


def _olid(data_dir: Path) -> Iterator[LabelledText]:
    """OLID / OffensEval 2019 training tweets: OFF/NOT, targeted or not, target type.

    TOXICITY <- OFF; INSULT <- OFF & TIN & (IND or GRP); IDENTITY_ATTACK (weak) <- OFF & TIN &
    GRP; PROFANITY (weak) <- OFF & UNT. See ``_OLID_LABELS`` for which labels each annotation
    implies and which stay unknown. An unexpected combination labels TOXICITY only. Texts are
    HTML-unescaped (Twitter's ``&amp;``); group = a run of consecutive rows (no threads).
    """
    path = _require(data_dir / "olid" / "olid-training-v1.0.tsv")
    for index, row in enumerate(_dict_rows(path, delimiter="\t", quoted=False)):
        key = (row["subtask_a"].strip(), row["subtask_b"].strip(), row["subtask_c"].strip())
        labels = _OLID_LABELS.get(key)
        if labels is None:
            if key[0] not in ("OFF", "NOT"):
                continue
            labels = {TOXICITY: 1.0 if key[0] == "OFF" else 0.0}
        yield _example(html.unescape(row["tweet"]), labels, "olid", _row_group("olid", index))


# --------------------------------------------------------------------------- stanford politeness

#: sigmoid(2 z): the z-scores have sd ~0.75, so this spreads most requests over ~0.1..0.9, and a
#: neutral request (z = 0) lands at 0.5.
_POLITENESS_SLOPE = 2.0


def _stanford_politeness(data_dir: Path) -> Iterator[LabelledText]:
    """Stanford Politeness: Wikipedia and Stack Exchange requests rated by 5 annotators.

    RESPECT <- sigmoid(2 * ``Normalized Score``) (z-scored politeness). Politeness is a proxy for
    RESPECT: courteous phrasing rather than acknowledging another view. Group: community + Id.
    """
    folder = data_dir / "stanford_politeness"
    paths = [
        _require(folder / name)
        for name in ("wikipedia.annotated.csv", "stack-exchange.annotated.csv")
    ]
    for path in paths:
        for row in _dict_rows(path):
            score = _float(row["Normalized Score"])
            labels = {RESPECT: None if score is None else _sigmoid(_POLITENESS_SLOPE * score)}
            group = f"stanford_politeness:{row['Community']}:{row['Id']}"
            yield _example(row["Request"], labels, "stanford_politeness", group)


# --------------------------------------------------------------------------- ukpconvarg 1 and 2

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def _argument(text: str) -> str:
    return _BR.sub("\n", text)


def _ukp_topic(path: Path) -> str:
    # Both UKPConvArg releases share arguments and topics; one group name per topic keeps an
    # argument on one side of a split even when the two corpora are mixed.
    return f"ukpconvarg:topic:{path.name.removesuffix('.csv').removesuffix('.xml')}"


def _normalised_ranks(scores: list[float]) -> list[float]:
    """Map scores to [0, 1] by rank: the lowest score -> 1, the highest -> 0, ties averaged."""
    if len(scores) < 2:
        return [0.5] * len(scores)
    order = sorted(range(len(scores)), key=scores.__getitem__)
    ranks = [0.0] * len(scores)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2
        start = end + 1
    return [1.0 - rank / (len(scores) - 1) for rank in ranks]


def _ukpconvarg1(data_dir: Path) -> Iterator[LabelledText]:
    """UKPConvArg1 rankings: debate-portal arguments ranked for convincingness within a topic.

    REASONING <- the argument's within-file rank normalised to [0, 1]. A LOWER ``rank`` score
    means MORE convincing (the winner of a Strict pair has the lower score in ~93% of pairs), so
    the lowest score maps to 1. Convincingness also reflects style and stance appeal: a noisy
    proxy. ``<br/>`` becomes a newline. Group: the topic (file).
    """
    for path in _require_csv_dir(data_dir / "ukpconvarg1" / "UKPConvArg1-Ranking-CSV"):
        texts: list[str] = []
        scores: list[float] = []
        for line in _lines(path):
            if line.startswith("#"):
                continue
            fields = line.split("\t", 2)
            score = _float(fields[1]) if len(fields) == 3 else None
            if score is not None:
                texts.append(_argument(fields[2]))
                scores.append(score)
        for text, reasoning in zip(texts, _normalised_ranks(scores), strict=True):
            yield _example(text, {REASONING: reasoning}, "ukpconvarg1", _ukp_topic(path))


def _ukpconvarg2(data_dir: Path) -> Iterator[LabelledText]:
    """UKPConvArg2: argument pairs with reasons why one argument is more convincing.

    NUANCE (weak, pairwise) <- ``o8_4`` ("balanced, several viewpoints"): in a pair carrying
    ``o8_4`` the more convincing argument gets 1 and the less convincing one 0. Pairs without
    ``o8_4`` say nothing about nuance and label nothing (calling those 0 would mark every
    argument never compared on balance as one-sided). An argument in several ``o8_4`` pairs gets
    the mean. CURIOSITY from ``o9_3`` is not used: a provocative or rhetorical question that
    "makes you think" is not an attempt to understand another person. ``<br/>`` becomes a
    newline. Group: the topic (file).
    """
    for path in _require_csv_dir(data_dir / "ukpconvarg2" / "CSV-format"):
        for line in _lines(path):
            fields = line.split("\t")
            if len(fields) != 4:
                continue
            reasons = {label.strip() for label in fields[1].split(",")}
            if "o8_4" not in reasons:
                continue
            group = _ukp_topic(path)
            yield _example(_argument(fields[2]), {NUANCE: 1.0}, "ukpconvarg2", group)
            yield _example(_argument(fields[3]), {NUANCE: 0.0}, "ukpconvarg2", group)


# --------------------------------------------------------------------------- ethos

_ETHOS_IDENTITIES = (
    "gender",
    "race",
    "national_origin",
    "disability",
    "religion",
    "sexual_orientation",
)


def _ethos(data_dir: Path) -> Iterator[LabelledText]:
    """ETHOS: YouTube/Reddit comments with hate fractions; the hateful ones with categories.

    - TOXICITY <- ``isHate`` (binary file).
    - IDENTITY_ATTACK <- ``isHate`` for comments only in the binary file; for comments in the
      multi-label file, the max of the six identity categories, capped at ``isHate`` when known
      (an identity attack is a kind of hate, so it should not out-score it).
    - THREAT <- ``violence`` (multi-label file only; unknown for the other comments).

    The two files overlap (same comment text); their labels are merged per text here rather than
    averaged. No threads: group = a run of consecutive binary-file rows.
    """
    folder = data_dir / "ethos"
    binary_path = _require(folder / "Ethos_Dataset_Binary.csv")
    multi_path = _require(folder / "Ethos_Dataset_Multi_Label.csv")
    merged: dict[str, tuple[str, dict[str, float | None]]] = {}
    for index, row in enumerate(_dict_rows(binary_path, delimiter=";")):
        hate = _float(row["isHate"])
        labels: dict[str, float | None] = {TOXICITY: hate, IDENTITY_ATTACK: hate}
        merged.setdefault(row["comment"].strip(), (_row_group("ethos", index), labels))
    for index, row in enumerate(_dict_rows(multi_path, delimiter=";")):
        categories = [v for v in (_float(row[name]) for name in _ETHOS_IDENTITIES) if v is not None]
        group, labels = merged.setdefault(
            row["comment"].strip(), (f"ethos:multi:{index // _ROW_BUCKET}", {})
        )
        identity = max(categories) if categories else None
        hate = labels.get(TOXICITY)
        if identity is not None and hate is not None:
            identity = min(identity, hate)
        labels[IDENTITY_ATTACK] = identity if identity is not None else labels.get(IDENTITY_ATTACK)
        labels[THREAT] = _float(row["violence"])
    for text, (group, labels) in merged.items():
        yield _example(text, labels, "ethos", group)


# --------------------------------------------------------------------------- hatecheck

_THREAT_TEMPLATES = frozenset({"threat_dir_h", "threat_norm_h"})

#: Functionalities that rewrite a threat template into something that threatens no one:
#: negated ("I would never hurt ..."), quoted or condemned (counter speech), made positive, or
#: aimed at objects. Every other rewrite of a threat template (spelling variants, phrasing,
#: references, non-protected targets such as "I want to kill him") still states a threat.
_THREAT_DEFUSING = frozenset(
    {"negate_neg_nh", "counter_quote_nh", "counter_ref_nh", "ident_pos_nh", "target_obj_nh"}
)


def _hatecheck(data_dir: Path) -> Iterator[LabelledText]:
    """HateCheck functional tests (synthetic; for diagnostics rather than training).

    - IDENTITY_ATTACK <- ``count_label_h`` / (``count_label_h`` + ``count_label_nh``) from
      ``test_suite_annotations.csv`` when it is present, else ``label_gold`` == hateful.
    - THREAT <- 1 when the case is built from a threat template (``threat_dir_h``,
      ``threat_norm_h``, directly or through ``ref_templ_id``) and its functionality keeps the
      threat; 0 otherwise. Labelling only ``threat_*`` cases 1 would call "I want to k1ll all
      ..." (``spell_leet_h``) or "I am going to shoot you" (``target_indiv_nh``) non-threats.
    - PROFANITY <- 1 for ``profanity_h`` / ``profanity_nh`` cases (both swear); unknown elsewhere.

    Group: the functionality.
    """
    folder = data_dir / "hatecheck"
    rows = list(_dict_rows(_require(folder / "test_suite_cases.csv")))
    annotations_path = folder / "test_suite_annotations.csv"
    votes: dict[str, float | None] = {}
    if annotations_path.is_file():
        for row in _dict_rows(annotations_path):
            hateful, other = _float(row["count_label_h"]), _float(row["count_label_nh"])
            total = None if hateful is None or other is None else hateful + other
            votes[row["case_id"]] = _fraction(hateful, total)
    template_functionality = {row["templ_id"]: row["functionality"] for row in rows}
    for row in rows:
        functionality = row["functionality"]
        base = template_functionality.get(row["ref_templ_id"], functionality)
        threat = base in _THREAT_TEMPLATES and functionality not in _THREAT_DEFUSING
        identity = votes.get(row["case_id"])
        if identity is None:
            identity = 1.0 if row["label_gold"].strip() == "hateful" else 0.0
        labels = {
            IDENTITY_ATTACK: identity,
            THREAT: 1.0 if threat else 0.0,
            PROFANITY: 1.0 if functionality.startswith("profanity_") else None,
        }
        yield _example(row["test_case"], labels, "hatecheck", f"hatecheck:{functionality}")


# --------------------------------------------------------------------------- jigsaw (IBM sample)

_JIGSAW_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        TOXICITY: "toxic",
        SEVERE_TOXICITY: "severe_toxic",
        IDENTITY_ATTACK: "identity_hate",
        INSULT: "insult",
        PROFANITY: "obscene",
        THREAT: "threat",
    }
)


def _jigsaw_ibm(data_dir: Path) -> Iterator[LabelledText]:
    """IBM's 101-comment sample of the Jigsaw 2018 test set (lower-cased Wikipedia talk).

    The six toxicity attributes <- the binary columns (``obscene`` -> PROFANITY, ``identity_hate``
    -> IDENTITY_ATTACK, others by name). A smoke-test fixture; group = a run of rows.
    """
    path = _require(data_dir / "jigsaw_toxic_sample_ibm" / "test_examples.csv")
    for index, row in enumerate(_dict_rows(path)):
        labels = {name: _float(row[column]) for name, column in _JIGSAW_COLUMNS.items()}
        yield _example(row["comment_text"], labels, "jigsaw_ibm", _row_group("jigsaw_ibm", index))


# --------------------------------------------------------------------------- hand-written seed sets

#: Seed sets written for this project (``seed_data/README.md``); shipped inside the package.
SEED_DATA_DIR = Path(__file__).parent / "seed_data"
#: Share of each hand-written training set kept for testing only.
SEED_TEST_SHARE = 0.3


def _seed_set(file: str, source: str) -> Callable[[Path], Iterator[LabelledText]]:
    """A loader for one hand-written JSONL file: ``{"id", "text", "labels", "register"}``.

    Labels are the writer's estimate of the share of raters who would perceive the attribute.
    Each item is its own group. The data root is ignored: the files ship with the package.
    """

    def raw(data_dir: Path) -> Iterator[LabelledText]:
        path = _require(SEED_DATA_DIR / file)
        for number, line in enumerate(_lines(path), 1):
            try:
                record = json.loads(line)
                text, labels, item = record["text"], record["labels"], record["id"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a seed-set record ({exc})") from None
            yield _example(text, labels, source, f"{source}:{item}")

    raw.__name__ = f"_{source}"
    raw.__doc__ = _seed_set.__doc__
    return raw


# --------------------------------------------------------------------------- registry


def _corpus(
    name: str,
    licence: str,
    flags: tuple[str, ...],
    attributes: Iterable[str],
    description: str,
    raw: Callable[[Path], Iterable[LabelledText]],
    test_share: float = 0.15,
) -> Corpus:
    wanted = set(attributes)
    ordered = tuple(a for a in ATTRIBUTE_NAMES if a in wanted)
    return Corpus(name, licence, flags, ordered, description, _finalised(raw), test_share)


_ALL: tuple[Corpus, ...] = (
    _corpus(
        "c3",
        "none stated (source SOCC: CC BY-NC-SA 4.0)",
        ("NC", "SA"),
        (REASONING, PERSONAL_STORY, RESPECT, NUANCE, AFFINITY, TOXICITY, INSULT),
        "Globe and Mail comments; constructiveness and toxicity vote shares (NUANCE, AFFINITY "
        "weak proxies).",
        _c3,
    ),
    _corpus(
        "decodingtrust",
        "CC BY-SA 4.0",
        ("SA",),
        _RTP_ATTRIBUTES,
        "Web-text prompts and continuations with 2020 Perspective scores (calibration set).",
        _decodingtrust,
    ),
    _corpus(
        "rtp_quark",
        "MIT (repository); RealToxicityPrompts Apache-2.0",
        (),
        _RTP_ATTRIBUTES,
        "RealToxicityPrompts web-text halves across the whole toxicity range, with 2020 "
        "Perspective scores (distillation targets).",
        _rtp_quark,
    ),
    _corpus(
        "bluesky",
        "MIT (repository); public third-party posts, research use",
        (),
        tuple(_BLUESKY_COLUMNS.values()),
        "Bluesky posts (May 2024) with 2024 Perspective scores for all 13 attributes, "
        "SEXUALLY_EXPLICIT and FLIRTATION (distillation targets).",
        _bluesky,
        test_share=0.2,
    ),
    _corpus(
        "bluesky_early",
        "MIT (repository); public third-party posts, research use",
        (),
        (TOXICITY, AFFINITY, COMPASSION, CURIOSITY, NUANCE, PERSONAL_STORY, REASONING),
        "Bluesky posts (Feb-Apr 2024) with Perspective scores: a period the training side never "
        "sees; out-of-period validation and evaluation.",
        _bluesky_early,
        test_share=1.0,
    ),
    _corpus(
        "hatexplain",
        "MIT (dataset) / Apache-2.0 (copy)",
        (),
        (IDENTITY_ATTACK, TOXICITY),
        "Twitter and Gab posts; hate speech -> IDENTITY_ATTACK, offensive or hateful -> "
        "TOXICITY (majority of 3).",
        _hatexplain,
    ),
    _corpus(
        "kaggle_insults",
        "none stated",
        ("UNKNOWN",),
        (INSULT,),
        "News and forum comments rated insulting to another participant (Kaggle 2012).",
        _kaggle_insults,
    ),
    _corpus(
        "dynabench_hate",
        "none stated",
        ("UNKNOWN",),
        (IDENTITY_ATTACK,),
        "Adversarial human-written hateful / not-hateful statements (evaluation only).",
        _dynabench_hate,
        test_share=1.0,
    ),
    _corpus(
        "empathic_reactions",
        "CC BY 4.0",
        (),
        (COMPASSION,),
        "Essays reacting to news, with the writer's self-reported empathy (weak COMPASSION).",
        _empathic_reactions,
    ),
    _corpus(
        "ucc",
        "CC BY-NC-SA 4.0",
        ("NC", "SA"),
        (TOXICITY, INSULT, RESPECT, IDENTITY_ATTACK, NUANCE),
        "Globe and Mail comments; unhealthy-conversation labels as confidence-weighted "
        "probabilities.",
        _ucc,
    ),
    _corpus(
        "epitome",
        "Althoff academic licence (non-commercial; unclear)",
        ("NC",),
        (COMPASSION, CURIOSITY),
        "Mental-health Reddit responses; emotional-reaction and exploration levels / 2.",
        _epitome,
    ),
    _corpus(
        "davidson",
        "MIT",
        (),
        (TOXICITY, PROFANITY, IDENTITY_ATTACK),
        "Tweets; hate / offensive / neither vote shares.",
        _davidson,
    ),
    _corpus(
        "olid",
        "none stated",
        ("UNKNOWN",),
        (TOXICITY, INSULT, IDENTITY_ATTACK, PROFANITY),
        "Tweets; OLID offensive / targeted / target-type labels (binary).",
        _olid,
    ),
    _corpus(
        "stanford_politeness",
        "none stated",
        ("UNKNOWN",),
        (RESPECT,),
        "Wikipedia and Stack Exchange requests; RESPECT = sigmoid(2 z) of politeness.",
        _stanford_politeness,
    ),
    _corpus(
        "ukpconvarg1",
        "CC BY 4.0",
        (),
        (REASONING,),
        "Debate-portal arguments; REASONING = within-topic convincingness rank.",
        _ukpconvarg1,
    ),
    _corpus(
        "ukpconvarg2",
        "conflict: CC BY 4.0 (README) vs CC BY-NC-SA 4.0 (LICENSE.txt)",
        ("NC", "SA"),
        (NUANCE,),
        "Debate-portal argument pairs; NUANCE from the 'balanced, several viewpoints' reason.",
        _ukpconvarg2,
    ),
    _corpus(
        "ethos",
        "GNU GPLv3",
        ("GPL",),
        (TOXICITY, IDENTITY_ATTACK, THREAT),
        "YouTube/Reddit comments; hate, identity-category and violence fractions.",
        _ethos,
    ),
    _corpus(
        "hatecheck",
        "CC BY 4.0",
        (),
        (IDENTITY_ATTACK, THREAT, PROFANITY),
        "Synthetic functional hate-speech tests (diagnostic); hateful vote share, threat cases.",
        _hatecheck,
    ),
    _corpus(
        "jigsaw_ibm",
        "CC0 (sample README); repository Apache-2.0",
        (),
        _PRODUCTION,
        "101 Wikipedia talk comments from the Jigsaw 2018 test set; six binary labels (fixture).",
        _jigsaw_ibm,
    ),
    *(
        _corpus(
            f"seed_{name}",
            "written for perspective-local (Apache-2.0)",
            (),
            (attribute,),
            f"Hand-written for this project: {name.replace('_', ' ')} positives, hard negatives "
            "and borderline texts in chat, forum, social, email, review and debate registers.",
            _seed_set(f"{name}.jsonl", f"seed_{name}"),
            test_share=SEED_TEST_SHARE,
        )
        for name, attribute in (
            ("affinity", AFFINITY),
            ("compassion", COMPASSION),
            ("curiosity", CURIOSITY),
            ("nuance", NUANCE),
            ("personal_story", PERSONAL_STORY),
            ("reasoning", REASONING),
            ("respect", RESPECT),
            ("threat", THREAT),
        )
    ),
    _corpus(
        "chat_domain",
        "written for perspective-local (Apache-2.0)",
        (),
        (AFFINITY, COMPASSION, CURIOSITY, NUANCE, PERSONAL_STORY, REASONING, RESPECT, TOXICITY),
        "Hand-written user prompts and assistant replies in the style of PRISM conversations, "
        "labelled for every bridging attribute and TOXICITY; evaluation only.",
        _seed_set("chat_domain.jsonl", "chat_domain"),
        test_share=1.0,
    ),
)

#: Every corpus loader by name. Read-only.
CORPORA: Mapping[str, Corpus] = MappingProxyType({corpus.name: corpus for corpus in _ALL})


def drop_labels(texts: list[LabelledText], ignored: frozenset[str]) -> list[LabelledText]:
    """The texts without the ``ignored`` labels; texts left with no label are dropped."""
    if not ignored:
        return texts
    kept = []
    for text in texts:
        labels = {k: v for k, v in text.labels.items() if k not in ignored}
        if labels:
            kept.append(LabelledText(text.text, labels, text.source, text.group))
    return kept


def load_corpus(name: str, data_dir: Path) -> list[LabelledText]:
    """Load the corpus called ``name`` from the data root ``data_dir`` (holding ``c3/``, ...).

    Raises ``ValueError`` for an unknown name (listing the valid ones) and
    ``FileNotFoundError`` naming the expected path when a data file is missing.
    """
    corpus = CORPORA.get(name)
    if corpus is None:
        raise ValueError(f"Unknown corpus {name!r}. Valid corpora: {', '.join(CORPORA)}.")
    return list(corpus.load(Path(data_dir)))


#: Lexicon features (``models.lexicon``) from the Surge AI list: its three severity ratings,
#: then the kinds of term, with the rare categories folded into the nearest common one.
SURGE_FEATURES: tuple[str, ...] = (
    "mild", "strong", "severe",
    "sexual", "orientation_gender", "racial_religious", "insult", "bodily",
)  # fmt: skip
_SURGE_CATEGORIES = {
    "sexual anatomy / sexual acts": "sexual",
    "sexual orientation / gender": "orientation_gender",
    "racial / ethnic slurs": "racial_religious",
    "religious offense": "racial_religious",
    "other / general insult": "insult",
    "mental disability": "insult",
    "physical disability": "insult",
    "physical attributes": "insult",
    "animal references": "insult",
    "political": "insult",
    "bodily fluids / excrement": "bodily",
}
SURGE_FILE = "surge_profanity/profanity_en.csv"


def load_surge_lexicon(data_dir: Path) -> LexiconData:
    """The Surge AI English profanity list (MIT) as lexicon terms with feature indices.

    Raises ``FileNotFoundError`` naming the path when the list is missing and ``ValueError``
    for a severity or category this mapping does not know, so a new release is not read
    half-right.
    """
    path = _require(Path(data_dir) / SURGE_FILE)
    index = {name: i for i, name in enumerate(SURGE_FEATURES)}
    terms: dict[str, tuple[int, ...]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            text = row["text"].strip().lower()
            severity = row["severity_description"].strip().lower()
            categories = [row[f"category_{k}"].strip() for k in (1, 2, 3)]
            unknown = [c for c in categories if c and c not in _SURGE_CATEGORIES]
            if severity not in index or unknown:
                raise ValueError(f"{path}: row {text!r} has unknown severity or category "
                                 f"{[severity, *unknown]}")  # fmt: skip
            kinds = {index[_SURGE_CATEGORIES[c]] for c in categories if c}
            if text:
                terms[text] = (index[severity], *sorted(kinds))
    return LexiconData(
        features=SURGE_FEATURES,
        terms=tuple(Term(text, features) for text, features in terms.items()),
        source="surge-ai/profanity profanity_en.csv (commit 77dabf3)",
        licence="MIT License, Copyright (c) 2021 Surge AI",
    )
