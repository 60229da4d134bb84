# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 – The building blocks of a ResNeXt-1D heartbeat classifier
#
# _Residual blocks, grouped convolutions, ResNeXt's split-transform-merge and squeeze-and-excitation,
# built by hand, checked against the ecgnet library, then assembled into the whole model._
#
# <a href="https://colab.research.google.com/github/ecgnet-org/ecgnet/blob/main/notebooks/02_building_blocks.ipynb" target="_parent"><img src="https://colab.research.google.com/assets/colab-badge.svg" alt="Open In Colab"/></a>

# %% [markdown]
# ## Setup
#
# In Colab the next cell fetches the repository and installs `ecgnet`; elsewhere, install it once
# from the repository root with `pip install -e .`, as the README does. This notebook trains only
# two small networks for a few epochs, on the sample of real beats that ships with the package: a
# CPU runtime is enough. The committed outputs come from a full run on 2 CPU cores shared with
# other jobs; its last code cell prints how long it took.

# %%
import sys

if "google.colab" in sys.modules:  # extra code – Colab only: fetch the repository and install ecgnet
    REPOSITORY = "/content/ecgnet"  # absolute: setup() below makes it the working directory
    # !test -d {REPOSITORY} || git clone --depth 1 https://github.com/ecgnet-org/ecgnet {REPOSITORY}
    # %pip install -q -e {REPOSITORY}
    if REPOSITORY not in sys.path:  # the running kernel does not see the fresh install yet
        sys.path.insert(0, REPOSITORY)

# %%
from ecgnet import notebook

env = notebook.setup()

# %% [markdown]
# ## Parameters
#
# Only the short training reads data (the sample in `ecgnet/data/sample`, which needs no download);
# `QUICK` makes the gradient experiment shallower and the training shorter for the tests.

# %% tags=["parameters"]
QUICK = False            # True: a shallower gradient experiment and a shorter training (CI)
PRESET = "small"         # the build_ecgnet preset we look at
DEPTH = None             # layers in the gradient experiment; None: 8 (quick) / 30 (full)
TRAIN_DEPTH = None       # layers of the two networks trained on the sample; None: 4 (quick) / 20 (full)
TRAIN_EPOCHS = None      # their epochs; None: 1 (quick) / 2 (full)

# %%
DEPTH = DEPTH or (8 if QUICK else 30)
TRAIN_DEPTH = TRAIN_DEPTH or (4 if QUICK else 20)
TRAIN_EPOCHS = TRAIN_EPOCHS or (1 if QUICK else 2)
import time

started, started_cpu = time.perf_counter(), time.process_time()
import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import layers

from ecgnet.data import load_split
from ecgnet.layers import GroupedConv1D, ResidualBlock1D, ResNeXtBlock1D, resolve_implementation
from ecgnet.models import PRESETS, build_ecgnet
from ecgnet.recipe import InputRecipe
from ecgnet.normalization import FusedBatchNormalization

keras.utils.set_random_seed(0)
beats = np.random.default_rng(0).random((4, 187, 1)).astype("float32")  # a batch of 4 random "beats"
print("input:", beats.shape)

# %% [markdown]
# ## Residual learning
#
# Adding layers to a network should never hurt in principle: the extra layers could learn the
# identity. Yet He et al. (2016) found that deeper *plain* networks reach a *higher training
# error* than shallower ones, even with batch normalisation keeping their gradients in a healthy
# range. This **degradation problem** is not overfitting (the training error is worse) but an
# optimisation difficulty: it is hard for a stack of nonlinear layers to fit something close to
# the identity. Their answer: let each block learn a *residual* `F(x)` and output `x + F(x)`.
# A block that should do little only has to push `F` towards zero, and the derivative of the
# block's output with respect to its input is
#
# $$\frac{\partial (x + F(x))}{\partial x} = I + \frac{\partial F}{\partial x},$$
#
# so the gradient has a **direct route** through the identity term of every block back to the
# first layers, added to the route through `F`. It is not passed back unchanged: the `∂F/∂x`
# terms add to it, block after block.
#
# An experiment shows both sides. `DEPTH` convolution + tanh layers, at initialisation, in four
# arms: plain; with a skip connection around each layer; with a skip connection and batch
# normalisation inside each branch, as in ResNet's blocks; and plain with batch normalisation after
# every convolution, the plain networks He et al. compared against. We measure the size of the
# gradient of the loss with respect to every layer's kernel:

# %%
def stack(depth, kind):
    inputs = keras.Input((187, 1))
    x = layers.Conv1D(16, 5, padding="same", name="first")(inputs)
    for i in range(depth):
        y = layers.Conv1D(16, 5, padding="same", name=f"conv{i}")(x)
        if kind.endswith("batch norm"):
            y = layers.BatchNormalization(name=f"bn{i}")(y)
        y = layers.Activation("tanh")(y)
        x = y if kind.startswith("plain") else layers.Add()([x, y])
    outputs = layers.Dense(5, activation="softmax")(layers.GlobalAveragePooling1D()(x))
    return keras.Model(inputs, outputs)


labels = np.array([0, 1, 2, 3])
gradient_norms = {}
for kind in ("plain", "skip", "skip + batch norm", "plain + batch norm"):  # one seed, drawn in this order
    model = stack(DEPTH, kind)
    kernels = [model.get_layer("first").kernel] + [model.get_layer(f"conv{i}").kernel for i in range(DEPTH)]
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(labels, model(beats, training=True))
    gradient_norms[kind] = [float(tf.norm(g)) for g in tape.gradient(loss, kernels)]
    print(f"{kind:>18}: |gradient| of the first layer {gradient_norms[kind][0]:.2e}, "
          f"of the last {gradient_norms[kind][-1]:.2e}")
print(f"first layer, skip / plain: {gradient_norms['skip'][0] / gradient_norms['plain'][0]:.0f} times larger")

fig, ax = plt.subplots(figsize=(7, 3.5))
for kind, norms in gradient_norms.items():
    ax.plot(norms, "o-", ms=3, label=kind)
ax.set_yscale("log")
ax.set_xlabel("layer (0 = first)")
ax.set_ylabel("|gradient of the loss| (log)")
ax.set_title(f"Gradient size per layer at initialisation, {DEPTH} layers")
ax.legend()
plt.show()

# %% [markdown]
# Read the numbers printed above. With bare skip connections the first layer's gradient is
# tens to hundreds of times larger than in the plain stack (the factor grows with `DEPTH`): that is
# not a "more usable" gradient but an
# **exploding** one. Every addition `x + F(x)` adds the branch's variance to the signal, so the
# activations, and with them the gradients, grow with depth; a learning rate that suits the
# last layers would throw the first ones far off. With batch normalisation inside each branch
# (what ResNet and our blocks do), the gradient stays within a small factor across all layers.
# At initialisation, with this (Glorot) initialisation, the plain stack's gradient has not
# vanished either, and the plain stack *with* batch normalisation has a first-layer gradient
# larger than its last layer's, not smaller. That is He et al.'s point: their plain networks had
# batch normalisation and healthy gradients, and still trained worse when deeper. The problem
# shows up only during training, which the next experiment runs. The identity route and
# normalisation together are what made networks of 100+ layers trainable.
#
# ### The degradation problem, in a short training
#
# Gradients at initialisation cannot show the degradation problem: it is about how well a deep
# network *trains*. So we train two networks of `TRAIN_DEPTH` layers (convolution with He
# initialisation, batch normalisation, ReLU: the "plain + batch norm" and "skip + batch norm" arms
# above, with ReLU) on the training beats of the sample that ships with the package: one plain, one
# that adds each layer's output to its input. Both have exactly the same weights at the start
# (same seed; an `Add` has no weights). A stride-2 convolution and a max-pool first cut the 187
# steps to 47, as `build_ecgnet`'s stem does, to keep the run short. We compare the *training*
# loss: overfitting cannot explain a difference there.
#
# Their batch normalisation is the library's `FusedBatchNormalization` (`ecgnet.normalization`), which
# every block of `ecgnet.layers` and the model's stem use. It is Keras' `BatchNormalization`, with the
# same arguments, weights and config, whose training step runs TensorFlow's one fused kernel
# instead of about ten separate operations; on a CPU those operations cost more than the small
# convolutions around them (its docstring measures the `small` preset training about 20% faster).
# Inference is Keras' own code. First, that it computes the same function in training mode:

# %%
keras_bn, fused_bn = layers.BatchNormalization(momentum=0.9), FusedBatchNormalization(momentum=0.9)
features_bn = np.random.default_rng(2).normal(3.0, 2.0, (8, 47, 16)).astype("float32")
same_output = np.allclose(keras_bn(features_bn, training=True), fused_bn(features_bn, training=True), atol=1e-4)
same_statistics = all(np.allclose(a, b, atol=1e-5) for a, b in zip(keras_bn.get_weights(), fused_bn.get_weights()))
print("FusedBatchNormalization == BatchNormalization in training: outputs", same_output,
      "| moving mean and variance after the step", same_statistics)


# %%
def deep_net(depth, residual):
    inputs = keras.Input((187, 1))
    x = layers.Conv1D(16, 7, strides=2, padding="same", name="stem_conv")(inputs)
    x = layers.MaxPooling1D(3, strides=2, padding="same", name="stem_pool")(x)  # 47 steps
    for i in range(depth):  # convolution, batch norm, ReLU; the residual net adds the result to its input
        y = layers.Conv1D(16, 5, padding="same", kernel_initializer="he_normal", name=f"conv{i}")(x)
        y = layers.ReLU()(FusedBatchNormalization(name=f"bn{i}")(y))
        x = layers.Add()([x, y]) if residual else y
    outputs = layers.Dense(5, activation="softmax")(layers.GlobalAveragePooling1D()(x))
    return keras.Model(inputs, outputs, name="residual" if residual else "plain")


train, _ = load_split("sample")  # its training part only: we look at the training loss, no test set
training_losses = {}
for kind, residual in ((f"plain, {TRAIN_DEPTH} layers", False), (f"residual, {TRAIN_DEPTH} layers", True)):
    keras.utils.set_random_seed(0)
    network = deep_net(TRAIN_DEPTH, residual)
    network.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    wall, cpu = time.perf_counter(), time.process_time()
    history = network.fit(train.x[..., None], train.y, batch_size=64, epochs=TRAIN_EPOCHS, verbose=0)
    training_losses[kind] = history.history["loss"]
    print(f"{kind:>21}: {network.count_params():,} weights, training loss per epoch "
          f"{' '.join(f'{loss:.3f}' for loss in history.history['loss'])} "
          f"({time.perf_counter() - wall:.0f} s, {time.process_time() - cpu:.0f} s of CPU time)")

fig, ax = plt.subplots(figsize=(6, 3.5))
for kind, losses in training_losses.items():
    ax.plot(range(1, len(losses) + 1), losses, "o-", label=kind)
ax.set_xticks(range(1, TRAIN_EPOCHS + 1))
ax.set_xlabel("epoch")
ax.set_ylabel("training loss (mean over the epoch)")
ax.set_title(f"{len(train):,} training beats of the sample")
ax.legend()
plt.show()

# %% [markdown]
# What the figure shows, on this sample and in this short a run: over the first epoch the
# residual network is *behind*, most likely because it adds up 20 non-negative ReLU outputs, so
# its activations start large (the bare skips' gradients above grew the same way); in the second
# epoch it overtakes the plain one and ends with the lower training loss. The plain network, with the same layers and the same starting weights,
# fits the training beats more slowly. That is the degradation problem in miniature: two epochs
# on 3,000 beats, not He et al.'s curves over many thousands of steps, and with one seed the gap
# could shrink on another draw. Exercise 4 trains longer and a shallower plain net. The training
# time printed above was measured on 2 CPU cores shared with other jobs; on an idle machine it is
# shorter.
#
# ### A residual block by hand
#
# The basic block of ResNet: two convolutions with batch normalisation, added to a *shortcut*.
# When the block changes the number of channels or downsamples (stride 2), the shortcut becomes a
# 1×1 convolution with the same stride (a *projection*) so the shapes match.

# %%
def residual_block_by_hand(filters, kernel_size=5, strides=1, in_channels=1):
    inputs = keras.Input((None, in_channels))
    x = layers.Conv1D(filters, kernel_size, strides=strides, padding="same", use_bias=False, name="conv1")(inputs)
    x = layers.BatchNormalization(epsilon=1e-5, name="bn1")(x)
    x = layers.ReLU()(x)
    x = layers.Conv1D(filters, kernel_size, padding="same", use_bias=False, name="conv2")(x)
    x = layers.BatchNormalization(epsilon=1e-5, name="bn2")(x)
    shortcut = inputs
    if strides != 1 or in_channels != filters:
        shortcut = layers.Conv1D(filters, 1, strides=strides, use_bias=False, name="shortcut_conv")(inputs)
        shortcut = layers.BatchNormalization(epsilon=1e-5, name="shortcut_bn")(shortcut)
    outputs = layers.ReLU()(layers.Add()([x, shortcut]))
    return keras.Model(inputs, outputs, name="residual_block_by_hand")


hand_residual = residual_block_by_hand(32, strides=2, in_channels=1)
print("residual block output:", hand_residual(beats).shape)  # (4, 94, 32): half the steps, 32 channels


# %% [markdown]
# `ecgnet.layers.ResidualBlock1D` is this block as a layer. To check that they compute the same
# function, give the hand-built one random weights (random batch-norm statistics too, so the test
# is not trivial), copy them into the library's block and compare outputs on the same beats. The
# library's `bn1`, `bn2` and `shortcut_bn` are `FusedBatchNormalization` layers; they hold the same
# four weights as Keras' `BatchNormalization` (gamma, beta, moving mean, moving variance), so
# the weights copy one to one:

# %%
def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, variance.shape)])


randomize(hand_residual)
library_residual = ResidualBlock1D(32, kernel_size=5, strides=2)
library_residual.build(beats.shape)
for name in ("conv1", "bn1", "conv2", "bn2", "shortcut_conv", "shortcut_bn"):
    getattr(library_residual, name).set_weights(hand_residual.get_layer(name).get_weights())

same = np.allclose(hand_residual(beats, training=False), library_residual(beats, training=False), atol=1e-5)
print("hand-built block == ResidualBlock1D:", same)


# %% [markdown]
# ## Grouped convolution
#
# An ordinary convolution connects every output channel to every input channel. A **grouped**
# convolution with `groups = G` splits the input channels into G groups and gives each group its
# own `filters / G` filters: G small convolutions side by side, concatenated. It has G times fewer
# weights and multiplications. (Keras and ecgnet mean the *number* of groups by `groups`.)
#
# By hand, with plain Keras layers:

# %%
def grouped_conv_by_hand(inputs, filters, kernel_size, groups):
    channels_per_group = inputs.shape[-1] // groups
    outputs = [
        layers.Conv1D(filters // groups, kernel_size, padding="same", use_bias=False, name=f"group{g}")(
            inputs[:, :, g * channels_per_group:(g + 1) * channels_per_group])
        for g in range(groups)
    ]
    return layers.Concatenate(name="concat")(outputs)


features = np.random.default_rng(1).random((4, 94, 32)).astype("float32")  # 32 channels in
groups = 4
inputs = keras.Input((None, 32))
hand_grouped = keras.Model(inputs, grouped_conv_by_hand(inputs, 64, 5, groups))
print("grouped convolution output:", hand_grouped(features).shape)
print("weights: grouped", hand_grouped.count_params(), "vs ordinary", 5 * 32 * 64)  # kernel 5 x 32 in x 64 out

# %% [markdown]
# `GroupedConv1D` keeps one kernel of shape `(kernel_size, in_channels / groups, filters)` (Keras'
# `Conv1D(groups=...)` layout); group `g` uses the columns `g × filters/G ... (g+1) × filters/G`.
# Copy the hand-built kernels into it and compare, for every implementation the library offers,
# and against Keras' own `Conv1D(groups=...)`:

# %%
kernel = np.concatenate([hand_grouped.get_layer(f"group{g}").get_weights()[0] for g in range(groups)], axis=-1)
print("library kernel shape:", kernel.shape)
expected = hand_grouped(features)
for implementation in ("split", "block_diagonal", "native"):
    layer = GroupedConv1D(64, 5, groups=groups, implementation=implementation)
    layer.build(features.shape)
    layer.set_weights([kernel])
    print(f"GroupedConv1D(implementation={implementation!r}) == by hand:",
          np.allclose(layer(features), expected, atol=1e-5))
keras_conv = layers.Conv1D(64, 5, groups=groups, padding="same", use_bias=False)
keras_conv.build(features.shape)
keras_conv.set_weights([kernel])
print("keras Conv1D(groups=4) == by hand:", np.allclose(keras_conv(features), expected, atol=1e-5))


# %% [markdown]
# ### Which implementation does `"auto"` pick?
#
# The three implementations compute the same function (checked above); their speed differs by
# device. `GroupedConv1D(implementation="auto")` (the default) asks
# `ecgnet.layers.resolve_implementation`, which picks:
#
# - on a GPU, `"native"`: cuDNN runs grouped convolutions directly;
# - on a CPU, `"block_diagonal"` (one ordinary convolution with a mostly-zero kernel) while the
#   full kernel is small, `in_channels × filters ≤ 128 × 128` (or when the channel counts are not
#   known yet), and `"split"` (one convolution per group) for wider layers. TensorFlow has no
#   grouped-convolution kernel for CPUs, so `"native"` is compiled with XLA there and is slow.
#
# On this machine:

# %%
for in_channels, filters in ((32, 32), (128, 128), (256, 256)):
    print(f"in_channels={in_channels:>3}, filters={filters:>3}: auto -> "
          f"{resolve_implementation('auto', in_channels, filters)!r}")
print("channel counts unknown: auto ->", repr(resolve_implementation("auto")))

# %% [markdown]
# ## ResNeXt: split, transform, merge
#
# Xie et al. (2017) observed that Inception-style modules *split* the input into a few
# low-dimensional embeddings, *transform* each with its own small network, and *merge* the results.
# ResNeXt makes this regular: the residual function is a sum of **C** identical-looking paths
# (C is the **cardinality**), each a bottleneck `1×1 conv (reduce) → k conv → ...`, and
#
# `output = ReLU(x + merge(concat(path_1(x), ..., path_C(x))))`.
#
# It is a bit like an ensemble of C small networks inside every block, but the paths are trained
# jointly and their outputs are mixed by the merging 1×1 convolution. The paper shows that, at the
# same number of parameters, raising the cardinality helps more than going deeper or wider. It
# also shows three equivalent ways to write the block; the last one replaces the C paths by **one
# grouped convolution** with `groups = C`, which is what `ResNeXtBlock1D` does.
#
# **Path widths.** The bottleneck `width` (the channels between the first 1×1 convolution and the
# merge) is shared among the paths: each of the C paths has `d = width / C` channels, so
# `width = C × d`. Xie et al. name a block by these two numbers: their ResNeXt-50 "32×4d" has
# C = 32 paths of d = 4 channels in its first stage (width 128). Below, C = 8 and width 32: 8 paths
# of 4 channels. We write the C paths out explicitly:

# %%
def resnext_block_by_hand(filters, cardinality, width, kernel_size=5, strides=1, in_channels=32, se_ratio=None):
    inputs = keras.Input((None, in_channels))
    paths = []
    for i in range(cardinality):  # split + transform: C bottleneck paths of d = width / C channels
        p = layers.Conv1D(width // cardinality, 1, use_bias=False, name=f"path{i}_reduce")(inputs)
        p = layers.ReLU()(layers.BatchNormalization(epsilon=1e-5, name=f"path{i}_bn1")(p))
        p = layers.Conv1D(width // cardinality, kernel_size, strides=strides, padding="same", use_bias=False,
                          name=f"path{i}_conv")(p)
        paths.append(layers.ReLU(name=f"path{i}_out")(layers.BatchNormalization(epsilon=1e-5, name=f"path{i}_bn2")(p)))
    x = layers.Concatenate()(paths)  # merge: concatenate, then one 1x1 convolution back to `filters`
    x = layers.Conv1D(filters, 1, use_bias=False, name="merge_conv")(x)
    x = layers.BatchNormalization(epsilon=1e-5, name="merge_bn")(x)
    if se_ratio is not None:  # squeeze-and-excitation on the residual, before the addition (see below)
        x = squeeze_excite_by_hand(x, se_ratio)
    shortcut = inputs
    if strides != 1 or in_channels != filters:
        shortcut = layers.Conv1D(filters, 1, strides=strides, use_bias=False, name="shortcut_conv")(inputs)
        shortcut = layers.BatchNormalization(epsilon=1e-5, name="shortcut_bn")(shortcut)
    return keras.Model(inputs, layers.ReLU()(layers.Add()([x, shortcut])), name="resnext_block_by_hand")


cardinality, width = 8, 32
hand_resnext = resnext_block_by_hand(64, cardinality, width, strides=2)
print("ResNeXt block output:", hand_resnext(features).shape)  # (4, 47, 64)
print(f"C = {cardinality} paths of d = {width // cardinality} channels: width = {cardinality} x {width // cardinality}"
      f" = {width}")
for i in (0, 1, cardinality - 1):
    print(f"  path {i}: 1x1 reduce kernel {tuple(hand_resnext.get_layer(f'path{i}_reduce').kernel.shape)}, "
          f"middle kernel {tuple(hand_resnext.get_layer(f'path{i}_conv').kernel.shape)}, "
          f"output {tuple(hand_resnext.get_layer(f'path{i}_out').output.shape)}")

# %% [markdown]
# In `ResNeXtBlock1D` the C `reduce` convolutions are one 1×1 convolution with `width` outputs
# (`conv1`), the C middle convolutions are one `GroupedConv1D` (`conv2`) with `groups = C`, and the
# merge is `conv3`. Batch normalisation acts per channel, so the C small ones concatenate into one.
# The grouped kernel shows the path width: `(kernel_size, d, width)`, each group reading its own d
# channels and writing d. Copy the weights over (concatenating the paths) and compare:

# %%
randomize(hand_resnext, seed=1)


def concat_paths(hand, kind, index):
    # weight `index` of every path's layer `kind`, concatenated along the channel axis
    return np.concatenate([hand.get_layer(f"path{i}_{kind}").get_weights()[index]
                           for i in range(cardinality)], axis=-1)


def copy_into_library(hand, library):
    library.conv1.set_weights([concat_paths(hand, "reduce", 0)])
    library.bn1.set_weights([concat_paths(hand, "bn1", i) for i in range(4)])
    library.conv2.set_weights([concat_paths(hand, "conv", 0)])
    library.bn2.set_weights([concat_paths(hand, "bn2", i) for i in range(4)])
    library.conv3.set_weights(hand.get_layer("merge_conv").get_weights())
    library.bn3.set_weights(hand.get_layer("merge_bn").get_weights())
    library.shortcut_conv.set_weights(hand.get_layer("shortcut_conv").get_weights())
    library.shortcut_bn.set_weights(hand.get_layer("shortcut_bn").get_weights())


library_resnext = ResNeXtBlock1D(64, groups=cardinality, bottleneck_width=width, kernel_size=5, strides=2)
library_resnext.build(features.shape)
print("library: conv1 kernel", tuple(library_resnext.conv1.kernel.shape), "| conv2 (grouped) kernel",
      tuple(library_resnext.conv2.kernel.shape), f"groups={library_resnext.conv2.groups}")
copy_into_library(hand_resnext, library_resnext)

same = np.allclose(hand_resnext(features, training=False), library_resnext(features, training=False), atol=1e-5)
print("C explicit paths == ResNeXtBlock1D (one grouped convolution):", same)
print("parameters: by hand", hand_resnext.count_params(), "library", library_resnext.count_params())

# %% [markdown]
# A picture of the block, in the form that writes the C paths out (left) next to the library's
# form with one grouped convolution (right): the same function.

# %%
# extra code – draw the ResNeXt block with matplotlib (keras.utils.plot_model needs pydot and Graphviz)
from matplotlib.patches import FancyBboxPatch


def box(ax, x, y, text, color, width=2.3, height=0.6):
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.04",
                                facecolor=color, edgecolor="k", lw=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=8)


def arrow(ax, start, end):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", lw=0.8))


fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6.5), gridspec_kw={"width_ratios": [1.5, 1]})
for ax in (left, right):
    ax.set_xlim(-0.6, 9.6)
    ax.set_ylim(-0.6, 8.2)
    ax.axis("off")
# left: split, transform, merge with C explicit paths (three drawn)
box(left, 3.5, 7.6, "input x  (steps, channels)", "white", width=3)
path_x = (0.8, 3.5, 6.2)
for i, px in enumerate(path_x):
    name = "path C" if i == 2 else f"path {i + 1}"
    arrow(left, (3.5, 7.3), (px, 6.7))
    box(left, px, 6.4, f"{name}: 1×1 conv\nwidth/C channels", "#cde4f7")
    box(left, px, 5.4, "BN, ReLU", "#eeeeee")
    box(left, px, 4.4, "conv k\nwidth/C channels", "#cde4f7")
    box(left, px, 3.4, "BN, ReLU", "#eeeeee")
    for y in (6.1, 5.1, 4.1):
        arrow(left, (px, y), (px, y - 0.45))
    arrow(left, (px, 3.1), (3.5, 2.7))
left.text(4.75, 4.9, "…", fontsize=18, ha="center")
box(left, 3.5, 2.4, "concatenate, 1×1 conv → filters, BN", "#d7f0d2", width=4.2)
box(left, 3.5, 1.2, "add", "#fde2c8", width=1.2)
box(left, 3.5, 0.1, "ReLU → output", "white", width=2)
arrow(left, (3.5, 2.1), (3.5, 1.5))
arrow(left, (3.5, 0.9), (3.5, 0.4))
left.plot([5.0, 8.1, 8.1], [7.6, 7.6, 1.2], color="tab:red", lw=1.2)  # the shortcut, around the paths
left.annotate("", xy=(4.1, 1.2), xytext=(8.1, 1.2), arrowprops=dict(arrowstyle="->", lw=1.2, color="tab:red"))
left.text(8.35, 4.4, "shortcut: identity (or 1×1 conv + BN when the shape changes)", color="tab:red",
          fontsize=8, ha="center", va="center", rotation=90)
left.set_title("split – transform – merge: C paths (cardinality C)")
# right: the library's block, one grouped convolution
steps = [("input x", "white"), ("conv1: 1×1 conv → width", "#cde4f7"), ("bn1, ReLU", "#eeeeee"),
         ("conv2: GroupedConv1D k,\ngroups = C", "#cde4f7"), ("bn2, ReLU (, dropout)", "#eeeeee"),
         ("conv3: 1×1 conv → filters, bn3\n(, squeeze-and-excitation)", "#d7f0d2"), ("add", "#fde2c8"),
         ("ReLU → output", "white")]
for i, (text, color) in enumerate(steps):
    y = 7.6 - i * 1.05
    box(right, 3.5, y, text, color, width=4.4, height=0.7)
    if i:
        arrow(right, (3.5, y + 0.75), (3.5, y + 0.3))
right.annotate("", xy=(5.75, 7.6 - 6 * 1.05), xytext=(5.75, 7.6),
               arrowprops=dict(arrowstyle="->", lw=1.2, color="tab:red", connectionstyle="arc3,rad=-0.4"))
right.text(7.9, 4.3, "shortcut", color="tab:red", fontsize=8)
right.set_title("ResNeXtBlock1D: the same block, one grouped convolution")
plt.show()

# %% [markdown]
# ### Why concatenating and merging is a sum of C paths
#
# The paper's form (a) of the block adds up C full transformations, `x + Σᵢ Tᵢ(x)`, each path
# ending in its own 1×1 convolution back to `filters` channels. Our block concatenates the paths
# and applies *one* 1×1 convolution. They are the same. At every time step a 1×1 convolution is a
# matrix product: with `hᵢ` the d outputs of path i at that step and `W` the merge kernel, a
# `width × filters` matrix, cut `W` into C blocks of d rows, `W₁ … W_C`:
#
# $$[h_1, h_2, \dots, h_C]\,W = [h_1, \dots, h_C] \begin{bmatrix} W_1 \\ \vdots \\ W_C \end{bmatrix}
#   = \sum_{i=1}^{C} h_i W_i .$$
#
# Row block i of `W` only ever meets the outputs of path i, so it *is* path i's own 1×1
# convolution, and the merge is the sum of the C paths' outputs. (Before the batch normalisation
# that follows, which acts on the sum.) Numerically, with the hand-built block's path outputs:

# %%
path_model = keras.Model(hand_resnext.input, [hand_resnext.get_layer(f"path{i}_out").output for i in range(cardinality)])
path_outputs = [np.asarray(h) for h in path_model(features, training=False)]  # C arrays (4, 47, d)
merge_kernel = hand_resnext.get_layer("merge_conv").get_weights()[0][0]  # (width, filters): a 1x1 kernel
d = width // cardinality
concatenated_then_merged = np.concatenate(path_outputs, axis=-1) @ merge_kernel
sum_of_paths = sum(h @ merge_kernel[i * d:(i + 1) * d] for i, h in enumerate(path_outputs))
print("merge kernel", merge_kernel.shape, f"cut into {cardinality} blocks of {d} rows")
print("concatenate + 1x1 conv == sum of the C paths, each with its own 1x1 conv:",
      np.allclose(concatenated_then_merged, sum_of_paths, atol=1e-5),
      f"(largest difference {np.abs(concatenated_then_merged - sum_of_paths).max():.1e})")

# %% [markdown]
# ## Squeeze-and-excitation
#
# The blocks of both presets end with **squeeze-and-excitation** (Hu et al. 2018), a small gate
# that lets a block weigh its channels by what the whole beat holds. *Squeeze*: average each
# channel over time, one number per channel. *Excite*: two dense layers, down to
# `round(filters × se_ratio)` units with ReLU and back up to `filters` with a sigmoid, give each
# channel a gate between 0 and 1. The block multiplies every channel by its gate, at every time
# step, before the residual is added to the shortcut. A convolution sees only `kernel_size` steps;
# the gate sees the whole beat. By hand:

# %%
def squeeze_excite_by_hand(x, ratio, name="se"):
    channels = x.shape[-1]
    squeezed = layers.GlobalAveragePooling1D(name=f"{name}_squeeze")(x)  # (batch, channels)
    hidden = layers.Dense(max(1, round(channels * ratio)), activation="relu", name=f"{name}_reduce")(squeezed)
    gates = layers.Dense(channels, activation="sigmoid", name=f"{name}_expand")(hidden)  # (batch, channels) in (0, 1)
    return layers.Multiply(name=f"{name}_scale")([x, layers.Reshape((1, channels))(gates)])


inputs = keras.Input((None, 64))
hand_se = keras.Model(inputs, squeeze_excite_by_hand(inputs, 0.25))
residual_features = np.random.default_rng(3).normal(size=(4, 47, 64)).astype("float32")
gate_model = keras.Model(hand_se.input, hand_se.get_layer("se_expand").output)
print("SE output:", hand_se(residual_features).shape, "| hidden units:", hand_se.get_layer("se_reduce").units,
      "| gates:", gate_model(residual_features).shape)
print("gates of beat 0, first 6 channels:", np.round(np.asarray(gate_model(residual_features))[0, :6], 3))

# %% [markdown]
# The library's blocks take `squeeze_excite=True, se_ratio=0.25` (the presets' values) and keep the
# gate as their `se` sublayer, with its two dense layers `reduce` and `expand`. The whole ResNeXt
# block with SE, by hand and from the library, with random weights copied over:

# %%
hand_resnext_se = resnext_block_by_hand(64, cardinality, width, strides=2, se_ratio=0.25)
randomize(hand_resnext_se, seed=2)
library_resnext_se = ResNeXtBlock1D(64, groups=cardinality, bottleneck_width=width, kernel_size=5, strides=2,
                                    squeeze_excite=True, se_ratio=0.25)
library_resnext_se.build(features.shape)
copy_into_library(hand_resnext_se, library_resnext_se)
library_resnext_se.se.reduce.set_weights(hand_resnext_se.get_layer("se_reduce").get_weights())
library_resnext_se.se.expand.set_weights(hand_resnext_se.get_layer("se_expand").get_weights())
same = np.allclose(hand_resnext_se(features, training=False), library_resnext_se(features, training=False), atol=1e-5)
print("ResNeXt block with SE by hand == ResNeXtBlock1D(squeeze_excite=True):", same)
print("parameters: by hand", hand_resnext_se.count_params(), "library", library_resnext_se.count_params(),
      f"(SE adds {library_resnext_se.count_params() - library_resnext.count_params()})")

# %% [markdown]
# The library's block can also add dropout after the grouped convolution; the presets turn it on
# (a no-op at inference, so the comparisons above are unaffected).
#
# ## The whole model
#
# `build_ecgnet` stacks a stem (convolution, batch norm, ReLU, max-pool), stages of ResNeXt blocks
# (each stage after the first halves the time steps and widens the channels), global average
# pooling and a softmax over the five classes. The layer names say where each layer sits
# (`stage2_block1`, ...). Its preset:

# %%
print(PRESETS[PRESET])
model = build_ecgnet(PRESET)
model.summary()

# %% [markdown]
# Two layers in the summary are not in the drawing. **`input_recipe`** (`ecgnet.layers.InputRecipe`),
# right after the `beat` input, has no weights and returns its input unchanged. It is there to be
# saved: it records which beat channels (the beat alone, or with its difference from the record's
# median beat, the previous beat, a second lead) and which R-R features the model takes, so a
# `.keras` file says what input it needs and `ecgnet.recipe.InputRecipe.from_model(model)` reads it back,
# instead of guessing from the shapes. **`stem_bn`** and the blocks' batch normalisations are
# `FusedBatchNormalization`, met in the training above: Keras' layer with a faster training step.

# %%
print("input_recipe layer:", type(model.get_layer("input_recipe")).__name__, "| weights:",
      model.get_layer("input_recipe").count_params(), "| recipe:", InputRecipe.from_model(model))
print("stem_bn:", type(model.get_layer("stem_bn")).__name__, "| a kind of keras BatchNormalization:",
      isinstance(model.get_layer("stem_bn"), layers.BatchNormalization))

# %% [markdown]
# The path widths of the preset's blocks: each stage's bottleneck width is
# `bottleneck_ratio × filters` (rounded to a multiple of the groups), cut into C = `groups` paths:

# %%
blocks = [layer for layer in model.layers if isinstance(layer, ResNeXtBlock1D)]
pd.DataFrame([{"block": block.name, "filters": block.filters, "bottleneck width": block.width,
               "cardinality C": block.groups, "channels per path d": block.width // block.groups,
               "C × d": f"{block.groups}×{block.width // block.groups}d",
               "grouped kernel": tuple(block.conv2.kernel.shape)} for block in blocks]).set_index("block")

# %% [markdown]
# A shape check after each component, on the same 4 beats (the d2l habit: know every shape before
# training anything):

# %%
x = beats
for layer in model.layers[1:]:
    x = layer(x)
    print(f"{layer.name:>16}: {tuple(x.shape)}")

# %% [markdown]
# ## How parameters grow with width and cardinality
#
# For one block of 128 output channels, the bottleneck width and the number of groups set the
# size of the middle convolution: `kernel_size × width/groups × width` weights. Doubling the width
# roughly quadruples it; doubling the groups halves it. ResNeXt spends the savings on a wider
# bottleneck (more, thinner paths) at the same budget:

# %%
rows = []
for width in (32, 64, 128):
    for groups in (1, 2, 4, 8, 16, 32):
        if width % groups == 0:
            block = ResNeXtBlock1D(128, groups=groups, bottleneck_width=width)
            block.build((None, 187, 128))
            rows.append({"bottleneck width": width, "groups": groups, "parameters": block.count_params()})
table = pd.DataFrame(rows).pivot(index="groups", columns="bottleneck width", values="parameters")
table

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for width in table.columns:
    ax.plot(table.index, table[width], "o-", label=f"width {width}")
ax.set_xscale("log", base=2)
ax.set_xlabel("groups (cardinality)")
ax.set_ylabel("parameters of one block")
ax.legend()
plt.show()

whole = {groups: build_ecgnet(PRESET, groups=groups).count_params() for groups in (1, 2, 4, 8, 16)}
print(f"build_ecgnet({PRESET!r}, groups=G) parameters:", whole)

# %%
# extra code – how long this run took, and on what
hardware = ", ".join(env.gpus) if env.has_gpu else f"{env.cpu_count} CPU cores, no GPU"
print(f"this notebook ran in {time.perf_counter() - started:.0f} s ({time.process_time() - started_cpu:.0f} s of CPU "
      f"time) on {hardware}")

# %% [markdown]
# ## Summary
#
# - A residual block outputs `x + F(x)`: its Jacobian `I + ∂F/∂x` gives the gradient a direct
#   route to early layers, and a block that should do little only pushes `F` towards zero. He et
#   al. introduced it against the degradation problem of deep plain networks; bare skip
#   connections without normalisation make gradients explode, batch normalisation in the branch
#   keeps them in range. A plain stack with batch normalisation has no vanishing gradient at
#   initialisation either (its gradient grows towards the first layer); its trouble shows in
#   training: on the sample, the residual net of 20 layers, behind over the first epoch, ended
#   the second at a training loss of 0.740, the plain one at 0.914.
# - `FusedBatchNormalization`, in every block and the stem, is Keras' batch normalisation with one
#   fused kernel for the training step; `InputRecipe` is an identity layer that keeps in the
#   saved model which inputs it takes.
# - A grouped convolution with `groups = G` is G ordinary convolutions side by side on G slices
#   of the channels: G times fewer weights. `GroupedConv1D` has three implementations of the same
#   function; `"auto"` picks `"native"` on a GPU and `"block_diagonal"` or `"split"` on a CPU.
# - A ResNeXt block is a bottleneck whose middle convolution is grouped: C paths (the
#   cardinality) of d channels each, bottleneck width C × d, split, transformed and merged,
#   written as one grouped convolution. Concatenating the paths and applying one 1×1 convolution
#   is the sum of C paths, each with its own 1×1 convolution: cut the kernel into C row blocks.
# - Squeeze-and-excitation gates each channel by a sigmoid of the whole beat's channel averages;
#   the presets use it in every block.
# - `build_ecgnet(preset)` stacks a stem, stages of ResNeXt blocks, global average pooling and a
#   softmax; every shape can be checked before training anything.
#
# ## Exercises
#
# 1. Change `DEPTH` to 60. How do the four gradient curves change? Replace `tanh` by `relu` in
#    `stack`: does the plain stack's gradient vanish now?
#    *Hint:* `DEPTH` is in the parameters cell; compare the printed first- and last-layer
#    gradients, not only the curves.
# 2. Build `ResNeXtBlock1D(128, groups=32, bottleneck_width=128)` and
#    `ResidualBlock1D(128)` and compare their parameter counts with `count_params()`.
#    *Hint:* a layer has weights only once it is built: call it on `np.zeros((1, 187, 128))`
#    first.
# 3. With `groups=1`, is a `ResNeXtBlock1D` a ResNet bottleneck block? Check by copying weights
#    into a `resnext_block_by_hand(..., cardinality=1, ...)`.
#    *Hint:* set `cardinality, width = 1, 32` in the ResNeXt cell and run it and the comparison
#    cell again.
# 4. Train the two networks of the degradation experiment for 3 epochs. Then add a plain network
#    of 4 layers: is the deeper plain net worse than the shallower one, as in He et al.?
#    *Hint:* `TRAIN_EPOCHS` is in the parameters cell; add `("plain, 4 layers", False)` with
#    depth 4 to the loop (give `deep_net` the depth of each entry).
#
# <details><summary>Solution 1</summary>
#
# With `DEPTH = 60` (seed 0, as in this notebook) the plain stack's first-layer gradient drops
# to about 1e-2 (1.4e-1 at 30 layers), bare skips stay near 7e1, so their ratio grows from
# about 650 to about 6,800; with batch normalisation the first and last layers' gradients are
# 7.6 and 1.0. With
# `relu` instead of `tanh` and 30 layers the plain stack's gradient is tiny in *every* layer,
# the last (1.3e-4) as much as the first (7.8e-5), and at 60 layers about 4e-11: the signal
# itself fades, because with this (Glorot) initialisation a `relu` layer halves the variance
# of what passes through it (He initialisation is designed to keep it). Bare skips explode
# further (about 4e4 at 30 layers, 3e10 at 60); with batch normalisation the first layer's
# gradient is 14 times the last one's at 30 layers and 33 times at 60.
#
# The plain stack with batch normalisation goes the other way from the plain one: its gradient
# grows towards the first layer, and faster with depth. With `tanh` its first layer's gradient is
# 11 times the last one's at 30 layers (10.3 against 0.91) and about 170 times at 60 (1.5e2
# against 0.85); with `relu`, about 70 times at 30 layers and 3.6e4 times at 60. Batch
# normalisation alone does not make a deep plain stack easy to train: Yang et al. (2019, "A Mean
# Field Theory of Batch Normalization") show that in a deep plain network it makes gradients
# explode at initialisation, as here. With skip connections the growth stays far smaller.
#
# </details>
#
# <details><summary>Solution 2</summary>
#
# ```python
# x = np.zeros((1, 187, 128), "float32")
# resnext, residual = ResNeXtBlock1D(128, groups=32, bottleneck_width=128), ResidualBlock1D(128)
# resnext(x), residual(x)
# print(resnext.count_params(), residual.count_params())  # 36864 164864
# ```
#
# The ResNeXt block has 4.5 times fewer parameters: its two 1×1 convolutions are cheap, and its
# width-5 convolution is grouped (32 groups of 4 channels), while the residual block runs two
# full 128 → 128 convolutions of width 5 (2 × 81,920 weights). The table above gives the same
# 36,864 for 32 groups and bottleneck width 128.
#
# </details>
#
# <details><summary>Solution 3</summary>
#
# Yes. With one group the grouped convolution is an ordinary convolution, and the block is
# ResNet's bottleneck: a 1×1 convolution that reduces the channels, a width-`kernel_size`
# convolution (3 in He et al., 5 here), a 1×1 convolution back to `filters`, each with batch
# normalisation, added to the shortcut. With `cardinality, width = 1, 32` the comparison cell
# prints `True`, with 11,008 parameters on both sides.
#
# </details>
#
# <details><summary>Solution 4</summary>
#
# With 3 epochs (seed 0, as here) the training losses per epoch are 1.144, 0.914, 0.738 for the
# plain net of 20 layers and 1.804, 0.740, 0.557 for the residual one: the gap widens in the third
# epoch. A plain net of 4 layers (5,653 weights against 27,413) reaches 1.658, 1.177, 0.949: *worse*
# than the plain net of 20 layers. So this short run does not show He et al.'s full degradation
# (the deeper plain net worse than the shallower one); at 20 layers of 16 channels, over three
# epochs, extra capacity still wins. What it shows is the other half of their finding: at the same
# depth, the residual net trains faster than the plain one.
#
# </details>
#
# Notebook 03 trains this model. How fast each grouped-convolution implementation runs on your
# hardware is measured by `benchmarks/measure/bench_models.py`.
#
# **References.** He et al. (2016), "Deep Residual Learning for Image Recognition", CVPR; Xie et
# al. (2017), "Aggregated Residual Transformations for Deep Neural Networks", CVPR; Krizhevsky et
# al. (2012), ImageNet classification (grouped convolution); Hu et al. (2018),
# "Squeeze-and-Excitation Networks", CVPR.
