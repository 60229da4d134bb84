"""Adapt a trained model to one patient from a few labelled minutes of their record.

A model trained on other patients misses many of a new patient's
supraventricular (S) beats: what an S beat looks like differs from patient
to patient. A Holter analyst labels the first minutes of a recording; the
classifier then learns this patient and labels the rest. ANSI/AAMI EC57
describes this patient-specific protocol (label the first 5 minutes, score
the remaining 25), and Kiranyaz, Ince and Gabbouj (2016) adapt a 1-D CNN
this way.

:func:`adapt` keeps every convolution of the model frozen and retrains only
the last layer, the ``logits`` Dense layer of each network (each member of
an ensemble), on the features the frozen network computes (the inputs of
that layer, the ``concat`` layer's output). Why this recipe, and not
fine-tuning the last residual block too: the few labelled beats of one
patient (about 350 to 500, often only a handful of S or V) cannot constrain
the 82,000 weights of a residual block, while the 1,045 weights of a head can
be fitted in seconds on 2 CPU cores; and the features were already trained
to separate the classes on many patients. Training the last block too
(``tail_epochs``: each network's :func:`tail_layers` trained by Adam after
its head) was measured on the svdb records and scored below the heads alone
(docs/results.md, section 15, round 10): it stays an option. How the head is trained
(see :data:`DEFAULTS`, chosen on the svdb records, which the inter-patient
model never saw; docs/results.md, "Patient-adaptive evaluation"):

- it starts from the shipped head (not from scratch), and a penalty pulls
  its weights back towards the shipped ones (``anchor``), so it moves only
  as far as the patient's beats ask;
- *replay*: beats of the model's own training records, a few hundred per
  class (:func:`load_replay`), are trained on together with the patient's,
  so the head does not forget a class the patient has not shown yet (a
  patient with no V beat in the first 5 minutes may have some later);
- class weights: the patient's beats are weighted by their class count
  raised to ``-balance`` (1: balanced; 0: as they come; default 0.5), so
  that a patient's 5 S beats among 400 N are heard, and the patient's beats
  together weigh ``patient_share`` of the total (default 0.9), the replay
  beats the rest. With no replay at all the head never says S for a patient
  who showed no S beat in the labelled minutes; with replay at half the
  weight it finds 20 points fewer of the other patients' S beats.

After adapting, no S call in atrial fibrillation: in the MIT-BIH labelling
a beat inside it is never S, yet its irregular rhythm makes normal beats
come early. :func:`rhythm_gate` finds the beats in irregular rhythm from the
record's beat times, keeps those whose stretch shows no repeating P wave
(the atrial activity read from the lead, :mod:`ecgnet.data.atrial`; a run
of supraventricular beats looks irregular too, but its P waves repeat), and
gates them for every patient but one whose labelled beats in irregular
rhythm include S beats; :func:`ecgnet.predict_record` with ``adapt_minutes``
applies it (:func:`gate_irregular_rhythm`). A saved adapted model carries the beats it
was adapted on (:func:`with_patient_record`), so that it applies the same gate
when it labels its record again.

The returned model is a copy; the model given is untouched. The copy keeps
the structure of the original (ensemble average, R-R product, input
recipe), so it predicts, saves and loads like the shipped file.

Example:
    >>> import ecgnet
    >>> model = ecgnet.pretrained("ecgnet-mitbih-interpatient")
    >>> inputs, labels, times = _record_inputs(model, "tests/fixtures/208_excerpt")
    >>> first = times < 20.0
    >>> adapted = ecgnet.adapt("ecgnet-mitbih-interpatient", _select(inputs, first), labels[first])
    >>> predict(adapted, _select(inputs, ~first)).shape
    (36, 5)
"""

import csv
import math
import weakref
from pathlib import Path

import numpy as np

from ecgnet.data.classes import CLASS_NAMES
from ecgnet.errors import DataFormatError, EcgnetError

NUM_CLASSES = len(CLASS_NAMES)
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
#: The layer retrained in each network, and the layer whose output it reads.
HEAD_LAYER, FEATURE_LAYER = "logits", "concat"
#: The recipe (keyword arguments of :func:`adapt`), chosen on the svdb records by the
#: rule written in docs/results.md before DS2 was read.
DEFAULTS = {"anchor": 1e-3, "balance": 0.5, "patient_share": 0.9, "max_iterations": 200}
#: :func:`rhythm_gate`: a patient whose labelled beats in irregular rhythm are more than
#: ``GATE_MAX_S_SHARE`` S is never gated (inside atrial fibrillation or flutter DS1's annotators label a
#: few beats S anyway: 16 of 3,804); without the lead, round 6's rule: a patient is gated if at least
#: ``GATE_MIN_MARKED`` labelled beats lie in irregular rhythm (one window of
#: :func:`ecgnet.data.features.irregular_rhythm`), at most that share of them S. Chosen on the svdb
#: records (docs/results.md, section 15, rounds 6 and 8).
GATE_MIN_MARKED, GATE_MAX_S_SHARE = 65, 0.01
#: The tail refit (:func:`adapt` with ``tail_epochs``): Adam's learning rate and the beats per step.
TAIL_LEARNING_RATE, TAIL_BATCH_SIZE = 1e-4, 128
#: Fewest labelled beats :func:`adapt` accepts.
MIN_BEATS = 20
#: How far a row of a labels file may lie from the R peak it labels, in seconds.
LABEL_TOLERANCE_S = 0.15

# Per network: its feature extractor, and its replay features (they do not depend on the patient).
_EXTRACTORS = weakref.WeakKeyDictionary()
_REPLAY_FEATURES = weakref.WeakKeyDictionary()
# Per network: its tail (:class:`_Tail`), and its replay beats' activations at the cut.
_TAILS = weakref.WeakKeyDictionary()
_REPLAY_CUTS = weakref.WeakKeyDictionary()


def replay_path(name):
    """The replay set shipped beside the model ``name`` (``ecgnet/weights/NAME.replay.npz``)."""
    return WEIGHTS_DIR / f"{name}.replay.npz"


def load_replay(name):
    """The replay beats of a shipped model: inputs and labels from its own training records.

    Built by ``benchmarks/release/build_replay_sets.py``: a few hundred beats per class
    drawn from the records the model was trained on (DS1 for
    ``ecgnet-mitbih-interpatient``; DS1 and svdb for ``ecgnet-mitbih-svdb``),
    already in the form the model takes (``ecgnet.data.model_inputs``, built
    from each whole record).

    Args:
        name: str, a shipped model name.

    Returns:
        ``(inputs, labels)``: inputs as :func:`ecgnet.data.model_inputs` gives
        them (an array, or a dict with ``beat`` and ``rr``), labels int64 (n,).

    Raises:
        EcgnetError: no replay set ships for ``name``.
    """
    path = replay_path(name)
    if not path.exists():
        shipped = sorted(p.name.split(".")[0] for p in WEIGHTS_DIR.glob("*.replay.npz"))
        raise EcgnetError(f"no replay set for model {name!r} (replay sets ship for: {', '.join(shipped) or 'none'})")
    with np.load(path, allow_pickle=False) as data:
        labels = data["y"].astype(np.int64)
        if "rr" in data.files:
            return {"beat": data["beat"].astype(np.float32), "rr": data["rr"].astype(np.float32)}, labels
        return data["beat"].astype(np.float32), labels


def _heads(model):
    """The networks inside ``model`` that end in a ``logits`` Dense read from a ``concat`` layer, in order."""
    found = []
    for layer in getattr(model, "layers", ()):
        names = {sub.name for sub in getattr(layer, "layers", ())}
        if HEAD_LAYER in names and FEATURE_LAYER in names:
            found.append(layer)
        elif hasattr(layer, "layers"):
            found.extend(_heads(layer))
    if not found and hasattr(model, "layers") and {HEAD_LAYER, FEATURE_LAYER} <= {sub.name for sub in model.layers}:
        found.append(model)
    return found


def _features(network, inputs):
    """The output of ``network``'s ``concat`` layer: what its head reads."""
    import keras

    extractor = _EXTRACTORS.get(network)
    if extractor is None:
        extractor = _EXTRACTORS[network] = keras.Model(network.inputs, network.get_layer(FEATURE_LAYER).output)
    return predict(extractor, _for_network(network, inputs))


def predict(model, inputs, batch_size=2048):
    """``model``'s outputs for ``inputs`` as a NumPy array, called directly in batches.

    Why not ``model.predict``: it traces a new graph for every new model, 8 to
    10 s on 2 CPU cores for an adapted ensemble, longer than adapting it;
    calling the model eagerly costs no tracing.
    """
    count = _count(inputs) if isinstance(inputs, (dict, np.ndarray)) else len(inputs[0])
    parts = []
    for start in range(0, count, batch_size):
        chunk = slice(start, start + batch_size)
        batch = {k: v[chunk] for k, v in inputs.items()} if isinstance(inputs, dict) else (
            inputs[chunk] if isinstance(inputs, np.ndarray) else [v[chunk] for v in inputs])
        parts.append(np.asarray(model(batch, training=False)))
    return np.concatenate(parts) if parts else np.zeros((0,) + tuple(model.outputs[0].shape[1:]), np.float32)


def _for_network(network, inputs):
    if isinstance(inputs, dict) and len(network.inputs) == 1:
        return inputs["beat"]
    if isinstance(inputs, dict):
        return [inputs[tensor.name.split(":")[0]] for tensor in network.inputs]
    return inputs


def _check_inputs_argument(model, beats):
    """Refuse ``beats`` that are not the model's inputs (a ``Beats`` object, an array for a model of two inputs, a
    dict without one of them) in one line; they ended in a TypeError, a KeyError or Keras' own message."""
    from ecgnet.data.container import Beats

    if isinstance(beats, Beats):
        raise EcgnetError("beats: a Beats object, not the model's inputs; ecgnet.data.model_inputs(model, beats, index) "
                          "builds them (from every beat of the record, then the labelled beats `index`)")
    names = [tensor.name.split(":")[0] for tensor in model.inputs]
    if isinstance(beats, dict):
        missing = [name for name in names if name not in beats]
        if missing and len(names) > 1:
            raise EcgnetError(f"beats: the model takes the inputs {names}, but the dict has no {missing[0]!r} (keys: "
                              f"{sorted(beats)}); ecgnet.data.model_inputs(model, beats) builds them")
    elif len(names) > 1 or not isinstance(beats, np.ndarray):
        raise EcgnetError(f"beats: the model takes the inputs {names}, but received {type(beats).__name__}; "
                          "ecgnet.data.model_inputs(model, beats) builds them")


def _count(inputs):
    return len(inputs["beat"] if isinstance(inputs, dict) else inputs)


def _select(inputs, index):
    """The beats ``index`` of model inputs (an array or a dict of arrays)."""
    if isinstance(inputs, dict):
        return {key: value[index] for key, value in inputs.items()}
    return inputs[index]


def _copy(model):
    """A copy of ``model`` with its own weights (the original is untouched)."""
    import keras

    import ecgnet.layers  # noqa: F401  registers the ecgnet layers

    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def _sample_weights(labels, replay_labels, balance, patient_share):
    """Weights of the patient's beats then the replay beats, averaging 1 over all of them."""

    def within(y):
        counts = np.bincount(y, minlength=NUM_CLASSES).astype(np.float64)
        weights = np.power(np.maximum(counts[y], 1.0), -balance)
        return weights / weights.sum()

    if len(replay_labels) == 0:
        weights = within(labels)
    else:
        weights = np.concatenate([patient_share * within(labels), (1 - patient_share) * within(replay_labels)])
    return (weights * len(weights)).astype(np.float32)


def adapt(model, beats, labels, *, seed=0, replay=None, anchor=DEFAULTS["anchor"], balance=DEFAULTS["balance"],
          patient_share=DEFAULTS["patient_share"], max_iterations=DEFAULTS["max_iterations"], tail_epochs=0,
          tail_learning_rate=TAIL_LEARNING_RATE, tail_batch_size=TAIL_BATCH_SIZE):
    """A copy of ``model`` whose heads were retrained on one patient's labelled beats.

    The convolutions stay frozen; each network's ``logits`` Dense layer is
    trained, from its shipped weights, on the frozen features of the
    patient's beats and of replay beats from the model's training records
    (see the module doc for why).

    Args:
        model: a ``keras.Model`` (an ``ecgnet`` network, an ensemble of them,
            or one fused with an R-R regression), or a shipped model name,
            which also selects its shipped replay set.
        beats: the model's inputs for the labelled beats, as
            :func:`ecgnet.data.model_inputs` gives them: built from the whole
            record (record medians and previous beats need every beat), then
            the labelled beats selected.
        labels: int array (n,), the AAMI class of each beat (0..4; N, S, V, F, Q).
        seed: int, seeds shuffling (``keras.utils.set_random_seed``): the same
            seed gives the same weights.
        replay: ``(inputs, labels)`` of beats from the model's training
            records (:func:`load_replay`), a shipped model name, or None
            (default: the shipped replay set when ``model`` is a name, else none).
        anchor: float >= 0, how strongly the head's weights are pulled back
            towards the shipped ones (0: not at all).
        balance: float in [0, 1], class weights of the patient's beats are
            ``count ** -balance`` (1: every class weighs the same in total).
        patient_share: float in (0, 1], the share of the total weight the
            patient's beats get (the replay beats get the rest).
        max_iterations: int, L-BFGS iterations at most.
        tail_epochs: int >= 0, epochs of the tail refit after the heads
            (:func:`tail_layers`: each network's last residual block,
            ``rr_dense`` and ``logits``, trained from the refitted head by
            Adam on the same beats and weights, batch normalisation in
            inference mode, ``anchor`` pulling towards the starting weights);
            0 (the default): the heads alone.
        tail_learning_rate: float > 0, Adam's learning rate for the tail refit.
        tail_batch_size: int >= 1, beats per step of the tail refit.

    Returns:
        A new ``keras.Model``, the same structure as ``model``.

    Raises:
        EcgnetError: fewer than :data:`MIN_BEATS` labelled beats, labels
            outside 0..4, beats and labels of different lengths, beats that are
            not the model's inputs (a ``Beats`` object, a dict without ``rr``), bad
            arguments, or a model without ``logits`` heads.

    Example:
        >>> model = ecgnet.pretrained("ecgnet-mitbih-interpatient")
        >>> inputs, labels, times = _record_inputs(model, "tests/fixtures/208_excerpt")
        >>> first = times < 20.0
        >>> adapted = adapt(model, _select(inputs, first), labels[first], replay="ecgnet-mitbih-interpatient")
        >>> predict(adapted, _select(inputs, ~first)).shape
        (36, 5)
    """
    import keras

    if isinstance(model, (str, Path)):
        from ecgnet.pretrained_models import load_model

        # a shipped model's name selects its replay set; a file has none (as for `adapt --model FILE`),
        # even one named like a shipped model: its weights may come from other training records
        if replay is None and not str(model).endswith(".keras") and replay_path(str(model)).exists():
            replay = str(model)
        model = load_model(model)
    if isinstance(replay, (str, Path)):
        replay = load_replay(str(replay))
    _check_inputs_argument(model, beats)
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise EcgnetError(f"labels must be a 1-D integer array of AAMI classes. Received: dtype {labels.dtype}, shape {labels.shape}")
    labels = labels.astype(np.int64)
    if len(labels) != _count(beats):
        raise EcgnetError(f"beats and labels differ in length: {_count(beats)} beats, {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise EcgnetError(f"labels must be AAMI classes 0..{NUM_CLASSES - 1} ({', '.join(CLASS_NAMES)}). Received: {sorted(set(labels.tolist()))}")
    if len(labels) < MIN_BEATS:
        raise EcgnetError(f"adaptation needs at least {MIN_BEATS} labelled beats. Received: {len(labels)}")
    if not 0 < patient_share <= 1:
        raise EcgnetError(f"patient_share must be in (0, 1]. Received: patient_share={patient_share}")
    if not 0 <= balance <= 1:
        raise EcgnetError(f"balance must be in [0, 1]. Received: balance={balance}")
    if not (math.isfinite(anchor) and anchor >= 0):  # NaN would stop L-BFGS at once: the heads as shipped
        raise EcgnetError(f"anchor must be a finite number 0 or more. Received: anchor={anchor}")
    if int(max_iterations) < 1:
        raise EcgnetError(f"max_iterations must be at least 1. Received: max_iterations={max_iterations}")
    if isinstance(tail_epochs, bool) or int(tail_epochs) != tail_epochs or tail_epochs < 0:
        raise EcgnetError(f"tail_epochs must be an integer 0 or more. Received: tail_epochs={tail_epochs}")
    if not (math.isfinite(tail_learning_rate) and tail_learning_rate > 0):
        raise EcgnetError(f"tail_learning_rate must be a finite number above 0. Received: tail_learning_rate={tail_learning_rate}")
    if int(tail_batch_size) < 1:
        raise EcgnetError(f"tail_batch_size must be at least 1. Received: tail_batch_size={tail_batch_size}")

    networks = _heads(model)
    if not networks:
        raise EcgnetError(f"model {model.name!r} has no '{HEAD_LAYER}' layer read from a '{FEATURE_LAYER}' layer to adapt: "
                          "adaptation retrains the last layer of a model ecgnet built with R-R features (`train --rr`), "
                          "or of each member of an ensemble of such models, as the shipped ones are")
    replay_labels = np.zeros(0, np.int64) if replay is None else np.asarray(replay[1], np.int64)
    replay_features = None if replay is None else [_replay_features(network, replay) for network in networks]
    keras.utils.set_random_seed(seed)
    heads = _fit_heads(networks, [_features(network, beats) for network in networks], labels, replay_features,
                       replay_labels, anchor=anchor, balance=balance, patient_share=patient_share,
                       max_iterations=max_iterations)

    adapted = _copy(model)
    for network, head in zip(_heads(adapted), heads):
        network.get_layer(HEAD_LAYER).set_weights(head)
    if tail_epochs:
        tails = _fit_tails(networks, heads, [_tail(network).cut(beats) for network in networks], labels, replay,
                           anchor=anchor, balance=balance, patient_share=patient_share, epochs=int(tail_epochs),
                           learning_rate=tail_learning_rate, batch_size=int(tail_batch_size), seed=seed)
        for network, weights in zip(_heads(adapted), tails):
            for name, values in weights.items():
                network.get_layer(name).set_weights(values)
    return adapted


def tail_layers(network):
    """The layers of one network that the tail refit trains: its last residual block, ``rr_dense`` and ``logits``.

    The last block is the last layer named ``stage{i}_block{j}``
    (:func:`ecgnet.models.build_ecgnet`; in the shipped networks
    ``stage3_block1``, 82,032 weights); ``rr_dense`` (the R-R features'
    Dense layer, 64 weights) when the network reads R-R features.

    Args:
        network: a ``keras.Model`` built by :func:`ecgnet.models.build_ecgnet`.

    Returns:
        list of layer names, the block first, ``logits`` last.

    Raises:
        EcgnetError: the network has no ``stage..._block...`` layer.

    Example:
        >>> from ecgnet.models import build_ecgnet
        >>> tail_layers(build_ecgnet("small", rr_features=3))
        ['stage3_block1', 'rr_dense', 'logits']
    """
    names = [layer.name for layer in network.layers]
    blocks = [name for name in names if name.startswith("stage") and "_block" in name]
    if not blocks or HEAD_LAYER not in names:
        raise EcgnetError(f"network {network.name!r} has no residual block ('stage..._block...') and "
                          f"'{HEAD_LAYER}' layer for the tail refit")
    return [blocks[-1]] + (["rr_dense"] if "rr_dense" in names else []) + [HEAD_LAYER]


class _Tail:
    """One network cut before its :func:`tail_layers`: the frozen front, and the tail as a model of its own.

    ``front`` maps the network's inputs to the activations at the cut (the
    last block's input, and ``rr_dense``'s input: the R-R features after their
    frozen batch normalisation); ``model`` is a clone of the layers from the
    cut to ``logits`` (own weights: training it leaves the network alone).
    Why a tail of its own: the frozen front runs once per beat, and each
    Adam step runs the tail alone on the cached activations (on 2 CPU cores,
    about 0.4 s an epoch of 1,200 beats for one network, against several
    seconds through the whole network); and a hand-written step with
    ``tf.GradientTape``, traced once per network and reused for every patient,
    instead of ``Model.fit``, whose set-up costs seconds on every call (the
    reason the heads are fitted by L-BFGS). Batch normalisation layers inside
    the tail are frozen and run in inference mode (the statistics and scales
    of the training patients; Keras' transfer-learning guide), and the tail
    is called with ``training=False``, so dropout is off as well.
    """

    def __init__(self, network):
        import keras
        import tensorflow as tf

        from ecgnet.layers import all_sublayers

        self.names = tail_layers(network)
        cut = [network.get_layer(name).input for name in self.names[:-1]]
        self.front = keras.Model(network.inputs, cut)
        shared = keras.Model(cut, network.get_layer(HEAD_LAYER).output)
        self.model = keras.models.clone_model(shared)
        self.model.set_weights(shared.get_weights())
        for layer in all_sublayers(self.model):
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        self.variables = [v for name in self.names for v in self.model.get_layer(name).trainable_weights]
        self.pulled = [v.name != "bias" for v in self.variables]  # as the head's: the biases move freely
        self.start = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False) for v in self.variables]
        self.anchor = tf.Variable(0.0, trainable=False)
        self.optimizer = keras.optimizers.Adam(TAIL_LEARNING_RATE)
        self.optimizer.build(self.variables)
        specs = [tf.TensorSpec((None,) + tuple(t.shape[1:]), tf.float32) for t in self.model.inputs]
        self.step = tf.function(self._step, input_signature=[specs, tf.TensorSpec((None,), tf.int64),
                                                             tf.TensorSpec((None,), tf.float32)])

    def _step(self, cut, targets, weights):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            logits = tf.cast(self.model(cut, training=False), tf.float32)
            loss = tf.reduce_mean(weights * tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits))
            pull = tf.add_n([tf.reduce_sum(tf.square(v.value - s)) for v, s, p in
                             zip(self.variables, self.start, self.pulled) if p])
            loss += 0.5 * self.anchor * pull
        self.optimizer.apply(tape.gradient(loss, [v.value for v in self.variables]), self.variables)
        return loss

    def cut(self, inputs):
        """The activations at the cut of ``inputs`` (the network's inputs): a list of arrays."""
        feed = _for_network(self.front, inputs)
        count = _count(inputs)
        parts = [[] for _ in self.front.outputs]
        for begin in range(0, count, 2048):
            chunk = slice(begin, begin + 2048)
            batch = [value[chunk] for value in feed] if isinstance(feed, list) else feed[chunk]
            for part, value in zip(parts, self.front(batch, training=False)):
                part.append(np.asarray(value))
        return [np.concatenate(part) if part else np.zeros((0,) + tuple(t.shape[1:]), np.float32)
                for part, t in zip(parts, self.front.outputs)]

    def fit(self, start, cut, targets, weights, *, anchor, learning_rate, epochs, batch_size, seed):
        """The tail's layers' weights after ``epochs`` of Adam from ``start`` (``{layer name: weights}``)."""
        for name in self.names:
            self.model.get_layer(name).set_weights(start[name])
        for variable, value in zip(self.start, self.variables):
            variable.assign(value.value)
        self.anchor.assign(float(anchor))
        for variable in self.optimizer.variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))
        self.optimizer.learning_rate = float(learning_rate)
        targets = np.asarray(targets, np.int64)
        weights = np.asarray(weights, np.float32)
        order_of = np.random.default_rng(seed)
        for _ in range(epochs):
            order = order_of.permutation(len(targets))
            for begin in range(0, len(order), batch_size):
                pick = order[begin: begin + batch_size]
                self.step([part[pick] for part in cut], targets[pick], weights[pick])
        return {name: self.model.get_layer(name).get_weights() for name in self.names}

    def probabilities(self, weights, cut, batch_size=2048):
        """Softmax of the tail's logits on the activations ``cut``, with the tail's layers set to ``weights``."""
        for name in self.names:
            self.model.get_layer(name).set_weights(weights[name])
        logits = np.concatenate([np.asarray(self.model([part[begin: begin + batch_size] for part in cut], training=False))
                                 for begin in range(0, len(cut[0]), batch_size)] or [np.zeros((0, NUM_CLASSES))])
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def _tail(network):
    """``network``'s :class:`_Tail`, built once per network."""
    tail = _TAILS.get(network)
    if tail is None:
        tail = _TAILS[network] = _Tail(network)
    return tail


def _replay_cut(network, replay):
    """The replay beats' activations at ``network``'s cut, computed once per network and replay set."""
    cache = _REPLAY_CUTS.setdefault(network, {})
    key = id(replay[1])
    if key not in cache:
        cache.clear()
        cache[key] = _tail(network).cut(replay[0])
    return cache[key]


def _fit_tails(networks, heads, cuts, labels, replay, *, anchor, balance, patient_share, epochs, learning_rate,
               batch_size, seed):
    """Each network's :func:`tail_layers` trained from its shipped weights and refitted head: ``{name: weights}`` per network.

    ``cuts``: per network, the patient's labelled beats' activations at the cut
    (:meth:`_Tail.cut`); the replay beats (``replay``, or None) are weighted
    as for the heads (:func:`_sample_weights`).
    """
    replay_labels = np.zeros(0, np.int64) if replay is None else np.asarray(replay[1], np.int64)
    weights = _sample_weights(labels, replay_labels, balance, patient_share if replay is not None else 1.0)
    targets = np.concatenate([labels, replay_labels])
    found = []
    for network, head, cut in zip(networks, heads, cuts):
        tail = _tail(network)
        start = {name: network.get_layer(name).get_weights() for name in tail.names}
        start[HEAD_LAYER] = [np.asarray(w, np.float32) for w in head]
        own = cut if replay is None else [np.concatenate([a, b]) for a, b in zip(cut, _replay_cut(network, replay))]
        found.append(tail.fit(start, own, targets, weights, anchor=anchor, learning_rate=learning_rate, epochs=epochs,
                              batch_size=batch_size, seed=seed))
    return found


def gate_irregular_rhythm(probabilities, irregular):
    """Beats in atrial fibrillation or flutter cannot be S: their S probability moves to N.

    In the MIT-BIH (and AAMI) labelling a beat inside atrial fibrillation or
    flutter is N (or V), never S: a premature supraventricular beat needs an
    underlying regular atrial rhythm. An irregular rhythm makes normal beats
    come early, and a model that reads R-R intervals calls some of them S.
    On every marked beat, the gate took more found S beats away than false
    ones on the svdb records, where the detector also marks runs of
    supraventricular beats (docs/results.md, section 15, round 5); an adapted
    model is gated on the marked beats without a repeating P wave, unless the
    patient's labelled beats in irregular rhythm include S beats
    (:func:`rhythm_gate`, round 8).

    Args:
        probabilities: float array (n, 5), class probabilities (N, S, V, F, Q).
        irregular: bool array (n,), the beats in irregular rhythm
            (:func:`ecgnet.data.features.irregular_rhythm` of the record's beat times).

    Returns:
        A new float array (n, 5): rows not marked unchanged; marked rows with
        their S probability added to N and S set to 0 (each row still sums
        as before).

    Example:
        >>> gate_irregular_rhythm(np.array([[0.3, 0.6, 0.1, 0, 0]]), np.array([True]))
        array([[0.9, 0. , 0.1, 0. , 0. ]])
    """
    probabilities = np.array(probabilities, copy=True)
    irregular = np.asarray(irregular, bool)
    if probabilities.ndim != 2 or probabilities.shape[1] != NUM_CLASSES or irregular.shape != (len(probabilities),):
        raise EcgnetError(f"gate_irregular_rhythm: probabilities must be (n, {NUM_CLASSES}) and irregular (n,). "
                          f"Received: {probabilities.shape} and {irregular.shape}")
    n_class, s_class = CLASS_NAMES.index("N"), CLASS_NAMES.index("S")
    probabilities[irregular, n_class] += probabilities[irregular, s_class]
    probabilities[irregular, s_class] = 0
    return probabilities


def gates_patient(irregular, labels, min_marked=GATE_MIN_MARKED, max_s_share=GATE_MAX_S_SHARE):
    """Whether a patient's labelled beats show irregular rhythm and no S beat in it.

    Args:
        irregular: bool array (n,), the labelled beats in irregular rhythm.
        labels: int array (n,), their classes (1: S).
        min_marked: int, the fewest labelled beats in irregular rhythm.
        max_s_share: float, the largest share of S beats among those.

    Returns:
        bool.

    Example:
        >>> gates_patient(np.ones(100, bool), np.zeros(100, int))
        True
    """
    irregular = np.asarray(irregular, bool)
    marked = int(irregular.sum())
    return bool(marked >= min_marked and np.sum(np.asarray(labels)[irregular] == 1) <= max_s_share * marked)


def shows_s_in_irregular_rhythm(irregular, labels, max_s_share=GATE_MAX_S_SHARE):
    """Whether a patient's labelled beats in irregular rhythm include S beats: more than ``max_s_share`` of them.

    A patient who showed S beats in a rhythm the detector takes for irregular
    (a run of supraventricular beats, frequent atrial premature beats) keeps
    every S call (:func:`rhythm_gate`). No labelled beat in irregular rhythm:
    False.

    Args:
        irregular: bool array (n,), the labelled beats in irregular rhythm.
        labels: int array (n,), their classes (1: S).
        max_s_share: float, see :data:`GATE_MAX_S_SHARE`.

    Returns:
        bool.

    Example:
        >>> shows_s_in_irregular_rhythm(np.ones(22, bool), np.r_[np.zeros(21, int), 1])
        True
    """
    irregular = np.asarray(irregular, bool)
    return bool(np.sum(np.asarray(labels)[irregular] == 1) > max_s_share * int(irregular.sum()))


def rhythm_gate(times, labelled, labels, *, lead=None, fs=None, r_peaks=None):
    """The beats of one record whose S probability an adapted model gives to N: bool (n,).

    With the record's lead (``lead``, ``fs``): the beats in irregular rhythm
    (:func:`ecgnet.data.features.irregular_rhythm` of the record's beat times)
    whose stretch shows no repeating atrial activity
    (:func:`ecgnet.data.atrial.atrial_activity_repeats`: no P wave that comes
    back beat after beat, as in atrial fibrillation), on every patient but one
    whose labelled beats in irregular rhythm include S beats
    (:func:`shows_s_in_irregular_rhythm`): that patient keeps every S call.
    Why: the detector also marks runs of supraventricular beats and frequent
    premature beats, where a P wave repeats, and a patient who showed S beats
    in such a rhythm is not gated at all; a patient whose labelled minutes show
    no irregular rhythm is gated too, where fibrillation comes later. Chosen on
    the svdb records (docs/results.md, section 15, round 8).

    Without the lead: round 6's decision, from the beat times alone: every
    beat in irregular rhythm, if the patient's labelled beats show irregular
    rhythm (at least :data:`GATE_MIN_MARKED`) and no S beat in it
    (:func:`gates_patient`); otherwise none.

    A record whose beat times do not increase is not gated.

    Args:
        times: float array (n,), the R-peak times of the record's beats in seconds.
        labelled: bool array (n,), the beats the model was adapted on.
        labels: int array (n,), their classes where ``labelled`` (others are not read).
        lead: None, or float array (samples,), the lead the beats were cut
            from (:func:`ecgnet.data.atrial.read_lead`).
        fs: float, the lead's sampling rate in Hz (needed with ``lead``).
        r_peaks: None, or int array (n,), the beats' R peaks in samples of
            ``lead`` (default: ``times * fs``, rounded).

    Returns:
        bool (n,), for :func:`gate_irregular_rhythm`.

    Raises:
        EcgnetError: ``lead`` without ``fs``, or ``r_peaks`` not one per beat.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> times = np.cumsum(rng.uniform(0.4, 1.2, 600))
        >>> rhythm_gate(times, times < 300, np.zeros(600, int))[5:-5].all()
        True
        >>> lead = rng.normal(size=int(times[-1] * 360) + 360)  # nothing before the QRS repeats
        >>> rhythm_gate(times, times < 300, np.zeros(600, int), lead=lead, fs=360.0)[5:-5].all()
        True
    """
    from ecgnet.data.features import irregular_rhythm

    times = np.asarray(times, np.float64)
    labelled = np.asarray(labelled, bool)
    labels = np.asarray(labels)
    if lead is not None and fs is None:
        raise EcgnetError("rhythm_gate: a lead needs its sampling rate fs")
    if r_peaks is not None and len(r_peaks) != len(times):
        raise EcgnetError(f"rhythm_gate: r_peaks must give one R peak per beat. Received: {len(r_peaks)} for {len(times)} beats")
    none = np.zeros(len(times), bool)
    if len(times) > 1 and not np.all(np.diff(times) > 0):
        return none
    marks = irregular_rhythm(times)
    if lead is None:
        return marks if gates_patient(marks[labelled], labels[labelled]) else none
    if shows_s_in_irregular_rhythm(marks[labelled], labels[labelled]) or not marks.any():
        return none
    from ecgnet.data.atrial import atrial_activity_repeats

    r_peaks = np.round(times * fs).astype(np.int64) if r_peaks is None else np.asarray(r_peaks, np.int64)
    return marks & ~atrial_activity_repeats(lead, fs, r_peaks)


def record_rhythm_gate(record, found, labelled, labels):
    """:func:`rhythm_gate` on a checked record, its usable beats only: bool (n,).

    The one place where a record's lead is read again for the gate
    (:func:`ecgnet.data.atrial.read_lead`: ``found`` holds the lead's name and
    the R peaks, not its samples), for :func:`ecgnet.predict_record` and the
    ``adapt`` command alike.

    Args:
        record: str or Path of the record.
        found: ``ecgnet.data.beats_from_record(record, check_quality=True)``.
        labelled, labels: as for :func:`rhythm_gate`.
    """
    from ecgnet.data.atrial import read_lead

    lead, fs = read_lead(record, found.lead)  # the gate reads the atrial activity before each R peak
    return rhythm_gate(found.times, labelled, labels, lead=lead, fs=fs, r_peaks=found.beats.r_peak) & found.usable


def _replay_features(network, replay):
    """The features of the replay beats for ``network``, computed once per network and replay set."""
    cache = _REPLAY_FEATURES.setdefault(network, {})
    key = id(replay[1])
    if key not in cache:
        cache.clear()
        cache[key] = _features(network, replay[0])
    return cache[key]


def _fit_heads(networks, features, labels, replay_features, replay_labels, *, anchor, balance, patient_share,
               max_iterations):
    """Each network's head fitted on its features of the patient's beats (and of the replay beats, if any)."""
    weights = _sample_weights(labels, replay_labels, balance, patient_share if replay_features is not None else 1.0)
    targets = np.concatenate([labels, replay_labels]) if replay_features is not None else labels
    heads = []
    for i, network in enumerate(networks):
        own = features[i] if replay_features is None else np.concatenate([features[i], replay_features[i]])
        heads.append(_fit_head(own, targets, weights, *network.get_layer(HEAD_LAYER).get_weights(),
                               anchor=anchor, max_iterations=max_iterations))
    return heads


def _fit_head(features, targets, weights, kernel, bias, anchor, max_iterations):
    """The softmax head that minimises the weighted cross-entropy plus ``anchor / 2 * |W - W_shipped|^2``.

    Solved with SciPy's L-BFGS from the shipped weights. Why not ``keras.Model.fit``:
    the objective is convex in the head's weights, so L-BFGS finds its minimum
    with no learning rate, epoch count or randomness to choose, where Adam
    stops wherever its epochs end; it is not much faster (notebook 06, one
    head on 1,503 beats, 2 CPU cores: 4.3 s against 5.0 s for 30 epochs of
    ``fit``, with the same scores on the record). The pull towards the shipped
    weights (L2-SP: Li, Grandvalet and Davis, ICML 2018) keeps what the head
    learnt on many patients where the patient's beats say nothing.
    """
    from scipy.optimize import minimize

    features = np.asarray(features, np.float64)
    start = np.concatenate([np.ravel(kernel), np.ravel(bias)]).astype(np.float64)
    shape = np.shape(kernel)
    onehot = np.eye(NUM_CLASSES)[targets]
    weights = np.asarray(weights, np.float64) / np.sum(weights)

    def loss(theta):
        w, b = theta[: start.size - shape[1]].reshape(shape), theta[start.size - shape[1]:]
        logits = features @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -(weights * (onehot * log_p).sum(axis=1)).sum()
        grad_logits = weights[:, None] * (np.exp(log_p) - onehot)
        pull = theta - start
        pull[start.size - shape[1]:] = 0.0  # the biases move freely
        value += 0.5 * anchor * (pull**2).sum()
        grad = np.concatenate([(features.T @ grad_logits).ravel(), grad_logits.sum(axis=0)]) + anchor * pull
        return value, grad

    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": int(max_iterations)})
    theta = result.x
    return [theta[: start.size - shape[1]].reshape(shape).astype(np.float32), theta[start.size - shape[1]:].astype(np.float32)]


def _record_inputs(model, record):
    """The model's inputs for every beat of a WFDB record, their reference labels and R-peak times.

    One place that turns a record into model inputs, so that a shared
    recipe object can take its place later.

    Returns:
        ``(inputs, labels, times)``: labels -1 where the annotation is not an AAMI beat class.
    """
    from ecgnet.data.prepared import model_inputs
    from ecgnet.data.records import beats_from_record

    beats, _, times = beats_from_record(record, use_annotations=True, aami_only=True)
    beats.source = record
    return model_inputs(model, beats), beats.y.astype(np.int64), times


def _label_hint(label):
    """What a labels cell that is not an AAMI class may have meant: a MIT-BIH beat symbol, or a class in lower case."""
    from ecgnet.data.classes import AAMI_MAP

    if label in AAMI_MAP:
        return f"; {label!r} is a MIT-BIH beat symbol, of AAMI class {CLASS_NAMES[AAMI_MAP[label]]}: write {CLASS_NAMES[AAMI_MAP[label]]}"
    if label.upper() in CLASS_NAMES:
        return f"; the classes are upper case: {label.upper()!r}"
    return ""


def read_labels(path):
    """``(times, labels)`` of a labels CSV file: header ``time_s,label``, one row per beat.

    Raises:
        DataFormatError: a missing column, a time that is not a finite number
            of seconds >= 0, or a label outside N, S, V, F, Q (file, line, column).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path}: not a UTF-8 text file ({error.reason} at byte {error.start})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise DataFormatError(f"{path}: empty; expected a header time_s,label and one row per labelled beat")
    header = [cell.strip() for cell in rows[0]]
    missing = [name for name in ("time_s", "label") if name not in header]
    if missing:
        raise DataFormatError(f"{path}: line 1: the header has no column {' or '.join(missing)} (found: {','.join(header)}); expected time_s,label")
    repeated = sorted({name for name in ("time_s", "label") if header.count(name) > 1})
    if repeated:
        raise DataFormatError(
            f"{path}: line 1: the header names the column {' and '.join(repeated)} twice; "
            "which one should be read? Keep one column of each"
        )
    at_time, at_label = header.index("time_s"), header.index("label")
    times, labels = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataFormatError(f"{path}: line {line}: {len(row)} fields, the header has {len(header)}")
        cell = row[at_time].strip()
        try:
            time_s = float(cell)
        except ValueError:
            time_s = math.nan
        if not math.isfinite(time_s) or time_s < 0:
            raise DataFormatError(f"{path}: line {line}, column {at_time + 1} (time_s): {cell!r} is not a time in seconds >= 0")
        label = row[at_label].strip()
        if label not in CLASS_NAMES:
            raise DataFormatError(f"{path}: line {line}, column {at_label + 1} (label): {label!r} is not one of "
                                  f"{', '.join(CLASS_NAMES)}{_label_hint(label)}")
        times.append(time_s)
        labels.append(CLASS_NAMES.index(label))
    if not times:
        raise DataFormatError(f"{path}: no labelled beats after the header")
    return np.asarray(times), np.asarray(labels, np.int64)


def span_labels(record, beat_times, annotated, minutes, labels_file=None, min_beats=None, argument="--minutes"):
    """Which beats adapt the model, and their labels: ``(used, labels)``, both over all beats.

    Args:
        record: the record path (for messages).
        beat_times: float (n,), R-peak times of the record's beats in seconds.
        annotated: int (n,), the reference label of each beat (-1 unknown or none).
        minutes: float, the labelled span from the record's start.
        labels_file: None (the annotations label the span) or a labels CSV file.
        min_beats: int, fewest labelled beats accepted (default: :data:`MIN_BEATS`).
        argument: the command-line option that gave ``minutes``, named in the messages.

    Raises:
        DataFormatError: a span longer than the record, no labelled beat in it,
            too few, or a labels row beyond the span or far from every R peak.
    """
    from ecgnet.data.records import check_span

    min_beats = MIN_BEATS if min_beats is None else min_beats
    check_span(record, minutes, argument)
    span = 60.0 * minutes
    in_span = beat_times < span
    labels = np.full(len(beat_times), -1, np.int64)
    if labels_file is None:
        labels[in_span] = annotated[in_span]
        if not (labels >= 0).any():
            later = np.flatnonzero(annotated >= 0)
            why = (f"the first annotated beat is at {beat_times[later[0]]:.2f} s; a longer span ({argument})"
                   if len(later) else f"no reference annotations {record}.atr, or none of an AAMI class")
            raise DataFormatError(
                f"{record}: no annotated beat in the first {minutes:g} minutes ({why}); pass --labels FILE.csv"
            )
    else:
        times, given = read_labels(labels_file)
        rows_of = {}  # the labels file's line of each labelled beat
        for row, (time_s, label) in enumerate(zip(times, given), start=2):
            if time_s >= span:
                raise DataFormatError(f"{labels_file}: line {row}, column time_s: {time_s:g} s is after the first {minutes:g} minutes ({argument})")
            nearest = int(np.argmin(np.abs(beat_times - time_s))) if len(beat_times) else -1
            if nearest < 0 or abs(beat_times[nearest] - time_s) > LABEL_TOLERANCE_S:
                raise DataFormatError(f"{labels_file}: line {row}, column time_s: no beat of {record} within "
                                      f"{LABEL_TOLERANCE_S} s of {time_s:g} s")
            if labels[nearest] >= 0 and labels[nearest] != label:  # two rows on one beat: which is right?
                raise DataFormatError(
                    f"{labels_file}: line {row}, column label: labels the beat at {beat_times[nearest]:.3f} s "
                    f"{CLASS_NAMES[label]}, but line {rows_of[nearest]} labels it {CLASS_NAMES[labels[nearest]]}"
                )
            labels[nearest], rows_of[nearest] = label, row
    used = labels >= 0
    if used.sum() < min_beats:
        raise DataFormatError(
            f"{labels_file or record}: {int(used.sum())} labelled beats in the first {minutes:g} minutes; "
            f"adaptation needs at least {min_beats}"
        )
    return used, labels


def adapt_to_span(model, model_name, beats, used, labels, *, seed=0):
    """``model`` adapted to the labelled beats ``used`` of one record (:func:`adapt`).

    Args:
        model: the loaded ``keras.Model``.
        model_name: what the user named: a shipped model's name selects its
            replay set (:func:`load_replay`); a file has none.
        beats: the record's beats (:class:`ecgnet.data.Beats`): the model's inputs are built
            from all of them (record medians, previous beats), then selected.
        used: bool (n,), the beats to adapt on.
        labels: int (n,), their labels (:func:`span_labels`).
        seed: int.

    Returns:
        The adapted copy.
    """
    from ecgnet.data.prepared import model_inputs

    feed = model_inputs(model, beats, used)  # checked against the model's inputs: another beat length is one clear line
    replay = str(model_name) if replay_path(str(model_name)).exists() else None
    return adapt(model, feed, np.asarray(labels)[used], seed=seed, replay=replay)


def usable_span_labels(record, found, minutes, labels_file=None, argument="--minutes"):
    """:func:`span_labels` on a checked record, less its beats on bad signal: ``(used, labels)``.

    Args:
        record: the record path (for messages).
        found: ``ecgnet.data.beats_from_record(record, check_quality=True)``.
        minutes, labels_file, argument: as for :func:`span_labels`.

    Raises:
        DataFormatError: as :func:`span_labels`, or every labelled beat touches bad signal.
    """
    used, labels = span_labels(record, found.times, found.beats.y.astype(np.int64), minutes, labels_file,
                               argument=argument)
    used &= found.usable
    if not used.any():
        raise DataFormatError(f"{record}: every labelled beat of the first {minutes:g} minutes touches bad signal")
    return used, labels


#: Two R-peak times (seconds) closer than this are the same beat: times are saved rounded to 1 ms.
SAME_BEAT_S = 0.002


def with_patient_record(model, record, times, used, labels, minutes):
    """``model`` ending in a :class:`ecgnet.layers.PatientAdaptation` layer that records its patient's beats.

    What ``python -m ecgnet adapt`` saves: the adapted copy, and in it the
    record, the minutes and the beats (times and labels) it was adapted on,
    so that :func:`ecgnet.predict_record` with the saved file marks those
    beats and applies :func:`rhythm_gate` as the in-memory adaptation does. A
    model that already ends in such a layer has it replaced. The outputs are
    unchanged.

    Args:
        model: the adapted ``keras.Model``.
        record: str or Path of the record.
        times: float (n,), R-peak times in seconds of the record's beats.
        used: bool (n,), the beats adapted on.
        labels: int (n,), their classes where ``used``.
        minutes: float, the labelled span.

    Returns:
        A ``keras.Model`` with the same inputs, layers and weights.
    """
    import keras

    from ecgnet.layers import PatientAdaptation

    used = np.asarray(used, bool)
    output = model.outputs[0]
    if isinstance(model.layers[-1], PatientAdaptation):
        output = model.layers[-1].input
    layer = PatientAdaptation(record=Path(str(record)).name, minutes=float(minutes),
                              times=np.asarray(times, np.float64)[used].tolist(),
                              labels=[CLASS_NAMES[i] for i in np.asarray(labels)[used]], name="patient_adaptation")
    return keras.Model(model.inputs, layer(output), name=model.name)


def patient_record(model):
    """The :class:`ecgnet.layers.PatientAdaptation` config that ends ``model``, or None (not adapted and saved)."""
    last = model.layers[-1] if getattr(model, "layers", None) else None
    return last.get_config() if type(last).__name__ == "PatientAdaptation" else None


def saved_span(model, record, times):
    """The beats of ``record`` a saved adapted model was adapted on: ``(used, labels, warning)``.

    Args:
        model: a ``keras.Model``; one without a patient record gives ``(None, None, None)``.
        record: str or Path of the record being labelled.
        times: float (n,), R-peak times of its beats in seconds.

    Returns:
        ``used`` (bool (n,)) and ``labels`` (int (n,), -1 where not used) if
        the model was adapted on this record (its name, and a beat within
        :data:`SAME_BEAT_S` of every labelled time); otherwise None and None,
        and a warning sentence if the model was adapted on another record.
    """
    saved = patient_record(model)
    if saved is None:
        return None, None, None
    times = np.asarray(times, np.float64)
    name = Path(str(record)).name
    where = f"the first {saved['minutes']:g} minutes of record {saved['record']}"
    if saved["record"] != name:
        return None, None, f"the model was adapted to {where}, not to {name}: its patient's rhythm gate is not applied"
    used = np.zeros(len(times), bool)
    labels = np.full(len(times), -1, np.int64)
    if len(times):
        for time_s, label in zip(saved["times"], saved["labels"]):
            nearest = int(np.argmin(np.abs(times - time_s)))
            if abs(times[nearest] - time_s) > SAME_BEAT_S:
                return None, None, (f"the model was adapted to {where}, but no beat of this record lies at "
                                    f"{time_s:.3f} s: its patient's rhythm gate is not applied")
            used[nearest], labels[nearest] = True, CLASS_NAMES.index(label)
    return used, labels, None
