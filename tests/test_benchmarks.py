"""The benchmark scripts stay runnable: each one imports what it uses and parses its arguments.

Their numbers are for people, not for asserts (speed goals live there, not in timed tests); what a test can
check is that a rename inside pvtlab did not leave a script broken until someone next runs it. Each script is
loaded in this process (torch is already imported, so this costs milliseconds, not a fresh interpreter each).
"""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_benchmark_script_imports_and_parses_its_arguments(script, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(script.parent))  # as when run as a script: its siblings import by name
    spec = importlib.util.spec_from_file_location(f"benchmark_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its imports: a name pvtlab no longer has fails here
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    with pytest.raises(SystemExit) as done:
        module.main()
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out
