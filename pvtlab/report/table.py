"""A report table: rows of entries that know their value, CI, change and failure, rendered three ways.

An ``Entry`` keeps a missing number and the reason it is missing together, so no renderer can turn a
failed cell into a blank (which reads as zero) by accident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entry:
    """One table cell: a label, a number (with CI half-width, n and change), or why there is no number."""

    value: float | None = None
    ci: float | None = None  # 95% CI half-width of `value`
    n: int | None = None  # how many values `value` summarizes (seeds, combinations)
    delta: float | None = None  # change against the previous row
    delta_ci: float | None = None  # 95% CI half-width of `delta`
    note: str | None = None  # "failed (reason)" / "not run" when there is no value; a remark when there is
    text: str | None = None  # a label instead of a number

    @property
    def has_value(self) -> bool:
        return self.value is not None and not math.isnan(self.value)


def missing(note: str) -> Entry:
    """An entry with no number, saying why."""
    return Entry(note=note)


def label(text: str) -> Entry:
    """A text entry (names, settings)."""
    return Entry(text=text)


@dataclass(frozen=True)
class Col:
    """A table column: ``key`` names it in the CSV (unit in the name), ``header`` in markdown and LaTeX."""

    key: str
    header: str
    decimals: int = 2
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
