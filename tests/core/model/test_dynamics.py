"""The dynamics model on tiny configurations: packing, position features, the ensemble, old files."""
import torch

from v2m_desktop.core.lab.bench import synthetic_features
from v2m_desktop.core.lab.train import dynamics_loss
from v2m_desktop.core.model.checkpoint import load_model, save_model
from v2m_desktop.core.model.dynamics import DynamicsConfig, DynamicsGRU, position_features
from v2m_desktop.core.model.inputs import batch_video

TINY = dict(hidden=8, layers=2, semantic_proj=4)


def tiny(seed=0, **kw):
    torch.manual_seed(seed)
    return DynamicsGRU(DynamicsConfig(**{**TINY, **kw})).eval()


def test_padding_does_not_change_a_packed_video():
    feats = [synthetic_features(30, seed=1), synthetic_features(50, seed=2)]
    model = tiny(packed=True, position=True)
    with torch.no_grad():
        short = model(batch_video(feats, 50))
        padded = model(batch_video(feats, 120))
    assert torch.allclose(short[0, :30], padded[0, :30], atol=1e-6)
    assert torch.allclose(short[1], padded[1, :50], atol=1e-6)
    unpacked = tiny(packed=False)            # the old model's backward pass reads the padding
    with torch.no_grad():
        a, b = unpacked(batch_video(feats, 50)), unpacked(batch_video(feats, 120))
    assert (a[0, :30] - b[0, :30]).abs().max() > 1e-5


def test_position_features():
    valid = torch.zeros(2, 6, dtype=torch.bool)
    valid[0, :4], valid[1] = True, True
    pos = position_features(valid)
    assert pos.shape == (2, 6, 3)
    assert torch.allclose(pos[0, 0], torch.tensor([0.0, torch.log1p(torch.tensor(3.0)) / 5, 0.0]))
    assert pos[0, 3, 1] == 0 and torch.isclose(pos[0, 3, 2], torch.tensor(0.75))
    assert (pos[0, 4:] == 0).all()                               # padding stays zero
    # a window starting at second 10 of a 20-s video: positions within the whole video
    win = position_features(valid[1:], torch.tensor([10]), torch.tensor([20]))
    assert torch.isclose(win[0, 0, 0], torch.log1p(torch.tensor(10.0)) / 5)
    assert torch.isclose(win[0, 5, 1], torch.log1p(torch.tensor(4.0)) / 5)


def test_ensemble_is_the_mean_of_its_members():
    model = tiny(members=3, packed=True, position=True)
    vb = batch_video([synthetic_features(25, seed=3)], 25)
    with torch.no_grad():
        each = model.member_outputs(vb)
        assert each.shape == (3, 1, 25, 2)
        assert torch.allclose(model(vb), each.mean(0))
        assert not torch.allclose(each[0], each[1])             # independent initialisations
    target, mask = torch.zeros(1, 25, 2), torch.ones(1, 25, 2)
    loss = dynamics_loss(model, vb, target, mask, torch.tensor([0]), torch.tensor([25]))
    assert torch.isclose(loss, (each ** 2).mean())               # each member's own MSE


def test_ensemble_round_trip_and_old_files(tmp_path):
    model = tiny(members=2, packed=True, position=True, gru_dropout=0.2)
    save_model(tmp_path / "d.pt", "dynamics", model)
    loaded, _ = load_model(tmp_path / "d.pt", "dynamics")
    vb = batch_video([synthetic_features(20, seed=4)], 20)
    d0, l0 = model.predict(vb)
    d1, l1 = loaded.predict(vb)
    assert loaded.cfg == model.cfg and torch.equal(d0, d1) and torch.equal(l0, l1)
    # a file from before the ensemble: one member's weights at the top level, older config
    old = tiny()
    state = {k.removeprefix("members.0."): v for k, v in old.state_dict().items()}
    cfg = {k: v for k, v in vars(old.cfg).items() if k in ("hidden", "layers", "dropout",
           "semantic_dim", "semantic_proj", "semantic_dropout")}
    torch.save({"kind": "dynamics", "config": cfg, "state_dict": state, "meta": {}}, tmp_path / "o.pt")
    again, _ = load_model(tmp_path / "o.pt", "dynamics")
    assert torch.equal(again.predict(vb)[0], old.predict(vb)[0])
