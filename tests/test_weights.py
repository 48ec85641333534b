"""load_weights: pvtlab, timm and official PVT key formats; strict errors; files are loaded safely."""

import pickle
import re

import pytest
import torch

import pvtlab
from pvtlab.errors import UserInputError
from pvtlab.models.weights import WeightsMismatchError


def to_official(key: str, v1: bool) -> str:
    """pvtlab key -> whai362/PVT key, written from the official code's key names (independent of key_maps.py)."""
    key = key.replace(".attn.reducer.conv.", ".attn.sr.").replace(".attn.reducer.norm.", ".attn.norm.")
    if not v1:
        key = key.replace(".mlp.dwconv.", ".mlp.dwconv.dwconv.")
    if key == "stages.3.prefix.token":
        return "cls_token"
    m = re.match(r"stages\.(\d)\.(.*)", key)
    if not m:
        return key
    stage, rest = int(m.group(1)) + 1, m.group(2)
    if rest == "pos_embed.table":
        return f"pos_embed{stage}"
    if rest.startswith("patch_embed."):
        return f"patch_embed{stage}." + rest[len("patch_embed."):]
    if rest.startswith("blocks."):
        return f"block{stage}." + rest[len("blocks."):]
    if rest.startswith("norm."):
        return ("norm." if v1 else f"norm{stage}.") + rest[len("norm."):]
    raise AssertionError(key)


def test_official_v1_checkpoint_loads_and_runs_at_other_sizes(tmp_path):
    source = pvtlab.create_model("pvt_v1_tiny").eval()
    official = {to_official(k, v1=True): v for k, v in source.state_dict().items()}
    assert {"pos_embed1", "pos_embed4", "cls_token", "norm.weight", "block1.0.attn.sr.weight"} <= set(official)
    assert official["pos_embed4"].shape == (1, 50, 512)  # 7*7 + the class-token slot
    path = tmp_path / "pvt_tiny.pth"
    torch.save({"model": official}, path)  # DeiT-style wrapper, as the official training code saves
    model = pvtlab.create_model("pvt_v1_tiny").eval()
    assert pvtlab.load_weights(model, path).complete
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        assert torch.equal(model(x), source(x))
        for size in (320, 448):  # 448: where the official code crashes (bug_at_2x)
            out = model(torch.randn(1, 3, size, size))
            assert out.shape == (1, 1000) and torch.isfinite(out).all()


def test_official_v2_checkpoint_loads():
    source = pvtlab.create_model("pvt_v2_b0").eval()
    official = {to_official(k, v1=False): v for k, v in source.state_dict().items()}
    assert "block1.0.mlp.dwconv.dwconv.weight" in official and "norm4.weight" in official
    model = pvtlab.create_model("pvt_v2_b0").eval()
    pvtlab.load_weights(model, official)
    x = torch.randn(1, 3, 96, 128)
    with torch.inference_mode():
        assert torch.equal(model(x), source(x))


def test_own_format_and_safetensors_round_trip(tmp_path):
    from safetensors.torch import save_file
    source = pvtlab.create_model("pvt_v2_b0", num_classes=10)
    path = tmp_path / "w.safetensors"
    save_file(source.state_dict(), str(path))
    model = pvtlab.create_model("pvt_v2_b0", num_classes=10)
    report = pvtlab.load_weights(model, path)
    assert set(report.loaded) == set(source.state_dict()) and not report.skipped
    for k, v in source.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k


def test_mismatch_names_missing_unexpected_and_shapes():
    state = pvtlab.create_model("pvt_v2_b0").state_dict()
    del state["head.bias"]
    state["extra.weight"] = torch.zeros(1)
    state["stages.0.blocks.0.attn.q.weight"] = torch.zeros(3, 3)
    with pytest.raises(WeightsMismatchError) as err:
        pvtlab.load_weights(pvtlab.create_model("pvt_v2_b0"), state)
    text = str(err.value)
    assert "missing keys: head.bias" in text and "unexpected keys: extra.weight" in text
    assert "stages.0.blocks.0.attn.q.weight (3, 3) vs model (32, 32)" in text


def test_strict_mismatch_loads_nothing():
    model = pvtlab.create_model("pvt_v2_b0")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = pvtlab.create_model("pvt_v2_b0").state_dict()
    state["stages.0.blocks.0.attn.q.weight"] = torch.zeros(3, 3)
    with pytest.raises(WeightsMismatchError):
        pvtlab.load_weights(model, state)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_non_strict_loads_what_fits_into_an_ablated_variant():
    """B2 weights into B2 with v1 patch embeddings: every tensor but the four patch-embedding convs fits."""
    small = dict(depths=(1, 1, 1, 1))  # B2's widths, fewer blocks: the same keys per block, faster
    source = pvtlab.create_model("pvt_v2_b2", **small)
    ablated = pvtlab.create_model("pvt_v2_b2", patch_embed="non_overlap", **small)
    state = dict(source.state_dict(), **{"extra.weight": torch.zeros(1)})
    del state["head.bias"]
    with torch.no_grad():
        ablated.head.bias.fill_(0.5)  # a value the checkpoint does not have: it must survive
    report = pvtlab.load_weights(ablated, state, strict=False)
    convs = [f"stages.{i}.patch_embed.proj.weight" for i in range(4)]
    assert sorted(report.shape_mismatch) == convs
    assert report.shape_mismatch[convs[0]] == "checkpoint (64, 3, 7, 7) vs model (64, 3, 4, 4)"
    assert report.missing == ("head.bias",) and report.unexpected == ("extra.weight",)
    assert report.skipped["head.bias"].startswith("missing") and report.skipped["extra.weight"].startswith("not in")
    assert set(report.loaded) == set(source.state_dict()) - set(convs) - {"head.bias"}
    loaded = ablated.state_dict()
    for key in report.loaded:
        assert torch.equal(loaded[key], source.state_dict()[key]), key
    assert torch.all(loaded["head.bias"] == 0.5)
    assert loaded[convs[0]].shape == (64, 3, 4, 4)


def test_v2_weights_do_not_fit_a_v1_model():
    with pytest.raises(WeightsMismatchError, match="pos_embed"):
        pvtlab.load_weights(pvtlab.create_model("pvt_v1_tiny"), pvtlab.create_model("pvt_v2_b1").state_dict())


class _RunsCode:
    def __reduce__(self):
        return (print, ("this checkpoint ran code",))


def test_checkpoint_that_would_run_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"head.weight": _RunsCode()}, f)
    with pytest.raises(UserInputError, match="evil.pth.*refused"):
        pvtlab.load_weights(pvtlab.create_model("pvt_v2_b0"), path)
    assert "this checkpoint ran code" not in capsys.readouterr().out


@pytest.mark.parametrize("name,match", [("missing.pth", "does not exist"), ("weights.bin", "allowed")])
def test_bad_checkpoint_path(tmp_path, name, match):
    with pytest.raises(UserInputError, match=match):
        pvtlab.load_weights(pvtlab.create_model("pvt_v2_b0"), tmp_path / name)


@pytest.mark.parametrize("strict", [True, False])
def test_a_features_only_backbone_loads_through_the_model_it_wraps(strict):
    full = pvtlab.create_model("pvt_v2_b0")
    backbone = pvtlab.create_model("pvt_v2_b0", features_only=True, out_indices=(0, 1))
    report = pvtlab.load_weights(backbone, full.state_dict(), strict=strict)
    assert report.loaded and not (report.missing or report.unexpected)
    assert "head.weight" in report.dropped and any(k.startswith("stages.3.") for k in report.dropped)
    assert torch.equal(backbone.model.stages[1].patch_embed.proj.weight, full.stages[1].patch_embed.proj.weight)


@pytest.mark.parametrize("strict", [True, False])
def test_a_checkpoint_nothing_of_which_fits_raises_even_when_not_strict(strict):
    state = {f"neck.{k}": v for k, v in pvtlab.create_model("pvt_nano").state_dict().items()}
    with pytest.raises(WeightsMismatchError, match="no checkpoint key fits the model"):
        pvtlab.load_weights(pvtlab.create_model("pvt_nano"), state, strict=strict)


def test_a_printed_report_is_counts_and_a_few_keys():
    model = pvtlab.create_model("pvt_v2_b2", patch_embed="non_overlap", device="meta")
    state = pvtlab.create_model("pvt_v2_b2", device="meta").state_dict()
    text = repr(pvtlab.load_weights(model, state, strict=False))
    assert len(text) < 400 and "\n" not in text
    assert re.match(r"LoadReport\(\d+ loaded: [^;]+, \.\.\. \d+ more; 0 missing; 0 unexpected; 4 shape_mismatch", text)
    assert str(pvtlab.load_weights(model, state, strict=False)) == text
