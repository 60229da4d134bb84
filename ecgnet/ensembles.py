"""Seed ensembles: several trained models averaged into one Keras model.

Models trained with the same recipe but different seeds make partly
independent mistakes; averaging their class probabilities usually beats each
of them. ``build_ensemble`` wraps the members in one Functional model, so an
ensemble saves, loads and predicts like any other ``.keras`` file (and works
with ``python -m ecgnet evaluate`` / ``predict``).

Example:
    Three runs of ``python -m ecgnet train`` with seeds 0, 1 and 2:

    >>> from ecgnet.pretrained_models import load_model
    >>> members = [load_model(f"runs/seed{i}/model.keras") for i in range(3)]  # doctest: +SKIP
    >>> ensemble = build_ensemble(members)  # doctest: +SKIP
    >>> ensemble.save("runs/ensemble.keras")  # doctest: +SKIP
"""

import keras

from ecgnet.errors import EcgnetError
from ecgnet.recipe import InputRecipe


def _input_signature(model):
    return [(tensor.name.split(":")[0], tuple(tensor.shape[1:])) for tensor in model.inputs]


def build_ensemble(members, name="ecgnet_ensemble"):
    """Average the class probabilities of ``members`` in one Functional model.

    Args:
        members: list of at least two ``keras.Model`` with the same inputs
            (names and shapes, e.g. ``beat`` and ``rr``) and the same output
            shape ``(batch, num_classes)`` of probabilities.
        name: str, name of the returned model.

    Returns:
        A ``keras.Model`` with the members' inputs and one output, the mean of
        their probabilities. The members are nested as ``member_0``,
        ``member_1``, ... and keep their weights (they are not copied) and
        their ``input_recipe`` layers, so :meth:`ecgnet.recipe.InputRecipe.from_model`
        of the ensemble is the members' recipe.

    Raises:
        EcgnetError: fewer than two members, or members whose inputs,
            outputs or input recipes (:meth:`ecgnet.recipe.InputRecipe.from_model`)
            differ (the message lists them).

    Example:
        >>> from ecgnet.models import build_ecgnet
        >>> model_a, model_b = build_ecgnet("small", rr_features=3), build_ecgnet("small", rr_features=3)
        >>> ensemble = build_ensemble([model_a, model_b])
        >>> ensemble.output_shape, [layer.name for layer in ensemble.layers]
        ((None, 5), ['beat', 'rr', 'member_0', 'member_1', 'average'])
    """
    members = list(members)
    if len(members) < 2:
        raise EcgnetError(f"An ensemble needs at least 2 members. Received: {len(members)}")
    signature = _input_signature(members[0])
    # from_model also refuses a member whose InputRecipe layer contradicts its inputs.
    recipe = InputRecipe.from_model(members[0])
    for index, member in enumerate(members):
        same_inputs = _input_signature(member) == signature
        if (
            not same_inputs
            or InputRecipe.from_model(member) != recipe
            or len(member.outputs) != 1
            or member.output_shape != members[0].output_shape
        ):
            member_recipe = InputRecipe.from_model(member) if same_inputs else "(other inputs)"
            raise EcgnetError(
                f"Ensemble members must share inputs and outputs. member_0: inputs {signature}, "
                f"input recipe {recipe}, output {members[0].output_shape}; member_{index}: inputs "
                f"{_input_signature(member)}, input recipe {member_recipe}, output {member.output_shape}"
            )
    inputs = {input_name: keras.Input(shape, name=input_name) for input_name, shape in signature}
    outputs = []
    for index, member in enumerate(members):
        # A fresh wrapper per member gives unique nested names (member_0, ...)
        # without renaming or copying the trained model itself.
        wrapped = keras.Model(member.inputs, member.outputs[0], name=f"member_{index}")
        arguments = inputs[signature[0][0]] if len(inputs) == 1 else dict(inputs)
        outputs.append(wrapped(arguments))
    average = keras.layers.Average(name="average", dtype="float32")(outputs)
    model_inputs = list(inputs.values())
    return keras.Model(model_inputs[0] if len(model_inputs) == 1 else model_inputs, average, name=name)


def logistic_regression_model(pipeline, num_classes=5, name="rr_regression"):
    """A Keras model ``rr -> class probabilities`` that computes a fitted scikit-learn regression exactly.

    The pipeline is ``make_pipeline(StandardScaler(), LogisticRegression())``
    fitted on R-R features (multinomial, as scikit-learn fits more than two
    classes). Its scaling becomes a ``Normalization`` layer and its
    coefficients a ``Dense`` layer with a softmax, so the model predicts what
    ``pipeline.predict_proba`` does and saves in a ``.keras`` file. A class
    the regression never saw gets probability 0 (a bias of -1e4).

    Args:
        pipeline: a fitted scikit-learn ``Pipeline`` of a ``StandardScaler``
            and a ``LogisticRegression``.
        num_classes: int, the width of the output (class ``k`` is column ``k``).
        name: str, the model's name.

    Returns:
        A Functional ``keras.Model`` with one input named ``rr``.

    Raises:
        EcgnetError: not a fitted two-step scaler and regression pipeline, or
            a regression of fewer than 3 classes.

    Example:
        >>> import numpy as np
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> rng = np.random.default_rng(0)
        >>> rr, y = rng.normal(size=(500, 3)).astype("float32"), rng.integers(0, 5, size=500)
        >>> lr = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced")).fit(rr, y)
        >>> bool(np.allclose(logistic_regression_model(lr).predict(rr, verbose=0), lr.predict_proba(rr), atol=1e-5))
        True
    """
    import numpy as np

    scaler, regression = pipeline[0], pipeline[-1]
    if len(pipeline) != 2 or not hasattr(scaler, "n_features_in_") or not hasattr(regression, "coef_") or len(regression.classes_) < 3:
        raise EcgnetError("logistic_regression_model takes a fitted StandardScaler + LogisticRegression pipeline of 3 or more classes")
    classes = np.asarray(regression.classes_, dtype=np.int64)
    width = scaler.n_features_in_
    mean = scaler.mean_ if scaler.with_mean else np.zeros(width)  # with_mean=False: nothing is subtracted
    scale = scaler.scale_ if scaler.with_std else np.ones(width)
    kernel = np.zeros((width, num_classes))
    bias = np.full(num_classes, -1e4)
    kernel[:, classes] = regression.coef_.T
    bias[classes] = regression.intercept_
    rr = keras.Input((width,), name="rr")
    standardised = keras.layers.Normalization(mean=mean, variance=scale**2, name="rr_standardise")(rr)
    dense = keras.layers.Dense(num_classes, activation="softmax", name="rr_probabilities", dtype="float32")
    probabilities = dense(standardised)
    dense.set_weights([kernel.astype("float32"), bias.astype("float32")])
    return keras.Model(rr, probabilities, name=name)


def fuse_with_rr_regression(model, rr_model, name="ecgnet_fused"):
    """One model whose output is the product of ``model``'s and ``rr_model``'s probabilities, renormalised.

    Args:
        model: a ``keras.Model`` with inputs ``beat`` and ``rr`` (e.g. an
            ensemble from :func:`build_ensemble`).
        rr_model: a ``keras.Model`` from ``rr`` alone, of the same R-R width
            (:func:`logistic_regression_model`).
        name: str, the returned model's name.

    Returns:
        A ``keras.Model`` with ``model``'s inputs; :meth:`ecgnet.recipe.InputRecipe.from_model`
        of it is ``model``'s recipe. Its output is
        :class:`ecgnet.layers.ProductOfExperts` of the two.

    Raises:
        EcgnetError: ``model`` has no ``rr`` input, or its width differs from ``rr_model``'s.

    Example:
        >>> import numpy as np
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from ecgnet.models import build_ecgnet
        >>> rng = np.random.default_rng(0)
        >>> rr, y = rng.normal(size=(500, 3)).astype("float32"), rng.integers(0, 5, size=500)
        >>> lr = make_pipeline(StandardScaler(), LogisticRegression()).fit(rr, y)
        >>> fused = fuse_with_rr_regression(build_ecgnet("small", rr_features=3), logistic_regression_model(lr))
        >>> probabilities = fused.predict({"beat": rng.random((2, 187, 1)), "rr": rr[:2]}, verbose=0)
        >>> probabilities.shape, bool(np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5))
        ((2, 5), True)
    """
    from ecgnet.layers import ProductOfExperts

    signature = dict(_input_signature(model))
    if "rr" not in signature or _input_signature(rr_model) != [("rr", signature["rr"])]:
        raise EcgnetError(
            f"fuse_with_rr_regression: the model's inputs are {_input_signature(model)} and the R-R model's "
            f"{_input_signature(rr_model)}; both need the same `rr` input"
        )
    inputs = {input_name: keras.Input(shape, name=input_name) for input_name, shape in _input_signature(model)}
    network = keras.Model(model.inputs, model.outputs[0], name="network")(dict(inputs))
    rhythm = rr_model(inputs["rr"])
    fused = ProductOfExperts(name="product")([network, rhythm])
    return keras.Model(list(inputs.values()), fused, name=name)
