"""benchmarks/gpu_check.sh cannot run without CUDA; its shell part parses and its Python part runs on the CPU."""

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_shell_script_is_valid_bash():
    result = subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "gpu_check.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_cpu_smoke_mode_trains_both_models_and_prints_one_table(capsys):
    rows = _gpu_check().main(["--device", "cpu", "--amp", "none", "--steps", "1", "--runs", "1", "--size", "64",
                              "--batch", "4", "--models", "pvt_v2_b0", "--no-measure"])
    assert len(rows) == 1 and rows[0]["model"] == "pvt_v2_b0" and rows[0]["amp"] == "float32"
    assert rows[0]["timm_img_s"] > 0 and rows[0]["pvtlab_img_s"] > 0
    assert rows[0]["ratio"] == pytest.approx(rows[0]["pvtlab_img_s"] / rows[0]["timm_img_s"])
    out = capsys.readouterr().out
    assert out.count("| pvt_v2_b0 |") == 1 and "| model | amp | timm_img_s | pvtlab_img_s | ratio |" in out
