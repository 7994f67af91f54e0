"""The timeline: one time axis shared by a stack of lanes (ruler, thumbnails, cuts, emotion,
chords, piano-roll, density, loudness), each a view over a Qt model of the session's data."""
