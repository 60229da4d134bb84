"""Beat segmentation on real MIT-BIH excerpts (tests/fixtures), checked against a NumPy reference."""

import numpy as np
import pytest
import wfdb
from scipy.signal import resample_poly

from ecgnet.data import (
    AAMI_MAP,
    CLASS_NAMES,
    Beats,
    aami_class,
    beats_from_record,
    build_mitbih_beats,
    load_beats_npz,
    load_part,
    load_split,
    rr_features,
    sample_dir,
)
from ecgnet.errors import DataFormatError


def test_aami_map():
    assert CLASS_NAMES == ("N", "S", "V", "F", "Q")
    expected = {"N": "NLRej", "S": "AaJS", "V": "VE", "F": "F", "Q": "/fQ"}
    for index, name in enumerate(CLASS_NAMES):
        for symbol in expected[name]:
            assert aami_class(symbol) == index, symbol
    assert len(AAMI_MAP) == 15
    for symbol in "+~|x!\"[]()pt^uBrn?":
        assert aami_class(symbol) == -1, symbol


def _reference(path, record_channel):
    """Independent NumPy re-implementation of Kachuee et al. sec. III-A on one record."""
    rec = wfdb.rdrecord(str(path))
    ann = wfdb.rdann(str(path), "atr")
    keep = [i for i, s in enumerate(ann.symbol) if s in AAMI_MAP]
    peaks = ann.sample[keep]
    labels = np.array([AAMI_MAP[ann.symbol[i]] for i in keep])
    sig = resample_poly(rec.p_signal[:, record_channel], 25, 72)
    r = np.round(peaks * 125 / 360).astype(int)
    return sig, r, peaks, labels


@pytest.mark.parametrize("name, channel, counts", [
    ("208_excerpt", 0, [39, 0, 22, 8, 0]),
    ("232_excerpt", 0, [10, 17, 0, 0, 0]),
    ("114_excerpt", 1, [17, 0, 0, 0, 0]),
    ("217_excerpt", 0, [0, 0, 0, 0, 23]),
    ("233_excerpt", 0, [71, 2, 30, 0, 0]),
])
def test_excerpt_beats_match_reference(fixtures_dir, name, channel, counts):
    path = fixtures_dir / name
    beats, source, times = beats_from_record(path)
    sig, r, peaks, labels = _reference(path, channel)
    assert source == "annotations"
    # every annotated AAMI beat except the last one (no next R-R) becomes a beat
    assert len(beats) == len(peaks) - 1
    assert np.bincount(beats.y, minlength=5).tolist() == counts
    np.testing.assert_array_equal(beats.y, labels[:-1])
    np.testing.assert_array_equal(beats.r_peak, peaks[:-1])
    np.testing.assert_allclose(times, peaks[:-1] / 360.0)
    assert set(beats.record) == {name}
    assert beats.x.shape == (len(beats), 187) and beats.x.dtype == np.float32
    for i in range(len(beats)):
        w = r[i] // 1250
        window = sig[w * 1250:(w + 1) * 1250]
        lo, hi = window.min(), window.max()
        in_window = (r[:-1] // 1250) == w
        period = np.median(np.diff(r)[in_window])
        length = min(int(np.round(1.2 * period)), 187)
        # the segment starts at the R peak, scaled with its window's min and max
        expected = np.clip((sig[r[i]:r[i] + length] - lo) / (hi - lo), 0, 1)
        np.testing.assert_allclose(beats.x[i, :len(expected)], expected, atol=1e-6)
        assert np.all(beats.x[i, length:] == 0.0), "padding must be zero"
        assert 0.0 <= beats.x[i].min() and beats.x[i].max() <= 1.0


def test_rr_intervals_by_hand(fixtures_dir):
    beats, _, _ = beats_from_record(fixtures_dir / "232_excerpt")
    peaks = wfdb.rdann(str(fixtures_dir / "232_excerpt"), "atr").sample
    peaks = np.array([p for p, s in zip(peaks, wfdb.rdann(str(fixtures_dir / "232_excerpt"), "atr").symbol) if s in AAMI_MAP])
    d = np.diff(peaks) / 360.0
    np.testing.assert_allclose(beats.rr[1:, 0], d[:-1], rtol=1e-6)  # previous R-R
    np.testing.assert_allclose(beats.rr[:, 1], d, rtol=1e-6)  # next R-R
    assert beats.rr[0, 0] == beats.rr[0, 1]  # first beat: previous R-R = next R-R
    np.testing.assert_allclose(beats.rr[12, 2], d[2:12].mean(), rtol=1e-6)  # mean of the last 10


def test_rr_features_per_record():
    rr = np.array([[1.0, 1.0, 1.0], [0.5, 1.0, 0.75], [2.0, 2.0, 2.0], [0.6, 0.6, 0.6]])
    feats = rr_features(rr, np.array(["a", "a", "b", "b"]))
    assert feats.shape == (4, 6) and feats.dtype == np.float32
    np.testing.assert_allclose(feats[:, :3], rr)
    np.testing.assert_allclose(feats[:2, 3:], rr[:2] / 0.75)
    np.testing.assert_allclose(feats[2:, 3:], rr[2:] / 1.3)
    with pytest.raises(DataFormatError, match=r"rr has 4 rows but record has shape \(3,\)"):
        rr_features(rr, np.array(["a", "a", "b"]))


def test_beats_derive_their_six_rr_features_when_asked():
    rr = np.array([[1.0, 1.0, 1.0], [0.5, 1.0, 0.75], [2.0, 2.0, 2.0], [0.6, 0.6, 0.6]])
    beats = Beats(np.zeros((4, 187)), [0, 1, 0, 2], ["a", "a", "b", "b"], [10, 20, 30, 40], rr, source="four.npz")
    assert beats.rr.shape == (4, 3)  # stored: the 3 raw intervals
    np.testing.assert_allclose(beats.rr_features()[:, 3], [1 / 0.75, 0.5 / 0.75, 2 / 1.3, 0.6 / 1.3], rtol=1e-6)
    assert beats.subset([2, 3]).source == "four.npz"


def test_load_split_gives_two_beats_and_csv_beats_carry_no_invented_fields(tmp_path):
    train, test = load_split("sample")
    assert isinstance(train, Beats) and isinstance(test, Beats)
    assert train.x.shape == (len(train), 187) and train.rr.shape == (len(train), 3) and train.record is not None
    csv = load_part(sample_dir() / "mitbih_test.csv.gz", "test")
    assert isinstance(csv, Beats) and csv.x.shape == (len(csv), 187) and len(csv) == len(test)
    assert csv.record is None and csv.r_peak is None and csv.rr is None and csv.source.name == "mitbih_test.csv.gz"
    with pytest.raises(DataFormatError, match="mitbih_test.csv.gz: no R-R intervals"):
        csv.rr_features()
    path = train.subset(slice(0, 5)).save_npz(tmp_path / "five.npz")
    with np.load(path) as saved:
        assert "source" not in saved.files  # the source is where the beats were read, not data
    assert load_beats_npz(path).source == path


def test_select_rr_features_by_input_width():
    from ecgnet.data import select_rr_features

    rr = np.array([[1.0, 1.0, 1.0], [0.5, 1.0, 0.75], [2.0, 2.0, 2.0], [0.6, 0.6, 0.6]])
    feats = rr_features(rr, np.array(["a", "a", "b", "b"]))
    np.testing.assert_array_equal(select_rr_features(feats, 6), feats)
    np.testing.assert_allclose(select_rr_features(feats, 3)[:2], rr[:2] / 0.75)  # relative only
    rhythm = select_rr_features(feats, 5)  # relative, then previous and next R-R over the local mean
    np.testing.assert_allclose(rhythm[:, :3], select_rr_features(feats, 3))
    np.testing.assert_allclose(rhythm[1, 3:], [0.5 / 0.75, 1.0 / 0.75])
    np.testing.assert_allclose(rhythm[[0, 2, 3], 3:], 1.0)
    with pytest.raises(DataFormatError, match="Received: width 4"):
        select_rr_features(feats, 4)


def test_mlii_is_chosen(fixtures_dir):
    auto = beats_from_record(fixtures_dir / "114_excerpt").beats
    mlii = beats_from_record(fixtures_dir / "114_excerpt", channel="MLII").beats
    v5 = beats_from_record(fixtures_dir / "114_excerpt", channel=0).beats
    np.testing.assert_array_equal(auto.x, mlii.x)
    assert not np.allclose(auto.x, v5.x)
    with pytest.raises(DataFormatError, match=r"no channel 'V1' \(has \['V5', 'MLII'\]\)"):
        beats_from_record(fixtures_dir / "114_excerpt", channel="V1")


def test_second_lead_is_the_other_channel_cut_at_the_same_peaks(fixtures_dir, tmp_path):
    both = beats_from_record(fixtures_dir / "114_excerpt", second_lead=True).beats  # V5 first, MLII second
    np.testing.assert_array_equal(both.x, beats_from_record(fixtures_dir / "114_excerpt", channel="MLII").beats.x)
    np.testing.assert_array_equal(both.second_lead, beats_from_record(fixtures_dir / "114_excerpt", channel="V5").beats.x)
    assert beats_from_record(fixtures_dir / "114_excerpt").beats.second_lead is None
    # through build_mitbih_beats, .npz files and subsets; a file without it loads with None
    built = build_mitbih_beats(fixtures_dir, records=["208_excerpt", "114_excerpt"], progress=False, processes=1, second_lead=True)
    back = load_beats_npz(built.save_npz(tmp_path / "two_leads.npz"))
    np.testing.assert_array_equal(back.second_lead, built.second_lead)
    np.testing.assert_array_equal(back.subset(back.y == 2).second_lead, built.second_lead[built.y == 2])
    one_lead = build_mitbih_beats(fixtures_dir, records=["208_excerpt"], progress=False, processes=1)
    assert load_beats_npz(one_lead.save_npz(tmp_path / "one_lead.npz")).second_lead is None
    # a one-lead record (synthetic: the MLII signal of the excerpt written alone) has no second lead
    rec = wfdb.rdrecord(str(fixtures_dir / "114_excerpt"), channels=[1])
    wfdb.wrsamp("one", fs=360, units=["mV"], sig_name=["MLII"], p_signal=rec.p_signal, fmt=["16"], write_dir=str(tmp_path))
    with pytest.raises(DataFormatError, match=r"one.*a second lead needs a record of two leads; this one has 1 \(\['MLII'\]\)"):
        beats_from_record(tmp_path / "one", second_lead=True)


def test_detector_when_no_annotations(fixtures_dir, tmp_path):
    annotated = beats_from_record(fixtures_dir / "114_excerpt")
    detected = beats_from_record(fixtures_dir / "114_excerpt", use_annotations=False)
    assert detected.source == "detector"
    assert set(detected.beats.y.tolist()) == {-1}
    assert len(detected.beats) == len(annotated.beats)
    # detected R peaks within 20 ms of the reference ones
    assert np.abs(detected.times - annotated.times).max() < 0.02
    # a record at another rate (250 Hz) without .atr: detector, resampled to 125 Hz
    rec = wfdb.rdrecord(str(fixtures_dir / "114_excerpt"), channels=[1])
    sig = resample_poly(rec.p_signal[:, 0], 25, 36)
    wfdb.wrsamp("r250", fs=250, units=["mV"], sig_name=["MLII"], p_signal=sig[:, None], fmt=["16"], write_dir=str(tmp_path))
    other = beats_from_record(tmp_path / "r250")
    assert other.source == "detector" and abs(len(other.beats) - len(annotated.beats)) <= 1
    assert other.beats.r_peak.max() < len(sig)
    # an .atr without beat annotations (rhythm only) also falls back to the detector
    wfdb.wrann("r250", "atr", np.array([0]), symbol=["+"], aux_note=["(N"], fs=250, write_dir=str(tmp_path))
    assert beats_from_record(tmp_path / "r250").source == "detector"


def test_build_from_folder_and_npz(fixtures_dir, tmp_path):
    beats = build_mitbih_beats(fixtures_dir, records=["208_excerpt", "217_excerpt"], progress=False, processes=1)
    assert len(beats) == 69 + 23
    assert np.bincount(beats.y, minlength=5).tolist() == [39, 0, 22, 8, 23]
    assert beats.record[0] == "208_excerpt" and beats.record[-1] == "217_excerpt"
    sub = beats.subset(beats.y == 3)
    assert len(sub) == 8 and set(sub.record) == {"208_excerpt"}
    path = beats.save_npz(tmp_path / "b.npz")
    back = load_beats_npz(path)
    for field in ("x", "y", "record", "r_peak", "rr"):
        np.testing.assert_array_equal(getattr(back, field), getattr(beats, field))
    assert back.y.dtype == np.int8 and back.r_peak.dtype == np.int64


def test_bad_inputs(fixtures_dir, tmp_path):
    with pytest.raises(DataFormatError, match=r"record '999' not found"):
        build_mitbih_beats(fixtures_dir, records=["999"], progress=False)
    with pytest.raises(DataFormatError, match=r"nowhere: no such folder"):
        build_mitbih_beats(tmp_path / "nowhere", progress=False)
    with pytest.raises(DataFormatError, match=r"no such WFDB record"):
        beats_from_record(tmp_path / "nothing")
    with pytest.raises(DataFormatError, match=r"missing.npz: no such file"):
        load_beats_npz(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(DataFormatError, match=r"other.npz: not a Beats file, missing x, y, record, r_peak, rr"):
        load_beats_npz(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(DataFormatError, match=r"junk.npz: not a readable .npz file"):
        load_beats_npz(tmp_path / "junk.npz")
    with pytest.raises(DataFormatError, match=r"x has shape \(2, 10\), expected \(2, 187\)"):
        Beats(np.zeros((2, 10)), [0, 1], ["a", "a"], [1, 2], np.zeros((2, 3)))
