"""The planner's report (python -m sim.report): built for two tiny scenarios in both languages, its numbers
read back from the HTML and the PDF and compared with the results data, its PDF rendered to pictures, and a
town of one's own from the templates."""

from __future__ import annotations

import math
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from sim import planner

TINY = ["population=tiny", "run.steps=104"]
REPLICATES = "3"
needs_chromium = pytest.mark.skipif(planner.chromium() is None and not os.environ.get("KANKEI_REQUIRE_BROWSER"),
                                    reason="no Chromium: `make browser` installs Debian's (make test does)")


class Cells(HTMLParser):
    """The outcome table's cells by (outcome, scenario): mean, diff and beats texts; and the headings."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], dict[str, str]] = {}
        self.headings: list[str] = []
        self._row: tuple[str, str] | None = None
        self._cls: str | None = None
        self._in_h = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("data-scenario"):
            self._row = (str(a["data-outcome"]), str(a["data-scenario"]))
            self.cells[self._row] = {}
        if tag == "td" and self._row is not None:
            cls = (a.get("class") or "").split()
            self._cls = next((c for c in cls if c in ("mean", "diff", "beats")), None)
        if tag in ("h1", "h2"):
            self._in_h = True
            self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None
        if tag == "td":
            self._cls = None
        if tag in ("h1", "h2"):
            self._in_h = False

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._cls is not None:
            self.cells[self._row][self._cls] = self.cells[self._row].get(self._cls, "") + data
        if self._in_h:
            self.headings[-1] += data


def number(text: str) -> float:
    """A number as the report prints it, back to a float (万円, 億円, ¥…M, ¥…bn, thousands separators)."""
    text = text.strip().replace(",", "")
    scale = 1.0
    for suffix, factor in (("億円", 1e8), ("万円", 1e4), ("円", 1.0), ("bn", 1e9), ("M", 1e6)):
        if text.endswith(suffix):
            text, scale = text[: -len(suffix)], factor
            break
    return float(text.replace("¥", "")) * scale


def parts(cell: str) -> list[tuple[float, str]]:
    """'mean [lo, hi]' to three (value, printed text) pairs."""
    m = re.fullmatch(r"\s*(\S+) \[(\S+), (\S+)\]\s*", cell)
    assert m, cell
    return [(number(m.group(i)), m.group(i)) for i in (1, 2, 3)]


def tolerance(value: float, printed: str) -> float:
    """Half a unit of the last printed digit (the rounding of the display)."""
    digits = re.sub(r"[^\d.]", "", printed)
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    unit = 1e8 if "億" in printed else 1e4 if "万" in printed else 1e9 if "bn" in printed else \
        1e6 if printed.strip().endswith("M") else 1.0
    return 0.5 * unit * 10 ** -decimals + 1e-9 * abs(value)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    made = {}
    for lang in ("ja", "en"):
        pdf = [] if planner.chromium() is not None else ["--no-pdf"]
        args = ["baseline", "guides_high", "--replicates", REPLICATES, "--lang", lang, "--out", str(out),
                "--jobs", "1", *pdf, *TINY]
        assert planner.main(args) == 0
        made[lang] = next(p for p in out.iterdir() if p.name.endswith(f"-{lang}"))
    return made


def test_the_report_folder_holds_the_page_the_pdf_and_the_data(reports: dict[str, Path]) -> None:
    for folder in reports.values():
        names = {p.name for p in folder.iterdir()}
        assert ("report.pdf" in names) == (planner.chromium() is not None)
        assert {"report.html", "results.csv", "runs.csv"} <= names
        html = (folder / "report.html").read_text(encoding="utf-8")
        assert "http://" not in html and "https://" not in html  # opens offline: nothing fetched
        assert html.count("data:image/png;base64,") == 2 and "@font-face" in html
        runs = pd.read_csv(folder / "runs.csv")
        assert len(runs) == 2 * int(REPLICATES) and set(runs["scenario"]) == {"baseline", "guides_high"}


def test_every_number_of_the_outcome_table_is_the_results_data(reports: dict[str, Path]) -> None:
    for lang, folder in reports.items():
        data = pd.read_csv(folder / "results.csv")
        page = Cells()
        page.feed((folder / "report.html").read_text(encoding="utf-8"))
        checked = 0
        for (outcome, scenario), cells in page.cells.items():
            row = data[(data["outcome"] == outcome) & (data["scenario"] == scenario)].iloc[0]
            if not math.isfinite(row["mean"]):
                assert cells["mean"].strip() == "—"
                continue
            for (shown, printed), true in zip(parts(cells["mean"]), (row["mean"], row["mean_lo"], row["mean_hi"])):
                assert abs(shown - true) <= tolerance(true, printed), (lang, outcome, scenario, printed, true)
            if scenario != "baseline" and math.isfinite(row["diff"]):
                for (shown, printed), true in zip(parts(cells["diff"]), (row["diff"], row["diff_lo"], row["diff_hi"])):
                    assert abs(shown - true) <= tolerance(true, printed), (lang, outcome, scenario, printed, true)
                if math.isfinite(row["beats"]):
                    assert cells["beats"].strip() == f"{row['beats']:.0%}"
            checked += 1
        outcomes = {o for o, _ in page.cells}
        assert {"partners", "members", "migrants", "cost_yen", "key_host_burden", "donations_yen"} <= outcomes
        assert checked >= 2 * 10


def test_the_pages_speak_the_chosen_language(reports: dict[str, Path]) -> None:
    ja, en = Cells(), Cells()
    ja.feed((reports["ja"] / "report.html").read_text(encoding="utf-8"))
    en.feed((reports["en"] / "report.html").read_text(encoding="utf-8"))
    assert ja.headings[0] == "関係人口 施策比較レポート" and "要約" in ja.headings and "較正の状況" in ja.headings
    assert en.headings[0] == "Relationship population: policy comparison" and "Summary" in en.headings
    html_ja = (reports["ja"] / "report.html").read_text(encoding="utf-8")
    assert "案内人 多" in html_ja and "ベースライン" in html_ja  # display names, not file names
    assert "Many guides" in (reports["en"] / "report.html").read_text(encoding="utf-8")


@needs_chromium
def test_the_pdf_has_the_headings_and_numbers_and_renders_without_missing_glyphs(reports: dict[str, Path]) -> None:
    import pypdfium2
    from PIL import ImageStat
    from pypdf import PdfReader

    folder = reports["ja"]
    reader = PdfReader(folder / "report.pdf")
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
    for heading in ("関係人口 施策比較レポート", "要約", "成果と費用", "各シナリオの施策", "効いた上限", "較正の状況"):
        assert heading in text, heading
    page = Cells()
    page.feed((folder / "report.html").read_text(encoding="utf-8"))
    for (outcome, scenario), cells in page.cells.items():
        if outcome in ("partners", "members", "cost_yen"):
            assert re.sub(r"\s+", " ", cells["mean"]).strip() in text, (outcome, scenario, cells["mean"])
    fonts = set()
    for p in reader.pages:
        for ref in p["/Resources"].get("/Font", {}).values():
            font = ref.get_object()
            if "/BaseFont" in font:
                fonts.add(str(font["/BaseFont"]).split("+")[-1])
    assert fonts == {"IPAexGothic"}  # a character the shipped font lacked would have come from another font
    pdf = pypdfium2.PdfDocument(str(folder / "report.pdf"))
    assert len(pdf) >= 2
    for i in range(len(pdf)):
        image = pdf[i].render(scale=0.6).to_pil().convert("L")
        assert ImageStat.Stat(image).stddev[0] > 5  # not blank


def test_a_town_of_ones_own_from_the_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    plans = tmp_path / "myplans"
    assert planner.main(["--init", str(plans)]) == 0
    for f in ("regions/mytown.yaml", "scenario/mytown_now.yaml", "scenario/mytown_more_guides.yaml"):
        text = (plans / f).read_text(encoding="utf-8")
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text) and re.search(r"# [A-Z][a-z]", text)  # both tongues
    assert planner.main(["--init", str(plans)]) == 2  # never over a folder of the user's
    assert "exists already" in capsys.readouterr().err
    monkeypatch.setenv("SIM_CONFIG_PATH", str(plans))
    out = tmp_path / "reports"
    assert planner.main(["mytown_now", "mytown_more_guides", "regions=mytown", "population.urban=20000",
                         "run.steps=52", "--replicates", "2", "--jobs", "1", "--no-pdf", "--out", str(out)]) == 0
    html = next(out.glob("*-ja")).joinpath("report.html").read_text(encoding="utf-8")
    assert "わが町" in html and "案内人を増やす" in html and "現行計画" in html
    lever = re.search(r"<tr data-lever='policy.guides'>(.*?)</tr>", html)
    assert lever and "<b>6 / 4</b>" in lever.group(1) and ">2 / 4<" in lever.group(1)  # the town's and the others'
    bad = plans / "regions" / "mytown.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("remoteness: 0.5", "remotenes: 0.5"), encoding="utf-8")
    assert planner.main(["mytown_now", "mytown_more_guides", "regions=mytown", "--no-pdf", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "remotenes" in err and "regions.table[0]" in err


@pytest.mark.parametrize("args, key", [(["baseline", "nope"], "nope"), (["baseline"], "scenarios"),
                                       (["baseline", "guides_high", "policy.guides=-1"], "policy.guides")])
def test_bad_input_is_one_line_and_nothing_is_written(args: list[str], key: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert planner.main([*args, "--no-pdf", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and key in err and "allowed" in err
    assert not (tmp_path / "r").exists()


def test_without_chromium_the_pdf_is_refused_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert planner.main(["baseline", "guides_high", *TINY, "--out", str(tmp_path / "r")]) == 2
    assert "make browser" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_small_burden_difference_keeps_three_significant_digits() -> None:
    for value in (0.008123, -0.000123, 0.0456):
        printed = planner.fmt_diff(value, "key_host_burden", "ja")
        assert "e" not in printed and abs(number(printed) - value) <= 0.006 * abs(value), printed
    assert planner.fmt(0.0, "key_host_burden", "en") == "0.000"
