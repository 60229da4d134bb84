"""ecgnet.data.noisy: beats with real noise added stretch by stretch, one to one with the clean beats.

The committed WFDB excerpts stand for the records; the noise is a seeded
random walk plus white noise written as WFDB records at 360 Hz (the rate of
the Noise Stress Test records), so the tests need no database. The SNR of
each stretch is measured again with the ``nst`` formula written out here in
NumPy, independent of ``ecgnet.quality``.
"""

import numpy as np
import pytest

from conftest import FIXTURES
from ecgnet.data import beats_from_record, noisy_beats, noisy_record_beats
from ecgnet.data.noisy import add_noise_stretches, noise_half, noise_stretches, read_noise_records, resample_noise


@pytest.fixture(scope="module")
def noise_dir(tmp_path_factory):
    """Two noise records, ``bw`` (a slow random walk) and ``ma`` (white noise), 3 minutes at 360 Hz, in WFDB."""
    import wfdb

    folder = tmp_path_factory.mktemp("nstdb")
    generator = np.random.default_rng(7)
    n = 180 * 360
    signals = {"bw": np.cumsum(generator.normal(size=n)) * 0.01, "ma": generator.normal(size=n) * 0.1}
    for name, signal in signals.items():
        both = np.stack([signal, -signal], axis=1)
        wfdb.wrsamp(name, fs=360, units=["mV", "mV"], sig_name=["noise1", "noise2"], p_signal=both,
                    fmt=["16", "16"], write_dir=str(folder))
    return folder


def nst_snr(signal, added, normal_peaks, fs):
    """SNR of ``added`` against ``signal`` the way nst defines it (sigamp: trimmed peak-to-peak and 1-s RMS)."""

    def trimmed(values):
        values = np.sort(values)
        cut = int(len(values) * 0.05)
        return values[cut : len(values) - cut].mean() if len(values) > 2 * cut else values.mean()

    half = int(round(0.05 * fs))
    peaks = [p for p in normal_peaks if p - half >= 0 and p + half < len(signal)]
    amplitude = trimmed(np.array([np.ptp(signal[p - half : p + half + 1]) for p in peaks]))
    width = int(round(fs))
    windows = added[: len(added) // width * width].reshape(-1, width)
    rms = trimmed(np.sqrt(((windows - windows.mean(axis=1, keepdims=True)) ** 2).mean(axis=1)))
    return 20 * np.log10(amplitude * np.sqrt(2) / 4 / rms)


def test_infinite_snr_gives_the_clean_beats_exactly(noise_dir):
    noises = read_noise_records(noise_dir)
    clean = beats_from_record(FIXTURES / "208_excerpt", aami_only=True).beats
    same = noisy_record_beats(FIXTURES / "208_excerpt", noises, snrs=[np.inf], stretch_seconds=(5, 10))
    for field in ("x", "y", "record", "r_peak", "rr", "centred"):
        np.testing.assert_array_equal(getattr(same, field), getattr(clean, field), err_msg=field)


def test_noisy_beats_are_one_to_one_with_the_clean_ones(noise_dir):
    noises = read_noise_records(noise_dir)
    for name in ("208_excerpt", "233_excerpt", "114_excerpt"):
        clean = beats_from_record(FIXTURES / name, aami_only=True).beats
        noisy = noisy_record_beats(FIXTURES / name, noises, snrs=(6,), stretch_seconds=(5, 10))
        assert len(noisy) == len(clean)
        np.testing.assert_array_equal(noisy.y, clean.y)
        np.testing.assert_array_equal(noisy.r_peak, clean.r_peak)
        np.testing.assert_array_equal(noisy.record, clean.record)
        np.testing.assert_array_equal(noisy.rr, clean.rr)
        # the signal changed: at 6 dB every beat differs from the clean one
        assert (np.abs(noisy.x - clean.x).max(axis=1) > 1e-3).all()


def test_each_stretch_gets_its_snr_by_the_nst_formula(noise_dir):
    import wfdb

    noises = read_noise_records(noise_dir)
    signal = wfdb.rdrecord(str(FIXTURES / "233_excerpt"), channels=[0]).p_signal[:, 0]
    annotation = wfdb.rdann(str(FIXTURES / "233_excerpt"), "atr")
    normal = annotation.sample[np.asarray(annotation.symbol) == "N"]
    at_rate = {kind: noise_half(noise, "first") for kind, (noise, _) in noises.items()}
    stretches = noise_stretches(len(signal), 360, {k: len(v) for k, v in at_rate.items()}, (12, 6, 0), 3, "233",
                                stretch_seconds=(8, 12))
    assert stretches[0].start == 0 and stretches[-1].stop == len(signal)
    assert all(a.stop == b.start for a, b in zip(stretches, stretches[1:]))
    assert {s.kind for s in stretches} == {"bw", "ma"} and len({s.snr_db for s in stretches}) > 1
    noisy = add_noise_stretches(signal, 360, normal, at_rate, stretches)
    for stretch in stretches:
        added = noisy[stretch.start : stretch.stop] - signal[stretch.start : stretch.stop]
        piece = at_rate[stretch.kind][stretch.offset : stretch.offset + len(added)]
        # the added noise is the piece of the noise record, scaled
        gain = added @ piece / (piece @ piece)
        np.testing.assert_allclose(added, gain * piece, atol=1e-9)
        if stretch.stop - stretch.start >= 5 * 360:  # whole 1-second windows for the RMS
            assert nst_snr(signal, added, normal, 360) == pytest.approx(stretch.snr_db, abs=0.05)


def test_the_draws_follow_the_seed_and_the_half(noise_dir):
    noises = read_noise_records(noise_dir)
    path = FIXTURES / "208_excerpt"
    first, stretches = noisy_record_beats(path, noises, seed=1, stretch_seconds=(5, 10), return_stretches=True)
    again = noisy_record_beats(path, noises, seed=1, stretch_seconds=(5, 10))
    other = noisy_record_beats(path, noises, seed=2, stretch_seconds=(5, 10))
    np.testing.assert_array_equal(first.x, again.x)
    assert not np.allclose(first.x, other.x)
    # the first half of a 3-minute noise record is its first 90 s: every piece lies inside it
    assert all(s.offset + s.stop - s.start <= 90 * 360 for s in stretches)
    second = noisy_record_beats(path, noises, half="second", seed=1, stretch_seconds=(5, 10))
    assert not np.allclose(first.x, second.x)


def test_several_records_in_order_and_noise_resampled_to_the_record_rate(noise_dir):
    from scipy.signal import resample_poly

    beats = noisy_beats([FIXTURES / "208_excerpt", FIXTURES / "232_excerpt"], noise_dir, stretch_seconds=(5, 10))
    assert list(dict.fromkeys(beats.record)) == ["208_excerpt", "232_excerpt"]
    noise = np.random.default_rng(0).normal(size=3600)
    np.testing.assert_allclose(resample_noise(noise, 360, 128), resample_poly(noise, 16, 45))
    assert len(resample_noise(noise, 360, 128)) == 1280
    np.testing.assert_array_equal(resample_noise(noise, 360, 360), noise)


def test_bad_arguments_are_named(noise_dir, tmp_path):
    noises = read_noise_records(noise_dir)
    with pytest.raises(ValueError, match="half"):
        noisy_record_beats(FIXTURES / "208_excerpt", noises, half="third")
    with pytest.raises(ValueError, match="stretch_seconds"):
        noisy_record_beats(FIXTURES / "208_excerpt", noises, stretch_seconds=(10, 5))
    from ecgnet.errors import DataFormatError

    with pytest.raises(DataFormatError, match="no noise record 'bw'"):
        read_noise_records(tmp_path)


def test_noisy_copy_follows_the_beats_given_row_for_row(noise_dir):
    from ecgnet.data import concat_beats
    from ecgnet.data.noisy import noisy_copy

    noises = read_noise_records(noise_dir)
    paths = {name: FIXTURES / name for name in ("208_excerpt", "233_excerpt")}
    clean = concat_beats([beats_from_record(path, aami_only=True).beats for path in paths.values()])
    shuffled = clean.subset(np.random.default_rng(0).permutation(len(clean))[: len(clean) // 2])
    copy = noisy_copy(shuffled, paths, noises, snrs=(6,), stretch_seconds=(5, 10))
    np.testing.assert_array_equal(copy.y, shuffled.y)
    np.testing.assert_array_equal(copy.r_peak, shuffled.r_peak)
    whole = {name: noisy_record_beats(path, noises, snrs=(6,), stretch_seconds=(5, 10)) for name, path in paths.items()}
    for row in range(len(shuffled)):
        record = whole[shuffled.record[row]]
        np.testing.assert_array_equal(copy.x[row], record.x[record.r_peak == shuffled.r_peak[row]][0])
    same = noisy_copy(shuffled, paths, noises, snrs=[np.inf], stretch_seconds=(5, 10))
    np.testing.assert_array_equal(same.x, shuffled.x)


def test_finetune_with_noise_keeps_the_frozen_layers_and_counts_the_beats(noise_dir):
    import keras

    from ecgnet.data import concat_beats
    from ecgnet.data.noisy import noisy_copy
    from ecgnet.models import build_named_model
    from ecgnet.training import finetune_with_noise

    noises = read_noise_records(noise_dir)
    paths = {name: FIXTURES / name for name in ("208_excerpt", "233_excerpt")}
    clean = concat_beats([beats_from_record(path, aami_only=True).beats for path in paths.values()])
    keras.utils.set_random_seed(0)
    model = build_named_model("small", recipe="kachuee:beat+rr=relative")
    bn = next(layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    dense = model.layers[-1]
    before = {"bn": [w.copy() for w in bn.get_weights()], "dense": [w.copy() for w in dense.get_weights()]}
    conv = next(layer for layer in model.layers if layer.name == "stem_conv")
    conv_before = conv.get_weights()[0].copy()
    result = finetune_with_noise(model, clean, lambda epoch: noisy_copy(clean, paths, noises, seed=epoch,
                                                                        stretch_seconds=(5, 10)),
                                 epochs=1, batch_size=64, keep_normal=0.5, frozen=(dense.name,), verbose=0)
    for old, new in zip(before["bn"], bn.get_weights()):
        np.testing.assert_array_equal(old, new)  # moving statistics and scale untouched
    for old, new in zip(before["dense"], dense.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert not np.allclose(conv_before, conv.get_weights()[0])
    assert {dense.name, bn.name} <= set(result["frozen"])
    assert bn.trainable and dense.trainable  # handed back with the flags it came with (a .keras file saves them)
    normal = int((clean.y == 0).sum())
    kept = result["beats_per_epoch"][0] // 2
    assert len(clean) - normal <= kept < len(clean)  # every other beat, and part of the N beats, twice
    assert result["beats_per_epoch"][0] % 2 == 0


def test_no_stretch_is_shorter_than_the_shortest():
    for n_samples in (11 * 360, 29 * 360 + 7, 61 * 360):
        stretches = noise_stretches(n_samples, 360, {"bw": 200 * 360, "ma": 200 * 360}, (6,), 0, "x", (5, 10))
        lengths = [s.stop - s.start for s in stretches]
        assert sum(lengths) == n_samples and min(lengths) >= 5 * 360 and max(lengths) <= 20 * 360
