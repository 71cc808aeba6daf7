"""Tables and figures over fitted analyses: coefficients.csv, report.md, report.html, plots.

``table_*`` functions compute DataFrames; ``plot_*`` functions take InferenceData (or a
table) first, draw on ``ax`` (created when None) and return the axes; ``write_*`` functions
put files on disk. Matplotlib is imported lazily and always with the non-interactive backend.

Both reports say the same things: :func:`report_content` computes them once
(:class:`FitSection` per fit), :func:`render_markdown` writes them as report.md and
:func:`render_html` as report.html, through the Jinja2 template ``templates/report.html``
with autoescaping on, so text from the data never becomes markup.
"""

from __future__ import annotations

import base64
import io
import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from perspective_local.analysis.hypotheses import coefficient_draws
from perspective_local.analysis.paper import ELPD_DIFF_LLM, ELPD_DIFF_LLM_SE, paper_table
from perspective_local.analysis.specs import CI_PROB, get_analysis
from perspective_local.analysis.terms import PREDICTORS, human

if TYPE_CHECKING:
    import jinja2
    import pandas as pd
    from markupsafe import Markup
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COEFFICIENT_COLUMNS = (
    "analysis", "subset", "term", "estimate", "est_error", "ci_lower", "ci_upper",
    "evid_ratio", "post_prob", "star",
)  # fmt: skip
#: Figure 1a/1b's y-axis order, bottom to top as the paper draws it.
FIGURE_ORDER = (
    "PERSONAL_STORY", "COMPASSION", "RESPECT", "AFFINITY", "CURIOSITY", "TOXICITY",
    "REASONING_NUANCE",
)  # fmt: skip


@dataclass
class FitResult:
    """One fitted analysis on one subset, with its tables."""

    analysis: str
    subset: str
    idata: Any
    hypotheses: pd.DataFrame
    convergence: pd.DataFrame
    problems: list[str]
    n_rows: int
    seconds: float
    dropped: Mapping[str, int] = field(default_factory=dict)


def table_coefficients(results: Sequence[FitResult]) -> pd.DataFrame:
    """All coefficients of all fits, in ``coefficients.csv``'s columns."""
    import pandas as pd

    frames = [r.hypotheses.assign(analysis=r.analysis, subset=r.subset) for r in results]
    if not frames:
        return pd.DataFrame(columns=list(COEFFICIENT_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(COEFFICIENT_COLUMNS)]


def table_versus_paper(coefficients: pd.DataFrame) -> pd.DataFrame:
    """Our coefficients beside the paper's, for the terms the paper reports."""
    paper = paper_table()[
        ["analysis", "subset", "term", "estimate", "ci_lower", "ci_upper", "evid_ratio", "star"]
    ]
    return coefficients.merge(
        paper, on=["analysis", "subset", "term"], how="left", suffixes=("", "_paper")
    )


def _fmt(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if math.isinf(value):
        return "Inf"
    return f"{value:,.{digits}f}"


def _comparison_rows(result: FitResult, versus: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    spec = get_analysis(result.analysis)
    rows = versus[(versus["analysis"] == result.analysis) & (versus["subset"] == result.subset)]
    if spec.reported and result.analysis != "mirroring":
        rows = rows[rows["term"].isin(spec.reported)]
    return pd.DataFrame(
        {
            "term": [f"{t} {d}0" for t, d in zip(rows["term"], rows["direction"], strict=True)],
            "estimate [5%, 95%]": [
                f"{_fmt(e)} [{_fmt(lo)}, {_fmt(hi)}]"
                for e, lo, hi in zip(
                    rows["estimate"], rows["ci_lower"], rows["ci_upper"], strict=True
                )
            ],
            "evid. ratio": [_fmt(v) for v in rows["evid_ratio"]],
            "post. prob": [_fmt(v) for v in rows["post_prob"]],
            "star": list(rows["star"]),
            "paper [5%, 95%]": [
                "" if (isinstance(e, float) and math.isnan(e))
                else f"{_fmt(e)} [{_fmt(lo)}, {_fmt(hi)}]"
                for e, lo, hi in zip(
                    rows["estimate_paper"],
                    rows["ci_lower_paper"],
                    rows["ci_upper_paper"],
                    strict=True,
                )
            ],
            "paper ratio": [_fmt(v) for v in rows["evid_ratio_paper"]],
            "paper star": [s if isinstance(s, str) else "" for s in rows["star_paper"]],
        }
    )  # fmt: skip


@dataclass(frozen=True)
class Table:
    """A table as text cells, rendered cell for cell by both report.md and report.html."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Table:
        return cls(
            tuple(str(c) for c in frame.columns),
            tuple(tuple(str(v) for v in row) for row in frame.itertuples(index=False)),
        )


@dataclass(frozen=True)
class FitSection:
    """What both reports say about one fit: heading, formula, notes, problems, paper table."""

    analysis: str
    subset: str
    title: str
    formula: str
    #: Rows, sampling time and dropped counts, one sentence each.
    notes: tuple[str, ...]
    #: Convergence warnings; empty when R-hat, ESS and divergences are within limits.
    problems: tuple[str, ...]
    table: Table
    #: How the fit was sampled, as far as its InferenceData records it (report.html shows it).
    sampler: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.analysis, self.subset)

    @property
    def anchor(self) -> str:
        return _slug(f"fit-{self.analysis}-{self.subset}")


@dataclass(frozen=True)
class ReportContent:
    """Everything report.md and report.html say, computed once from the fits."""

    provenance: Mapping[str, str]
    load_report: tuple[str, ...]
    fits: tuple[FitSection, ...]
    #: ELPD-LOO comparisons as (analysis label, table); empty when LOO was not run.
    loo: tuple[tuple[str, Table], ...] = ()


TITLE = "Constructive interactions in PRISM: our estimates beside the paper's"
#: The introduction as report.md breaks its lines; `code` spans are Markdown's.
INTRO = (
    "Kyrychenko et al. (2025), arXiv:2503.16480. Hypotheses are one-sided as in brms",
    f"`hypothesis()`: estimate = posterior mean, interval = {100 * (1 - CI_PROB) / 2:g}% and "
    f"{100 * (1 + CI_PROB) / 2:g}% quantiles, evidence ratio = k/(N-k),",
    "`*` evidence ratio > 100, `†` > 10. The paper's values are from its Tables 2-4.",
)
PROVENANCE_TITLE = "Provenance"
DATA_TITLE = "Data: what was dropped or noticed"
CONVERGENCE_TITLE = "Convergence warnings"
CONVERGENCE_OK = "Convergence: R-hat, bulk/tail ESS and divergences within limits."
LOO_TITLE = "ELPD-LOO: with vs without the LLM random effect"
LOO_NOTE = (
    f"The paper reports a difference of {ELPD_DIFF_LLM} (SE {ELPD_DIFF_LLM_SE}) "
    "in favour of keeping `(1 | model_name)`; which outcome model it used is not stated."
)
LOO_COLUMNS = ("model", "elpd_loo", "elpd_diff", "dse", "p_loo")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _sampler_settings(idata: Any) -> dict[str, str]:
    """Sampler, chains, draws, priors, seed and package version, where the fit recorded them."""
    posterior = getattr(idata, "posterior", None)
    if posterior is None:
        return {}
    attrs = posterior.attrs
    settings = {"sampler": str(attrs["sampler"])} if "sampler" in attrs else {}
    sizes = posterior.sizes
    if "chain" in sizes and "draw" in sizes:
        settings["chains"] = f"{sizes['chain']:,}"
        settings["draws per chain"] = f"{sizes['draw']:,}"
    for key, name in (
        ("priors", "priors"),
        ("seed", "seed"),
        ("perspective_local_version", "perspective-local"),
    ):
        if key in attrs:
            settings[name] = str(attrs[key])
    return settings


def fit_sections(results: Sequence[FitResult]) -> list[FitSection]:
    """One :class:`FitSection` per fit, its coefficients beside the paper's published ones."""
    coefficients = table_coefficients(results)
    with_direction = coefficients.merge(
        _directions(results), on=["analysis", "subset", "term"], how="left"
    )
    versus = table_versus_paper(with_direction)
    sections = []
    for result in results:
        spec = get_analysis(result.analysis)
        sections.append(
            FitSection(
                analysis=result.analysis,
                subset=result.subset,
                title=f"{spec.label}: {result.subset}",
                formula=spec.formula,
                notes=(
                    f"{result.n_rows:,} rows; sampled in {result.seconds:.0f} s.",
                    *(f"Dropped: {reason}: {n:,}." for reason, n in result.dropped.items() if n),
                ),
                problems=tuple(result.problems),
                table=Table.from_frame(_comparison_rows(result, versus)),
                sampler=_sampler_settings(result.idata),
            )
        )
    return sections


def report_content(
    results: Sequence[FitResult],
    *,
    load_report: Sequence[str],
    provenance: Mapping[str, str],
    loo: Mapping[str, pd.DataFrame] | None = None,
) -> ReportContent:
    """What the reports say: provenance, data notes, one section per fit, ELPD-LOO tables."""
    return ReportContent(
        provenance=dict(provenance),
        load_report=tuple(load_report),
        fits=tuple(fit_sections(results)),
        loo=tuple(
            (name, Table.from_frame(table.reset_index(names="model")[list(LOO_COLUMNS)].round(1)))
            for name, table in (loo or {}).items()
        ),
    )


def _markdown_table(table: Table) -> list[str]:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    body = ["| " + " | ".join(row) + " |" for row in table.rows]
    return [header, rule, *body, ""]


def render_markdown(content: ReportContent) -> str:
    """report.md's text."""
    lines = [
        f"# {TITLE}",
        "",
        *INTRO,
        "",
        f"## {PROVENANCE_TITLE}",
        "",
        *(f"- {k}: `{v}`" for k, v in content.provenance.items()),
        "",
        f"## {DATA_TITLE}",
        "",
        *(f"- {line}" for line in content.load_report),
        "",
    ]
    for fit in content.fits:
        lines += [f"## {fit.title}", "", f"`{fit.formula}`", "", *fit.notes, ""]
        if fit.problems:
            lines += [f"**{CONVERGENCE_TITLE}:**", *(f"- {p}" for p in fit.problems), ""]
        else:
            lines += [CONVERGENCE_OK, ""]
        lines += _markdown_table(fit.table)
    if content.loo:
        lines += [f"## {LOO_TITLE}", "", LOO_NOTE, ""]
        for name, table in content.loo:
            lines += [f"### {name}", "", *_markdown_table(table)]
    return "\n".join(lines) + "\n"


def write_report(
    out: Path,
    results: Sequence[FitResult],
    *,
    load_report: Sequence[str],
    provenance: Mapping[str, str],
    loo: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write ``report.md``: data notes, each fit beside the paper, diagnostics, ELPD-LOO."""
    content = report_content(results, load_report=load_report, provenance=provenance, loo=loo)
    path = out / "report.md"
    path.write_text(render_markdown(content), encoding="utf-8")
    return path


def _directions(results: Sequence[FitResult]) -> pd.DataFrame:
    import pandas as pd

    frames = [
        r.hypotheses[["term", "direction"]].assign(analysis=r.analysis, subset=r.subset)
        for r in results
    ]
    return pd.concat(frames) if frames else pd.DataFrame(columns=["analysis", "subset", "term"])


def write_coefficients(out: Path, results: Sequence[FitResult]) -> Path:
    path = out / "coefficients.csv"
    table_coefficients(results).to_csv(path, index=False)
    return path


def write_convergence(out: Path, results: Sequence[FitResult]) -> Path:
    import pandas as pd

    frames = [
        r.convergence.assign(
            analysis=r.analysis,
            subset=r.subset,
            divergences=r.convergence.attrs.get("divergences", 0),
        )
        for r in results
    ]
    path = out / "convergence.csv"
    if frames:
        pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_coefficients(
    idata: Any, var_names: Sequence[str] | None = None, ax: Axes | None = None
) -> Axes:
    """Posterior densities of coefficients with interval bars (the paper's Figure 1a/1b)."""
    from scipy.stats import gaussian_kde

    plt = _pyplot()
    draws = coefficient_draws(idata)
    names = list(var_names or [t for t in FIGURE_ORDER if t in draws] or draws)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.6 * len(names) + 1.2))
    alpha = (1 - CI_PROB) / 2
    for row, name in enumerate(names):
        values = draws[name]
        lo, hi = np.quantile(values, [alpha, 1 - alpha])
        grid = np.linspace(values.min(), values.max(), 200)
        density = gaussian_kde(values)(grid) if values.std() > 0 else np.zeros_like(grid)
        height = density / density.max() * 0.8 if density.max() > 0 else density
        ax.fill_between(grid, row, row + height, alpha=0.5, color="tab:blue")
        ax.plot([lo, hi], [row, row], color="black", linewidth=2)
        ax.plot([values.mean()], [row], "o", color="black", markersize=4)
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(names)), [n.replace("_", " ") for n in names])
    ax.set_xlabel(f"coefficient (posterior; bar = {CI_PROB:.0%} interval)")
    return ax


def plot_mirroring(coefficients: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """The 7x7 prompt -> response matrix (the paper's Figure 1c): colour and size = estimate."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 6))
    grid = np.full((len(PREDICTORS), len(PREDICTORS)), np.nan)
    estimates = dict(zip(coefficients["term"], coefficients["estimate"], strict=True))
    for i, predictor in enumerate(PREDICTORS):
        for j, dv in enumerate(PREDICTORS):
            grid[i, j] = estimates.get(f"{dv} ~ {human(predictor)}", np.nan)
    xs, ys = np.meshgrid(range(len(PREDICTORS)), range(len(PREDICTORS)))
    scatter = ax.scatter(
        xs.ravel(), ys.ravel(), c=grid.ravel(), s=900 * np.abs(np.nan_to_num(grid.ravel())) + 10,
        cmap="coolwarm", vmin=-1, vmax=1,
    )  # fmt: skip
    labels = [p.replace("_", " ") for p in PREDICTORS]
    ax.set_xticks(range(len(PREDICTORS)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(PREDICTORS)), labels)
    ax.set_xlabel("LLM response attribute")
    ax.set_ylabel("human prompt attribute")
    ax.figure.colorbar(scatter, ax=ax, label="coefficient")
    return ax


@dataclass(frozen=True)
class ReportFigure:
    """One drawn figure: the stem of its file under figures/, a caption, alt text, PNG bytes."""

    name: str
    caption: str
    alt: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    @property
    def size(self) -> tuple[int, int]:
        """Width and height in pixels, read from the PNG's IHDR chunk."""
        width, height = struct.unpack(">II", self.png[16:24])
        return int(width), int(height)


@dataclass(frozen=True)
class FigureSection:
    """A report.html section of figures beside the per-fit ones (e.g. per-user profiles)."""

    title: str
    figures: tuple[ReportFigure, ...]
    intro: str = ""

    @property
    def anchor(self) -> str:
        return _slug(f"figures-{self.title}")


#: Figures drawn per fit, by (analysis, subset).
Figures = Mapping[tuple[str, str], Sequence[ReportFigure]]
FIGURE_DPI = 120


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
    return buffer.getvalue()


def draw_figures(results: Sequence[FitResult]) -> dict[tuple[str, str], list[ReportFigure]]:
    """Draw, in memory, one coefficient figure per choice/score fit and each mirroring matrix."""
    plt = _pyplot()
    drawn: dict[tuple[str, str], list[ReportFigure]] = {}
    for result in results:
        label = f"{get_analysis(result.analysis).label}: {result.subset}"
        if result.analysis == "mirroring":
            ax = plot_mirroring(result.hypotheses)
            caption = "Prompt attributes to response attributes (the paper's Figure 1c)."
            alt = (
                f"{len(PREDICTORS)} by {len(PREDICTORS)} matrix for {label}. Rows are the human "
                "prompt's attributes, columns the LLM response's; each circle's colour (blue "
                "negative, red positive) and size show the coefficient. The table above has "
                "the numbers."
            )
        elif result.analysis in ("choice", "score"):
            ax = plot_coefficients(result.idata)
            caption = (
                f"Coefficient posteriors with {CI_PROB:.0%} intervals "
                "(the paper's Figures 1a/1b and 2)."
            )
            alt = (
                f"Posterior densities of the coefficients of {label}, one row per response "
                f"attribute, each with its {CI_PROB:.0%} interval bar and posterior mean; a "
                "dashed line marks zero. The table above has the numbers."
            )
        else:
            continue
        ax.set_title(label, fontsize=9)
        figure = cast("Figure", ax.figure)
        try:
            png = _png(figure)
        finally:
            plt.close(figure)
        name = f"{result.analysis}_{result.subset}"
        drawn[(result.analysis, result.subset)] = [ReportFigure(name, caption, alt, png)]
    return drawn


def write_figures(
    out: Path, results: Sequence[FitResult], drawn: Figures | None = None
) -> list[Path]:
    """Write figures/<analysis>_<subset>.png for each figure ``drawn`` (drawn here if None)."""
    drawn = draw_figures(results) if drawn is None else drawn
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for group in drawn.values():
        for figure in group:
            path = folder / f"{figure.name}.png"
            path.write_bytes(figure.png)
            paths.append(path)
    return paths


HTML_TEMPLATE = "report.html"


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("perspective_local.analysis", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["code_spans"] = _code_spans
    return environment


def _code_spans(text: str) -> Markup:
    """Escape ``text`` and turn its Markdown `code` spans into <code> elements."""
    from markupsafe import Markup, escape

    parts = str(escape(text)).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return Markup("`".join(parts))
    return Markup(
        "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))
    )


def render_html(
    content: ReportContent,
    figures: Figures | None = None,
    extra_sections: Sequence[FigureSection] = (),
) -> str:
    """report.html's text: one self-contained page, figures inlined as data: URIs."""
    from perspective_local import __version__

    figures = figures or {}
    template = _environment().get_template(HTML_TEMPLATE)
    return template.render(
        title=TITLE,
        intro=" ".join(INTRO),
        content=content,
        fits=[(fit, tuple(figures.get(fit.key, ()))) for fit in content.fits],
        extra_sections=tuple(extra_sections),
        provenance_title=PROVENANCE_TITLE,
        data_title=DATA_TITLE,
        convergence_title=CONVERGENCE_TITLE,
        convergence_ok=CONVERGENCE_OK,
        loo_title=LOO_TITLE,
        loo_note=LOO_NOTE,
        version=__version__,
    )


def write_html(
    out: Path,
    results: Sequence[FitResult],
    *,
    load_report: Sequence[str],
    provenance: Mapping[str, str],
    loo: Mapping[str, pd.DataFrame] | None = None,
    figures: Figures | None = None,
    extra_sections: Sequence[FigureSection] = (),
) -> Path:
    """Write ``report.html``: report.md's content and the figures, in one self-contained page.

    ``figures`` are the per-fit figures from :func:`draw_figures` (drawn here when None);
    ``extra_sections`` are further figure sections, shown after the fits.
    """
    content = report_content(results, load_report=load_report, provenance=provenance, loo=loo)
    drawn = draw_figures(results) if figures is None else figures
    path = out / "report.html"
    path.write_text(render_html(content, drawn, extra_sections), encoding="utf-8")
    return path
