"""Benchmark the ecgnet models: parameters, FLOPs per beat, beats per second.

Run from the repository root::

    python -m benchmarks.measure.bench_models            # ~ a few minutes on 2 cores
    python -m benchmarks.measure.bench_models --quick    # shorter timing windows

Rows, all measured in the same run (so they share whatever else the machine
is doing; compare rows with each other, not with another run):

- the default preset with ``implementation="native"``: the reference model,
  i.e. what ``keras.layers.Conv1D(groups=...)`` does;
- the default preset with each other implementation (``split``,
  ``block_diagonal``, and ``auto``, which resolves to one of them);
- each preset (with ``implementation="auto"``);
- the Kachuee et al. (2018) baseline;
- an upper bound: the default preset with every grouped convolution replaced
  by a free stand-in (a strided slice of its input), i.e. the throughput no
  implementation of ``GroupedConv1D`` can exceed inside this model.

``--intra-op-threads 1`` runs every TensorFlow op on one thread (the two
cores then run independent ops side by side), which trains small models
faster on a 2-core CPU; the default is TensorFlow's (one thread per core).

FLOPs are counted analytically from the layer shapes (2 x multiply-adds of
every convolution and Dense layer, forward pass, one beat; batch norm,
activations and pooling are ignored). They are the mathematical FLOPs of the
grouped convolution; ``block_diagonal`` actually executes ``groups`` times
more in its grouped convolutions (shown in the ``executed`` column).

Throughput uses synthetic random input (shape (128, 187, 1), random labels),
batch 128, ``train_on_batch`` / ``predict_on_batch`` on models compiled with
Adam and sparse categorical cross-entropy (Keras' default ``jit_compile``,
which is off on CPU-only machines). Each measurement warms up with 3 steps,
then runs steps for a fixed wall-clock window and reports beats per second.
"""

import argparse
import contextlib
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from ecgnet.layers import GroupedConv1D, all_sublayers  # noqa: E402
from ecgnet.models import PRESETS, build_ecgnet, build_kachuee2018  # noqa: E402

BATCH = 128


def count_flops(model):
    """Return (model FLOPs, executed FLOPs) per beat, counted from shapes."""
    model_flops = executed = 0
    for layer in all_sublayers(model):
        if isinstance(layer, (keras.layers.Conv1D, GroupedConv1D)):
            shape = layer._build_shapes_dict["input_shape"]
            shape = (1,) + tuple(shape[1:])
            out_len = layer.compute_output_shape(shape)[1]
            groups = layer.groups
            k = layer.kernel_size
            k = k[0] if isinstance(k, tuple) else k
            macs = out_len * k * (shape[-1] // groups) * layer.filters
            model_flops += 2 * macs
            if isinstance(layer, GroupedConv1D) and layer.resolved_implementation == "block_diagonal" and groups > 1:
                executed += 2 * macs * groups
            else:
                executed += 2 * macs
        elif isinstance(layer, keras.layers.Dense):
            macs = layer.kernel.shape[0] * layer.kernel.shape[1]
            model_flops += 2 * macs
            executed += 2 * macs
    return model_flops, executed


def _inputs(model, n, rng):
    xs = {}
    for inp in model.inputs:
        name = inp.name.split(":")[0]
        xs[name] = rng.standard_normal((n,) + tuple(inp.shape[1:])).astype("float32")
    return xs if len(xs) > 1 else next(iter(xs.values()))


def throughput(model, seconds, rng):
    """Training and inference beats/s on synthetic batches of BATCH beats."""
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = _inputs(model, BATCH, rng)
    y = rng.integers(0, model.output_shape[-1], BATCH)
    results = []
    for step in (lambda: model.train_on_batch(x, y), lambda: model.predict_on_batch(x)):
        for _ in range(3):
            step()
        steps, start = 0, time.perf_counter()
        while True:
            step()
            steps += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        results.append(steps * BATCH / elapsed)
    return results


@contextlib.contextmanager
def free_grouped_convolutions():
    """Replace GroupedConv1D's computation by a strided slice (upper bound)."""

    def call(self, inputs):
        x = inputs[:, :: self.strides, :]
        x = ops.tile(x, [1, 1, -(-self.filters // self.in_channels)])[..., : self.filters]
        return x * self.kernel[0, 0, 0]  # keeps the kernel in the graph

    original = GroupedConv1D.call
    GroupedConv1D.call = call
    try:
        yield
    finally:
        GroupedConv1D.call = original


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short timing windows")
    parser.add_argument("--seconds", type=float, default=None, help="timing window per measurement")
    parser.add_argument(
        "--intra-op-threads",
        type=int,
        default=0,
        help="threads per TensorFlow op (0: TensorFlow's default)",
    )
    args = parser.parse_args(argv)
    if args.intra_op_threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    seconds = args.seconds or (3.0 if args.quick else 15.0)
    rng = np.random.default_rng(0)

    rows = [
        ("small, native (Conv1D groups ref)", lambda: build_ecgnet("small", implementation="native")),
        ("small, split", lambda: build_ecgnet("small", implementation="split")),
        ("small, block_diagonal", lambda: build_ecgnet("small", implementation="block_diagonal")),
    ]
    for name in PRESETS:
        rows.append(
            (f"{name}, auto", lambda name=name: build_ecgnet(name))
        )
    rows.append(("kachuee2018", build_kachuee2018))
    rows.append(("small, grouped conv free (upper bound)", lambda: build_ecgnet("small")))

    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"batch {BATCH}, {seconds:g} s per measurement, synthetic input, "
        f"cpu_count={os.cpu_count()}, intra-op threads {args.intra_op_threads or 'default'}"
    )
    header = f"{'model':44s} {'params':>9s} {'MFLOPs/beat':>11s} {'executed':>9s} {'train beats/s':>13s} {'infer beats/s':>13s}"
    print(header)
    print("-" * len(header))
    train_rate = {}
    for label, build in rows:
        keras.utils.clear_session()
        model = build()
        flops, executed = count_flops(model)
        if label.endswith("auto"):
            chosen = sorted(
                {
                    layer.resolved_implementation
                    for layer in all_sublayers(model)
                    if isinstance(layer, GroupedConv1D)
                }
            )
            label = f"{label} (= {'+'.join(chosen)})"
        free = "upper bound" in label
        with free_grouped_convolutions() if free else contextlib.nullcontext():
            train, infer = throughput(model, seconds, rng)
        train_rate[label.split(" (")[0]] = train
        print(
            f"{label:44s} {model.count_params():9,d} {flops / 1e6:11.2f} {executed / 1e6:9.2f} "
            f"{train:13,.0f} {infer:13,.0f}",
            flush=True,
        )
    native = train_rate["small, native"]
    print(
        f"\ntraining speed-up over Conv1D(groups=...) in the small preset: "
        f"auto {train_rate['small, auto'] / native:.1f}x; "
        f"upper bound (free grouped convolution) {train_rate['small, grouped conv free'] / native:.1f}x"
    )


if __name__ == "__main__":
    main()
