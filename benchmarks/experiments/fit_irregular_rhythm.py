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

``--fit-atrial`` (the DS1 records only): the threshold of
:func:`ecgnet.data.atrial.atrial_activity_repeats`
(:data:`ecgnet.data.atrial.ATRIAL_THRESHOLD`), from the lead's signal
and the beats' R peaks: among the beats the library's detector marks, for
each threshold of :data:`ATRIAL_THRESHOLDS`, the share of the marked beats
in AF/flutter whose stretch shows no repeating atrial activity (those a gate
on both keeps), plus the share of the marked S beats outside AF/flutter
whose stretch does (those it leaves alone); the highest sum is chosen (a
tie to the lowest threshold, which gates fewer beats). Also printed: the
measure alone on every DS1 beat (AF/flutter Se, other beats Sp), and per
record the beats marked, gated, and the S beats among them.

``--lead-repetition``: per record, the median
:func:`ecgnet.data.atrial.atrial_repetition` of the beats the detector
leaves unmarked: whether the lead shows a repeating P wave in its regular
stretches (no rhythm annotation read).

Without ``--fit``: the library's setting (its defaults) on ``--records``,
the same figures, once per record and pooled: how DS2 is read, once, as a
report, after the choice. ``--no-rhythm`` counts the beats marked in records
without rhythm annotations (svdb).

Usage:
    python -m benchmarks.experiments.fit_irregular_rhythm --records-dir data/mitdb --fit
    python -m benchmarks.experiments.fit_irregular_rhythm --records-dir data/mitdb --fit-prematurity
    python -m benchmarks.experiments.fit_irregular_rhythm --records-dir data/mitdb --fit-atrial
    python -m benchmarks.experiments.fit_irregular_rhythm --records-dir data/mitdb --records $DS2
    python -m benchmarks.experiments.fit_irregular_rhythm --records-dir data/svdb --no-rhythm
    python -m benchmarks.experiments.fit_irregular_rhythm --records-dir data/mitdb --records 101 106 ... 230 --lead-repetition
"""

import argparse
from pathlib import Path

import numpy as np

from ecgnet.data import DS1
from ecgnet.data.datasets import database_of, training_records

#: The settings tried by ``--fit``: (half_width, percentile).
GRID = ((16, 10.0), (16, 25.0), (32, 10.0), (32, 25.0))
#: The thresholds tried by ``--fit``.
THRESHOLDS = np.round(np.arange(0.005, 0.1501, 0.001), 3)
#: The ratios tried by ``--fit-prematurity``.
RATIOS = np.round(np.arange(0.1, 20.01, 0.1), 1)
#: The thresholds tried by ``--fit-atrial``.
ATRIAL_THRESHOLDS = np.round(np.arange(0.0, 1.0001, 0.01), 2)
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


def record_atrial(path, times):
    """The atrial activity around each of a record's AAMI beats (ecgnet.data.atrial.atrial_repetition).

    From the lead the beats are cut from and the beats' R peaks (the last
    annotated beat, which has no beat after it, left out as the beats leave it).
    """
    from ecgnet.data.atrial import atrial_repetition
    from ecgnet.data.records import read_annotated_lead

    signal, fs, peaks, _ = read_annotated_lead(path)
    peaks = peaks[: len(times)]
    if not np.allclose(peaks / fs, times):
        raise SystemExit(f"{path}: the lead's R peaks and the beats' times differ")
    return atrial_repetition(signal, fs, peaks)


def counts(marked, in_af, labels):
    return np.array([np.sum(marked & in_af), np.sum(in_af), np.sum(~marked & ~in_af), np.sum(~in_af),
                     np.sum(marked & ~in_af & (labels == 1)), np.sum(~in_af & (labels == 1)),
                     np.sum(marked & in_af & (labels == 1)), np.sum(in_af & (labels == 1))])


def line(name, c):
    return (f"{name:28s} Se {100 * c[0] / max(c[1], 1):5.1f} ({c[0]}/{c[1]})  Sp {100 * c[2] / max(c[3], 1):6.2f} "
            f"({c[2]}/{c[3]})  S beats outside AF marked {c[4]}/{c[5]}, inside AF marked {c[6]}/{c[7]}")


def say_library_value(what, name, value, chosen, digits):
    """Print the library's constant ``name`` and whether this fit chose the same value (to ``digits``)."""
    same = round(float(chosen), digits) == value
    print(f"the library's {what} ({name}): {value}{'' if same else ', not the one chosen here'}")


def main(argv=None):
    from ecgnet.data.features import irregular_rhythm, rr_irregularity, rr_prematurity

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records-dir", required=True)
    parser.add_argument("--records", nargs="*", help="record names (default: DS1 with --fit, else every record)")
    parser.add_argument("--fit", action="store_true", help="choose the setting and threshold on these records (DS1 only)")
    parser.add_argument("--fit-prematurity", action="store_true",
                        help="choose the ratio of irregular_rhythm's premature_ratio on these records (DS1 only)")
    parser.add_argument("--fit-atrial", action="store_true",
                        help="choose the threshold of ecgnet.data.atrial.atrial_activity_repeats on these records (DS1 only)")
    parser.add_argument("--atrial", action="store_true",
                        help="with --no-rhythm or on records with rhythm annotations: also the marked beats whose "
                        "atrial activity does not repeat (the library's threshold)")
    parser.add_argument("--no-rhythm", action="store_true", help="count the beats marked (records without rhythm annotations)")
    parser.add_argument("--lead-repetition", action="store_true",
                        help="per record, the median atrial repetition of the beats the detector leaves unmarked "
                        "(whether the lead shows a repeating P wave in its regular stretches; no rhythm annotation read)")
    args = parser.parse_args(argv)
    folder = Path(args.records_dir)
    fitting = args.fit or args.fit_prematurity or args.fit_atrial
    # every record of the folder, but svdb's held back from training: no choice may be made on them
    records = args.records or (list(DS1) if fitting else training_records(
        sorted(p.stem for p in folder.glob("*.atr")), database_of(folder), folder)[0])
    if fitting and not set(records) <= set(DS1):
        parser.error(f"--fit reads DS1 records only; not: {sorted(set(records) - set(DS1))}")
    found = {record: record_rhythm(folder / record) for record in records}
    if args.lead_repetition:
        from ecgnet.data.atrial import ATRIAL_THRESHOLD

        for record, (times, labels, _) in found.items():
            marked = irregular_rhythm(times)
            repetition = record_atrial(folder / record, times)
            regular = repetition[~marked]
            median = float(np.nanmedian(regular)) if np.isfinite(regular).any() else float("nan")
            print(f"{record}: median repetition of the {int((~marked).sum())} unmarked beats {median:.2f} "
                  f"({'at or above' if median >= ATRIAL_THRESHOLD else 'below'} {ATRIAL_THRESHOLD}); "
                  f"of the {int(marked.sum())} marked {np.nanmedian(repetition[marked]) if marked.any() else float('nan'):.2f}")
        return
    if args.no_rhythm:
        from ecgnet.data.atrial import ATRIAL_THRESHOLD

        total = marked_total = gated_total = gated_s = 0
        for record, (times, labels, _) in found.items():
            marked = irregular_rhythm(times)
            total, marked_total = total + len(times), marked_total + int(marked.sum())
            atrial = ""
            if args.atrial:
                gated = marked & (record_atrial(folder / record, times) < ATRIAL_THRESHOLD)
                gated_total, gated_s = gated_total + int(gated.sum()), gated_s + int((gated & (labels == 1)).sum())
                atrial = (f"; with no repeating atrial activity {int(gated.sum())}, S beats among them "
                          f"{int((gated & (labels == 1)).sum())}")
            print(f"{record}: {int(marked.sum())} of {len(times)} beats marked; S beats marked "
                  f"{int((marked & (labels == 1)).sum())} of {int((labels == 1).sum())}{atrial}")
        print(f"all {len(records)} records: {marked_total} of {total} beats marked ({100 * marked_total / max(total, 1):.2f} %)"
              + (f"; with no repeating atrial activity {gated_total}, S beats among them {gated_s}" if args.atrial else ""))
        return
    missing = [record for record, (_, _, in_af) in found.items() if in_af is None]
    if missing:
        parser.error(f"no rhythm annotations in {', '.join(missing)} (--no-rhythm counts the beats marked)")
    if args.fit_atrial:
        from ecgnet.data.atrial import ATRIAL_THRESHOLD

        repetition = {record: record_atrial(folder / record, times) for record, (times, _, _) in found.items()}
        marks = {record: irregular_rhythm(times) for record, (times, _, _) in found.items()}
        value = np.concatenate([repetition[r] for r in records])
        marked = np.concatenate([marks[r] for r in records])
        in_af = np.concatenate([found[r][2] for r in records])
        labels = np.concatenate([found[r][1] for r in records])
        af, s_outside = marked & in_af, marked & ~in_af & (labels == 1)
        best = None
        for threshold in ATRIAL_THRESHOLDS:
            gated = marked & (value < threshold)  # NaN: cannot be read, never gated
            score = gated[af].mean() + (~gated[s_outside]).mean()
            if best is None or score > best[0]:
                best = (score, threshold)
        threshold = best[1]
        gated = marked & (value < threshold)
        alone = value < threshold
        print(f"marked beats: {af.sum()} in AF/flutter, {s_outside.sum()} S outside it, "
              f"{(marked & in_af & (labels == 1)).sum()} S inside it, {(marked & ~in_af).sum()} outside it in all")
        print(f"chosen threshold {threshold:.2f}: marked AF/flutter beats gated {100 * gated[af].mean():.1f} % "
              f"({gated[af].sum()}/{af.sum()}), marked S beats outside AF/flutter left alone "
              f"{100 * (~gated[s_outside]).mean():.1f} % ({(~gated[s_outside]).sum()}/{s_outside.sum()}), "
              f"S beats inside it gated {(gated & in_af & (labels == 1)).sum()}/{(marked & in_af & (labels == 1)).sum()}, "
              f"marked beats outside AF/flutter gated {(gated & ~in_af).sum()}/{(marked & ~in_af).sum()}")
        print(f"the measure alone, every DS1 beat: AF/flutter Se {100 * alone[in_af].mean():.1f} % "
              f"({alone[in_af].sum()}/{in_af.sum()}), other beats Sp {100 * (~alone[~in_af]).mean():.2f} % "
              f"({(~alone[~in_af]).sum()}/{(~in_af).sum()}), S beats outside AF/flutter below it "
              f"{(alone & ~in_af & (labels == 1)).sum()}/{(~in_af & (labels == 1)).sum()}")
        for record in records:
            times, own_labels, own_af = found[record]
            own = marks[record] & (repetition[record] < threshold)
            if marks[record].any():
                print(f"  {record}: marked {marks[record].sum()}, gated {own.sum()} (AF/flutter {(own & own_af).sum()} "
                      f"of {(marks[record] & own_af).sum()}); S outside AF/flutter marked "
                      f"{(marks[record] & ~own_af & (own_labels == 1)).sum()}, gated {(own & ~own_af & (own_labels == 1)).sum()}; "
                      f"median repetition in AF/flutter {np.nanmedian(repetition[record][own_af]) if own_af.any() else float('nan'):.2f}, "
                      f"outside {np.nanmedian(repetition[record][~own_af]):.2f}")
        say_library_value("threshold", "ecgnet.data.atrial.ATRIAL_THRESHOLD", ATRIAL_THRESHOLD, threshold, 2)
        return
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
        say_library_value("ratio", "ecgnet.data.features.IRREGULAR_PREMATURITY_RATIO", IRREGULAR_PREMATURITY_RATIO, ratio, 1)
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
