"""Video analysis (Qt-free).

probe.py     VideoInfo, probe(): file facts, one-line V2MError for bad input
analysis.py  Analysis, analyse(): one decode pass -> motion, cuts, seconds-since-cut, the frame of
             each second for the vision backend, thumbnails; cached by content hash
vision.py    BasicVision, ClipVision, resolve_vision(), fetch_clip()
bench.py     bench_analysis(): analysis time against a plain decode pass
synthetic.py make_test_video(): videos with known cuts and motion (tests, demo)
"""
