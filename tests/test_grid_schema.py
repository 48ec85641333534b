"""Spec checks declared per key (pvtlab/grid/schema.py): first bad key named, None only where optional."""

from __future__ import annotations

import pytest

from pvtlab.errors import UserInputError
from pvtlab.schema import check, one_of, positive_int

RULES = {"size": positive_int("give pixels", optional=False), "recipe": one_of(("quick", "paper"))}


def test_the_first_bad_key_is_named_in_the_one_line_shape():
    with pytest.raises(UserInputError, match=r"^s.yaml: acc.size=True is not allowed; give pixels$"):
        check({"size": True, "recipe": "nope"}, RULES, "s.yaml", "acc")
    with pytest.raises(UserInputError, match="acc.recipe='papr' is not allowed; choose from .* did you mean 'paper'"):
        check({"size": 3, "recipe": "papr"}, RULES, "s.yaml", "acc")


def test_none_passes_only_where_the_rule_is_optional():
    check({"size": 1, "recipe": None}, RULES, "s.yaml", "acc")
    with pytest.raises(UserInputError, match="acc.size=None"):
        check({"recipe": "quick"}, RULES, "s.yaml", "acc")
