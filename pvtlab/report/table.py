"""A report table and its three renderings: markdown (report.md), LaTeX (booktabs, papers) and CSV (reuse).

An ``Entry`` keeps a number together with its CI, spread, change and the reason it is missing, so no renderer
can turn a failed cell into a blank (which reads as zero) by accident. Markdown and LaTeX print one string per
entry ("4.03 ± 0.02 (Δ +0.21)"); the CSV gives value, CI, n, change and note their own columns at full
precision, and a numeric column holds numbers only: the reason a value is missing is in ``<key>_note``.

Numbers print with three significant digits (1,420; 45.2; 3.82; 0.0177), and a CI or change with the decimal
places of its value, so a column reads consistently and a small value never prints as 0.00.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

NOT_RUN = "not run"
NOISE = 1e-9
SIGNIFICANT = 3
MAX_PLACES = 6
LATEX_NUMERIC_COLUMNS = 6  # wider tables are split into parts that fit a page


@dataclass(frozen=True)
class Entry:
    """One table cell: a label, a number (with CI half-width, n, spread and change), or why there is none."""

    value: float | None = None
    ci: float | None = None  # 95% CI half-width of `value`
    n: int | None = None  # how many values `value` summarizes (seeds, settings)
    delta: float | None = None  # change against the previous row
    delta_ci: float | None = None  # 95% CI half-width of `delta`
    spread: tuple[str, float] | None = None  # ("IQR", 3.1): a measured spread shown next to the value
    note: str | None = None  # "failed (reason)" / "not run" when there is no value; a remark when there is
    text: str | None = None  # a label instead of a number

    @property
    def has_value(self) -> bool:
        return self.value is not None and not math.isnan(self.value)


def missing(note: str) -> Entry:
    """An entry with no number, saying why."""
    return Entry(note=note)


def label(text: object) -> Entry:
    """A text entry (names, settings)."""
    return Entry(text=str(text))


@dataclass(frozen=True)
class Col:
    """A table column: ``key`` names it in the CSV (unit in the name), ``header`` in markdown and LaTeX."""

    key: str
    header: str
    signed: bool = False  # show a + on positive values (changes and effects)


@dataclass
class Table:
    """A titled table with footnotes; ``name`` is the stem of its .csv and .tex files."""

    name: str
    title: str
    columns: list[Col]
    rows: list[list[Entry]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: list[Entry]) -> None:
        if len(row) != len(self.columns):
            raise ValueError(f"table '{self.name}' row has {len(row)} entries for {len(self.columns)} columns")
        self.rows.append(row)

    def column(self, key: str) -> list[Entry]:
        """All entries of one column, top to bottom."""
        index = [c.key for c in self.columns].index(key)
        return [row[index] for row in self.rows]

    def numeric(self) -> list[bool]:
        """Per column: True when it holds numbers (no label entries)."""
        return [not any(row[i].text is not None for row in self.rows) for i in range(len(self.columns))]


def places(value: float) -> int:
    """Decimal places that show ``value`` with three significant digits (none for values of 100 and more)."""
    if value == 0 or not math.isfinite(value):
        return 0
    return min(MAX_PLACES, max(0, SIGNIFICANT - 1 - math.floor(math.log10(abs(value)))))


def number(value: float, decimals: int | None = None, signed: bool = False) -> str:
    """``value`` with ``decimals`` places (default: three significant digits); float noise prints as 0.

    A value that ``decimals`` would round to zero gets the places it needs instead.
    """
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if abs(value) < NOISE:
        value = 0.0
    shown = places(value) if decimals is None else decimals
    if value and abs(value) < 0.5 * 10.0**-shown:
        shown = places(value)
    sign = "+" if signed and value > 0 else ""
    return f"{sign}{value:,.{shown}f}"


def show(entry: Entry, col: Col) -> str:
    """The one-string form of an entry, as markdown and LaTeX print it."""
    if entry.text is not None:
        return entry.text
    if not entry.has_value:
        return entry.note or NOT_RUN
    decimals = places(entry.value) if entry.value else 2
    text = number(entry.value, decimals, col.signed)
    if entry.ci is not None and not math.isnan(entry.ci):
        text += f" ± {number(entry.ci, decimals)}"
    if entry.spread is not None and not math.isnan(entry.spread[1]):
        text += f" ({entry.spread[0]} {number(entry.spread[1], decimals)})"
    if entry.n is not None:
        text += f" (n={entry.n})"
    if entry.delta is not None and not math.isnan(entry.delta):
        change = number(entry.delta, decimals, signed=True)
        if entry.delta_ci is not None and not math.isnan(entry.delta_ci):
            change += f" ± {number(entry.delta_ci, decimals)}"
        text += f" (Δ {change})"
    if entry.note:
        text += f" [{entry.note}]"
    return text


def markdown(table: Table) -> str:
    """A titled GitHub-markdown table with its footnotes below."""
    headers = [_md(c.header) for c in table.columns]
    lines = [f"### {table.title}", "", "| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---:" if n else ":---" for n in table.numeric()) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(_md(show(e, c)) for e, c in zip(row, table.columns)) + " |")
    lines.extend([""] + [f"- {note}" for note in table.notes])
    return "\n".join(lines).rstrip() + "\n"


def latex(table: Table) -> str:
    """Booktabs ``table`` environments scaled to the line width; needs ``\\usepackage{booktabs,graphicx}``.

    A table with more than ``LATEX_NUMERIC_COLUMNS`` columns after its leading label columns is split into parts,
    each repeating the label columns, so every part stays readable on a page instead of shrinking to an
    unreadable font.
    """
    numeric = table.numeric()
    first = numeric.index(True) if True in numeric else len(numeric)
    labels, values = list(range(first)), list(range(first, len(numeric)))
    chunks = [values[i:i + LATEX_NUMERIC_COLUMNS] for i in range(0, len(values), LATEX_NUMERIC_COLUMNS)] or [[]]
    out = ["% generated by pvtlab.report; needs \\usepackage{booktabs,graphicx}"]
    for part, chunk in enumerate(chunks, start=1):
        index = labels + chunk
        suffix = f" (part {part} of {len(chunks)})" if len(chunks) > 1 else ""
        tag = f"-{part}" if len(chunks) > 1 else ""
        spec = "".join("r" if numeric[i] else "l" for i in index)
        out += ["\\begin{table}[t]", "\\centering", f"\\caption{{{_tex(table.title + suffix)}}}",
                f"\\label{{tab:{table.name}{tag}}}", "\\resizebox{\\linewidth}{!}{%",
                f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
                " & ".join(_tex(table.columns[i].header) for i in index) + " \\\\", "\\midrule"]
        for row in table.rows:
            out.append(" & ".join(_tex(show(row[i], table.columns[i])) for i in index) + " \\\\")
        out += ["\\bottomrule", "\\end{tabular}}"]
        if table.notes and part == len(chunks):
            out.append("\\par\\smallskip\\footnotesize " + " ".join(_tex(n) for n in table.notes))
        out.append("\\end{table}")
    return "\n".join(out) + "\n"


def frame(table: Table) -> pd.DataFrame:
    """The machine-readable form: value, CI, n, spread and change each in its own column, numbers only."""
    out: dict[str, list[object]] = {}
    for i, (col, numeric) in enumerate(zip(table.columns, table.numeric())):
        entries = [row[i] for row in table.rows]
        if not numeric:
            out[col.key] = [e.text if e.text is not None else show(e, col) for e in entries]
            continue
        out[col.key] = [e.value if e.has_value else None for e in entries]
        extras = {
            "ci95_half": [e.ci for e in entries],
            "n": [e.n for e in entries],
            "iqr": [e.spread[1] if e.spread and e.spread[0] == "IQR" else None for e in entries],
            "p90": [e.spread[1] if e.spread and e.spread[0] == "p90" else None for e in entries],
            "delta": [e.delta for e in entries],
            "delta_ci95_half": [e.delta_ci for e in entries],
            "note": [e.note if e.has_value else (e.note or NOT_RUN) for e in entries],
        }
        for suffix, column in extras.items():
            if any(v is not None for v in column):
                out[f"{col.key}_{suffix}"] = pd.array(column, dtype="Int64") if suffix == "n" else column
    return pd.DataFrame(out)


def write(table: Table, folder: Path) -> list[Path]:
    """Write ``<name>.csv`` and ``<name>.tex`` into ``folder``; returns both paths."""
    csv_path, tex_path = folder / f"{table.name}.csv", folder / f"{table.name}.tex"
    frame(table).to_csv(csv_path, index=False)
    tex_path.write_text(latex(table), encoding="utf-8")
    return [csv_path, tex_path]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_TEX = {"\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "$": "\\$", "#": "\\#", "_": "\\_", "{": "\\{",
        "}": "\\}", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}", "±": "$\\pm$", "Δ": "$\\Delta$",
        "→": "$\\rightarrow$", "×": "$\\times$", "≥": "$\\geq$", "≤": "$\\leq$", "`": ""}


def _tex(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text)
