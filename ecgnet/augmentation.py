"""ECG augmentations for the training pipeline.

Each augmentation is a small TensorFlow function on a batch of beats of shape
``(batch, steps, channels)`` (``(batch, 187, 1)`` for a Kaggle beat) that draws its random numbers from a ``tf.random.Generator``
passed in, so a run seeded once is reproducible. :class:`EcgAugmentation` chains
them and is what you pass to ``make_dataset(..., augment=...)``. Augment the
training data only: validation and test beats are measured as recorded.

What each one imitates:

- :func:`scale_amplitude`: electrode contact and gain differ between recordings.
- :func:`add_baseline_wander`: breathing and movement shift the baseline slowly
  (0.1-0.5 Hz, i.e. one cycle every 2-10 s, much longer than a beat).
- :func:`add_gaussian_noise`: muscle and amplifier noise.
- :func:`shift_in_time`: the R-peak detector is off by a few samples.

The MIT-BIH beats are zero-padded at the end. The additive augmentations leave
that padding at exactly zero (they only touch samples up to the last non-zero
one), and the time shift fills the samples it uncovers with zeros.
"""

import math

import tensorflow as tf

from ecgnet.data.signals import FS
from ecgnet.errors import EcgnetError


def signal_mask(beats):
    """1.0 for the samples of each beat up to its last non-zero one, 0.0 in the padding.

    Args:
        beats: float tensor of shape (batch, steps, 1).

    Returns:
        A tensor of the same shape and dtype.
    """
    nonzero = tf.cast(tf.not_equal(beats, 0), beats.dtype)
    # Counting non-zero samples from the end: > 0 everywhere before the padding.
    return tf.cast(tf.cumsum(nonzero, axis=1, reverse=True) > 0, beats.dtype)


def scale_amplitude(beats, generator, scale_range=(0.9, 1.1)):
    """Multiply each beat by its own factor drawn uniformly from ``scale_range``.

    Args:
        beats: float tensor of shape (batch, steps, 1).
        generator: ``tf.random.Generator``.
        scale_range: tuple (low, high) of the factor.

    Returns:
        A tensor of the same shape and dtype.

    Example:
        >>> g = tf.random.Generator.from_seed(0)
        >>> scale_amplitude(tf.ones((2, 187, 1)), g).shape
        TensorShape([2, 187, 1])
    """
    low, high = scale_range
    factors = generator.uniform((tf.shape(beats)[0], 1, 1), minval=low, maxval=high, dtype=beats.dtype)
    return beats * factors


def add_baseline_wander(beats, generator, max_amplitude=0.05, frequency_range=(0.1, 0.5),
                        sampling_rate=FS):
    """Add a slow sinusoid (random amplitude, frequency and phase per beat).

    Args:
        beats: float tensor of shape (batch, steps, 1).
        generator: ``tf.random.Generator``.
        max_amplitude: float, the largest amplitude, in the units of the beats
            (the Kaggle beats are scaled to [0, 1]).
        frequency_range: tuple (low, high) in Hz.
        sampling_rate: float, samples per second.

    Returns:
        A tensor of the same shape and dtype; the zero padding stays zero.
    """
    batch, steps = tf.shape(beats)[0], tf.shape(beats)[1]
    amplitude = generator.uniform((batch, 1, 1), 0.0, max_amplitude, dtype=beats.dtype)
    low, high = frequency_range
    frequency = generator.uniform((batch, 1, 1), low, high, dtype=beats.dtype)
    phase = generator.uniform((batch, 1, 1), 0.0, 2 * math.pi, dtype=beats.dtype)
    seconds = tf.reshape(tf.cast(tf.range(steps), beats.dtype) / sampling_rate, (1, -1, 1))
    wander = amplitude * tf.sin(2 * math.pi * frequency * seconds + phase)
    return beats + wander * signal_mask(beats)


def add_gaussian_noise(beats, generator, std=0.01):
    """Add white Gaussian noise of standard deviation ``std``.

    Args:
        beats: float tensor of shape (batch, steps, 1).
        generator: ``tf.random.Generator``.
        std: float, the noise standard deviation.

    Returns:
        A tensor of the same shape and dtype; the zero padding stays zero.
    """
    noise = generator.normal(tf.shape(beats), stddev=std, dtype=beats.dtype)
    return beats + noise * signal_mask(beats)


def shift_in_time(beats, generator, max_shift=5):
    """Move each beat by a random whole number of samples in [-max_shift, max_shift].

    A positive shift moves the beat later (to the right). Samples pushed past an
    end are dropped and the uncovered samples are zero, like the padding.

    Args:
        beats: float tensor of shape (batch, steps, 1).
        generator: ``tf.random.Generator``.
        max_shift: int, the largest shift in samples.

    Returns:
        A tensor of the same shape and dtype.
    """
    batch, steps = tf.shape(beats)[0], tf.shape(beats)[1]
    shifts = generator.uniform((batch, 1), -max_shift, max_shift + 1, dtype=tf.int32)
    # Output sample t comes from input sample t - shift, if that one exists.
    source = tf.range(steps)[tf.newaxis, :] - shifts
    inside = (source >= 0) & (source < steps)
    shifted = tf.gather(beats, tf.clip_by_value(source, 0, steps - 1), axis=1, batch_dims=1)
    return shifted * tf.cast(inside, beats.dtype)[:, :, tf.newaxis]


class EcgAugmentation:
    """The training-time augmentation: scale, baseline wander, noise, time shift.

    Setting a strength to zero (``amplitude_scale=(1, 1)``, ``baseline_wander=0``,
    ``noise_std=0``, ``max_shift=0``) turns that step off; with all of them off the
    beats come back unchanged.

    Args:
        amplitude_scale: tuple (low, high), range of the amplitude factor.
        baseline_wander: float, largest amplitude of the baseline wander.
        noise_std: float, standard deviation of the Gaussian noise.
        max_shift: int, largest time shift in samples (125 Hz: 5 samples = 40 ms).
        seed: int, seed of the random generator: the same seed gives the same
            sequence of augmented batches when the batches reach it in the same
            order, which ``make_dataset``'s parallel map keeps only under
            ``tf.config.experimental.enable_op_determinism()`` (what
            :func:`ecgnet.training.train` turns on where there is no GPU).

    Input shape:
        `(batch, steps, channels)`: the beat, or a recipe's beat channels. The
        amplitude factor, the baseline wander and the time shift are drawn
        once per beat and apply to all its channels alike; the Gaussian noise
        is drawn for each channel apart (so a channel derived from the beat,
        such as the beat less the record's median, gets noise of its own).
    Output shape:
        Same as the input, same dtype.

    Example:
        >>> augment = EcgAugmentation(seed=0)
        >>> augment(tf.zeros((4, 187, 1))).shape
        TensorShape([4, 187, 1])
        >>> # train_ds = make_dataset(x, y, shuffle=True, augment=augment)
    """

    def __init__(self, amplitude_scale=(0.9, 1.1), baseline_wander=0.05, noise_std=0.01,
                 max_shift=5, seed=0):
        low, high = amplitude_scale
        if not 0 < low <= high:
            raise EcgnetError(f"amplitude_scale must satisfy 0 < low <= high. Received: amplitude_scale={amplitude_scale}")
        for name, value in (("baseline_wander", baseline_wander), ("noise_std", noise_std), ("max_shift", max_shift)):
            if value < 0:
                raise EcgnetError(f"{name} must be >= 0. Received: {name}={value}")
        if int(max_shift) != max_shift:
            raise EcgnetError(f"max_shift must be a whole number of samples. Received: max_shift={max_shift}")
        self.amplitude_scale = (float(low), float(high))
        self.baseline_wander = float(baseline_wander)
        self.noise_std = float(noise_std)
        self.max_shift = int(max_shift)
        self.seed = int(seed)
        self.generator = tf.random.Generator.from_seed(self.seed)

    def __call__(self, beats):
        beats = tf.convert_to_tensor(beats)
        if self.amplitude_scale != (1.0, 1.0):
            beats = scale_amplitude(beats, self.generator, self.amplitude_scale)
        if self.baseline_wander > 0:
            beats = add_baseline_wander(beats, self.generator, self.baseline_wander)
        if self.noise_std > 0:
            beats = add_gaussian_noise(beats, self.generator, self.noise_std)
        if self.max_shift > 0:
            beats = shift_in_time(beats, self.generator, self.max_shift)
        return beats

    def get_config(self):
        """Every constructor argument, so the augmentation can be logged and rebuilt."""
        return {
            "amplitude_scale": self.amplitude_scale,
            "baseline_wander": self.baseline_wander,
            "noise_std": self.noise_std,
            "max_shift": self.max_shift,
            "seed": self.seed,
        }

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"EcgAugmentation({arguments})"

