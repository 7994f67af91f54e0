"""Drawn curves: SetEmotionCurve sets a target's intensity a second (runs of one intensity become
one target) and returns its exact inverse; SetDynamics / ClearDynamics a value a second.  A bad
curve is refused with one line and changes nothing.  Projects made in memory (no video, no model)."""
from __future__ import annotations

import numpy as np
import pytest

from v2m_desktop.core import edits as E
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.project import Project, Settings, VideoRef


@pytest.fixture
def project():
    return Project(VideoRef("v.mp4", "1:x", 30.0, 30), Settings(), np.ones(30, dtype=np.int64), 0, 0)


def test_a_drawn_emotion_curve_is_targets_a_second_and_undoes_exactly(project):
    E.SetEmotionTarget(0, 10, "sad", 0.5).apply(project)
    before = project.state()
    seen = []
    project.listeners.append(seen.append)
    inv = E.SetEmotionCurve(6, "tense", [0.2, 0.2, 0.9, 0.9, 0.9, 0.4]).apply(project)
    assert [(t.start, t.end, t.emotion, t.intensity) for t in project.targets] == [
        (0, 6, "sad", 0.5), (6, 8, "tense", 0.2), (8, 11, "tense", 0.9), (11, 12, "tense", 0.4)]
    assert [(c.what, c.start, c.end) for c in seen] == [("targets", 0, 12)]
    after = project.state()
    again = inv.apply(project)
    assert project.state() == before
    again.apply(project)
    assert project.state() == after
    # clearing part of it goes back to the detected emotion there
    E.ClearEmotionTarget(7, 9).apply(project)
    assert [(t.start, t.end) for t in project.targets] == [(0, 6), (6, 7), (9, 11), (11, 12)]


def test_a_drawn_dynamics_curve_and_its_clearing(project):
    before = project.state()
    inv = E.SetDynamics(3, 6, "loudness", [0.1, 0.2, 0.3]).apply(project)
    assert project.dynamics["loudness"] == {3: 0.1, 4: 0.2, 5: 0.3}
    inv.apply(project)
    assert project.state() == before
    E.SetDynamics(3, 6, "density", [1.0, 2.0, 3.0]).apply(project)
    E.ClearDynamics(4, 10, "density").apply(project)
    assert project.dynamics["density"] == {3: 1.0}


@pytest.mark.parametrize("bad", [
    E.SetEmotionCurve(28, "sad", [0.5] * 5), E.SetEmotionCurve(0, "angry", [0.5]),
    E.SetEmotionCurve(0, "sad", [0.5, 1.5]), E.SetEmotionCurve(0, "sad", []),
    E.SetDynamics(0, 2, "loudness", [0.5, 2.0]), E.SetDynamics(0, 2, "tempo", [0.5, 0.5])])
def test_a_bad_curve_changes_nothing(project, bad):
    E.SetEmotionTarget(0, 10, "sad", 0.5).apply(project)
    state = project.state()
    with pytest.raises(V2MError) as err:
        bad.apply(project)
    assert "\n" not in str(err.value)
    assert project.state() == state
