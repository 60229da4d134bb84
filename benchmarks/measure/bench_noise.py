"""Noise stress test (ANSI/AAMI EC57 practice): the shipped models on DS2 records with real noise added.

Real recorded noise from the MIT-BIH Noise Stress Test Database (``bw``,
baseline wander; ``ma``, muscle artifact) is added to lead MLII of the 22 DS2
records of the inter-patient split at 24, 18, 12, 6, 0 and -6 dB, scaled the
way PhysioNet's ``nst`` scales it (:func:`ecgnet.quality.add_noise`: signal
size from the peak-to-peak amplitude of the record's AAMI-N beats, noise size
from its baseline-corrected RMS; the noise's first channel, as ``nst`` pairs
signal 0 with noise signal 0, over the whole record). Beats are then cut at
the reference annotations exactly as ``python -m ecgnet prepare`` cuts them
(:func:`ecgnet.data.records.beats_from_signal`, the code path of
``ecgnet.data.beats_from_record``), the model inputs are built with
``ecgnet.data.model_inputs``, and each table row gives accuracy and the
Se / +P of S and V for both shipped models; the first row is the clean signal.

Read the ``ecgnet-mitbih`` column with care: that model was trained on the
kaggle split, a random 80% of the beats of all 48 records, so about 80% of
these DS2 beats were in its training data; its figures measure how noise
degrades what it learned, not how it generalises. ``ecgnet-mitbih-interpatient``
never saw a DS2 record.

With ``--gate`` each SNR gets two more rows: the beats that
:mod:`ecgnet.plausibility` leaves a class to (``predict --record`` gives the
others ``-``) without the noise gate (``marks``: not QRS-like, polarity
flipped, window past the end) and with it (``gate``: also ``too noisy``), and
the share of the scored beats they are (``coverage``). The gate's thresholds
were chosen on the first half of each noise record (``--noise-half first``)
and the clean records; its figures are reported on the second half
(``--noise-half second``), and on white Gaussian noise (``--noises gauss``),
a noise no choice saw.

With ``--beats-out DIR`` each noise and SNR also goes to ``DIR/KIND_SNR.npz``
(``clean.npz`` for the clean signal): each record's noisy lead, and per beat
its record, R peak, label, whether it is scored and every model's
probabilities, for ``benchmarks/measure/bench_noise_gate.py`` to measure
beat by beat.

Usage:
    python -m benchmarks.measure.bench_noise --mitdb DIR --noise DIR            # the full test (minutes)
    python -m benchmarks.measure.bench_noise --mitdb DIR --noise DIR --quick    # 3 records, 2 SNRs, as a check
    python -m benchmarks.measure.bench_noise --records 118 119 --score-after 5 --snr 12 6 0 \
        --models ecgnet-mitbih ecgnet-mitbih-interpatient ecgnet-mitbih-svdb --noises bw ma gauss \
        --noise-half second --gate                                                  # the noise gate
(``--mitdb`` / ``--noise`` default to ``$ECGNET_MITDB_DIR`` / ``$ECGNET_NSTDB_DIR``.)
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from ecgnet.data import DS2, concat_beats, model_inputs
from ecgnet.data.noisy import noise_half, read_noise_records
from ecgnet.data.records import beats_from_signal, read_annotated_lead
from ecgnet.quality import add_noise

SNRS = (24, 18, 12, 6, 0, -6)
NOISES = ("bw", "ma")
#: Noise kinds: the two records of the Noise Stress Test Database, and white Gaussian noise (seeded).
NOISE_NAMES = {"bw": "baseline wander", "ma": "muscle artifact", "gauss": "white Gaussian noise"}
MODELS = ("ecgnet-mitbih", "ecgnet-mitbih-interpatient")
QUICK_RECORDS = ("100", "105", "213")
QUICK_SNRS = (12, 0)


def scores(y, predicted):
    from ecgnet.metrics import evaluate_predictions

    if len(y) == 0:
        return [float("nan")] * 5
    report = evaluate_predictions(y, predicted)
    per_class = report["per_class"]
    return [report["accuracy"]] + [per_class[c][k] for c in ("S", "V") for k in ("sensitivity", "positive_predictivity")]


def kept_beats(signal, fs, peaks):
    """(without the gate, with it): which beats ecgnet.plausibility leaves a class to (bool arrays)."""
    from ecgnet import plausibility

    reasons = plausibility.beat_reasons(signal, fs, peaks)
    gated = np.char.find(reasons.astype(str), plausibility.NOISY) >= 0
    others = np.array([reason.replace(plausibility.NOISY, "").strip("; ") != "" for reason in reasons], bool)
    return ~others, ~others & ~gated


def write_beats(folder, noise_kind, snr, signals, part, scored, probabilities):
    """One ``.npz`` per noise and SNR: each record's noisy lead (``signal_NAME``), and per beat its record, R peak,
    label, whether it is scored, and each model's probabilities (``probabilities``: models x beats x classes)."""
    from ecgnet.files import atomic_path

    label = "clean" if noise_kind is None else f"{noise_kind}_{snr:g}"
    with atomic_path(Path(folder) / f"{label}.npz") as tmp:
        np.savez_compressed(tmp, record=np.asarray(part.record), r_peak=part.r_peak, y=part.y, scored=scored,
                            probabilities=np.stack(probabilities).astype(np.float32),
                            **{f"signal_{name}": np.asarray(signal, np.float32) for name, signal in signals.items()})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", type=Path, default=os.environ.get("ECGNET_MITDB_DIR"),
                        help="folder of the raw MIT-BIH records (default: $ECGNET_MITDB_DIR)")
    parser.add_argument("--noise", type=Path, default=os.environ.get("ECGNET_NSTDB_DIR"),
                        help="folder of the noise records bw and ma (default: $ECGNET_NSTDB_DIR)")
    parser.add_argument("--records", nargs="+", default=None, help="DS2 records to use (default: all 22)")
    parser.add_argument("--snr", type=float, nargs="+", default=None, help=f"SNRs in dB (default: {' '.join(map(str, SNRS))})")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help=f"shipped names or .keras files (default: {' '.join(MODELS)})")
    parser.add_argument("--quick", action="store_true", help=f"records {' '.join(QUICK_RECORDS)} at {QUICK_SNRS} dB: a check that it runs")
    parser.add_argument("--noises", nargs="+", default=list(NOISES), choices=sorted(NOISE_NAMES),
                        help=f"noise kinds (default: {' '.join(NOISES)})")
    parser.add_argument("--noise-half", choices=("first", "second", "whole"), default="whole",
                        help="which half of each noise record is added (default: whole)")
    parser.add_argument("--score-after", type=float, default=0.0, help="score only the beats after this many minutes")
    parser.add_argument("--gate", action="store_true",
                        help="also the beats ecgnet.plausibility leaves a class to, without and with the noise gate")
    parser.add_argument("--beats-out", type=Path, default=None,
                        help="also write, per noise and SNR, each record's noisy lead, R peaks, labels, scored beats "
                             "and every model's probabilities to an .npz in this folder (to study the gate beat by beat)")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write every row to this JSON file (noise -> SNR -> model -> figures), for model cards")
    args = parser.parse_args(argv)
    for flag, folder, wanted in (("--mitdb", args.mitdb, "100.hea"), ("--noise", args.noise, "bw.hea")):
        if folder is None or not (Path(folder) / wanted).is_file():
            parser.error(f"{flag}: a folder holding {wanted} is needed (received {folder})")
    records = list(QUICK_RECORDS if args.quick else (args.records or DS2))
    snrs = list(QUICK_SNRS if args.quick else (args.snr if args.snr is not None else SNRS))

    from ecgnet.pretrained_models import load_model

    started = time.perf_counter()
    clean = {name: read_annotated_lead(Path(args.mitdb) / name) for name in records}
    fs = next(iter(clean.values()))[1]
    noises = {}
    for kind, (noise, noise_fs) in read_noise_records(args.noise, [k for k in args.noises if k != "gauss"]).items():
        if abs(noise_fs - fs) > 0.1 * fs:
            raise SystemExit(f"{Path(args.noise) / kind}: noise at {noise_fs:g} Hz, records at {fs:g} Hz "
                             "(nst resamples; this script does not)")
        noises[kind] = noise_half(noise, args.noise_half)
    if "gauss" in args.noises:
        noises["gauss"] = np.random.default_rng(0).normal(size=max(len(signal) for signal, *_ in clean.values()))
    models = {name: load_model(name) for name in args.models}

    def measure(noise_kind=None, snr=None):
        """(beats scored, {row name: (coverage, scores of every model)})."""
        parts, scored, marks, gate, signals = [], [], [], [], {}
        for name, (signal, rate, peaks, labels) in clean.items():
            if noise_kind is not None:
                signal = add_noise(signal, noises[noise_kind], snr, rate, peaks[labels == 0])
            beats = beats_from_signal([signal], rate, peaks, labels, name).beats
            parts.append(beats)
            signals[name] = signal
            scored.append(beats.r_peak >= args.score_after * 60 * rate)
            if args.gate:
                without, with_gate = kept_beats(signal, rate, beats.r_peak)
                marks.append(without)
                gate.append(with_gate)
        part = concat_beats(parts)
        scored = np.concatenate(scored)
        rows = {"": scored} if not args.gate else {
            "": scored, " marks": scored & np.concatenate(marks), " gate": scored & np.concatenate(gate)}
        probabilities = [model.predict(model_inputs(model, part), batch_size=1024, verbose=0) for model in models.values()]
        predicted = [p.argmax(axis=1) for p in probabilities]
        if args.beats_out is not None:
            write_beats(args.beats_out, noise_kind, snr, signals, part, scored, probabilities)
        return int(scored.sum()), {label: (keep.sum() / max(scored.sum(), 1),
                                           sum((scores(part.y[keep], p[keep]) for p in predicted), []))
                                   for label, keep in rows.items()}

    n_beats, clean_rows = measure()
    print(f"noise stress test: {len(records)} records ({' '.join(records)}), {n_beats} beats scored"
          f"{f' (after minute {args.score_after:g})' if args.score_after else ''}, lead MLII; noise from {args.noise} "
          f"({args.noise_half} of each noise record) scaled as nst does, over the whole record")
    header = f"{'SNR dB':>13s} {'coverage':>8s}" + "".join(
        f" | {m:^44s}" for m in models) + "\n" + f"{'':22s}" + " | {:>8s} {:>8s} {:>8s} {:>8s} {:>8s}".format(
        "accuracy", "S Se", "S +P", "V Se", "V +P") * len(models)

    table = {}

    def lines(label, rows, kind=None):
        for suffix, (coverage, row) in rows.items():
            cells = [row[i : i + 5] for i in range(0, len(row), 5)]
            table.setdefault(kind, {})[label + suffix] = {"coverage": float(coverage), **{
                model: dict(zip(("accuracy", "S_se", "S_pp", "V_se", "V_pp"), map(float, cell)))
                for model, cell in zip(args.models, cells)}}
            print(f"{label + suffix:>13s} {100 * coverage:8.2f}"
                  + "".join(" | " + " ".join(f"{100 * v:8.2f}" for v in cell) for cell in cells), flush=True)

    for kind in args.noises:
        print(f"\nnoise {kind} ({NOISE_NAMES[kind]}); figures in %")
        print(header)
        lines("clean", clean_rows, kind)
        for snr in snrs:
            lines(f"{snr:g}", measure(kind, snr)[1], kind)
    if args.json is not None:
        import json

        from ecgnet.files import write_text_atomic

        write_text_atomic(args.json, json.dumps({"records": records, "beats_scored": n_beats, "noise_half": args.noise_half,
                                                 "score_after_minutes": args.score_after, "rows": table}, indent=1) + "\n")
    print(f"\n({time.perf_counter() - started:.0f} s; ecgnet-mitbih trained on about 80% of these beats: see the docstring)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
