"""Beats of WFDB records: read a lead, find the R peaks, cut the beats.

:func:`beats_from_record` cuts the beats of any WFDB record, at any sampling
rate (lead: :data:`LEAD_PREFERENCE`; R peaks from the reference annotations or
the ``wfdb`` QRS detector) with :func:`ecgnet.data.signals.segment_beats`;
:func:`build_mitbih_beats` rebuilds the Kaggle MIT-BIH beats of Kachuee et al.
(2018) from the raw records, several records at a time.

The paper leaves two details open; they are chosen so that the 48 MIT-BIH
records give exactly the Kaggle class counts. Where a segment ends is stated
in :mod:`ecgnet.data.signals`; the other is here:

- R peaks and labels are the reference ``.atr`` annotations (not a detector);
  beats are the annotations whose symbol is in the AAMI map
  (:data:`ecgnet.data.classes.AAMI_MAP`), and the last beat of every record is
  dropped (it has no following R peak, so no next R-R interval). This gives
  109,446 beats: N 90,589, S 2,779, V 7,236, F 803, Q 8,039, as on Kaggle.
"""

import functools
import os
import re
import stat
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ecgnet.data.classes import AAMI_MAP
from ecgnet.data.container import Beats, concat_beats
from ecgnet.data.features import rr_intervals
from ecgnet.data.signals import FS, centred_windows, resample_to_125, segment_beats
from ecgnet.errors import DataFormatError, EcgnetError
from ecgnet.files import as_path, kind_of

# WFDB symbols of QRS complexes (beats); those outside the AAMI map get label -1.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
#: The lead a record is read in, by signal name, first match wins; a record
#: with none of them is read in its first channel. MLII is MIT-BIH's modified
#: lead II; ``II`` the standard limb lead II (incartdb and other 12-lead
#: databases); ``ECG1`` the first lead of svdb, whose leads are not named.
LEAD_PREFERENCE = ("MLII", "II", "ECG1")


def lead_key(name):
    """A lead name as :data:`LEAD_PREFERENCE` and :data:`ecgnet.plausibility.TRAINED_LEADS` compare it:
    upper case, without spaces around it (``"mlii"``, ``" MLII"`` and ``"MLII"`` are one lead); ``""`` for
    a signal the header leaves unnamed (wfdb reads its name as ``None``)."""
    return str(name).strip().upper() if name is not None else ""


class RecordBeats(NamedTuple):
    """What :func:`beats_from_record` returns: the beats, the R-peak source and beat times."""

    beats: Beats
    source: str  # "annotations" or "detector"
    times: np.ndarray  # R-peak time of every beat, seconds from the record start


class CheckedRecordBeats(NamedTuple):
    """What :func:`beats_from_record` returns with ``check_quality=True``: also which beats are usable, and why not."""

    beats: Beats  # every beat of the record, usable or not
    source: str  # "annotations" or "detector"
    times: np.ndarray  # R-peak time of every beat, seconds
    usable: np.ndarray  # bool (n,): False for beats that touch a bad stretch
    problems: np.ndarray  # str (n,): "" for usable beats, else the kinds of bad signal touched
    stretches: list  # the record's bad stretches (ecgnet.quality.Stretch), in every lead read
    fs: float  # the record's sampling rate
    lead: str  # the name of the lead read (its header's signal name)
    verdict: list  # str: what is implausible about the record (ecgnet.plausibility.check_record); empty: nothing


#: The verdicts of :func:`ecgnet.plausibility.check_record` (their first words)
#: that make a record unusable: no beat of it is what it claims. ``prepare``
#: refuses such a record and ``predict`` classifies none of its beats; the
#: other verdicts (a sampling rate that looks twice or half the true one,
#: polarity that flips for a stretch, an inverted or untrained lead) are
#: warnings: each can be a true record (MIT-BIH 207 changes its QRS shape
#: for a stretch).
REFUSED_VERDICTS = ("no QRS complexes", "mostly implausible", "annotations off the QRS", "annotations miss beats",
                    "heart rate")


def refused(verdict):
    """The lines of a plausibility verdict that make a record unusable (:data:`REFUSED_VERDICTS`)."""
    return [line for line in verdict if line.startswith(REFUSED_VERDICTS)]


#: The sampling rates ecgnet reads, in Hz. ECG databases record at 128 Hz (svdb)
#: to 1000 Hz (ptbdb); a rate outside this range is a typing error in the
#: header (0.001, 1e6), and would make a few beats of hours or millions of
#: beats. Within the range a rate off by a factor of two (720 for a 360 Hz
#: record) is named, as a warning, by the heart rate and QRS width it implies
#: (:func:`ecgnet.plausibility.sampling_rate_factor`).
SAMPLING_RATE_RANGE = (50.0, 2000.0)
#: Bytes per sample of each WFDB storage format (signal files that are not compressed).
FORMAT_BYTES = {"8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2, "212": 1.5, "310": 4 / 3, "311": 4 / 3}
#: WFDB formats whose size cannot be foreseen (FLAC-compressed).
COMPRESSED_FORMATS = ("508", "516", "524")


#: The largest header read, in bytes: a WFDB header is a record line, a line per signal and comments (MIT-BIH's:
#: under 1 kB; a 12-lead one a few kB). A larger file is not a header, and reading it whole could fill the memory.
MAX_HEADER_BYTES = 1 << 20


def _check_header_file(path):
    """Refuse a header that is not a regular file of header size: ``REC.hea`` a link to ``/dev/zero`` was read
    until the memory ran out (a MemoryError traceback), a named pipe without a writer hung the command, a folder
    read as "not a readable WFDB header ([Errno 21] Is a directory ...)"."""
    hea = Path(f"{path}.hea")
    try:
        status = hea.stat()
    except OSError:
        return  # missing: the reader names it (and a file of the same name in another case)
    if not stat.S_ISREG(status.st_mode):
        raise DataFormatError(f"{hea}: is {kind_of(status.st_mode)}, not a WFDB header file")
    if status.st_size > MAX_HEADER_BYTES:
        raise DataFormatError(f"{hea}: {status.st_size} bytes, not a WFDB header (a header is a few lines of text, "
                              f"under {MAX_HEADER_BYTES} bytes); is it another file under the header's name?")


def _check_sampling_rate(path):
    """Refuse a header whose sampling rate is not a number of Hz in :data:`SAMPLING_RATE_RANGE`.

    wfdb reads an unparseable rate such as ``-360`` as absent and assumes
    250 Hz, silently; so the record line of the header is read here first.
    """
    hea = Path(f"{path}.hea")
    try:
        lines = hea.read_text(encoding="latin-1").splitlines()
    except OSError:
        return  # wfdb reports the missing header
    record_line = next((line.split() for line in lines if line.strip() and not line.lstrip().startswith("#")), [])
    if not record_line:
        raise DataFormatError(f"{hea}: holds no record line (the file is empty or all comments); not a WFDB header")
    _check_names(hea)
    if len(record_line) > 1 and not record_line[1].isdigit():
        raise DataFormatError(
            f"{hea}: the record line {' '.join(record_line)!r} does not read as NAME SIGNALS RATE LENGTH: "
            f"{record_line[1]!r} is not a number of signals (a record name holds no spaces)"
        )
    if len(record_line) < 3:
        return  # no rate given: WFDB's default of 250 Hz applies
    field = record_line[2].split("/")[0].split("(")[0]
    try:
        fs = float(field)
    except ValueError:
        fs = float("nan")
    if not fs > 0:
        raise DataFormatError(f"{hea}: sampling rate {record_line[2]!r} on the record line; it must be a positive number of Hz")
    low, high = SAMPLING_RATE_RANGE
    if not low <= fs <= high:
        raise DataFormatError(
            f"{hea}: sampling rate {record_line[2]} Hz on the record line is outside {low:g}..{high:g} Hz, "
            "the rates of ECG recordings ecgnet reads; is the header's rate right?"
        )
    if not re.fullmatch(r"\d*\.?\d*", field):  # wfdb reads '3.6e2' as 3.6 Hz and '+360' as absent (250 Hz)
        raise DataFormatError(
            f"{hea}: sampling rate {record_line[2]!r} on the record line: WFDB reads a rate written in digits with at "
            f"most one decimal point (it would read this one as another rate); write it as {fs:g}"
        )
    if len(record_line) > 3 and not record_line[3].isdigit():  # wfdb reads a length it cannot parse as absent
        raise DataFormatError(
            f"{hea}: number of samples {record_line[3]!r} on the record line is not a whole number; "
            "give the length of each signal in samples (or leave the field out to read the file to its end)"
        )


def _check_names(hea):
    """Refuse a signal file name in a header that holds characters other than ASCII.

    wfdb reads the header as ASCII and drops what is not, so a header naming
    ``récörd.dat`` has its signals read from ``rcrd.dat``: a file that is
    missing, or another record's.
    """
    raw = hea.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = [(number, line.split()) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return
    n_signals = int(lines[0][1][1]) if len(lines[0][1]) > 1 and lines[0][1][1].isdigit() else 0
    for number, fields in lines[1: 1 + n_signals]:
        name = fields[0]
        if "/" in name or "\\" in name:  # wfdb says only "invalid syntax in signal line"
            raise DataFormatError(
                f"{hea}: line {number}: the signal file name {name!r} names a folder; WFDB reads a record's signal "
                f"files from the folder of its header, by name alone: put the file beside {hea.name} and name it "
                "there without a folder"
            )
        if not name.isascii():
            odd = "".join(sorted({c for c in name if not c.isascii()}))
            raise DataFormatError(
                f"{hea}: line {number}: the signal file name {name!r} holds characters other than ASCII ({odd}); WFDB reads "
                f"it without them, as {''.join(c for c in name if c.isascii())!r}: rename the record's files and the "
                "names in its header with ASCII letters, digits, '-' and '_'"
            )


def _check_signal_files(path, header):
    """Refuse a header whose storage formats are unknown or whose signal files do not hold what it declares.

    A ``.dat`` file holds ``samples x (signals in it)`` samples of its format,
    after its byte offset. A shorter file is a truncated record (wfdb would
    fail with numpy's broadcast message); a longer one usually means the
    header declares fewer signals than the file holds, and every sample
    would be read from the wrong place.
    """
    folder = Path(path).parent
    declared = len(header.sig_name or [])
    if not header.n_sig:
        raise DataFormatError(f"{path}.hea: the record line declares 0 signals; a record needs at least one signal line")
    if declared != header.n_sig:
        raise DataFormatError(
            f"{path}.hea: the record line declares {header.n_sig} signals, but {declared} signal line(s) follow it"
        )
    if header.sig_len == 0:
        raise DataFormatError(
            f"{path}.hea: the record line declares 0 samples per signal: an empty record (leave the field out "
            "to read the signal file to its end)"
        )
    names = list(header.sig_name or [f"signal {i + 1}" for i in range(header.n_sig or 0)])
    files = {}
    for index, fmt in enumerate(header.fmt or []):
        fmt = str(fmt)
        if fmt not in FORMAT_BYTES and fmt not in COMPRESSED_FORMATS:
            raise DataFormatError(
                f"{path}.hea: signal {index + 1} ({names[index]}) has storage format {fmt!r}, which WFDB does not "
                f"define (known: {', '.join(sorted(FORMAT_BYTES, key=int))}, and FLAC {', '.join(COMPRESSED_FORMATS)})"
            )
        files.setdefault(header.file_name[index], []).append(index)
    for file_name, signals in files.items():  # WFDB stores the signals of one file in one format, interleaved
        other = next((i for i in signals if str(header.fmt[i]) != str(header.fmt[signals[0]])), None)
        if other is not None and file_name != "-":  # it read as "shorter (or larger) than its header says"
            first = signals[0]
            raise DataFormatError(
                f"{path}.hea: signal {other + 1} ({names[other]}) of {file_name} is in format "
                f"{header.fmt[other]}, but signal {first + 1} ({names[first]}) of the same file in format "
                f"{header.fmt[first]}; the signals of one file share one format: is the format (the field after the "
                "file name) right?"
            )
    if not header.sig_len:  # no length declared: wfdb reads to the end of the file, which must be one
        for file_name, signals in files.items():
            dat = folder / file_name
            if file_name != "-" and dat.exists() and not dat.is_file():  # /dev/zero read as "sampto must be greater ..."
                raise DataFormatError(f"{dat}: is {kind_of(dat.stat().st_mode)}, not a signal file; {path}.hea names "
                                      f"it as the file of {len(signals)} signal(s)")
        return
    spf = header.samps_per_frame or [1] * len(names)
    for file_name, signals in files.items():
        formats = {str(header.fmt[i]) for i in signals}
        if formats & set(COMPRESSED_FORMATS) or file_name == "-":
            continue
        dat = folder / file_name
        try:
            status = dat.stat()
        except OSError:
            found = other_case(dat)
            elsewhere = (f"; {found.name} is there, in another case: name the file as the header does, case and all"
                         if found is not None else "")
            raise DataFormatError(f"{dat}: missing; {path}.hea names it as the file of {len(signals)} signal(s)"
                                  f"{elsewhere}") from None
        if not stat.S_ISREG(status.st_mode):  # a folder read as 4096 bytes "shorter than its header says"
            raise DataFormatError(f"{dat}: is {kind_of(status.st_mode)}, not a signal file; {path}.hea names it as the "
                                  f"file of {len(signals)} signal(s)")
        size = status.st_size
        offset = int((header.byte_offset or [None] * len(names))[signals[0]] or 0)
        frame = sum(FORMAT_BYTES[str(header.fmt[i])] * (spf[i] or 1) for i in signals)
        expected = offset + int(np.ceil(header.sig_len * frame))
        fs = float(header.fs or 250.0)
        if not expected <= size <= expected + int(np.ceil(frame)):
            _refuse_another_format(path, dat, size, offset, header, signals, spf, formats)
        if size < expected:
            held = max(size - offset, 0) / frame
            raise DataFormatError(
                f"{dat}: shorter than its header says: {size} bytes hold {int(held)} samples of each of its "
                f"{len(signals)} signal(s) ({held / fs:.1f} s), but {path}.hea declares {header.sig_len} "
                f"({header.sig_len / fs:.1f} s); the file is truncated or the header belongs to another record"
            )
        if size > expected + int(np.ceil(frame)):
            per_signal = FORMAT_BYTES[str(header.fmt[signals[0]])] * header.sig_len
            as_signals = (size - offset) / per_signal if per_signal else 0
            guess = f"; it would hold {as_signals:g} signals of {header.sig_len} samples" if as_signals == int(as_signals) else ""
            raise DataFormatError(
                f"{dat}: larger than its header says: {size} bytes, but {path}.hea declares {len(signals)} signal(s) "
                f"of {header.sig_len} samples in format {'/'.join(sorted(formats))} ({expected} bytes){guess}; "
                "does the header declare the right number of signals?"
            )


#: The storage formats a header's is checked against: those of the PhysioNet ECG databases. Wider ones
#: are left out, since their sizes are also those of more signals (one signal in format 24 takes the
#: bytes of two in format 212): a header that declares too few signals is told so.
MIXED_UP_FORMATS = ("16", "212")


def _refuse_another_format(path, dat, size, offset, header, signals, spf, formats):
    """Refuse a signal file whose size is that of the same signals in another storage format than the header's.

    A ``.dat`` in format 16 under a header that says 212 (or the reverse) is
    otherwise "larger" or "shorter than its header says", which points at the
    number of signals or a truncated file.
    """
    samples = header.sig_len * sum(spf[i] or 1 for i in signals)
    fits = [fmt for fmt, width in ((fmt, FORMAT_BYTES[fmt]) for fmt in MIXED_UP_FORMATS)
            if fmt not in formats and 0 <= size - offset - int(np.ceil(samples * width)) <= int(np.ceil(width * len(signals)))]
    if fits:
        raise DataFormatError(
            f"{dat}: {size} bytes, the size of its {len(signals)} signal(s) of {header.sig_len} samples in format "
            f"{' or '.join(fits)}, but {path}.hea says format {'/'.join(sorted(formats))}: is the header's storage "
            "format (the field after the file name) right?"
        )


def _read_leads(path, channel=None, second_lead=False):
    """``(signals, fs, names)``: the chosen lead's signal, then, with ``second_lead``, the other lead's, and their names."""
    import wfdb

    if Path(path).is_dir():
        raise DataFormatError(f"{path}: is a folder; name one record in it, without extension (e.g. {Path(path) / '100'})")
    _check_header_file(path)
    _check_sampling_rate(path)  # first: wfdb refuses some rates with a message about syntax, or reads them as 250 Hz
    try:
        header = wfdb.rdheader(str(path))
    except FileNotFoundError:
        found = other_case(f"{path}.hea")
        if found is not None:
            raise DataFormatError(f"{path}: no such WFDB record: {_in_another_case(f'{path}.hea', found)} "
                                  "(and the .dat and .atr files)") from None
        raise DataFormatError(f"{path}: no such WFDB record (expected {path}.hea)") from None
    except Exception as error:  # wfdb raises plain exceptions for bad headers
        raise DataFormatError(f"{path}: not a readable WFDB header ({error})") from None
    _check_signal_files(path, header)
    names = [name if name is not None else "" for name in header.sig_name or []]
    if channel is None:
        keys = [lead_key(name) for name in names]
        channel = next((keys.index(lead) for lead in LEAD_PREFERENCE if lead in keys), 0)
    elif isinstance(channel, str):
        if channel not in names:
            raise DataFormatError(f"{path}: no channel {channel!r} (has {names})")
        channel = names.index(channel)
    channels = [channel]
    if second_lead:
        if len(names) != 2:
            raise DataFormatError(f"{path}: a second lead needs a record of two leads; this one has {len(names)} ({names})")
        channels.append(1 - channel)
    try:
        rec = wfdb.rdrecord(str(path), channels=channels)
    except Exception as error:
        raise DataFormatError(f"{path}: could not read the signal ({error})") from None
    signals = [rec.p_signal[:, i].astype(np.float64) for i in range(len(channels))]
    return signals, float(rec.fs), [names[i] if i < len(names) else "" for i in channels]


#: Two beat annotations closer than this (seconds) are one beat annotated twice: a QRS complex
#: lasts 60 to 100 ms. The closest beats of the clean records are 0.25 s apart in MIT-BIH (203)
#: and 0.13 s in svdb (865).
MIN_BEAT_SPACING_S = 0.05


def _check_annotation_times(atr, samples, symbols, n_samples, fs, ann_fs):
    """Refuse annotations that cannot be this record's: of another sampling rate, before its start,
    after its end, or one beat annotated twice (the file is otherwise valid WFDB, so wfdb reads it)."""
    detect = "`predict --detect`"
    hint = f"{detect} finds the R peaks with the detector instead"
    if ann_fs is not None and fs and abs(float(ann_fs) - fs) > 1e-6 * fs:
        raise DataFormatError(
            f"{atr}: written for a sampling rate of {float(ann_fs):g} Hz, but the record's header says {fs:g} Hz: "
            f"annotations of another record or of a resampled one; {hint}"
        )
    if len(samples) and samples.min() < 0:
        first = int(np.flatnonzero(samples < 0)[0])
        raise DataFormatError(
            f"{atr}: annotation {first} ({str(symbols[first])!r}) is at sample {int(samples[first])}, before the record's "
            f"start; {hint}"
        )
    beat = np.isin(symbols, list(BEAT_SYMBOLS))
    beats = samples[beat]
    past = beats >= n_samples
    if past.any():
        raise DataFormatError(
            f"{atr}: {int(past.sum())} of its {len(beats)} beat annotations lie after the end of the signal "
            f"({n_samples} samples, {n_samples / fs:.1f} s), the last at {beats.max() / fs:.1f} s: annotations of a "
            f"longer record, or of another sampling rate? Cut them to the record, or let {detect} find the R peaks"
        )
    close = np.flatnonzero(np.diff(beats) < MIN_BEAT_SPACING_S * fs)
    if len(close):
        at = int(close[0])
        raise DataFormatError(
            f"{atr}: beat annotations {at} and {at + 1} lie {(beats[at + 1] - beats[at]) / fs:.3f} s apart "
            f"(at {beats[at] / fs:.3f} s; {len(close)} such pairs), closer than one QRS complex "
            f"({MIN_BEAT_SPACING_S} s): one beat annotated twice? Remove the duplicates, or let {detect} find the R peaks"
        )


#: File name endings of a WFDB record's files, which a record path may be given with (``100.hea`` is record ``100``).
RECORD_SUFFIXES = (".hea", ".dat", ".atr")


#: What a record's path is, as the messages for a value of another type say it.
RECORD_PATH_EXPECTED = "the path of a WFDB record without extension (str or Path, e.g. 'data/mitdb/100')"


def record_base(path):
    """A record's path without the extension it may be given with: ``mitdb/100.hea`` -> ``mitdb/100``
    (``100.HEA`` too: its files are then looked for, and named, by :func:`other_case`)."""
    path = as_path(path, "record", RECORD_PATH_EXPECTED, DataFormatError)
    return path.with_suffix("") if path.suffix.lower() in RECORD_SUFFIXES else path


def other_case(path):
    """The file beside ``path`` whose name is ``path``'s in another case (``100.HEA`` for ``100.hea``), or None.

    WFDB reads a record's files by their lower-case endings, so ``100.HEA`` or ``100.ATR`` (copied from a
    case-insensitive disk, or renamed by hand) would read as a missing record or, worse, as a record without
    annotations; the messages name the file that is there instead.
    """
    path = Path(path)
    wanted = path.name.lower()
    try:
        return next((p for p in sorted(path.parent.iterdir()) if p.name.lower() == wanted and p.name != path.name), None)
    except OSError:
        return None


def _in_another_case(path, found):
    """The end of a message about a missing ``path`` where ``found`` (:func:`other_case`) is there instead."""
    return (f"{path} is missing, but {found} is there: WFDB reads a record's files by their lower-case endings "
            f"(.hea, .dat, .atr); rename it {Path(path).name}")


def record_files(path):
    """The files a record is read from: its header, its reference annotations and the signal files its header
    names (``REC.dat`` where the header cannot be read), whether or not they exist.

    A command that writes a file checks it against these (:func:`ecgnet.files.check_not_an_input`), so that
    ``--record 100.hea --out 100.atr`` does not replace the annotations it reads.
    """
    import wfdb

    base = record_base(path)
    _check_header_file(base)  # a named pipe would block wfdb's read below
    files = [Path(f"{base}.hea"), Path(f"{base}.atr")]
    try:
        names = wfdb.rdheader(str(base)).file_name or []
    except Exception:  # noqa: BLE001 - an unreadable header is the reader's to report; here the usual name serves
        names = [f"{base.name}.dat"]
    return files + [base.parent / name for name in dict.fromkeys(names) if name and name != "-"]


def record_duration(path):
    """The length of a WFDB record in seconds: its header's number of samples over its sampling rate,
    or, where the header leaves the number out, the length of the signal read."""
    import wfdb

    path = record_base(path)
    _check_header_file(path)
    header = wfdb.rdheader(str(path))
    samples = header.sig_len if header.sig_len is not None else wfdb.rdrecord(str(path), channels=[0]).sig_len
    return samples / float(header.fs)


def check_span(record, minutes, argument="--minutes"):
    """Refuse a labelled span of ``minutes`` from the start that is longer than the record.

    Cheap (the header alone, without TensorFlow), so a command can refuse before it loads a model.

    Args:
        record: str or Path, the record.
        minutes: float, the span.
        argument: the command-line option that gave ``minutes``, named in the message.

    Raises:
        DataFormatError: ``minutes`` is not a positive, finite number (a library call with NaN, 0, ``True`` or
            ``"5min"``; the command line refuses them already), or the record is shorter than the span.
    """
    import numbers

    if isinstance(minutes, bool) or not isinstance(minutes, numbers.Real) or not 0 < minutes < float("inf"):
        raise DataFormatError(f"{argument}: expected a positive number of minutes. Received: {minutes!r}")
    duration = record_duration(record)
    if 60.0 * minutes > duration:
        raise DataFormatError(f"{argument} {minutes:g}: the record {record} lasts only {duration / 60:.2f} minutes")


def _annotated_peaks(path, n_samples, aami_only, fs):
    import wfdb

    atr = Path(f"{path}.atr")
    if not atr.exists():
        found = other_case(atr)
        if found is not None:  # read as "no annotations", the detector's R peaks would replace the reference's
            raise DataFormatError(f"{path}: {_in_another_case(atr, found)}; or let `predict --detect` find the R "
                                  "peaks without it")
        return None
    if not atr.is_file():
        raise DataFormatError(f"{atr}: is {kind_of(atr.stat().st_mode)}, not an annotation file; `predict --detect` "
                              "finds the R peaks with the detector instead")
    # A WFDB annotation file is a sequence of 16-bit words that ends with the word 0;
    # random or truncated bytes are refused rather than read as made-up beats.
    raw = atr.read_bytes()
    if not raw:  # it read as "not a WFDB annotation file ... truncated or another format"
        raise DataFormatError(f"{atr}: is empty (0 bytes), not annotations; `predict --detect` finds the R peaks with "
                              "the detector instead")
    if len(raw) < 2 or len(raw) % 2 or raw[-2:] != b"\x00\x00":
        raise DataFormatError(
            f"{atr}: not a WFDB annotation file (it does not end with the end-of-annotations mark; "
            "truncated or another format); `predict --detect` finds the R peaks with the detector instead"
        )
    try:
        ann = wfdb.rdann(str(path), "atr")
    except Exception as error:  # wfdb raises plain IndexError / ValueError on bytes it cannot parse
        raise DataFormatError(
            f"{atr}: not a readable WFDB annotation file ({type(error).__name__}: {error}); "
            "`predict --detect` finds the R peaks with the detector instead"
        ) from None
    symbols = np.asarray(ann.symbol, dtype=object)
    undefined = np.flatnonzero([not isinstance(symbol, str) for symbol in symbols])
    if len(undefined) or np.any(np.diff(ann.sample) < 0):
        where = f"annotation {undefined[0]} has an undefined code" if len(undefined) else "its times go backwards"
        raise DataFormatError(
            f"{atr}: not a valid WFDB annotation file ({where}); "
            "`predict --detect` finds the R peaks with the detector instead"
        )
    symbols = symbols.astype(str)
    _check_annotation_times(atr, np.asarray(ann.sample, dtype=np.int64), symbols, n_samples, fs, ann.fs)
    keep = np.isin(symbols, list(AAMI_MAP if aami_only else BEAT_SYMBOLS))
    keep &= (ann.sample >= 0) & (ann.sample < n_samples)
    labels = np.array([AAMI_MAP.get(s, -1) for s in symbols[keep]], dtype=np.int8)
    return ann.sample[keep].astype(np.int64), labels


def read_annotated_lead(path):
    """``(signal, fs, R peaks, AAMI labels)`` of a record, read as ``prepare`` reads it: the lead of
    :data:`LEAD_PREFERENCE`, its reference beat annotations in the AAMI classes (checked as
    :func:`beats_from_record` checks them). For callers that change the signal before the beats are
    cut (:mod:`ecgnet.data.noisy`, the noise stress test): :func:`beats_from_signal` cuts them.

    Raises:
        DataFormatError: the record holds no beat annotation in the AAMI classes.
    """
    path = Path(path)
    signals, fs, _ = _read_leads(path)
    found = _annotated_peaks(path, len(signals[0]), aami_only=True, fs=fs)
    if found is None or not len(found[0]):
        raise DataFormatError(f"{path}: no reference annotations ({path}.atr is missing or holds no beats)")
    return signals[0], fs, found[0], found[1]


def _detected_peaks(signal, fs):
    from wfdb import processing

    peaks = processing.xqrs_detect(sig=signal, fs=fs, verbose=False)
    if len(peaks):
        peaks = processing.correct_peaks(signal, peaks, search_radius=int(0.05 * fs),
                                         smooth_window_size=int(0.15 * fs), peak_dir="compare")
    peaks = np.unique(np.asarray(peaks, dtype=np.int64))
    return peaks[(peaks >= 0) & (peaks < len(signal))]


def beats_from_signal(signals, fs, peaks, labels, name, source="signal"):
    """Cut beats from signals already in memory, the way :func:`beats_from_record` does (it calls this).

    The lead (and the second lead, if given) is resampled to 125 Hz and cut at
    ``peaks`` with :func:`~ecgnet.data.signals.segment_beats`, and the lead
    also with :func:`~ecgnet.data.signals.centred_windows`; the last beat is dropped
    (it has no next R-R interval).

    Args:
        signals: list of 1-D arrays at ``fs``: the lead, optionally the second lead.
        fs: float, sampling rate.
        peaks: sorted int array of R-peak samples.
        labels: int array of the AAMI class of each peak (-1 unknown).
        name: str, the record name the beats carry.
        source: str, where the R peaks came from (``RecordBeats.source``).

    Returns:
        RecordBeats ``(beats, source, times)``.
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int8)
    signal = signals[0]
    rr = rr_intervals(peaks, fs)
    r125 = np.minimum(np.round(peaks * (FS / fs)).astype(np.int64), max(int(len(signal) * FS / fs) - 1, 0))
    x = segment_beats(resample_to_125(signal, fs), r125)
    keep = slice(0, max(len(peaks) - 1, 0))  # the last beat has no next R-R
    x2 = segment_beats(resample_to_125(signals[1], fs), r125)[keep] if len(signals) > 1 else None
    centred = centred_windows(resample_to_125(signal, fs), r125)[keep]
    beats = Beats(x[keep], labels[keep], np.full(len(peaks), name)[keep], peaks[keep], rr[keep], x2, centred)
    return RecordBeats(beats, source, (peaks[keep] / fs).astype(np.float64))


def beats_from_record(path, use_annotations=True, channel=None, aami_only=False, second_lead=False, check_quality=False,
                      refuse_implausible=False):
    """Cut the beats of any WFDB record, at any sampling rate, for training or prediction.

    The lead (MLII, else ``II``, else ``ECG1``, else the first channel:
    :data:`LEAD_PREFERENCE`) is resampled to 125 Hz and cut
    with :func:`~ecgnet.data.signals.segment_beats`, the same code that builds the training data.
    R peaks come from the record's reference annotations (``PATH.atr``) when
    that file holds beats and ``use_annotations`` is true (beat symbols only; labels
    mapped to AAMI classes, -1 for beat types outside the map); otherwise from
    the ``wfdb.processing.xqrs_detect`` QRS detector (labels all -1). The last
    beat is dropped: it has no following R peak. A ``.atr`` file that is not
    valid WFDB annotations is an error (pass ``use_annotations=False`` to
    detect the R peaks instead), and so is one that cannot be this record's:
    an annotation before its start, a beat after its end, two beats closer
    than :data:`MIN_BEAT_SPACING_S`, another sampling rate than the header's.

    With ``check_quality`` the record's invalid, flat and saturated stretches
    are found first, in every lead read (:func:`ecgnet.quality.bad_stretches`);
    invalid samples are interpolated before the R peaks are detected and the
    beats cut, so that they do not spoil their neighbours
    (:func:`ecgnet.quality.fill_invalid`); and each beat is marked usable or
    not (:func:`ecgnet.quality.beat_problems`), and by
    :func:`ecgnet.plausibility.check_record` (a beat that is not QRS-like, or
    whose window runs past the end of the record, is not usable; the record
    gets a verdict). On a clean record the beats are the same as without it.

    Args:
        path: str or Path of the record without extension (``".../mitdb/100"``).
        use_annotations: bool, use ``.atr`` when present.
        channel: None (the first of :data:`LEAD_PREFERENCE`, else the first
            channel), a channel index or a signal name.
        aami_only: bool, keep only annotated beats in the AAMI map
            (the rule that reproduces the Kaggle data).
        second_lead: bool, also cut the record's other lead at the same R
            peaks (``Beats.second_lead``); the record must have two leads.
        check_quality: bool, find the bad signal and mark the beats that touch it,
            and check that the record is plausible.
        refuse_implausible: bool, raise ``DataFormatError`` when the record's
            plausibility verdict makes it unusable (:data:`REFUSED_VERDICTS`):
            noise or another signal with annotations, annotations of another
            record or shifted ones, an impossible heart rate.

    Returns:
        RecordBeats ``(beats, source, times)``: source is ``"annotations"`` or
        ``"detector"``, times the R-peak times in seconds; with
        ``check_quality``, CheckedRecordBeats ``(beats, source, times, usable,
        problems, stretches, fs)``.

    Example:
        >>> beats, source, times = beats_from_record("tests/fixtures/208_excerpt")
        >>> found = beats_from_record("tests/fixtures/208_excerpt", check_quality=True)
        >>> found.usable.all(), found.source
        (True, 'annotations')
    """
    path = record_base(path)
    signals, fs, names = _read_leads(path, channel, second_lead)
    if check_quality:
        from ecgnet.quality import bad_stretches, beat_problems, fill_invalid

        stretches = sorted((s for signal in signals for s in bad_stretches(signal, fs)), key=lambda s: (s.start, s.kind))
        signals = [fill_invalid(signal) for signal in signals]
    signal = signals[0]
    found = _annotated_peaks(path, len(signal), aami_only, fs) if use_annotations else None
    if found is not None and len(found[0]):
        peaks, labels = found
        source = "annotations"
    else:
        peaks = _detected_peaks(signal, fs)
        labels = np.full(len(peaks), -1, np.int8)
        source = "detector"
    cut = beats_from_signal(signals, fs, peaks, labels, path.name, source=source)
    cut.beats.source = str(path)
    if not (check_quality or refuse_implausible):
        return cut
    from ecgnet.plausibility import check_record

    plausible = check_record(signal, fs, cut.beats.r_peak, lead=names[0])
    if refuse_implausible and refused(plausible.verdict):
        raise DataFormatError(f"{path}: {'; '.join(refused(plausible.verdict))}")
    if not check_quality:
        return cut
    problems = beat_problems(cut.beats.r_peak, fs, len(signal), stretches)
    problems = np.array(["; ".join(filter(None, pair)) for pair in zip(problems, plausible.reasons)], dtype=object).astype(str)
    return CheckedRecordBeats(cut.beats, source, cut.times, problems == "", problems, stretches, float(fs),
                              names[0], list(plausible.verdict))


def _mitbih_record(path, second_lead=False):
    result = beats_from_record(path, use_annotations=True, aami_only=True, second_lead=second_lead,
                               refuse_implausible=True)  # another record's or shifted annotations never reach training
    if result.source != "annotations":
        atr = Path(f"{path}.atr")
        why = f"{atr} holds no beat annotation" if atr.exists() else f"{atr} is missing"
        raise DataFormatError(f"{path}: no reference annotations ({why})")
    return result.beats


def records_file_lines(listing):
    """``[(line number, record name)]`` of a ``RECORDS`` file, one name a line: a byte-order mark, Windows line
    ends and ``#`` comments are read as PhysioNet's files are (a byte-order mark was read into the first name)."""
    text = Path(listing).read_text(encoding="utf-8-sig", errors="replace")
    return [(number, name) for number, line in enumerate(text.splitlines(), start=1)
            for name in line.split("#", 1)[0].split()]


def _listed_records(listing):
    """The record names a ``RECORDS`` file lists (:func:`records_file_lines`); a name listed twice, or none, is
    refused (a record listed twice was read as a copy of itself; none made an empty split)."""
    names, seen = [], {}
    for number, name in records_file_lines(listing):
        if name in seen:
            raise DataFormatError(f"{listing}: line {number}: lists record {name!r} again (line {seen[name]}); "
                                  "a record's beats are read once: remove the repeated line")
        seen[name] = number
        names.append(name)
    if not names:
        raise DataFormatError(f"{listing}: lists no record; name one record a line, or remove the file to read "
                              "every *.hea of the folder")
    return names


def list_records(raw_dir):
    """Record names in ``raw_dir``: its ``RECORDS`` file, else every ``*.hea``."""
    raw_dir = Path(raw_dir)
    if raw_dir.exists() and not raw_dir.is_dir():
        raise DataFormatError(f"{raw_dir}: is a file; --raw names the folder that holds the records")
    if not raw_dir.is_dir():
        raise DataFormatError(f"{raw_dir}: no such folder of WFDB records")
    listing = raw_dir / "RECORDS"
    if listing.is_file():
        return _listed_records(listing)
    names = sorted(p.stem for p in raw_dir.glob("*.hea"))
    others = sorted(p.name for p in raw_dir.iterdir() if p.suffix.lower() == ".hea" and p.suffix != ".hea")
    if others:  # left out without a word, a record would be missing from the split
        listed = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise DataFormatError(
            f"{raw_dir}: {len(others)} header(s) end in another case than .hea ({listed}), so WFDB would not read "
            "them as records: rename the record's files with lower-case endings (.hea, .dat, .atr)"
        )
    if not names:
        raise DataFormatError(f"{raw_dir}: no WFDB records (*.hea) and no RECORDS file")
    return names


#: Fewer records than this are read in this process: starting worker processes
#: (each imports scipy and wfdb, seconds under ``spawn``) costs more than it saves.
MIN_RECORDS_FOR_POOL = 8


def _read_in_processes(read, paths, processes, progress_bar):
    """``[read(path) for path in paths]`` in worker processes; one clear error if the workers cannot start.

    A ``concurrent.futures`` pool, not ``multiprocessing.Pool``: when a worker
    dies (for example a ``spawn`` worker that cannot import ``ecgnet`` because
    a relative ``sys.path`` entry changed meaning with the working directory),
    ``multiprocessing.Pool`` starts another one forever and the call never
    returns; ``ProcessPoolExecutor`` raises ``BrokenProcessPool`` at once.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # fork is fast; but never fork a process that has started TensorFlow's threads
    method = "spawn" if "tensorflow" in sys.modules else "fork"
    parts = []
    try:
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context(method)) as pool:
            for part in pool.map(read, paths):
                parts.append(part)
                progress_bar.update()
    except BrokenProcessPool:
        raise EcgnetError(
            f"the {processes} worker processes that read the records stopped before they could start ({method}): "
            "a new Python process could not import ecgnet (is it installed, or on sys.path as an absolute "
            "folder?); its own error is printed above or in the kernel's log. Read the records in this "
            "process with processes=1"
        ) from None
    return parts


def build_mitbih_beats(raw_dir, records=None, progress=True, processes=2, second_lead=False):
    """Rebuild the Kaggle MIT-BIH beats from the raw records (Kachuee et al. 2018).

    R peaks and labels are the reference ``.atr`` annotations (AAMI-mapped beat
    symbols; the last beat of each record dropped), not a detector; the beats
    are cut as :mod:`ecgnet.data.signals` describes, step by step. On all 48
    records this gives 109,446 beats, the Kaggle counts (see the module docstring).

    Args:
        raw_dir: folder with ``NNN.hea/.dat/.atr`` (e.g. ``data/mitdb``); any
            WFDB database with reference beat annotations works (lead:
            :data:`LEAD_PREFERENCE`; any sampling rate).
        records: list of record names, default all (``RECORDS`` file or ``*.hea``).
        progress: bool, show a tqdm progress bar.
        processes: int, records read in parallel (1 = in this process).
        second_lead: bool, also cut each record's other lead (V1 in most
            records) at the same R peaks, into ``Beats.second_lead``.

    Returns:
        Beats, records in the given order, beats in time order.

    Example:
        >>> beats = build_mitbih_beats("data/mitdb")
        >>> np.bincount(beats.y)
    """
    raw_dir = Path(raw_dir)
    names = list_records(raw_dir) if records is None else [str(r) for r in records]
    for name in names:
        if not (raw_dir / f"{name}.hea").is_file():
            found = other_case(raw_dir / f"{name}.hea")
            why = _in_another_case(f"{name}.hea", found.name) if found is not None else f"{name}.hea missing"
            raise DataFormatError(f"{raw_dir}: record {name!r} not found ({why})")
    paths = [raw_dir / name for name in names]
    import scipy.signal  # noqa: F401  slow imports (seconds): once here, inherited by forked workers
    import wfdb  # noqa: F401
    from tqdm.auto import tqdm

    bar = dict(total=len(paths), desc="records", unit="rec", disable=not progress)
    processes = max(1, min(int(processes), len(paths), os.cpu_count() or 1))
    read = functools.partial(_mitbih_record, second_lead=second_lead)
    # the bar is closed (its line ended) before an error propagates, so the error prints on a line of its own
    with tqdm(**bar) as progress_bar:
        if processes == 1 or len(paths) < MIN_RECORDS_FOR_POOL:
            parts = []
            for path in paths:
                parts.append(read(path))
                progress_bar.update()
        else:
            parts = _read_in_processes(read, paths, processes, progress_bar)
    return concat_beats(parts)
