"""Video analysis (Qt-free).

probe.py     VideoInfo, probe(): file facts, one-line V2MError for bad input
analysis.py  Analysis, analyse(): one decode pass -> motion, cuts, seconds-since-cut, the frame of
             each second for the vision backend, thumbnails; cached by content hash
vision.py    BasicVision, ClipVision, resolve_vision(), fetch_clip()
synthetic.py make_test_video(): videos with known cuts and motion (tests, demo)

Importing the package quiets the FFmpeg inside OpenCV (`OPENCV_FFMPEG_LOGLEVEL`, unless already
set): bad input is reported as one V2MError line, not as FFmpeg's messages on stderr. OpenCV reads
the variable when it opens its first video, so this import must come before that.
"""
import os

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")     # AV_LOG_QUIET
