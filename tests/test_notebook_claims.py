"""Every figure a notebook's Summary quotes comes from that notebook's committed outputs.

A figure is a number with a decimal point or a percent sign ("98.86%", "15.2",
"0.9308"). The independent reference is the notebook's own outputs, the text the
committed full run printed or displayed. A figure that a Summary takes from
``docs/results.md`` instead is allowed only when it is listed below with its
section, and the test checks that the section holds it.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
RESULTS = ROOT / "docs" / "results.md"
NOTEBOOKS = ("01_data", "02_building_blocks", "03_training", "04_evaluation", "05_new_patients",
             "06_adapting_to_a_patient")

# figure quoted in a Summary -> the docs/results.md section (its number) that holds it
FROM_RESULTS = {
    "04_evaluation": {"90.99": "1", "92.30": "1"},  # the R-R features' gain on the kaggle split
    # the patient-adaptive evaluation of all DS2 records, copied (not run in the notebook)
    "06_adapting_to_a_patient": {"24.6": "15", "83.2": "15", "30.8": "15", "84.4": "15"},
}

# 1,234.5 or 98.86 or 7; the sign or unit after it decides whether it is a figure
NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d,]*\d)(\s?%)?")


def figures(text):
    """The figures of a text: numbers with a decimal point or a percent sign, commas dropped."""
    return {match.group(1).replace(",", "") for match in NUMBER.finditer(text)
            if "." in match.group(1) or match.group(2)}


def numbers(text):
    """Every number of a text, commas dropped (what a figure may be found among)."""
    return {match.group(1).replace(",", "") for match in NUMBER.finditer(text)}


def _text(value):
    return "".join(value) if isinstance(value, list) else str(value)


def read(name):
    return json.loads((NOTEBOOK_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))


def summary(notebook):
    """The text of the Summary section: from '## Summary' to the next level-2 heading."""
    markdown = "\n".join(_text(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    found = re.search(r"^## Summary\n(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    assert found, "no '## Summary' section"
    return found.group(1)


def outputs(notebook):
    """Everything the code cells printed or displayed as text (stream, plain, Markdown, HTML)."""
    parts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(_text(output.get("text", "")))
            data = output.get("data", {})
            for kind in ("text/plain", "text/markdown", "text/html"):
                if kind in data:
                    parts.append(re.sub(r"<[^>]+>", " ", _text(data[kind])))
    return "\n".join(parts)


def results_section(number):
    """The text of section ``number`` of docs/results.md (up to the next section of its level)."""
    text = RESULTS.read_text(encoding="utf-8")
    level = "###" if "." in number else "##"
    found = re.search(rf"^{level} {re.escape(number)}\. .*?(?=^#{{2,{len(level)}}} |\Z)", text, re.MULTILINE | re.DOTALL)
    assert found, f"docs/results.md has no section {number}"
    return found.group(0)


def unbacked_figures(notebook, allowed=None):
    """The Summary's figures found neither in the outputs nor in their allowed results section."""
    allowed = allowed or {}
    shown = numbers(outputs(notebook))
    missing = []
    for figure in sorted(figures(summary(notebook))):
        if figure in shown:
            continue
        if figure in allowed and figure in numbers(results_section(allowed[figure])):
            continue
        missing.append(figure)
    return missing


def test_figures_are_numbers_with_a_point_or_a_percent():
    text = "12 epochs in 15.2 min, accuracy 98.86%, macro-F1 0.9308 on 21,890 beats, 20 % of S, §2, 1,234.5"
    assert figures(text) == {"15.2", "98.86", "0.9308", "20", "1234.5"}
    assert "21890" in numbers(text) and "21890" not in figures(text)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_summary_figures_come_from_the_outputs(name):
    notebook = read(name)
    assert outputs(notebook), f"{name}: no committed outputs"
    missing = unbacked_figures(notebook, FROM_RESULTS.get(name))
    assert not missing, (f"{name}: the Summary quotes {missing}, which its committed outputs do not show; "
                         "quote the outputs, or list the figure in FROM_RESULTS with its docs/results.md section")


def test_a_wrong_figure_is_caught():
    """The check can fail: notebook 03's Summary with one figure changed is reported."""
    notebook = read("03_training")
    assert not unbacked_figures(notebook)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown" and "## Summary" in _text(cell["source"]):
            cell["source"] = _text(cell["source"]).replace("98.86%", "99.1%")
    assert unbacked_figures(notebook) == ["99.1"]


def test_an_allowed_figure_must_be_in_its_section():
    notebook = read("04_evaluation")
    assert unbacked_figures(notebook, {"90.99": "1", "92.30": "1"}) == []
    assert unbacked_figures(notebook, {"90.99": "2", "92.30": "1"}) == ["90.99"]
