"""The five AAMI EC57 heartbeat classes and the map from MIT-BIH annotation symbols.

MIT-BIH reference annotations (``.atr``) label each beat with a symbol
(``N``, ``L``, ``V``, ...). The ANSI/AAMI EC57 standard groups those beat
symbols into five classes:

=====  ==================================  ===================
Class  Meaning                             MIT-BIH symbols
=====  ==================================  ===================
N (0)  normal, bundle branch block, escape ``N L R e j``
S (1)  supraventricular ectopic             ``A a J S``
V (2)  ventricular ectopic                  ``V E``
F (3)  fusion of ventricular and normal     ``F``
Q (4)  paced, fusion of paced, unknown      ``/ f Q``
=====  ==================================  ===================

Every other symbol (rhythm changes ``+``, noise ``~``, comments, ...) is not a beat.
"""

import numpy as np

from ecgnet.errors import EcgnetError

CLASS_NAMES = ("N", "S", "V", "F", "Q")

AAMI_MAP = {
    **dict.fromkeys("NLRej", 0),
    **dict.fromkeys("AaJS", 1),
    **dict.fromkeys("VE", 2),
    "F": 3,
    **dict.fromkeys("/fQ", 4),
}


def aami_class(symbol):
    """Return the AAMI class index (0..4) of a MIT-BIH annotation symbol, or -1.

    Args:
        symbol: str, an annotation symbol such as ``"N"`` or ``"V"``.

    Returns:
        int: 0..4 for a beat symbol in the AAMI map (``CLASS_NAMES[i]`` names it),
        -1 for anything else (not a beat, or a beat type outside the map).

    Example:
        >>> aami_class("L"), aami_class("V"), aami_class("+")
        (0, 2, -1)
    """
    return AAMI_MAP.get(symbol, -1)


def class_weights(y, num_classes=5, power=0.5):
    """Per-class loss weights from the class frequencies: ``(n / (k * count)) ** power``.

    The base is scikit-learn's ``compute_class_weight("balanced")``, ``n / (k *
    count)``, with ``k = num_classes`` (scikit-learn divides by the classes
    present instead, so its weights are rescaled by ``present / num_classes``).
    ``power=1`` is plain inverse frequency (every class weighs the same in total);
    ``power=0.5`` (the default) damps it, so that a class 100x rarer gets 10x the
    weight rather than 100x, which over-weights a few hundred F beats less.
    Classes with no beats get weight 0.

    Args:
        y: int array (n,), class indices.
        num_classes: int.
        power: float, 1 for inverse frequency, 0 for no weighting.

    Returns:
        A dict ``{class index: float weight}`` for ``model.fit(class_weight=...)``.

    Example:
        >>> class_weights([0, 0, 0, 1], num_classes=2, power=1)
        {0: 0.666..., 1: 2.0}
    """
    from sklearn.utils.class_weight import compute_class_weight

    y = np.asarray(y, dtype=np.int64)
    present = np.unique(y)
    if len(present) and (present[0] < 0 or present[-1] >= num_classes):
        raise EcgnetError(f"class_weights: labels must be 0..{num_classes - 1}. Received: {present.tolist()}")
    weights = np.zeros(num_classes)
    if len(present):
        balanced = compute_class_weight("balanced", classes=present, y=y) * len(present) / num_classes
        weights[present] = balanced**power
    return {i: float(w) for i, w in enumerate(weights)}
