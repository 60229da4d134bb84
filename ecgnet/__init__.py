"""ecgnet: ResNeXt-1D heartbeat classification on the MIT-BIH Arrhythmia Database.

The package is small and flat; each module holds one thing:

- ``ecgnet.data``        class names, CSV/record loaders, beat builder, splits, tf.data
- ``ecgnet.recipe``      ``InputRecipe``: the window, beat channels and R-R features a model takes (no TensorFlow)
- ``ecgnet.layers``      ``GroupedConv1D``, ``ResNeXtBlock1D``, ``ResidualBlock1D``
- ``ecgnet.models``      ``build_ecgnet`` (presets) and ``build_kachuee2018``
- ``ecgnet.augmentation``  ECG augmentations for the training pipeline
- ``ecgnet.training``    ``train(...)``: the training loop learners can read
- ``ecgnet.metrics``     confusion matrices, AAMI Se/+P/Spec/F1, macro-F1 (no TensorFlow)
- ``ecgnet.runs``        run folders: training cards, folds, cross-validation pooling (no TensorFlow)
- ``ecgnet.evaluation``  a model measured on a test part, reports, confusion-matrix figures
- ``ecgnet.pretrained_models`` the models shipped with the repository (``ecgnet.pretrained(name)``)
- ``ecgnet.adaptation`` a model adapted to one patient from a few labelled minutes (``ecgnet.adapt``)
- ``ecgnet.explain``     what a model looks at: integrated gradients, 1-D Grad-CAM
- ``ecgnet.prediction``  ``predict_record``: every beat of a WFDB record classified, bad signal marked
- ``ecgnet.quality``     signal quality of a record (invalid, flat, saturated stretches), noise at a given SNR
- ``ecgnet.notebook``    the setup of the teaching notebooks

Submodules are imported on first use (``ecgnet.data.load_split(...)`` works
after a plain ``import ecgnet``), and TensorFlow only where needed, so
``python -m ecgnet info FILE`` stays fast.
"""

__version__ = "0.1.0"

_SUBMODULES = ("data", "layers", "models", "augmentation", "metrics", "training", "evaluation", "ensembles",
               "pretrained_models", "adaptation", "explain", "quality", "notebook", "normalization", "recipe",
               "prediction")

_LAZY = {
    "CLASS_NAMES": "ecgnet.data",
    "load_mitbih_csv": "ecgnet.data",
    "build_ecgnet": "ecgnet.models",
    "build_kachuee2018": "ecgnet.models",
    "pretrained": "ecgnet.pretrained_models",
    "InputRecipe": "ecgnet.recipe",
    "predict_record": "ecgnet.prediction",
    "adapt": "ecgnet.adaptation",
}


def __getattr__(name):
    """Import a submodule, or the module of a name of ``_LAZY``, on first access (PEP 562).

    Args:
        name: str, the attribute asked for (``ecgnet.NAME``).

    Returns:
        The submodule ``ecgnet.NAME``, or the object ``NAME`` of its module.

    Raises:
        AttributeError: neither a submodule nor a lazily exported name.

    Example:
        >>> import ecgnet
        >>> ecgnet.metrics.__name__, ecgnet.pretrained.__module__
        ('ecgnet.metrics', 'ecgnet.pretrained_models')
    """
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"ecgnet.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ecgnet' has no attribute {name!r}")
