"""Fine-tuning: exactly the staged parameters change, BatchNorm statistics stay frozen, backbones load bit for bit."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from dlprimer import models
from dlprimer.cli import main
from dlprimer.train import TrainConfig, fit
from dlprimer.train.checkpoint import load_checkpoint
from dlprimer.train.finetune import (
    apply_stage,
    layer_lr_groups,
    load_backbone,
    model_parts,
    replace_head,
    stage_of_epoch,
    trainable_modules,
)


def train_steps(model: nn.Module, stage: str, steps: int = 2) -> tuple[dict, dict]:
    """A few SGD steps in ``stage`` on random data; the state before and after."""
    torch.manual_seed(0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        model.train()
        apply_stage(model, stage)
        x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 5, (4,))
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return before, model.state_dict()


def changed(before: dict, after: dict) -> set[str]:
    return {k for k in before if not torch.equal(before[k], after[k])}


def under(key: str, prefixes) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def test_head_stage_changes_exactly_the_head_and_no_batchnorm_statistics():
    torch.manual_seed(1)
    model = models.create("resnet18", num_classes=5, in_channels=3)
    before, after = train_steps(model, "head")
    assert changed(before, after) == {"fc.weight", "fc.bias"}  # no running_mean/var, no num_batches_tracked


def test_top_half_stage_changes_exactly_head_and_upper_stages():
    torch.manual_seed(1)
    model = models.create("resnet18", num_classes=5, in_channels=3)
    before, after = train_steps(model, "top-half")
    expected_prefixes = ("fc", "layer3", "layer4")
    assert trainable_modules(model, "top-half") == ("fc", "layer3", "layer4")
    diff = changed(before, after)
    assert diff and all(under(k, expected_prefixes) for k in diff)
    # every trainable parameter and the BatchNorm statistics of the unfrozen stages changed
    assert {k for k, _ in model.named_parameters() if under(k, expected_prefixes)} <= diff
    assert "layer4.0.bn1.running_mean" in diff and "layer1.0.bn1.running_mean" not in diff
    before, after = train_steps(model, "all")
    assert "conv1.weight" in changed(before, after) and "bn1.running_var" in changed(before, after)


@pytest.mark.parametrize("name,head,n_stages", [("lenet5", ("classifier",), 2), ("alexnet", ("classifier",), 3),
                                                ("vgg11", ("classifier",), 5), ("resnet18", ("fc",), 4),
                                                ("densenet121", ("classifier",), 4), ("googlenet", ("fc",), 3)])
def test_zoo_models_declare_head_and_stages(name, head, n_stages):
    model = models.create(name, num_classes=3, in_channels=3)
    h, stages = model_parts(model)
    assert h == head and len(stages) == n_stages
    modules = dict(model.named_modules())
    assert all(n in modules for s in stages for n in s) and all(n in modules for n in h)
    replace_head(model, 7)
    linears = [m for n, m in model.named_modules() if isinstance(m, nn.Linear) and under(n, h)]
    assert linears[-1].out_features == 7


def test_layer_lr_decay_groups():
    model = models.create("resnet18", num_classes=3, in_channels=3)
    groups = layer_lr_groups(model, 0.1, 0.5)
    assert [(g["name"], g["lr"]) for g in groups] == [("head", 0.1), ("stage4", 0.05), ("stage3", 0.025),
                                                      ("stage2", 0.0125), ("stage1", 0.00625), ("stem", 0.003125)]
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    assert stage_of_epoch(["head", "top-half", "all"], [3, 3, 4], 3) == "head"
    assert stage_of_epoch(["head", "top-half", "all"], [3, 3, 4], 4) == "top-half"
    assert stage_of_epoch(["head", "top-half", "all"], [3, 3, 4], 10) == "all"


def test_rgb_first_layer_is_summed_for_grey_data(tmp_path):
    torch.manual_seed(0)
    rgb = models.create("resnet18", num_classes=1000, in_channels=3)  # torchvision layout
    path = tmp_path / "resnet18.pth"
    torch.save(rgb.state_dict(), path)
    grey = models.create("resnet18", num_classes=10, in_channels=1)
    fresh = load_backbone(grey, torch.load(path, weights_only=True), "test")
    assert set(fresh) == {"fc.weight", "fc.bias"}
    assert torch.equal(grey.conv1.weight, rgb.conv1.weight.sum(dim=1, keepdim=True))
    assert torch.equal(grey.layer3[1].conv2.weight, rgb.layer3[1].conv2.weight)
    x = torch.rand(2, 1, 32, 32)  # a grey image = RGB with three equal channels
    grey.eval(), rgb.eval()
    feats = nn.Sequential(*list(rgb.children())[:-1])
    grey_feats = nn.Sequential(*list(grey.children())[:-1])
    torch.testing.assert_close(grey_feats(x), feats(x.expand(-1, 3, -1, -1)), rtol=1e-4, atol=1e-5)
    bad = {**rgb.state_dict(), "layer1.0.conv1.weight": torch.zeros(3, 3, 3, 3)}
    with pytest.raises(ValueError, match="layer1.0.conv1.weight"):
        load_backbone(grey, bad, "bad.pth")


def test_init_from_loads_the_backbone_bit_for_bit_and_stages_run(tmp_path, capsys):
    base = dict(out=str(tmp_path), batch_size=64, image_size=16)
    first = fit(TrainConfig(name="pre", epochs=1, classes="0,1,2,3,4", **base)).run_dir
    from dlprimer.train.engine import prepare

    cfg = TrainConfig(name="ft", classes="5,6,7,8,9", label_fraction=0.1, init_from=str(first),
                      finetune="head,all", stage_epochs="1,1", **base)
    prepared = prepare(cfg)
    pre = load_checkpoint(first / "checkpoint.pt")["engine"]["model"]
    now = prepared.engine.model.state_dict()
    backbone = [k for k in now if not k.startswith("classifier")]
    assert backbone and all(torch.equal(now[k], pre[k]) for k in backbone)
    assert not torch.equal(now["classifier.5.weight"], pre["classifier.5.weight"])  # a new head (LeNet's:
    # the whole FC classifier, declared as its head)
    assert prepared.task.num_classes == 5 and prepared.task.class_names == ["5", "6", "7", "8", "9"]
    assert prepared.task.splits.train.labels.size < 100  # 10 % of the labels
    assert main(["train", "--quiet", "--out", str(tmp_path), "--name", "ft", "--batch-size", "64", "--image-size",
                 "16", "--classes", "5,6,7,8,9", "--label-fraction", "0.1", "--init-from", str(first),
                 "--finetune", "head,all", "--stage-epochs", "1,1"]) == 0
    summary = json.loads((tmp_path / "ft" / "summary.json").read_text())
    assert summary["epochs"] == 2 and set(summary["per_class"]) == {"5", "6", "7", "8", "9"}


@pytest.mark.parametrize("args,message", [
    (["--finetune", "head,most"], "finetune stage must be one of"),
    (["--finetune", "head,all", "--stage-epochs", "3"], "one count per --finetune stage"),
    (["--init-from", "nowhere"], "--init-from run folder not found"),
    (["--pretrained", "nowhere.pth"], "--pretrained file not found"),
    (["--classes", "3,x"], "unknown class 'x'"),
    (["--label-fraction", "0"], "label_fraction"),
    (["--layer-lr-decay", "1.5"], "layer_lr_decay"),
])
def test_bad_finetuning_options(tmp_path, capsys, args, message):
    assert main(["train", "--quiet", "--out", str(tmp_path), "--name", "x", "--image-size", "16", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []
