"""ecgnet.plausibility on real excerpts and on inputs that are not what they claim.

The references are independent of the code under test: the record's own
reference annotations (cardiologists placed them on the QRS complexes),
signals built by hand (spikes at known times, noise, a sine wave), and the
arithmetic of a beat's span. The thresholds themselves were measured on the
whole databases with ``benchmarks/measure/bench_plausibility.py``.
"""

import numpy as np
import pytest

from ecgnet import plausibility
from ecgnet.errors import DataFormatError

from conftest import FIXTURES

FS = 360.0


def excerpt(name, lead="MLII"):
    """(signal of ``lead``, its reference beat annotations) of a committed 360 Hz excerpt."""
    import wfdb

    from ecgnet.data.records import BEAT_SYMBOLS

    path = str(FIXTURES / f"{name}_excerpt")
    header = wfdb.rdheader(path)
    signal = wfdb.rdrecord(path, channels=[header.sig_name.index(lead)]).p_signal[:, 0]
    ann = wfdb.rdann(path, "atr")
    peaks = ann.sample[np.isin(ann.symbol, list(BEAT_SYMBOLS))]
    return signal, peaks[peaks < len(signal)]


def spikes(times, seconds=30.0, fs=FS, width=0.02, noise=0.01, seed=0):
    """Gaussian spikes (``width`` s wide) at ``times`` on a little white noise: QRS-like where the spikes are."""
    t = np.arange(int(seconds * fs)) / fs
    signal = sum(np.exp(-0.5 * ((t - at) / width) ** 2) for at in times)
    return signal + np.random.default_rng(seed).normal(0, noise, len(t))


@pytest.mark.parametrize("name", ["208", "233", "114", "232"])
def test_real_excerpts_with_their_annotations_are_plausible(name):
    signal, peaks = excerpt(name)
    found = plausibility.check_record(signal, FS, peaks, lead="MLII")
    assert found.verdict == []
    inside = peaks + np.ceil(plausibility.BEAT_SECONDS * FS) <= len(signal)
    assert (found.reasons[inside] == "").all()
    assert all("window past the end" in reason for reason in found.reasons[~inside])
    assert found.agreement >= 1 - 1 / len(peaks) and 40 <= found.heart_rate <= 140  # the last beat may sit in the filter's edge


def test_contrast_is_high_on_spikes_and_low_between_them():
    times = np.arange(0.5, 29.5, 0.8)
    signal = spikes(times)
    on = np.round(times * FS).astype(int)
    between = on[:-1] + int(0.4 * FS)
    assert plausibility.beat_contrast(signal, FS, on).min() > 10 * plausibility.BEAT_CONTRAST
    assert plausibility.beat_contrast(signal, FS, between).max() < plausibility.BEAT_CONTRAST
    # the envelope of a spike is flat-topped (its slope is zero at the top): a few hundredths of a second
    assert np.abs(plausibility.qrs_offset(signal, FS, on)).max() <= 0.06
    late = plausibility.qrs_offset(signal, FS, on + int(0.2 * FS))
    assert (late < -plausibility.SEARCH_SECONDS).all()  # the spike 0.2 s earlier is found at the window's edge


@pytest.mark.parametrize(
    "make",
    [
        lambda n, rng: rng.normal(0, 0.2, n),
        lambda n, rng: np.sin(2 * np.pi * 1.2 * np.arange(n) / FS),
        lambda n, rng: rng.integers(-2048, 2048, n) / 200.0,  # random bytes read as format 212 at 200 units per mV
    ],
    ids=["gaussian-noise", "sine", "random-bytes"],
)
def test_not_an_ecg_with_real_annotations_is_found(make):
    signal, peaks = excerpt("208")
    found = plausibility.check_record(make(len(signal), np.random.default_rng(1)), FS, peaks, lead="MLII")
    assert found.verdict[0].startswith("no QRS complexes")
    assert any(line.startswith("mostly implausible") for line in found.verdict)
    assert np.mean([("not QRS-like" in reason) for reason in found.reasons]) > plausibility.MOSTLY


def test_annotations_of_another_record_are_off_the_qrs():
    signal, _ = excerpt("208")
    _, others = excerpt("233")
    found = plausibility.check_record(signal, FS, others[others < len(signal)], lead="MLII")
    assert found.verdict and found.verdict[0].startswith("annotations off the QRS")
    assert found.agreement < plausibility.AGREEMENT


def test_annotations_shifted_off_their_qrs_are_found():
    signal, peaks = excerpt("233")
    found = plausibility.check_record(signal, FS, peaks + int(0.2 * FS), lead="MLII")
    assert found.verdict[0].startswith("annotations off the QRS") and found.agreement < 0.1


def test_inverted_polarity_of_lead_ii_and_not_of_an_unnamed_lead():
    signal, peaks = excerpt("208")
    assert plausibility.check_record(signal, FS, peaks, lead="MLII").upward > plausibility.INVERTED
    found = plausibility.check_record(-signal, FS, peaks, lead="MLII")
    assert found.verdict == [f"inverted polarity: the QRS of lead MLII points down in {1 - found.upward:.0%} of the beats "
                             "(the lead inverted, or another lead, such as V1, named MLII?)"]
    assert plausibility.check_record(-signal, FS, peaks, lead="ECG1").verdict == []  # svdb's lead points either way


def test_lead_not_trained_on_is_named():
    signal, peaks = excerpt("208", lead="V1")
    found = plausibility.check_record(signal, FS, peaks, lead="V1")
    assert "lead 'V1' is not one the models were trained on (MLII, II, ECG1)" in found.verdict


def test_heart_rate_outside_a_human_range_is_named():
    times = np.arange(0.5, 29.5, 0.1)  # 600 beats per minute
    found = plausibility.check_record(spikes(times, width=0.01), FS, np.round(times * FS).astype(int))
    assert any(line.startswith("heart rate 600 beats per minute") for line in found.verdict)
    assert found.heart_rate == pytest.approx(600, rel=0.01)


def test_a_stretch_of_reversed_polarity_is_flipped_and_the_rest_is_not():
    signal, peaks = excerpt("208")
    assert not plausibility.flipped_beats(signal, FS, peaks).any()
    reversed_ = signal.copy()
    start, stop = int(15 * FS), int(27 * FS)
    reversed_[start:stop] *= -1
    inside = (peaks >= start + 0.1 * FS) & (peaks < stop - 0.1 * FS)  # a QRS cut by the edge of the stretch is neither
    found = plausibility.check_record(reversed_, FS, peaks, lead="MLII")
    flipped = np.char.find(found.reasons.astype(str), "polarity flipped") >= 0
    assert flipped[inside].mean() >= 0.8 and not flipped[(peaks < start) | (peaks >= stop)].any()
    assert any(line.startswith(f"polarity flips: the QRS points the other way from the rest of the record in {flipped.sum()} beats")
               for line in found.verdict)


def test_qrs_width_of_a_gaussian_pulse_scales_with_the_rate_given():
    # the slope energy of exp(-t**2 / (2 s**2)) is t**2 exp(-t**2 / s**2) / s**4, whose RMS spread is s * sqrt(1.5)
    times = np.arange(1.0, 59.0, 1.0)
    signal = spikes(times, seconds=60.0, width=0.015, noise=0.001)
    peaks = np.round(times * FS).astype(int)
    assert plausibility.qrs_width(signal, FS, peaks) == pytest.approx(0.015 * np.sqrt(1.5), rel=0.05)
    assert plausibility.qrs_width(signal, 2 * FS, peaks) == pytest.approx(0.015 * np.sqrt(1.5) / 2, rel=0.05)
    index, heart_rate, width = plausibility.rate_index(signal, FS, peaks)
    assert heart_rate == pytest.approx(60) and index == pytest.approx(1.0 / width)


@pytest.mark.parametrize("given, factor", [(1.0, 1.0), (2.0, 2.0), (0.5, 0.5)])
def test_a_sampling_rate_twice_or_half_the_true_one_is_named(given, factor):
    # about 60 beats per minute, QRS sigma 15 ms: rate index 54 at the true rate, 218 at twice it, 14 at half;
    # R-R intervals vary as a heart's do (a strictly periodic train has spectral lines at every multiple of 1 Hz)
    times = 1.0 + np.cumsum(np.random.default_rng(2).uniform(0.9, 1.1, 57))
    signal = spikes(times, seconds=60.0, width=0.015, noise=0.001)
    peaks = np.round(times * FS).astype(int)
    assert plausibility.sampling_rate_factor(signal, FS * given, peaks)[0] == factor
    verdict = plausibility.check_record(signal, FS * given, peaks).verdict
    expected = [] if factor == 1 else [f"sampling rate: the header's {FS * given:g} Hz looks {'twice' if factor > 1 else 'half'} "
                                       "the true rate (360 Hz?)"]
    assert [line.split(":")[0] + ":" + line.split(":")[1] for line in verdict] == expected


def test_a_mains_line_is_read_as_a_clock():
    times = 1.0 + np.cumsum(np.random.default_rng(2).uniform(0.9, 1.1, 57))
    t = np.arange(int(60 * FS)) / FS
    signal = spikes(times, seconds=60.0, width=0.015, noise=0.001) + 0.01 * np.sin(2 * np.pi * 60 * t)
    peaks = np.round(times * FS).astype(int)
    at_true_rate = plausibility.line_ratios(signal, FS)
    assert at_true_rate[60.0] > plausibility.LINE_RATIO > plausibility.NO_LINE_RATIO > at_true_rate[50.0]
    factor, evidence = plausibility.sampling_rate_factor(signal, 2 * FS, peaks)
    assert factor == 2.0 and evidence.startswith("a mains line at 120 Hz")


def test_noise_gate_marks_beats_under_heavy_noise_and_none_of_a_clean_excerpt():
    from ecgnet.quality import add_noise

    signal, peaks = excerpt("208")
    inside = peaks + np.ceil(plausibility.BEAT_SECONDS * FS) <= len(signal)
    assert not any(plausibility.NOISY in reason for reason in plausibility.beat_reasons(signal, FS, peaks))
    white = np.random.default_rng(0).normal(size=len(signal))
    shares = []
    for snr in (0, -12):  # white noise as nst scales it: the more of it, the more beats are too noisy to read
        reasons = plausibility.beat_reasons(add_noise(signal, white, snr, FS, peaks), FS, peaks)
        shares.append(np.mean([plausibility.NOISY in reason for reason in reasons[inside]]))
    assert 0 < shares[0] < shares[1] and shares[1] > 0.5
    # baseline wander: a 0.3 Hz swing of four times the QRS amplitude moves the baseline under every beat
    size = np.ptp(signal[peaks[5] - 18 : peaks[5] + 18])
    wander = signal + 2 * size * np.sin(2 * np.pi * 0.3 * np.arange(len(signal)) / FS)
    drift = plausibility.baseline_drift(wander, FS, peaks)
    assert np.median(drift) > plausibility.GATE_DRIFT > np.median(plausibility.baseline_drift(signal, FS, peaks))


def test_bad_arguments_are_refused():
    with pytest.raises(DataFormatError, match="sampling rate"):
        plausibility.check_record(np.zeros(100), 0, [10])
    with pytest.raises(DataFormatError, match="1-D signal"):
        plausibility.beat_reasons(np.zeros((10, 2)), FS, [1])


# --- the checks where records come in: predict_record / predict --record, and prepare ---


def _record_with(tmp_path, name, signal_of, annotations_of="208"):
    """A 360 Hz WFDB record ``name`` in ``tmp_path``: the MLII signal ``signal_of(real MLII)``, with the
    reference annotations of the excerpt ``annotations_of`` (its own, or another record's cut to the
    signal's 40 s: annotations past the end are refused before any plausibility check)."""
    import wfdb

    signal, _ = excerpt("208")
    wfdb.wrsamp(name, fs=FS, units=["mV"], sig_name=["MLII"], p_signal=signal_of(signal)[:, None],
                fmt=["16"], write_dir=str(tmp_path))
    ann = wfdb.rdann(str(FIXTURES / f"{annotations_of}_excerpt"), "atr")
    keep = ann.sample < len(signal)
    wfdb.wrann(name, "atr", ann.sample[keep], symbol=list(np.asarray(ann.symbol)[keep]), write_dir=str(tmp_path))
    return tmp_path / name


def test_predict_refuses_noise_with_real_annotations(tmp_path, run_cli):
    noise = _record_with(tmp_path, "noise", lambda s: np.random.default_rng(0).normal(0, s.std(), len(s)))
    with pytest.raises(DataFormatError, match="no QRS complexes"):
        from ecgnet import predict_record

        predict_record("ecgnet-mitbih-interpatient", noise)
    done = run_cli("predict", "--model", "ecgnet-mitbih-interpatient", "--record", str(noise))
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "no QRS complexes" in done.stderr
    assert "Traceback" not in done.stderr


def test_predict_names_the_lead_and_refuses_another_records_annotations(tmp_path, run_cli):
    clean = _record_with(tmp_path, "clean", lambda s: s)
    other = _record_with(tmp_path, "other", lambda s: s, annotations_of="233")
    done = run_cli("predict", "--model", "ecgnet-mitbih-interpatient", "--record", str(clean), "--out", str(tmp_path / "c.csv"))
    assert done.returncode == 0, done.stderr
    assert "lead MLII" in done.stdout and "warning:" not in done.stderr
    done = run_cli("predict", "--model", "ecgnet-mitbih-interpatient", "--record", str(other), "--out", str(tmp_path / "o.csv"))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: ") and "annotations off the QRS" in done.stderr and "--detect" in done.stderr
    assert not (tmp_path / "o.csv").exists()


def test_predict_names_noise_as_large_as_the_qrs_too_noisy_not_misplaced_annotations(tmp_path, run_cli, nstdb):
    """Muscle noise as large as the QRS: under half the R peaks stand out, as with another record's annotations,
    but no QRS within 0.4 s stands out either; the cause named is the noise, and `--detect` is not offered."""
    import wfdb

    from ecgnet.quality import add_noise

    _, peaks = excerpt("208")
    ma = wfdb.rdrecord(str(nstdb / "ma"), channels=[0]).p_signal[:, 0]  # scaled by the whole record's RMS, as nst does
    noisy = _record_with(tmp_path, "noisy", lambda s: add_noise(s, ma, -1, FS, peaks))
    signal = wfdb.rdrecord(str(noisy)).p_signal[:, 0]
    found = plausibility.check_record(signal, FS, peaks, lead="MLII")
    assert found.agreement < plausibility.AGREEMENT and np.median(found.contrast) >= plausibility.BEAT_CONTRAST
    assert found.verdict[0].startswith("mostly implausible: too noisy to read"), found.verdict
    assert not any(line.startswith("annotations off the QRS") for line in found.verdict)
    done = run_cli("predict", "--model", "ecgnet-mitbih-interpatient", "--record", str(noisy), "--out", str(tmp_path / "n.csv"))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "too noisy to read" in done.stderr and "annotations off the QRS" not in done.stderr and "--detect" not in done.stderr
    assert not (tmp_path / "n.csv").exists()


def test_record_118_under_muscle_noise_at_minus_6_db_is_too_noisy_and_another_records_annotations_are_off(mitdb, nstdb):
    from benchmarks.measure.bench_plausibility import read
    from ecgnet.quality import add_noise

    signal, fs, lead, peaks = read(mitdb / "118")
    found = plausibility.check_record(add_noise(signal, read(nstdb / "ma")[0], -6, fs, peaks), fs, peaks, lead=lead)
    assert found.verdict and found.verdict[0].startswith("mostly implausible: too noisy to read"), found.verdict
    assert not any(line.startswith("annotations off the QRS") for line in found.verdict)
    other = plausibility.check_record(signal, fs, read(mitdb / "101")[3], lead=lead)  # clean signal, foreign R peaks
    assert other.verdict[0].startswith("annotations off the QRS: only"), other.verdict


def test_prepare_refuses_a_record_with_another_records_annotations(tmp_path):
    from ecgnet.data.records import build_mitbih_beats

    _record_with(tmp_path, "100", lambda s: s)  # its own annotations: read
    assert len(build_mitbih_beats(tmp_path, records=["100"], progress=False).y) > 0
    _record_with(tmp_path, "101", lambda s: s, annotations_of="233")
    with pytest.raises(DataFormatError, match="101: annotations off the QRS"):
        build_mitbih_beats(tmp_path, records=["100", "101"], progress=False, processes=1)


def test_annotations_of_some_classes_only_are_found_where_their_beats_leave_long_intervals(tmp_path, run_cli):
    """The 208 excerpt annotated in its N beats only (43 % of its beats, its V and F, left out): a QRS lies in
    31 % of the intervals, under the 50 % of thinned annotations, so every N beat was read, and `prepare` kept
    them. The intervals that hold one are the long ones (a premature beat and its pause joined): refused. The
    clean excerpt has no such interval, nor do the clean records (docs/robustness.md)."""
    import wfdb

    from ecgnet.data import beats_from_record
    from ecgnet.data.records import build_mitbih_beats

    signal, peaks = excerpt("208")
    symbols = np.array([s for s in wfdb.rdann(str(FIXTURES / "208_excerpt"), "atr").symbol if s in set("NLRBAaJSVrFejnE/fQ?")])
    normal = peaks[symbols[: len(peaks)] == "N"]
    assert not plausibility.long_unannotated_qrs(signal, FS, peaks).any()
    assert plausibility.check_record(signal, FS, peaks, lead="MLII").verdict == []
    long = plausibility.long_unannotated_qrs(signal, FS, normal)
    # an independent reference: the intervals the left-out beats fall in, and their length against the median
    rr = np.diff(normal)
    holds = np.array([np.any((peaks > a + 0.2 * FS) & (peaks < b - 0.2 * FS)) for a, b in zip(normal[:-1], normal[1:])])
    expected = holds & (rr > plausibility.LONG_INTERVAL * np.median(rr))
    assert not (long & ~expected).any()  # every interval found holds a beat left out
    assert long.sum() >= 0.6 * expected.sum()  # most are found (a left-out QRS under half its neighbours' is not)
    found = plausibility.check_record(signal, FS, normal, lead="MLII")
    assert found.verdict == [f"annotations miss beats: {long.mean():.0%} of the intervals between the R peaks are over "
                             "1.5 times the median R-R and hold a QRS complex of their own (over 15%): only some "
                             "classes annotated, or beats left out?"]
    raw = tmp_path / "raw"
    raw.mkdir()
    for ext in ("hea", "dat"):
        (raw / f"208.{ext}").write_bytes((FIXTURES / f"208_excerpt.{ext}").read_bytes().replace(b"208_excerpt", b"208"))
    wfdb.wrann("208", "atr", normal, symbol=["N"] * len(normal), write_dir=str(raw))
    with pytest.raises(DataFormatError, match=r"208: annotations miss beats: \d+% of the intervals .* are over 1.5 times"):
        build_mitbih_beats(raw, records=["208"], progress=False, processes=1)
    done = run_cli("predict", "--model", "ecgnet-mitbih", "--record", raw / "208")
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "annotations miss beats" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert beats_from_record(FIXTURES / "208_excerpt", check_quality=True).verdict == []


def test_noise_that_widens_the_qrs_is_not_read_as_half_the_sampling_rate():
    """White noise at -1 dB on the 208 excerpt widens the QRS measured (115 to 146 ms), so the rate index fell
    under its range and the header's 360 Hz was said to look half the true rate: a heart rate of 2 x 110 there,
    which no clean record has. A rate given as half is still named
    (`test_a_sampling_rate_twice_or_half_the_true_one_is_named`)."""
    from ecgnet.quality import add_noise

    signal, peaks = excerpt("208")
    for seed in range(3):
        noisy = add_noise(signal, np.random.default_rng(seed).normal(size=len(signal)), -1, FS, peaks)
        index, heart_rate, _ = plausibility.rate_index(noisy, FS, peaks)
        assert index < plausibility.RATE_INDEX_RANGE[0] and 2 * heart_rate > plausibility.USUAL_HEART_RATES[1]
        assert plausibility.sampling_rate_factor(noisy, FS, peaks) == (1.0, "")


def test_a_signal_longer_than_its_annotations_is_named_part_unread():
    """The annotations of the first 4.4 s (or of the last 25 s) of the 208 excerpt over its 40 s: the rest was
    left without a class and without a word. The whole excerpt's annotations start 0.3 s and end 0.1 s from
    its ends (the clean records: within 1.4 and 1.8 s)."""
    signal, peaks = excerpt("208")
    assert plausibility.check_record(signal, FS, peaks, lead="MLII").verdict == []
    early = peaks[peaks < 5 * FS]
    unread = (len(signal) - 1 - early.max()) / FS
    assert plausibility.check_record(signal, FS, early, lead="MLII").verdict == [
        f"part unread: no R peak in the last {unread:.1f} s (after {early.max() / FS:.1f} s) of the 40.0 s signal, "
        "so nothing there gets a class: annotations of a shorter record or an excerpt, or no QRS found there?"]
    late = peaks[peaks > 15 * FS]
    assert plausibility.check_record(signal, FS, late, lead="MLII").verdict[0].startswith(
        f"part unread: no R peak in the first {late.min() / FS:.1f} s of the 40.0 s signal")


@pytest.mark.parametrize("length", [0, 1])
def test_beat_windows_refuses_a_signal_too_short_to_cut(length):
    """An empty signal gave numpy's broadcast error."""
    from ecgnet.plausibility import beat_windows

    with pytest.raises(DataFormatError, match=f"a signal of {length} samples has no beats to cut"):
        beat_windows(np.zeros(length), 360, [0])
