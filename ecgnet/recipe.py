"""A model's input recipe: which beat window, which beat channels and which R-R features it takes.

One immutable value, :class:`InputRecipe`, says what a model reads from a
heartbeat; every other place asks it. The Keras layer
:class:`ecgnet.layers.InputRecipe` keeps one inside a saved model
(:meth:`InputRecipe.from_model` reads it back), ``python -m ecgnet train
--recipe TEXT`` parses one (:meth:`InputRecipe.parse`), the model cards of
``ecgnet/weights`` store one (:meth:`InputRecipe.to_config`), and
:meth:`InputRecipe.inputs` builds a model's inputs from beats.

The registries live here too:

- :data:`WINDOWS`: the beat windows, what they hold and their length in
  samples at 125 Hz (the lengths that :mod:`ecgnet.data.signals` cuts);
- :data:`WINDOW_CHANNELS` (:data:`BEAT_CHANNELS`, :data:`CENTRED_CHANNELS`):
  the channels of each window, in order; a model takes the first k of them;
- :data:`CHANNEL_NAMES`: the short name of each channel, for the text form;
- :data:`RR_FEATURE_SETS`, :data:`RR_FEATURE_NAMES`: the R-R feature sets,
  by width and by name.

The text form is ``WINDOW:CHANNEL,CHANNEL,...`` and, for a model with an R-R
input, ``+rr=SET``::

    kachuee:beat                                   the beat alone (Kachuee et al. 2018)
    kachuee:beat+rr=all                            and the 6 R-R features
    kachuee:beat,relative,previous+rr=relative     ecgnet-mitbih-interpatient
    centred:beat,relative+rr=relative              ecgnet-mitbih-svdb
    kachuee:beat,relative,previous,lead2,lead2-relative,lead2-previous+rr=rhythm

The channels are named in their order and must be the first ones of the
window (``kachuee:beat,previous`` is refused: ``previous`` is the third).

This module imports neither TensorFlow nor Keras, so a recipe can be parsed,
compared and printed at once; building inputs imports :mod:`ecgnet.data`.

Example:
    >>> recipe = InputRecipe.parse("kachuee:beat,relative,previous+rr=relative")
    >>> recipe.beat_channels, recipe.rr_features, str(recipe)
    (3, 3, 'kachuee:beat,relative,previous+rr=relative')
    >>> InputRecipe.from_config(recipe.to_config()) == recipe
    True
"""

import dataclasses
import numbers

from ecgnet.errors import EcgnetError, ModelFileError

#: The beat windows a model can take, by name: what they hold and their length in samples (125 Hz).
#: The lengths are those that :mod:`ecgnet.data.signals` cuts (``BEAT_LENGTH``, ``CENTRED_LENGTH``);
#: they are written out here so that this module needs no data code (a test checks that they agree).
WINDOWS = {
    "kachuee": ("the beat from its R peak on, 1.2 periods long, zero-padded (ecgnet.data.segment_beats)", 187),
    "centred": ("a window from 0.256 s before the R peak to 0.44 s after it: P wave, QRS, T "
                "(ecgnet.data.signals.centred_windows)", 88),
}

#: What each channel of the ``"kachuee"`` window holds, in order; a model with k beat
#: channels takes the first k (:meth:`InputRecipe.inputs`).
BEAT_CHANNELS = {
    1: "the beat",
    2: "the beat minus its record's median beat (ecgnet.data.record_relative_beats)",
    3: "the previous beat of the same record, which holds this beat's P wave (ecgnet.data.previous_beats)",
    4: "the beat in the record's second lead (V1 in most MIT-BIH records)",
    5: "the second lead's beat minus its record's median beat",
    6: "the second lead's previous beat",
}

#: The channels of the ``"centred"`` window, in order.
CENTRED_CHANNELS = {
    1: "the R-centred window, scaled by the record's median R amplitude",
    2: "that window minus its record's median window",
}

#: Each window's channels (:data:`BEAT_CHANNELS`, :data:`CENTRED_CHANNELS`), by window name.
WINDOW_CHANNELS = {"kachuee": BEAT_CHANNELS, "centred": CENTRED_CHANNELS}

#: The short name of each channel of each window, in order: the names of the text form.
CHANNEL_NAMES = {
    "kachuee": ("beat", "relative", "previous", "lead2", "lead2-relative", "lead2-previous"),
    "centred": ("beat", "relative"),
}

#: The R-R feature sets a model can take, keyed by the width of its R-R input
#: (:func:`ecgnet.data.select_rr_features` builds them from :func:`ecgnet.data.rr_features`).
RR_FEATURE_SETS = {
    6: "all: the 3 R-R intervals in seconds, and the same divided by the record's mean R-R",
    3: "relative: the 3 R-R intervals divided by the record's mean R-R",
    5: "rhythm: the 3 relative ones, and the previous and next R-R divided by the local mean R-R",
}

#: The names of the R-R feature sets, each mapped to the width of its R-R input (a key of :data:`RR_FEATURE_SETS`).
RR_FEATURE_NAMES = {"all": 6, "relative": 3, "rhythm": 5}

#: The first beat channel of the second lead (``"kachuee"`` window): models with more channels read two leads.
SECOND_LEAD_CHANNEL = 4

#: The shorthand options of ``python -m ecgnet train`` that ``--recipe`` replaces, by argparse dest
#: (:meth:`InputRecipe.from_train_options`).
OPTION_FLAGS = {"window": "--window", "relative": "--relative", "previous_beat": "--previous-beat",
                "second_lead": "--second-lead", "rr": "--rr", "rr_features": "--rr-features"}

#: The text form, for messages.
SYNTAX = "WINDOW:CHANNEL,...[+rr=SET], e.g. kachuee:beat,relative,previous+rr=relative"


def window_of_length(steps):
    """The name of the window (a key of :data:`WINDOWS`) that is ``steps`` samples long, or None."""
    return next((name for name, (_, length) in WINDOWS.items() if length == steps), None)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class InputRecipe:
    """What a model reads from a heartbeat: its beat window, beat channels and R-R features.

    Immutable and hashable; two recipes are equal when a model built for one
    takes exactly the inputs of the other.

    Args:
        window: str, a key of :data:`WINDOWS`: ``"kachuee"`` (the beat from
            its R peak on, 187 samples) or ``"centred"`` (P wave to T wave
            around the R peak, 88 samples).
        beat_channels: int, how many of the window's channels
            (:data:`WINDOW_CHANNELS`) the beat input holds: the first
            ``beat_channels`` of them, in order (1 to 6 for ``"kachuee"``,
            1 or 2 for ``"centred"``).
        rr_features: None (no R-R input), or the R-R feature set of the
            ``rr`` input: its width 3, 5 or 6 (:data:`RR_FEATURE_SETS`) or its
            name ``"relative"``, ``"rhythm"`` or ``"all"``
            (:data:`RR_FEATURE_NAMES`). Kept as the width.

    Raises:
        EcgnetError: (a ``ValueError``) a value outside those, naming the
            argument and echoing it (``Received: beat_channels=7``).

    Example:
        >>> recipe = InputRecipe("centred", 2, "relative")
        >>> recipe.beat_shape, recipe.input_names, recipe.channel_names
        ((88, 2), ('beat', 'rr'), ('beat', 'relative'))
    """

    window: str = "kachuee"
    beat_channels: int = 1
    rr_features: int = None

    def __post_init__(self):
        window, channels, rr = self.window, self.beat_channels, self.rr_features
        if not isinstance(window, str) or window not in WINDOWS:
            raise EcgnetError(f"`window` must be one of {sorted(WINDOWS)} (ecgnet.recipe.WINDOWS). Received: window={window!r}")
        allowed = WINDOW_CHANNELS[window]
        if not _is_int(channels) or channels not in allowed:
            raise EcgnetError(
                f"`beat_channels` must be an integer from {min(allowed)} to {max(allowed)} for the {window!r} window "
                f"(ecgnet.recipe.{'BEAT' if window == 'kachuee' else 'CENTRED'}_CHANNELS). Received: beat_channels={channels!r}"
            )
        if isinstance(rr, str) and rr in RR_FEATURE_NAMES:
            rr = RR_FEATURE_NAMES[rr]
        elif rr is not None and (not _is_int(rr) or rr not in RR_FEATURE_SETS):
            raise EcgnetError(
                f"`rr_features` must be None, an R-R input width {sorted(RR_FEATURE_SETS)} or a name "
                f"{sorted(RR_FEATURE_NAMES)} (ecgnet.recipe.RR_FEATURE_SETS). Received: rr_features={rr!r}"
            )
        object.__setattr__(self, "beat_channels", int(channels))
        object.__setattr__(self, "rr_features", None if rr is None else int(rr))

    # -- what it says --------------------------------------------------------------------------------

    @property
    def steps(self):
        """int, the length of the beat window in samples (125 Hz)."""
        return WINDOWS[self.window][1]

    @property
    def beat_shape(self):
        """``(steps, beat_channels)``, the shape of one beat input."""
        return (self.steps, self.beat_channels)

    @property
    def channel_names(self):
        """The short names of the beat channels, in order (:data:`CHANNEL_NAMES`)."""
        return CHANNEL_NAMES[self.window][: self.beat_channels]

    @property
    def rr_name(self):
        """The name of the R-R feature set (a key of :data:`RR_FEATURE_NAMES`), or None."""
        return next((name for name, width in RR_FEATURE_NAMES.items() if width == self.rr_features), None)

    @property
    def input_names(self):
        """The names of the model's inputs: ``("beat",)`` or ``("beat", "rr")``."""
        return ("beat",) if self.rr_features is None else ("beat", "rr")

    @property
    def second_lead(self):
        """True when the beat channels include the record's second lead (channels 4 to 6)."""
        return self.window == "kachuee" and self.beat_channels >= SECOND_LEAD_CHANNEL

    def describe(self):
        """One line per input, in words: the window and each channel; the R-R features (a model card's ``"inputs"``)."""
        channels = WINDOW_CHANNELS[self.window]
        lines = [f"beat {self.beat_shape}, the {self.window} window: {WINDOWS[self.window][0]}; channels: "
                 + "; ".join(channels[c] for c in range(1, self.beat_channels + 1))]
        if self.rr_features is not None:
            lines.append(f"{self.rr_features} R-R features, {RR_FEATURE_SETS[self.rr_features]} "
                         f"(ecgnet.data.select_rr_features(..., {self.rr_features}))")
        return lines

    def __str__(self):
        text = f"{self.window}:{','.join(self.channel_names)}"
        return text if self.rr_features is None else f"{text}+rr={self.rr_name}"

    # -- to and from other forms -----------------------------------------------------------------------

    @classmethod
    def parse(cls, text):
        """The recipe written as ``WINDOW:CHANNEL,...[+rr=SET]`` (see the module docstring).

        Args:
            text: str, e.g. ``"kachuee:beat,relative,previous+rr=relative"``.

        Returns:
            InputRecipe; ``str(recipe)`` gives the text back (spaces removed).

        Raises:
            EcgnetError: one line naming the first bad part of ``text`` and what
                is allowed there.

        Example:
            >>> InputRecipe.parse("centred:beat,relative+rr=relative")
            InputRecipe(window='centred', beat_channels=2, rr_features=3)
        """
        if not isinstance(text, str):
            raise EcgnetError(f"a recipe is text, {SYNTAX}. Received: {text!r}")
        where = f"recipe {text!r}"
        compact = "".join(text.split())
        beat_part, plus, rr_part = compact.partition("+")
        window, colon, channel_text = beat_part.partition(":")
        if not colon:
            raise EcgnetError(f"{where}: no ':' after the window; expected {SYNTAX}")
        if window not in WINDOWS:
            raise EcgnetError(f"{where}: unknown window {window!r}; windows: {', '.join(WINDOWS)}")
        known = CHANNEL_NAMES[window]
        names = channel_text.split(",") if channel_text else []
        if not names:
            raise EcgnetError(f"{where}: no beat channels after '{window}:'; the {window} window's channels are {', '.join(known)}")
        for position, name in enumerate(names):
            if name not in known:
                raise EcgnetError(f"{where}: unknown channel {name!r} of the {window} window; its channels are {', '.join(known)}")
            if name in names[:position]:
                raise EcgnetError(f"{where}: channel {name!r} is named twice")
            if name != known[position]:
                raise EcgnetError(
                    f"{where}: channel {position + 1} is {name!r}, but a model takes the first channels of the "
                    f"{window} window in their order ({', '.join(known)}), so channel {position + 1} is {known[position]!r}"
                )
        rr = None
        if plus:
            key, equals, value = rr_part.partition("=")
            if key != "rr" or not equals:
                raise EcgnetError(f"{where}: expected '+rr=SET' after the channels, found '+{rr_part}'; sets: {', '.join(RR_FEATURE_NAMES)}")
            if value not in RR_FEATURE_NAMES:
                raise EcgnetError(f"{where}: unknown R-R feature set {value!r}; sets: {', '.join(RR_FEATURE_NAMES)}")
            rr = RR_FEATURE_NAMES[value]
        return cls(window, len(names), rr)

    def to_config(self):
        """A JSON-ready dict: ``{"window": str, "beat_channels": int, "rr_features": int or None}``.

        The same keys as the config of the layer :class:`ecgnet.layers.InputRecipe`
        and the ``"recipe"`` of the model cards; :meth:`from_config` reads it back.
        """
        return {"window": self.window, "beat_channels": self.beat_channels, "rr_features": self.rr_features}

    @classmethod
    def from_config(cls, config):
        """The recipe of a :meth:`to_config` dict (or of the layer's config, whose other keys are ignored).

        A config without ``"window"`` (layers saved before windows existed) is the ``"kachuee"`` window.
        """
        if not isinstance(config, dict) or "beat_channels" not in config:
            raise EcgnetError(f"a recipe config is a dict with 'window', 'beat_channels' and 'rr_features'. Received: {config!r}")
        return cls(config.get("window", "kachuee"), config["beat_channels"], config.get("rr_features"))

    @classmethod
    def from_flags(cls, window="kachuee", relative=False, previous_beat=False, second_lead=False, rr_features=None):
        """The recipe of ``python -m ecgnet train``'s shorthand options.

        ``--relative`` adds channel 2, ``--previous-beat`` channel 3 and
        ``--second-lead`` the second lead's three (channels 4 to 6); each
        needs the ones before it.

        Args:
            window: str, a key of :data:`WINDOWS`.
            relative, previous_beat, second_lead: bool.
            rr_features: None, or an R-R feature set (name or width).

        Raises:
            EcgnetError: a channel asked for without the ones before it, or one the window lacks.
        """
        wanted = [True, bool(relative), bool(previous_beat), bool(second_lead)]
        flags = ["the beat", "--relative", "--previous-beat", "--second-lead"]
        for position in range(2, len(wanted)):
            if wanted[position] and not wanted[position - 1]:
                raise EcgnetError(f"{flags[position]} adds channels after those of {flags[position - 1]}: pass both")
        channels = 6 if second_lead else 1 + bool(relative) + bool(previous_beat)
        if window in WINDOW_CHANNELS and channels not in WINDOW_CHANNELS[window]:
            raise EcgnetError(
                f"the {window} window has {len(WINDOW_CHANNELS[window])} channels ({', '.join(CHANNEL_NAMES[window])}); "
                f"{', '.join(f for f, w in zip(flags[1:], wanted[1:]) if w)} ask for {channels}"
            )
        return cls(window, channels, rr_features)

    @classmethod
    def from_train_options(cls, recipe=None, split="kaggle", **options):
        """The recipe of a ``python -m ecgnet train`` run: ``recipe``, or the one its shorthand options name.

        Args:
            recipe: None, or the InputRecipe of ``--recipe``.
            split: str, the split trained on: R-R features are on by default
                for ``"inter-patient"``, off for ``"kaggle"``.
            **options: the shorthand options (keys of :data:`OPTION_FLAGS`), None where not given.

        Raises:
            EcgnetError: ``recipe`` and shorthand options together, or shorthand
                options that contradict each other (one line naming them).

        Example:
            >>> str(InputRecipe.from_train_options(split="inter-patient", relative=True))
            'kachuee:beat,relative+rr=all'
        """
        unknown = sorted(set(options) - set(OPTION_FLAGS))
        if unknown:
            raise EcgnetError(f"unknown train options {unknown}; the options are {sorted(OPTION_FLAGS)}")
        given = [flag for dest, flag in OPTION_FLAGS.items() if options.get(dest) is not None]
        if recipe is not None:
            if given:
                raise EcgnetError(f"--recipe {recipe} says what the model reads; drop {', '.join(given)}, or drop --recipe")
            return recipe
        window, relative, previous_beat, second_lead = (options.get(key) for key in ("window", "relative", "previous_beat", "second_lead"))
        window = window or "kachuee"
        if window == "centred" and previous_beat:
            raise EcgnetError("--previous-beat shows the P wave that Kachuee's cut misses; the centred window holds it already: "
                              "use --window centred with --relative at most")
        if previous_beat and not relative:
            raise EcgnetError("--previous-beat adds the third beat channel, after the second one that --relative adds: pass both")
        if second_lead and not previous_beat:
            raise EcgnetError("--second-lead adds the second lead's three channels after the first lead's three: pass --relative --previous-beat too")
        use_rr = (split == "inter-patient") if options.get("rr") is None else options["rr"]
        return cls.from_flags(window, bool(relative), bool(previous_beat), bool(second_lead),
                              (options.get("rr_features") or "all") if use_rr else None)

    @classmethod
    def from_model(cls, model, source=None):
        """The recipe a ``keras.Model`` takes, from its ``InputRecipe`` layers or else its input shapes.

        Models built by :mod:`ecgnet.models` keep their recipe in an
        ``InputRecipe`` layer (an ensemble's members each hold one); all of
        them must agree with each other and with the model's input shapes
        (beat channels, R-R width). A model without one (a ``.keras`` file
        written before that layer, or a hand-built model) is read from its
        shapes: the window whose length its beat input has (else
        ``"kachuee"``), the beat input's channels, the width of its second
        input. A beat input without a channel axis, ``(187,)`` or ``(88,)``,
        is the one-channel beat of that window (:func:`feeds_flat_beats`).

        Args:
            model: a ``keras.Model`` whose first input is the beat and whose
                second input, if any, the R-R features.
            source: str, how messages name the model (its file), or None for
                ``model 'NAME'``.

        Returns:
            InputRecipe.

        Raises:
            ModelFileError: one line naming the model, the input and the shape
                expected: more than two inputs, a beat input of another rank,
                of no fixed length or with its axes the other way round
                (channels first), a second input that is not a vector, the
                recipe layers in disagreement with each other or with the
                input shapes, or a model without them whose inputs no recipe
                makes (e.g. 4 R-R features).

        Example:
            >>> InputRecipe.from_model(ecgnet.pretrained("ecgnet-mitbih-interpatient"))
            InputRecipe(window='kachuee', beat_channels=3, rr_features=3)
        """
        where = source or f"model {model.name!r}"
        names = [tensor.name.split(":")[0] for tensor in model.inputs]
        shapes_in = [tuple(tensor.shape[1:]) for tensor in model.inputs]
        lengths = " or ".join(f"{length} ({name})" for name, (_, length) in WINDOWS.items())
        expected = "(steps, channels), e.g. (187, 1), or (187,) without the channel axis"
        if len(shapes_in) not in (1, 2):
            raise ModelFileError(
                f"{where}: it takes {len(shapes_in)} inputs ("
                + ", ".join(f"{name!r} of shape {shape}" for name, shape in zip(names, shapes_in))
                + f"); ecgnet feeds a model the beat, {expected}, and at most a second input, the R-R features "
                f"({', '.join(f'({width},)' for width in sorted(RR_FEATURE_SETS))})"
            )
        if [len(shape) for shape in shapes_in] == [1, 2] and shapes_in[0][0] not in (None, *(n for _, n in WINDOWS.values())):
            raise ModelFileError(
                f"{where}: its inputs look swapped: the first ({names[0]!r}, shape {shapes_in[0]}) holds features and the "
                f"second ({names[1]!r}, shape {shapes_in[1]}) a beat; ecgnet feeds the beat (steps, channels) first and "
                "the R-R features second: build the model with its inputs in that order"
            )
        beat = shapes_in[0]
        beat_where = f"{where}: its beat input ({names[0]!r}) has shape {beat}"
        if len(beat) not in (1, 2):
            raise ModelFileError(f"{beat_where}, but ecgnet feeds a beat as {expected}")
        if beat[0] is None:
            raise ModelFileError(
                f"{beat_where}: its length is not fixed, so it does not say which beat window it reads; "
                f"ecgnet's windows are {lengths} samples long: build it on keras.Input((187, 1))"
            )
        if len(beat) == 2 and window_of_length(beat[0]) is None and window_of_length(beat[1]) is not None:
            raise ModelFileError(
                f"{beat_where}: channels first? ecgnet feeds a beat as (steps, channels), "
                f"({beat[1]}, {beat[0]}): build it on keras.Input(({beat[1]}, {beat[0]}))"
            )
        if len(beat) == 1 and window_of_length(beat[0]) is None:
            raise ModelFileError(f"{beat_where}, but ecgnet's beat windows are {lengths} samples long")
        if len(shapes_in) > 1 and len(shapes_in[1]) != 1:
            raise ModelFileError(
                f"{where}: its second input ({names[1]!r}) has shape {shapes_in[1]}, but ecgnet's second input is "
                f"a vector of R-R features ({', '.join(f'({width},)' for width in sorted(RR_FEATURE_SETS))})"
            )
        shapes = {
            "window": window_of_length(beat[0]) or "kachuee",
            "beat_channels": beat[1] if len(beat) == 2 else 1,
            "rr_features": shapes_in[1][0] if len(shapes_in) > 1 else None,
        }
        found = []
        for layer in recipe_layers(model):
            recipe = cls.from_config(layer.get_config())
            if recipe not in found:
                found.append(recipe)
        if not found:
            try:
                return cls(**shapes)
            except EcgnetError as error:
                raise ModelFileError(
                    f"{where}: its inputs {shapes} are no input recipe of ecgnet ({error})"
                ) from None
        if len(found) > 1 or found[0].to_config() != shapes:
            raise ModelFileError(
                f"{where}: its InputRecipe layers say {' and '.join(str(r.to_config()) for r in found)}, "
                f"but its inputs give {shapes}"
            )
        return found[0]

    # -- building inputs -------------------------------------------------------------------------------

    def beat_input(self, beats):
        """The beat input of ``beats``: float32 ``(n, steps, beat_channels)``.

        Channels that compare a beat with its record (the median beat, the
        previous beat) are built from all of ``beats``: pass whole records.

        Args:
            beats: :class:`ecgnet.data.Beats` (e.g. of :func:`ecgnet.data.load_part`).

        Raises:
            DataFormatError: the beats lack what a channel needs (record names,
                R-peak samples and R-R intervals, the second lead, the centred
                windows), naming the source.
        """
        return window_channels(beats, self.window, self.beat_channels)

    def rr_input(self, beats):
        """The R-R input of ``beats``: float32 ``(n, rr_features)`` (:func:`ecgnet.data.select_rr_features`).

        Raises:
            EcgnetError: the recipe has no R-R input.
            DataFormatError: the beats carry no R-R intervals (Kaggle CSV files), naming the source.
        """
        if self.rr_features is None:
            raise EcgnetError(f"the recipe {self} has no R-R input")
        from ecgnet.data.features import select_rr_features
        from ecgnet.errors import DataFormatError

        if beats.rr is None or beats.record is None:
            raise DataFormatError(
                f"{beats.source}: the model takes R-R features (inputs {list(self.input_names)}), which Kaggle CSV "
                "files do not carry; pass the folder written by `python -m ecgnet prepare` (train.npz / test.npz)"
            )
        return select_rr_features(beats.rr_features(), self.rr_features)

    def inputs(self, beats, index=None):
        """A model's inputs from beats: a dict of arrays keyed by the input names (:attr:`input_names`).

        Args:
            beats: :class:`ecgnet.data.Beats` (e.g. of :func:`ecgnet.data.load_part`).
            index: None, or an index array or mask that keeps those beats,
                after the channels were built from all of them (record medians
                and previous beats need every beat of a record).

        Returns:
            ``{"beat": float32 (n, steps, beat_channels)}``, and ``"rr"``:
            float32 ``(n, rr_features)`` for a recipe with R-R features.

        Raises:
            DataFormatError: the beats lack what the recipe needs (see :meth:`beat_input`).

        Example:
            >>> found = ecgnet.data.beats_from_record("tests/fixtures/208_excerpt")
            >>> {k: v.shape for k, v in InputRecipe("kachuee", 3, 3).inputs(found.beats).items()}
            {'beat': (..., 187, 3), 'rr': (..., 3)}
        """
        keep = slice(None) if index is None else index
        result = {"beat": self.beat_input(beats)[keep]}
        if self.rr_features is not None:
            result["rr"] = self.rr_input(beats)[keep]
        return result


def feeds_flat_beats(model):
    """True when ``model``'s beat input has no channel axis: ``(batch, steps)``, e.g. ``keras.Input((187,))``.

    Such a model reads the one-channel beat of its window with that axis
    squeezed out (:func:`ecgnet.data.model_inputs` does it).

    Example:
        >>> feeds_flat_beats(ecgnet.pretrained("ecgnet-mitbih"))
        False
    """
    return len(model.inputs[0].shape) == 2


def recipe_layers(model):
    """The ``InputRecipe`` layers of ``model`` and of the models nested in it (an ensemble's members), in order.

    Found by class name, so that this module needs no Keras.
    """
    for layer in getattr(model, "layers", ()):
        if type(layer).__name__ == "InputRecipe":
            yield layer
        else:
            yield from recipe_layers(layer)


def window_channels(beats, window, channels):
    """The first ``channels`` channels of ``window`` for every beat: float32 ``(n, steps, channels)``.

    What :meth:`InputRecipe.beat_input` returns, for a window and channel
    count that are checked here rather than in a recipe (``ecgnet.data.beat_channels``).

    Args:
        beats: :class:`ecgnet.data.Beats`; its arrays get their channel axis here.
        window: str, a key of :data:`WINDOWS`.
        channels: int, a key of ``WINDOW_CHANNELS[window]``.

    Raises:
        DataFormatError: another window or channel count, or beats that lack
            what a channel needs, naming the source.
    """
    import numpy as np

    from ecgnet.data.features import previous_beats, record_relative_beats
    from ecgnet.errors import DataFormatError

    if window not in WINDOWS:
        raise DataFormatError(f"beat windows are {sorted(WINDOWS)}. Received: window={window!r}")
    if window == "centred":
        if channels not in CENTRED_CHANNELS:
            raise DataFormatError(
                f"centred windows have {sorted(CENTRED_CHANNELS)} channels ({'; '.join(CENTRED_CHANNELS.values())}). "
                f"Received: {channels}"
            )
        if beats.centred is None:
            raise DataFormatError(
                f"{beats.source}: has no centred beat windows (Kaggle CSV files and folders prepared by older "
                "versions lack them); prepare the data again with `python -m ecgnet prepare ... --overwrite` "
                "(predict also reads a raw --record)"
            )
        x = beats.centred[..., None]
        if channels == 1:
            return x
        if beats.record is None:
            raise DataFormatError(f"{beats.source}: centred channel 2 ({CENTRED_CHANNELS[2]}) needs the record names")
        return record_relative_beats(x, beats.record)
    if channels not in BEAT_CHANNELS:
        raise DataFormatError(f"beats have {sorted(BEAT_CHANNELS)} channels ({'; '.join(BEAT_CHANNELS.values())}). Received: {channels}")
    if channels >= SECOND_LEAD_CHANNEL:
        if beats.second_lead is None:
            raise DataFormatError(
                f"{beats.source}: beat channels 4 to 6 are the record's second lead, which this data lacks; "
                "prepare it with `python -m ecgnet prepare --second-lead`, or pass a two-lead --record"
            )
        other = window_channels(dataclasses.replace(beats, x=beats.second_lead), window, 3)
        return np.concatenate([window_channels(beats, window, 3), other[..., : channels - 3]], axis=-1)
    x = beats.x[..., None]
    if channels == 1:
        return x
    if beats.record is None or (channels == 3 and (beats.r_peak is None or beats.rr is None)):
        raise DataFormatError(
            f"{beats.source}: beat channel {channels} ({BEAT_CHANNELS[channels]}) needs the record names "
            "(and R-peak samples and R-R intervals) that Kaggle CSV files do not carry; "
            "pass the folder written by `python -m ecgnet prepare` (test.npz) or a --record"
        )
    stacked = record_relative_beats(x, beats.record)
    if channels == 3:
        stacked = np.concatenate([stacked, previous_beats(x, beats.record, beats.r_peak, beats.rr)[..., None]], axis=-1)
    return stacked
