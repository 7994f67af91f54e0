"""The `v2m` command line: score videos, and train, evaluate and benchmark the models."""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import traceback
from pathlib import Path

from v2m_desktop import __version__
from v2m_desktop.core.errors import Cancelled, Terminated, V2MError


def _at_least(low: int):
    """An argparse type: a whole number >= low (argparse then prints one usage line)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value
    return parse


def _train(args) -> int:
    from v2m_desktop.core.lab.train import TrainOptions, train
    opts = TrainOptions(data=Path(args.data), out=Path(args.out), epochs=args.epochs,
                        device=args.device, seed=args.seed, semantic=not args.no_semantic,
                        fresh=args.fresh)
    if args.batch_size:
        opts.batch_size = args.batch_size
    if args.limit:
        opts.limit = args.limit
    if args.tiny:     # a few-second run for tests and smoke checks
        opts.config = {"d_model": 32, "n_head": 2, "n_enc": 1, "n_dec": 1, "d_ff": 64} \
            if args.kind == "chords" else {"hidden": 8, "layers": 1, "semantic_proj": 4}
    best = train(args.kind, opts, log=lambda s: print(s, file=sys.stderr, flush=True))
    print(f"best checkpoint (validation loss {best.get('loss', float('nan')):.4f}) in {args.out}",
          file=sys.stderr)
    return 0


def _evaluate(args) -> int:
    from v2m_desktop.core.device import pick_device
    from v2m_desktop.core.lab.evaluate import evaluate, evaluate_emotion_control
    if args.emotion_control:
        table = evaluate_emotion_control(Path(args.data), args.split, videos=args.emotion_control,
                                         semantic=not args.no_semantic, chords=args.chords,
                                         device=pick_device(args.device))
        if args.json:
            print(json.dumps(table))
        else:
            print(f"{'emotion':10s} {'forced':>8s} {'own':>8s}   share of chords the emotion allows")
            for emo, row in table.items():
                print(f"{emo:10s} {row['forced']:8.3f} {row['own']:8.3f}")
        return 0
    res = evaluate(Path(args.data), args.split, semantic=not args.no_semantic,
                   chords=args.chords, dynamics=args.dynamics, device=pick_device(args.device))
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:26s} {v:.4f}" if isinstance(v, float) else f"{k:26s} {v}")
    return 0


def _bench_media(args) -> int:
    """bench analysis | export | score | alignment | edit | app | all, on VIDEO or a synthetic 1280x720
    clip (app: on the shared Big Buck Bunny clip)."""
    import tempfile

    from v2m_desktop.core.lab import bench
    from v2m_desktop.core.lab.bench import bench_export
    from v2m_desktop.core.lab.bench_analysis import bench_analysis
    what = (["analysis", "export", "score", "alignment", "edit", "batch", "app"] if args.what == "all"
            else [args.what])
    results = {}
    with tempfile.TemporaryDirectory(prefix="v2m-bench-") as d:
        if args.video and "alignment" in what:       # said before any other benchmark runs
            raise V2MError("bench alignment needs the synthetic clip (its cuts are known): "
                           "leave out VIDEO")
        if args.video:
            from v2m_desktop.core.video.probe import probe
            video = Path(args.video)
            probe(video)          # bad input: its one line before any work starts
        elif set(what) - {"alignment", "app", "batch"}:   # app: the shared clip; batch: its own
            print(f"making a {args.seconds}-s 1280x720 clip with known cuts ...", file=sys.stderr)
            video, _ = bench.bench_video(Path(d), seconds=args.seconds)
        for w in what:
            print(f"bench {w} ...", file=sys.stderr, flush=True)
            if w == "analysis":
                r = bench_analysis(video, repeat=getattr(args, "repeat", 3))
                speech = ("" if r["speech_s"] is None else
                          f"; speech search {r['speech_s']:.3f} s alone, {100 * r['speech_share']:.1f} % "
                          f"of the analysis ({100 * r['speech_cpu_share']:.1f} % of its CPU time), adds "
                          f"{100 * r['speech_added_share']:.1f} % beside its decode (target <= 10 %; "
                          f"{100 * r['speech_added_share_median']:.1f} % by the median of paired runs)")
                results[w] = {**r, "line": f"analysis (basic) {r['analyse_s']:.2f} s vs grab-only decode "
                                           f"{r['grab_s']:.2f} s: {r['ratio']:.2f}x (target <= 1.5x); "
                                           f"cache key (whole-file hash) {r['hash_s']:.3f} s, "
                                           f"{r['hash_gb_per_s']:.2f} GB/s{speech}"}
            elif w == "export":
                r = bench_export(video)
                results[w] = {**r, "line": f"export {r['export_s']:.2f} s vs moviepy re-encode "
                                           f"{r['moviepy_reencode_s']:.1f} s: {r['speedup']:.0f}x faster "
                                           "(target >= 30x)"}
            elif w == "score":
                r = bench.bench_score(video)
                results[w] = {**r, "line": f"v2m score {r['score_s']:.1f} s vs grab-only decode "
                                           f"{r['grab_s']:.1f} s: {r['ratio']:.2f}x (target <= 3x); "
                                           f"peak memory {r['peak_memory_mib']:.0f} MiB (target < 1536); "
                                           f"render stage {r['render_s']:.2f} s with {r['soundfont']}"}
            elif w == "alignment":
                clean, clean_cuts = bench.bench_video(Path(d), seconds=args.seconds, texture=False)
                r = bench.bench_alignment(clean, clean_cuts)
                results[w] = {**r, "line": f"cuts within 100 ms: of a beat {r['beat']:.2f}, of a chord "
                                           f"change {r['chord']:.2f}, of random chord changes at the "
                                           f"same rate {r['random_chord']:.2f} ({r['cuts']} cuts)"}
            elif w == "edit":
                from v2m_desktop.core.lab.bench_notes import bench_notes, notes_lines
                r = {**bench.bench_edit(video), "notes": bench_notes(video, Path(d))}
                results[w] = {**r, "line": f"edit to new audio ({r['seconds']} s video): chord edit "
                                           f"{r['chord_edit_s']:.2f} s (target < 0.3 s), 20-s regeneration "
                                           f"{r['regenerate_20s_s']:.2f} s (target < 1 s), vs full arrange + "
                                           f"render {r['full_s']:.2f} s; joined audio vs a full render: "
                                           f"SNR {r['chord_snr_db']:.0f} / {r['regenerate_snr_db']:.0f} dB, "
                                           f"max diff {r['chord_max_diff']:.3f} / "
                                           f"{r['regenerate_max_diff']:.3f}\n"
                                           + "\n".join(notes_lines(r["notes"]))}
            elif w == "batch":
                from v2m_desktop.core.lab.bench_batch import bench_batch
                r = bench_batch()
                results[w] = {**r, "line": f"batch of {r['clips']} {r['clip_seconds']}-s clips "
                                           f"({r['jobs']} jobs) {r['batch_s']:.1f} s vs one v2m score after "
                                           f"another {r['serial_s']:.1f} s: {r['speedup']:.1f}x "
                                           f"({r['batch_per_min']:.0f} vs {r['serial_per_min']:.0f} videos "
                                           "a minute)"}
            elif w == "app":
                from v2m_desktop.app.bench import bench_app
                r = bench_app(Path(args.video) if args.video else None)
                results[w] = {**r, "line": _app_line(r)}
        if args.what == "all":
            results["music"] = _music(args, Path(d))
    if args.json:
        print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "line"} for k, v in results.items()}))
    else:
        for r in results.values():
            print(r["line"])
    return 0


def _app_line(r: dict) -> str:
    from v2m_desktop.app.bench import edit_line, note_lines, preview_line
    cancels = ", ".join(f"{k} {v:.2f} s" for k, v in r["cancel_s"].items())
    return (f"app launch to window {r['launch_s']:.2f} s vs a bare Qt window {r['bare_qt_s']:.2f} s: "
            f"{r['launch_ratio']:.1f}x (target < 1.5 s)\n"
            f"app longest event-loop gap while opening and scoring {Path(r['video']).name} "
            f"({r['generate_s']:.1f} s): {r['longest_gap_ms']:.0f} ms vs {r['idle_gap_ms']:.0f} ms idle "
            f"(target < 50 ms)\n"
            f"app Cancel to idle: {cancels} (target < 1 s)\n" + edit_line(r) + "\n" + preview_line(r) + "\n"
            + note_lines(r["notes_short"], r["notes_long"]))


def _said(what: str, _fraction: float) -> None:
    print(f"bench music: {what}", file=sys.stderr, flush=True)


def _music(args, folder: Path) -> dict:
    from v2m_desktop.core.lab.bench import MEDIA, bench_music, music_lines
    r = bench_music(folder, range(getattr(args, "seeds", 10)), getattr(args, "media", MEDIA), progress=_said)
    return {**r, "line": "\n".join(music_lines(r))}


def _bench_music(args) -> int:
    """bench music: the seeds' figures over the shared and the synthetic mood clips."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="v2m-bench-") as d:
        if args.styles_only or args.keep:
            from v2m_desktop.core.lab.bench_styles import bench_styles, style_lines
            video = Path(args.media) / "sintel_trailer_480x204.mp4"
            if not video.is_file():
                raise V2MError(f"bench music --styles-only needs the Sintel trailer: {video} is missing")
            s = bench_styles(video, Path(d), seed=0, keep=args.keep, progress=_said)
            r = {"styles": s, "line": "\n".join(style_lines(s))}
        else:
            r = _music(args, Path(d))
    print(json.dumps({k: v for k, v in r.items() if k != "line"}) if args.json else r["line"])
    return 0


def _bench(args) -> int:
    from v2m_desktop.core.device import pick_device
    from v2m_desktop.core.lab.bench import bench_generate
    res = bench_generate(args.model, device=pick_device(args.device))
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{res['chords']} chords on {res['device']} ({res['threads']} threads)")
        print(f"  KV cache            {res['kv_cache_s']:.3f} s")
        print(f"  full recomputation  {res['full_recompute_s']:.3f} s")
        print(f"  speed-up            {res['speedup']:.1f}x   (same chords: {res['same_chords']})")
    return 0


class _BarStream:
    """stderr for the progress bars, remembering whether their line is left open: a signal
    that lands while a bar is being made leaves a bar tqdm no longer lists (it is dropped before
    it is kept), and the run's last line then went on the bar's line ('analyse 0% 00:00v2m:
    interrupted', a CI-like run under load)."""

    open = False

    def write(self, text: str) -> int:
        if text:
            _BarStream.open = not text.endswith("\n")
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def __getattr__(self, name: str):     # encoding, isatty, fileno: tqdm's choice of bar
        return getattr(sys.stderr, name)


class _StageBars:
    """One progress bar per stage on stderr, driven by the core's (stage, fraction) callbacks."""

    def __init__(self, quiet: bool = False):
        from tqdm import tqdm
        self.tqdm, self.bars, self.quiet = tqdm, {}, quiet

    def __call__(self, stage: str, fraction: float):
        if self.quiet:
            return
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = self.tqdm(total=100, desc=f"{stage:9s}", leave=True, file=_BarStream(),
                                               bar_format="{desc} {bar} {percentage:3.0f}%  {elapsed}")
        bar.n = round(100 * min(max(fraction, 0.0), 1.0))
        bar.refresh()
        if fraction >= 1.0:
            bar.close()

    def close(self):
        for bar in self.bars.values():
            bar.close()


def _score_settings(args):
    from v2m_desktop.core.pipeline import ScoreSettings
    return ScoreSettings.build(vision=args.vision, clip_model=args.clip_model, device=args.device,
                               soundfont=args.soundfont, key=args.key, primer=args.primer,
                               seed=args.seed, temperature=args.temperature,
                               follow_picture=args.follow_picture, tempo=args.tempo,
                               instruments=args.instruments, style=args.style)


def _summary(result, written: dict) -> str:
    a, arr = result.analysis, result.arrangement
    chords = len(arr.chord_times)           # as arranged: what the MIDI and the audio play
    minutes = max(a.info.duration, 1e-6) / 60
    followed = (f"; the music follows {len(arr.followed_cuts)} of {len(a.shot_changes)} shot changes"
                if arr.followed_cuts else "")
    n = len(a.transitions)
    others = f", {n} transition{'s' * (n != 1)} (fades, titles)" if n else ""
    lines = [f"vision     {a.vision}" + ("" if a.semantic is not None else " (no semantic features)"),
             f"key        {result.chords.key_name}",
             f"tempo      {arr.tempo:.1f} BPM",
             f"style      {_style_line(result)}",
             f"soundfont  {_soundfont_name(result.soundfont)}",
             f"cuts       {len(a.cuts)}{others}{followed}",
             f"chords     {chords / minutes:.1f} per minute ({chords} in {a.info.duration:.1f} s)",
             "time       " + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())]
    lines += _mix_lines(result.delivered)
    for kind, path in written.items():
        lines.append(f"{kind:10s} {path if not isinstance(path, list) else path[0].parent}")
    return "\n".join(lines)


def _style_line(result) -> str:
    """'Lo-fi (auto: from the picture); 10-20 s Ambient'."""
    from v2m_desktop.core.arrange.styles import AUTO, all_styles
    styles, arr = all_styles(), result.arrangement
    chosen = result.project is not None and result.project.settings.style == AUTO
    text = styles[arr.style].name + (" (auto: from the picture)" if chosen else "")
    spans = arr.style_plan.spans if arr.style_plan is not None else ()
    others = [f"{a:.0f}-{b:.0f} s {styles[k].name}" for a, b, k in spans if k != arr.style]
    return "; ".join([text, *others])


def _soundfont_name(soundfont) -> str:
    from v2m_desktop.core.render import check_soundfont
    return check_soundfont(soundfont).name
def _mix_lines(mixed) -> list[str]:
    """The delivered mix's loudness and ducking (none before an export)."""
    return [] if mixed is None else [f"{what:<10s} {said}" for what, said in mixed.summary()]


def _score(args) -> int:
    from v2m_desktop.core.pipeline import Outputs
    video = Path(args.video)
    outputs = Outputs(mp4=args.output, midi=args.midi, wav=args.wav, stems=args.stems,
                      keep_original_audio=args.keep_original_audio, duck_db=args.duck,
                      loudness=args.loudness)
    if not any((outputs.mp4, outputs.midi, outputs.wav, outputs.stems)):
        raise V2MError("nothing to write: give -o OUT.mp4 (or --midi, --wav, --stems)")
    settings = _score_settings(args)
    outputs.check(video, settings.arrange.instruments)
    _say_notes(outputs, video)
    if args.project is not None:      # every name checked before any work
        _check_project_out(Path(args.project), video, outputs, settings.arrange.instruments)
    return _run_score(video, outputs, settings, args.quiet, project=args.project)


def _check_project_out(project: Path, video: Path, outputs, instruments) -> None:
    """The project to save: a .v2m name, not the video nor any other output, in a folder where
    a file can be made."""
    from v2m_desktop.core.files import check_folder_writable
    from v2m_desktop.core.project import check_save_path
    check_save_path(project, video, outputs.stems, *(p for _, p in outputs.files(instruments)))
    check_folder_writable(project.parent)


def _check_not_project(project: Path, outputs, instruments) -> None:
    """No output of an export may name the project being exported (it would be overwritten)."""
    from v2m_desktop.core.files import check_output, same_file
    for _, path in outputs.files(instruments):
        check_output(path, project)
    if outputs.stems is not None and same_file(Path(outputs.stems), project):
        raise V2MError(f"the stems folder {outputs.stems} is the project file; choose another name")


def _probed(video: Path) -> None:
    """Probe the video first: bad input gets its one line before any progress bar starts."""
    from v2m_desktop.core.video.probe import probe
    probe(video)


def _say_notes(outputs, video: Path) -> None:
    for note in outputs.notes(video):
        print(f"v2m: note: {note}", file=sys.stderr)


def _run_score(video: Path, outputs, settings, quiet: bool, project: Path | None = None) -> int:
    """Score `video` and write `outputs` with progress bars, then print the summary."""
    from v2m_desktop.core.pipeline import export_score
    from v2m_desktop.core.scoring import score_video
    _probed(video)
    bars = _StageBars(quiet)
    try:
        result = score_video(video, settings, progress=bars)
        outputs.keep_mix_in(result.project)
        written = export_score(result, video, outputs, soundfont=settings.soundfont, progress=bars)
    finally:
        bars.close()
    if project is not None:
        written["project"] = result.project.save(Path(project))
    print(_summary(result, written))
    return 0


def _seconds(text: str) -> int:
    """'75' or '1:15' -> 75."""
    text = text.strip()
    try:
        if ":" in text:
            m, sec = text.split(":", 1)
            value = int(m) * 60 + float(sec)
        else:
            value = float(text)
    except ValueError:
        raise V2MError(f"cannot read the time {text!r} (seconds, or m:ss)") from None
    if not math.isfinite(value) or value < 0 or value != int(value):     # nan, inf: one line too
        raise V2MError(f"times are whole seconds, not {text!r}")
    return int(value)


def _span(text: str) -> tuple[int, int]:
    """'12-16' or '1:05-1:20' -> (start, end), half-open."""
    a, sep, b = text.partition("-")
    if not sep:
        raise V2MError(f"a range is START-END (seconds or m:ss), not {text!r}")
    return _seconds(a), _seconds(b)


def _time_span(text: str) -> tuple[float, float]:
    """'12.5-16' or '1:05.2-1:20' -> (start, end) in seconds, decimals allowed."""
    a, sep, b = text.partition("-")
    if not sep:
        raise V2MError(f"a range is START-END (seconds or m:ss), not {text!r}")
    out = []
    for part in (a, b):
        m, colon, sec = part.strip().rpartition(":")
        try:
            out.append((int(m) * 60 if colon else 0) + float(sec))
        except ValueError:
            raise V2MError(f"cannot read the time {part!r} (seconds, or m:ss)") from None
    return out[0], out[1]


def _span_value(text: str) -> tuple[int, int, str]:
    span, sep, value = text.partition("=")
    if not sep or not value:
        raise V2MError(f"expected START-END=VALUE, not {text!r}")
    return (*_span(span), value.strip())


def _edits(args) -> list:
    """The --chord/--lock/... options, in the order given, as core edits."""
    from v2m_desktop.core import edits as E
    from v2m_desktop.core.arrange import parse_tempo
    out = []
    for op, value in args.ops or []:
        if op == "chord":
            a, b, v = _span_value(value)
            out.append(E.SetChords(a, b, v))
        elif op in ("lock", "unlock", "clear_target"):
            a, b = _span(value)
            out.append({"lock": E.Lock, "unlock": E.Unlock, "clear_target": E.ClearEmotionTarget}[op](a, b))
        elif op == "transpose":
            a, b, v = _span_value(value)
            try:
                out.append(E.Transpose(a, b, int(v)))
            except ValueError:
                raise V2MError(f"--transpose takes semitones, e.g. 12-16=+2, not {value!r}") from None
        elif op == "target":
            a, b, v = _span_value(value)
            emotion, _, level = v.partition(":")
            try:
                intensity = float(level) if level else 1.0
            except ValueError:
                raise V2MError("--target takes EMOTION[:INTENSITY], e.g. 30-45=sad:0.8, "
                               f"not {value!r}") from None
            out.append(E.SetEmotionTarget(a, b, emotion.strip().lower(), intensity))
        elif op == "regenerate":
            span, _, seed = value.partition(":")
            if span.count(":"):
                raise V2MError("--regenerate takes START-END[:SEED] in seconds")
            a, b = _span(span)
            out.append(E.Regenerate(a, b, int(seed) if seed.strip().isdigit() else 0))
        elif op == "take":
            a, b, v = _span_value(value)
            if not v.isdigit():
                raise V2MError(f"--take takes START-END=N, not {value!r}")
            out.append(E.UseTake(a, b, int(v)))
        elif op in ("split", "merge"):
            out.append((E.Split if op == "split" else E.Merge)(_seconds(value)))
        elif op == "move_boundary":
            old, sep, new = value.partition("=")
            if not sep:
                raise V2MError(f"--move-boundary takes S=T (seconds or m:ss), not {value!r}")
            out.append(E.MoveBoundary(_seconds(old), _seconds(new)))
        elif op == "key":
            out.append(E.SetKey(value))
        elif op == "tempo":
            out.append(E.SetTempo(parse_tempo(value)))
        elif op == "style":
            if "=" in value:
                a, b, v = _span_value(value)
                out.append(E.SetStyle(v, a, b))
            else:
                out.append(E.SetStyle(value))
        elif op == "duck":
            out.append(E.SetDuckDepth(value))
        elif op in ("duck_add", "duck_remove"):
            a, b = _time_span(value)
            out.append((E.AddDuckRange if op == "duck_add" else E.RemoveDuckRange)(a, b))
        elif op == "loudness":
            out.append(E.SetLoudnessTarget(value))
        elif op == "import_midi":
            out.append(E.ImportMidi(Path(value)))
    return out


def _styles(args) -> int:
    from v2m_desktop.core.arrange.styles import all_styles
    for key, st in all_styles().items():
        lead = ", melody" if "melody" in st.parts else ""
        drums = "" if st.drums is None else ", drums"
        print(f"{key:10s} {st.name}: {st.summary} ({st.tempo[0]:g}-{st.tempo[1]:g} BPM{drums}{lead})")
    print(f"{'auto':10s} chosen from the picture's emotion, energy and pace (the default)")
    return 0


def _project_new(args) -> int:
    from v2m_desktop.core.files import check_folder_writable
    from v2m_desktop.core.pipeline import Outputs
    from v2m_desktop.core.project import check_save_path
    from v2m_desktop.core.scoring import score_video
    video, out = Path(args.video), Path(args.output)
    settings = _score_settings(args)
    mix = Outputs(duck_db=args.duck, loudness=args.loudness)
    mix.check(video)            # a bad value: before any work
    check_save_path(out, video)         # before minutes of work
    check_folder_writable(out.parent)
    _probed(video)
    bars = _StageBars(args.quiet)
    try:
        result = score_video(video, settings, progress=bars)
    finally:
        bars.close()
    mix.keep_mix_in(result.project)
    path = result.project.save(out)
    print(f"project {path}: {result.chords.key_name}, {len(result.chords)} s")
    return 0


def _edit(args) -> int:
    from v2m_desktop.core.edits import ChangeNotes, ImportMidi, Regenerate, dropped_notes
    from v2m_desktop.core.engine import Engine
    from v2m_desktop.core.project import Conflict, open_project
    ops = _edits(args)
    if not ops:
        raise V2MError("no edit given (e.g. --chord 12-16=Am, --lock 12-16, --target 30-45=sad:0.8)")
    for attempt in range(_EDIT_TRIES):
        # read, edit, save-if-unchanged: another program's save in between means read it again
        # and make the edits on what it wrote (they are all or nothing, and repeatable)
        project = open_project(Path(args.project), args.video)
        engine = Engine(project, device=args.device) \
            if any(isinstance(e, (Regenerate, ImportMidi)) for e in ops) else None
        told = []
        for e in ops:       # all in memory first: a bad one leaves the file as it was
            notes = project.notes
            e.apply(project, engine)
            if not isinstance(e, (ChangeNotes, ImportMidi)) and (n := dropped_notes(notes, project.notes)):
                told.append(f"{n} note edit{'s' if n > 1 else ''} dropped: the chords under them changed")
            elif isinstance(e, ImportMidi):
                told.append(f"{e.path.name}: {len(project.notes) - len(notes):+d} note edits")
        try:
            project.save()
            break
        except Conflict:
            if attempt == _EDIT_TRIES - 1:
                raise
    for line in told:
        print(line)
    print(f"{len(ops)} edit{'s' if len(ops) > 1 else ''} saved in {project.path}")
    return 0


_EDIT_TRIES = 50


def _show(args) -> int:
    from v2m_desktop.core.project import open_project
    p = open_project(Path(args.project), args.video)
    blocks = [{"start": a, "end": b, "chord": p.symbol(t),
               "locked": all(s in p.locks for s in range(a, b))} for a, b, t in p.blocks()]
    targets = [{"start": t.start, "end": t.end, "emotion": t.emotion, "intensity": t.intensity}
               for t in p.targets]
    takes = [{"start": t.start, "end": t.end, "count": len(t.takes), "current": t.current} for t in p.takes]
    from v2m_desktop.core.notes import note_name, note_to_dict
    notes = {"removed": [note_to_dict(n) for n in sorted(p.notes.removed)],
             "added": [note_to_dict(n) for n in p.notes.added]}
    if args.json:
        s = p.settings
        mix = {"original_level": s.original_level, "duck_db": s.duck_db, "loudness": s.loudness,
               "duck_add": [list(r) for r in s.duck_add], "duck_remove": [list(r) for r in s.duck_remove]}
        print(json.dumps({"video": p.video.path, "key": p.key_name, "tempo": p.settings.tempo,
                          "blocks": blocks, "targets": targets, "takes": takes, "mix": mix,
                          "notes": notes}))
        return 0
    print(f"{p.video.path}: {p.video.duration:.1f} s, {p.key_name}, tempo "
          f"{'auto' if p.settings.tempo is None else f'{p.settings.tempo:g} BPM'}")
    for b in blocks:
        print(f"  {b['start']:4d}-{b['end']:<4d} {b['chord']:8s}{'  locked' if b['locked'] else ''}")
    for t in targets:
        print(f"  target {t['start']}-{t['end']}: {t['emotion']} {t['intensity']:g}")
    for t in takes:
        print(f"  takes {t['start']}-{t['end']}: {t['count']} (using {t['current']})")
    if len(p.notes):
        print(f"  note edits: {len(p.notes.added)} notes put in, {len(p.notes.removed)} taken out")
        for what, sign in (("removed", "-"), ("added", "+")):
            for n in notes[what]:
                print(f"    {sign} {n['part']:8s} {note_name(n['pitch']):4s} {n['start']:8.3f}-"
                      f"{n['end']:<8.3f} s  velocity {n['velocity']}")
    s = p.settings
    ranges = "".join(f", {what} " + " ".join(f"{a:g}-{b:g}" for a, b in spans)
                     for what, spans in (("ducked", s.duck_add), ("never ducked", s.duck_remove)) if spans)
    print(f"  mix: original sound {s.original_level:g}, duck {s.duck_db:g} dB, loudness {s.loudness:g} LUFS"
          + ranges)
    return 0


def _export(args) -> int:
    from v2m_desktop.core.engine import Engine
    from v2m_desktop.core.pipeline import Outputs, export_score
    from v2m_desktop.core.project import open_project
    project = open_project(Path(args.project), args.video)
    video = Path(project.video.path)
    outputs = Outputs(mp4=args.output, midi=args.midi, wav=args.wav, stems=args.stems,
                      keep_original_audio=project.settings.original_level if args.keep_original_audio is None
                      else args.keep_original_audio, duck_db=args.duck, loudness=args.loudness)
    if not any((outputs.mp4, outputs.midi, outputs.wav, outputs.stems)):
        raise V2MError("nothing to write: give -o OUT.mp4 (or --midi, --wav, --stems)")
    _check_not_project(Path(args.project), outputs, project.settings.instruments)
    outputs.check(video, project.settings.instruments)
    _say_notes(outputs, video)
    bars = _StageBars(args.quiet)
    try:
        engine = Engine(project, device=args.device, progress=bars)
        result = engine.score()
        soundfont = Path(project.settings.soundfont) if project.settings.soundfont else None
        written = export_score(result, video, outputs, soundfont=soundfont, progress=bars)
    finally:
        bars.close()
    print(_summary(result, written))
    return 0


def _batch(args) -> int:
    from tqdm import tqdm

    from v2m_desktop.core.batch import Request, collect, run_batch
    from v2m_desktop.core.export import check_original_level
    from v2m_desktop.core.mix import check_duck_db, parse_loudness
    check_original_level(args.keep_original_audio)
    if args.duck is not None:
        check_duck_db(args.duck)
    if args.loudness is not None:
        parse_loudness(args.loudness)
    settings = _score_settings(args)
    items = collect(args.inputs, outdir=Path(args.output))
    request = Request(Path(args.output), settings, midi=args.midi, wav=args.wav, stems=args.stems,
                      project=args.project, keep_original_audio=args.keep_original_audio,
                      duck_db=args.duck, loudness=args.loudness)
    bar = None

    def planned(todo: int, skipped: int) -> None:
        nonlocal bar
        if skipped:
            print(f"{skipped} of {len(items)} videos already done (see {request.outdir / 'v2m-batch.jsonl'})",
                  file=sys.stderr)
        if todo and not args.quiet:
            bar = tqdm(total=todo, unit="video", desc="batch", file=_BarStream())

    def ended(item, rec) -> None:
        line = (f"done    {item.video}  ({rec.seconds:.1f} s)" if rec.status == "done"
                else f"FAILED  {item.video}: {rec.error}")
        (bar.write(line, file=sys.stderr) if bar is not None else print(line, file=sys.stderr))
        if bar is not None:
            bar.update(1)
    try:
        summary = run_batch(items, request, jobs=args.jobs, ray=args.ray, on_plan=planned, on_end=ended)
    finally:
        if bar is not None:
            bar.close()
    if summary.damaged:
        print(f"{summary.damaged} damaged line{'s' * (summary.damaged != 1)} of the manifest skipped "
              "(those videos ran again)", file=sys.stderr)
    print(f"{len(summary.done)} done, {len(summary.skipped)} skipped, {len(summary.failed)} failed "
          f"(of {len(items)} videos) in {request.outdir}")
    for item, rec in summary.failed:
        print(f"  failed: {item.video}: {rec.error}")
    return 1 if summary.failed else 0


def _analyse(args) -> int:
    from v2m_desktop.core.video.analysis import analyse
    _probed(Path(args.video))
    bars = _StageBars(args.quiet or args.json)
    try:
        a = analyse(Path(args.video), args.vision, clip_model=args.clip_model, progress=bars)
    finally:
        bars.close()
    info = a.info
    res = {"file": str(info.path), "duration": info.duration, "fps": info.fps,
           "width": info.width, "height": info.height, "rotation": info.rotation,
           "vision": a.vision, "semantic": a.semantic is not None, "seconds": a.seconds,
           "cuts": [round(c, 3) for c in a.cuts], "transitions": [round(c, 3) for c in a.transitions],
           "speech": [[round(s, 3), round(e, 3)] for s, e in a.speech],
           "motion": [round(float(m), 3) for m in a.motion],
           "scene_offset": [int(o) for o in a.scene_offset],
           "emotion": [[round(float(p), 4) for p in row] for row in a.emotion]}
    if args.json:
        print(json.dumps(res))
        return 0
    from v2m_desktop.core.chords import EMOTIONS
    mean = a.emotion.mean(axis=0)
    print(f"{info.path}: {info.duration:.2f} s, {info.width}x{info.height}, {info.fps:.3g} fps")
    print(f"vision     {a.vision}")
    for name, times in (("cuts", a.cuts), ("transitions", a.transitions)):
        if times or name == "cuts":
            print(f"{name:<10} {len(times)}: " + " ".join(f"{c:.2f}" for c in times[:20])
                  + (" ..." if len(times) > 20 else ""))
    print(f"speech     {_speech_line(a)}")
    print(f"motion     mean {a.motion.mean():.2f}, max {a.motion.max():.2f}")
    import numpy as np
    print("emotion    " + ", ".join(f"{EMOTIONS[i]} {mean[i]:.2f}" for i in np.argsort(-mean)))
    return 0


def _speech_line(a) -> str:
    """'3 spans, 11.2 s: 3.00-7.07 14.08-18.14 ...' (or why there is none)."""
    if not a.info.has_audio:
        return "none (the video has no sound)"
    if not a.speech:
        return "none found"
    total = sum(e - s for s, e in a.speech)
    return (f"{len(a.speech)} span{'s' * (len(a.speech) != 1)}, {total:.1f} s: "
            + " ".join(f"{s:.2f}-{e:.2f}" for s, e in a.speech[:12]) + (" ..." if len(a.speech) > 12 else ""))


def _demo(args) -> int:
    from v2m_desktop.core.pipeline import Outputs
    from v2m_desktop.core.video.synthetic import make_test_video
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / "demo_input.mp4"
    make_test_video(video, 30, fps=24, size=(640, 360), cuts=[4.0, 9.5, 13.0, 18.0, 22.5, 26.0])
    print(f"made a 30-s demo clip with 6 cuts: {video}", file=sys.stderr)
    outputs = Outputs(mp4=folder / "demo_scored.mp4", midi=folder / "demo_scored.mid")
    return _run_score(video, outputs, _score_settings(args), quiet=False)


def _fetch_clip(args) -> int:
    from v2m_desktop.core.video.vision import fetch_clip
    bars = _StageBars(False)
    path = fetch_clip(args.model, bars)
    bars.close()
    print(f"CLIP weights are in {path}; `--vision auto` now uses them")
    return 0


def _add_score_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vision", default="auto", choices=["auto", "clip", "basic"],
                   help="video understanding: clip (needs its weights on disk), basic, or auto")
    p.add_argument("--clip-model",
                   help="CLIP checkpoint id or folder (default openai/clip-vit-large-patch14-336)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--key", help="e.g. 'D minor' (default: chosen from the video's mood)")
    p.add_argument("--primer", help="first chords, e.g. 'C Am F G'")
    p.add_argument("--seed", type=int, help="make the result repeatable")
    p.add_argument("--temperature", type=float, default=1.0, help="chord sampling temperature")
    p.add_argument("--follow-picture", type=float, default=1.5, metavar="STRENGTH",
                   help="how far the picture steers the chords (0: the model alone; default 1.5)")
    p.add_argument("--tempo", default="auto", help="'auto' (beats land on cuts) or BPM")
    p.add_argument("--instruments", default="piano,bass,pad,drums,melody",
                   help="comma-separated subset (each style plays those of them it has)")
    p.add_argument("--style", default="auto",
                   help="the music's style (see `v2m styles`), or auto: chosen from the picture")
    p.add_argument("--soundfont", type=Path,
                   help="a General MIDI .sf2 or .sf3 (default: MuseScore General when installed, "
                   "else TimGM6mb)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_mix_options(p)


def _add_mix_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duck", type=float, metavar="DB",
                   help="how far the music ducks under speech in the kept original sound "
                        "(default 10; 0: off)")
    p.add_argument("--loudness", metavar="TARGET",
                   help="delivery loudness: youtube (-14 LUFS, default), podcast (-16), broadcast (-23) "
                        "or LUFS; the true peak stays under -1 dBTP")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="v2m", description="Original soundtracks for videos (Video2Music AMT).")
    p.add_argument("--version", action="version", version=f"v2m {__version__}")
    p.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sc = sub.add_parser("score", help="write a soundtrack for a video", parents=[common])
    sc.add_argument("video", help="the video file")
    sc.add_argument("-o", "--output", type=Path, help="the scored video (.mp4)")
    sc.add_argument("--midi", type=Path, help="also write the MIDI (tracks, tempo, key, chords, cuts)")
    sc.add_argument("--wav", type=Path, help="also write the soundtrack as WAV")
    sc.add_argument("--stems", type=Path, help="also write one WAV per instrument into this folder")
    sc.add_argument("--keep-original-audio", type=float, default=0.0, metavar="LEVEL",
                    help="mix the video's own sound under the music at LEVEL (0..1)")
    _add_score_options(sc)
    sc.set_defaults(func=_score)

    sc.add_argument("--project", type=Path, metavar="P.v2m", help="also save the project (to edit it)")

    pr = sub.add_parser("project", help="v2m projects", parents=[common])
    psub = pr.add_subparsers(dest="what", required=True, metavar="WHAT")
    pn = psub.add_parser("new", help="make a project from a video (no export)", parents=[common])
    pn.add_argument("video")
    pn.add_argument("-o", "--output", required=True, metavar="P.v2m")
    _add_score_options(pn)
    pn.set_defaults(func=_project_new)

    ed = sub.add_parser("edit", help="edit a project: the edits in order, saved all or nothing",
                        parents=[common])
    ed.add_argument("project", metavar="P.v2m")
    ed.add_argument("--video", type=Path, help="the project's video at its new place (when it moved)")
    ed.add_argument("--device", default="auto", help="for --regenerate: auto, cpu, cuda or mps")
    for name, metavar, text in (
            ("chord", "A-B=CHORD", "set seconds A-B (half-open; seconds or m:ss) to CHORD (N: no chord)"),
            ("lock", "A-B", "lock the chords of A-B"), ("unlock", "A-B", "unlock A-B"),
            ("transpose", "A-B=N", "move the chords of A-B by N semitones"),
            ("target", "A-B=EMOTION[:I]", "ask for an emotion over A-B at intensity I (0..1)"),
            ("clear-target", "A-B", "remove emotion targets from A-B"),
            ("regenerate", "A-B[:SEED]", "new chords for A-B (a new take)"),
            ("take", "A-B=N", "use take N of the regenerated range A-B"),
            ("split", "S", "a new chord block from second S on (the chord stays)"),
            ("merge", "S", "join the chord blocks either side of second S (the earlier one's chord)"),
            ("move-boundary", "S=T", "move the chord boundary at second S to second T"),
            ("key", "KEY", "move the piece to KEY, e.g. 'D minor'"),
            ("tempo", "BPM|auto", "a fixed tempo, or auto"),
            ("style", "[A-B=]STYLE", "the piece's style (auto: from the picture), or a range's (auto there: "
             "the piece's)"),
            ("duck", "DB", "how far the music ducks under speech (0: off)"),
            ("duck-add", "A-B", "duck the music over A-B (seconds, decimals allowed)"),
            ("duck-remove", "A-B", "never duck the music over A-B"),
            ("loudness", "TARGET", "delivery loudness: youtube, podcast, broadcast or LUFS"),
            ("import-midi", "EDITED.mid", "take the notes of a MIDI file that `v2m export --midi` wrote and "
             "a DAW changed")):
        ed.add_argument(f"--{name}", dest="ops", action="append", metavar=metavar, help=text,
                        type=lambda v, op=name.replace("-", "_"): (op, v))
    ed.set_defaults(func=_edit)

    st = sub.add_parser("styles", help="the styles, one line each", parents=[common])
    st.set_defaults(func=_styles)

    sh = sub.add_parser("show", help="a project's chord blocks, locks, targets and takes", parents=[common])
    sh.add_argument("project", metavar="P.v2m")
    sh.add_argument("--video", type=Path, help="the project's video at its new place")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=_show)

    ex = sub.add_parser("export", help="render a project as edited", parents=[common])
    ex.add_argument("project", metavar="P.v2m")
    ex.add_argument("-o", "--output", type=Path, help="the scored video (.mp4)")
    ex.add_argument("--midi", type=Path)
    ex.add_argument("--wav", type=Path)
    ex.add_argument("--stems", type=Path)
    ex.add_argument("--keep-original-audio", type=float, metavar="LEVEL")
    _add_mix_options(ex)
    ex.add_argument("--video", type=Path, help="the project's video at its new place")
    ex.add_argument("--device", default="auto")
    ex.add_argument("--quiet", action="store_true")
    ex.set_defaults(func=_export)

    ba = sub.add_parser("batch", help="score many videos (files, folders, lists) into a folder; resumable",
                        parents=[common])
    ba.add_argument("inputs", nargs="+", metavar="INPUT",
                    help="videos, folders (searched recursively) or list files (.txt: one path a line)")
    ba.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                    help="where the scored videos go (input's relative paths kept) with the manifest")
    ba.add_argument("--midi", action="store_true", help="also write each video's MIDI")
    ba.add_argument("--wav", action="store_true", help="also write each soundtrack as WAV")
    ba.add_argument("--stems", action="store_true", help="also write each video's stems (a folder each)")
    ba.add_argument("--project", action="store_true", help="also save each video's .v2m project")
    ba.add_argument("--keep-original-audio", type=float, default=0.0, metavar="LEVEL",
                    help="mix each video's own sound under the music at LEVEL (0..1)")
    ba.add_argument("--jobs", type=_at_least(1), help="worker processes (default: one per two cores)")
    ba.add_argument("--ray", metavar="ADDRESS",
                    help="run on a Ray cluster ('auto' or its address; pip install 'v2m-desktop[cluster]')")
    _add_score_options(ba)
    ba.set_defaults(func=_batch)

    an = sub.add_parser("analyse", help="show what the video analysis sees (cuts, motion, emotion)",
                        parents=[common])
    an.add_argument("video")
    an.add_argument("--json", action="store_true")
    an.add_argument("--vision", default="auto", choices=["auto", "clip", "basic"])
    an.add_argument("--clip-model")
    an.add_argument("--quiet", action="store_true")
    an.set_defaults(func=_analyse)

    de = sub.add_parser("demo", help="make a synthetic clip with known cuts and score it", parents=[common])
    de.add_argument("--folder", default="v2m-demo", help="where to put the clip and the result")
    _add_score_options(de)
    de.set_defaults(func=_demo)

    mo = sub.add_parser("models", help="model files", parents=[common])
    msub = mo.add_subparsers(dest="what", required=True, metavar="WHAT")
    fc = msub.add_parser("fetch-clip", help="download the CLIP weights on purpose (needs the network)",
                         parents=[common])
    fc.add_argument("--model", default="openai/clip-vit-large-patch14-336")
    fc.set_defaults(func=_fetch_clip)

    t = sub.add_parser("train", help="train the chord or the dynamics model on MuVi-Sync", parents=[common])
    t.add_argument("kind", choices=["chords", "dynamics"])
    t.add_argument("--data", required=True, help="MuVi-Sync root folder")
    t.add_argument("--out", required=True, help="checkpoint to write (the best on validation)")
    t.add_argument("--epochs", type=_at_least(1), help="default: as shipped (45 chords, 10 dynamics)")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch-size", type=int, default=0, help=argparse.SUPPRESS)
    t.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    t.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    t.add_argument("--no-semantic", action="store_true", help="train without CLIP semantic features")
    t.add_argument("--fresh", action="store_true", help="start over instead of resuming an interrupted run")
    t.set_defaults(func=_train)

    e = sub.add_parser("evaluate", help="score the models on a MuVi-Sync split", parents=[common])
    e.add_argument("--data", required=True, help="MuVi-Sync root folder")
    e.add_argument("--split", required=True, choices=["val", "test"])
    e.add_argument("--no-semantic", action="store_true", help="leave the CLIP semantic features out")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--chords", type=Path, help="chord model file (default: the shipped one)")
    e.add_argument("--dynamics", type=Path, help="dynamics model file (default: the shipped one)")
    e.add_argument("--device", default="auto")
    e.add_argument("--emotion-control", type=_at_least(1), metavar="N", default=0,
                   help="instead: generate for the first N videos under each forced emotion and "
                        "print the share of chords that emotion allows, forced vs own emotions")
    e.set_defaults(func=_evaluate)

    b = sub.add_parser("bench", help="speed measurements", parents=[common])
    bsub = b.add_subparsers(dest="what", required=True, metavar="WHAT")
    g = bsub.add_parser("generate", help="300 chords: KV cache vs full recomputation", parents=[common])
    g.add_argument("--json", action="store_true")
    g.add_argument("--model", type=Path, help="chord model file (default: the shipped one)")
    g.add_argument("--device", default="cpu")
    g.set_defaults(func=_bench)
    for name, text in (("analysis", "analysis vs one plain decode pass"),
                       ("export", "MP4 export vs moviepy re-encoding"),
                       ("score", "v2m score vs one plain decode pass; peak memory"),
                       ("alignment", "cuts near beats and chord changes vs random"),
                       ("edit", "project engine: edit to new audio vs a full arrange + render"),
                       ("app", "the window: launch time, event-loop stalls while generating, Cancel"),
                       ("batch", "8 short clips: v2m batch vs one v2m score after another"),
                       ("all", "all of the above, and bench music")):
        m = bsub.add_parser(name, help=text, parents=[common])
        m.add_argument("video", nargs="?", help="a video (default: a synthetic 1280x720 clip)")
        long = name in ("score", "edit", "all")
        m.add_argument("--seconds", type=_at_least(10), default=180 if long else 60,
                       help="length of the synthetic clip")
        m.add_argument("--json", action="store_true")
        if name == "analysis":
            m.add_argument("--repeat", type=_at_least(1), default=3,
                           help="runs of each kind; the figures are the fastest (default 3)")
        m.set_defaults(func=_bench_media)
    mu = bsub.add_parser("music", help="the music over the shared and synthetic clips (harmony, phrases, "
                         "cuts, picture contrast, mix)", parents=[common])
    mu.add_argument("--seeds", type=_at_least(1), default=10, help="seeds 0..N-1 (default 10)")
    mu.add_argument("--media", type=Path, default=Path("../shared/media"), help="the shared clips' folder")
    mu.add_argument("--json", action="store_true")
    mu.add_argument("--styles-only", action="store_true",
                    help="only the styles: the Sintel trailer in every style (seed 0, F major)")
    mu.add_argument("--keep", type=Path, metavar="DIR",
                    help="with the styles: write each style's MIDI and WAV into DIR (to listen to)")
    mu.set_defaults(func=_bench_music)
    return p


def main(argv: list[str] | None = None) -> int:
    """The command line; `argv` None: this process is the `v2m` program (see _stopped)."""
    from v2m_desktop.core.cleanup import handling_signals
    args = build_parser().parse_args(argv)
    try:
        # SIGTERM and SIGHUP stop the work as SIGINT does: children ended, temporary files removed
        with handling_signals(then_ignore=argv is None):
            return args.func(args)
    except V2MError as err:
        if args.debug:
            traceback.print_exc()
        _end_bars()
        print(f"v2m: {err}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Cancelled):
        _end_bars()
        print("v2m: interrupted", file=sys.stderr)
        return _stopped(130, argv is None)
    except Terminated as stop:
        _end_bars()
        print(f"v2m: interrupted by {signal.Signals(stop.signum).name}", file=sys.stderr)
        return _stopped(stop.exit_code, argv is None)


def _end_bars() -> None:
    """End the progress bars a stopped run left open, so its last line is a line of its own
    ('analyse 0% 00:00v2m: interrupted' was seen)."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        for bar in list(getattr(tqdm.tqdm, "_instances", ())):
            try:
                bar.close()
            except Exception:       # a half-made bar: its line is ended anyway below
                pass
    if _BarStream.open:
        sys.stderr.write("\n")
        _BarStream.open = False
    sys.stderr.flush()


def _stopped(code: int, program: bool) -> int:
    """After a signal the `v2m` program ends at once, without the interpreter's finalisation: a
    signal that cut an import of torch or OpenCV short (the first seconds of an analysis) left
    native state that crashed the teardown (SIGSEGV after "v2m: interrupted", 4 of 21 runs).
    Everything the run owned is already cleaned up by then. In process (tests) it returns."""
    if not program:
        return code
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
