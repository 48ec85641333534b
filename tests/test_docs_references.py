"""Docs that point somewhere: every file a tracked file names must be in the repository.

A reader who follows "see X" and finds nothing stops trusting the rest. The check reads what people read:
Markdown files whole, and the comments and docstrings of Python files, YAML specs and notebooks. A name counts
as a file reference when it ends in a source or document extension; it must be a tracked file (by path from the
repository root or from the referring file's folder, or by bare file name), or a file pvtlab itself writes into a
results folder (``pvtlab.files``, the report's ``table_*`` / ``plot_*`` files). A path that climbs out of the
repository (``../``) is always wrong.
"""

from __future__ import annotations

import ast
import io
import json
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

import pvtlab.files as study_files

REPO = Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r"(?<![\w/.-])((?:\.\./|\./)?(?:[\w.-]+/)*[\w-]+\.(?:md|py|ya?ml|ipynb|sh|toml|json))\b")
# Names pvtlab writes into results/<name>/ at run time: outputs, not repository files.
WRITTEN = {value for name, value in vars(study_files).items() if name.isupper() and isinstance(value, str)}
WRITTEN_PATTERNS = (re.compile(r"^(table|plot)_[\w-]+\.\w+$"),)


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if (REPO / line).exists()]


def python_prose(text: str) -> str:
    """Comments and docstrings of a Python file (string literals in code are data, not prose)."""
    parts = [tok.string for tok in tokenize.generate_tokens(io.StringIO(text).readline)
             if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            parts.append(ast.get_docstring(node, clean=False) or "")
    return "\n".join(parts)


def yaml_prose(text: str) -> str:
    return "\n".join(line.split("#", 1)[1] for line in text.splitlines() if "#" in line)


def notebook_prose(text: str) -> str:
    cells = json.loads(text)["cells"]
    return "\n".join("".join(cell["source"]) if cell["cell_type"] == "markdown"
                     else python_prose("".join(cell["source"])) for cell in cells)


def prose(path: str) -> str | None:
    text = (REPO / path).read_text(errors="replace")
    if path.endswith(".md"):
        return text
    if path.endswith(".py"):
        return python_prose(text)
    if path.endswith((".yaml", ".yml")):
        return yaml_prose(text)
    if path.endswith(".ipynb"):
        return notebook_prose(text)
    return None


def resolves(name: str, referrer: str, files: set[str], basenames: set[str]) -> bool:
    if name.startswith("../"):
        return False
    bare = name.removeprefix("./")
    if bare in files or str(Path(referrer).parent / bare) in files:
        return True
    base = Path(bare).name
    if "/" not in bare and base in basenames:
        return True
    written = base in WRITTEN or any(p.match(base) for p in WRITTEN_PATTERNS)
    return written and ("/" not in bare or bare.startswith("results/"))


def dangling_references() -> list[str]:
    files = tracked_files()
    file_set, basenames = set(files), {Path(f).name for f in files}
    found = []
    for path in files:
        text = prose(path)
        if text is None:
            continue
        for match in REFERENCE.finditer(text):
            name = match.group(1)
            if not resolves(name, path, file_set, basenames):
                found.append(f"{path}: {name}")
    return sorted(set(found))


def test_every_referenced_file_is_in_the_repository() -> None:
    missing = dangling_references()
    assert not missing, "files named but not in the repository:\n" + "\n".join(missing)


@pytest.mark.parametrize("name, ok", [("README.md", True), ("pvtlab/files.py", True), ("../shared/README.md", False),
                                      ("paper_tables.md", False), ("results/default/report.md", True),
                                      ("table_path.csv", True), ("notes/nowhere.md", False),
                                      ("pvtlab/cells.csv", False)])
def test_the_check_itself_tells_present_from_missing(name: str, ok: bool) -> None:
    files = tracked_files()
    assert resolves(name, "README.md", set(files), {Path(f).name for f in files}) is ok
