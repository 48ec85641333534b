"""Every bad input exits 2 with one line on stderr and leaves results/ byte-identical; --dry-run runs nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pvtlab.grid.cells import expand
from pvtlab.grid.cli import main
from pvtlab.grid.spec import read_spec

ROOT = Path(__file__).resolve().parents[1]
GOOD = {"name": "cheap", "models": ["pvt_v2_b0"], "factorial": {"attention": ["sra", "linear_sra"]},
        "measure": ["params"], "resolutions": [64]}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def existing(tmp_path_factory) -> Path:
    """A results root holding a real finished grid named 'cheap' (the bad specs below use that name)."""
    root = tmp_path_factory.mktemp("existing")
    spec = root / "good.yaml"
    spec.write_text(yaml.safe_dump(GOOD))
    assert main(["--grid", str(spec), "--results-dir", str(root / "results"), "--workers", "1", "--no-report"]) == 0
    assert (root / "results" / "cheap" / "cells.csv").exists()
    return root


def _spec(folder: Path, text: str) -> Path:
    path = folder / "bad.yaml"
    path.write_text(text)
    return path


def _with(**changes) -> str:
    raw = {**GOOD, **changes}
    return yaml.safe_dump({k: v for k, v in raw.items() if v is not None})


BAD_SPECS = {
    "unknown key": (_with(colour="red"), "'colour'"),
    "unknown preset": (_with(models=["pvt_v9"]), "models='pvt_v9'"),
    "bad toggle value": (_with(factorial={"attention": ["sra", "fast"]}), "'fast'"),
    "bad position value": (_with(factorial={"position": ["pos_embed", "learned"]}), "'learned'"),
    "non-positive resolution": (_with(resolutions=[64, 0]), "resolutions=0"),
    "too-small resolution": (_with(resolutions=[16]), "at least 29 px"),
    "empty list": (_with(models=[]), "models=[]"),
    "empty seeds": (_with(accuracy={"data": {"name": "synthetic"}, "seeds": []}), "accuracy.seeds=[]"),
    "missing data root": (_with(accuracy={"data": {"name": "imagefolder", "root": "/nonexistent/data"}}),
                          "/nonexistent/data"),
    "unreadable yaml": ("name: cheap\nmodels: [pvt_v2_b0\n", "not valid YAML"),
    "not a mapping": ("- pvt_v2_b0\n", "must be a YAML mapping"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_exits_2_with_one_line_and_touches_nothing(case, existing, tmp_path, capsys):
    text, needle = BAD_SPECS[case]
    before = snapshot(existing)
    code = main(["--grid", str(_spec(tmp_path, text)), "--results-dir", str(existing / "results")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("run_ablation.py: error: ") and needle in err
    assert snapshot(existing) == before


BAD_FLAGS = {
    "zero workers": (["--workers", "0"], "--workers=0"),
    "bad device": (["--device", "tpu"], "--device='tpu'"),
    "bad storage": (["--storage", "redis://localhost/0"], "--storage='redis://localhost/0'"),
    "zero grace": (["--grace-s", "0"], "--grace-s=0"),
    "unknown flag": (["--speed", "fast"], "unrecognized arguments: --speed fast"),
    "mistyped flag": (["--storag", "x.journal"], "unrecognized arguments: --storag x.journal; did you mean --storage?"),
    "not a database url": (["--storage", "postgresql://u:secret@h:abc/db"], "not a valid database URL"),
    "postgres scheme": (["--storage", "postgres://u:secret@h/db"], "scheme 'postgres://' is not one SQLAlchemy "
                                                                   "knows; use postgresql://"),
    "unknown driver": (["--storage", "postgresql+nodriver://u:secret@h/db"], "'postgresql+nodriver://'"),
    "not a number": (["--workers", "two"], "invalid int value: 'two'"),
    "worker with workers": (["--worker", "--workers", "2"], "--workers=2 is not allowed with --worker"),
    "missing spec file": (["--grid", "nowhere.yaml"], "cannot read spec 'nowhere.yaml'"),
}


@pytest.mark.parametrize("case", sorted(BAD_FLAGS))
def test_bad_flag_exits_2_with_one_line_and_touches_nothing(case, existing, capsys):
    flags, needle = BAD_FLAGS[case]
    before = snapshot(existing)
    argv = flags if "--grid" in flags else ["--grid", str(existing / "good.yaml"), *flags]
    code = main([*argv, "--results-dir", str(existing / "results")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err and "secret" not in err
    assert snapshot(existing) == before


def test_report_of_a_missing_folder_is_a_user_error(tmp_path, capsys):
    assert main(["--report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err and "not allowed" not in err


def test_a_mistyped_flag_is_named_even_without_grid(capsys):
    assert main(["--grd", "spec.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --grd spec.yaml; did you mean --grid?" in err


def test_a_missing_database_driver_is_named_with_the_extra(existing, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg fails as on an install without the extra
    url = "postgresql://u:secret@127.0.0.1:1/db"
    assert main(["--grid", str(existing / "good.yaml"), "--storage", url, "--results-dir",
                 str(existing / "results")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'psycopg'" in err and 'pip install -e ".[postgres]"' in err
    assert "secret" not in err


def test_a_database_that_cannot_be_reached_is_one_line_without_the_password(existing, capsys):
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    before = snapshot(existing)
    url = "postgresql://u:secret@127.0.0.1:1/db"  # port 1: nothing listens
    assert main(["--grid", str(existing / "good.yaml"), "--storage", url, "--results-dir",
                 str(existing / "results")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot open --storage='postgresql://u:***@127.0.0.1:1/db'" in err
    assert "secret" not in err
    assert snapshot(existing) == before


@pytest.mark.parametrize("argv, needle", [
    (["--device", "cuda"], "--device=cuda"),  # this machine has no CUDA
    (["--grid", "SPEC_WITH_TYPO"], "spec key 'modles'"),
])
def test_real_process_exit_code_and_no_traceback(argv, needle, existing, tmp_path):
    import torch

    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    typo = _spec(tmp_path, yaml.safe_dump({**GOOD, "modles": GOOD["models"]}))
    argv = [str(typo) if a == "SPEC_WITH_TYPO" else a for a in argv]
    if "--grid" not in argv:
        argv = ["--grid", str(existing / "good.yaml"), *argv]
    before = snapshot(existing)
    proc = subprocess.run([sys.executable, str(ROOT / "run_ablation.py"), *argv, "--results-dir",
                           str(existing / "results")], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(existing) == before


def test_dry_run_summarizes_per_group_lists_with_verbose_and_runs_nothing(existing, tmp_path, capsys):
    bigger = _spec(tmp_path, _with(resolutions=[64, 96], variants={"again": {"attention": "sra"}}))
    before = snapshot(existing)
    assert main(["--grid", str(bigger), "--dry-run", "--results-dir", str(existing / "results")]) == 0
    out = capsys.readouterr().out
    cells = expand(read_spec(bigger), "cpu").cells
    assert len(cells) == 4  # 'again' is the sra combination: an alias, not a cell
    lines = out.splitlines()
    assert lines[0].split() == ["group", "cells", "to", "run", "done", "failed", "estimated"]
    assert lines[1].split()[:5] == ["params", "4", "2", "2", "0"]  # the 64 px cells ran before
    assert "4 cells: 2 to run, 2 done" in out and "estimated" in out
    assert not [line for line in lines if line.startswith(("ok ", "to run "))]  # no cell list without --verbose
    assert snapshot(existing) == before
    assert main(["--grid", str(bigger), "--dry-run", "--verbose", "--results-dir", str(existing / "results")]) == 0
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line.startswith(("status ", "ok ", "to run "))]
    assert len(table) == 1 + len(cells)
    assert len({line.index(" px") if " px" in line else line.rindex("s") for line in table[:1]}) == 1
    ends = {len(line) for line in table}  # right-aligned last column: every line ends at the same place
    assert len(ends) == 1, table
    assert any("pvt_v2_b0:sra; pvt_v2_b0:again" in line for line in table)
    smaller = _spec(tmp_path, _with(resolutions=[96]))
    assert main(["--grid", str(smaller), "--dry-run", "--results-dir", str(existing / "results")]) == 0
    assert "2 row(s) of" in capsys.readouterr().out  # the 64 px rows would go stale
    fresh = tmp_path / "fresh"
    assert main(["--grid", str(bigger), "--dry-run", "--results-dir", str(fresh)]) == 0
    assert not fresh.exists()
