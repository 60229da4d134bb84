"""Tests for ecgnet.augmentation on synthetic beats."""

import numpy as np
import pytest
import tensorflow as tf

from ecgnet import augmentation
from ecgnet.augmentation import EcgAugmentation
from ecgnet.errors import EcgnetError


def synthetic_beats(batch=64, signal_length=150, steps=187, seed=0):
    """Synthetic beats: random positive signal for ``signal_length`` samples, then zero padding."""
    rng = np.random.default_rng(seed)
    beats = np.zeros((batch, steps, 1), np.float32)
    beats[:, :signal_length, 0] = rng.uniform(0.1, 1.0, (batch, signal_length))
    return tf.constant(beats)


def generator(seed=0):
    return tf.random.Generator.from_seed(seed)


def test_shapes_and_dtype_are_preserved():
    beats = synthetic_beats(8)
    out = EcgAugmentation(seed=1)(beats)
    assert out.shape == (8, 187, 1)
    assert out.dtype == tf.float32


def test_identity_when_all_strengths_are_zero():
    beats = synthetic_beats(8)
    augment = EcgAugmentation(amplitude_scale=(1, 1), baseline_wander=0, noise_std=0, max_shift=0)
    np.testing.assert_array_equal(augment(beats).numpy(), beats.numpy())


def test_amplitude_factor_stays_in_bounds():
    beats = synthetic_beats(256)
    ratio = (augmentation.scale_amplitude(beats, generator(), (0.8, 1.2)) / (beats + 1e-12)).numpy()
    factors = ratio[:, 0, 0]
    assert factors.min() >= 0.8 and factors.max() <= 1.2
    assert factors.max() - factors.min() > 0.3  # actually random, not constant
    np.testing.assert_allclose(ratio[:, :150, 0], factors[:, None] * np.ones((1, 150)), rtol=1e-5)


def test_noise_std_is_measured_within_tolerance_and_padding_stays_zero():
    beats = synthetic_beats(200)
    noisy = augmentation.add_gaussian_noise(beats, generator(), std=0.05).numpy()
    noise = (noisy - beats.numpy())[:, :150]
    assert noise.std() == pytest.approx(0.05, rel=0.03)
    assert abs(noise.mean()) < 0.002
    np.testing.assert_array_equal(noisy[:, 150:], 0.0)


def test_baseline_wander_is_slow_bounded_and_leaves_padding():
    beats = synthetic_beats(100)
    wandered = augmentation.add_baseline_wander(beats, generator(), max_amplitude=0.1).numpy()
    wander = (wandered - beats.numpy())[:, :150, 0]
    assert np.abs(wander).max() <= 0.1 + 1e-6
    assert np.abs(wander).max() > 0.05
    # Below 0.5 Hz at 125 Hz the sinusoid moves less than 2*pi*0.5/125*A per sample.
    assert np.abs(np.diff(wander, axis=1)).max() <= 2 * np.pi * 0.5 / 125 * 0.1 + 1e-6
    np.testing.assert_array_equal(wandered[:, 150:], 0.0)


def test_shift_moves_a_known_impulse_by_the_drawn_amount():
    batch = 200
    beats = np.zeros((batch, 187, 1), np.float32)
    beats[:, 90, 0] = 1.0
    shifted = augmentation.shift_in_time(tf.constant(beats), generator(3), max_shift=4).numpy()
    positions = shifted[:, :, 0].argmax(axis=1)
    assert np.all(shifted.sum(axis=(1, 2)) == 1.0)  # the impulse moved, nothing else appeared
    shifts = positions - 90
    assert shifts.min() == -4 and shifts.max() == 4  # every shift in [-4, 4] is drawn
    # Same draws again from the same seed: the impulse lands at the same places.
    again = augmentation.shift_in_time(tf.constant(beats), generator(3), max_shift=4).numpy()
    np.testing.assert_array_equal(again, shifted)


def test_shift_fills_with_zeros_at_the_ends():
    beats = tf.ones((50, 187, 1))
    shifted = augmentation.shift_in_time(beats, generator(), max_shift=3).numpy()[:, :, 0]
    lost = 187 - shifted.sum(axis=1)  # one zero per sample of shift
    assert lost.max() == 3 and lost.min() == 0
    for row, n in zip(shifted, lost.astype(int)):
        if n:
            assert (row[:n] == 0).all() or (row[-n:] == 0).all()


def test_same_seed_same_batches_and_works_in_tf_data():
    x = synthetic_beats(64).numpy()

    def run(seed):
        augment = EcgAugmentation(seed=seed)
        dataset = tf.data.Dataset.from_tensor_slices(x).batch(16).map(augment)
        return np.concatenate(list(dataset.as_numpy_iterator()))

    first, second, other = run(5), run(5), run(6)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)
    assert first.shape == x.shape


def test_bad_arguments_echo_the_value():
    with pytest.raises(EcgnetError, match="noise_std=-1"):
        EcgAugmentation(noise_std=-1)
    with pytest.raises(EcgnetError, match="amplitude_scale"):
        EcgAugmentation(amplitude_scale=(1.2, 0.8))
    assert "max_shift=5" in repr(EcgAugmentation())
