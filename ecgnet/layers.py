"""Layers for 1-D heartbeat networks: grouped convolution and residual blocks.

- ``GroupedConv1D``: the mathematics of ``keras.layers.Conv1D(groups=...)``
  with a choice of implementation, because the native grouped convolution is
  very slow on CPU in TensorFlow (it is compiled with XLA per call).
- ``ResNeXtBlock1D``: the ResNeXt bottleneck block (Xie et al. 2017, fig. 3c),
  with optional squeeze-and-excitation (Hu et al. 2018).
- ``ResidualBlock1D``: the plain ResNet basic block (He et al. 2016).
- ``InputRecipe``: an identity on the beat input that keeps, in the saved
  model, which beat channels and R-R features the model takes.
- ``ProductOfExperts``: the normalised product of several models'
  probabilities (a network times an R-R regression).
- ``PatientAdaptation``: an identity on the probabilities that keeps, in a
  model adapted to one patient, which beats of which record adapted it.

The convolution and block layers take ``(batch, steps, channels)`` inputs
(channels last); ``ProductOfExperts`` and ``PatientAdaptation`` take
``(batch, classes)`` probabilities.
"""

import numpy as np

import keras
from keras import ops

from ecgnet import recipe as input_recipes
from ecgnet.errors import EcgnetError
from ecgnet.normalization import FusedBatchNormalization

IMPLEMENTATIONS = ("auto", "native", "split", "block_diagonal")
PADDINGS = ("valid", "same", "causal")


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise EcgnetError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def _rate(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise EcgnetError(
            f"`{name}` must be a number in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def _conv_length(length, kernel_size, strides, padding, dilation_rate):
    """Output length of a 1-D convolution (None stays None)."""
    if length is None:
        return None
    if padding == "valid":
        effective = (kernel_size - 1) * dilation_rate + 1
        return max(0, (length - effective) // strides + 1)
    return (length + strides - 1) // strides


def all_sublayers(model):
    """Every layer inside ``model``, nested ones included (the blocks' convolutions and batch normalizations).

    ``keras.Model.layers`` lists only the top level, and Keras 3 has no public
    recursive walk: this is the one place ecgnet calls Keras' private
    ``_flatten_layers``, so that a Keras release that renames it breaks one
    function, with this note beside it.

    Args:
        model: a ``keras.Model`` or layer.

    Returns:
        list of ``keras.layers.Layer``, ``model`` itself left out.

    Example:
        >>> from ecgnet.models import build_ecgnet
        >>> model = build_ecgnet("small")
        >>> len(model.layers) < len(all_sublayers(model))
        True
    """
    return list(model._flatten_layers(include_self=False, recursive=True))


def gpu_available():
    """True when the Keras backend (TensorFlow, JAX or PyTorch) sees a GPU.

    Asks the backend Keras runs on: TensorFlow's physical GPU devices, JAX's
    devices of platform ``"gpu"`` or ``torch.cuda.is_available()``; any
    other backend gives False.

    Returns:
        bool.

    Example:
        >>> isinstance(gpu_available(), bool)
        True
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return any(device.platform == "gpu" for device in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


#: On CPU, ``"auto"`` uses ``"block_diagonal"`` while the full kernel has at
#: most this many entries per tap (``in_channels * filters``) and ``"split"``
#: above it. See ``GroupedConv1D`` for the measurements.
BLOCK_DIAGONAL_MAX_KERNEL = 128 * 128


def resolve_implementation(implementation, in_channels=None, filters=None):
    """Turn ``"auto"`` into the implementation that is fastest on this machine.

    On a GPU this is ``"native"`` (cuDNN runs grouped convolutions directly).
    On CPU it is ``"block_diagonal"`` for small channel counts
    (``in_channels * filters <= BLOCK_DIAGONAL_MAX_KERNEL``, or when the
    channel counts are not given) and ``"split"`` for larger ones; the
    measurements are in ``GroupedConv1D``'s docstring. Other values are
    returned unchanged.

    Args:
        implementation: str, one of :data:`IMPLEMENTATIONS`; only ``"auto"``
            is resolved, and nothing is checked.
        in_channels: int or None, the convolution's input channels.
        filters: int or None, its output channels.

    Returns:
        str, ``"native"``, ``"split"`` or ``"block_diagonal"`` for
        ``"auto"``, else ``implementation`` itself.

    Example:
        >>> resolve_implementation("split")
        'split'
        >>> resolve_implementation("auto", 32, 32) == ("native" if gpu_available() else "block_diagonal")
        True
        >>> resolve_implementation("auto", 256, 256) == ("native" if gpu_available() else "split")
        True
    """
    if implementation != "auto":
        return implementation
    if gpu_available():
        return "native"
    if in_channels is not None and filters is not None:
        if in_channels * filters > BLOCK_DIAGONAL_MAX_KERNEL:
            return "split"
    return "block_diagonal"


@keras.saving.register_keras_serializable(package="ecgnet")
class GroupedConv1D(keras.layers.Layer):
    """1-D grouped convolution with a selectable implementation.

    The input channels are split into ``groups`` equal groups and each group is
    convolved with its own ``filters // groups`` filters; the outputs are
    concatenated. This is exactly ``keras.layers.Conv1D(filters, kernel_size,
    groups=groups, ...)``, and the layer stores one kernel with Conv1D's layout
    ``(kernel_size, in_channels // groups, filters)`` (and a bias of shape
    ``(filters,)``), so weights move freely between this layer and Conv1D and
    between models built with different implementations.

    Implementations (all give the same result up to float rounding):

    - ``"native"``: one grouped ``keras.ops.conv`` call, i.e. what
      ``Conv1D(groups=...)`` does. Fast on GPU (cuDNN); on CPU TensorFlow has
      no grouped kernel, so Keras compiles every call with XLA, which trains
      many times slower.
    - ``"split"``: slice the input and the kernel per group, run one ordinary
      convolution per group and concatenate.
    - ``"block_diagonal"``: place the grouped kernel on the diagonal blocks of a
      full ``(kernel_size, in_channels, filters)`` kernel (zeros elsewhere) and
      run one ordinary convolution: ``groups`` times the FLOPs but a single
      kernel call.
    - ``"auto"``: resolved when the layer is built, from the devices
      TensorFlow sees: ``"native"`` with a GPU (cuDNN supports groups; the
      speed figures in ``docs/results.md`` are CPU figures), otherwise ``"block_diagonal"``
      when ``in_channels * filters <= 128 * 128`` and ``"split"`` above.
      ``get_config()`` keeps ``"auto"``, so a loaded model chooses again on
      the machine that loads it; ``resolved_implementation`` tells the choice.

    Measured on 2 shared CPU cores (TF 2.21, Keras 3.15), forward + backward
    of one layer in a ``tf.function``, batch 128, kernel 5, milliseconds per
    step (two interleaved runs for split/block_diagonal; noisy):

    ==========================  =========  ==============  ======
    steps, channels, groups     split      block_diagonal  native
    ==========================  =========  ==============  ======
    47, 32 -> 32, 8             6.6 / 7.9  1.8 / 2.4       72
    24, 64 -> 64, 8             11 / 15    7.4 / 4.5       302
    12, 96 -> 96, 8             14 / 14    8.6 / 4.1       223
    47, 128 -> 128, 8           38 / 97    32 / 97         2731
    24, 256 -> 256, 8           63 / 44    225 / 221       2533
    94, 64 -> 64, 32            110 / 109  21 / 26         6152
    24, 256 -> 256, 32          114 / 167  128 / 81        11826
    ==========================  =========  ==============  ======

    ``"native"`` is 10 to 100 times slower on CPU (Keras compiles TF's
    grouped convolution with XLA on CPU); ``"block_diagonal"`` wins while its
    extra FLOPs are cheap and ``"split"`` wins for wide layers. Whole-model
    numbers: ``benchmarks/measure/bench_models.py``.

    Args:
        filters: int, number of output channels; divisible by ``groups``.
        kernel_size: int, width of the convolution window.
        groups: int, number of groups (as in Keras, not channels per group);
            input channels and ``filters`` must both be divisible by it.
        strides: int, stride of the convolution.
        padding: ``"valid"``, ``"same"`` or ``"causal"``.
        dilation_rate: int, dilation rate; cannot exceed 1 when ``strides`` does.
        use_bias: bool, whether to add a bias.
        kernel_initializer: initializer for the kernel.
        bias_initializer: initializer for the bias.
        kernel_regularizer: optional regularizer for the kernel.
        implementation: ``"auto"``, ``"native"``, ``"split"`` or
            ``"block_diagonal"``.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Input shape:
        3D tensor ``(batch, steps, channels)``.

    Output shape:
        3D tensor ``(batch, new_steps, filters)``; ``new_steps`` is
        ``ceil(steps / strides)`` for ``"same"`` and ``"causal"`` padding.

    Raises:
        EcgnetError: a non-positive ``filters``, ``kernel_size``, ``groups``,
            ``strides`` or ``dilation_rate``, ``filters`` not divisible by
            ``groups``, ``strides`` and ``dilation_rate`` both above 1, an
            unknown ``padding`` or ``implementation``; when built, input
            channels unknown or not divisible by ``groups``.

    Example:

    >>> x = np.random.rand(4, 187, 16).astype("float32")
    >>> y = GroupedConv1D(32, 5, groups=4, strides=2)(x)
    >>> print(y.shape)
    (4, 94, 32)

    Reference:
        Krizhevsky et al. 2012, "ImageNet Classification with Deep
        Convolutional Neural Networks" (grouped convolution);
        Xie et al. 2017, "Aggregated Residual Transformations for Deep
        Neural Networks".
    """

    def __init__(
        self,
        filters,
        kernel_size,
        groups,
        strides=1,
        padding="same",
        dilation_rate=1,
        use_bias=False,
        kernel_initializer="he_normal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        implementation="auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = _positive_int("filters", filters)
        self.kernel_size = _positive_int("kernel_size", kernel_size)
        self.groups = _positive_int("groups", groups)
        self.strides = _positive_int("strides", strides)
        self.dilation_rate = _positive_int("dilation_rate", dilation_rate)
        if self.filters % self.groups:
            raise EcgnetError(
                "`filters` must be divisible by `groups`. "
                f"Received: filters={filters}, groups={groups}"
            )
        if self.strides > 1 and self.dilation_rate > 1:
            raise EcgnetError(
                "`strides` > 1 cannot be combined with `dilation_rate` > 1. "
                f"Received: strides={strides}, dilation_rate={dilation_rate}"
            )
        if padding not in PADDINGS:
            raise EcgnetError(
                f"`padding` must be one of {PADDINGS}. Received: padding={padding!r}"
            )
        if implementation not in IMPLEMENTATIONS:
            raise EcgnetError(
                f"`implementation` must be one of {IMPLEMENTATIONS}. "
                f"Received: implementation={implementation!r}"
            )
        self.padding = padding
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.implementation = implementation
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, input_shape):
        in_channels = input_shape[-1]
        if in_channels is None:
            raise EcgnetError(
                "The channel dimension of the input must be known. "
                f"Received: input_shape={input_shape}"
            )
        if in_channels % self.groups:
            raise EcgnetError(
                "The number of input channels must be divisible by `groups`. "
                f"Received: input channels={in_channels}, groups={self.groups}, "
                f"input_shape={input_shape}"
            )
        self.in_channels = in_channels
        self.resolved_implementation = resolve_implementation(
            self.implementation, in_channels, self.filters
        )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, in_channels // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer
            )
        else:
            self.bias = None
        # Block mask for "block_diagonal": entry (i, j) is 1 when input channel
        # i and output channel j belong to the same group.
        in_group = np.arange(in_channels) // (in_channels // self.groups)
        out_group = np.arange(self.filters) // (self.filters // self.groups)
        self._block_mask = (in_group[:, None] == out_group[None, :]).astype("float32")
        self.input_spec = keras.layers.InputSpec(ndim=3, axes={-1: in_channels})

    def _conv(self, inputs, kernel, padding):
        return ops.conv(
            inputs,
            kernel,
            strides=self.strides,
            padding=padding,
            data_format="channels_last",
            dilation_rate=self.dilation_rate,
        )

    def call(self, inputs):
        padding = self.padding
        if padding == "causal":
            left = (self.kernel_size - 1) * self.dilation_rate
            inputs = ops.pad(inputs, [[0, 0], [left, 0], [0, 0]])
            padding = "valid"
        kernel = self.kernel
        implementation = self.resolved_implementation
        if self.groups == 1:
            outputs = self._conv(inputs, kernel, padding)
        elif implementation == "native":
            outputs = self._conv(inputs, kernel, padding)
        elif implementation == "split":
            cin = self.in_channels // self.groups
            fout = self.filters // self.groups
            outputs = ops.concatenate(
                [
                    self._conv(
                        inputs[:, :, g * cin : (g + 1) * cin],
                        kernel[:, :, g * fout : (g + 1) * fout],
                        padding,
                    )
                    for g in range(self.groups)
                ],
                axis=-1,
            )
        else:  # block_diagonal
            full = ops.tile(kernel, [1, self.groups, 1])
            mask = ops.cast(self._block_mask, full.dtype)
            outputs = self._conv(inputs, full * mask, padding)
        if self.use_bias:
            outputs = outputs + self.bias
        return outputs

    def compute_output_shape(self, input_shape):
        length = _conv_length(
            input_shape[1],
            self.kernel_size,
            self.strides,
            self.padding,
            self.dilation_rate,
        )
        return (input_shape[0], length, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "groups": self.groups,
                "strides": self.strides,
                "padding": self.padding,
                "dilation_rate": self.dilation_rate,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(
                    self.kernel_regularizer
                ),
                "implementation": self.implementation,
            }
        )
        return config


class _SqueezeExcite(keras.layers.Layer):
    """Squeeze-and-excitation on (batch, steps, channels); internal helper."""

    def __init__(self, channels, ratio, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.ratio = ratio
        hidden = max(1, int(round(channels * ratio)))
        self.reduce = keras.layers.Dense(
            hidden,
            activation="relu",
            kernel_regularizer=kernel_regularizer,
            name="reduce",
            dtype=self.dtype_policy,
        )
        self.expand = keras.layers.Dense(
            channels,
            activation="sigmoid",
            kernel_regularizer=kernel_regularizer,
            name="expand",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        self.reduce.build((input_shape[0], input_shape[-1]))
        self.expand.build((input_shape[0], self.reduce.units))

    def call(self, inputs):
        scale = self.expand(self.reduce(ops.mean(inputs, axis=1)))
        return inputs * ops.expand_dims(scale, 1)

    def compute_output_shape(self, input_shape):
        return input_shape


class _ResidualBase(keras.layers.Layer):
    """Shared plumbing: projection shortcut, SE, dropout, output shape."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides,
        squeeze_excite,
        se_ratio,
        dropout_rate,
        kernel_regularizer,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = _positive_int("filters", filters)
        self.kernel_size = _positive_int("kernel_size", kernel_size)
        self.strides = _positive_int("strides", strides)
        self.squeeze_excite = bool(squeeze_excite)
        if isinstance(se_ratio, bool) or not isinstance(se_ratio, (int, float)) or not 0 < se_ratio <= 1:
            raise EcgnetError(
                f"`se_ratio` must be a number in (0, 1]. Received: se_ratio={se_ratio!r}"
            )
        self.se_ratio = float(se_ratio)
        self.dropout_rate = _rate("dropout_rate", dropout_rate)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.input_spec = keras.layers.InputSpec(ndim=3)
        policy = self.dtype_policy
        self.dropout = keras.layers.Dropout(self.dropout_rate, name="dropout", dtype=policy)
        self.se = (
            _SqueezeExcite(filters, self.se_ratio, kernel_regularizer, name="se", dtype=policy)
            if self.squeeze_excite
            else None
        )
        self.add = keras.layers.Add(name="add", dtype=policy)
        self.out_relu = keras.layers.ReLU(name="out", dtype=policy)

    def _conv(self, filters, kernel_size, strides, name):
        return keras.layers.Conv1D(
            filters,
            kernel_size,
            strides=strides,
            padding="same",
            use_bias=False,
            kernel_initializer="he_normal",
            kernel_regularizer=self.kernel_regularizer,
            name=name,
            dtype=self.dtype_policy,
        )

    def _bn(self, name):
        return FusedBatchNormalization(
            momentum=0.9, epsilon=1e-5, name=name, dtype=self.dtype_policy
        )

    def _build_shortcut(self, input_shape):
        in_channels = input_shape[-1]
        if in_channels is None:
            raise EcgnetError(
                f"The channel dimension of the input must be known. Received: input_shape={input_shape}"
            )
        self.in_channels = in_channels
        if self.strides != 1 or in_channels != self.filters:
            self.shortcut_conv = self._conv(self.filters, 1, self.strides, "shortcut_conv")
            self.shortcut_bn = self._bn("shortcut_bn")
            self.shortcut_conv.build(input_shape)
            self.shortcut_bn.build(self.shortcut_conv.compute_output_shape(input_shape))
        else:
            self.shortcut_conv = None
            self.shortcut_bn = None

    def _finish(self, residual, inputs, training):
        if self.se is not None:
            residual = self.se(residual)
        shortcut = inputs
        if self.shortcut_conv is not None:
            shortcut = self.shortcut_bn(self.shortcut_conv(inputs), training=training)
        return self.out_relu(self.add([residual, shortcut]))

    def _build_residual_path(self, input_shape, conv_bn_pairs):
        """Build shortcut, each (conv, bn) pair in order, then SE; set the input spec."""
        self._build_shortcut(input_shape)
        shape = input_shape
        for conv, bn in conv_bn_pairs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            bn.build(shape)
        if self.se is not None:
            self.se.build(shape)
        self.input_spec = keras.layers.InputSpec(ndim=3, axes={-1: input_shape[-1]})

    def compute_output_shape(self, input_shape):
        length = _conv_length(input_shape[1], 1, self.strides, "same", 1)
        return (input_shape[0], length, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "squeeze_excite": self.squeeze_excite,
                "se_ratio": self.se_ratio,
                "dropout_rate": self.dropout_rate,
                "kernel_regularizer": keras.regularizers.serialize(
                    self.kernel_regularizer
                ),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="ecgnet")
class ResNeXtBlock1D(_ResidualBase):
    """ResNeXt bottleneck block for 1-D signals.

    ``1x1 conv (bottleneck_width) -> BN -> ReLU -> grouped conv (kernel_size,
    groups, strides) -> BN -> ReLU -> dropout -> 1x1 conv (filters) -> BN
    -> [squeeze-and-excitation] -> + shortcut -> ReLU``. The shortcut is the
    identity when the shape is unchanged, otherwise a projection (1x1 conv
    with stride ``strides`` followed by BN). This is form (c) of fig. 3 in
    Xie et al. (2017): the aggregated transformations written as one grouped
    convolution.

    Args:
        filters: int, number of output channels.
        groups: int, number of groups (cardinality) of the middle convolution.
        bottleneck_width: int or None, channels of the middle (grouped)
            convolution, divisible by ``groups``; None means ``filters // 2``.
        kernel_size: int, width of the grouped convolution.
        strides: int, stride of the grouped convolution and of the shortcut.
        squeeze_excite: bool, whether to add squeeze-and-excitation.
        se_ratio: float in (0, 1], SE hidden units as a fraction of ``filters``.
        dropout_rate: float in [0, 1), dropout after the grouped convolution.
        kernel_regularizer: optional regularizer for every kernel.
        implementation: implementation of the grouped convolution, see
            ``GroupedConv1D``.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Input shape:
        3D tensor ``(batch, steps, channels)``.

    Output shape:
        3D tensor ``(batch, ceil(steps / strides), filters)``.

    Raises:
        EcgnetError: a non-positive ``filters``, ``groups``,
            ``bottleneck_width``, ``kernel_size`` or ``strides``, a bottleneck
            width not divisible by ``groups``, ``se_ratio`` outside (0, 1],
            ``dropout_rate`` outside [0, 1), an unknown ``implementation``;
            when built, input channels unknown.

    Example:

    >>> x = np.random.rand(4, 94, 32).astype("float32")
    >>> y = ResNeXtBlock1D(64, groups=8, strides=2)(x)
    >>> print(y.shape)
    (4, 47, 64)

    Reference:
        Xie et al. 2017, "Aggregated Residual Transformations for Deep Neural
        Networks" (CVPR), https://arxiv.org/abs/1611.05431;
        Hu et al. 2018, "Squeeze-and-Excitation Networks" (CVPR),
        https://arxiv.org/abs/1709.01507.
    """

    def __init__(
        self,
        filters,
        groups=8,
        bottleneck_width=None,
        kernel_size=5,
        strides=1,
        squeeze_excite=False,
        se_ratio=0.25,
        dropout_rate=0.0,
        kernel_regularizer=None,
        implementation="auto",
        **kwargs,
    ):
        super().__init__(
            filters,
            kernel_size,
            strides,
            squeeze_excite,
            se_ratio,
            dropout_rate,
            kernel_regularizer,
            **kwargs,
        )
        self.groups = _positive_int("groups", groups)
        if bottleneck_width is None:
            width = self.filters // 2
        else:
            width = _positive_int("bottleneck_width", bottleneck_width)
        if width % self.groups:
            raise EcgnetError(
                "The bottleneck width must be divisible by `groups`. Received: "
                f"bottleneck_width={bottleneck_width} (width {width}), groups={groups}"
            )
        if implementation not in IMPLEMENTATIONS:
            raise EcgnetError(
                f"`implementation` must be one of {IMPLEMENTATIONS}. "
                f"Received: implementation={implementation!r}"
            )
        self.bottleneck_width = bottleneck_width
        self.width = width
        self.implementation = implementation
        policy = self.dtype_policy
        self.conv1 = self._conv(width, 1, 1, "conv1")
        self.bn1 = self._bn("bn1")
        self.relu1 = keras.layers.ReLU(name="relu1", dtype=policy)
        self.conv2 = GroupedConv1D(
            width,
            self.kernel_size,
            groups=self.groups,
            strides=self.strides,
            padding="same",
            kernel_regularizer=self.kernel_regularizer,
            implementation=implementation,
            name="conv2",
            dtype=policy,
        )
        self.bn2 = self._bn("bn2")
        self.relu2 = keras.layers.ReLU(name="relu2", dtype=policy)
        self.conv3 = self._conv(self.filters, 1, 1, "conv3")
        self.bn3 = self._bn("bn3")

    def build(self, input_shape):
        self._build_residual_path(
            input_shape, [(self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)]
        )

    def call(self, inputs, training=None):
        x = self.relu1(self.bn1(self.conv1(inputs), training=training))
        x = self.relu2(self.bn2(self.conv2(x), training=training))
        x = self.dropout(x, training=training)
        x = self.bn3(self.conv3(x), training=training)
        return self._finish(x, inputs, training)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "groups": self.groups,
                "bottleneck_width": self.bottleneck_width,
                "implementation": self.implementation,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="ecgnet")
class ResidualBlock1D(_ResidualBase):
    """ResNet basic block for 1-D signals.

    ``conv (kernel_size, strides) -> BN -> ReLU -> dropout -> conv
    (kernel_size) -> BN -> [squeeze-and-excitation] -> + shortcut -> ReLU``,
    with a projection shortcut (1x1 conv with stride ``strides`` + BN) when
    the shape changes.

    Args:
        filters: int, number of output channels.
        kernel_size: int, width of both convolutions.
        strides: int, stride of the first convolution and of the shortcut.
        squeeze_excite: bool, whether to add squeeze-and-excitation.
        se_ratio: float in (0, 1], SE hidden units as a fraction of ``filters``.
        dropout_rate: float in [0, 1), dropout between the two convolutions.
        kernel_regularizer: optional regularizer for every kernel.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Input shape:
        3D tensor ``(batch, steps, channels)``.

    Output shape:
        3D tensor ``(batch, ceil(steps / strides), filters)``.

    Raises:
        EcgnetError: a non-positive ``filters``, ``kernel_size`` or
            ``strides``, ``se_ratio`` outside (0, 1], ``dropout_rate``
            outside [0, 1); when built, input channels unknown.

    Example:

    >>> x = np.random.rand(4, 187, 16).astype("float32")
    >>> y = ResidualBlock1D(32, kernel_size=5, strides=2)(x)
    >>> print(y.shape)
    (4, 94, 32)

    Reference:
        He et al. 2016, "Deep Residual Learning for Image Recognition" (CVPR),
        https://arxiv.org/abs/1512.03385.
    """

    def __init__(
        self,
        filters,
        kernel_size=5,
        strides=1,
        squeeze_excite=False,
        se_ratio=0.25,
        dropout_rate=0.0,
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(
            filters,
            kernel_size,
            strides,
            squeeze_excite,
            se_ratio,
            dropout_rate,
            kernel_regularizer,
            **kwargs,
        )
        self.conv1 = self._conv(self.filters, self.kernel_size, self.strides, "conv1")
        self.bn1 = self._bn("bn1")
        self.relu1 = keras.layers.ReLU(name="relu1", dtype=self.dtype_policy)
        self.conv2 = self._conv(self.filters, self.kernel_size, 1, "conv2")
        self.bn2 = self._bn("bn2")

    def build(self, input_shape):
        self._build_residual_path(input_shape, [(self.conv1, self.bn1), (self.conv2, self.bn2)])

    def call(self, inputs, training=None):
        x = self.relu1(self.bn1(self.conv1(inputs), training=training))
        x = self.dropout(x, training=training)
        x = self.bn2(self.conv2(x), training=training)
        return self._finish(x, inputs, training)



class _Identity(keras.layers.Layer):
    """A layer without weights that returns its input unchanged: the base of the layers that only keep facts."""

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="ecgnet")
class InputRecipe(_Identity):
    """Identity on the beat input that keeps, in a saved model, which inputs the model needs.

    It holds an :class:`ecgnet.recipe.InputRecipe` (:attr:`recipe`): the
    beat window (:data:`ecgnet.recipe.WINDOWS`), how many of its beat
    channels (:data:`ecgnet.recipe.BEAT_CHANNELS`: the beat, its difference
    from its record's median beat, the previous beat, the same three of the
    second lead; :data:`ecgnet.recipe.CENTRED_CHANNELS`) and which R-R
    features (:data:`ecgnet.recipe.RR_FEATURE_SETS`). Its config is that
    recipe's :meth:`~ecgnet.recipe.InputRecipe.to_config`, so a saved
    ``.keras`` file says what it needs and
    :meth:`ecgnet.recipe.InputRecipe.from_model` reads it back. It has no
    weights and returns its input unchanged: the model computes exactly what
    it would without it. The builders of :mod:`ecgnet.models` put it right
    after the ``beat`` input (``beat -> input_recipe -> stem``).

    Args:
        beat_channels: int, how many of the window's beat channels the beat
            input holds (the first ``beat_channels`` of them, in order): 1 to
            6 for ``"kachuee"``, 1 or 2 for ``"centred"``.
        rr_features: None (no R-R input), or the R-R feature set of the
            ``rr`` input: its width 3, 5 or 6 or its name ``"relative"``,
            ``"rhythm"`` or ``"all"`` (:data:`ecgnet.recipe.RR_FEATURE_NAMES`).
            Kept as the width.
        window: ``"kachuee"`` (the beat from its R peak on, 187 samples) or
            ``"centred"`` (P wave to T wave around the R peak, 88 samples).
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Input shape:
        3D tensor ``(batch, steps, beat_channels)``.

    Output shape:
        The input, unchanged: ``(batch, steps, beat_channels)``.

    Example:

    >>> layer = InputRecipe(beat_channels=3, rr_features="relative")
    >>> layer.get_config()["rr_features"], str(layer.recipe)
    (3, 'kachuee:beat,relative,previous+rr=relative')
    >>> beat = keras.Input((187, 3), name="beat")
    >>> layer(beat).shape
    (None, 187, 3)
    """

    def __init__(self, beat_channels=1, rr_features=None, window="kachuee", **kwargs):
        super().__init__(**kwargs)
        self._recipe = input_recipes.InputRecipe(window, beat_channels, rr_features)
        self.supports_masking = True
        self.input_spec = keras.layers.InputSpec(ndim=3, axes={-1: self._recipe.beat_channels})

    @classmethod
    def from_recipe(cls, recipe, **kwargs):
        """The layer that holds ``recipe`` (an :class:`ecgnet.recipe.InputRecipe`).

        Args:
            recipe: an :class:`ecgnet.recipe.InputRecipe`.
            **kwargs: base layer arguments (``name``, ``dtype``, ...).

        Returns:
            An ``InputRecipe`` layer whose :attr:`recipe` equals ``recipe``.

        Example:
            >>> from ecgnet import recipe as input_recipes
            >>> wanted = input_recipes.InputRecipe("centred", 2, "relative")
            >>> layer = InputRecipe.from_recipe(wanted, name="input_recipe")
            >>> layer.recipe == wanted, layer.name
            (True, 'input_recipe')
        """
        return cls(**recipe.to_config(), **kwargs)

    @property
    def recipe(self):
        """The :class:`ecgnet.recipe.InputRecipe` this layer keeps."""
        return self._recipe

    @property
    def window(self):
        """str, the beat window: ``"kachuee"`` (187 samples from the R peak) or ``"centred"`` (88 around it)."""
        return self._recipe.window

    @property
    def beat_channels(self):
        """tuple of str, the beat channels in order (``"beat"``, ``"relative"``, ...)."""
        return self._recipe.beat_channels

    @property
    def rr_features(self):
        """int or None, the width of the R-R input (a key of :data:`ecgnet.recipe.RR_FEATURE_SETS`), None without one."""
        return self._recipe.rr_features

    def get_config(self):
        config = super().get_config()
        config.update(self._recipe.to_config())
        return config


@keras.saving.register_keras_serializable(package="ecgnet")
class ProductOfExperts(keras.layers.Layer):
    """Combine the class probabilities of several models by their product, renormalised.

    Where one model is confident a class is absent (probability near 0), the
    product is too: each expert can veto. For a network that reads a beat's
    shape and a regression that reads its rhythm, a beat is called S only if
    neither rules it out. ``softmax(sum_i log p_i)`` is computed, which equals
    ``prod_i p_i / sum_classes prod_i p_i``; probabilities are clipped to
    ``epsilon`` first so that one exact zero does not give NaN.

    Args:
        epsilon: float, the smallest probability taken (default 1e-7).
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Input shape:
        A list of 2D tensors of the same shape ``(batch, classes)``, probabilities.

    Output shape:
        2D tensor ``(batch, classes)``, probabilities.

    Raises:
        EcgnetError: ``epsilon`` not a number in (0, 1).

    Example:

    >>> p = np.array([[0.5, 0.5]], "float32"); q = np.array([[0.2, 0.8]], "float32")
    >>> np.round(keras.ops.convert_to_numpy(ProductOfExperts()([p, q])), 3)
    array([[0.2, 0.8]], dtype=float32)
    """

    def __init__(self, epsilon=1e-7, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or not 0 < epsilon < 1:
            raise EcgnetError(f"`epsilon` must be a number in (0, 1). Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)

    def call(self, inputs):
        logs = [keras.ops.log(keras.ops.clip(keras.ops.cast(p, "float32"), self.epsilon, 1.0)) for p in inputs]
        return keras.ops.softmax(sum(logs[1:], logs[0]), axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config


@keras.saving.register_keras_serializable(package="ecgnet")
class PatientAdaptation(_Identity):
    """Identity on the class probabilities that keeps, in an adapted model, the beats it was adapted on.

    A model adapted to one patient (:func:`ecgnet.adapt`, ``python -m ecgnet
    adapt``) is that patient's model: which record, how many minutes, which
    beats (their R-peak times) and with which labels. Saved in the ``.keras``
    file with it, they let :func:`ecgnet.predict_record` mark those beats and
    apply the patient's rhythm gate (:func:`ecgnet.adaptation.rhythm_gate`)
    when the saved model labels its record again, as it did when adapting in
    memory. It has no weights and returns its input unchanged.

    Args:
        record: str, the record's name (its file name without extension).
        minutes: float, the labelled span from the record's start.
        times: list of float, the R-peak times in seconds of the beats the
            model was adapted on (rounded to 1 ms).
        labels: list of str, their classes (``"N"``, ``"S"``, ``"V"``, ``"F"`` or ``"Q"``).
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Input shape:
        2D tensor ``(batch, classes)``, probabilities.

    Output shape:
        The input, unchanged: ``(batch, classes)``.

    Raises:
        EcgnetError: ``times`` and ``labels`` of different lengths, a label
            that is not a class name, or ``minutes`` not a number >= 0.

    Example:

    >>> layer = PatientAdaptation(record="232", minutes=5.0, times=[0.35, 1.2], labels=["N", "S"])
    >>> layer.get_config()["labels"]
    ['N', 'S']
    >>> p = np.array([[0.9, 0.1]], "float32")
    >>> keras.ops.convert_to_numpy(layer(p)).tolist() == p.tolist()
    True
    """

    def __init__(self, record="", minutes=0.0, times=(), labels=(), **kwargs):
        super().__init__(**kwargs)
        from ecgnet.data.classes import CLASS_NAMES

        times, labels = [round(float(t), 3) for t in times], [str(label) for label in labels]
        if len(times) != len(labels):
            raise EcgnetError(f"PatientAdaptation: {len(times)} times but {len(labels)} labels")
        unknown = sorted(set(labels) - set(CLASS_NAMES))
        if unknown:
            raise EcgnetError(f"PatientAdaptation: labels must be among {', '.join(CLASS_NAMES)}. Received: {unknown}")
        if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or not minutes >= 0:
            raise EcgnetError(f"PatientAdaptation: minutes must be a number >= 0. Received: minutes={minutes!r}")
        self.record, self.minutes, self.times, self.labels = str(record), float(minutes), times, labels
        self.supports_masking = True

    def get_config(self):
        config = super().get_config()
        config.update({"record": self.record, "minutes": self.minutes, "times": list(self.times),
                       "labels": list(self.labels)})
        return config
