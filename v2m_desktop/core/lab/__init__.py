"""The lab: training, evaluation, metrics and benchmarks (Qt-free).

The runtime (the app and the rest of the core) never imports the lab; the `v2m` command line
imports it only inside its train, evaluate and bench commands (import-linter contracts in
pyproject.toml).

train.py           TrainOptions, train(): the chord model (AMT) and the dynamics model
evaluate.py        evaluate(), evaluate_emotion_control(): the figures of `v2m evaluate`
metrics.py         ChordScorer, rmse_per_video(), the training loss's weights and targets
muvisync.py        MuviSync: the reader of the MuVi-Sync data set the models learn from
bench.py           the measurements of `v2m bench` (generate, export, score, alignment, edit, music)
bench_analysis.py  bench_analysis(): analysis time against a plain decode pass
bench_batch.py     bench_batch(): `v2m batch` against one `v2m score` after another
"""
