"""MIT-BIH heartbeats: classes, Kaggle CSV files, the beat builder, splits and tf.data.

- :mod:`ecgnet.data.classes`    ``CLASS_NAMES``, the AAMI EC57 map of annotation symbols
- :mod:`ecgnet.data.csv_files`  ``load_mitbih_csv``, ``load_ptbdb_csv``, ``write_beats_csv``
- :mod:`ecgnet.data.container`  ``Beats`` (the one container: beats, labels, origin, R-R), ``concat_beats``, ``load_beats_npz``
- :mod:`ecgnet.data.signals`    ``resample_to_125``, ``segment_beats``: beats cut the Kachuee et al. (2018) way, ``FS``, ``BEAT_LENGTH``
- :mod:`ecgnet.data.features`   ``rr_intervals``, ``rr_features``, ``select_rr_features``, ``record_relative_beats``, ``previous_beats``
- :mod:`ecgnet.data.records`    ``beats_from_record``, ``beats_from_signal``, ``build_mitbih_beats``, ``list_records`` (WFDB records)
- :mod:`ecgnet.data.noisy`      ``noisy_beats``, ``noisy_record_beats``: the same beats cut from the lead with real recorded noise added
- :mod:`ecgnet.data.prepared`   ``load_part`` (a part as ``Beats``), ``model_inputs``, ``BEAT_CHANNELS`` (a model's inputs)
- :mod:`ecgnet.data.splits`     ``split_beats``, ``validation_indices``, ``group_holdout_indices``, ``group_kfold_indices``, ``DS1``, ``DS2``, ``PACED_RECORDS``, ``SVDB_TRAINING``
- :mod:`ecgnet.data.pipeline`   ``make_dataset``, ``balanced_dataset`` (TensorFlow is imported only when called)
- :mod:`ecgnet.data.download`   ``download_kaggle``, ``download_physionet``, ``physionet_url``, ``PHYSIONET_DATABASES``
- :mod:`ecgnet.data.datasets`   ``load_split`` (the data in one call), ``prepare_split``, ``default_data_dir``, ``sample_dir`` (the sample in the package)
- :mod:`ecgnet.data.manifest`   ``check_manifest``, the ``manifest.json`` of a prepared folder

Example:
    >>> train, test = ecgnet.data.load_split("kaggle")   # or "inter-patient", or "sample"
"""

from ecgnet.data.classes import AAMI_MAP, CLASS_NAMES, aami_class
from ecgnet.data.container import Beats, concat_beats, load_beats_npz
from ecgnet.data.csv_files import load_mitbih_csv, load_ptbdb_csv, write_beats_csv
from ecgnet.data.datasets import LOAD_SPLITS, SPLIT_FOLDERS, default_data_dir, load_split, prepare_split, sample_dir
from ecgnet.data.download import PHYSIONET_DATABASES, DownloadError, download_kaggle, download_physionet, physionet_url
from ecgnet.data.features import RR_FEATURE_SETS, previous_beats, record_relative_beats, rr_features, rr_intervals, select_rr_features
from ecgnet.data.manifest import check_manifest
from ecgnet.data.pipeline import balanced_dataset, make_dataset
from ecgnet.data.prepared import BEAT_CHANNELS, CENTRED_CHANNELS, WINDOWS, beat_channels, load_part, model_inputs, require_beats
from ecgnet.data.noisy import noisy_beats, noisy_record_beats
from ecgnet.data.records import RecordBeats, beats_from_record, beats_from_signal, build_mitbih_beats, list_records
from ecgnet.data.signals import BEAT_LENGTH, CENTRED_BEFORE, CENTRED_LENGTH, FS, centred_windows, resample_to_125, segment_beats
from ecgnet.data.splits import DS1, DS2, PACED_RECORDS, SPLITS, SVDB_TRAINING, group_holdout_indices, group_kfold_indices, split_beats, stratified_indices, validation_indices

__all__ = [
    "AAMI_MAP", "BEAT_LENGTH", "CLASS_NAMES", "DS1", "DS2", "FS", "PACED_RECORDS", "SPLITS", "SVDB_TRAINING",
    "Beats", "DownloadError", "RecordBeats",
    "aami_class", "beats_from_record", "beats_from_signal", "build_mitbih_beats", "concat_beats", "download_kaggle",
    "download_physionet", "list_records", "load_beats_npz", "load_mitbih_csv", "load_ptbdb_csv",
    "BEAT_CHANNELS", "CENTRED_BEFORE", "CENTRED_CHANNELS", "CENTRED_LENGTH", "WINDOWS", "centred_windows", "beat_channels", "load_part", "make_dataset", "model_inputs", "require_beats", "resample_to_125", "previous_beats", "record_relative_beats", "RR_FEATURE_SETS", "rr_features", "rr_intervals", "segment_beats", "select_rr_features",
    "LOAD_SPLITS", "PHYSIONET_DATABASES", "SPLIT_FOLDERS", "check_manifest", "default_data_dir", "load_split", "sample_dir",
    "physionet_url", "prepare_split",
    "group_holdout_indices", "group_kfold_indices", "split_beats", "stratified_indices", "validation_indices", "write_beats_csv",
    "balanced_dataset", "noisy_beats", "noisy_record_beats",
]
