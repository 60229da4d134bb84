"""Variants of the bad inputs of tests/test_robustness.py: each one clear line and exit status 2, or the right file written.

Headers, annotations, labels files, beat files, output links and run folders
that load but are not what they claim (docs/robustness.md, "Variants tried").
Everything here runs without TensorFlow except the one test that needs a
model of another beat length.
"""

import os
import re
import shutil
import struct

import numpy as np
import pytest

from ecgnet.data import beats_from_record, sample_dir
from ecgnet.errors import DataFormatError, EcgnetError

from conftest import FIXTURES, assert_one_line_error
from test_robustness import no_tensorflow, one_error_line  # noqa: F401  (a fixture, and the check of one error line)

RECORD = FIXTURES / "208_excerpt"  # 40 s of MIT-BIH record 208, 360 Hz, format 212, with its .atr
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")


def copy_record(folder, name="rec", header=lambda text: text, atr=True):
    """A copy of the 208 excerpt as ``folder/name`` with its header edited (and its .atr, unless ``atr`` is false)."""
    text = RECORD.with_suffix(".hea").read_text().replace("208_excerpt", name)
    (folder / f"{name}.hea").write_text(header(text))
    (folder / f"{name}.dat").write_bytes(RECORD.with_suffix(".dat").read_bytes())
    if atr:
        (folder / f"{name}.atr").write_bytes(RECORD.with_suffix(".atr").read_bytes())
    return folder / name


def excerpt_beats():
    """R-peak samples and symbols of the beat annotations of the 208 excerpt."""
    import wfdb

    ann = wfdb.rdann(str(RECORD), "atr")
    keep = [i for i, symbol in enumerate(ann.symbol) if symbol in BEAT_SYMBOLS]
    return np.asarray(ann.sample)[keep], [ann.symbol[i] for i in keep]


def write_annotations(record, samples, symbols, fs=None):
    import wfdb

    wfdb.wrann(record.name, "atr", np.asarray(samples), symbol=list(symbols), write_dir=str(record.parent), fs=fs)


def annotation_bytes(first_sample, samples):
    """A WFDB annotation file, by hand: an N beat at ``first_sample`` (negative allowed, as a SKIP), then N beats."""
    words = []

    def skip(n):
        value = n & 0xFFFFFFFF
        words.extend([59 << 10, value >> 16, value & 0xFFFF])

    skip(first_sample)
    words.append(1 << 10)
    previous = first_sample
    for sample in samples:
        skip(int(sample - previous))
        words.append(1 << 10)
        previous = sample
    words.append(0)
    return b"".join(struct.pack("<H", word) for word in words)


# -- headers ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.splitlines()[0].replace(" 2 360", " 0 360") + "\n", "declares 0 signals"),
        (lambda t: t.replace(" 2 360", " 3 360"), "declares 3 signals, but 2 signal line(s) follow it"),
        (lambda t: t.replace("360 14400", "360 0"), "declares 0 samples per signal"),
        (lambda t: t.replace("360 14400", "360 abc"), "number of samples 'abc' on the record line is not a whole number"),
        (lambda t: "# only a comment\n", "holds no record line"),
    ],
    ids=["no-signals", "fewer-signal-lines", "no-samples", "junk-length", "empty"],
)
def test_header_that_cannot_describe_the_record_is_named(tmp_path, edit, message):
    path = copy_record(tmp_path, header=edit)
    with pytest.raises(DataFormatError, match="rec.hea") as error:
        beats_from_record(path)
    assert message in str(error.value)


def test_header_without_a_length_reads_the_file_to_its_end(tmp_path):
    path = copy_record(tmp_path, header=lambda t: t.replace("360 14400", "360"))
    assert len(beats_from_record(path).times) == len(beats_from_record(RECORD).times) == 69


def test_header_variant_is_one_line_before_tensorflow(tmp_path, run_cli, no_tensorflow):
    path = copy_record(tmp_path, header=lambda t: t.replace(" 2 360", " 3 360"))
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--record", path), "rec.hea", "declares 3 signals")


# -- annotations -------------------------------------------------------------------------------------------------


def test_annotations_past_the_end_of_the_signal_are_refused(tmp_path):
    samples, symbols = excerpt_beats()
    path = copy_record(tmp_path, atr=False)
    write_annotations(path, np.concatenate([samples, samples + 14400]), symbols + symbols)
    with pytest.raises(DataFormatError, match=r"rec.atr: 70 of its 140 beat annotations lie after the end of the signal \(14400 samples, 40.0 s\)"):
        beats_from_record(path)
    write_annotations(path, samples + 20000, symbols)  # all of them
    with pytest.raises(DataFormatError, match="70 of its 70 beat annotations lie after the end"):
        beats_from_record(path)


def test_annotation_before_the_start_is_refused(tmp_path):
    samples, _ = excerpt_beats()
    path = copy_record(tmp_path, atr=False)
    path.with_suffix(".atr").write_bytes(annotation_bytes(-50, samples))
    with pytest.raises(DataFormatError, match="rec.atr: annotation 0 .'N'. is at sample -50, before the record's start"):
        beats_from_record(path)


@pytest.mark.parametrize("offset", [0, 3])
def test_a_beat_annotated_twice_is_refused(tmp_path, offset):
    samples, symbols = excerpt_beats()
    path = copy_record(tmp_path, atr=False)
    doubled = np.sort(np.concatenate([samples, samples[10:11] + offset]))
    write_annotations(path, doubled, symbols[:11] + symbols[10:])
    gap = f"{offset / 360:.3f}"
    with pytest.raises(DataFormatError, match=f"beat annotations 10 and 11 lie {gap} s apart .* one beat annotated twice"):
        beats_from_record(path)


def test_annotations_written_at_another_sampling_rate_are_refused(tmp_path):
    samples, symbols = excerpt_beats()
    path = copy_record(tmp_path, atr=False)
    write_annotations(path, samples, symbols, fs=128)
    with pytest.raises(DataFormatError, match="written for a sampling rate of 128 Hz, but the record's header says 360 Hz"):
        beats_from_record(path)


def test_clean_excerpts_keep_their_annotations():
    # the checks above refuse nothing of the real records (nor of the 48 MIT-BIH and 39 svdb records:
    # none has an annotation outside its signal or two beats closer than 0.13 s)
    for name in ("114_excerpt", "208_excerpt", "217_excerpt", "232_excerpt", "233_excerpt"):
        found = beats_from_record(FIXTURES / name)
        assert found.source == "annotations" and len(found.times) > 0


def test_prepare_says_when_the_atr_holds_no_beat(tmp_path, run_cli, no_tensorflow):
    samples, _ = excerpt_beats()
    raw = tmp_path / "raw"
    raw.mkdir()
    path = copy_record(raw, atr=False)
    write_annotations(path, samples, ["+"] * len(samples))  # rhythm annotations only
    result = run_cli("prepare", "--raw", raw, "--split", "kaggle", "--out", tmp_path / "out")
    assert_one_line_error(result, "rec: no reference annotations (", "rec.atr holds no beat annotation)")  # after its progress bar
    from ecgnet.prediction import _no_annotations

    assert _no_annotations(path) == "rec.atr holds no beat annotation"
    assert _no_annotations(tmp_path / "none") == "no annotations found"


# -- labels of `adapt --labels` ------------------------------------------------------------------------------------


def test_labels_file_giving_one_beat_two_classes_is_refused(tmp_path):
    from ecgnet.adaptation import span_labels

    times = np.arange(30) * 0.8 + 0.4
    rows = ["time_s,label"] + [f"{t:.3f},N" for t in times] + [f"{times[3] + 0.05:.3f},V"]
    labels = tmp_path / "labels.csv"
    labels.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataFormatError, match=r"labels.csv: line 32, column label: labels the beat at 2.800 s V, but line 5 labels it N"):
        span_labels(RECORD, times, np.full(30, -1), 0.5, labels)
    labels.write_text("\n".join(rows[:-1] + [f"{times[3]:.3f},N"]) + "\n")  # the same label twice: no conflict
    used, given = span_labels(RECORD, times, np.full(30, -1), 0.5, labels)
    assert used.sum() == 30 and (given[used] == 0).all()


def test_adapt_minutes_longer_than_the_record_names_the_argument(tmp_path, run_cli, no_tensorflow):
    result = run_cli("predict", "--model", "ecgnet-mitbih-interpatient", "--record", RECORD, "--adapt-minutes", "10")
    one_error_line(result, "--adapt-minutes 10: the record", "lasts only 0.67 minutes")


def test_adapt_minutes_on_a_header_without_a_length(tmp_path):
    from ecgnet.data.records import record_duration

    assert record_duration(copy_record(tmp_path, header=lambda t: t.replace("360 14400", "360"))) == 40.0


# -- beat files ------------------------------------------------------------------------------------------------------


def test_flat_beats_get_no_class(tmp_path, run_cli, no_tensorflow):
    import gzip

    lines = gzip.open(sample_dir() / "mitbih_test.csv.gz", "rt").read().splitlines()[:5]
    lines.insert(2, ",".join(["0"] * 187 + ["0"]))
    path = tmp_path / "beats.csv"
    path.write_text("\n".join(lines) + "\n")
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--beats", path), "beats.csv: line 3: the beat is flat",
                   "1 of 6 beats")
    one_error_line(run_cli("evaluate", "--model", "ecgnet-mitbih", "--data", path), "beats.csv: line 3: the beat is flat")


def test_utf16_csv_is_named(tmp_path, run_cli, no_tensorflow):
    import gzip

    text = gzip.open(sample_dir() / "mitbih_test.csv.gz", "rt").read().splitlines()[:3]
    path = tmp_path / "beats.csv"
    path.write_bytes(("\n".join(text) + "\n").encode("utf-16"))
    one_error_line(run_cli("info", path), "beats.csv: is UTF-16 text, not lines of comma-separated numbers")


# -- output files and folders ------------------------------------------------------------------------------------------


def test_out_that_is_a_loop_of_links_is_refused(tmp_path, run_cli, no_tensorflow):
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    result = run_cli("predict", "--model", "ecgnet-mitbih", "--beats", sample_dir() / "mitbih_test.csv.gz", "--out", tmp_path / "a.csv")
    one_error_line(result, "--out", "a.csv: is a loop of symbolic links")


def test_adapt_out_to_a_device_is_refused_before_any_work(tmp_path, run_cli, no_tensorflow):
    out = tmp_path / "adapted.keras"
    out.symlink_to(os.devnull)
    result = run_cli("adapt", "--model", "ecgnet-mitbih-interpatient", "--record", RECORD, "--out", out)
    one_error_line(result, "--out", "adapted.keras", "character device")
    assert out.is_symlink() and os.readlink(out) == os.devnull


def test_prepare_into_a_link_to_a_folder_writes_the_folder_and_keeps_the_link(tmp_path):
    from ecgnet.data import prepare_split

    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "prepared"
    link.symlink_to(real)
    for seed in (0, 1):  # a first split, then one that replaces it
        prepare_split(FIXTURES, "kaggle", link, seed=seed, overwrite=True, progress=False, processes=1)
        assert link.is_symlink() and os.readlink(link) == str(real)
        assert sorted(p.name for p in real.iterdir()) == ["manifest.json", "test.csv", "test.npz", "train.csv", "train.npz"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["prepared", "real"]  # nothing hidden left beside them


def test_second_train_into_the_same_folder_is_refused_while_the_first_runs(tmp_path, run_cli, no_tensorflow):
    from ecgnet.files import folder_lock

    out = tmp_path / "run"
    with folder_lock(out, "`train` (--out)"):  # as a first `train` holds it
        result = run_cli("train", "--data", sample_dir(), "--split", "kaggle", "--no-rr", "--epochs", "1", "--out", out)
    one_error_line(result, "run", f"another process (process {os.getpid()}) is writing this folder")


def test_mitdb_variable_naming_another_database_is_refused(tmp_path, monkeypatch):
    from ecgnet.data import load_split

    other = tmp_path / "svdb"
    other.mkdir()
    (other / "RECORDS").write_text("800\n801\n")
    for name in ("800", "801"):
        for ext in (".hea", ".dat", ".atr"):
            (other / f"{name}{ext}").write_bytes(b"")
    monkeypatch.setenv("ECGNET_MITDB_DIR", str(other))
    with pytest.raises(DataFormatError, match=r"ECGNET_MITDB_DIR=.*svdb: its RECORDS file lists 2 records that are not MIT-BIH Arrhythmia records \(800, 801\)"):
        load_split("kaggle", data_dir=tmp_path / "data", download=False, progress=False)
    assert not (tmp_path / "data").exists()


# -- a model of another beat length -------------------------------------------------------------------------------------


def test_model_of_another_beat_length_is_one_line(tmp_path):
    from conftest import tiny_model

    from ecgnet.prediction import predict_record

    with pytest.raises(EcgnetError, match=r"208_excerpt: beats of shape \(187, 1\), but the model expects \(180, 1\)"):
        predict_record(tiny_model(steps=180), RECORD)



def test_adaptation_span_before_the_first_beat_says_where_the_first_beat_is():
    from ecgnet.adaptation import span_labels

    times = np.arange(30) * 0.8 + 0.4
    with pytest.raises(DataFormatError, match=r"no annotated beat in the first 0.005 minutes \(the first annotated beat is at 0.40 s"):
        span_labels(RECORD, times, np.zeros(30, int), 0.005)


def test_ensemble_of_one_run_named_twice_is_refused(tmp_path, run_cli, no_tensorflow):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(b"the same model")
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "model.keras").write_bytes(b"the same model")
    result = run_cli("ensemble", "--runs", run, copy, "--data", sample_dir(), "--out", tmp_path / "ensemble")
    one_error_line(result, "--runs", "copy: the same run as", "run (the same model.keras)")


def test_download_into_a_data_folder_that_is_a_file_is_refused_before_the_network(tmp_path, run_cli, no_tensorflow, monkeypatch):
    (tmp_path / "data").write_text("not a folder\n")
    monkeypatch.setenv("ECGNET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ECGNET_PHYSIONET_URL", "http://127.0.0.1:9/")  # nothing listens there: a download would fail otherwise
    one_error_line(run_cli("download", "--database", "mitdb"), "the download folder (--out, or $ECGNET_DATA_DIR)",
                   "data/mitdb", "is a file, not a folder")


def test_record_that_is_a_folder_and_raw_folder_that_is_a_file_are_named(tmp_path, run_cli, no_tensorflow):
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--record", FIXTURES), "fixtures: is a folder; name one record in it")
    result = run_cli("prepare", "--raw", RECORD.with_suffix(".hea"), "--split", "kaggle", "--out", tmp_path / "out")
    one_error_line(result, "208_excerpt.hea: is a file; --raw names the folder")


def test_labels_file_with_a_column_named_twice_is_refused(tmp_path):
    from ecgnet.adaptation import read_labels

    labels = tmp_path / "labels.csv"
    labels.write_text("time_s,label,label\n0.4,N,V\n")
    with pytest.raises(DataFormatError, match="labels.csv: line 1: the header names the column label twice"):
        read_labels(labels)


# -- a fifth round (docs/robustness.md, "A fifth round of variants") ---------------------------------------------------


@pytest.mark.parametrize("rate", ["360.0", "360/1", "360/360(0)"])
def test_a_sampling_rate_written_with_a_decimal_or_a_counter_frequency_is_read_as_360(tmp_path, rate):
    original = beats_from_record(RECORD)
    from ecgnet.data.records import record_duration

    record = copy_record(tmp_path, header=lambda t: t.replace(" 360 ", f" {rate} "))
    assert record_duration(record) == 40.0  # 14400 samples at 360 Hz
    found = beats_from_record(record)
    np.testing.assert_array_equal(found.beats.r_peak, original.beats.r_peak)
    np.testing.assert_array_equal(found.beats.x, original.beats.x)


@pytest.mark.parametrize("rate, wfdb_reads", [("3.6e2", 3.6), ("+360", None)])
def test_a_sampling_rate_wfdb_would_misread_is_refused(tmp_path, rate, wfdb_reads):
    """wfdb reads '3.6e2' as 3.6 Hz (a scipy traceback followed) and '+360' as no rate at all (250 Hz)."""
    import wfdb

    record = copy_record(tmp_path, header=lambda t: t.replace(" 360 ", f" {rate} "))
    assert wfdb.rdheader(str(record)).fs == (wfdb_reads or 250)  # what it would read: the reason for the check
    with pytest.raises(DataFormatError, match=rf"rec.hea: sampling rate '{re.escape(rate)}' on the record line: WFDB "
                                              r"reads a rate written in digits .*; write it as 360$"):
        beats_from_record(record)


def test_two_formats_in_one_signal_file_are_named(tmp_path):
    """It read as `shorter than its header says`."""
    record = copy_record(tmp_path, header=lambda t: t.replace("rec.dat 212 200.0(1024)/mV 12 0 1062",
                                                              "rec.dat 16 200.0(1024)/mV 12 0 1062"))
    with pytest.raises(DataFormatError, match=r"rec.hea: signal 2 \(V1\) of rec.dat is in format 16, but signal 1 "
                                              r"\(MLII\) of the same file in format 212; the signals of one file share one format"):
        beats_from_record(record)


def test_an_empty_atr_is_named_empty(tmp_path, run_cli, no_tensorflow):
    record = copy_record(tmp_path)
    record.with_suffix(".atr").write_bytes(b"")
    result = run_cli("predict", "--model", "ecgnet-mitbih", "--record", record)
    one_error_line(result, "rec.atr: is empty (0 bytes), not annotations; `predict --detect`")


@pytest.mark.parametrize(
    "out, fragment",
    [("-", "argument --out: expected a file name, received '-'"), ("p.csv/", "argument --out: p.csv/ ends in '/', which names a folder"),
     ("model.keras", "--out model.keras: predict writes a CSV table, but the name ends in .keras, another kind of file"),
     ("beats.NPZ", "--out beats.NPZ: predict writes a CSV table, but the name ends in .npz"), ("p.h5", "--out p.h5: predict writes a CSV")],
)
def test_predict_out_that_is_no_csv_file_is_refused_before_any_work(tmp_path, run_cli, no_tensorflow, out, fragment):
    """`--out -` wrote a file named '-', `--out p.csv/` the file p.csv, `--out model.keras` CSV text over a model."""
    model = tmp_path / "model.keras"
    model.write_bytes(b"a model the user keeps")
    result = run_cli("predict", "--model", "ecgnet-mitbih", "--record", RECORD, "--out", out)
    one_error_line(result, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras", "no_tensorflow"]
    assert model.read_bytes() == b"a model the user keeps"


@pytest.mark.parametrize("out", ["p.csv.gz", "p.txt"])
def test_predict_out_in_csv_or_text_is_written(tmp_path, run_cli, out):
    import pandas as pd

    result = run_cli("predict", "--model", "ecgnet-mitbih", "--record", RECORD, "--out", out)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / out)
    assert len(table) == 69 and list(table.columns[:2]) == ["time_s", "predicted"]


@pytest.mark.parametrize("members", [{"word/document.xml": "<w/>"}, {"x.npy": "0"}, {}], ids=["docx", "npz", "empty"])
def test_a_zip_of_another_kind_named_keras_is_named(tmp_path, members):
    """It was Keras's `There is no item named 'config.json' in the archive`."""
    import zipfile

    from ecgnet.errors import ModelFileError
    from ecgnet.pretrained_models import model_path

    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    held = ", ".join(members) or "nothing"
    with pytest.raises(ModelFileError, match=rf"model.keras: a zip archive without config.json \(it holds {re.escape(held)}\), "
                                             "so not a Keras model file"):
        model_path(path)


def test_detect_with_adapt_minutes_says_the_detected_beats_carry_no_labels(run_cli, no_tensorflow):
    """It said `no reference annotations REC.atr`, of a record whose .atr is there, and suggested predict's `--labels`."""
    result = run_cli("predict", "--model", "ecgnet-mitbih", "--record", RECORD, "--detect", "--adapt-minutes", "0.5")
    one_error_line(result, "--adapt-minutes 0.5 with --detect: the beats the detector finds carry no labels",
                   "208_excerpt.atr", "`python -m ecgnet adapt --labels FILE.csv`")



def test_detect_with_adapt_minutes_on_a_record_without_annotations_does_not_name_them(run_cli, no_tensorflow, tmp_path):
    """Without a .atr, the advice to adapt on the record's annotations would send the user to a file that is not there."""
    for ext in (".hea", ".dat"):
        shutil.copyfile(f"{RECORD}{ext}", tmp_path / f"208_excerpt{ext}")
    result = run_cli("predict", "--model", "ecgnet-mitbih", "--record", tmp_path / "208_excerpt", "--detect",
                     "--adapt-minutes", "0.5")
    one_error_line(result, "carry no labels", "the record has no annotations, 208_excerpt.atr",
                   "`python -m ecgnet adapt --labels FILE.csv`")
    assert "leave out --detect" not in result.stderr


@pytest.mark.parametrize("minutes", [float("nan"), 0, -1.0, True, "5min", float("inf")])
def test_a_span_that_is_no_positive_number_is_refused_in_the_library(minutes):
    """predict_record(..., adapt_minutes=nan) said `no annotated beat in the first nan minutes`; '5min' was a TypeError."""
    from ecgnet.data.records import check_span

    with pytest.raises(DataFormatError, match=r"^--adapt-minutes: expected a positive number of minutes\. Received: "):
        check_span(RECORD, minutes, "--adapt-minutes")
    check_span(RECORD, np.float64(0.5), "--adapt-minutes")  # numpy numbers are numbers


def test_mitdb_variable_naming_a_file_says_so(tmp_path, monkeypatch):
    from ecgnet.data import load_split

    (tmp_path / "mitdb").write_text("not a folder")
    monkeypatch.setenv("ECGNET_MITDB_DIR", str(tmp_path / "mitdb"))
    with pytest.raises(DataFormatError, match=r"ECGNET_MITDB_DIR=.*mitdb: is a file, not a folder; unset it"):
        load_split("kaggle", data_dir=tmp_path / "data", download=False, progress=False)


SLOW_WRITE = (
    "import sys, time\n"
    "import pandas as pd\n"
    "write = pd.DataFrame.to_csv\n"
    "def slow(self, *args, **kwargs):\n"
    "    write(self, *args, **kwargs); print('writing', flush=True); time.sleep(60)\n"
    "pd.DataFrame.to_csv = slow\n"
    "from ecgnet.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_ctrl_c_during_predict_out_leaves_no_file(tmp_path):
    """SIGINT while the table is being written: exit 130, neither --out nor its temporary file left."""
    import signal
    import subprocess
    import sys

    from conftest import REPO_ROOT

    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-c", SLOW_WRITE, "predict", "--model", "ecgnet-mitbih", "--record",
                                str(RECORD), "--out", str(tmp_path / "p.csv")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    while (line := process.stdout.readline()) and line.strip() != "writing":
        pass
    assert any(p.name.startswith(".p.csv.ecgnet-") for p in tmp_path.iterdir())  # the table is half-way to its file
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    assert process.stderr.read().strip().splitlines()[-1] == "interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("out", ["member", "other_run", "data"])
def test_ensemble_out_that_is_a_run_or_the_data_folder_is_refused(tmp_path, run_cli, no_tensorflow, out):
    """``ensemble --out`` onto one of its runs replaced that run's model.keras and training.json with the
    ensemble's (the member lost); onto another run it left that run's run.json and log beside the ensemble's
    model; onto the data folder it wrote among the split's files."""
    runs = []
    for name in ("member", "second", "other_run"):
        run = tmp_path / name
        run.mkdir()
        (run / "model.keras").write_bytes(f"model of {name}".encode())
        (run / "run.json").write_text("{}")
        (run / "training.json").write_text("{}")
        runs.append(run)
    data = tmp_path / "data"
    shutil.copytree(sample_dir(), data)
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    result = run_cli("ensemble", "--runs", runs[0], runs[1], "--data", data, "--out", tmp_path / out)
    expected = {"member": "is one of the --runs", "other_run": "holds a `train` run (run.json)",
                "data": "is the --data folder"}[out]
    one_error_line(result, f"--out {tmp_path / out}: {expected}")
    assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == before


@pytest.mark.parametrize("field, value, fragment", [
    ("sources", ["mitdb"], '"sources" is ["mitdb"], not a list of'),
    ("sources", None, '"sources" is null'),
    ("split", ["kaggle"], '"split" is ["kaggle"], not the name of a split'),
    ("seed", "zero", '"seed" is "zero", not a whole number'),
])
def test_prepare_over_a_folder_whose_manifest_was_edited_is_one_line(tmp_path, run_cli, no_tensorflow, field, value, fragment):
    """An edited manifest.json (``"sources": ["mitdb"]``, null) ended `prepare --out` onto the folder in a
    traceback (AttributeError, TypeError); a split that is not a string was printed as one."""
    import json

    out = tmp_path / "prepared"
    out.mkdir()
    manifest = json.loads((sample_dir() / "manifest.json").read_text())
    manifest.update(split="kaggle", files={})
    manifest[field] = value
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = run_cli("prepare", "--raw", f"mitdb={tmp_path / 'raw'}", "--split", "kaggle", "--out", out)
    one_error_line(result, f"{out / 'manifest.json'}: {fragment}")


def test_manifest_listing_a_file_outside_its_folder_is_refused(tmp_path):
    """A manifest listing ``../x`` had that file checked as one of the folder's."""
    import json

    from ecgnet.data.manifest import read_manifest

    folder = tmp_path / "prepared"
    shutil.copytree(sample_dir(), folder)
    (tmp_path / "outside.npz").write_bytes(b"x")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["../outside.npz"] = manifest["files"].pop("mitbih_test.csv.gz")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataFormatError, match=r"lists the file '\.\./outside\.npz', which is not a file of this folder"):
        read_manifest(folder)
    assert read_manifest(sample_dir())["split"] == "sample"  # the shipped manifest passes


@pytest.mark.parametrize("record", [100, None])
def test_predict_record_given_no_path_names_the_argument(record):
    """``predict_record(model, 100)`` (a record number) was pathlib's TypeError."""
    from ecgnet.prediction import predict_record

    with pytest.raises(DataFormatError, match=rf"record_path: expected the path of a WFDB record .* Received: {record} "):
        predict_record("ecgnet-mitbih", record)
    with pytest.raises(EcgnetError, match=r"model: expected a keras.Model, a .keras file .* Received: 3 \(int\)"):
        predict_record(3, RECORD)
    from ecgnet.data import load_part
    from ecgnet.pretrained_models import load_model

    with pytest.raises(DataFormatError, match=rf"record: expected the path of a WFDB record .* Received: {record} "):
        beats_from_record(record)
    with pytest.raises(DataFormatError, match=rf"data: expected the path of a data folder or file .* Received: {record} "):
        load_part(record, "test")
    with pytest.raises(EcgnetError, match=rf"model: expected a .keras file or the name of a shipped model .* Received: {record} "):
        load_model(record)


def test_model_inputs_and_adapt_given_other_than_beats_or_inputs_name_what_they_take():
    """``model_inputs(model, array)`` was an AttributeError; ``adapt`` given a Beats object, a bare beat array or
    a dict without ``rr`` for a model of two inputs a TypeError, Keras' message or a KeyError."""
    import ecgnet
    from ecgnet.data import model_inputs

    from conftest import tiny_model

    model = tiny_model(rr_features=6)
    beats = beats_from_record(RECORD).beats
    with pytest.raises(DataFormatError, match=r"model_inputs: beats must be ecgnet.data.Beats .*not ndarray of shape \(69, 187\)"):
        model_inputs(model, beats.x)
    inputs = model_inputs(model, beats)
    labels = np.zeros(len(beats), int)
    for wrong, fragment in [(beats, "beats: a Beats object, not the model's inputs"),
                            (inputs["beat"], r"beats: the model takes the inputs \['beat', 'rr'\], but received ndarray"),
                            ({"beat": inputs["beat"]}, "the dict has no 'rr'")]:
        with pytest.raises(EcgnetError, match=fragment):
            ecgnet.adapt(model, wrong, labels)


def test_a_write_failing_in_a_temporary_folder_names_the_file_it_was_to_become(tmp_path):
    """A full disk while `evaluate` saved its plot was printed as ``OUT/../.OUT.ecgnet-PID-*.tmp/confusion_matrix.png:
    No space left on device``, a folder already removed; it names ``OUT/confusion_matrix.png`` now."""
    import errno

    from ecgnet.files import temporary_folder

    out = tmp_path / "report"
    with pytest.raises(OSError) as raised:
        with temporary_folder(out) as tmp:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp / "confusion_matrix.png"))
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(out / "confusion_matrix.png")
    assert list(tmp_path.iterdir()) == []  # the temporary folder removed, nothing written


def test_training_on_a_test_part_or_evaluating_on_a_train_part_is_refused(tmp_path, run_cli, no_tensorflow):
    """``train --data D/test.npz`` trained on the test part of a split (its card claiming the split), and
    ``evaluate --data D/train.npz`` measured a model on the beats it was trained on, both without a word."""
    data = tmp_path / "data"
    shutil.copytree(sample_dir(), data)
    for name in ("mitbih_test.npz", "mitbih_test.csv.gz"):
        result = run_cli("train", "--data", data / name, "--split", "kaggle", "--epochs", "1", "--out", tmp_path / "run")
        one_error_line(result, f"{data / name}: is the test part of a split", "pass the folder, or its train file")
    assert not (tmp_path / "run").exists()
    result = run_cli("evaluate", "--model", "ecgnet-mitbih", "--data", data / "mitbih_train.npz", "--out", tmp_path / "report")
    one_error_line(result, f"--data {data / 'mitbih_train.npz'}: is the train part of a split")
    assert not (tmp_path / "report").exists()


def test_an_ensemble_named_as_a_run_of_an_ensemble_is_refused(tmp_path, run_cli, no_tensorflow):
    """``ensemble --runs ENS RUN1`` where ENS averages RUN1 and RUN4 wrote an "ensemble of 2" weighting RUN1 3/4."""
    import json

    card = {"preset": "small", "split": "kaggle", "seed": 1, "train_beats": 3000}
    for name, extra in (("run1", {}), ("ens", {"seed": [1, 4], "members": ["run1", "run4"]})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "training.json").write_text(json.dumps(dict(card, **extra)))
        (tmp_path / name / "model.keras").write_bytes(f"model of {name}".encode())
    result = run_cli("ensemble", "--runs", tmp_path / "ens", tmp_path / "run1", "--data", sample_dir(), "--out", tmp_path / "out")
    one_error_line(result, f"--runs {tmp_path / 'ens'}: is an ensemble (of run1, run4), not a `train` run")
    assert not (tmp_path / "out").exists()


def test_adapting_a_model_without_r_r_features_says_which_models_adapt():
    """``adapt --model RUN/model.keras`` of a run trained without R-R features said only that the model has no
    'logits' layer read from a 'concat' layer, the names of two layers, not which models can be adapted."""
    import ecgnet
    from ecgnet.data import model_inputs

    from conftest import tiny_model

    model = tiny_model()
    beats = beats_from_record(RECORD).beats
    with pytest.raises(EcgnetError, match=r"has no 'logits' layer .* a model ecgnet built with R-R features \(`train --rr`\)"):
        ecgnet.adapt(model, model_inputs(model, beats), np.zeros(len(beats), int))


def test_out_the_prepared_folder_of_a_data_file_is_refused(tmp_path, run_cli, no_tensorflow):
    """``evaluate --data D/mitbih_test.npz --out D`` wrote the report among the split's files (and ``train
    --data D/mitbih_train.npz --out D`` the run): the check compared --out with --data only when --data was a folder."""
    data = tmp_path / "data"
    shutil.copytree(sample_dir(), data)
    before = sorted(path.name for path in data.iterdir())
    for command in (["evaluate", "--model", "ecgnet-mitbih", "--data", data / "mitbih_test.npz"],
                    ["train", "--data", data / "mitbih_train.npz", "--split", "kaggle", "--epochs", "1"]):
        result = run_cli(*command, "--out", data)
        one_error_line(result, f"--out {data}: is the prepared folder of --data {data}/mitbih_")
    assert sorted(path.name for path in data.iterdir()) == before


def test_a_file_name_holding_a_line_break_keeps_the_error_on_one_line(run_cli, no_tensorflow, tmp_path):
    """The name was printed as is, so the one `error:` line broke in two."""
    missing = tmp_path / "rec\nord"
    result = run_cli("predict", "--model", "ecgnet-mitbih", "--record", missing)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "rec\\nord" in lines[0], result.stderr
