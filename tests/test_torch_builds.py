"""torch and torchvision from different builds: importing pvtlab names both versions and the fix in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pvtlab.torch_settings import installed, mismatch_message

ROOT = Path(__file__).resolve().parents[1]


def test_a_mismatched_torchvision_is_named_with_both_versions_and_the_fix(tmp_path: Path):
    fake = tmp_path / "torchvision"  # what a torchvision built for another torch raises on import
    fake.mkdir()
    (fake / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    done = subprocess.run([sys.executable, "-c", "import pvtlab"], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"})
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1 and last.startswith("ImportError: torch ")
    assert f"torch {installed('torch')} and torchvision {installed('torchvision')}" in last
    assert "operator torchvision::nms does not exist" in last and "pip install torch==" in last


def test_the_suggested_torchvision_release_follows_torch():
    message = mismatch_message("x")
    major, minor = installed("torch").split("+")[0].split(".")[:2]
    assert f"torchvision==0.{int(minor) + 15}.*" in message and major == "2"
