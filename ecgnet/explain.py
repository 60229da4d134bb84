"""What a heartbeat classifier looks at: integrated gradients and 1-D Grad-CAM.

Both return one number per time step of the beat (and per channel for
integrated gradients): how much that sample pushed the model towards a class.

Example:
    >>> from ecgnet.pretrained_models import pretrained
    >>> model = pretrained("ecgnet-mitbih")
    >>> rng = np.random.default_rng(0)
    >>> x, rr = rng.random((4, 187, 1), dtype="float32"), rng.random((4, 6), dtype="float32")
    >>> integrated_gradients(model, {"beat": x, "rr": rr}, steps=8).shape
    (4, 187, 1)
"""

import numpy as np
import tensorflow as tf

from ecgnet.errors import EcgnetError


def _split_inputs(model, inputs):
    """(beat array, other inputs dict or None, beat input name) from an array or a dict."""
    if isinstance(inputs, dict):
        names = [tensor.name.split(":")[0] for tensor in model.inputs]
        beat_name = "beat" if "beat" in inputs else names[0]
        if beat_name not in inputs:
            raise EcgnetError(f"inputs is a dict without the beat input {beat_name!r}. Received keys: {sorted(inputs)}")
        others = {key: tf.constant(np.asarray(value, dtype="float32")) for key, value in inputs.items() if key != beat_name}
        return np.asarray(inputs[beat_name], dtype="float32"), others, beat_name
    return np.asarray(inputs, dtype="float32"), None, None


def _call(model, beat, others, beat_name):
    if others is None:
        return model(beat, training=False)
    return model({beat_name: beat, **others}, training=False)


def _target_classes(model, beat, others, beat_name, target_class):
    n = beat.shape[0]
    if target_class is None:
        return np.asarray(_call(model, tf.constant(beat), others, beat_name)).argmax(axis=-1)
    target = np.broadcast_to(np.asarray(target_class, dtype="int64"), (n,)).copy()
    classes = int(model.outputs[0].shape[-1])
    if target.size and (target.min() < 0 or target.max() >= classes):  # tf.one_hot would give a row of zeros
        raise EcgnetError(f"target_class must lie in 0..{classes - 1}, the model's classes. Received: {target_class!r}")
    return target


def integrated_gradients(model, inputs, target_class=None, baseline=None, steps=64):
    """Integrated gradients of a model's class score with respect to the beat input.

    For a beat ``x``, a baseline ``x'`` and the score ``f`` of the target class
    (the model's output for it, a probability for ecgnet's softmax models), the
    attribution of sample ``i`` is

        (x_i - x'_i) * integral over a in [0, 1] of df/dx_i (x' + a (x - x')) da

    computed with the trapezoidal rule on ``steps`` intervals. The attributions
    add up to ``f(x) - f(x')`` (completeness), up to the error of the rule:
    raise ``steps`` when the two differ. For a linear model they are exactly
    ``(x - x') * w``.

    With a dict input (``{"beat": ..., "rr": ...}``), only the beat moves along
    the path; the other inputs stay at their values, so the attributions add up
    to ``f(beat, rr) - f(baseline, rr)``: what the beat's *shape* adds, given its
    R-R features.

    Args:
        model: a Keras model whose output is (batch, classes).
        inputs: float array (n, steps, channels) of beats, or a dict of the
            model's inputs with the beats under ``"beat"``.
        target_class: None (each beat's predicted class), an int, or an int
            array (n,).
        baseline: None (all zeros: the flat line at the padding value of
            beats scaled to [0, 1]), or an array broadcastable to the beats.
        steps: int >= 1, intervals of the path integral.

    Returns:
        float32 array with the shape of the beats: the attributions.

    Raises:
        EcgnetError: ``steps`` not a positive integer, beats without a batch
            axis, a dict without the beat input, or a ``target_class``
            outside the model's classes.

    Example:
        The attributions add up to the change of the class score (an
        untrained network here):

        >>> from ecgnet.models import build_ecgnet
        >>> model = build_ecgnet("small")
        >>> beats = np.random.default_rng(0).random((2, 187, 1), dtype="float32")
        >>> attributions = integrated_gradients(model, beats, target_class=0, steps=128)
        >>> attributions.shape
        (2, 187, 1)
        >>> change = model.predict(beats, verbose=0)[:, 0] - model.predict(np.zeros_like(beats), verbose=0)[:, 0]
        >>> bool(np.allclose(attributions.sum(axis=(1, 2)), change, atol=1e-2))
        True

        On test beats of a prepared data folder:

        >>> from ecgnet.data import load_part, model_inputs
        >>> from ecgnet.pretrained_models import pretrained
        >>> model = pretrained("ecgnet-mitbih")
        >>> test_part = load_part("data/mitbih-kaggle", "test")  # doctest: +SKIP
        >>> integrated_gradients(model, model_inputs(model, test_part, index=[0, 1])).shape  # doctest: +SKIP
        (2, 187, 1)

    Reference:
        Sundararajan, Taly and Yan (2017), "Axiomatic Attribution for Deep
        Networks", ICML (https://arxiv.org/abs/1703.01365).
    """
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise EcgnetError(f"steps must be a positive integer. Received: steps={steps!r}")
    beat, others, beat_name = _split_inputs(model, inputs)
    if beat.ndim < 2:
        raise EcgnetError(f"inputs must hold a batch of beats (n, steps, channels). Received shape: {beat.shape}")
    reference = np.zeros_like(beat) if baseline is None else np.broadcast_to(np.asarray(baseline, "float32"), beat.shape)
    target = _target_classes(model, beat, others, beat_name, target_class)
    one_hot = tf.one_hot(target, depth=int(model.outputs[0].shape[-1]), dtype="float32")
    difference = beat - reference
    total = np.zeros_like(beat)
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] = 0.5 / steps  # trapezoidal rule on [0, 1]
    for alpha, weight in zip(np.linspace(0.0, 1.0, steps + 1), weights):
        point = tf.constant((reference + alpha * difference).astype("float32"))
        with tf.GradientTape() as tape:
            tape.watch(point)
            scores = tf.reduce_sum(tf.cast(_call(model, point, others, beat_name), "float32") * one_hot, axis=-1)
        total += weight * tape.gradient(scores, point).numpy()
    return (difference * total).astype("float32")


def _last_sequence_layer(model):
    """The name of the last non-input layer with a (batch, steps, channels) output."""
    import keras

    for layer in reversed(model.layers):
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = getattr(getattr(layer, "output", None), "shape", None)
        if shape is not None and len(shape) == 3:
            return layer.name
    raise EcgnetError("the model has no layer with a (batch, steps, channels) output: pass layer_name")


def grad_cam_1d(model, inputs, layer_name=None, target_class=None):
    """Grad-CAM for a 1-D convolutional model: where in the beat the evidence for a class sits.

    The feature maps ``A_k`` of a convolutional layer are weighted by the mean
    over time of the gradient of the class score with respect to them,
    ``alpha_k = mean_t dy/dA_k(t)``; the map is ``ReLU(sum_k alpha_k A_k(t))``,
    linearly interpolated to the beat's length. It is coarser than
    :func:`integrated_gradients` (the layer's resolution) and ignores evidence
    against the class.

    Args:
        model: a Keras model whose output is (batch, classes).
        inputs: float array (n, steps, channels), or a dict of the model's
            inputs with the beats under ``"beat"``.
        layer_name: str or None, the convolutional layer (None: the last layer
            with a (batch, steps, channels) output). Layers are looked up
            among the model's top-level layers: for an ensemble of
            :func:`ecgnet.ensembles.build_ensemble`, whose networks are nested
            models, pass one network (``model.get_layer("member_0")``).
        target_class: None (each beat's predicted class), an int, or an int array (n,).

    Returns:
        float32 array (n, steps): the class-activation map of each beat, >= 0.

    Raises:
        EcgnetError: ``layer_name`` is None and the model has no top-level
            layer with a (batch, steps, channels) output, a dict without the
            beat input, or a ``target_class`` outside the model's classes.

    Example:
        >>> from ecgnet.models import build_ecgnet
        >>> model = build_ecgnet("small")
        >>> beats = np.random.default_rng(0).random((2, 187, 1), dtype="float32")
        >>> cam = grad_cam_1d(model, beats)
        >>> cam.shape, bool((cam >= 0).all())
        ((2, 187), True)
        >>> from ecgnet.pretrained_models import pretrained
        >>> network = pretrained("ecgnet-mitbih").get_layer("member_0")
        >>> grad_cam_1d(network, {"beat": beats, "rr": np.ones((2, 6), "float32")}).shape
        (2, 187)

    Reference:
        Selvaraju et al. (2017), "Grad-CAM: Visual Explanations from Deep
        Networks via Gradient-based Localization", ICCV.
    """
    import keras

    beat, others, beat_name = _split_inputs(model, inputs)
    layer_name = layer_name or _last_sequence_layer(model)
    probe = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])
    target = _target_classes(model, beat, others, beat_name, target_class)
    one_hot = tf.one_hot(target, depth=int(model.outputs[0].shape[-1]), dtype="float32")
    with tf.GradientTape() as tape:
        maps, outputs = _call(probe, tf.constant(beat), others, beat_name)
        scores = tf.reduce_sum(tf.cast(outputs, "float32") * one_hot, axis=-1)
    gradients = tape.gradient(scores, maps)
    maps, gradients = np.asarray(maps, "float32"), np.asarray(gradients, "float32")
    cam = np.maximum((gradients.mean(axis=1, keepdims=True) * maps).sum(axis=-1), 0.0)
    length = beat.shape[1]
    positions = (np.arange(cam.shape[1]) + 0.5) * length / cam.shape[1] - 0.5
    return np.stack([np.interp(np.arange(length), positions, row) for row in cam]).astype("float32")
