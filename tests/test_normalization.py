"""Tests for ecgnet.normalization.FusedBatchNormalization.

The reference is NumPy (batch statistics over batch and steps, biased
variance, Keras' moving-average update) and ``keras.layers.BatchNormalization``
itself, whose behaviour the fused layer must reproduce.
"""

import numpy as np
import pytest

import keras
import tensorflow as tf

from ecgnet.normalization import FusedBatchNormalization

MOMENTUM, EPSILON = 0.9, 1e-5


def _pair(shape, rng):
    """A Keras BN and a fused BN with the same random gamma and beta."""
    layers = [
        cls(momentum=MOMENTUM, epsilon=EPSILON)
        for cls in (keras.layers.BatchNormalization, FusedBatchNormalization)
    ]
    gamma = rng.uniform(0.5, 1.5, shape[-1]).astype("float32")
    beta = rng.normal(size=shape[-1]).astype("float32")
    for layer in layers:
        layer.build(shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    return layers, gamma, beta


def test_training_step_matches_numpy_and_keras():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(6, 25, 4)) * 3 + 1).astype("float32")
    (keras_bn, fused), gamma, beta = _pair(x.shape, rng)

    mean = x.mean(axis=(0, 1))
    var = x.var(axis=(0, 1))  # biased, as Keras uses
    expected = (x - mean) / np.sqrt(var + EPSILON) * gamma + beta

    y = fused(x, training=True)
    np.testing.assert_allclose(y, expected, atol=1e-5)
    np.testing.assert_allclose(y, keras_bn(x, training=True), atol=1e-5)
    np.testing.assert_allclose(fused.moving_mean, (1 - MOMENTUM) * mean, atol=1e-6)
    np.testing.assert_allclose(
        fused.moving_variance, MOMENTUM * 1.0 + (1 - MOMENTUM) * var, rtol=1e-5
    )
    np.testing.assert_allclose(fused.moving_variance, keras_bn.moving_variance, rtol=1e-6)


def test_gradients_match_keras():
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(5, 17, 3)).astype("float32"))
    upstream = tf.constant(rng.normal(size=(5, 17, 3)).astype("float32"))
    grads = []
    for layer in _pair(x.shape, rng)[0]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) * upstream)
        grads.append(tape.gradient(loss, [x, layer.gamma, layer.beta]))
    for ours, reference in zip(grads[1], grads[0]):
        np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(4, 9, 3), (7, 5)])
def test_inference_and_other_shapes_are_keras(shape):
    rng = np.random.default_rng(2)
    x = rng.normal(size=shape).astype("float32")
    keras_bn, fused = _pair(shape, rng)[0]
    for layer in (keras_bn, fused):
        layer.moving_mean.assign(np.full(shape[-1], 0.5, "float32"))
        layer.moving_variance.assign(np.full(shape[-1], 2.0, "float32"))
    np.testing.assert_allclose(fused(x, training=False), keras_bn(x, training=False), atol=1e-6)
    # A 2D input takes Keras' own path in training too.
    if len(shape) == 2:
        np.testing.assert_allclose(fused(x, training=True), keras_bn(x, training=True), atol=1e-6)


def test_config_and_keras_file_round_trip(tmp_path):
    inputs = keras.Input((20, 3))
    outputs = FusedBatchNormalization(momentum=0.8, epsilon=1e-3, name="bn")(inputs)
    model = keras.Model(inputs, outputs)
    model.get_layer("bn").moving_mean.assign([0.1, 0.2, 0.3])
    path = tmp_path / "bn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    layer = loaded.get_layer("bn")
    assert isinstance(layer, FusedBatchNormalization)
    assert layer.get_config() == model.get_layer("bn").get_config()
    x = np.random.default_rng(3).normal(size=(2, 20, 3)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("training, fused_op", [(True, True), (False, False)])
def test_the_training_step_runs_the_fused_kernel(training, fused_op):
    """The reason for the layer: in training its graph holds one FusedBatchNormV3 op (the tests above would pass
    with Keras' own path too); in inference it is Keras' layer."""
    layer = FusedBatchNormalization()
    layer.build((4, 9, 3))
    graph = tf.function(lambda t: layer(t, training=training)).get_concrete_function(
        tf.TensorSpec((4, 9, 3), "float32")).graph
    ops = {op.type for op in graph.get_operations()}
    assert ("FusedBatchNormV3" in ops) == fused_op, sorted(ops)


def test_other_axes_take_keras_path():
    """Normalised over the steps (axis=1), the moments run over batch and channels: Keras' path, same numbers."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 6, 5)).astype("float32")
    fused, plain = FusedBatchNormalization(axis=1), keras.layers.BatchNormalization(axis=1)
    assert not fused._fused(tf.constant(x), True, None)
    np.testing.assert_allclose(fused(x, training=True), plain(x, training=True), atol=1e-5)
