"""The MuVi-Sync reader on real shared videos and on broken copies (README sections 2 and 3)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from v2m_desktop.core.chords import END_ID, PAD_ID, VOCAB
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.lab.muvisync import MuviSync, teacher_forcing

ROOT = Path(__file__).resolve().parents[4] / "shared" / "muvi-sync"
if not (ROOT / "vevo_chord").is_dir():
    pytest.skip(f"shared MuVi-Sync data not found at {ROOT}", allow_module_level=True)

CHORD = "vevo_chord/lab_v2_norm/all"
EMOTION = "vevo_emotion/6c_l14p/all"
SERIES = ("vevo_motion/all", "vevo_scene_offset/all", "vevo_note_density/all", "vevo_loudness/all")
INT8 = "vevo_semantic/all/2d/clip_l14p_int8"
FLOAT = "vevo_semantic/all/2d/clip_l14p"


# ---------------------------------------------------------------- helpers reading files directly
def lab_rows(path: Path) -> list[list[str]]:
    lines = [ln.split() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines[1:] if lines and lines[0][0] in ("key", "time") else lines


def n_rows(folder: str, vid: str) -> int:
    return len(lab_rows(ROOT / folder / f"{vid}.lab"))


def emotion_file(vid: str) -> np.ndarray:
    return np.array([[float(v) for v in r[1:]] for r in lab_rows(ROOT / EMOTION / f"{vid}.lab")])


def int8_decoded(vid: str) -> np.ndarray:
    q = np.load(ROOT / INT8 / f"{vid}.npy")
    scale = np.load(ROOT / INT8 / "scale.npy")
    return q.astype(np.float32) * scale / 127


@pytest.fixture(scope="module")
def ds() -> MuviSync:
    return MuviSync(ROOT)


@pytest.fixture(scope="module")
def val_ids(ds) -> list[str]:
    return ds.split("val")


@pytest.fixture(scope="module")
def short_emotion_ids(val_ids) -> list[str]:
    """Val videos whose emotion file is one row shorter than the chord file (counted here)."""
    ids = [v for v in val_ids if n_rows(EMOTION, v) == n_rows(CHORD, v) - 1]
    assert len(ids) == 28            # README section 2: 20 + 8 val videos
    return ids


# ------------------------------------------------------------------------------- real videos
def test_splits(ds):
    train, val = ds.split("train"), ds.split("val")
    assert (len(train), len(val)) == (597, 75)
    assert len(set(train)) == 597 and len(set(val)) == 75
    assert not set(train) & set(val)
    assert "453" not in set(train) | set(val)
    assert all(len(v) == 3 and v.isdigit() for v in train + val)


def test_lengths_and_alignment_short_emotion(ds, short_emotion_ids):
    for vid in short_emotion_ids[:3] + [v for v in short_emotion_ids if n_rows(CHORD, v) > 300][:1]:
        L = n_rows(CHORD, vid)
        v = ds.video(vid)
        assert len(v) == len(v.chords) == L
        assert v.emotion_rows == L - 1
        f = v.features
        assert f.emotion.shape == (L, 6) and f.emotion.dtype == np.float32
        assert f.motion.shape == f.scene_offset.shape == (L,)
        assert f.semantic.shape == (L, 768) and f.semantic.dtype == np.float32
        emo = emotion_file(vid)
        np.testing.assert_allclose(f.emotion[:L - 1], emo, atol=1e-6)
        np.testing.assert_array_equal(f.emotion[L - 1], f.emotion[L - 2])      # last row repeated
        sem = int8_decoded(vid)
        assert len(sem) == L - 1                                               # semantic short too
        np.testing.assert_allclose(f.semantic[:L - 1], sem, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(f.semantic[L - 1], f.semantic[L - 2])
        assert len(v.note_density) == n_rows(SERIES[2], vid)
        assert len(v.loudness) == n_rows(SERIES[3], vid)


def test_values_match_files(ds, val_ids):
    vid = val_ids[0]
    v = ds.video(vid, semantic=False)
    assert v.features.semantic is None
    rows = lab_rows(ROOT / CHORD / f"{vid}.lab")
    assert v.chords.dtype == np.int64
    assert list(v.chords) == [VOCAB[r[1]] for r in rows]
    key_line = (ROOT / CHORD / f"{vid}.lab").read_text().splitlines()[0].split()
    assert v.mode == (0 if key_line[2] == "major" else 1)
    motion = [float(r[1]) for r in lab_rows(ROOT / SERIES[0] / f"{vid}.lab")]
    n = min(len(motion), len(v))
    np.testing.assert_allclose(v.features.motion[:n], motion[:n], atol=1e-4)
    density = [float(r[1]) for r in lab_rows(ROOT / SERIES[2] / f"{vid}.lab")]
    np.testing.assert_allclose(v.note_density, density)


def test_modes_over_val(ds, val_ids):
    modes = [ds.chords(v)[0] for v in val_ids]
    assert (modes.count(0), modes.count(1)) == (47, 28)     # README section 1: C major / A minor


def test_longer_modality_is_cut(ds, val_ids):
    """Video 504: motion, scene offset and loudness one row longer than the chord file."""
    longer = [v for v in val_ids if n_rows(SERIES[0], v) == n_rows(CHORD, v) + 1]
    assert longer == ["504"]
    v = ds.video("504", semantic=False)
    L = n_rows(CHORD, "504")
    assert len(v.features.motion) == len(v.features.scene_offset) == L
    motion = [float(r[1]) for r in lab_rows(ROOT / SERIES[0] / "504.lab")]
    np.testing.assert_allclose(v.features.motion, motion[:L], atol=1e-4)
    assert len(v.loudness) == L + 1                  # targets keep their own length


def test_load_limit(ds):
    videos = ds.load("val", semantic=False, limit=3)
    assert [v.vid for v in videos] == ds.split("val")[:3]


# -------------------------------------------------------------------------- semantic formats
def copy_video(src: Path, dst: Path, vid: str, *, semantic: str = "int8") -> Path:
    """A one-video MuVi-Sync tree: .lab files symlinked, the semantic as int8, float32 or float16."""
    for folder in (CHORD, EMOTION) + SERIES:
        (dst / folder).mkdir(parents=True, exist_ok=True)
        (dst / folder / f"{vid}.lab").symlink_to(src / folder / f"{vid}.lab")
    if semantic == "int8":
        (dst / INT8).mkdir(parents=True)
        for name in (f"{vid}.npy", "scale.npy"):
            shutil.copy(src / INT8 / name, dst / INT8 / name)
    else:
        (dst / FLOAT).mkdir(parents=True)
        np.save(dst / FLOAT / f"{vid}.npy", int8_decoded(vid).astype(semantic))
    return dst


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_semantic_float_copies_decode_like_int8(tmp_path, ds, short_emotion_ids, dtype):
    vid = short_emotion_ids[0]
    ref = ds.video(vid).features.semantic
    tree = copy_video(ROOT, tmp_path / dtype, vid, semantic=dtype)
    assert not (tree / INT8).exists()
    got = MuviSync(tree).video(vid).features.semantic
    assert got.dtype == np.float32 and got.shape == ref.shape
    np.testing.assert_array_equal(got[-1], got[-2])          # one row short: last row repeated
    if dtype == "float32":
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=0)
    else:                                                   # float16 keeps 11 significant bits
        np.testing.assert_allclose(got, ref, rtol=2 ** -11, atol=1e-7)
        assert not np.array_equal(got, ref)


def test_semantic_float_folder_wins(tmp_path, ds, val_ids):
    vid = val_ids[0]
    tree = copy_video(ROOT, tmp_path, vid)
    (tree / FLOAT).mkdir(parents=True)
    np.save(tree / FLOAT / f"{vid}.npy", np.ones((len(ds.video(vid)), 768), np.float16))
    assert (MuviSync(tree).semantic(vid) == 1).all()


# ----------------------------------------------------------------------------- teacher forcing
def test_teacher_forcing_short():
    c = np.array([3, 3, 5, 7, 9])
    x, y = teacher_forcing(c)
    assert x.shape == y.shape == (299,)
    assert x.dtype == y.dtype == np.int64
    assert list(x[:5]) == [3, 3, 5, 7, 9] and (x[5:] == PAD_ID).all()
    assert list(y[:5]) == [3, 5, 7, 9, END_ID] and (y[5:] == PAD_ID).all()


def test_teacher_forcing_no_end():
    c = np.array([3, 3, 5, 7, 9])
    _, y = teacher_forcing(c, end=False)
    assert list(y[:5]) == [3, 5, 7, 9, PAD_ID] and (y[4:] == PAD_ID).all()


def test_teacher_forcing_lengths():
    rng = np.random.default_rng(0)
    for L in (1, 2, 298, 299):
        c = rng.integers(0, 157, L)
        x, y = teacher_forcing(c)
        assert len(x) == len(y) == 299
        np.testing.assert_array_equal(x[:L], c)
        assert (x[L:] == PAD_ID).all()
        np.testing.assert_array_equal(y[:L - 1], c[1:])
        assert y[L - 1] == END_ID
        assert (y[L:] == PAD_ID).all()
        assert (y != PAD_ID).sum() == L
    for L in (300, 301, 823):
        c = rng.integers(0, 157, L)
        x, y = teacher_forcing(c)
        np.testing.assert_array_equal(x, c[:299])
        np.testing.assert_array_equal(y, c[1:300])
        assert END_ID not in y and PAD_ID not in y


def test_teacher_forcing_window():
    x, y = teacher_forcing(np.arange(1, 5), window=10)
    assert list(x) == [1, 2, 3, 4] + [PAD_ID] * 5
    assert list(y) == [2, 3, 4, END_ID] + [PAD_ID] * 5


def test_teacher_forcing_position_counts_val(ds, val_ids):
    """README section 7: val has 18,356 positions and 8,711 change positions; 5 videos > 300 s."""
    n_pos = n_chg = n_long = n_end = 0
    for vid in val_ids:
        _, c = ds.chords(vid)
        x, y = teacher_forcing(c)
        keep = y != PAD_ID
        n_pos += keep.sum()
        n_chg += (keep & (y != x)).sum()
        n_long += len(c) > 300
        n_end += (y == END_ID).sum()
    assert (n_pos, n_chg, n_long, n_end) == (18356, 8711, 5, 70)


# ----------------------------------------------------------------------------- emotion argmax
def test_emotion_argmax_short_file(ds, short_emotion_ids):
    vid = next(v for v in short_emotion_ids if n_rows(CHORD, v) < 300)
    v = ds.video(vid, semantic=False)
    L = len(v)
    ea = v.emotion_argmax()
    assert ea.shape == (299,)
    file_arg = emotion_file(vid).argmax(axis=1)         # rows 0 .. L-2
    np.testing.assert_array_equal(ea[:L - 2], file_arg[1:])
    assert ea[L - 2] == -1                              # second L-1 has no emotion row
    assert (ea[L - 1:] == -1).all()                     # END and PAD positions


def test_emotion_argmax_long_video(ds, short_emotion_ids):
    vid = next(v for v in short_emotion_ids if n_rows(CHORD, v) > 300)
    v = ds.video(vid, semantic=False)
    L = len(v)
    file_arg = emotion_file(vid).argmax(axis=1)         # L - 1 rows
    ea = v.emotion_argmax()
    np.testing.assert_array_equal(ea, file_arg[1:300])
    start = L - 300                                     # window ending at the last chord
    ea = v.emotion_argmax(start)
    np.testing.assert_array_equal(ea[:-1], file_arg[start + 1:])
    assert ea[-1] == -1


def test_emotion_argmax_full_file(ds, val_ids):
    vid = next(v for v in val_ids if n_rows(EMOTION, v) == n_rows(CHORD, v) < 300)
    v = ds.video(vid, semantic=False)
    L = len(v)
    ea = v.emotion_argmax()
    np.testing.assert_array_equal(ea[:L - 1], emotion_file(vid).argmax(axis=1)[1:])
    assert (ea[L - 1:] == -1).all()


# -------------------------------------------------------------------------------- error cases
VID = "001"


@pytest.fixture
def tree(tmp_path) -> Path:
    """A writable copy of one video (real files, not links) with train/val split lists."""
    root = tmp_path / "muvi"
    for folder in (CHORD, EMOTION) + SERIES + (INT8,):
        (root / folder).mkdir(parents=True)
    for folder in (CHORD, EMOTION) + SERIES:
        shutil.copy(ROOT / folder / f"{VID}.lab", root / folder / f"{VID}.lab")
    for name in (f"{VID}.npy", "scale.npy"):
        shutil.copy(ROOT / INT8 / name, root / INT8 / name)
    split = root / "vevo_meta" / "split" / "v1"
    split.mkdir(parents=True)
    (split / "train.txt").write_text(f"{VID}\n")
    (split / "val.txt").write_text(f"{VID}\n")
    return root


def edit_lines(path: Path, fn) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(fn(lines)) + "\n", encoding="utf-8")


def expect_error(root: Path, named: Path, **kw) -> str:
    with pytest.raises(V2MError) as err:
        MuviSync(root).video(VID, **kw)
    msg = str(err.value)
    assert str(named) in msg, msg
    return msg


def test_copied_tree_reads(tree):
    v = MuviSync(tree).video(VID)
    assert len(v) == n_rows(CHORD, VID)
    assert MuviSync(tree).load("train", semantic=False)[0].vid == VID


def test_missing_chord_file(tree):
    path = tree / CHORD / f"{VID}.lab"
    path.unlink()
    expect_error(tree, path, semantic=False)


def test_missing_emotion_file(tree):
    path = tree / EMOTION / f"{VID}.lab"
    path.unlink()
    expect_error(tree, path, semantic=False)


def test_malformed_row_not_a_number(tree):
    path = tree / SERIES[0] / f"{VID}.lab"
    edit_lines(path, lambda ls: ls[:3] + ["3 abc"] + ls[4:])
    expect_error(tree, path, semantic=False)


def test_malformed_row_missing_field(tree):
    path = tree / EMOTION / f"{VID}.lab"
    edit_lines(path, lambda ls: ls[:5] + [" ".join(ls[5].split()[:4])] + ls[6:])
    expect_error(tree, path, semantic=False)


def test_unknown_chord_name(tree):
    path = tree / CHORD / f"{VID}.lab"
    edit_lines(path, lambda ls: ls[:4] + ["3 C:foo"] + ls[5:])
    expect_error(tree, path, semantic=False)


def test_missing_key_line(tree):
    path = tree / CHORD / f"{VID}.lab"
    edit_lines(path, lambda ls: ls[1:])
    expect_error(tree, path, semantic=False)


@pytest.mark.parametrize("folder", [CHORD, EMOTION, SERIES[1]])
def test_wrong_time_column(tree, folder):
    path = tree / folder / f"{VID}.lab"
    header = folder in (CHORD, EMOTION)

    def swap(ls):
        i = 6 + header                              # row of second 6
        parts = ls[i].split()
        parts[0] = "7"
        return ls[:i] + [" ".join(parts)] + ls[i + 1:]
    edit_lines(path, swap)
    msg = expect_error(tree, path, semantic=False)
    assert "row 6" in msg


@pytest.mark.parametrize("folder", [EMOTION, SERIES[0], SERIES[1]])
def test_row_count_mismatch_by_two(tree, folder):
    path = tree / folder / f"{VID}.lab"
    L = n_rows(CHORD, VID)
    assert n_rows(folder, VID) in (L - 1, L)
    edit_lines(path, lambda ls: ls[:-2] if n_rows(folder, VID) == L else ls[:-1])
    msg = expect_error(tree, path, semantic=False)
    assert str(L) in msg


def test_one_row_short_is_accepted(tree):
    L = n_rows(CHORD, VID)
    path = tree / SERIES[0] / f"{VID}.lab"
    assert n_rows(SERIES[0], VID) == L
    edit_lines(path, lambda ls: ls[:-1])
    v = MuviSync(tree).video(VID, semantic=False)
    assert len(v.features.motion) == L
    assert v.features.motion[-1] == v.features.motion[-2]


def test_missing_semantic_file(tree):
    path = tree / INT8 / f"{VID}.npy"
    path.unlink()
    expect_error(tree, path)
    assert len(MuviSync(tree).video(VID, semantic=False)) == n_rows(CHORD, VID)


@pytest.mark.parametrize("shape", [(10, 512), (7680,), (2, 10, 768)])
def test_semantic_wrong_shape(tree, shape):
    path = tree / INT8 / f"{VID}.npy"
    np.save(path, np.zeros(shape, np.int8))
    expect_error(tree, path)


def test_semantic_wrong_row_count(tree):
    path = tree / INT8 / f"{VID}.npy"
    q = np.load(path)
    np.save(path, q[:-3])
    expect_error(tree, path)


def test_semantic_wrong_dtype(tree):
    path = tree / FLOAT / f"{VID}.npy"
    path.parent.mkdir(parents=True)
    np.save(path, np.zeros((n_rows(CHORD, VID), 768), np.float64))
    expect_error(tree, path)


def test_missing_scale(tree):
    path = tree / INT8 / "scale.npy"
    path.unlink()
    expect_error(tree, path)


def test_not_a_muvisync_folder(tmp_path):
    with pytest.raises(V2MError) as err:
        MuviSync(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_unknown_split(tree):
    with pytest.raises(V2MError, match="'dev'"):
        MuviSync(tree).split("dev")
    with pytest.raises(V2MError, match="'dev'"):
        MuviSync(tree).load("dev")


def test_missing_split_list(tree):
    with pytest.raises(V2MError) as err:
        MuviSync(tree).split("test")
    assert str(tree / "vevo_meta" / "split" / "v1" / "test.txt") in str(err.value)
