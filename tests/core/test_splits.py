"""Splitting a chord block in two (the chord kept): Split refuses a block start or a second outside
the video with one line, returns its exact inverse, and the chord edits keep the splits consistent
(one chord set over a range removes the splits inside it; a split where the chord now changes
goes; transposing keeps them; copying brings them along).  Merge removes a boundary, also between
two blocks of one chord.  The .v2m keeps the splits (optional: absent is none).  Projects made in
memory (no video, no model)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from v2m_desktop.core import edits as E
from v2m_desktop.core.chords import chord_symbol
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.project import Project, Settings, VideoRef, from_dict, to_dict
from v2m_desktop.core.timeline import chord_blocks


@pytest.fixture
def project():
    """20 s: C for 0-8, Am for 8-20."""
    tokens = np.array([E.chord_token("C")] * 8 + [E.chord_token("Am")] * 12, dtype=np.int64)
    return Project(VideoRef("v.mp4", "1:" + "0" * 32, 20.0, 20), Settings(), tokens, 0, 0)


def _blocks(p):
    return [(a, b, chord_symbol(t)) for a, b, t in p.blocks()]


def test_a_split_makes_two_blocks_of_one_chord_and_undoes_exactly(project):
    before = project.state()
    seen = []
    project.listeners.append(seen.append)
    inv = E.Split(12).apply(project)
    assert _blocks(project) == [(0, 8, "C"), (8, 12, "Am"), (12, 20, "Am")]
    assert [(c.what, c.start, c.end) for c in seen] == [("chords", 12, 13)]
    after = project.state()
    assert after["splits"] == [12] and after["chords"] == before["chords"]
    again = inv.apply(project)
    assert project.state() == before
    again.apply(project)
    assert project.state() == after
    # Merge at the split takes it away again, exactly
    E.Merge(12).apply(project)
    assert project.state() == before


@pytest.mark.parametrize("second, says", [(8, "starts at 8 s already"), (0, "not inside the video"),
                                          (20, "not inside the video"), (-3, "not inside the video"),
                                          (2.5, "not inside the video")])
def test_a_split_at_a_block_start_or_outside_is_refused(project, second, says):
    E.Split(12).apply(project)
    before = project.state()
    with pytest.raises(V2MError, match=says) as err:
        E.Split(second).apply(project)
    assert "\n" not in str(err.value)
    if second == 8:
        with pytest.raises(V2MError, match="starts at 12 s already"):
            E.Split(12).apply(project)
    assert project.state() == before


def test_the_halves_change_separately(project):
    E.Split(12).apply(project)
    before = project.state()
    inv = E.SetChords(12, 20, "F").apply(project)           # the right half only
    assert _blocks(project) == [(0, 8, "C"), (8, 12, "Am"), (12, 20, "F")]
    assert project.splits == set()                          # the chord changes there anyway
    inv.apply(project)
    assert project.state() == before and _blocks(project)[2] == (12, 20, "Am")
    E.SetChords(8, 12, "Am").apply(project)                 # the same chord: still two blocks
    assert project.splits == {12}


def test_one_chord_over_a_range_removes_the_splits_inside_it(project):
    for s in (3, 5, 12, 15):
        E.Split(s).apply(project)
    E.SetChords(4, 16, "G").apply(project)
    assert project.splits == {3}                            # 5, 12, 15 inside; 4 and 16 change chord
    assert _blocks(project) == [(0, 3, "C"), (3, 4, "C"), (4, 16, "G"), (16, 20, "Am")]
    E.SetChords(0, 4, "N").apply(project)                   # deleting a range: one rest there
    assert project.splits == set()


def test_a_moved_boundary_leaves_no_split_behind(project):
    E.Split(12).apply(project)
    E.SetChords(12, 20, "F").apply(project)                 # Am | F
    E.SetChords(12, 14, "Am").apply(project)                # the boundary dragged from 12 to 14
    assert _blocks(project) == [(0, 8, "C"), (8, 14, "Am"), (14, 20, "F")]


def test_merge_removes_the_boundary_also_between_one_chord(project):
    E.Split(12).apply(project)
    before = project.state()
    inv = E.Merge(12).apply(project)
    assert _blocks(project) == [(0, 8, "C"), (8, 20, "Am")]
    inv.apply(project)
    assert project.state() == before
    E.Merge(8).apply(project)                               # C takes the next block (to its split)
    assert _blocks(project) == [(0, 12, "C"), (12, 20, "Am")] and project.splits == set()
    with pytest.raises(V2MError, match="no chord block starts at 5 s"):
        E.Merge(5).apply(project)


def test_transpose_keeps_and_copy_brings_the_splits(project):
    E.Split(4).apply(project)
    E.Split(12).apply(project)
    E.Transpose(0, 20, 2).apply(project)
    assert _blocks(project) == [(0, 4, "D"), (4, 8, "D"), (8, 12, "Bm"), (12, 20, "Bm")]
    E.Transpose(12, 20, 1).apply(project)                   # the right half alone: now a change
    assert project.splits == {4}
    E.CopyChords(0, 8, 10).apply(project)                   # D D | D D at 10-18
    assert project.splits == {4, 14}
    assert _blocks(project)[3:] == [(10, 14, "D"), (14, 18, "D"), (18, 20, "Cm")]
    E.SetKey("D major").apply(project)
    assert project.splits == {4, 14}


def test_splits_in_the_file(project, tmp_path):
    E.Split(12).apply(project)
    d = to_dict(project)
    assert d["splits"] == [12]
    assert from_dict(d).state() == project.state()
    old = dict(d)
    del old["splits"]                                       # a file from before splits
    assert from_dict(old).splits == set()
    for bad in ([20], [0], [1.5], [True], "12", ["12"]):        # one line naming the field
        with pytest.raises(V2MError, match="splits") as err:
            from_dict({**d, "splits": bad})
        assert "\n" not in str(err.value)


def _chord_edit(rng: random.Random, T: int) -> E.Edit:
    a = rng.randrange(T - 1)
    b = rng.randrange(a + 1, T + 1)
    return rng.choice([E.Split(rng.randrange(1, T)), E.Merge(rng.randrange(1, T)),
                       E.SetChords(a, b, rng.choice(["C", "Am", "F"])),
                       E.Transpose(a, b, rng.randrange(-2, 3)),
                       E.CopyChords(a, b, rng.randrange(0, T - (b - a) + 1)),
                       E.SetKey(rng.choice(["D minor", "C major"]))])


def test_undo_is_exact_over_random_chord_edits_with_splits(project):
    rng = random.Random(1)
    T = project.seconds
    before = project.state()
    inverses, most = [], 0
    for _ in range(300):
        e = _chord_edit(rng, T)
        s0 = project.state()
        try:
            inv = e.apply(project)
        except V2MError:
            assert project.state() == s0
            continue
        inverses.append(inv)
        # every split still splits something: the chord is the same on both sides
        assert all(project.tokens[s - 1] == project.tokens[s] for s in project.splits)
        most = max(most, len(project.splits))
    assert most >= 3
    for inv in reversed(inverses):
        inv.apply(project)
    assert project.state() == before


def test_timeline_blocks_follow_the_splits():
    times = [(0.0, 8.3, 1), (8.3, 20.0, 2)]
    assert [(b.start, b.end) for b in chord_blocks(times, splits={12})] == [(0, 8.3), (8.3, 12), (12, 20)]
    assert [(b.start, b.end) for b in chord_blocks(times, splits={8})] == [(0, 8.3), (8.3, 20)]


def test_moving_a_boundary_gives_the_seconds_to_the_other_block_and_undoes_exactly(project):
    """MoveBoundary: the block the boundary moves into gives those seconds to the other chord."""
    before = project.state()
    inv = E.MoveBoundary(8, 11).apply(project)
    assert _blocks(project) == [(0, 11, "C"), (11, 20, "Am")]
    inv.apply(project)
    assert project.state() == before
    inv = E.MoveBoundary(8, 5).apply(project)
    assert _blocks(project) == [(0, 5, "C"), (5, 20, "Am")]
    inv.apply(project)
    assert project.state() == before
    E.MoveBoundary(8, 8).apply(project)                  # nowhere: nothing changes
    assert project.state() == before
    with pytest.raises(V2MError, match="no chord block starts at 6 s"):
        E.MoveBoundary(6, 9).apply(project)
    assert project.state() == before


def test_a_split_moves_only_inside_its_chord(project):
    E.Split(12).apply(project)
    before = project.state()
    inv = E.MoveBoundary(12, 15).apply(project)
    assert _blocks(project) == [(0, 8, "C"), (8, 15, "Am"), (15, 20, "Am")]
    assert project.state()["splits"] == [15]
    inv.apply(project)
    assert project.state() == before
    with pytest.raises(V2MError, match="a split moves inside its chord"):
        E.MoveBoundary(12, 6).apply(project)
    assert project.state() == before


def test_merge_next_joins_the_block_after_the_selection(project):
    """MergeNext: the boundary after the selection's start nearest its end goes."""
    E.Split(12).apply(project)
    before = project.state()
    inv = E.MergeNext(0, 8).apply(project)
    assert _blocks(project) == [(0, 12, "C"), (12, 20, "Am")]     # the next block only
    inv.apply(project)
    assert project.state() == before
    E.MergeNext(8, 11).apply(project)                    # the split at 12 is nearest 11
    assert _blocks(project) == [(0, 8, "C"), (8, 20, "Am")]
    with pytest.raises(V2MError, match="no chord block after the selection"):
        E.MergeNext(9, 20).apply(project)
