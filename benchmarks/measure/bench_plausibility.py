"""Measure the plausibility checks (ecgnet.plausibility) before trusting their thresholds.

On the 48 clean MIT-BIH records (lead MLII, reference beat annotations) it
reports how many beats each per-beat check marks and whether any record gets
a verdict; then what the checks say about inputs that are not what they
claim: the noise records of the MIT-BIH Noise Stress Test Database (``bw``,
``ma``) with real annotations, Gaussian noise, a sine wave and random bytes
with real annotations, a record with another record's annotations, an
inverted lead, the V1 lead, a header claiming twice or half the sampling
rate, annotations 0.05, 0.1, 0.2 or 0.5 s or one R-R interval late (100,
and 208, 119 and 232), the annotations of records 119, 208, 203 and 106
without their V beats, a clean record with muscle noise added at 12, 6, 0
and -6 dB, 40 s of record 208 under white noise at -1 dB, and
records with minutes 10 to 15 reversed. Each database's records are also
read at twice and half their sampling rate (what the sampling-rate check
says). Then the svdb records (128 Hz), if given.

Usage:
    python -m benchmarks.measure.bench_plausibility --mitdb DIR [--svdb DIR] [--nstdb DIR]
    python -m benchmarks.measure.bench_plausibility --windows 40 10    # the clean records in stretches of 40 and 10 s
    python -m benchmarks.measure.bench_plausibility --hostile-windows 10   # DS1 stretches: clean, thinned, foreign, late

(the folders default to $ECGNET_MITDB_DIR, $ECGNET_SVDB_DIR, $ECGNET_NSTDB_DIR).

Measured (2 busy CPU cores, 302 s; the thresholds of ecgnet.plausibility
were set from this run, the full output is in docs/robustness.md):

- mitdb, 48 records, 109,494 beats: "not QRS-like" 102 beats (0.093 %), at
  most 33 in one record (203); "too noisy" 148 (89 not also not QRS-like,
  0.081 %); "polarity flipped" 96 (0.088 %, all in 207); R peak more than
  0.1 s from its QRS top: 106 (0.097 %); lowest share of beats on their QRS
  in a record 97.0 %; heart rates 50..112; rate index 18.9..111.6, no
  record said to have a wrong sampling rate; verdicts only on the V5 lead
  of 102 and 104 and the polarity of 207.
- at twice the true sampling rate 35 of the 48 mitdb records are said to be
  at twice it (20 by the mains line), at half 33 are said to be at half.
- the spread of the R peaks' offsets from their QRS (offset_spread): 0 to
  0.025 s by record (222); annotations one R-R interval late: 0.058 s on
  208, 0.053 s on 119, "annotations off the QRS"; 0.025 s on 100 and
  0.022 s on 232 (regular rhythms: not found).
- long intervals (over 1.5 x the median R-R) holding a QRS of their own:
  at most 0.38 % of a clean record's (207; svdb 2.72 %, 865, 0.07 % where
  the median contrast is 10 or more); 119 without its V beats 29 %, 106
  23 %: "annotations miss beats"; 208 and 203 without them stay under 15 %.
- svdb, 39 records at 128 Hz, 96,971 beats: "not QRS-like" 1,033 (1.07 %),
  718 of them in 848 and 259 in 865; no verdict; spread at most 0.016 s
  (848); at twice its rate 23 of 39 found, at half 24.
- with record 100's annotations: Gaussian noise 87 %, sine 99.9 %, random
  bytes 89 %, nstdb bw 69 %, ma 54 % of the beats "not QRS-like", verdict
  "no QRS complexes"; record 100 with 101's annotations: 25 % on their QRS,
  "annotations off the QRS"; 100 inverted: "inverted polarity"; 101's V1
  lead: named; 118 with muscle noise at 12 / 6 / 0 dB: 0 / 1 / 59 beats
  not QRS-like, no verdict; at -6 dB "mostly implausible: too noisy to
  read" (38 % on their QRS, and no QRS within 0.4 s stands out: median
  contrast 4.0); 100 with a header claiming 720 Hz: "sampling
  rate", 180 Hz: "sampling rate" (its heart rate, 38); minutes 10 to 15 reversed: all their beats
  "polarity flipped" in 100, 119, 207, 60 % to 69 % in 203, 208, 217, none
  in 108.
- ``--hostile-windows 10 40`` (28 s): of the 10-s stretches of the first 10
  minutes of the DS1 records, 1 of 1,317 clean ones is refused, and 98.9 %
  to 99.2 % of those with thinned, another record's or 0.1 s late
  annotations, holding a median of 7 to 13 annotated beats (99 % to 100 %
  under 20); of the 40-s stretches none of 330 clean ones, 99.1 % to 100 %
  of the others (median 27 to 52 beats).
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from ecgnet import plausibility
from ecgnet.data.records import BEAT_SYMBOLS, LEAD_PREFERENCE


def read(path, lead=None):
    """(signal of the preferred lead or ``lead``, fs, lead name, annotated beat samples) of a WFDB record."""
    import wfdb

    header = wfdb.rdheader(str(path))
    names = list(header.sig_name)
    if lead is None:
        lead = next((name for name in LEAD_PREFERENCE if name in names), names[0])
    record = wfdb.rdrecord(str(path), channels=[names.index(lead)])
    peaks = np.zeros(0, np.int64)
    if Path(f"{path}.atr").is_file():
        ann = wfdb.rdann(str(path), "atr")
        keep = np.isin(np.asarray(ann.symbol), list(BEAT_SYMBOLS))
        peaks = ann.sample[keep].astype(np.int64)
        peaks = peaks[(peaks >= 0) & (peaks < record.sig_len)]
    return record.p_signal[:, 0], float(record.fs), lead, peaks


def symbols(path, length):
    """The beat symbols of a record's annotations, in the order of ``read``'s R peaks."""
    import wfdb

    ann = wfdb.rdann(str(path), "atr")
    keep = np.isin(np.asarray(ann.symbol), list(BEAT_SYMBOLS)) & (ann.sample >= 0) & (ann.sample < length)
    return np.asarray(ann.symbol)[keep]


def summary(name, found, n_beats):
    marked = np.char.find(found.reasons.astype(str), "not QRS-like") >= 0
    past = np.char.find(found.reasons.astype(str), "window past the end") >= 0
    return (f"{name:34s} beats {n_beats:6d}  not-QRS-like {marked.sum():6d} ({marked.mean():7.2%})  past-end {past.sum():2d}  "
            f"contrast p0.1 {np.percentile(found.contrast, 0.1):8.1f} median {np.median(found.contrast):9.1f}  "
            f"agreement {found.agreement:6.1%}  HR {found.heart_rate:5.0f}  up {found.upward:5.1%}  "
            f"verdict: {' | '.join(v.split(':')[0] for v in found.verdict) or '-'}")


def clean_database(folder, label):
    from ecgnet.data.datasets import database_of, training_records
    from ecgnet.data.records import list_records

    names = training_records(list_records(folder), database_of(folder), folder)[0]  # svdb's held-back records unread
    total = marked = past = off = flips = noisy = noisy_only = 0
    contrasts, verdicts, worst, medians, flipped_in, indices = [], [], [], [], [], []
    shifts, missed, spreads, long_missed = [], [], [], []  # per record: median qrs_offset (s); share of intervals holding an
    # unannotated QRS; offset_spread (s)
    rates = {1.0: [], 2.0: [], 0.5: []}  # rate given / true rate -> the factor sampling_rate_factor finds
    for name in names:
        signal, fs, lead, peaks = read(Path(folder) / name)
        found = plausibility.check_record(signal, fs, peaks, lead=lead)
        not_qrs = np.char.find(found.reasons.astype(str), "not QRS-like") >= 0
        total += len(peaks)
        marked += int(not_qrs.sum())
        past += int((np.char.find(found.reasons.astype(str), "window past the end") >= 0).sum())
        contrasts.append(found.contrast)
        medians.append((float(np.median(found.contrast)), name))
        offsets = plausibility.qrs_offset(signal, fs, peaks)
        off += int((np.abs(offsets) > plausibility.SEARCH_SECONDS).sum())
        shifts.append((float(np.median(offsets)), name))
        spreads.append((plausibility.offset_spread(signal, fs, peaks), name))
        missed.append((float(np.mean(plausibility.unannotated_qrs(signal, fs, peaks) > plausibility.MISSED_RATIO)), name))
        long_missed.append((float(np.mean(plausibility.long_unannotated_qrs(signal, fs, peaks))),
                            name, float(np.median(found.contrast))))
        gated = np.char.find(found.reasons.astype(str), plausibility.NOISY) >= 0
        noisy += int(gated.sum())
        noisy_only += int((gated & ~not_qrs).sum())
        flipped = int((np.char.find(found.reasons.astype(str), "polarity flipped") >= 0).sum())
        flips += flipped
        if flipped:
            flipped_in.append(f"{name} ({flipped})")
        for given in rates:
            factor, evidence = plausibility.sampling_rate_factor(signal, fs * given, peaks)
            rates[given].append((factor, name, evidence))
        indices.append((plausibility.rate_index(signal, fs, peaks)[0], name))
        worst.append((int(not_qrs.sum()), name, found.agreement, found.heart_rate, found.upward))
        if found.verdict:
            verdicts.append(f"{name}: {found.verdict}")
    contrasts = np.concatenate(contrasts)
    print(f"\n{label}: {len(names)} records, {total} annotated beats")
    print(f"  not QRS-like: {marked} beats ({marked / total:.3%}); window past the end: {past} beats (the last of a record)")
    print(f"  R peak more than {plausibility.SEARCH_SECONDS} s from the top of its QRS energy: {off} beats ({off / total:.3%})")
    print(f"  median offset of the R peaks from the top of their QRS energy, by record: {min(shifts)[0]:+.3f} s "
          f"({min(shifts)[1]}) .. {max(shifts)[0]:+.3f} s ({max(shifts)[1]}); shifted beyond "
          f"{plausibility.SHIFTED_SECONDS} s")
    print(f"  spread of the offsets (median absolute deviation), by record: {min(spreads)[0]:.3f} s ({min(spreads)[1]}) "
          f".. {max(spreads)[0]:.3f} s ({max(spreads)[1]}); off the QRS beyond {plausibility.SPREAD_SECONDS} s")
    print(f"  intervals holding a QRS of their own (over {plausibility.MISSED_RATIO} of the beats'), by record: "
          f"up to {max(missed)[0]:.2%} ({max(missed)[1]}); {sum(m > 0 for m, _ in missed)} records above 0; "
          f"annotations miss beats over {plausibility.MISSED_SHARE:.0%} (where the median contrast is at least "
          f"{plausibility.MISSED_MIN_CONTRAST:g})")
    read_at = [(share, name) for share, name, contrast in long_missed if contrast >= plausibility.MISSED_MIN_CONTRAST]
    print(f"  long intervals (over {plausibility.LONG_INTERVAL:g} x the median R-R) holding a QRS of their own, by "
          f"record: up to {max(long_missed)[0]:.2%} ({max(long_missed)[1]}); where the median contrast is at least "
          f"{plausibility.MISSED_MIN_CONTRAST:g}: up to {max(read_at)[0]:.2%} ({max(read_at)[1]}); annotations miss "
          f"beats over {plausibility.LONG_MISSED_SHARE:.0%}")
    print(f"  lowest median contrast of a record: {min(medians)[0]:.1f} ({min(medians)[1]})")
    print(f"  contrast quantiles: min {contrasts.min():.2f}, 0.01% {np.percentile(contrasts, 0.01):.2f}, "
          f"0.1% {np.percentile(contrasts, 0.1):.2f}, 1% {np.percentile(contrasts, 1):.2f}, median {np.median(contrasts):.0f}")
    print("  records with the most marked beats (marked, record, agreement, heart rate, share of upward QRS):")
    for count, name, agreement, rate, up in sorted(worst, reverse=True)[:5]:
        print(f"    {name:>6s} {count:5d}  agreement {agreement:6.1%}  HR {rate:4.0f}  up {up:6.1%}")
    print(f"  lowest agreement (beats on their QRS): {min(w[2] for w in worst):.1%}; heart rates {min(w[3] for w in worst):.0f}"
          f"..{max(w[3] for w in worst):.0f}; lowest share of upward QRS: "
          f"{min(w[4] for w in worst):.1%} ({min(worst, key=lambda w: w[4])[1]})")
    print(f"  {plausibility.NOISY} (local contrast under {plausibility.GATE_CONTRAST:g} or baseline drift over "
          f"{plausibility.GATE_DRIFT:g}): {noisy} beats ({noisy / total:.3%}), {noisy_only} of them not also not QRS-like "
          f"({noisy_only / total:.3%})")
    print(f"  polarity flipped: {flips} beats ({flips / total:.3%}), in {', '.join(flipped_in) or 'no record'}")
    print(f"  rate index (heart rate / QRS width, 1/s^2): {min(indices)[0]:.1f} ({min(indices)[1]}) .. "
          f"{max(indices)[0]:.1f} ({max(indices)[1]}); range {plausibility.RATE_INDEX_RANGE}")
    for given, found_rates in rates.items():
        factors = np.array([f for f, _, _ in found_rates])
        by_line = sum(e.startswith("a mains line") for f, _, e in found_rates if f != 1.0)
        print(f"  header claims {given:g} x the true rate: said twice {np.sum(factors == 2)}, half {np.sum(factors == 0.5)}, "
              f"right {np.sum(factors == 1)} of {len(factors)} (by the mains line: {by_line})"
              + (f"; flagged: {', '.join(n for f, n, _ in found_rates if f != 1.0) or 'none'}" if given == 1.0 else ""))
    print(f"  records with a verdict: {len(verdicts)}")
    for line in verdicts:
        print("    " + line)


def _moved(peaks, samples, length):
    """R peaks moved by ``samples`` (rounded), those left inside a signal of ``length`` samples."""
    moved = peaks + int(round(samples))
    return moved[(moved >= 0) & (moved < length)]


def not_what_they_claim(mitdb, nstdb):
    from ecgnet.quality import add_noise

    rng = np.random.default_rng(0)
    signal, fs, lead, peaks = read(Path(mitdb) / "100")
    n = len(signal)
    print("\nInputs that are not what they claim (annotations of record 100 unless said):")
    cases = {
        "Gaussian noise": (rng.normal(0, 0.2, n), fs, peaks, lead),
        "sine 1.2 Hz": (np.sin(2 * np.pi * 1.2 * np.arange(n) / fs), fs, peaks, lead),
        "random bytes as format 212": ((rng.integers(-2048, 2048, n) / 200.0), fs, peaks, lead),
        "100 with the annotations of 101": (signal, fs, read(Path(mitdb) / "101")[3], lead),
        "100 with its annotations 0.2 s late": (signal, fs, peaks + int(0.2 * fs), lead),
        "100 with its annotations 0.1 s late": (signal, fs, peaks + int(0.1 * fs), lead),
        "100 with its annotations 0.05 s late": (signal, fs, peaks + int(0.05 * fs), lead),
        "100 with its annotations 0.5 s late": (signal, fs, peaks + int(0.5 * fs), lead),
        "100 with every other annotation": (signal, fs, peaks[::2], lead),
        "100 with its annotations one R-R late": (signal, fs, _moved(peaks, np.median(np.diff(peaks)), n), lead),
        "100 reversed in time": (signal[::-1].copy(), fs, peaks, lead),
        "100, lead named 'mlii'": (signal, fs, peaks, "mlii"),
        "100, no lead name": (signal, fs, peaks, ""),
        "100 inverted": (-signal, fs, peaks, lead),
        "100, header claims 720 Hz": (signal, 2 * fs, peaks, lead),
        "100, header claims 180 Hz": (signal, fs / 2, peaks, lead),
    }
    s201, _, lead201, _ = read(Path(mitdb) / "201")
    p202 = read(Path(mitdb) / "202")[3]
    cases["201 with the annotations of 202 (same patient)"] = (s201, fs, p202[p202 < len(s201)], lead201)
    for record in ("208", "119", "232"):  # irregular rhythms (208, 119: ventricular bigeminy; 232: pauses)
        x, rate, lead_name, r = read(Path(mitdb) / record)
        cases[f"{record} with its annotations 0.5 s late"] = (x, rate, _moved(r, 0.5 * rate, len(x)), lead_name)
        cases[f"{record} with its annotations one R-R late"] = (x, rate, _moved(r, np.median(np.diff(r)), len(x)), lead_name)
    for record in ("119", "208", "203", "106"):  # some classes only: the V beats left out (DS1 records)
        x, rate, lead_name, r = read(Path(mitdb) / record)
        kept = symbols(Path(mitdb) / record, len(x)) != "V"
        cases[f"{record} without its V beats ({1 - kept.mean():.0%})"] = (x, rate, r[kept], lead_name)
    x, rate, lead_name, r = read(Path(mitdb) / "208")
    excerpt = int(40 * rate)
    for seed in range(3):  # the QRS widened by noise read as half the sampling rate
        noisy = add_noise(x[:excerpt], np.random.default_rng(seed).normal(size=excerpt), -1, rate, r[r < excerpt])
        cases[f"208, 40 s, white noise -1 dB ({seed})"] = (noisy, rate, r[r < excerpt], lead_name)
    v1, _, v1_lead, v1_peaks = read(Path(mitdb) / "101", lead="V1")
    cases["101, lead V1"] = (v1, fs, v1_peaks, v1_lead)
    if nstdb:
        for name in ("bw", "ma"):
            noise, noise_fs, _, _ = read(Path(nstdb) / name)
            cases[f"nstdb {name} (noise record)"] = (noise, noise_fs, peaks, lead)
        ma = read(Path(nstdb) / "ma")[0]
        s118, fs118, lead118, p118 = read(Path(mitdb) / "118")
        for snr in (12, 6, 0, -6):
            cases[f"118 + ma at {snr} dB"] = (add_noise(s118, ma, snr, fs118, p118), fs118, p118, lead118)
    for record in ("100", "119", "203", "207", "208", "217", "108"):
        x, rate, lead_name, r = read(Path(mitdb) / record)
        start, stop = int(600 * rate), int(900 * rate)
        x = x.copy()
        x[start:stop] *= -1
        flipped = np.char.find(plausibility.beat_reasons(x, rate, r).astype(str), "polarity flipped") >= 0
        inside = (r >= start) & (r < stop)
        print(f"  {record} reversed from minute 10 to 15: {flipped[inside].mean():6.1%} of its {inside.sum()} beats "
              f"'polarity flipped', {flipped[~inside].sum()} others")
    for name, (x, rate, r, lead_name) in cases.items():
        found = plausibility.check_record(x, rate, r, lead=lead_name)
        print("  " + summary(name, found, len(r)) + f"  spread {plausibility.offset_spread(x, rate, r):.3f} s")
        for line in found.verdict:
            print(f"      {line}")


def windows(folder, seconds):
    """How many stretches of ``seconds`` of the clean records get a verdict on their annotations (what ``predict``
    on an excerpt would refuse), by verdict."""
    from ecgnet.data.datasets import database_of, training_records
    from ecgnet.data.records import list_records

    counted, found = 0, {}
    for name in training_records(list_records(folder), database_of(folder), folder)[0]:  # svdb's held-back unread
        signal, fs, lead, peaks = read(Path(folder) / name)
        width = int(seconds * fs)
        for start in range(0, len(signal) - width + 1, width):
            inside = (peaks >= start) & (peaks < start + width)
            if inside.sum() < 3:
                continue
            counted += 1
            verdict = plausibility.check_record(signal[start:start + width], fs, peaks[inside] - start, lead=lead).verdict
            for line in verdict:
                if line.startswith(("annotations", "no QRS", "mostly")):
                    key = line.split(":")[0] + (" (long intervals)" if "median R-R" in line else "")
                    found.setdefault(key, []).append(f"{name} at {start / fs:.0f} s")
    print(f"\n{folder}: {counted} stretches of {seconds:g} s")
    for key, where in sorted(found.items()):
        print(f"  {key}: {len(where)} ({', '.join(where[:8])}{' ...' if len(where) > 8 else ''})")


#: The 22 training records of de Chazal's inter-patient split (DS1): short stretches are measured on these only.
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124", "201", "203", "205", "207",
       "208", "209", "215", "220", "223", "230")


def hostile_windows(folder, seconds, minutes=10):
    """Stretches of ``seconds`` of the first ``minutes`` of the DS1 records, clean and with their annotations thinned
    (every other one), replaced by the next DS1 record's, or 0.1 s late: how many are refused (what ``predict`` on
    such an excerpt refuses) and how many annotated beats the refused ones hold. A rule that let a verdict refuse
    only from some number of beats on would give up the refusals below it."""
    from ecgnet.data.records import refused

    data = {name: read(Path(folder) / name) for name in DS1}
    counts = {}
    for position, name in enumerate(DS1):
        signal, fs, lead, peaks = data[name]
        other = data[DS1[(position + 1) % len(DS1)]][3]
        width = int(seconds * fs)
        for start in range(0, min(len(signal), int(minutes * 60 * fs)) - width + 1, width):
            def cut(samples):
                return samples[(samples >= start) & (samples < start + width)] - start
            for key, r in {"clean": cut(peaks), "thinned": cut(peaks)[::2], "another record's": cut(other),
                           "0.1 s late": cut(peaks + int(0.1 * fs))}.items():
                if len(r) >= 3:
                    verdict = plausibility.check_record(signal[start:start + width], fs, r, lead=lead).verdict
                    counts.setdefault(key, []).append((bool(refused(verdict)), len(r)))
    print(f"\n{folder}: stretches of {seconds:g} s of the first {minutes} minutes of the {len(DS1)} DS1 records")
    for key, rows in counts.items():
        rows = np.array(rows)
        beats = rows[rows[:, 0] == 1, 1]
        print(f"  {key:18s} {len(rows):5d} stretches, refused {len(beats):5d} ({len(beats) / len(rows):6.1%}); annotated "
              f"beats in those refused: median {np.median(beats) if len(beats) else 0:.0f}, under 20 in "
              f"{np.mean(beats < 20) if len(beats) else 0:.0%}, under 15 in {np.mean(beats < 15) if len(beats) else 0:.0%}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default=os.environ.get("ECGNET_MITDB_DIR"))
    parser.add_argument("--svdb", default=os.environ.get("ECGNET_SVDB_DIR"))
    parser.add_argument("--nstdb", default=os.environ.get("ECGNET_NSTDB_DIR"))
    parser.add_argument("--windows", type=float, nargs="*", default=None, metavar="SECONDS",
                        help="instead: the verdicts on the annotations of the clean records cut in stretches of SECONDS")
    parser.add_argument("--hostile-windows", type=float, nargs="*", default=None, metavar="SECONDS",
                        help="instead: stretches of SECONDS of the DS1 records, clean and with wrong annotations: refused?")
    args = parser.parse_args()
    if not args.mitdb:
        parser.error("--mitdb (or $ECGNET_MITDB_DIR) is needed")
    started = time.perf_counter()
    if args.hostile_windows:
        for seconds in args.hostile_windows:
            hostile_windows(args.mitdb, seconds)
        print(f"\n{time.perf_counter() - started:.0f} s")
        return
    if args.windows:
        for seconds in args.windows:
            for folder in filter(None, (args.mitdb, args.svdb)):
                windows(folder, seconds)
        print(f"\n{time.perf_counter() - started:.0f} s")
        return
    print(f"thresholds: beat contrast {plausibility.BEAT_CONTRAST}, search +-{plausibility.SEARCH_SECONDS} s, "
          f"agreement {plausibility.AGREEMENT}, heart rate {plausibility.HEART_RATE_RANGE}")
    clean_database(args.mitdb, "MIT-BIH Arrhythmia (mitdb)")
    not_what_they_claim(args.mitdb, args.nstdb)
    if args.svdb:
        clean_database(args.svdb, "MIT-BIH Supraventricular Arrhythmia (svdb, 128 Hz)")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
