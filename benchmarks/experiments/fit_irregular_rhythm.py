"""Fit the irregular-rhythm detector (ecgnet.data.features.irregular_rhythm) on DS1's rhythm annotations.

A beat is "in atrial fibrillation or flutter" when the last rhythm
annotation (``aux_note`` of a ``+`` annotation in the record's ``.atr``) at
or before its R peak is ``(AFIB`` or ``(AFL``. The beats are those the
patient-adaptive benchmark scores: the reference annotations in the AAMI
classes (``beats_from_record(aami_only=True)``), their times read by the
detector (beat times only, no label).

``--fit`` (the DS1 records only): for each setting of :data:`GRID`
(``half_width``, ``percentile``; lags 1, 2, 3) and each threshold of
:data:`THRESHOLDS`, the beat-wise sensitivity (AF beats marked) and
specificity (other beats not marked) pooled over the records; the chosen
setting and threshold are those of the highest Se + Sp (a tie to the
first). Also printed: how many S beats outside AF/flutter each marks (the
beats the S gate would wrongly move to N).

``--fit-prematurity`` (the DS1 records only): among the beats the
library's detector marks, the ratio ``k`` of ``premature_ratio`` (a marked
beat stays marked only if its prematurity is below ``k`` times its
irregularity; :data:`ecgnet.data.features.IRREGULAR_PREMATURITY_RATIO`):
for each ``k`` of :data:`RATIOS`, the share of the marked beats in AF/flutter
that come early (prematurity above 0: those an S call could fall on) kept
marked, plus the share of the marked S beats outside AF/flutter left
unmarked; the highest sum is chosen (a tie to the smallest ``k``).

Without ``--fit``: the library's setting (its defaults) on ``--records``,
the same figures, once per record and pooled: how DS2 is read, once, as a
report, after the choice. ``--no-rhythm`` counts the beats marked in records
without rhythm annotations (svdb).

Usage:
    python -m benchmarks.experiments.fit_irregular_rhythm --records-dir data/mitdb --fit
    python -m benchmarks.experiments.fit_irregular_rhythm --records-dir data/mitdb --fit-prematurity
    python -m benchmarks.experiments.fit_irregular_rhythm --records-dir data/mitdb --records $DS2
    python -m benchmarks.experiments.fit_irregular_rhythm --records-dir data/svdb --no-rhythm
"""

import argparse
from pathlib import Path

import numpy as np

from ecgnet.data import DS1

#: The settings tried by ``--fit``: (half_width, percentile).
GRID = ((16, 10.0), (16, 25.0), (32, 10.0), (32, 25.0))
#: The thresholds tried by ``--fit``.
THRESHOLDS = np.round(np.arange(0.005, 0.1501, 0.001), 3)
#: The ratios tried by ``--fit-prematurity``.
RATIOS = np.round(np.arange(0.1, 20.01, 0.1), 1)
AF_RHYTHMS = ("(AFIB", "(AFL")


def record_rhythm(path):
    """``(times, labels, in_af)`` of a record's AAMI beats; ``in_af`` None without rhythm annotations."""
    import wfdb

    from ecgnet.data.records import beats_from_record

    beats, _, times = beats_from_record(path, aami_only=True)
    annotation = wfdb.rdann(str(path), "atr")
    fs = float(wfdb.rdheader(str(path)).fs)
    changes = [(sample / fs, note.strip("\x00").strip()) for sample, symbol, note
               in zip(annotation.sample, annotation.symbol, annotation.aux_note) if symbol == "+" and note.strip("\x00").strip()]
    if not changes:
        return np.asarray(times), beats.y.astype(np.int64), None
    starts = np.array([time for time, _ in changes])
    rhythm = np.array([note for _, note in changes])
    index = np.searchsorted(starts, np.asarray(times) + 1e-9, side="right") - 1
    in_af = (index >= 0) & np.isin(rhythm[np.maximum(index, 0)], AF_RHYTHMS)
    return np.asarray(times), beats.y.astype(np.int64), in_af


def counts(marked, in_af, labels):
    return np.array([np.sum(marked & in_af), np.sum(in_af), np.sum(~marked & ~in_af), np.sum(~in_af),
                     np.sum(marked & ~in_af & (labels == 1)), np.sum(~in_af & (labels == 1)),
                     np.sum(marked & in_af & (labels == 1)), np.sum(in_af & (labels == 1))])


def line(name, c):
    return (f"{name:28s} Se {100 * c[0] / max(c[1], 1):5.1f} ({c[0]}/{c[1]})  Sp {100 * c[2] / max(c[3], 1):6.2f} "
            f"({c[2]}/{c[3]})  S beats outside AF marked {c[4]}/{c[5]}, inside AF marked {c[6]}/{c[7]}")


def main(argv=None):
    from ecgnet.data.features import irregular_rhythm, rr_irregularity, rr_prematurity

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records-dir", required=True)
    parser.add_argument("--records", nargs="*", help="record names (default: DS1 with --fit, else every record)")
    parser.add_argument("--fit", action="store_true", help="choose the setting and threshold on these records (DS1 only)")
    parser.add_argument("--fit-prematurity", action="store_true",
                        help="choose the ratio of irregular_rhythm's premature_ratio on these records (DS1 only)")
    parser.add_argument("--no-rhythm", action="store_true", help="count the beats marked (records without rhythm annotations)")
    args = parser.parse_args(argv)
    folder = Path(args.records_dir)
    fitting = args.fit or args.fit_prematurity
    records = args.records or (list(DS1) if fitting else sorted(p.stem for p in folder.glob("*.atr")))
    if fitting and not set(records) <= set(DS1):
        parser.error(f"--fit reads DS1 records only; not: {sorted(set(records) - set(DS1))}")
    found = {record: record_rhythm(folder / record) for record in records}
    if args.no_rhythm:
        total = marked_total = 0
        for record, (times, labels, _) in found.items():
            marked = irregular_rhythm(times)
            total, marked_total = total + len(times), marked_total + int(marked.sum())
            print(f"{record}: {int(marked.sum())} of {len(times)} beats marked; S beats marked "
                  f"{int((marked & (labels == 1)).sum())} of {int((labels == 1).sum())}")
        print(f"all {len(records)} records: {marked_total} of {total} beats marked ({100 * marked_total / max(total, 1):.2f} %)")
        return
    missing = [record for record, (_, _, in_af) in found.items() if in_af is None]
    if missing:
        parser.error(f"no rhythm annotations in {', '.join(missing)} (--no-rhythm counts the beats marked)")
    if args.fit_prematurity:
        from ecgnet.data.features import IRREGULAR_PREMATURITY_RATIO

        z, early_af, s_outside, s_inside = [], [], [], []
        for times, labels, in_af in found.values():
            marked = irregular_rhythm(times)
            premature = rr_prematurity(times)[marked]
            z.append(premature / np.maximum(rr_irregularity(times)[marked], 1e-12))
            early_af.append(in_af[marked] & (premature > 0))
            s_outside.append(~in_af[marked] & (labels[marked] == 1))
            s_inside.append(in_af[marked] & (labels[marked] == 1))
        z, early_af, s_outside, s_inside = map(np.concatenate, (z, early_af, s_outside, s_inside))
        best = None
        for ratio in RATIOS:
            kept = z < ratio
            value = kept[early_af].mean() + (~kept[s_outside]).mean()
            if best is None or value > best[0]:
                best = (value, ratio, kept)
        _, ratio, kept = best
        print(f"marked beats: {early_af.sum()} early in AF/flutter, {s_outside.sum()} S outside it, {s_inside.sum()} S inside it")
        print(f"chosen ratio {ratio:.1f}: early AF/flutter beats kept marked {100 * kept[early_af].mean():.1f} % "
              f"({kept[early_af].sum()}/{early_af.sum()}), S beats outside AF/flutter unmarked "
              f"{100 * (~kept[s_outside]).mean():.1f} % ({(~kept[s_outside]).sum()}/{s_outside.sum()}), "
              f"S beats inside it kept marked {kept[s_inside].sum()}/{s_inside.sum()}")
        same = round(float(ratio), 1) == IRREGULAR_PREMATURITY_RATIO
        print(f"the library's ratio (ecgnet.data.features.IRREGULAR_PREMATURITY_RATIO): {IRREGULAR_PREMATURITY_RATIO}"
              f"{'' if same else ', not the one chosen here'}")
        return
    if args.fit:
        best = None
        for half_width, percentile in GRID:
            values = {r: rr_irregularity(t, half_width=half_width, percentile=percentile) for r, (t, _, _) in found.items()}
            own = None  # this setting's best threshold
            for threshold in THRESHOLDS:
                c = sum(counts(values[r] > threshold, found[r][2], found[r][1]) for r in records)
                youden = c[0] / c[1] + c[2] / c[3]
                if own is None or youden > own[0]:
                    own = (youden, half_width, percentile, threshold, c)
            print(line(f"h {half_width} p {percentile:g} > {own[3]:.3f}", own[4]))
            if best is None or own[0] > best[0]:
                best = own
        _, half_width, percentile, threshold, c = best
        print(f"\nchosen (highest Se + Sp): half_width {half_width}, percentile {percentile:g}, threshold {threshold:.3f}")
        print(line("DS1, pooled", c))
        from ecgnet.data import features

        library = (features.IRREGULAR_HALF_WIDTH, features.IRREGULAR_PERCENTILE, features.IRREGULAR_THRESHOLD)
        same = library == (half_width, percentile, round(float(threshold), 3))
        print(f"the library's setting (ecgnet.data.features.IRREGULAR_*): {library}{'' if same else ', not the one chosen here'}")
        return
    total = np.zeros(8, np.int64)
    for record, (times, labels, in_af) in found.items():
        c = counts(irregular_rhythm(times), in_af, labels)
        total += c
        print(line(record, c))
    print(line("pooled", total))


if __name__ == "__main__":
    main()
