"""Write ``MODEL_CARD.md`` from a model's manifest and one ``evaluate`` run.

Every number in the card comes from the reports it is given (the suite's ``Evaluation``, the
per-source generalisation report and the leave-one-corpus-out report); the card never
carries a figure by hand, so regenerating it after retraining keeps it true. The headline is
generalisation: targets are judged per source, never on a pooled set, and the hand-written
seed sets have a section of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from perspective_local.evaluation.generalisation import agreement_table, human_table
from perspective_local.evaluation.loco import loco_table
from perspective_local.evaluation.metrics import format_estimate
from perspective_local.evaluation.suite import Evaluation
from perspective_local.models.artifact import Manifest

Source = Literal["shipped", "left_out"]


@dataclass(frozen=True)
class Target:
    """A quality bar: ``metric`` of ``attribute`` is at least ``value`` on **each** of the
    sets ``on`` (never pooled). ``source`` says whose figure counts: the shipped model's on a
    set it never trained on (or a test side), or the recipe's with the corpus left out of
    training (``loco``), for human-labelled corpora the shipped model trained on."""

    attribute: str
    metric: str
    on: tuple[str, ...]
    value: float
    data: str
    source: Source = "shipped"


_BRIDGING = (
    "AFFINITY_EXPERIMENTAL", "COMPASSION_EXPERIMENTAL", "CURIOSITY_EXPERIMENTAL",
    "NUANCE_EXPERIMENTAL", "PERSONAL_STORY_EXPERIMENTAL", "REASONING_EXPERIMENTAL",
    "RESPECT_EXPERIMENTAL",
)  # fmt: skip
_WEB = ("rtp_quark", "decodingtrust")
_SOCIAL = ("bluesky_early", "bluesky")

#: The bars of the distillation issue, each on the closest data this project has.
TARGETS: tuple[Target, ...] = (
    Target("TOXICITY", "roc_auc", ("c3", "ucc"), 0.85, "human-labelled news comments", "left_out"),
    Target("TOXICITY", "spearman", _WEB, 0.85, "web text vs Perspective (2020)"),
    Target("SEVERE_TOXICITY", "spearman", _WEB, 0.82, "web text vs Perspective (2020)"),
    Target("INSULT", "spearman", _WEB, 0.82, "web text vs Perspective (2020)"),
    Target("PROFANITY", "spearman", _WEB, 0.80, "web text vs Perspective (2020)"),
    Target("IDENTITY_ATTACK", "spearman", _WEB, 0.70, "web text vs Perspective (2020)"),
    Target("THREAT", "spearman", _WEB, 0.70, "web text vs Perspective (2020)"),
    Target("TOXICITY", "spearman", _SOCIAL, 0.80, "social-media posts vs Perspective (2024)"),
    *(Target(a, "spearman", _SOCIAL, 0.70, "social-media posts vs Perspective (2024)")
      for a in _BRIDGING),
    Target("REASONING_EXPERIMENTAL", "roc_auc", ("c3",), 0.95, "human labels", "left_out"),
    Target("PERSONAL_STORY_EXPERIMENTAL", "roc_auc", ("c3",), 0.80, "human labels", "left_out"),
    Target("COMPASSION_EXPERIMENTAL", "roc_auc", ("epitome",), 0.85, "human labels", "left_out"),
    Target("CURIOSITY_EXPERIMENTAL", "roc_auc", ("epitome",), 0.95, "human labels", "left_out"),
)  # fmt: skip
#: A bar of the issue that no data here can measure.
UNMEASURED = ("TOXICITY Spearman vs Perspective on LLM-written text >= 0.75: no LLM-written "
              "text with Perspective scores is available to this project.")  # fmt: skip

_COLUMNS = ("n", "n_positive", "roc_auc", "spearman", "mae", "ece")


@dataclass(frozen=True)
class TargetResult:
    target: Target
    #: Per set in ``target.on`` that was measured: the estimate (as a dict).
    measured: dict[str, dict[str, Any]]

    @property
    def met(self) -> bool | None:
        values = [m["value"] for m in self.measured.values()]
        if not values or any(v is None for v in values):
            return None
        return all(v >= self.target.value for v in values)


def target_results(
    generalisation: dict[str, Any], loco: dict[str, Any] | None = None
) -> list[TargetResult]:
    """Each target with its per-set estimates (sets without the label are left out)."""
    out = []
    for target in TARGETS:
        measured: dict[str, dict[str, Any]] = {}
        for name in target.on:
            if target.source == "left_out":
                row = (loco or {}).get(name, {}).get(target.attribute)
                estimate = row["left_out"].get(target.metric) if row else None
            else:
                entry = generalisation.get(name, {}).get("attributes", {})
                estimate = entry.get(target.attribute, {}).get(target.metric)
            if estimate is not None:
                measured[name] = estimate
        out.append(TargetResult(target, measured))
    return out


def render_model_card(
    manifest: Manifest,
    evaluation: Evaluation,
    *,
    command: str,
    plots: str = "reliability",
    generalisation: dict[str, Any] | None = None,
    loco: dict[str, Any] | None = None,
) -> str:
    """The card's Markdown; ``plots`` is where the reliability plots lie, as the card links it."""
    generalisation = generalisation or {}
    lines = [
        f"# Model card: {manifest.model_version}",
        "",
        f"Generated by `{command}` from the artifact's manifest and one evaluation run; "
        "do not edit by hand.",
        "",
        *_overview(manifest),
        *_training_data(manifest),
        *_targets(generalisation, loco),
        *_generalisation(generalisation, loco),
        *_sets(evaluation, plots),
        *_identity_bias(evaluation),
        *_hatecheck(evaluation),
        *_training_details(manifest),
        *_weaknesses(manifest, evaluation, generalisation, loco),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _short(attribute: str) -> str:
    return attribute.removesuffix("_EXPERIMENTAL")


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    header = list(header)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return [*out, ""]


def _overview(manifest: Manifest) -> list[str]:
    encoder = manifest.encoder
    adapters = encoder.adapters
    tuned = (
        f"fine-tuned with LoRA adapters (rank {adapters.rank} on every linear layer, "
        "folded into the weights at load)"
        if adapters
        else "frozen"
    )
    return [
        "## What it is",
        "",
        f"- Encoder: `{encoder.id}`, {tuned}; windows of {encoder.max_length} tokens "
        f"overlapping by {encoder.window_overlap}; a text scores the maximum over its windows.",
        f"- Heads: one logistic head per attribute on the {encoder.dimension}-dimensional "
        "sentence embedding, fitted on soft labels (vote shares), Platt-calibrated.",
        *_lexicon_line(manifest),
        f"- Attributes: {', '.join(manifest.attributes)}.",
        "- Language: English only. Perspective served the production attributes in more "
        "languages; this model does not.",
        "",
        "**Intended use**: research scoring of English text (comments, chat prompts and LLM "
        "replies) as a local stand-in for Perspective's attributes, and triage that a person "
        "reviews. **Not for**: automated moderation decisions about people without review, "
        "non-English text, or any use the training-data licences below forbid.",
        "",
    ]


def _lexicon_line(manifest: Manifest) -> list[str]:
    if manifest.lexicon is None:
        return []
    used = [a for a, m in manifest.metrics.items() if m.get("lexicon", {}).get("used")]
    return [
        f"- Lexicon features: counts of the terms of {manifest.lexicon.source} in each window "
        f"({', '.join(manifest.lexicon.features)}; log1p), whole-word matches on the encoder's "
        f"tokens, offered to every head and kept by {', '.join(used) or 'none'} (where they "
        "lowered the validation cross-entropy against Perspective)."
    ]


def _training_data(manifest: Manifest) -> list[str]:
    rows = []
    restricted = set()
    for name, info in manifest.training_data.items():
        flags = info.get("flags", [])
        restricted.update(flags)
        labels = ", ".join(f"{_short(a)} {n}" for a, n in info.get("labels", {}).items())
        rows.append(
            (
                f"`{name}`",
                info.get("licence", ""),
                ",".join(flags) or "—",
                info.get("texts"),
                labels,
            )
        )
    lines = ["## Training data", ""]
    lines += _table(("corpus", "licence", "flags", "texts (all splits)", "labels"), rows)
    if restricted:
        meaning = {
            "NC": "non-commercial only",
            "SA": "share-alike",
            "GPL": "GPLv3 copyleft",
            "UNKNOWN": "no licence stated",
        }
        flagged = ", ".join(f"{f} = {meaning.get(f, f)}" for f in sorted(restricted))
        lines += [
            f"**Licence warning**: sources flagged {flagged}. Weights trained on them may carry "
            "those terms; until that is settled, treat this model as non-commercial and "
            "share-alike. Retrain with `--corpora` restricted to unflagged corpora for "
            "other uses.",
            "",
        ]
    lines += [
        "The `seed_*` corpora are hand-written for this project (by the developers, with an "
        "AI assistant) because no labelled data exists for AFFINITY, NUANCE and most of "
        "CURIOSITY; see `perspective_local/training/seed_data/README.md`. A fixed 30% of each is "
        "kept for testing only.",
        "",
    ]
    return lines


def _targets(generalisation: dict[str, Any], loco: dict[str, Any] | None) -> list[str]:
    results = target_results(generalisation, loco)
    rows = []
    for result in results:
        target = result.target
        cells = "; ".join(f"`{k}` {format_estimate(v)}" for k, v in result.measured.items())
        met = {True: "yes", False: "**no**", None: "-"}[result.met]
        whose = "left out of training" if target.source == "left_out" else "shipped model"
        rows.append((_short(target.attribute), target.metric, target.data, whose,
                     f"≥ {target.value:.2f}", cells or "-", met))  # fmt: skip
    n_met = sum(1 for r in results if r.met)
    return [
        "## Targets",
        "",
        f"**{n_met} of {len(results)} targets met.** Each target must hold on every listed "
        "set separately (95% bootstrap intervals in brackets). Sets are the test sides of the "
        "Perspective-scored corpora (`bluesky`, `rtp_quark`, `decodingtrust`: never fitted "
        "on), `bluesky_early` (a period never trained on), and, for the human-labelled "
        "corpora the model trains on, the recipe's figure with that corpus left out of "
        "training. The project's independent held-out data (kept outside this repository) "
        "is measured separately and may differ.",
        "",
        *_table(("attribute", "metric", "data", "whose figure", "target", "measured", "met"), rows),
        f"Not measurable here: {UNMEASURED}",
        "",
    ]


def _generalisation(generalisation: dict[str, Any], loco: dict[str, Any] | None) -> list[str]:
    if not generalisation and not loco:
        return []
    lines = ["## Agreement with Perspective, per source", ""]
    if generalisation:
        lines += [
            "Spearman and mean absolute error against Perspective's own scores, and Spearman "
            "among texts Perspective scores below 0.3 (where most real text lies); 95% "
            "bootstrap intervals. Each set on its own; nothing is pooled.",
            "",
            *(f"- `{name}`: {entry['description']} ({entry['n']} texts)"
              for name, entry in generalisation.items() if entry["kind"] == "perspective"),
            "",
            *agreement_table(generalisation),
            "",
            "## Human labels, per source",
            "",
            "ROC-AUC (labels binarised at 0.5) on each human-labelled set; a trained-on "
            "corpus is measured on its test side.",
            "",
            *human_table(generalisation),
            "",
        ]  # fmt: skip
    if loco:
        lines += [
            "## Leave one corpus out",
            "",
            "For each corpus, the heads are fitted by the training recipe on the frozen "
            "encoder twice: with every training corpus, and with that corpus left out; both "
            "are measured on its test side. The left-out figure is the evidence of "
            "generalisation to a new source; the gap is what training on the corpus itself "
            "bought.",
            "",
            *loco_table(loco),
            "",
        ]
    return lines


def _sets(evaluation: Evaluation, plots: str) -> list[str]:
    lines = [
        "## Every evaluation set of the suite",
        "",
        "In-distribution and diagnostic detail; not a headline. Pooled sets "
        "(`human_comments`, `pooled_test`) mix sources with different base rates. ROC-AUC "
        "binarises labels at 0.5; Spearman, MAE (mean absolute error) and ECE (expected "
        "calibration error, 10 bins) use the soft labels.",
        "",
    ]
    seeds = {n: r for n, r in evaluation.sets.items() if n.startswith("seed_")}
    others = {n: r for n, r in evaluation.sets.items() if n not in seeds}
    lines += _set_tables(evaluation, others, plots)
    if seeds:
        lines += [
            "## Hand-written seed sets (not evidence of generalisation)",
            "",
            "Written for this project (see `training/seed_data/README.md`); far easier than "
            "real text. Reported on their own, never in a headline.",
            "",
            *_set_tables(evaluation, seeds, plots),
        ]
    return lines


def _set_tables(evaluation: Evaluation, sets: dict[str, dict[str, Any]], plots: str) -> list[str]:
    lines: list[str] = []
    for name, report in sets.items():
        info = evaluation.set_info.get(name, {})
        lines += [f"### `{name}`", ""]
        if info.get("description"):
            lines += [f"{info['description']} ({info.get('texts')} texts)", ""]
        lines += [f"Reliability plot: [{plots}/{name}.png]({plots}/{name}.png)", ""]
        rows = [(_short(a), *(m.get(c) for c in _COLUMNS)) for a, m in report.items()]
        lines += _table(("attribute", *_COLUMNS), rows)
    return lines


def _identity_bias(evaluation: Evaluation) -> list[str]:
    if not evaluation.identity_bias:
        return []
    lines = [
        "## Identity-term bias",
        "",
        "Jigsaw's English sentence templates (a seeded sample), per identity term: subgroup "
        "AUC, BPSN (benign mentions of the identity against toxic text about others; low = "
        "false alarms on the identity) and BNSP (low = missed toxicity against it). "
        "Power mean p = -5 (pulled towards the worst identity).",
        "",
    ]
    for attribute, report in evaluation.identity_bias.items():
        summary = report["summary"]
        lines += [
            f"### {_short(attribute)}",
            "",
            f"Overall AUC {_fmt(summary['overall_auc'])}; power means: subgroup "
            f"{_fmt(summary['subgroup_auc_power_mean'])}, BPSN "
            f"{_fmt(summary['bpsn_auc_power_mean'])}, BNSP {_fmt(summary['bnsp_auc_power_mean'])}.",
            "",
        ]
        identities = sorted(
            (k for k in report if k != "summary"), key=lambda k: report[k]["bpsn_auc"] or 0.0
        )
        rows = [
            (
                k,
                report[k]["n"],
                report[k]["subgroup_auc"],
                report[k]["bpsn_auc"],
                report[k]["bnsp_auc"],
            )
            for k in identities
        ]
        lines += _table(("identity (worst BPSN first)", "n", "subgroup", "BPSN", "BNSP"), rows)
    return lines


def _hatecheck(evaluation: Evaluation) -> list[str]:
    if not evaluation.hatecheck:
        return []
    attributes = list(evaluation.hatecheck)
    first = evaluation.hatecheck[attributes[0]]
    names = [k for k in first if k != "summary"]
    rows = [
        (
            name,
            first[name]["gold"],
            first[name]["n"],
            *(evaluation.hatecheck[a][name]["accuracy"] for a in attributes),
        )
        for name in names
    ]
    rows.append(
        (
            "**all**",
            "",
            sum(first[n]["n"] for n in names),
            *(evaluation.hatecheck[a]["summary"]["accuracy"] for a in attributes),
        )
    )
    return [
        "## HateCheck",
        "",
        "Share of cases on the gold side of 0.5, per functional test.",
        "",
        *_table(("functionality", "gold", "n", *(_short(a) for a in attributes)), rows),
    ]


def _training_details(manifest: Manifest) -> list[str]:
    rows = []
    for attribute, metrics in manifest.metrics.items():
        calibration = metrics.get("calibration", {})
        rows.append(
            (
                _short(attribute),
                metrics.get("n_train"),
                metrics.get("n_validation"),
                metrics.get("n_test"),
                metrics.get("C"),
                calibration.get("slope"),
                calibration.get("validation_ece_before"),
                calibration.get("validation_ece_after"),
            )
        )
    provenance = manifest.provenance
    return [
        "## How it was trained",
        "",
        f"- Command: `{provenance.get('command', '')}` ({provenance.get('created', '')}).",
        f"- Split: {provenance.get('split', '')}.",
        f"- Objective: {provenance.get('objective', '')}.",
        "",
        *_table(
            (
                "attribute",
                "train",
                "validation",
                "test",
                "C",
                "Platt slope",
                "val. ECE before",
                "after",
            ),
            rows,
        ),
    ]


def _training_of(manifest: Manifest) -> str:
    finetune = manifest.provenance.get("finetune")
    if not manifest.encoder.adapters or not finetune:
        return "frozen"
    return (f"fine-tuned for {finetune['epochs']} epoch(s) on {finetune['max_texts']:,} texts "
            f"of at most {finetune['max_length']} tokens")  # fmt: skip


def _weaknesses(
    manifest: Manifest,
    evaluation: Evaluation,
    generalisation: dict[str, Any],
    loco: dict[str, Any] | None,
) -> list[str]:
    lines = ["## Known weaknesses", ""]
    for result in target_results(generalisation, loco):
        target = result.target
        for name, estimate in result.measured.items():
            if estimate["value"] is not None and estimate["value"] < target.value:
                lines.append(
                    f"- {_short(target.attribute)} {target.metric} on `{name}` is "
                    f"{estimate['value']:.3f}, below the {target.value:.2f} target."
                )
    for attribute, report in evaluation.hatecheck.items():
        failing = [k for k, v in report.items() if k != "summary" and v["accuracy"] < 0.5]
        if failing:
            lines.append(
                f"- HateCheck, {_short(attribute)}: under 50% right on {', '.join(failing)}."
            )
    for attribute, report in evaluation.identity_bias.items():
        low = [k for k, v in report.items() if k != "summary" and (v["bpsn_auc"] or 1) < 0.8]
        if low:
            lines.append(
                f"- {_short(attribute)} BPSN below 0.8 (benign mentions scored like "
                f"toxic text) for: {', '.join(sorted(low))}."
            )
    lines += [
        f"- The encoder is small (all-MiniLM-L6-v2, {_training_of(manifest)}): it reads topic "
        "and tone better than who is targeted, so IDENTITY_ATTACK and THREAT trail the other "
        "attributes.",
        "- Domain shift: most training text is news comments, tweets and debate posts; chat "
        "prompts and LLM replies are represented only by the hand-written seed sets. See "
        "`chat_domain` above.",
        "- The DecodingTrust targets are Perspective's 2020 scores; today's Perspective differs.",
        "- Hand-written seed labels are one writer's judgement, not a panel's vote shares.",
        "",
    ]
    return lines
