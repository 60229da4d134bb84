"""More variants of the bad inputs of docs/robustness.md, each checked against the unmodified input.

Lead names in another case or none at all, a record's annotations that are not
its own (a time-reversed signal, the other record of the same patient),
``predict --out`` naming one of its own inputs. Everything here runs without
TensorFlow: the inputs are refused, or read, before a model loads.
"""

import hashlib
import shutil

import numpy as np
import pytest

from ecgnet.data import beats_from_record, sample_dir
from ecgnet.errors import DataFormatError, EcgnetError

from conftest import FIXTURES
from test_robustness import no_tensorflow, one_error_line  # noqa: F401  (a fixture, and the check of one error line)
from test_robustness_variants import RECORD, copy_record


# -- lead names ------------------------------------------------------------------------------------------------


def test_lead_names_in_lower_case_are_the_trained_leads(tmp_path):
    """``mlii`` is MLII: read without a lead warning, and found in the second channel as MLII is."""
    lower = copy_record(tmp_path, "lower", lambda t: t.replace(" MLII", " mlii").replace(" V1", " v1"))
    found = beats_from_record(lower, check_quality=True)
    reference = beats_from_record(RECORD, check_quality=True)
    assert found.lead == "mlii" and found.verdict == reference.verdict == []
    np.testing.assert_array_equal(found.beats.x, reference.beats.x)
    # the same names on the other channels: the lower-case mlii, now the second signal, is still the one read
    swapped = copy_record(tmp_path, "swapped", lambda t: t.replace(" MLII", " v1 ").replace(" V1", " mlii"))
    found = beats_from_record(swapped, check_quality=True)
    assert found.lead == "mlii" and not any(line.startswith("lead") for line in found.verdict)
    np.testing.assert_array_equal(found.beats.x, beats_from_record(RECORD, channel=1).beats.x)


def test_a_header_that_names_no_lead_is_said(tmp_path):
    """Signal lines without a description: the first signal is read, and the verdict says the lead is unnamed."""
    unnamed = copy_record(tmp_path, "unnamed", lambda t: t.replace(" MLII", "").replace(" V1", ""))
    found = beats_from_record(unnamed, check_quality=True)
    assert found.lead == ""
    assert [line for line in found.verdict if line.startswith("lead")] == [
        "lead unnamed: the header names no lead, so its first signal was read; the models were trained on MLII, II, ECG1"]
    np.testing.assert_array_equal(found.beats.x, beats_from_record(RECORD).beats.x)


# -- annotations that are not the record's -----------------------------------------------------------------------


def _record_with_signal(folder, name, signal, fs, samples, symbols):
    import wfdb

    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["MLII"], p_signal=signal[:, None], fmt=["16"], write_dir=str(folder))
    wfdb.wrann(name, "atr", np.asarray(samples), symbol=list(symbols), write_dir=str(folder))
    return folder / name


def test_predict_refuses_a_time_reversed_signal_with_its_annotations(tmp_path, run_cli, no_tensorflow):
    """The 208 excerpt reversed in time keeps its QRS complexes, but no annotation sits on one: refused, as
    ``prepare`` refuses it, before a model loads (every beat got a class before: N, from the beats that happened
    to lie near a QRS)."""
    import wfdb

    record = wfdb.rdrecord(str(RECORD), channels=[0])
    ann = wfdb.rdann(str(RECORD), "atr")
    reversed_record = _record_with_signal(tmp_path, "reversed", record.p_signal[::-1, 0].copy(), record.fs,
                                          ann.sample, ann.symbol)
    with pytest.raises(DataFormatError, match="annotations off the QRS"):
        beats_from_record(reversed_record, refuse_implausible=True)
    done = run_cli("predict", "--model", "ecgnet-mitbih", "--record", reversed_record)
    one_error_line(done, "reversed: annotations off the QRS", "nothing is classified", "--detect")
    # the unmodified signal with the same annotations is read: the check is about the pair, not the file
    found = beats_from_record(_record_with_signal(tmp_path, "forward", record.p_signal[:, 0].copy(), record.fs,
                                                  ann.sample, ann.symbol), check_quality=True)
    assert found.verdict == [] and found.usable.mean() > 0.95


@pytest.mark.parametrize("shift_s", [0.1, -0.1])
def test_annotations_shifted_by_a_tenth_of_a_second_are_refused(tmp_path, shift_s):
    """0.1 s off (half the 0.2 s that test_plausibility checks): most R peaks still fall within the 0.1 s
    search window of their QRS, so the share on the QRS passed; the median offset does not."""
    from test_robustness_variants import excerpt_beats, write_annotations

    samples, symbols = excerpt_beats()
    record = copy_record(tmp_path, "shifted", atr=False)
    moved = samples + int(shift_s * 360)
    keep = (moved >= 0) & (moved < 14400)
    write_annotations(record, moved[keep], np.asarray(symbols)[keep])
    found = beats_from_record(record, check_quality=True)
    assert len(found.verdict) == 1 and found.verdict[0].startswith("annotations off the QRS: "), found.verdict
    if shift_s > 0:  # late: every R peak within 0.1 s of its QRS top, which the share on the QRS accepts
        assert found.verdict[0].startswith("annotations off the QRS: the R peaks lie a median 0.097 s after the top")
    with pytest.raises(DataFormatError, match="shifted: annotations off the QRS: "):
        beats_from_record(record, refuse_implausible=True)  # what prepare calls
    assert beats_from_record(RECORD, check_quality=True).verdict == []  # the same annotations, in place


def test_annotations_of_every_other_beat_are_refused(tmp_path, run_cli, no_tensorflow):
    """Every other annotation removed: each beat read is on its QRS (agreement 100 %), but its R-R interval
    spans two beats; the intervals hold a QRS of their own, and the record is refused."""
    from test_robustness_variants import excerpt_beats, write_annotations

    samples, symbols = excerpt_beats()
    record = copy_record(tmp_path, "thinned", atr=False)
    write_annotations(record, samples[::2], symbols[::2])
    found = beats_from_record(record, check_quality=True)
    assert found.verdict[0].startswith("annotations miss beats: 91% of the intervals"), found.verdict  # 208: some R-R short
    done = run_cli("predict", "--model", "ecgnet-mitbih", "--record", record)
    one_error_line(done, "thinned: annotations miss beats", "--detect")
    from ecgnet.plausibility import MISSED_RATIO, unannotated_qrs
    import wfdb

    signal = wfdb.rdrecord(str(RECORD), channels=[0]).p_signal[:, 0]
    assert np.mean(unannotated_qrs(signal, 360, samples) > MISSED_RATIO) == 0  # all annotations: none missed


@pytest.mark.parametrize("snr_db", [6, 0])
def test_noise_between_the_beats_is_no_missed_beat(snr_db):
    """White noise at 0 dB puts QRS-band peaks between the beats of record 208 (a third of its intervals): the
    annotations are the record's own, so no verdict on them; the check reads only a clean enough signal."""
    import wfdb

    from ecgnet.plausibility import check_record
    from ecgnet.quality import add_noise
    from test_robustness_variants import excerpt_beats

    samples, _ = excerpt_beats()
    signal = wfdb.rdrecord(str(RECORD), channels=[0]).p_signal[:, 0]
    noisy = add_noise(signal, np.random.default_rng(0).normal(size=len(signal)), snr_db, 360, samples)
    verdict = check_record(noisy, 360, samples, lead="MLII").verdict
    assert not any(line.startswith("annotations") for line in verdict), verdict


def test_a_single_beat_annotation_says_why_no_beat_is_cut(tmp_path, run_cli, no_tensorflow):
    from test_robustness_variants import excerpt_beats, write_annotations

    samples, symbols = excerpt_beats()
    record = copy_record(tmp_path, "one", atr=False)
    write_annotations(record, samples[5:6], symbols[5:6])
    done = run_cli("predict", "--model", "ecgnet-mitbih", "--record", record)
    one_error_line(done, "one.atr holds one beat annotation", "the next R peak", "--detect")


# -- output files ---------------------------------------------------------------------------------------------------


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_predict_out_that_is_its_own_input_is_refused(tmp_path, run_cli, no_tensorflow):
    """``predict --beats B --out B`` replaced the beats with the predictions (the atomic write made sure the
    input was lost whole); the same through a link or a hard link, and a record's own files."""
    beats = tmp_path / "beats.npz"
    shutil.copyfile(sample_dir() / "mitbih_test.npz", beats)
    (tmp_path / "link.npz").symlink_to(beats)
    (tmp_path / "hard.npz").hardlink_to(beats)
    before = _digest(beats)
    for out, said in (("beats.npz", "is an input of this command"), ("link.npz", "(the same file as beats.npz)"),
                      ("hard.npz", "(the same file as beats.npz)")):
        done = run_cli("predict", "--model", "ecgnet-mitbih", "--beats", "beats.npz", "--out", out)
        one_error_line(done, f"--out {out}: ", said, "name another file")
    assert _digest(beats) == before
    record = copy_record(tmp_path, "rec")
    atr = _digest(record.with_suffix(".atr"))
    done = run_cli("predict", "--model", "ecgnet-mitbih", "--record", "rec", "--out", "rec.atr")
    one_error_line(done, "--out rec.atr: is an input of this command")
    assert _digest(record.with_suffix(".atr")) == atr


def test_check_not_an_input_lets_other_files_through(tmp_path):
    from ecgnet.files import check_not_an_input

    (tmp_path / "in.csv").write_text("1\n")
    check_not_an_input(tmp_path / "out.csv", [tmp_path / "in.csv", tmp_path / "missing.csv"])  # new file: fine
    (tmp_path / "out.csv").write_text("2\n")
    check_not_an_input(tmp_path / "out.csv", [tmp_path / "in.csv"])  # another existing file: replaced, as before
    with pytest.raises(EcgnetError, match="is an input of this command"):
        check_not_an_input(tmp_path / "in.csv", [tmp_path / "in.csv"])


# -- signal files ---------------------------------------------------------------------------------------------------


def test_a_dat_in_another_storage_format_than_its_header_says(tmp_path, run_cli, no_tensorflow):
    """The 208 excerpt's format-212 bytes under a header that says 16, and a format-16 copy under one that says 212:
    the message names the format that fits (it said "shorter than its header says" / "declare the right number of
    signals?"); the same header over a format-16 copy of the samples reads the same beats as the original."""
    import wfdb

    said_16 = copy_record(tmp_path, "said16", lambda t: t.replace(".dat 212 ", ".dat 16 "))
    done = run_cli("predict", "--model", "ecgnet-mitbih", "--record", said_16)
    one_error_line(done, "said16.dat: 43200 bytes, the size of its 2 signal(s) of 14400 samples in format 212",
                   "said16.hea says format 16")
    record = wfdb.rdrecord(str(RECORD), physical=False)
    record.record_name, record.file_name, record.fmt = "as16", ["as16.dat"] * 2, ["16"] * 2
    record.wrsamp(write_dir=str(tmp_path))
    shutil.copyfile(RECORD.with_suffix(".atr"), tmp_path / "as16.atr")
    np.testing.assert_array_equal(beats_from_record(tmp_path / "as16").beats.x, beats_from_record(RECORD).beats.x)
    header = (tmp_path / "as16.hea").read_text()
    (tmp_path / "as16.hea").write_text(header.replace(".dat 16", ".dat 212"))
    with pytest.raises(DataFormatError, match=r"as16.dat: 57600 bytes, .* in format 16, but .*as16.hea says format 212"):
        beats_from_record(tmp_path / "as16")


def test_out_through_a_dangling_link_makes_no_folders(tmp_path, run_cli, no_tensorflow):
    """A link into a folder that does not exist was followed, and the folders along it made (as root: anywhere);
    a dangling link into an existing folder is still written through."""
    (tmp_path / "beats.npz").write_bytes((sample_dir() / "mitbih_test.npz").read_bytes())
    (tmp_path / "away.csv").symlink_to(tmp_path / "gone" / "deeper" / "p.csv")
    done = run_cli("predict", "--model", "ecgnet-mitbih", "--beats", "beats.npz", "--out", "away.csv")
    one_error_line(done, "--out away.csv: is a link to", "whose folder", "does not exist")
    assert not (tmp_path / "gone").exists() and (tmp_path / "away.csv").is_symlink()
    from ecgnet.files import write_text_atomic

    (tmp_path / "near.csv").symlink_to(tmp_path / "made.csv")
    write_text_atomic(tmp_path / "near.csv", "made\n")
    assert (tmp_path / "made.csv").read_text() == "made\n" and (tmp_path / "near.csv").is_symlink()


# -- beat files -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, change, message", [
    ("x", lambda x: x * 1000, "x[0, 0] (beat 0, sample 0) is 889.8, outside 0..1"),
    ("x", lambda x: x - 0.5, "outside 0..1"),
    ("rr", lambda rr: np.where(np.arange(rr.size).reshape(rr.shape) == 13, -rr, rr), "rr[4, 1] (beat 4, column 1) is -"),
    ("rr", lambda rr: np.where(np.arange(rr.size).reshape(rr.shape) == 13, 0.0, rr), "rr[4, 1] (beat 4, column 1) is 0:"),
])
def test_npz_beats_out_of_their_range_are_refused(tmp_path, run_cli, no_tensorflow, field, change, message):
    """The CSV reader refuses samples outside 0..1; a .npz of beats x1000 (or in millivolts) was classified,
    and a negative or zero R-R interval read as one. The sample file itself is read (the reference)."""
    from ecgnet.data import load_beats_npz

    arrays = dict(np.load(sample_dir() / "mitbih_test.npz"))
    assert len(load_beats_npz(sample_dir() / "mitbih_test.npz")) == len(arrays["y"])
    arrays[field] = change(arrays[field])
    np.savez(tmp_path / "beats.npz", **arrays)
    with pytest.raises(DataFormatError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        load_beats_npz(tmp_path / "beats.npz")
    one_error_line(run_cli("info", "beats.npz"), "beats.npz: ", message)


def test_no_qrs_at_an_unusual_heart_rate_asks_about_the_sampling_rate(tmp_path):
    """The 208 excerpt (360 Hz) under a header claiming 1000 Hz: the QRS band lands on the wrong frequencies and the
    heart runs at 28 beats per minute; the refusal says so instead of only "not an ECG lead"."""
    claimed = copy_record(tmp_path, "claimed", lambda t: t.replace(" 2 360 ", " 2 1000 "), atr=False)
    from test_robustness_variants import excerpt_beats, write_annotations

    samples, symbols = excerpt_beats()
    write_annotations(claimed, samples, symbols, fs=1000)
    found = beats_from_record(claimed, check_quality=True)
    assert found.verdict[0].startswith("no QRS complexes: ") and "is the header's sampling rate, 1000 Hz, the signal's" \
        in found.verdict[0], found.verdict
    from ecgnet.plausibility import check_record

    noise = np.random.default_rng(0).normal(size=360 * 40)  # no QRS at 75 beats per minute: no question about the rate
    verdict = check_record(noise, 360, np.arange(100, 360 * 39, 288), lead="MLII").verdict
    assert verdict[0].startswith("no QRS complexes: ") and "sampling rate" not in verdict[0]


@pytest.mark.parametrize("separator, name", [("\t", "tabs"), (";", "semicolons")])
def test_a_csv_separated_otherwise_says_by_what(tmp_path, separator, name):
    """A spreadsheet's export with tabs or semicolons: "got 1 field" named no cause."""
    from ecgnet.data import load_mitbih_csv

    rows = np.loadtxt(sample_dir() / "mitbih_test.csv.gz", delimiter=",", max_rows=3)
    lines = [",".join(f"{v:g}" for v in row) for row in rows]
    (tmp_path / "ok.csv").write_text("\n".join(lines) + "\n")
    x, y = load_mitbih_csv(tmp_path / "ok.csv")  # the same rows with commas: read
    np.testing.assert_allclose(np.asarray(x).reshape(3, -1), rows[:, :-1], atol=1e-6)
    (tmp_path / "other.csv").write_text("\n".join(line.replace(",", separator) for line in lines) + "\n")
    with pytest.raises(DataFormatError, match=f"line 1: expected 188 comma-separated fields .* got 1; its fields are "
                                              f"separated by {name}: save it with commas"):
        load_mitbih_csv(tmp_path / "other.csv")


def test_annotations_far_off_are_off_the_qrs_not_a_signal_without_one(tmp_path):
    """0.3 s late (half of record 208's R-R interval; 0.5 s on record 100), no annotation sits on a QRS, which read
    as "the signal does not look like an ECG lead"; the QRS complexes 0.3 s away say it is the annotations."""
    from test_robustness_variants import excerpt_beats, write_annotations

    samples, symbols = excerpt_beats()
    record = copy_record(tmp_path, "late", atr=False)
    keep = samples + 108 < 14400
    write_annotations(record, samples[keep] + 108, np.asarray(symbols)[keep])
    found = beats_from_record(record, check_quality=True)
    assert found.verdict[0].startswith("annotations off the QRS: no R peak sits on a QRS complex"), found.verdict
    assert not any(line.startswith("no QRS complexes") for line in found.verdict)


def test_train_and_evaluate_refuse_to_write_into_their_data_folder(tmp_path, run_cli, no_tensorflow):
    """A run or a report written among a prepared split's files mixed them (prepare then refused the folder as
    one holding other files); the split is left as it was."""
    data = tmp_path / "data"
    shutil.copytree(sample_dir(), data)
    before = sorted(p.name for p in data.iterdir())
    done = run_cli("train", "--data", "data", "--split", "kaggle", "--epochs", "1", "--out", "data/.")
    one_error_line(done, "--out data: is the --data folder")
    done = run_cli("evaluate", "--model", "ecgnet-mitbih", "--data", "data", "--out", "data")
    one_error_line(done, "--out data: is the --data folder")
    assert sorted(p.name for p in data.iterdir()) == before


# -- annotations about one beat off -------------------------------------------------------------------------------


@pytest.mark.parametrize("shift", [180, 197, -197])  # 0.5 s late; one median R-R interval (0.547 s) late, early
def test_annotations_about_one_beat_off_are_off_the_qrs(tmp_path, shift):
    """Each annotation near the next (previous) beat's QRS: most sit within 0.1 s of a QRS and their median offset
    is small, so the shift passed, or was called "annotations miss beats" (a QRS left between them where the rhythm
    runs faster). Their offsets vary with the R-R intervals (0.042 to 0.047 s here; 0.008 s with the annotations in
    place), which names the cause; ``prepare`` refuses the record."""
    from ecgnet.plausibility import offset_spread
    from test_robustness_variants import excerpt_beats, write_annotations
    import wfdb

    samples, symbols = excerpt_beats()
    record = copy_record(tmp_path, "moved", atr=False)
    keep = (samples + shift >= 0) & (samples + shift < 14400)
    write_annotations(record, samples[keep] + shift, np.asarray(symbols)[keep])
    found = beats_from_record(record, check_quality=True)
    assert [line.split(":")[0] for line in found.verdict] == ["annotations off the QRS"], found.verdict
    assert "shifted by about one beat" in found.verdict[0] and "miss beats" not in found.verdict[0]
    with pytest.raises(DataFormatError, match="moved: annotations off the QRS: .* shifted by about one beat"):
        beats_from_record(record, refuse_implausible=True)  # what prepare calls
    signal = wfdb.rdrecord(str(RECORD), channels=[0]).p_signal[:, 0]
    assert offset_spread(signal, 360, samples) < 0.01 and beats_from_record(RECORD, check_quality=True).verdict == []


def test_annotations_one_beat_late_that_leave_a_qrs_between_them_are_not_called_thinned():
    """The 232 excerpt (a slow rhythm with pauses) one R-R interval late: a QRS lies between most annotations,
    which read as "annotations miss beats"; but only 65 % of them sit on a QRS, where thinned annotations keep
    every one on its QRS (the test of every other annotation above)."""
    import wfdb

    from ecgnet.plausibility import check_record

    record = FIXTURES / "232_excerpt"
    signal = wfdb.rdrecord(str(record), channels=[0]).p_signal[:, 0]
    ann = wfdb.rdann(str(record), "atr")
    samples = ann.sample[np.isin(ann.symbol, list("NLRBAaJSVrFejnE/fQ?"))]
    assert check_record(signal, 360, samples, lead="MLII").verdict == []
    late = samples + 261
    found = check_record(signal, 360, late[late < len(signal)], lead="MLII")
    assert found.verdict[0].startswith("annotations off the QRS: only 65% of the R peaks sit on the top of their QRS "
                                       "complex, and 64% of the intervals"), found.verdict
    assert found.verdict[0].endswith("annotations shifted by about one beat (an R-R interval)?")
    thinned = check_record(signal, 360, samples[::2], lead="MLII").verdict  # every R peak on its QRS: thinned
    assert thinned[0].startswith("annotations miss beats: 100% of the intervals"), thinned


# -- names a WFDB header cannot hold -------------------------------------------------------------------------------


def test_a_signal_file_name_with_letters_beyond_ascii_is_named(tmp_path, run_cli, no_tensorflow):
    """wfdb reads a header as ASCII and drops the rest: a header naming ``récörd.dat`` had its signal looked for
    in ``rcrd.dat`` ("rcrd.dat: missing; récörd.hea names it", which it does not), or read from another record's
    file of that name. The same copy with an ASCII name is read as the original."""
    for name in ("récörd", "plain"):
        copy_record(tmp_path, name)
    done = run_cli("predict", "--model", "ecgnet-mitbih", "--record", "récörd")
    one_error_line(done, "récörd.hea: line 2: the signal file name 'récörd.dat' holds characters other than ASCII (éö)",
                   "as 'rcrd.dat'", "rename")
    np.testing.assert_array_equal(beats_from_record(tmp_path / "plain").beats.x, beats_from_record(RECORD).beats.x)


def test_a_record_line_with_spaces_in_its_name_is_named(tmp_path):
    """``rec with space 2 360 14400``: the message was "sampling rate 'space' on the record line"."""
    spaced = copy_record(tmp_path, "spaced", lambda t: t.replace("spaced 2 360", "spaced out 2 360", 1))
    with pytest.raises(DataFormatError, match=r"spaced.hea: the record line 'spaced out 2 360 14400' does not read as "
                                              r"NAME SIGNALS RATE LENGTH: 'out' is not a number of signals"):
        beats_from_record(spaced)


# -- commands given the wrong kind of file --------------------------------------------------------------------------


def test_a_model_file_given_as_beats_says_it_is_a_model(tmp_path, run_cli, no_tensorflow):
    """``info``, ``predict --beats`` and ``train --data`` read beat files; a .keras (a model, or a zip of anything)
    was "binary data (NUL bytes), not lines of comma-separated numbers", and the same zip under a .csv name too."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "notes.keras", "w") as archive:
        archive.writestr("notes.txt", "not a model\n")
    said = ("notes.keras: a .keras file is a model, not beats", ".csv, .csv.gz or .npz")
    one_error_line(run_cli("info", "notes.keras"), *said)
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--beats", "notes.keras"), *said)
    one_error_line(run_cli("train", "--data", "notes.keras", "--split", "kaggle", "--epochs", "1", "--out", "run"), *said)
    shutil.copyfile(tmp_path / "notes.keras", tmp_path / "beats.csv")
    one_error_line(run_cli("info", "beats.csv"), "beats.csv: is a zip archive, not lines of comma-separated numbers")
    from ecgnet.pretrained_models import model_path

    shutil.copyfile(model_path("ecgnet-mitbih"), tmp_path / "model.npz")  # a real model under a .npz name
    one_error_line(run_cli("info", "model.npz"), "model.npz: not a Beats file, missing x, y", "(a .keras model under "
                                                 "another name?)")
    shutil.copyfile(sample_dir() / "mitbih_test.npz", tmp_path / "beats.npz")
    assert run_cli("info", "beats.npz").returncode == 0


@pytest.mark.parametrize("label, hint", [("A", "'A' is a MIT-BIH beat symbol, of AAMI class S: write S"),
                                         ("/", "'/' is a MIT-BIH beat symbol, of AAMI class Q: write Q"),
                                         ("L", "'L' is a MIT-BIH beat symbol, of AAMI class N: write N"),
                                         ("v", "the classes are upper case: 'V'"), ("x", "")])
def test_a_labels_cell_in_mitbih_symbols_names_its_aami_class(tmp_path, label, hint):
    from ecgnet.adaptation import read_labels
    from ecgnet.data.classes import AAMI_MAP, CLASS_NAMES

    (tmp_path / "labels.csv").write_text(f"time_s,label\n1.0,N\n2.0,{label}\n")
    message = f"labels.csv: line 3, column 2 (label): '{label}' is not one of N, S, V, F, Q" + (f"; {hint}" if hint else "")
    with pytest.raises(DataFormatError) as error:
        read_labels(tmp_path / "labels.csv")
    assert str(error.value).endswith(message), str(error.value)
    if label in AAMI_MAP:  # the hint names the class of ecgnet's own map
        assert hint.endswith(f"write {CLASS_NAMES[AAMI_MAP[label]]}")


def test_predict_out_onto_its_model_file_is_refused(tmp_path, run_cli, no_tensorflow):
    """``predict --model m.keras --out m.keras`` wrote the predictions over the model (exit 0, the model lost)."""
    from ecgnet.pretrained_models import model_path

    shutil.copyfile(model_path("ecgnet-mitbih"), tmp_path / "m.keras")
    shutil.copyfile(sample_dir() / "mitbih_test.npz", tmp_path / "beats.npz")
    before = _digest(tmp_path / "m.keras")
    done = run_cli("predict", "--model", "m.keras", "--beats", "beats.npz", "--out", "m.keras")
    one_error_line(done, "--out m.keras: is an input of this command", "name another file")
    assert _digest(tmp_path / "m.keras") == before == _digest(model_path("ecgnet-mitbih"))


# -- a sampling rate twice or half the true one, read from the heart rate alone ----------------------------------


def test_a_heart_rate_beyond_the_clean_records_says_the_rate_looks_wrong():
    """Where the rate index stays within the clean records' range (a wide QRS at twice the rate looks like a narrow
    one at the true rate: svdb records under 256 Hz), a heart rate over 180 for the whole record (135 at most on the
    87 clean records) still says twice; the five excerpts at their true rate are not flagged."""
    import wfdb

    from ecgnet.plausibility import sampling_rate_factor

    for name in ("208", "114", "217", "232", "233"):
        record = FIXTURES / f"{name}_excerpt"
        signal = wfdb.rdrecord(str(record), channels=[0]).p_signal[:, 0]
        ann = wfdb.rdann(str(record), "atr")
        samples = ann.sample[np.isin(ann.symbol, list("NLRBAaJSVrFejnE/fQ?"))]
        assert sampling_rate_factor(signal, 360, samples) == (1.0, ""), name
        if name == "233":  # 103 beats per minute: 207 at "720 Hz", with a rate index (105) inside the clean range
            factor, evidence = sampling_rate_factor(signal, 720, samples)
            assert factor == 2.0 and evidence == ("heart rate 207 with a QRS 33 ms wide (rate index 105 per s²; a heart "
                                                  "rate over 180 for the whole record)")
        if name == "217":  # 72 beats per minute: 36 at "180 Hz", with a rate index (7) under the range as well
            factor, evidence = sampling_rate_factor(signal, 180, samples)
            assert factor == 0.5 and evidence.startswith("heart rate 36 with a QRS"), evidence


def test_predict_out_onto_a_file_of_its_record_named_with_an_extension_is_refused(tmp_path, run_cli, no_tensorflow):
    """``--record rec.hea --out rec.atr`` replaced the annotations with the predictions (exit 0): the record's files
    were taken as ``rec.hea.atr`` and the like. The signal file a header names (another record's ``.dat`` here) is
    an input too."""
    record = copy_record(tmp_path, "rec")
    header = record.with_suffix(".hea").read_text()
    (tmp_path / "other.hea").write_text(header.replace("rec", "other").replace("other.dat", "rec.dat"))
    digests = {name: _digest(tmp_path / name) for name in ("rec.atr", "rec.dat", "rec.hea")}
    for given, out in (("rec.hea", "rec.atr"), ("rec.atr", "rec.dat"), ("rec.dat", "rec.hea"), ("other", "rec.dat")):
        done = run_cli("predict", "--model", "ecgnet-mitbih", "--record", given, "--out", out)
        one_error_line(done, f"--out {out}: is an input of this command")
    assert digests == {name: _digest(tmp_path / name) for name in digests}
    from ecgnet.data.records import record_files

    assert record_files(tmp_path / "rec.hea") == [tmp_path / "rec.hea", tmp_path / "rec.atr", tmp_path / "rec.dat"]
    assert record_files(tmp_path / "other")[-1] == tmp_path / "rec.dat"


def test_prepare_refuses_one_record_under_two_names(tmp_path, run_cli, no_tensorflow):
    """A raw folder holding a record and its copy under another name: both were prepared, and the kaggle split put
    the same beats in train and in test (exit 0). The folder without the copy is prepared."""
    raw = tmp_path / "raw"
    raw.mkdir()
    copy_record(raw, "rec")
    copy_record(raw, "twin")
    done = run_cli("prepare", "--raw", raw, "--split", "kaggle", "--out", tmp_path / "out")
    one_error_line(done, "twin: its signal (twin.dat) is the same as that of", "rec (rec.dat)", "remove the copy")
    assert not (tmp_path / "out").exists()
    from ecgnet.data.datasets import _refuse_copies

    copy_record(raw, "other", header=lambda t: t)  # the same header text, another signal: not a copy
    (raw / "other.dat").write_bytes((raw / "rec.dat").read_bytes()[::-1])
    (raw / "twin.dat").unlink()
    _refuse_copies([(raw, ["rec", "other", "twin"])])  # twin's signal is missing: the reader's to report


@pytest.mark.parametrize("made", ["folder", "device"])
def test_a_signal_or_annotation_file_that_is_not_a_file_is_named(tmp_path, made):
    """A folder named REC.dat read as 4096 bytes "shorter than its header says", /dev/zero as 0 bytes; a folder
    named REC.atr gave Python's "Is a directory"."""
    record = copy_record(tmp_path, "rec")
    for ext, what in (("dat", "a signal file"), ("atr", "an annotation file")):
        target = tmp_path / f"rec.{ext}"
        saved = target.read_bytes()
        target.unlink()
        if made == "folder":
            target.mkdir()
        else:
            target.symlink_to("/dev/zero")
        kind = "a folder" if made == "folder" else "a character device"
        with pytest.raises(DataFormatError, match=f"rec.{ext}: is {kind}, not {what}"):
            beats_from_record(record)
        target.rmdir() if made == "folder" else target.unlink()
        target.write_bytes(saved)
    np.testing.assert_array_equal(beats_from_record(record).beats.x, beats_from_record(RECORD).beats.x)


# -- file names in another case ----------------------------------------------------------------------------------


def _recase(record, endings):
    """Rename the files of ``record`` whose ending is in ``endings`` to the upper-case ending (``.atr`` -> ``.ATR``)."""
    for ending in endings:
        source = record.with_name(record.name + ending)
        source.rename(source.with_name(record.name + ending.upper()))


def test_record_files_in_another_case_are_named_not_read_as_missing(tmp_path, run_cli, no_tensorflow):
    """WFDB reads a record's files by their lower-case endings. ``REC.ATR`` beside ``REC.hea`` was read as a
    record without annotations: `predict` found the R peaks with the detector (48 beats, no word of the 69
    annotated) and said "no annotations found"; ``REC.HEA`` was "no such WFDB record (expected REC.hea)"."""
    annotations = copy_record(tmp_path, "atr")
    _recase(annotations, [".atr"])
    with pytest.raises(DataFormatError, match=r"atr.atr is missing, but .*atr.ATR is there: WFDB reads"):
        beats_from_record(annotations)
    assert beats_from_record(annotations, use_annotations=False).source == "detector"  # --detect: the .ATR is not read
    header = copy_record(tmp_path, "hea")
    _recase(header, [".hea", ".dat", ".atr"])
    done = run_cli("predict", "--model", "ecgnet-mitbih", "--record", tmp_path / "hea.HEA")
    one_error_line(done, "hea.hea is missing, but", "hea.HEA is there", "rename it hea.hea")
    signal = copy_record(tmp_path, "dat")
    _recase(signal, [".dat"])
    with pytest.raises(DataFormatError, match=r"dat.dat: missing; .* dat.DAT is there, in another case"):
        beats_from_record(signal)
    # renamed back, each reads as the excerpt
    for record in (annotations, header, signal):
        for path in record.parent.glob(record.name + ".*"):
            path.rename(path.with_suffix(path.suffix.lower()))
        np.testing.assert_array_equal(beats_from_record(record).beats.x, beats_from_record(RECORD).beats.x)


def test_prepare_refuses_a_raw_folder_with_a_header_in_another_case(tmp_path, run_cli, no_tensorflow):
    """A record whose files end in ``.HEA``/``.DAT``/``.ATR`` was left out of the split without a word
    (``*.hea`` did not list it): the split held one record of two."""
    raw = tmp_path / "raw"
    raw.mkdir()
    copy_record(raw, "kept")
    _recase(copy_record(raw, "upper"), [".hea", ".dat", ".atr"])
    done = run_cli("prepare", "--raw", raw, "--split", "kaggle", "--out", tmp_path / "out")
    one_error_line(done, "raw: 1 header(s) end in another case than .hea (upper.HEA)", "lower-case endings")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["BEATS.CSV", "beats.CSV.GZ", "beats.csv.GZ", "beats.NPZ"])
def test_beat_files_with_endings_in_upper_case_are_read(tmp_path, name):
    """``.CSV.GZ`` was "gzip-compressed but its name does not end in .gz; rename it beats.CSV.GZ.gz", and
    ``.NPZ`` "a zip archive, not lines of comma-separated numbers": the same files as ``.csv.gz`` and ``.npz``."""
    from ecgnet.data import load_part

    sample = sample_dir()
    source = sample / ("mitbih_test.npz" if name.endswith("NPZ") else "mitbih_test.csv.gz")
    data = source.read_bytes()
    if name.upper().endswith(".CSV"):
        import gzip

        data = gzip.decompress(data)
    (tmp_path / name).write_bytes(data)
    found, reference = load_part(tmp_path / name, "test"), load_part(source, "test")
    np.testing.assert_array_equal(found.x, reference.x)
    np.testing.assert_array_equal(found.y, reference.y)


@pytest.mark.parametrize("name", ["../rec.dat", "/abs/rec.dat"])
def test_a_signal_file_named_with_a_folder_is_named(tmp_path, run_cli, no_tensorflow, name):
    """wfdb refuses a signal file name with a folder in it, and said only "invalid syntax in signal line"."""
    record = copy_record(tmp_path, "rec", header=lambda t: t.replace("rec.dat", name))
    with pytest.raises(DataFormatError, match=f"line 2: the signal file name '{name}' names a folder"):
        beats_from_record(record)
    done = run_cli("predict", "--model", "ecgnet-mitbih", "--record", record)
    one_error_line(done, "rec.hea: line 2: the signal file name", "put the file beside rec.hea")


# -- arguments -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("prepare", "--raw", "raw", "--split", "kaggle", "--out", "out"),
                                     ("train", "--data", "data", "--split", "kaggle", "--out", "run")])
def test_a_seed_numpy_cannot_take_is_one_line(tmp_path, run_cli, no_tensorflow, command):
    """``prepare --seed -1`` ended in numpy's traceback (``expected non-negative integer``, from
    ``default_rng``), ``train --seed -1`` in ``set_random_seed``'s, after the data were read."""
    for seed in ("-1", str(2**32)):
        done = run_cli(*command, "--seed", seed)
        one_error_line(done, f"argument --seed: expected a whole number from 0 to {2**32 - 1} (a seed), received {seed}")


@pytest.mark.parametrize("argument", ["--out", "--record", "--model"])
def test_an_empty_path_is_one_line_not_the_current_folder(tmp_path, run_cli, no_tensorflow, argument):
    """``--out ""`` (a variable left unset, quoted) was read as ``.``: `evaluate` wrote its report into the
    current folder, `predict --record ""` said ".: is a folder"."""
    given = {"--model": "ecgnet-mitbih", "--record": RECORD, "--out": tmp_path / "p.csv"}
    given[argument] = ""
    done = run_cli("predict", *(item for pair in given.items() for item in pair))
    one_error_line(done, f"argument {argument}: expected a path, received ''")
    if argument == "--out":
        done = run_cli("evaluate", "--model", "ecgnet-mitbih", "--data", sample_dir(), "--out", "")
        one_error_line(done, "argument --out: expected a path")
    assert sorted(path.name for path in tmp_path.iterdir() if not path.name.startswith(".")) == ["no_tensorflow"]


# -- RECORDS files and --raw ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("listing, message", [
    ("rec\nother\nrec\n", "RECORDS: line 3: lists record 'rec' again (line 1)"),
    ("\n\n", "RECORDS: lists no record"),
])
def test_a_records_file_listing_a_record_twice_or_none_is_named(tmp_path, run_cli, no_tensorflow, listing, message):
    """A record listed twice was refused as "one record under two names" (its own copy); an empty RECORDS file
    gave "the kaggle split leaves 0 train and 0 test beats"."""
    raw = tmp_path / "raw"
    raw.mkdir()
    copy_record(raw, "rec")
    copy_record(raw, "other")
    (raw / "RECORDS").write_text(listing)
    done = run_cli("prepare", "--raw", raw, "--split", "kaggle", "--out", tmp_path / "out")
    one_error_line(done, message)
    assert not (tmp_path / "out").exists()


def test_a_records_file_with_a_byte_order_mark_windows_line_ends_and_comments_is_read(tmp_path):
    """A byte-order mark was read into the first name (record '\\ufeffrec' not found), a ``#`` line as record '#'."""
    from ecgnet.data.records import list_records

    (tmp_path / "RECORDS").write_bytes(b"\xef\xbb\xbf# two records\r\nrec\r\nother  # the second\r\n")
    assert list_records(tmp_path) == ["rec", "other"]


def test_raw_name_without_a_folder_is_refused_not_read_as_the_current_folder(tmp_path, run_cli, no_tensorflow):
    """``--raw mitdb=`` (a variable left unset) read the records of the current folder."""
    copy_record(tmp_path, "rec")
    done = run_cli("prepare", "--raw", "mitdb=", "--split", "kaggle", "--out", tmp_path / "out")
    one_error_line(done, "--raw mitdb=: names no folder")
    assert not (tmp_path / "out").exists()


def test_a_run_folder_given_as_the_model_names_its_model_file(tmp_path, run_cli, no_tensorflow):
    """``--model RUN`` (the folder `train` wrote) was "RUN: not a Keras model file (expected a .keras zip
    archive ...)"; it names the file to give."""
    run = tmp_path / "run"
    run.mkdir()
    done = run_cli("predict", "--model", run, "--record", RECORD)
    one_error_line(done, f"argument --model: {run} is a folder, not a model")
    (run / "model.keras").write_bytes(b"")
    done = run_cli("evaluate", "--model", run, "--data", sample_dir())
    one_error_line(done, f"argument --model: {run} is a folder; its model is {run / 'model.keras'}: name that file")


def test_train_refuses_a_split_other_than_the_one_its_data_holds(tmp_path, run_cli, no_tensorflow):
    """``train --data KAGGLE --split inter-patient`` trained, validated record-wise on beats whose records are in
    the test part too, and wrote a card claiming the inter-patient split. The sample serves either split."""
    from ecgnet.data.datasets import prepare_split

    data = tmp_path / "data"
    prepare_split({"mitdb": FIXTURES}, "kaggle", data, progress=False)
    for given in (data, data / "train.npz"):
        done = run_cli("train", "--data", given, "--split", "inter-patient", "--epochs", "1", "--out", tmp_path / "run")
        one_error_line(done, f"--split inter-patient: {given} holds the 'kaggle' split (its manifest.json says so)",
                       "pass --split kaggle")
    assert not (tmp_path / "run").exists()
    # the sample, and a folder of the split given, pass the check (and reach TensorFlow, here a stub that fails)
    for given, split in ((sample_dir(), "inter-patient"), (data, "kaggle")):
        done = run_cli("train", "--data", given, "--split", split, "--epochs", "1", "--out", tmp_path / "run2")
        assert "TensorFlow was imported" in done.stderr and "--split" not in done.stderr, done.stderr


@pytest.mark.parametrize("made", ["device", "pipe", "folder", "large"])
def test_a_header_that_is_not_a_header_file_is_named_before_it_is_read(tmp_path, run_cli, no_tensorflow, made):
    """``REC.hea`` a link to ``/dev/zero`` was read until the memory ran out (MemoryError), a named pipe hung
    `predict --out` and `prepare` for ever, a folder gave "[Errno 21] Is a directory"."""
    import os

    raw = tmp_path / "raw"
    raw.mkdir()
    record = copy_record(raw, "rec")
    header = raw / "rec.hea"
    header.unlink()
    if made == "device":
        header.symlink_to("/dev/zero")
    elif made == "pipe":
        os.mkfifo(header)
    elif made == "folder":
        header.mkdir()
    else:
        header.write_bytes(b"rec 2 360 14400\n" * 70000)
    said = "is a character device" if made == "device" else "is a named pipe (FIFO)" if made == "pipe" else \
        "is a folder" if made == "folder" else "1120000 bytes, not a WFDB header"
    with pytest.raises(DataFormatError, match=said.replace("(", r"\(").replace(")", r"\)")):
        beats_from_record(record)
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--record", record, "--out", tmp_path / "p.csv",
                           timeout=60), f"rec.hea: {said}")
    one_error_line(run_cli("prepare", "--raw", raw, "--split", "kaggle", "--out", tmp_path / "out", timeout=60), said)


def test_a_device_as_the_signal_file_of_a_header_without_a_length_is_named(tmp_path):
    """Without a length in its header wfdb reads the signal file to its end: ``/dev/zero`` read as 0 samples,
    "could not read the signal (sampto must be greater than sampfrom)"."""
    record = copy_record(tmp_path, "rec", header=lambda t: t.replace("rec 2 360 14400", "rec 2 360"))
    (tmp_path / "rec.dat").unlink()
    (tmp_path / "rec.dat").symlink_to("/dev/zero")
    with pytest.raises(DataFormatError, match="rec.dat: is a character device, not a signal file"):
        beats_from_record(record)


@pytest.mark.parametrize("name", ["beats.csv", "beats.npz", "model.keras"])
def test_a_device_named_as_beats_or_model_is_named(tmp_path, run_cli, no_tensorflow, name):
    """A link to ``/dev/zero`` named ``.npz`` was "no such file", and named ``.keras`` was read as a model until a
    MemoryError; ``.csv`` said "not a file"."""
    (tmp_path / name).symlink_to("/dev/zero")
    if name.endswith(".keras"):
        done = run_cli("predict", "--model", tmp_path / name, "--record", RECORD)
        one_error_line(done, f"argument --model: {tmp_path / name} is a character device, not a model file")
    else:
        one_error_line(run_cli("info", tmp_path / name), f"{name}: is a character device, not a file of beats")
