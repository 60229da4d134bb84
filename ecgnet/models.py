"""Model builders: ``build_ecgnet`` (ResNeXt-1D presets) and ``build_kachuee2018``.

Both return Functional ``keras.Model`` objects with hierarchical layer names
(``stem_conv``, ``stage2_block1``, ``block3_add``, ...) whose first input is
named ``"beat"`` (shape ``(187, 1)`` by default: one MIT-BIH beat at 125 Hz).
Right after that input sits an ``input_recipe`` layer
(:class:`ecgnet.layers.InputRecipe`, an identity) that keeps which beat
channels and R-R features the model takes, derived from ``input_shape`` and
``rr_features``; :meth:`ecgnet.recipe.InputRecipe.from_model` reads it
back from any model, and from the input shapes of older files without it. The last layer is a
float32 softmax, so the models also work under the ``"mixed_float16"`` policy.
"""

import keras
from keras import layers

from ecgnet.errors import EcgnetError
from ecgnet.layers import IMPLEMENTATIONS, InputRecipe, ResNeXtBlock1D
from ecgnet.normalization import FusedBatchNormalization
from ecgnet.recipe import InputRecipe as Recipe
from ecgnet.recipe import window_of_length

#: Thin presets for ``build_ecgnet``. Every field can be overridden by a
#: keyword argument of the same name.
#:
#: - ``stem_filters``, ``stem_kernel_size``, ``stem_strides``: the stem conv.
#: - ``stem_pool``: max-pool (3, stride 2) after the stem, or not.
#: - ``stage_filters``, ``stage_blocks``: output channels and number of
#:   ResNeXt blocks per stage; every stage after the first starts with a
#:   stride-2 block.
#: - ``groups``, ``bottleneck_ratio``, ``kernel_size``: ResNeXt block shape
#:   (bottleneck width = ``bottleneck_ratio * filters``, rounded to a
#:   multiple of ``groups``).
#: - ``squeeze_excite``, ``block_dropout``, ``head_dropout``: regularisation.
#: - ``beat_dropout``: with R-R features only, the share of training beats
#:   whose pooled shape features are dropped whole, so that the head must
#:   also learn to classify from the R-R features alone (modality dropout,
#:   Neverova et al. 2016, "ModDrop"); 0 turns it off.
#: - ``implementation``: of the grouped convolution (see ``GroupedConv1D``).
PRESETS = {
    # CPU-friendly default: 124,933 parameters, 3.7 MFLOPs per beat;
    # downsampling x4 before the first block (stride-2 stem + pool), SE,
    # moderate dropout. 4 epochs on 30k training beats: 96.9% accuracy on
    # 10k test beats, one seed (Kachuee baseline, same run: 96.3%).
    "small": dict(
        stem_filters=32,
        stem_kernel_size=7,
        stem_strides=2,
        stem_pool=True,
        stage_filters=(64, 128, 192),
        stage_blocks=(1, 1, 1),
        groups=8,
        bottleneck_ratio=0.5,
        kernel_size=5,
        squeeze_excite=True,
        block_dropout=0.1,
        head_dropout=0.3,
        beat_dropout=0.0,
        implementation="auto",
    ),
    # Meant for a GPU: wider, deeper, more groups; 1,271,749 parameters,
    # 62.6 MFLOPs per beat.
    "large": dict(
        stem_filters=64,
        stem_kernel_size=7,
        stem_strides=2,
        stem_pool=False,
        stage_filters=(128, 256, 512),
        stage_blocks=(2, 3, 2),
        groups=32,
        bottleneck_ratio=0.5,
        kernel_size=5,
        squeeze_excite=True,
        block_dropout=0.1,
        head_dropout=0.4,
        beat_dropout=0.0,
        implementation="auto",
    ),
}


__all__ = ["PRESETS", "build_ecgnet", "build_kachuee2018", "build_named_model"]


def _beat_input(input_shape, rr_features):
    """The ``beat`` input, and the ``input_recipe`` layer on it, derived from the shapes.

    Returns ``(beat, x)``: the input, and the tensor the network starts from.
    Inputs that an :class:`ecgnet.recipe.InputRecipe` describes (the window
    whose length ``input_shape[0]`` is, else ``"kachuee"``; ``input_shape[-1]``
    of its channels; an R-R width of :data:`ecgnet.recipe.RR_FEATURE_SETS`)
    get an ``InputRecipe`` layer that holds it; others (a builder used for
    other data, e.g. 4 custom R-R features) get none, since no recipe of this
    package makes them, and ``x`` is the input.
    """
    input_shape = tuple(input_shape)
    beat = keras.Input(shape=input_shape, name="beat")
    try:
        recipe = Recipe(window_of_length(input_shape[0]) or "kachuee", input_shape[-1], rr_features or None)
    except EcgnetError:
        return beat, beat
    return beat, InputRecipe.from_recipe(recipe, name="input_recipe")(beat)


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise EcgnetError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def build_ecgnet(
    preset="small", input_shape=(187, 1), num_classes=5, rr_features=0, **overrides
):
    """Build the ResNeXt-1D heartbeat classifier.

    ``beat -> input_recipe -> stem_conv -> stem_bn -> stem_relu [->
    stem_pool] -> stages of ResNeXtBlock1D (stage{i}_block{j}) -> pool (global average) [->
    beat_dropout -> concat with the RR features] -> head_dropout -> logits
    -> predictions (float32 softmax)``.

    Args:
        preset: str, a key of ``PRESETS`` (``"small"`` or ``"large"``).
        input_shape: tuple, shape of one beat, ``(steps, channels)``;
            ``channels`` 1 to 6 are the beat channels of
            :data:`ecgnet.data.BEAT_CHANNELS`.
        num_classes: int, number of classes (5 AAMI classes N, S, V, F, Q).
        rr_features: int, number of RR-interval features (3, 5 or 6 are the
            sets of :data:`ecgnet.data.RR_FEATURE_SETS`); when positive the
            model has a second input named ``"rr"`` of shape
            ``(rr_features,)``, batch-normalised, passed through a small Dense
            layer and concatenated with the pooled features. The channels and
            this width go into the model's ``input_recipe`` layer
            (:class:`ecgnet.layers.InputRecipe`) when :mod:`ecgnet.data` builds
            such inputs; other ones give a model without that layer.
        **overrides: any field of the preset, e.g. ``groups=4`` or
            ``implementation="split"``.

    Returns:
        A Functional ``keras.Model`` named ``"ecgnet_<preset>"``, inputs
        ``beat`` (and ``rr``), output ``(batch, num_classes)`` probabilities.

    Raises:
        EcgnetError: an unknown preset or preset field, ``num_classes`` not a
            positive integer, ``rr_features`` not a non-negative integer, an
            unknown ``implementation``, ``groups`` not a positive integer,
            ``stage_filters`` and ``stage_blocks`` of different lengths, or
            ``beat_dropout`` outside [0, 1) or without R-R features.

    Example:

    >>> model = build_ecgnet("small")
    >>> print(model.output_shape)
    (None, 5)
    """
    if preset not in PRESETS:
        raise EcgnetError(
            f"Unknown preset. Known presets: {sorted(PRESETS)}. Received: preset={preset!r}"
        )
    config = dict(PRESETS[preset])
    unknown = sorted(set(overrides) - set(config))
    if unknown:
        raise EcgnetError(
            f"Unknown preset fields {unknown}. Known fields: {sorted(config)}. "
            f"Received: {', '.join(f'{k}={overrides[k]!r}' for k in unknown)}"
        )
    config.update(overrides)
    _check_positive_int("num_classes", num_classes)
    if isinstance(rr_features, bool) or not isinstance(rr_features, int) or rr_features < 0:
        raise EcgnetError(
            f"`rr_features` must be a non-negative integer. Received: rr_features={rr_features!r}"
        )
    if len(config["stage_filters"]) != len(config["stage_blocks"]):
        raise EcgnetError(
            "`stage_filters` and `stage_blocks` must have the same length. Received: "
            f"stage_filters={config['stage_filters']}, stage_blocks={config['stage_blocks']}"
        )
    if config["implementation"] not in IMPLEMENTATIONS:
        raise EcgnetError(
            f"`implementation` must be one of {IMPLEMENTATIONS}. "
            f"Received: implementation={config['implementation']!r}"
        )
    groups = config["groups"]
    _check_positive_int("groups", groups)
    beat_dropout = config["beat_dropout"]
    if isinstance(beat_dropout, bool) or not isinstance(beat_dropout, (int, float)) or not 0 <= beat_dropout < 1:
        raise EcgnetError(f"`beat_dropout` must be a number in [0, 1). Received: beat_dropout={beat_dropout!r}")
    if beat_dropout and not rr_features:
        raise EcgnetError(
            "`beat_dropout` drops the beat's shape features so that the head learns from the R-R features; "
            f"it needs rr_features > 0. Received: beat_dropout={beat_dropout!r}, rr_features={rr_features!r}"
        )

    beat, x = _beat_input(input_shape, rr_features)
    x = layers.Conv1D(
        config["stem_filters"],
        config["stem_kernel_size"],
        strides=config["stem_strides"],
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        name="stem_conv",
    )(x)
    x = FusedBatchNormalization(momentum=0.9, epsilon=1e-5, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    if config["stem_pool"]:
        x = layers.MaxPooling1D(3, strides=2, padding="same", name="stem_pool")(x)
    for stage, (filters, blocks) in enumerate(
        zip(config["stage_filters"], config["stage_blocks"]), start=1
    ):
        width = int(round(filters * config["bottleneck_ratio"] / groups)) * groups
        width = max(width, groups)
        for block in range(1, blocks + 1):
            x = ResNeXtBlock1D(
                filters,
                groups=groups,
                bottleneck_width=width,
                kernel_size=config["kernel_size"],
                strides=2 if (block == 1 and stage > 1) else 1,
                squeeze_excite=config["squeeze_excite"],
                dropout_rate=config["block_dropout"],
                implementation=config["implementation"],
                name=f"stage{stage}_block{block}",
            )(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    inputs = [beat]
    if rr_features:
        rr = keras.Input(shape=(rr_features,), name="rr")
        inputs.append(rr)
        r = layers.BatchNormalization(name="rr_bn")(rr)
        r = layers.Dense(16, activation="relu", name="rr_dense")(r)
        if beat_dropout:
            # noise_shape (batch, 1): one coin per beat drops all its shape features at once.
            x = layers.Dropout(beat_dropout, noise_shape=(None, 1), name="beat_dropout")(x)
        x = layers.Concatenate(name="concat")([x, r])
    x = layers.Dropout(config["head_dropout"], name="head_dropout")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
    return keras.Model(
        inputs if rr_features else beat, outputs, name=f"ecgnet_{preset}"
    )


def build_kachuee2018(input_shape=(187, 1), num_classes=5, rr_features=0):
    """Build the baseline CNN of Kachuee, Fazeli and Sarrafzadeh (2018), fig. 2.

    ``input_recipe`` (:class:`ecgnet.layers.InputRecipe`), then ``conv0``
    (32 filters, width 5) then five residual blocks ``block{i}``:
    ``conv1 (32x5) -> ReLU -> conv2 (32x5) -> add (skip) -> ReLU -> MaxPool
    (5, stride 2)``, then ``flatten -> fc1 (32, ReLU) -> fc2 (32, ReLU) ->
    predictions (softmax)``. The figure reads "FC 32, ReLU, FC 32, Softmax";
    we read the softmax as a third, ``num_classes``-wide Dense layer, which
    gives 55,013 parameters for 187 x 1 inputs and 5 classes (the paper's
    size is about 55k ... 53k depending on this reading). Convolutions use
    ``"same"`` padding, pools ``"valid"``: 187 -> 92 -> 44 -> 20 -> 8 -> 2.

    With ``rr_features`` the network also reads the beat's R-R features
    (not in the paper): a second input ``rr`` goes through the same branch as
    in :func:`build_ecgnet` (``rr_bn``, ``rr_dense`` of 16 ReLU units) and joins
    the flattened beat features before ``fc1`` (``concat``), so that the two
    architectures can be compared on equal inputs.

    Args:
        input_shape: tuple, shape of one beat, ``(steps, channels)``.
        num_classes: int, number of classes.
        rr_features: int, number of R-R features (0: the beat alone, as in the paper).

    Returns:
        A Functional ``keras.Model`` named ``"kachuee2018"`` with input ``beat``
        (and ``rr`` when ``rr_features`` > 0).

    Input shape:
        ``(batch, steps, channels)``, and ``(batch, rr_features)`` for ``rr``.

    Output shape:
        ``(batch, num_classes)``, class probabilities.

    Raises:
        EcgnetError: ``num_classes`` not a positive integer, or
            ``rr_features`` not a non-negative integer.

    Example:

    >>> model = build_kachuee2018()
    >>> print(model.count_params())
    55013
    >>> build_kachuee2018(rr_features=6).input_shape
    [(None, 187, 1), (None, 6)]

    Reference:
        Kachuee, Fazeli and Sarrafzadeh 2018, "ECG Heartbeat Classification:
        A Deep Transferable Representation", https://arxiv.org/abs/1805.00794.
    """
    _check_positive_int("num_classes", num_classes)
    if isinstance(rr_features, bool) or not isinstance(rr_features, int) or rr_features < 0:
        raise EcgnetError(f"`rr_features` must be a non-negative integer. Received: rr_features={rr_features!r}")
    beat, x = _beat_input(input_shape, rr_features)
    x = layers.Conv1D(32, 5, padding="same", name="conv0")(x)
    for i in range(1, 6):
        y = layers.Conv1D(32, 5, padding="same", activation="relu", name=f"block{i}_conv1")(x)
        y = layers.Conv1D(32, 5, padding="same", name=f"block{i}_conv2")(y)
        x = layers.Add(name=f"block{i}_add")([x, y])
        x = layers.ReLU(name=f"block{i}_relu")(x)
        x = layers.MaxPooling1D(5, strides=2, name=f"block{i}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    inputs = beat
    if rr_features:
        rr = keras.Input(shape=(rr_features,), name="rr")
        inputs = [beat, rr]
        r = layers.BatchNormalization(name="rr_bn")(rr)
        r = layers.Dense(16, activation="relu", name="rr_dense")(r)
        x = layers.Concatenate(name="concat")([x, r])
    x = layers.Dense(32, activation="relu", name="fc1")(x)
    x = layers.Dense(32, activation="relu", name="fc2")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name="kachuee2018")


def build_named_model(preset, input_shape=(187, 1), rr_features=0, recipe=None, **overrides):
    """Build a model by name: a :data:`PRESETS` key, or ``"kachuee2018"`` for the baseline.

    What ``python -m ecgnet train --preset NAME --recipe TEXT`` builds.

    Args:
        preset: str, ``"small"``, ``"large"`` (:func:`build_ecgnet`) or
            ``"kachuee2018"`` (:func:`build_kachuee2018`: single-channel
            ``(187, 1)`` beats, no R-R features, no overrides).
        input_shape: tuple ``(steps, channels)`` of one beat.
        rr_features: int, width of the R-R input (0: none).
        recipe: None, or an :class:`ecgnet.recipe.InputRecipe` (or its text,
            :meth:`~ecgnet.recipe.InputRecipe.parse`) that gives both
            ``input_shape`` and ``rr_features`` instead.
        **overrides: preset fields for :func:`build_ecgnet`, e.g. ``beat_dropout=0.3``.

    Returns:
        A Functional ``keras.Model``.

    Raises:
        EcgnetError: an unknown preset (the message lists the known ones), or
            ``"kachuee2018"`` with other inputs or overrides.

    Example:
        >>> build_named_model("kachuee2018").name
        'kachuee2018'
        >>> build_named_model("small", (187, 3), rr_features=3).input_shape
        [(None, 187, 3), (None, 3)]
        >>> build_named_model("small", recipe="centred:beat,relative+rr=relative").input_shape
        [(None, 88, 2), (None, 3)]
    """
    if recipe is not None:
        recipe = Recipe.parse(recipe) if isinstance(recipe, str) else recipe
        input_shape, rr_features = recipe.beat_shape, recipe.rr_features or 0
    if preset == "kachuee2018":
        if rr_features or overrides or tuple(input_shape) != (187, 1):
            raise EcgnetError(
                "preset 'kachuee2018' is the paper's layout, for single-channel (187, 1) beats only, "
                "without R-R features (--no-rr), extra beat channels (--no-relative) or beat_dropout. Received: "
                f"input_shape={tuple(input_shape)}, rr_features={rr_features}, overrides={overrides}"
            )
        return build_kachuee2018()
    if preset not in PRESETS:
        raise EcgnetError(
            f"Unknown preset. Known presets: {sorted(PRESETS) + ['kachuee2018']}. Received: preset={preset!r}"
        )
    return build_ecgnet(preset, input_shape=tuple(input_shape), rr_features=rr_features, **overrides)
