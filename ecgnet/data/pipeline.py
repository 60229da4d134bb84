"""``tf.data`` input pipelines for beats: ``make_dataset`` (shuffled or in order) and ``balanced_dataset`` (every class equally often)."""

import numpy as np

from ecgnet.errors import EcgnetError


def make_dataset(x, y, batch_size=128, shuffle=False, seed=0, rr=None, augment=None):
    """A batched, prefetched ``tf.data.Dataset`` of beats.

    Args:
        x: beats, float array (n, steps) or (n, steps, channels); a channel axis is
            added to 2-D input.
        y: int labels (n,).
        batch_size: int.
        shuffle: bool, shuffle the whole set again every epoch (training).
        seed: int, seed of the shuffle.
        rr: optional float array (n, k) of R-R features; elements then are
            ``({"beat": x, "rr": rr}, y)`` instead of ``(x, y)``.
        augment: optional callable applied to each batch of beats, a float32
            tensor (batch, steps, channels) -> same shape; use it for training only.

    Returns:
        tf.data.Dataset.

    Example:
        >>> ds = make_dataset(x_train, y_train, shuffle=True, rr=rr_features(train.rr, train.record))
        >>> model.fit(ds, epochs=10)
    """
    import tensorflow as tf

    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x[:, :, None]
    y = np.asarray(y)
    if x.ndim != 3 or y.shape != (len(x),):
        raise EcgnetError(f"make_dataset: expected x (n, steps[, channels]) and y (n,), got x {x.shape} and y {y.shape}")
    y = y.astype(np.int32)
    if rr is not None:
        rr = np.asarray(rr, dtype=np.float32)
        if rr.ndim != 2 or len(rr) != len(x):
            raise EcgnetError(f"make_dataset: rr must have shape ({len(x)}, k), got {rr.shape}")
        ds = tf.data.Dataset.from_tensor_slices(({"beat": x, "rr": rr}, y))
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment is not None:
        if rr is not None:
            ds = ds.map(lambda inputs, labels: ({"beat": augment(inputs["beat"]), "rr": inputs["rr"]}, labels),
                        num_parallel_calls=tf.data.AUTOTUNE)
        else:
            ds = ds.map(lambda beats, labels: (augment(beats), labels), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def balanced_dataset(x, y, batch_size=128, seed=0, rr=None, augment=None):
    """An endless ``tf.data.Dataset`` whose batches hold every class equally often.

    Each class gets its own shuffled, repeated stream of beats;
    ``tf.data.Dataset.sample_from_datasets`` draws from the streams with equal
    probability. Rare beats are therefore seen many times per epoch (augmentation
    helps make the copies differ). Pass ``steps_per_epoch`` to ``fit``.

    Args:
        x: float array (n, steps) or (n, steps, channels), beats.
        y: int array (n,), class indices.
        batch_size: int.
        seed: int, seed of shuffling and sampling.
        rr: optional float array (n, k) of R-R features (the dataset then yields
            ``({"beat": x, "rr": rr}, y)``).
        augment: optional callable on a batch of beats (b, steps, channels).

    Returns:
        A batched ``tf.data.Dataset`` of ``(beats, labels)``.
    """
    import tensorflow as tf

    x = np.asarray(x, dtype=np.float32)
    x = x[:, :, None] if x.ndim == 2 else x  # keep every channel (e.g. the record-relative one)
    y = np.asarray(y, dtype=np.int32)
    streams = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        inputs = x[members] if rr is None else {"beat": x[members], "rr": np.asarray(rr, np.float32)[members]}
        stream = tf.data.Dataset.from_tensor_slices((inputs, y[members]))
        streams.append(stream.shuffle(len(members), seed=seed + int(label)).repeat())
    dataset = tf.data.Dataset.sample_from_datasets(streams, seed=seed).batch(batch_size)
    if augment is not None:
        if rr is None:
            dataset = dataset.map(lambda beats, labels: (augment(beats), labels))
        else:
            dataset = dataset.map(lambda inputs, labels: ({"beat": augment(inputs["beat"]), "rr": inputs["rr"]}, labels))
    return dataset.prefetch(tf.data.AUTOTUNE)
