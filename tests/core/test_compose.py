"""The musical plan: key from emotion, primer and locks in the real key, dynamics per second."""
import numpy as np
import pytest
import torch

from v2m_desktop.core.chords import VOCAB, chord_id
from v2m_desktop.core.compose import ComposeSettings, choose_key, compose, parse_primer
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.lab.bench import synthetic_features
from v2m_desktop.core.model.amt import AMT, AMTConfig
from v2m_desktop.core.model.dynamics import DynamicsConfig, DynamicsGRU
from v2m_desktop.core.model.generate import SamplingOptions


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    amt = AMT(AMTConfig(d_model=32, n_head=4, n_enc=1, n_dec=1, d_ff=64, max_len=64)).eval()
    return amt, DynamicsGRU(DynamicsConfig(hidden=8, layers=1, semantic_proj=4)).eval()


def test_choose_key_follows_the_dominant_emotion():
    sad = np.tile(np.array([0.1, 0.1, 0.1, 0.6, 0.05, 0.05], np.float32), (10, 1))
    happy = np.tile(np.array([0.7, 0.05, 0.05, 0.05, 0.1, 0.05], np.float32), (10, 1))
    assert choose_key(sad) == (2, 1)          # D minor
    assert choose_key(happy) == (2, 0)        # D major


def test_primer_is_read_in_the_pieces_key():
    # in D minor, Dm is the tonic: the model's normalised minor key is A minor
    assert parse_primer("Dm Bb F C", 2, 1) == [VOCAB["A:min"], VOCAB["F"], VOCAB["C"], VOCAB["G"]]
    assert parse_primer("C Am", 0, 0) == [VOCAB["C"], VOCAB["A:min"]]
    with pytest.raises(V2MError, match="chord symbol"):
        parse_primer("C Hm", 0, 0)


def test_compose_respects_key_primer_and_locks(models):
    amt, dyn = models
    feats = synthetic_features(40)
    locks = {20: chord_id(7, "7"), 39: chord_id(2, "min")}        # G7, Dm in the real key
    settings = ComposeSettings(key="D minor", primer="Dm Gm", sampling=SamplingOptions(seed=3))
    track, dynamics = compose(feats, amt, dyn, settings, locks=locks)
    assert track.key_name == "D minor" and len(track) == 40
    assert track.names()[:2] == ["D:min", "G:min"]
    assert track.tokens[20] == locks[20] and track.tokens[39] == locks[39]
    assert track.locks == {20, 39}
    assert len(dynamics) == 40 and (dynamics.note_density >= 0).all() and (dynamics.loudness >= 0).all()
    with pytest.raises(V2MError, match="key"):
        compose(feats, amt, dyn, ComposeSettings(key="Q minor"))
