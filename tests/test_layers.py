"""Tests for ecgnet.layers: shapes, NumPy reference, gradients, serialization."""

import numpy as np
import pytest

import keras
import tensorflow as tf

from ecgnet.layers import (
    GroupedConv1D,
    ResidualBlock1D,
    ResNeXtBlock1D,
    resolve_implementation,
)

IMPLS = ["native", "split", "block_diagonal", "auto"]


# ---------------------------------------------------------------- reference
def _pad_amounts(length, k, s, d, padding):
    effective = (k - 1) * d + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return effective - 1, 0
    out = -(-length // s)
    total = max((out - 1) * s + effective - length, 0)
    return total // 2, total - total // 2


def numpy_grouped_conv(x, kernel, groups, strides, padding, dilation):
    """Grouped cross-correlation with loops over groups, taps and outputs."""
    batch, length, cin = x.shape
    k, cin_g, filters = kernel.shape
    fout = filters // groups
    left, right = _pad_amounts(length, k, strides, dilation, padding)
    xp = np.pad(x, [(0, 0), (left, right), (0, 0)])
    out_len = (xp.shape[1] - (k - 1) * dilation - 1) // strides + 1
    y = np.zeros((batch, out_len, filters))
    for g in range(groups):
        xg = xp[:, :, g * cin_g : (g + 1) * cin_g]
        kg = kernel[:, :, g * fout : (g + 1) * fout]
        for o in range(out_len):
            for t in range(k):
                y[:, o, g * fout : (g + 1) * fout] += (
                    xg[:, o * strides + t * dilation, :] @ kg[t]
                )
    return y, (left, right)


def numpy_grouped_conv_grads(x, kernel, upstream, groups, strides, padding, dilation):
    """Gradients of sum(y * upstream) w.r.t. x and kernel."""
    batch, length, cin = x.shape
    k, cin_g, filters = kernel.shape
    fout = filters // groups
    left, right = _pad_amounts(length, k, strides, dilation, padding)
    xp = np.pad(x, [(0, 0), (left, right), (0, 0)])
    dxp = np.zeros_like(xp, dtype="float64")
    dk = np.zeros_like(kernel, dtype="float64")
    for g in range(groups):
        cs = slice(g * cin_g, (g + 1) * cin_g)
        fs = slice(g * fout, (g + 1) * fout)
        for o in range(upstream.shape[1]):
            for t in range(k):
                i = o * strides + t * dilation
                dk[t, :, fs] += xp[:, i, cs].T @ upstream[:, o, fs]
                dxp[:, i, cs] += upstream[:, o, fs] @ kernel[t, :, fs].T
    return dxp[:, left : left + length, :], dk


# (in_channels, filters, kernel_size, groups, strides, padding, dilation)
CASES = [
    (8, 8, 3, 2, 1, "same", 1),
    (8, 16, 5, 4, 2, "same", 1),
    (6, 9, 3, 3, 1, "valid", 1),
    (8, 8, 3, 8, 3, "valid", 1),
    (4, 8, 3, 2, 1, "same", 2),
    (4, 4, 3, 2, 1, "causal", 2),
    (4, 6, 1, 1, 1, "same", 1),
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_matches_conv1d_and_numpy_forward_and_gradients(case, impl):
    cin, filters, k, groups, s, padding, d = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 13, cin)).astype("float32")
    layer = GroupedConv1D(
        filters, k, groups=groups, strides=s, padding=padding, dilation_rate=d,
        use_bias=True, bias_initializer="random_normal", implementation=impl,
    )
    layer.build(x.shape)
    reference = keras.layers.Conv1D(
        filters, k, groups=groups, strides=s, padding=padding, dilation_rate=d
    )
    reference.build(x.shape)
    reference.set_weights(layer.get_weights())
    assert [w.shape for w in layer.weights] == [w.shape for w in reference.weights]

    xt = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        y = layer(xt)
        y_ref = reference(xt)
        upstream = tf.constant(rng.standard_normal(y.shape).astype("float32"))
        loss = tf.reduce_sum(y * upstream)
        loss_ref = tf.reduce_sum(y_ref * upstream)
    dx, dk = tape.gradient(loss, [xt, layer.kernel.value])
    dx_ref, dk_ref = tape.gradient(loss_ref, [xt, reference.kernel.value])

    kernel, bias = (w.astype("float64") for w in layer.get_weights())
    y_np, _ = numpy_grouped_conv(x.astype("float64"), kernel, groups, s, padding, d)
    y_np += bias
    dx_np, dk_np = numpy_grouped_conv_grads(
        x.astype("float64"), kernel, upstream.numpy().astype("float64"), groups, s, padding, d
    )

    assert tuple(y.shape) == layer.compute_output_shape(x.shape) == tuple(y_ref.shape)
    np.testing.assert_allclose(y, y_ref, atol=1e-5)
    np.testing.assert_allclose(y, y_np, atol=1e-5)
    np.testing.assert_allclose(dx, dx_ref, atol=1e-5)
    np.testing.assert_allclose(dx, dx_np, atol=1e-5)
    np.testing.assert_allclose(dk, dk_ref, atol=1e-5)
    np.testing.assert_allclose(dk, dk_np, atol=1e-5)


@pytest.mark.parametrize("impl", IMPLS)
def test_graph_mode_and_mixed_precision(impl):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 11, 8)).astype("float32")
    full = GroupedConv1D(8, 3, groups=4, implementation=impl)
    half = GroupedConv1D(8, 3, groups=4, implementation=impl, dtype="mixed_float16")
    full.build(x.shape)
    half.build(x.shape)
    half.set_weights(full.get_weights())
    y_graph = tf.function(lambda t: full(t))(tf.constant(x))
    y_half = half(x)
    assert half.kernel.dtype == "float32"
    assert y_half.dtype == tf.float16
    np.testing.assert_allclose(y_graph, full(x), atol=1e-6)
    np.testing.assert_allclose(np.asarray(y_half, "float32"), full(x), atol=2e-2)


def test_auto_resolves_per_machine_and_is_kept_in_config():
    layer = GroupedConv1D(8, 3, groups=2)
    layer.build((None, 10, 4))
    expected = "native" if tf.config.list_physical_devices("GPU") else "block_diagonal"
    assert layer.resolved_implementation == expected == resolve_implementation("auto")
    assert layer.get_config()["implementation"] == "auto"


def _layers():
    return [
        GroupedConv1D(
            8, 3, groups=2, strides=2, padding="valid", use_bias=True,
            kernel_regularizer="l2", implementation="split", name="g",
        ),
        ResNeXtBlock1D(
            16, groups=4, bottleneck_width=8, kernel_size=3, strides=2,
            squeeze_excite=True, se_ratio=0.5, dropout_rate=0.1, name="x",
        ),
        ResNeXtBlock1D(8, groups=2, kernel_size=3, name="x_identity"),
        ResidualBlock1D(
            16, kernel_size=3, strides=2, squeeze_excite=True, dropout_rate=0.2, name="r"
        ),
        ResidualBlock1D(8, kernel_size=3, name="r_identity"),
    ]


@pytest.mark.parametrize("index", range(5))
def test_config_round_trip_shapes_and_keras_file(index, tmp_path):
    layer = _layers()[index]
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config

    inputs = keras.Input((12, 8))
    outputs = layer(inputs)
    assert tuple(outputs.shape) == layer.compute_output_shape((None, 12, 8))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(2).standard_normal((3, 12, 8)).astype("float32")
    y = model.predict(x, verbose=0)
    assert y.shape == layer.compute_output_shape(x.shape)
    path = tmp_path / "layer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.layers[1]) is type(layer)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), y)


def test_weights_move_between_implementations(tmp_path):
    def model(impl):
        inputs = keras.Input((10, 8))
        x = GroupedConv1D(8, 3, groups=4, implementation=impl, name="g")(inputs)
        x = ResNeXtBlock1D(16, groups=4, kernel_size=3, implementation=impl, name="b")(x)
        return keras.Model(inputs, x)

    x = np.random.default_rng(3).standard_normal((2, 10, 8)).astype("float32")
    native = model("native")
    expected = native.predict(x, verbose=0)
    native.save_weights(tmp_path / "native.weights.h5")
    for impl in ["split", "block_diagonal"]:
        other = model(impl)
        other.load_weights(tmp_path / "native.weights.h5")
        np.testing.assert_allclose(other.predict(x, verbose=0), expected, atol=1e-5)
        other.set_weights(native.get_weights())
        np.testing.assert_allclose(other.predict(x, verbose=0), expected, atol=1e-5)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: GroupedConv1D(10, 3, groups=4), "filters=10, groups=4"),
        (lambda: GroupedConv1D(8, 3, groups=0), "groups=0"),
        (lambda: GroupedConv1D(8, 3, groups=-2), "groups=-2"),
        (lambda: GroupedConv1D(8, 3, groups=2, implementation="fast"), "implementation='fast'"),
        (lambda: GroupedConv1D(8, 3, groups=2, padding="full"), "padding='full'"),
        (lambda: GroupedConv1D(8, 3, groups=2, strides=2, dilation_rate=2), "dilation_rate=2"),
        (lambda: GroupedConv1D(8, 0, groups=2), "kernel_size=0"),
        (lambda: ResNeXtBlock1D(16, groups=3), "groups=3"),
        (lambda: ResNeXtBlock1D(16, groups=4, bottleneck_width=6), "bottleneck_width=6"),
        (lambda: ResNeXtBlock1D(16, groups=0), "groups=0"),
        (lambda: ResNeXtBlock1D(16, implementation="xla"), "implementation='xla'"),
        (lambda: ResidualBlock1D(16, dropout_rate=1.5), "dropout_rate=1.5"),
        (lambda: ResidualBlock1D(0), "filters=0"),
    ],
)
def test_bad_arguments_raise_value_error_echoing_value(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make()


def test_input_channels_not_divisible_by_groups():
    layer = GroupedConv1D(8, 3, groups=4)
    with pytest.raises(ValueError, match="input channels=6, groups=4"):
        layer(np.zeros((1, 10, 6), "float32"))


def test_auto_on_cpu_uses_split_for_wide_layers():
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("CPU-only rule")
    assert resolve_implementation("auto", 256, 256) == "split"
    assert resolve_implementation("auto", 32, 32) == "block_diagonal"
    assert resolve_implementation("native", 32, 32) == "native"


def _registered_layers():
    """Every layer class ecgnet registers for .keras files."""
    import ecgnet.layers
    import ecgnet.normalization

    found = []
    for module in (ecgnet.layers, ecgnet.normalization):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, keras.layers.Layer) and value.__module__ == module.__name__:
                if keras.saving.get_registered_name(value).startswith("ecgnet>"):
                    found.append(value)
    return found


def test_every_registered_layer_saves_every_constructor_argument():
    """A constructor argument missing from get_config() is lost in a .keras file; the round trip above cannot see it
    (the config is compared with its own reload), so the keys are compared with the signature here."""
    import inspect

    classes = _registered_layers()
    assert {cls.__name__ for cls in classes} >= {
        "GroupedConv1D", "ResNeXtBlock1D", "ResidualBlock1D", "InputRecipe", "ProductOfExperts", "PatientAdaptation",
        "FusedBatchNormalization"}
    for cls in classes:
        parameters = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs", "args"}
        if not parameters:  # FusedBatchNormalization takes Keras' BatchNormalization arguments as **kwargs
            parameters = set(inspect.signature(keras.layers.BatchNormalization.__init__).parameters) - {"self", "kwargs"}
        layer = _layers()[0] if cls is GroupedConv1D else None
        config = (layer or _default_instance(cls)).get_config()
        assert parameters <= set(config), (cls.__name__, sorted(parameters - set(config)))


def _default_instance(cls):
    arguments = {"GroupedConv1D": (8, 3), "ResNeXtBlock1D": (16,), "ResidualBlock1D": (16,)}
    return cls(*arguments.get(cls.__name__, ()))


@pytest.mark.parametrize("index", range(5))
def test_config_holds_the_values_given(index):
    """Each value given to the constructor comes back in get_config(), not only its key."""
    given = [
        dict(filters=8, kernel_size=3, groups=2, strides=2, padding="valid", use_bias=True, implementation="split"),
        dict(filters=16, groups=4, bottleneck_width=8, kernel_size=3, strides=2, squeeze_excite=True, se_ratio=0.5,
             dropout_rate=0.1),
        dict(filters=8, groups=2, kernel_size=3),
        dict(filters=16, kernel_size=3, strides=2, squeeze_excite=True, dropout_rate=0.2),
        dict(filters=8, kernel_size=3),
    ][index]
    config = _layers()[index].get_config()
    for key, value in given.items():
        assert config[key] == value, (key, config[key], value)
