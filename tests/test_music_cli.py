"""The music's side of the command line: the summary counts the arranged chords; bench music."""
import pretty_midi

from v2m_desktop.cli import main
from v2m_desktop.core.video.synthetic import make_test_video


def test_summary_counts_the_arranged_chords(tmp_path, capsys):
    """The summary's chord count is the arrangement's (what the MIDI plays), not the model's."""
    video, mid = tmp_path / "v.mp4", tmp_path / "v.mid"
    make_test_video(video, 14, fps=24, size=(320, 180), cuts=[3.0, 7.5, 11.0])
    assert main(["score", str(video), "--midi", str(mid), "--vision", "basic", "--seed", "3", "--quiet"]) == 0
    summary = capsys.readouterr().out
    lyrics = pretty_midi.PrettyMIDI(str(mid)).lyrics          # one chord symbol per arranged chord
    assert f"({len(lyrics)} in 14.0 s)" in summary
    assert "the music follows 3 of 3 shot changes" in summary
