"""Run the study end to end: load PRISM, attach scores, fit each analysis x subset, write outputs.

``run_study()`` is what ``perspective-local analyze`` calls; it is also the function to use
from Python. Progress goes to the ``say`` callback (the CLI prints it on stderr).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from perspective_local.analysis import hypotheses, reports, specs
from perspective_local.analysis.paper import paper_directions
from perspective_local.analysis.prism import HighestRule, load_prism
from perspective_local.analysis.scores import (
    Scores,
    attach_scores,
    read_scores_file,
    score_in_process,
    score_through_server,
    texts_to_score,
)

if TYPE_CHECKING:
    import pandas as pd

    from perspective_local.settings import Settings

Say = Callable[[str], None]
#: The analysis whose all-data fit is refitted without ``(1 | model_name)`` for ELPD-LOO.
LOO_ANALYSES = ("choice", "score")


@dataclass(frozen=True)
class StudyOutputs:
    """Paths written by :func:`run_study` and the fitted results."""

    coefficients: Path
    report: Path
    convergence: Path
    figures: list[Path]
    results: list[reports.FitResult]
    #: report.html: report.md's content with the figures, in one self-contained page.
    html: Path


def files_hash(paths: Sequence[str]) -> str:
    """A short SHA-256 over the PRISM files, stamped on every fit."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def load_scored(
    prism_dir: Path,
    *,
    scores_file: Path | None,
    allow_missing_scores: bool = False,
    highest: HighestRule = "chosen",
    settings: Settings | None = None,
    server: str | None = None,
    api_key: str | None = None,
    say: Say = print,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], dict[str, str]]:
    """The scored responses table, the users table, the load report and provenance.

    Scores come from ``scores_file``, else from the server at ``server``, else from the
    local model in this process.
    """
    data = load_prism(prism_dir, highest=highest)
    say(
        f"loaded {len(data.responses):,} opening-turn responses, "
        f"{data.responses['conversation_id'].nunique():,} conversations, {len(data.users):,} users"
    )
    if scores_file is not None:
        scores: Scores = read_scores_file(scores_file)
        say(f"read scores for {len(scores.by_text):,} texts from {scores_file}")
    else:
        texts = texts_to_score(data)
        if server is not None:
            say(f"scoring {len(texts):,} texts through the server at {server}")
            scores = score_through_server(texts, server, api_key=api_key)
        else:
            say(f"scoring {len(texts):,} texts in-process")
            scores = score_in_process(texts, settings=settings)
    table = attach_scores(data, scores, allow_missing=allow_missing_scores)
    provenance = {
        "prism_files_sha256": files_hash(list(data.files.values())),
        "scoring_model_version": ",".join(scores.model_versions) or "unknown",
    }
    return table, data.users, data.report.lines(), provenance


def run_study(
    prism_dir: Path,
    out: Path,
    *,
    scores_file: Path | None = None,
    analyses: Sequence[str] = tuple(specs.ANALYSES),
    subsets: Sequence[str] = ("all", "unguided", "values", "controversy"),
    options: specs.SamplerOptions | None = None,
    loo: bool = True,
    allow_missing_scores: bool = False,
    highest: HighestRule = "chosen",
    figures: bool = True,
    settings: Settings | None = None,
    server: str | None = None,
    api_key: str | None = None,
    say: Say = print,
) -> StudyOutputs:
    """Fit every requested analysis on every requested subset and write all outputs.

    ``figures=False`` writes no figures/*.png; report.html still embeds the figures.
    """
    chosen = [specs.get_analysis(a) for a in analyses]
    subsets = specs.subsets_for(subsets)
    options = options or specs.SamplerOptions()
    out.mkdir(parents=True, exist_ok=True)
    table, users, load_report, provenance = load_scored(
        prism_dir, scores_file=scores_file, allow_missing_scores=allow_missing_scores,
        highest=highest, settings=settings, server=server, api_key=api_key, say=say,
    )  # fmt: skip
    results: list[reports.FitResult] = []
    loo_tables: dict[str, pd.DataFrame] = {}
    for spec in chosen:
        directions = paper_directions(spec.name)
        for subset in subsets:
            design = specs.design(spec, table, users, subset)
            label = f"{spec.name}/{subset}"
            want_loo = loo and subset == "all" and spec.name in LOO_ANALYSES
            fit_options = replace(options, log_likelihood=want_loo)
            say(f"{label}: fitting {design.n:,} rows ({spec.formula})")
            started = time.perf_counter()
            idata = specs.fit(spec, design, fit_options, provenance=provenance)
            seconds = time.perf_counter() - started
            convergence = hypotheses.convergence(idata)
            with warnings.catch_warnings():
                warnings.simplefilter("always", hypotheses.ConvergenceWarning)
                problems = hypotheses.warn_on_problems(label, convergence)
            for problem in problems:
                say(f"{label}: WARNING {problem}")
            say(f"{label}: done in {seconds:.0f} s")
            results.append(
                reports.FitResult(
                    spec.name, subset, idata, hypotheses.hypothesis_table(idata, directions),
                    convergence, problems, design.n, seconds, design.dropped,
                )
            )  # fmt: skip
            if want_loo:
                say(f"{label}: refitting without (1 | model_name) for ELPD-LOO")
                loo_tables[spec.label] = specs.compare_llm_effect(
                    spec, design, fit_options, with_llm=idata
                )
    coefficients = reports.write_coefficients(out, results)
    convergence_path = reports.write_convergence(out, results)
    # Drawn in memory either way: report.html embeds them, figures/ only when asked for.
    drawn = reports.draw_figures(results)
    figure_paths = reports.write_figures(out, results, drawn) if figures else []
    report = reports.write_report(
        out, results, load_report=load_report, provenance=provenance, loo=loo_tables
    )
    html = reports.write_html(
        out, results, load_report=load_report, provenance=provenance, loo=loo_tables,
        figures=drawn,
    )  # fmt: skip
    say(
        f"wrote {coefficients}, {report}, {html}, {convergence_path} "
        f"and {len(figure_paths)} figures"
    )
    return StudyOutputs(coefficients, report, convergence_path, figure_paths, results, html)
