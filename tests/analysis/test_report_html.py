"""report.html from a real (short) fit: its tables are report.md's, its figures are embedded
PNGs, it names no other host, it boxes convergence warnings and escapes text from the data;
and a real Chromium loads it with no errors and no request beyond the file itself."""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from perspective_local.analysis import reports
from perspective_local.analysis.specs import SamplerOptions
from perspective_local.analysis.study import StudyOutputs, run_study
from tests.browser import console_errors, open_browser, requested_urls, screenshot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
HOSTILE = "<script>alert('x')</script>"
#: An ELPD-LOO comparison shaped like arviz.compare's.
LOO = pd.DataFrame(
    {
        "rank": [0, 1],
        "elpd_loo": [-1200.12, -1700.48],
        "p_loo": [30.21, 25.08],
        "elpd_diff": [0.0, 500.36],
        "dse": [0.0, 30.99],
    },
    index=["with LLM effect", "without LLM effect"],
)


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.iter()
            if n.tag == tag and all(v in n.attrs.get(k, "").split() for k, v in attrs.items())
        ]

    def find(self, tag: str, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag} {attrs}>"
        return found[0]


class TreeBuilder(HTMLParser):
    """A small DOM from html.parser: enough to find elements and read their text."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert tag in (n.tag for n in self.stack), f"</{tag}> closes nothing"
        while self.stack.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def table_cells(table: Node) -> tuple[list[str], list[list[str]]]:
    header = [th.text().strip() for th in table.find("thead").find_all("th")]
    rows = [
        [cell.text().strip() for cell in tr.children if isinstance(cell, Node)]
        for tr in table.find("tbody").find_all("tr")
    ]
    return header, rows


def markdown_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """report.md's pipe tables as (header, rows)."""

    def cells(row: str) -> list[str]:
        return [cell.strip() for cell in row[1:-1].split("|")]

    lines = text.splitlines()
    tables = []
    for i, line in enumerate(lines):
        if line.startswith("|---"):
            body = itertools.takewhile(lambda row: row.startswith("|"), lines[i + 1 :])
            tables.append((cells(lines[i - 1]), [cells(row) for row in body]))
    return tables


@pytest.fixture(scope="module")
def study(small_release: Path, tmp_path_factory: pytest.TempPathFactory) -> StudyOutputs:
    """One short fit of score and mirroring on all data, as ``analyze --no-figures`` runs it
    (about a minute on two cores); shared by this module's tests."""
    return run_study(
        small_release,
        tmp_path_factory.mktemp("report_html"),
        scores_file=small_release / "scores.jsonl",
        analyses=("score", "mirroring"),
        subsets=("all",),
        options=SamplerOptions(draws=100, tune=100, chains=1),
        loo=False,
        figures=False,
        say=lambda _: None,
    )


def test_report_html_is_written_beside_report_md(study: StudyOutputs) -> None:
    assert study.html == study.report.with_name("report.html")
    assert study.html.is_file()
    assert not (study.html.parent / "figures").exists()  # --no-figures: PNGs only in the page
    page = parse(study.html.read_text(encoding="utf-8"))
    assert page.find("html").attrs["lang"] == "en"
    assert page.find_all("meta", charset="utf-8")
    assert page.find("meta", name="viewport").attrs["content"].startswith("width=device-width")
    assert page.find("link", rel="icon").attrs["href"] == "data:,"


def test_tables_are_report_mds_with_coefficients_terms(study: StudyOutputs) -> None:
    page = parse(study.html.read_text(encoding="utf-8"))
    coefficients = pd.read_csv(study.coefficients)
    sections = page.find_all("section", **{"class": "fit"})
    assert len(sections) == len(study.results) == 2
    html_tables = []
    for section, result in zip(sections, study.results, strict=True):
        header, rows = table_cells(section.find("table"))
        html_tables.append((header, rows))
        assert section.find("table").find("caption").text().strip()
        ours = coefficients[
            (coefficients["analysis"] == result.analysis)
            & (coefficients["subset"] == result.subset)
        ]
        # Each row's first cell is "TERM >0" or "TERM <0".
        assert [row[0].rsplit(" ", 1)[0] for row in rows] == list(ours["term"])
        assert header[:2] == ["term", "estimate [5%, 95%]"]
        assert len(rows) == (49 if result.analysis == "mirroring" else 7)
    assert html_tables == markdown_tables(study.report.read_text(encoding="utf-8"))


def test_figures_are_embedded_pngs_and_nothing_is_fetched(study: StudyOutputs) -> None:
    from PIL import Image

    html = study.html.read_text(encoding="utf-8")
    page = parse(html)
    images = page.find_all("img")
    assert len(images) == 2  # score's coefficient posteriors and the mirroring matrix
    for image in images:
        prefix, _, payload = image.attrs["src"].partition(",")
        assert prefix == "data:image/png;base64"
        try:
            raw = base64.b64decode(payload, validate=True)
        except binascii.Error as exc:
            pytest.fail(f"figure is not valid base64: {exc}")
        assert raw.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(raw)) as png:
            png.load()  # decodes every row: a truncated or corrupt PNG raises here
            assert png.size == (int(image.attrs["width"]), int(image.attrs["height"]))
        assert len(image.attrs["alt"]) > 40
    links = [n.attrs[a] for n in page.iter() for a in ("src", "href") if a in n.attrs]
    assert all(link.startswith(("data:", "#")) for link in links), links
    assert "http://" not in html and "https://" not in html
    assert not page.find_all("script")


def test_warnings_are_boxed_and_data_is_escaped(study: StudyOutputs, tmp_path: Path) -> None:
    score, mirroring = study.results
    results = [
        replace(score, problems=["3 parameters with r_hat > 1.01 (worst <b>sd_user</b>: 1.2)"]),
        replace(mirroring, problems=[]),
    ]
    path = reports.write_html(
        tmp_path,
        results,
        load_report=["responses dropped: <img src=x onerror=alert(1)>: 3"],
        provenance={"scoring_model_version": HOSTILE},
        loo={"Analysis 1b": LOO},
        figures={},  # figures are checked above; skip drawing them again
    )
    html = path.read_text(encoding="utf-8")
    page = parse(html)
    assert not page.find_all("script") and not page.find_all("img") and not page.find_all("b")
    assert page.find("dl", **{"class": "provenance"}).find("dd").text() == HOSTILE
    assert "&lt;script&gt;" in html
    assert "<img src=x onerror=alert(1)>" in page.find("section", id="data").text()
    with_problems, without = page.find_all("section", **{"class": "fit"})
    box = with_problems.find("div", **{"class": "warning"})
    assert box.attrs["role"] == "alert"
    assert "3 parameters with r_hat > 1.01 (worst <b>sd_user</b>: 1.2)" in box.text()
    assert not with_problems.find_all("p", **{"class": "ok"})
    assert not without.find_all("div", **{"class": "warning"})
    assert without.find("p", **{"class": "ok"}).text() == reports.CONVERGENCE_OK
    header, rows = table_cells(page.find("section", id="loo").find("table"))
    assert header == list(reports.LOO_COLUMNS)
    assert rows == [
        ["with LLM effect", "-1200.1", "0.0", "0.0", "30.2"],
        ["without LLM effect", "-1700.5", "500.4", "31.0", "25.1"],
    ]
    # The real fit (100 draws, one chain) has its own warnings; each is in its section's box.
    real = parse(study.html.read_text(encoding="utf-8")).find_all("section", **{"class": "fit"})
    for section, result in zip(real, study.results, strict=True):
        if result.problems:
            text = section.find("div", role="alert").text()
            assert all(problem in text for problem in result.problems)
        else:
            assert section.find("p", **{"class": "ok"}).text() == reports.CONVERGENCE_OK


@pytest.mark.browser
def test_chromium_renders_the_report_offline(study: StudyOutputs, tmp_path: Path) -> None:
    with open_browser() as driver:
        driver.get(study.html.as_uri())
        images = driver.execute_script(
            "return Array.from(document.images, i => [i.complete, i.naturalWidth]);"
        )
        assert len(images) == 2
        assert all(complete and width > 0 for complete, width in images), images
        rows = driver.execute_script(
            "return Array.from(document.querySelectorAll('table'), t => t.tBodies[0].rows.length);"
        )
        assert rows == [7, 49]
        assert driver.execute_script("return document.querySelectorAll('[role=alert]').length")
        # At phone width the page does not scroll sideways; wide tables scroll in their box.
        driver.set_window_size(390, 844)
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"
        )
        assert overflow <= 0
        driver.set_window_size(1280, 900)
        assert console_errors(driver) == []
        urls = requested_urls(driver)
        assert urls and all(url.startswith(("file:", "data:")) for url in urls), urls
        shot = screenshot(driver, tmp_path / "report.png")
    assert shot.read_bytes().startswith(PNG_SIGNATURE)
    target = os.environ.get("PERSPECTIVE_LOCAL_SCREENSHOTS")
    if target:
        shutil.copyfile(shot, Path(target) / "report.png")
