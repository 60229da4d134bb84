"""Candidate changes to the noise gate, measured beat by beat on validation records, and on the clean records.

The noise gate (``ecgnet.plausibility.NOISY`` in ``beat_reasons``) marks a
beat whose QRS barely stands out of the 10 s around it (``local_contrast``)
or under which the baseline moves by more than twice its QRS
(``baseline_drift``). This script asks what the beats look like that the
gate lets through and a model gets wrong under noise, and whether another
measure would mark them without marking clean beats:

1. ``python -m benchmarks.measure.bench_noise ... --beats-out DIR`` writes,
   per noise and SNR, each record's noisy lead, the beats and every model's
   probabilities (the noise is that of ``bench_noise``: the first or second
   half of each noise record, scaled as ``nst`` does, over the whole record);
2. this script reads them, measures each beat (:func:`beat_measures`), and
   prints, at each SNR, the quartiles of the measures for the beats each
   model calls V wrongly, calls V rightly, misses as V, and calls N rightly
   (the diagnosis), then the candidates of :data:`CANDIDATES` against the
   gate as it is: the share of the scored beats left a class (coverage),
   accuracy, V Se and V +P per model, the 6 dB cells that meet the goal
   (accuracy >= 95 %, V Se and V +P >= 90 %) and the total shortfall from it;
3. with ``--mitdb`` / ``--svdb``, how many beats of the clean records each
   candidate marks that no reason of ``beat_reasons`` marks already.

Usage:
    python -m benchmarks.measure.bench_noise --records 106 116 203 208 215 223 --score-after 5 --snr 12 6 0 \\
        --models ecgnet-mitbih ecgnet-mitbih-interpatient ecgnet-mitbih-svdb --noises bw ma \\
        --noise-half first --beats-out runs/noise-gate-validation            # 706 s on 2 busy CPU cores
    python -m benchmarks.measure.bench_noise_gate runs/noise-gate-validation --mitdb DIR --svdb DIR \\
        --figure runs/noise-gate-validation/measures.png                      # minutes

(``--mitdb`` / ``--svdb`` default to ``$ECGNET_MITDB_DIR`` / ``$ECGNET_SVDB_DIR``.)
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from ecgnet import plausibility

MODEL_NAMES = ("ecgnet-mitbih", "ecgnet-mitbih-interpatient", "ecgnet-mitbih-svdb")
CONDITIONS = ("clean", "bw_12", "bw_6", "bw_0", "ma_12", "ma_6", "ma_0")
#: Beats on each side over which a beat's nearest look-alike is sought (:func:`neighbour_correlation`).
NEIGHBOURS = 50
#: Beats on each side of a beat over which a stretch's noise is taken (median, :func:`stretch_median`).
STRETCH_BEATS = 5
V = 2  # class index of V in ecgnet.data.CLASS_NAMES


def beat_windows(signal, fs, r_peaks, before=0.25, after=0.45):
    """Each beat's window (``before`` s to ``after`` s around the R peak, the last sample left out) of the lead
    band-passed 0.5-40 Hz: (n, steps); :func:`ecgnet.plausibility.beat_windows`, which includes both ends."""
    return plausibility.beat_windows(signal, fs, r_peaks, before, after)[:, :-1]


def neighbour_correlation(windows, neighbours=NEIGHBOURS):
    """Each beat's highest correlation with any other beat within ``neighbours`` beats of it (-1 with none).

    A beat of the record's usual shapes, N or V, has a look-alike near it
    (0.97 to 0.99 on clean records); a noise swing read as a beat has none.

    Args:
        windows: (n, steps) array, one beat per row (:func:`beat_windows`).
        neighbours: int, beats on each side.

    Returns:
        float64 (n,).
    """
    w = np.asarray(windows, np.float64)
    w = w - w.mean(axis=1, keepdims=True)
    w = w / (np.linalg.norm(w, axis=1, keepdims=True) + 1e-12)
    best = np.full(len(w), -1.0)
    for k in range(1, min(neighbours, len(w) - 1) + 1):
        c = np.einsum("ij,ij->i", w[k:], w[:-k])
        best[k:] = np.maximum(best[k:], c)
        best[:-k] = np.maximum(best[:-k], c)
    return best


def band_energy(signal, fs, r_peaks, band, half):
    """Mean square of the lead filtered to ``band`` (Hz; 0 low end: low-pass) within ``half`` s of each R peak."""
    from scipy.signal import butter, sosfiltfilt

    x = np.asarray(signal, np.float64)
    low, high = band
    if low <= 0:
        sos = butter(2, high, btype="low", fs=fs, output="sos")
    elif high >= 0.5 * fs:
        sos = butter(2, low, btype="high", fs=fs, output="sos")
    else:
        sos = butter(2, band, btype="band", fs=fs, output="sos")
    y = sosfiltfilt(sos, x)
    h = int(round(half * fs))
    index = np.clip(np.asarray(r_peaks)[:, None] + np.arange(-h, h + 1), 0, len(y) - 1)
    return (y[index] ** 2).mean(axis=1)


def stretch_median(values, records, beats=STRETCH_BEATS):
    """The median of ``values`` over each beat and the ``beats`` on either side of it, within its record."""
    from numpy.lib.stride_tricks import sliding_window_view

    values = np.asarray(values, np.float64)
    records = np.asarray(records)
    out = np.empty(len(values))
    for name in dict.fromkeys(records.tolist()):
        at = np.flatnonzero(records == name)
        v = values[at]
        padded = np.concatenate([np.repeat(v[:1], beats), v, np.repeat(v[-1:], beats)])
        out[at] = np.median(sliding_window_view(padded, 2 * beats + 1), axis=-1)
    return out


def beat_measures(signal, fs, r_peaks):
    """The measures of each beat of one record: dict of name -> float64 (n,) (``others``, ``gated``: 0 / 1).

    ``local_contrast`` and ``baseline_drift`` (the gate's), ``neighbour``
    (:func:`neighbour_correlation`), ``median_correlation`` (with the
    record's median beat), ``high_band`` (energy above 25 Hz within 0.3 s
    over the 5-15 Hz QRS energy within 0.1 s), ``gated`` (the gate marks
    it) and ``others`` (another reason of ``beat_reasons`` does).
    """
    x = np.asarray(signal, np.float64)
    r = np.asarray(r_peaks, np.int64)
    envelope = plausibility.qrs_envelope(x, fs)
    reasons = plausibility.beat_reasons(x, fs, r, envelope).astype(str)
    windows = beat_windows(x, fs, r)
    centred = windows - windows.mean(axis=1, keepdims=True)
    median = np.median(centred, axis=0)
    qrs = band_energy(x, fs, r, (5.0, 15.0), 0.1)
    return {
        "local_contrast": plausibility.local_contrast(x, fs, r, envelope),
        "baseline_drift": plausibility.baseline_drift(x, fs, r),
        "neighbour": neighbour_correlation(windows),
        "median_correlation": centred @ median / (np.linalg.norm(centred, axis=1) * np.linalg.norm(median) + 1e-12),
        "high_band": band_energy(x, fs, r, (25.0, 0.5 * fs), 0.3) / np.maximum(qrs, 1e-12),
        "gated": (np.char.find(reasons, plausibility.NOISY) >= 0).astype(float),
        "others": np.array([reason.replace(plausibility.NOISY, "").strip("; ") != "" for reason in reasons], float),
    }


def with_stretches(measures, records):
    """``measures`` plus the stretch medians of the gate's two measures (``stretch_contrast``, ``stretch_drift``)."""
    measures["stretch_contrast"] = stretch_median(measures["local_contrast"], records)
    measures["stretch_drift"] = stretch_median(measures["baseline_drift"], records)
    return measures


#: The candidates: which beats each marks as well as the gate (a function of :func:`beat_measures` plus stretches).
#: Fixed, with the rule that chooses among them, in docs/robustness.md ("The noise gate, second round").
CANDIDATES = {
    "gate as it is": lambda m: np.zeros(len(m["neighbour"]), bool),
    "A: no look-alike, noisy stretch": lambda m: (m["neighbour"] < 0.6) & ((m["stretch_contrast"] < 8) | (m["stretch_drift"] > 0.5)),
    "B: no look-alike, high band": lambda m: (m["neighbour"] < 0.6) & (m["high_band"] > 0.5),
    "C: unlike neighbours, drifting stretch": lambda m: (m["neighbour"] < 0.8) & (m["stretch_drift"] > 0.8),
}


def read_condition(folder, condition):
    """(beats of one bench_noise --beats-out file, their measures with stretches), or None if absent."""
    path = Path(folder) / f"{condition}.npz"
    if not path.is_file():
        return None
    data = dict(np.load(path))
    records = data["record"]
    measures = {}
    for name in dict.fromkeys(records.tolist()):
        at = records == name
        for key, value in beat_measures(data[f"signal_{name}"], 360.0, data["r_peak"][at]).items():
            measures.setdefault(key, np.zeros(len(records)))[at] = value
    return data, with_stretches(measures, records)


def cell(y, predicted):
    """(accuracy, V Se, V +P) of the beats given."""
    from ecgnet.metrics import evaluate_predictions

    report = evaluate_predictions(y, predicted)
    v = report["per_class"]["V"]
    return report["accuracy"], v["sensitivity"], v["positive_predictivity"]


def meets(accuracy, se, pp):
    return accuracy >= 0.95 and se >= 0.90 and pp >= 0.90


def shortfall(accuracy, se, pp):
    return max(0.0, 0.95 - accuracy) + max(0.0, 0.90 - se) + max(0.0, 0.90 - pp)


def diagnose(condition, data, measures, model_names):
    """Quartiles of the measures and of the confidence for the beats the gate lets through, by outcome."""
    y, kept = data["y"], data["scored"] & (measures["others"] == 0) & (measures["gated"] == 0)
    keys = ("local_contrast", "baseline_drift", "neighbour", "median_correlation", "high_band", "confidence")
    print(f"\n{condition}: {kept.sum()} of {data['scored'].sum()} scored beats left a class by the gate; "
          "quartiles (25 % / median / 75 %)")
    for m, name in enumerate(model_names):
        p = data["probabilities"][m]
        predicted, values = p.argmax(axis=1), dict(measures, confidence=p.max(axis=1))
        groups = {"called V, not V": kept & (predicted == V) & (y != V), "called V, V": kept & (predicted == V) & (y == V),
                  "V, missed": kept & (y == V) & (predicted != V), "N, called N": kept & (y == 0) & (predicted == 0)}
        print(f"  {name}")
        for group, at in groups.items():
            if at.any():
                print(f"    {group:16s} {at.sum():6d} " + "  ".join(
                    f"{key} {np.percentile(values[key][at], 25):.2f}/{np.median(values[key][at]):.2f}/"
                    f"{np.percentile(values[key][at], 75):.2f}" for key in keys))


def compare(conditions, model_names):
    """The candidates at each SNR: coverage and (accuracy, V Se, V +P) per model; cells met and shortfall at 6 dB."""
    totals = {name: [0, 0.0, []] for name in CANDIDATES}
    print("\ncandidates (figures in %; per model: accuracy, V Se, V +P)")
    for condition, (data, measures) in conditions.items():
        for name, marks in CANDIDATES.items():
            kept = data["scored"] & (measures["others"] == 0) & (measures["gated"] == 0) & ~marks(measures)
            cells = [cell(data["y"][kept], data["probabilities"][m][kept].argmax(axis=1)) for m in range(len(model_names))]
            coverage = kept.sum() / data["scored"].sum()
            if condition.endswith("_6"):
                totals[name][0] += sum(meets(*c) for c in cells)
                totals[name][1] += sum(shortfall(*c) for c in cells)
                totals[name][2].append(coverage)
            print(f"  {condition:6s} {name:40s} coverage {100 * coverage:5.1f} | "
                  + " | ".join(" ".join(f"{100 * v:5.1f}" for v in c) for c in cells))
    print("\nat 6 dB: cells meeting the goal, total shortfall from it (points), lowest coverage")
    for name, (met, short, coverages) in totals.items():
        print(f"  {name:40s} {met} of {len(coverages) * len(model_names)}  shortfall {100 * short:5.1f}  "
              f"coverage {100 * min(coverages, default=float('nan')):5.1f}")


#: Where a confidence floor is tried (a stretch the gate's measures call noisy): not gate candidates, since the gate reads
#: the signal before any model; they size what a floor on the model's confidence would give.
FLOOR_STRETCHES = {
    "stretch contrast < 8 or drift > 0.5": lambda m: (m["stretch_contrast"] < 8) | (m["stretch_drift"] > 0.5),
    "stretch drift > 0.8": lambda m: m["stretch_drift"] > 0.8,
}
FLOORS = (0.6, 0.7, 0.8)


def confidence_floors(conditions, model_names):
    """At 6 dB: the beats of a noisy stretch whose class a model gives with confidence under a floor lose it."""
    print("\nconfidence floors inside a noisy stretch, at 6 dB (model side, outside the rule): cells meeting the goal, "
          "total shortfall (points), lowest coverage of a model")
    for where, stretch in FLOOR_STRETCHES.items():
        for floor in FLOORS:
            met, short, coverages = 0, 0.0, []
            for condition in ("bw_6", "ma_6"):
                if condition not in conditions:
                    continue
                data, measures = conditions[condition]
                base = data["scored"] & (measures["others"] == 0) & (measures["gated"] == 0)
                for m in range(len(model_names)):
                    p = data["probabilities"][m]
                    kept = base & ~(stretch(measures) & (p.max(axis=1) < floor))
                    c = cell(data["y"][kept], p[kept].argmax(axis=1))
                    met, short = met + meets(*c), short + shortfall(*c)
                    coverages.append(kept.sum() / data["scored"].sum())
            print(f"  confidence under {floor:.1f}, {where:36s} {met} of {len(coverages)}  shortfall {100 * short:5.1f}  "
                  f"coverage {100 * min(coverages, default=float('nan')):5.1f}")


def _headers(folder):
    """The headers of the annotated records of ``folder``, svdb's held back from training left out (never read)."""
    from ecgnet.data.datasets import database_of, training_records

    annotated = [h for h in sorted(Path(folder).glob("*.hea")) if h.with_suffix(".atr").is_file()]
    kept = set(training_records([h.stem for h in annotated], database_of(folder), folder)[0])
    return [h for h in annotated if h.stem in kept]


def clean_marks(folder, database):
    """How many beats of a clean database each candidate marks that no reason of beat_reasons marks."""
    from benchmarks.measure.bench_plausibility import read

    parts = {}
    for header in _headers(folder):
        signal, fs, _, peaks = read(header.with_suffix(""))
        for key, value in beat_measures(signal, fs, peaks).items():
            parts.setdefault(key, []).append(value)
        parts.setdefault("record", []).append(np.full(len(peaks), header.stem))
    measures = {key: np.concatenate(value) for key, value in parts.items()}
    records = measures.pop("record")
    measures = with_stretches(measures, records)
    n = len(records)
    unmarked = (measures["others"] == 0) & (measures["gated"] == 0)
    gate = int(((measures["gated"] > 0) & (measures["others"] == 0)).sum())
    print(f"\n{database}: {n} beats, {len(set(records.tolist()))} records; the gate marks {gate} ({gate / n:.3%}) "
          "that no other reason marks")
    for name, marks in CANDIDATES.items():
        new = marks(measures) & unmarked
        by_record = dict(zip(*np.unique(records[new], return_counts=True)))
        print(f"  {name:40s} {new.sum():4d} more ({new.sum() / n:.3%}); with the gate {gate + new.sum()} "
              f"({(gate + new.sum()) / n:.3%}); by record {', '.join(f'{r} {c}' for r, c in by_record.items()) or '-'}")


def clean_floor_marks(folder, database, model_names):
    """How many beats of a clean database each confidence floor of :data:`FLOORS` would take a class from.

    Only the beats of a stretch that :data:`FLOOR_STRETCHES` calls noisy
    and that no reason of ``beat_reasons`` marks can be; the models are run
    on those beats alone (their inputs built from every beat of the record,
    as ``prepare`` cuts them).
    """
    from ecgnet.data import model_inputs
    from ecgnet.data.records import beats_from_signal, read_annotated_lead
    from ecgnet.pretrained_models import load_model

    models = [load_model(name) for name in model_names]
    counts = {(where, floor, name): 0 for where in FLOOR_STRETCHES for floor in FLOORS for name in model_names}
    candidates = {where: 0 for where in FLOOR_STRETCHES}
    n = 0
    for header in _headers(folder):
        signal, fs, peaks, labels = read_annotated_lead(header.with_suffix(""))
        measures = with_stretches(beat_measures(signal, fs, peaks), np.zeros(len(peaks)))
        unmarked = (measures["others"] == 0) & (measures["gated"] == 0)
        n += len(peaks)
        noisy = {where: stretch(measures) & unmarked for where, stretch in FLOOR_STRETCHES.items()}
        anywhere = np.logical_or.reduce(list(noisy.values()))
        if not anywhere.any():
            continue
        beats = beats_from_signal([signal], fs, peaks, labels, header.stem).beats  # a beat is cut only with its next R-R
        at_peak = np.searchsorted(peaks, beats.r_peak)
        chosen = anywhere[at_peak]
        for model, name in zip(models, model_names):
            confidence = np.ones(len(peaks))  # a beat that is not cut gets no class to lose
            if chosen.any():
                confidence[at_peak[chosen]] = model.predict(model_inputs(model, beats, chosen), verbose=0).max(axis=1)
            for where, at in noisy.items():
                for floor in FLOORS:
                    counts[(where, floor, name)] += int((at & (confidence < floor)).sum())
        for where, at in noisy.items():
            candidates[where] += int(at.sum())
    print(f"\n{database}: {n} beats; confidence floors inside a noisy stretch, beats that would lose their class "
          "(no other reason marks them)")
    for where in FLOOR_STRETCHES:
        print(f"  {where}: {candidates[where]} beats in such stretches ({candidates[where] / max(n, 1):.3%})")
        for floor in FLOORS:
            print(f"    confidence under {floor:.1f}: " + ", ".join(
                f"{name} {counts[(where, floor, name)]} ({counts[(where, floor, name)] / max(n, 1):.3%})"
                for name in model_names))


def figure(conditions, model_names, path):
    """Histograms of neighbour correlation, high band and confidence at 6 dB: beats called V wrongly against rightly."""
    import matplotlib.pyplot as plt

    from ecgnet.files import atomic_path

    shown = [c for c in ("bw_6", "ma_6") if c in conditions]
    fig, axes = plt.subplots(len(shown), 3, figsize=(12, 3.2 * len(shown)), squeeze=False)
    for row, condition in zip(axes, shown):
        data, measures = conditions[condition]
        y, kept = data["y"], data["scored"] & (measures["others"] == 0) & (measures["gated"] == 0)
        p = data["probabilities"][1]  # the model for new patients
        predicted = p.argmax(axis=1)
        values = {"neighbour correlation": measures["neighbour"], "high band / QRS band": np.log10(measures["high_band"] + 1e-4),
                  "confidence": p.max(axis=1)}
        for ax, (label, value) in zip(row, values.items()):
            for group, at in {"called V, not V": kept & (predicted == V) & (y != V), "called V, V": kept & (predicted == V) & (y == V),
                              "V, missed": kept & (y == V) & (predicted != V), "N, called N": kept & (y == 0) & (predicted == 0)}.items():
                ax.hist(value[at], bins=40, density=True, histtype="step", label=group)
            ax.set_title(f"{condition.replace('_', ' at ')} dB: {label}" + (" (log10)" if "band" in label else ""), fontsize=9)
        row[0].legend(fontsize=7)
    fig.suptitle(f"beats the gate leaves a class, {model_names[1]}")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("beats", type=Path, help="folder written by bench_noise --beats-out")
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES), help="the models of that run, in its order")
    parser.add_argument("--mitdb", default=os.environ.get("ECGNET_MITDB_DIR"), help="clean MIT-BIH records (marks counted)")
    parser.add_argument("--svdb", default=os.environ.get("ECGNET_SVDB_DIR"), help="clean svdb records (marks counted)")
    parser.add_argument("--figure", type=Path, default=None, help="also save histograms of the measures at 6 dB here")
    parser.add_argument("--floors-on-clean", action="store_true",
                        help="also run the models on the clean records' beats in noisy stretches: the confidence floors' marks")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    conditions = {c: found for c in CONDITIONS if (found := read_condition(args.beats, c)) is not None}
    if not conditions:
        parser.error(f"{args.beats}: no bench_noise --beats-out files ({', '.join(c + '.npz' for c in CONDITIONS)})")
    for condition in ("bw_6", "ma_6"):
        if condition in conditions:
            diagnose(condition, *conditions[condition], args.models)
    compare(conditions, args.models)
    confidence_floors(conditions, args.models)
    if args.figure is not None:
        figure(conditions, args.models, args.figure)
    for folder, database in ((args.mitdb, "mitdb"), (args.svdb, "svdb")):
        if folder:
            clean_marks(folder, database)
            if args.floors_on_clean:
                clean_floor_marks(folder, database, args.models)
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
