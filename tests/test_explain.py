"""ecgnet.explain against hand-computed references."""

import keras
import numpy as np
import pytest

from ecgnet.explain import grad_cam_1d, integrated_gradients

LENGTH = 20


def _linear_model(weights, bias):
    """f(x) = x.flatten() @ weights + bias, one output column per class (no activation)."""
    inputs = keras.Input((LENGTH, 1), name="beat")
    dense = keras.layers.Dense(weights.shape[1], name="scores")
    outputs = dense(keras.layers.Flatten()(inputs))
    dense.set_weights([weights, bias])
    return keras.Model(inputs, outputs)


def test_integrated_gradients_of_a_linear_model_are_input_times_weight():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(LENGTH, 3)).astype("float32")
    model = _linear_model(weights, np.array([0.5, -1.0, 2.0], "float32"))
    x = rng.random((4, LENGTH, 1)).astype("float32")
    baseline = rng.random((1, LENGTH, 1)).astype("float32")
    attributions = integrated_gradients(model, x, target_class=2, baseline=baseline, steps=4)
    expected = (x - baseline) * weights[:, 2].reshape(1, LENGTH, 1)
    np.testing.assert_allclose(attributions, expected, rtol=1e-5, atol=1e-6)


def test_integrated_gradients_default_target_is_the_predicted_class():
    weights = np.zeros((LENGTH, 2), "float32")
    weights[:, 1] = 1.0
    weights[:, 0] = -1.0
    model = _linear_model(weights, np.zeros(2, "float32"))
    x = np.stack([np.full((LENGTH, 1), 1.0), np.full((LENGTH, 1), -1.0)]).astype("float32")
    attributions = integrated_gradients(model, x)  # beat 0 predicts class 1 (+1 per sample), beat 1 class 0 (+1 too)
    np.testing.assert_allclose(attributions, np.ones_like(x), rtol=1e-6)


def _nonlinear_model():
    keras.utils.set_random_seed(1)
    beat = keras.Input((LENGTH, 1), name="beat")
    rr = keras.Input((2,), name="rr")
    x = keras.layers.Conv1D(4, 5, padding="same", activation="tanh")(beat)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Concatenate()([x, rr])
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model({"beat": beat, "rr": rr}, outputs)


def test_integrated_gradients_are_complete_and_keep_other_inputs_fixed():
    model = _nonlinear_model()
    rng = np.random.default_rng(2)
    inputs = {"beat": rng.normal(size=(3, LENGTH, 1)).astype("float32"), "rr": rng.random((3, 2)).astype("float32")}
    attributions = integrated_gradients(model, inputs, target_class=[0, 1, 2], steps=256)
    assert attributions.shape == inputs["beat"].shape
    at_input = model.predict(inputs, verbose=0)[np.arange(3), [0, 1, 2]]
    at_baseline = model.predict({"beat": np.zeros_like(inputs["beat"]), "rr": inputs["rr"]}, verbose=0)[np.arange(3), [0, 1, 2]]
    np.testing.assert_allclose(attributions.sum(axis=(1, 2)), at_input - at_baseline, atol=2e-4)
    assert np.abs(at_input - at_baseline).max() > 1e-3  # the check above is not trivially 0 == 0


def test_integrated_gradients_rejects_bad_steps():
    model = _linear_model(np.ones((LENGTH, 2), "float32"), np.zeros(2, "float32"))
    with pytest.raises(ValueError, match="steps=0"):
        integrated_gradients(model, np.ones((1, LENGTH, 1)), steps=0)


def test_grad_cam_1d_equals_class_activation_map_of_a_linear_head():
    # conv (kernel 1) -> global average -> linear scores: dy_c/dA_k(t) = w_kc / T, so
    # Grad-CAM(t) = ReLU(sum_k w_kc / T * A_k(t)), the class activation map of Zhou et al. 2016.
    inputs = keras.Input((LENGTH, 1))
    conv = keras.layers.Conv1D(2, 1, name="features")
    dense = keras.layers.Dense(2, name="scores")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling1D()(conv(inputs))))
    conv.set_weights([np.array([[[1.0, -2.0]]], "float32"), np.array([0.0, 1.0], "float32")])
    w = np.array([[0.5, -1.0], [1.5, 2.0]], "float32")
    dense.set_weights([w, np.zeros(2, "float32")])
    x = np.sin(np.linspace(0, 6, LENGTH, dtype="float32")).reshape(1, LENGTH, 1)
    maps = np.stack([x[0, :, 0], -2.0 * x[0, :, 0] + 1.0], axis=-1)  # A_k(t)
    for target in (0, 1):
        expected = np.maximum((maps * w[:, target] / LENGTH).sum(axis=-1), 0.0)
        cam = grad_cam_1d(model, x, layer_name="features", target_class=target)
        np.testing.assert_allclose(cam[0], expected, rtol=1e-5, atol=1e-7)
    assert grad_cam_1d(model, x).shape == (1, LENGTH)  # default layer: the last (batch, steps, channels) one


@pytest.mark.parametrize("target", [2, -1, [0, 5]])
def test_a_target_class_outside_the_models_classes_is_refused(target):
    """tf.one_hot turns a class outside 0..classes-1 into a row of zeros: all-zero attributions, not an answer."""
    from ecgnet.errors import EcgnetError

    model = _linear_model(np.ones((LENGTH, 2), "float32"), np.zeros(2, "float32"))
    beats = np.ones((2, LENGTH, 1))
    with pytest.raises(EcgnetError, match=r"target_class must lie in 0\.\.1"):
        integrated_gradients(model, beats, target_class=target)
    inputs = keras.Input((LENGTH, 1))
    features = keras.layers.Conv1D(2, 1, name="features")(inputs)
    conv_model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(features)))
    with pytest.raises(EcgnetError, match=r"target_class must lie in 0\.\.1"):
        grad_cam_1d(conv_model, beats, target_class=target)
