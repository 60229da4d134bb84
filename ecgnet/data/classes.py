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
