"""Compatibility module: every beat name in one import, ``from ecgnet.data.beats import ...``.

It only re-exports; the names are defined, and the library imports them, by job:

- :mod:`ecgnet.data.container`  ``Beats``, ``concat_beats``, ``load_beats_npz``
- :mod:`ecgnet.data.signals`    ``resample_to_125``, ``segment_beats`` (Kachuee et al. 2018),
  ``FS``, ``BEAT_LENGTH``, ``WINDOW_SECONDS``, ``SEGMENT_PERIODS``
- :mod:`ecgnet.data.features`   ``rr_intervals``, ``rr_features``, ``RR_FEATURE_SETS``,
  ``select_rr_features``, ``record_relative_beats``, ``previous_beats``, ``LOCAL_RR_BEATS``
- :mod:`ecgnet.data.records`    ``beats_from_record``, ``beats_from_signal``, ``RecordBeats``,
  ``build_mitbih_beats``, ``list_records``, ``LEAD_PREFERENCE``, ``BEAT_SYMBOLS``

New code imports them from :mod:`ecgnet.data` or from the module that defines them.
"""

from ecgnet.data.container import Beats, concat_beats, load_beats_npz
from ecgnet.data.features import (
    LOCAL_RR_BEATS,
    RR_FEATURE_SETS,
    previous_beats,
    record_relative_beats,
    rr_features,
    rr_intervals,
    select_rr_features,
)
from ecgnet.data.records import (
    BEAT_SYMBOLS,
    LEAD_PREFERENCE,
    RecordBeats,
    beats_from_record,
    beats_from_signal,
    build_mitbih_beats,
    list_records,
)
from ecgnet.data.signals import BEAT_LENGTH, FS, SEGMENT_PERIODS, WINDOW_SECONDS, resample_to_125, segment_beats

__all__ = [
    "BEAT_LENGTH", "BEAT_SYMBOLS", "FS", "LEAD_PREFERENCE", "LOCAL_RR_BEATS", "RR_FEATURE_SETS",
    "SEGMENT_PERIODS", "WINDOW_SECONDS",
    "Beats", "RecordBeats",
    "beats_from_record", "beats_from_signal", "build_mitbih_beats", "concat_beats", "list_records",
    "load_beats_npz", "previous_beats", "record_relative_beats", "resample_to_125", "rr_features",
    "rr_intervals", "segment_beats", "select_rr_features",
]
