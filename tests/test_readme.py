"""The READMEs and docs: the English and Korean READMEs agree, links resolve, CI runs the README's test command.

Checks are against the files themselves (the independent reference for a
README's command is the line `.ci/run` executes; for a link, the file system
and GitHub's heading anchors).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_KO = ROOT / "README.ko.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MAX_README_BYTES = 12_500

# Words of a work log, not of a product (spelled in pieces so that a grep of the
# repository for them finds the pages, not this list).
WORK_LOG_WORDS = "(?i)" + "|".join(
    [r"\bsess" + r"ions?\b", r"\.\./sha" + "red", "/wo" + "rk/", r"\biss" + r"ue \d", "tod" + "ay's",
     "previous mo" + "del", "was not k" + "ept", "세" + "션"]
)

DEMO_COMMAND = "pip install -e . && python -m ecgnet demo"
TEST_COMMAND = 'pip install -e ".[test]" && python -m pytest'


def fenced_lines(path, language):
    """The non-blank, stripped lines of every ```LANGUAGE fenced block of a page, in order."""
    lines, inside = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not inside and stripped.startswith("```" + language):
            inside = True
        elif inside and stripped.startswith("```"):
            inside = False
        elif inside and stripped:
            lines.append(stripped)
    return lines


def bash_lines(path):
    """The non-blank lines of every ```bash fenced block, in order."""
    return fenced_lines(path, "bash")


def notebook_links(path):
    """Every notebooks/NAME.ipynb that a file links to (Colab badges included), in order."""
    return re.findall(r"notebooks/[\w.-]+\.ipynb", path.read_text(encoding="utf-8"))


def markdown_links(path):
    """Targets of the [text](target) links in a Markdown file."""
    return re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8"))


def github_anchor(heading):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    return {github_anchor(m) for m in re.findall(r"^#{1,6} (.+)$", path.read_text(encoding="utf-8"), re.M)}


def ci_test_command():
    """The last command line of .ci/run that runs pytest."""
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if "pytest" in line and not line.strip().startswith("#")
    ]
    assert commands, ".ci/run runs no pytest command"
    return commands[-1]


def test_github_anchor_matches_known_slugs():
    assert github_anchor("3. Inter-patient split (DS1 -> DS2)") == "3-inter-patient-split-ds1---ds2"
    assert github_anchor("How to cite") == "how-to-cite"


def test_readme_is_short():
    size = README.stat().st_size
    assert size <= MAX_README_BYTES, f"README.md is {size} bytes; move detail to docs/ (limit {MAX_README_BYTES})"


def clone_command():
    """`git clone URL && cd NAME` for the Repository URL of pyproject.toml's [project.urls]."""
    url = re.search(r'^Repository\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert url, "pyproject.toml has no Repository URL"
    return f"git clone {url.group(1)} && cd {url.group(1).rstrip('/').rsplit('/', 1)[-1]}"


def test_readme_quickstart_commands_verbatim():
    """The quickstart starts from a fresh clone of the Repository URL, then the demo, then the tests."""
    lines = bash_lines(README)
    assert lines[:3] == [clone_command(), DEMO_COMMAND, TEST_COMMAND]


def test_ci_runs_the_readme_test_command():
    assert ci_test_command() == TEST_COMMAND
    assert ci_test_command() in bash_lines(README)


def test_korean_readme_has_the_same_commands():
    assert bash_lines(README_KO) == bash_lines(README)


def test_korean_readme_has_the_same_notebook_links():
    english = notebook_links(README)
    assert len(english) >= 10, "the notebooks table lost its links"
    assert notebook_links(README_KO) == english


def test_each_readme_links_to_the_other():
    assert "README.ko.md" in markdown_links(README)
    assert "README.md" in markdown_links(README_KO)


@pytest.mark.parametrize("readme", [README, README_KO], ids=lambda p: p.name)
def test_colab_badge_opens_the_notebook_of_its_row(readme):
    rows = [line for line in readme.read_text(encoding="utf-8").splitlines() if "colab.research.google.com/github" in line]
    assert rows
    for row in rows:
        assert len(set(notebook_links_in(row))) == 1, row


def notebook_links_in(text):
    return re.findall(r"notebooks/[\w.-]+\.ipynb", text)


@pytest.mark.parametrize("page", [README, README_KO, *DOCS], ids=lambda p: p.name)
def test_relative_links_resolve(page):
    broken = []
    for target in markdown_links(page):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(target)
    assert not broken, f"{page.name} links to missing files or anchors: {broken}"


@pytest.mark.parametrize("page", [README, README_KO, *DOCS, *sorted((ROOT / "ecgnet" / "weights").glob("*.json"))], ids=lambda p: p.name)
def test_pages_speak_of_the_project_only(page):
    text = page.read_text(encoding="utf-8")
    found = re.findall(WORK_LOG_WORDS, text)
    assert not found, f"{page.name}: {found}"


def python_imports(path):
    """``(module, name)`` of every ``from ecgnet... import ...`` line, and ``(module, None)`` of every
    ``import ecgnet...`` line, in the ```python fenced blocks of a page."""
    found = []
    for stripped in fenced_lines(path, "python"):
        if match := re.match(r"from (ecgnet[\w.]*) import (.+)", stripped):
            names = match.group(2).split("#")[0].strip("() ")
            found += [(match.group(1), name.split(" as ")[0].strip()) for name in names.split(",") if name.strip()]
        elif match := re.match(r"import (ecgnet[\w.]*)", stripped):
            found.append((match.group(1), None))
    return found


@pytest.mark.parametrize("page", [README, README_KO, ROOT / "data" / "README.md", *DOCS], ids=lambda p: p.name)
def test_python_examples_import_what_exists(page):
    """The examples a reader copies first must not stop at their imports."""
    import importlib

    missing = []
    for module, name in python_imports(page):
        try:
            imported = importlib.import_module(module)
        except ImportError as error:
            missing.append(f"{module}: {error}")
            continue
        if name is not None and not hasattr(imported, name):
            missing.append(f"{module}.{name}")
    assert not missing, f"{page.name}: {missing}"
