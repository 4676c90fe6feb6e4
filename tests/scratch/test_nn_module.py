"""Module registration, containers, state_dict, train/eval, init statistics and LeNet-5 vs torch."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

from dlprimer.models import create
from dlprimer.scratch import Tensor, init, nn
from dlprimer.scratch.models import lenet5


class _Blocks(nn.Module):
    def __init__(self, use_module_list: bool) -> None:
        super().__init__()
        layers = [nn.Linear(4, 4, dtype=np.float64) for _ in range(3)]
        self.blocks = nn.ModuleList(layers) if use_module_list else layers
        self.head = nn.Linear(4, 2, dtype=np.float64)

    def forward(self, x):
        for b in self.blocks:
            x = b(x).tanh() if hasattr(x, "tanh") else b(x)
        return self.head(x)


def test_modulelist_registers_but_plain_list_does_not() -> None:
    with_list = _Blocks(use_module_list=True)
    plain = _Blocks(use_module_list=False)
    # torch's semantics: 3 blocks + head = 8 parameters with ModuleList, only the head's 2 with a list
    assert len(list(with_list.parameters())) == 8
    assert len(list(plain.parameters())) == 2
    assert "blocks.2.weight" in with_list.state_dict() and "blocks.0.weight" not in plain.state_dict()
    # consequence: the optimizer never sees (and never trains) the hidden blocks of the plain list
    from dlprimer.scratch.optim import SGD

    x = Tensor(np.ones((3, 4)))
    for model in (with_list, plain):
        before = plain.blocks[0].weight.data.copy() if model is plain else model.blocks[0].weight.data.copy()
        opt = SGD(model.parameters(), lr=0.1)
        model(x).sum().backward()
        opt.step()
        after = model.blocks[0].weight.data
        assert (not np.allclose(before, after)) == (model is with_list)
    # and train()/eval() does not reach them either
    plain.eval()
    assert plain.blocks[0].training and not with_list.eval().blocks[0].training
    # torch agrees on the counts
    tl = torch.nn.Module()
    tl.blocks = torch.nn.ModuleList([torch.nn.Linear(4, 4) for _ in range(3)])
    assert len(list(tl.parameters())) == 6


def test_sequential_from_ordereddict_indexing_and_forward() -> None:
    seq = nn.Sequential(OrderedDict(fc=nn.Linear(3, 2, dtype=np.float64), act=nn.ReLU()))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"]
    assert isinstance(seq[1], nn.ReLU) and len(seq) == 2 and len(seq[:1]) == 1
    x = np.random.default_rng(0).standard_normal((4, 3))
    expected = np.maximum(x @ seq.fc.weight.data.T + seq.fc.bias.data, 0)
    np.testing.assert_allclose(seq(Tensor(x)).data, expected)
    with pytest.raises(TypeError, match="Modules only"):
        nn.Sequential(nn.ReLU(), "relu")
    with pytest.raises(IndexError, match="out of range"):
        seq[5]


def test_state_dict_roundtrip_and_errors() -> None:
    a, b = lenet5(generator=np.random.default_rng(0)), lenet5(generator=np.random.default_rng(1))
    b.load_state_dict(a.state_dict())
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)
    sd = a.state_dict()
    sd["features.0.weight"] = np.zeros((6, 1, 3, 3))
    with pytest.raises(ValueError, match=r"features.0.weight has shape \(6, 1, 5, 5\).*\(6, 1, 3, 3\)"):
        b.load_state_dict(sd)
    with pytest.raises(KeyError, match="missing keys"):
        b.load_state_dict({"features.0.weight": np.zeros((6, 1, 5, 5))})
    res = b.load_state_dict({"extra": np.zeros(1)}, strict=False)
    assert res.unexpected_keys == ["extra"] and "classifier.5.bias" in res.missing_keys


def test_train_eval_switches_dropout_and_apply_visits_all() -> None:
    model = nn.Sequential(nn.Linear(5, 5), nn.Dropout(0.5), nn.BatchNorm1d(5))
    model.eval()
    assert all(not m.training for m in model.modules())
    x = np.ones((3, 5), dtype=np.float32)
    np.testing.assert_array_equal(model[1](x).data, x)
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Dropout", "BatchNorm1d", "Sequential"]  # children first, like torch


def test_zero_grad() -> None:
    model = nn.Linear(3, 2, dtype=np.float64)
    model(Tensor(np.ones((1, 3)))).sum().backward()
    assert model.weight.grad is not None
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_lenet5_names_and_shapes_equal_torch() -> None:
    ours = lenet5().state_dict()
    theirs = create("lenet5").state_dict()
    assert list(ours) == list(theirs)
    for k in theirs:
        assert ours[k].shape == tuple(theirs[k].shape), k
        assert ours[k].dtype == np.float32


def test_lenet5_forward_backward_matches_torch_with_copied_weights() -> None:
    torch.manual_seed(0)
    tmodel = create("lenet5").double()
    ours = lenet5(dtype=np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in tmodel.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 1, 32, 32))
    y = np.array([1, 7, 3])
    out = ours(Tensor(x))
    tout = tmodel(torch.tensor(x))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-7, atol=1e-10)
    from dlprimer.scratch import functional as F

    F.cross_entropy(out, y, label_smoothing=0.1).backward()
    torch.nn.functional.cross_entropy(tout, torch.tensor(y), label_smoothing=0.1).backward()
    grads = dict(ours.named_parameters())
    for name, p in tmodel.named_parameters():
        np.testing.assert_allclose(grads[name].grad, p.grad.numpy(), rtol=1e-7, atol=1e-10, err_msg=name)


def test_default_layer_init_matches_torch_bounds() -> None:
    conv = nn.Conv2d(8, 16, 3, generator=np.random.default_rng(0))
    lin = nn.Linear(200, 50, generator=np.random.default_rng(1))
    tconv, tlin = torch.nn.Conv2d(8, 16, 3), torch.nn.Linear(200, 50)
    for ours, theirs in ((conv, tconv), (lin, tlin)):
        bound = 1 / np.sqrt(ours.weight.data[0].size)
        assert np.abs(ours.weight.data).max() <= bound
        assert np.abs(theirs.weight.detach().numpy()).max() <= bound
        # both uniform on [-bound, bound]: std bound/√3
        assert abs(ours.weight.data.std() - bound / np.sqrt(3)) < 0.1 * bound


@pytest.mark.parametrize(
    ("ours", "std_of"),
    [
        (lambda t, g: init.xavier_uniform_(t, gain=2.0, generator=g), lambda fi, fo: 2.0 * np.sqrt(2 / (fi + fo))),
        (lambda t, g: init.xavier_normal_(t, generator=g), lambda fi, fo: np.sqrt(2 / (fi + fo))),
        (lambda t, g: init.kaiming_uniform_(t, nonlinearity="relu", generator=g), lambda fi, fo: np.sqrt(2 / fi)),
        (lambda t, g: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu", generator=g),
         lambda fi, fo: np.sqrt(2 / fo)),
    ],
)
def test_init_schemes_statistics(ours, std_of) -> None:
    t = Tensor(np.zeros((64, 32, 3, 3)))
    ours(t, np.random.default_rng(0))
    fan_in, fan_out = 32 * 9, 64 * 9
    assert abs(t.data.std() - std_of(fan_in, fan_out)) < 0.03 * std_of(fan_in, fan_out)
    assert abs(t.data.mean()) < 0.03 * std_of(fan_in, fan_out)


def test_calculate_gain_and_constant_match_torch() -> None:
    for name, param in [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("sigmoid", None), ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
    t = Tensor(np.zeros((2, 3)))
    init.constant_(t, 0.3)
    np.testing.assert_array_equal(t.data, np.full((2, 3), 0.3))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(Tensor(np.zeros(3)))


def test_layer_constructor_errors() -> None:
    with pytest.raises(ValueError, match="groups=3 must divide in_channels=4"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="in_features must be an integer >= 1"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="activation must be one of"):
        lenet5(activation="gelu")
    with pytest.raises(ValueError, match=r"input's last dimension must equal in_features=3.*\(2, 4\)"):
        nn.Linear(3, 2)(np.zeros((2, 4), dtype=np.float32))


def test_registering_over_a_plain_attribute_is_visible() -> None:
    # regression: `self.w = None` then `self.w = Parameter(...)` left the stale None in __dict__, so
    # `module.w` returned None although the parameter was registered (torch removes the plain attribute)
    class _M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = None
            self.weight = nn.Parameter(np.ones(3))
            self.sub = None
            self.sub = nn.Linear(3, 2)

    class _T(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = None
            self.weight = torch.nn.Parameter(torch.ones(3))
            self.sub = None
            self.sub = torch.nn.Linear(3, 2)

    ours, theirs = _M(), _T()
    assert isinstance(ours.weight, nn.Parameter) and isinstance(theirs.weight, torch.nn.Parameter)
    assert isinstance(ours.sub, nn.Linear)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_sequential_slicing_and_train_eval_reach_nested_children() -> None:
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.5), nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                 torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)))
    assert list(ours[1:]._modules) == list(theirs[1:]._modules) == ["1", "2", "3"]
    assert type(ours[-1]).__name__ == type(theirs[-1]).__name__ == "Sequential"
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.eval()
    assert not any(m.training for m in ours.modules())
    x = Tensor(np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32))
    assert ours[2](x) is x  # Dropout in eval mode is the identity
    ours.train()
    assert all(m.training for m in ours.modules())
