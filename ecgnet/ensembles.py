"""Seed ensembles: several trained models averaged into one Keras model.

Models trained with the same recipe but different seeds make partly
independent mistakes; averaging their class probabilities usually beats each
of them. ``build_ensemble`` wraps the members in one Functional model, so an
ensemble saves, loads and predicts like any other ``.keras`` file (and works
with ``python -m ecgnet evaluate`` / ``predict``).

Example:
    >>> members = [ecgnet.pretrained_models.load_model(f"runs/seed{i}/model.keras") for i in range(3)]
    >>> ensemble = build_ensemble(members)
    >>> ensemble.save("runs/ensemble.keras")
"""

import keras

from ecgnet.data.prepared import input_recipe
from ecgnet.errors import EcgnetError


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
        their ``input_recipe`` layers, so :func:`ecgnet.models.input_recipe`
        of the ensemble is the members' recipe.

    Raises:
        EcgnetError: fewer than two members, or members whose inputs,
            outputs or input recipes (:func:`ecgnet.models.input_recipe`)
            differ (the message lists them).

    Example:
        >>> ensemble = build_ensemble([model_a, model_b])
        >>> ensemble.output_shape
        (None, 5)
    """
    members = list(members)
    if len(members) < 2:
        raise EcgnetError(f"An ensemble needs at least 2 members. Received: {len(members)}")
    signature = _input_signature(members[0])
    # input_recipe also refuses a member whose InputRecipe layer contradicts its inputs.
    recipe = input_recipe(members[0])
    for index, member in enumerate(members):
        if (
            _input_signature(member) != signature
            or input_recipe(member) != recipe
            or len(member.outputs) != 1
            or member.output_shape != members[0].output_shape
        ):
            raise EcgnetError(
                f"Ensemble members must share inputs and outputs. member_0: inputs {signature}, "
                f"input recipe {recipe}, output {members[0].output_shape}; member_{index}: inputs "
                f"{_input_signature(member)}, input recipe {input_recipe(member)}, output {member.output_shape}"
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
