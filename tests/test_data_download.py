"""PhysioNet downloads, for real over HTTP, from a local server on 127.0.0.1 (no internet); the download command."""

import hashlib
import http.server
import shutil
import threading
from functools import partial

import pytest

from ecgnet.data import DownloadError, beats_from_record, download_physionet

RECORDS = ("208_excerpt", "114_excerpt")


@pytest.fixture
def mirror(fixtures_dir, tmp_path, monkeypatch):
    """A local PhysioNet-like mitdb folder served over HTTP; ``corrupt`` maps name -> bad serves left."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # talk to 127.0.0.1 directly
    root = tmp_path / "mirror"
    root.mkdir()
    lines = []
    for record in RECORDS:
        for ext in (".hea", ".dat", ".atr"):
            shutil.copyfile(fixtures_dir / f"{record}{ext}", root / f"{record}{ext}")
            digest = hashlib.sha256((root / f"{record}{ext}").read_bytes()).hexdigest()
            lines.append(f"{digest} {record}{ext}")
    (root / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")
    (root / "RECORDS").write_text("\n".join(RECORDS) + "\n")
    state = {"corrupt": {}, "served": [], "paths": []}

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            name = self.path.rsplit("/", 1)[-1]
            state["served"].append(name)
            state["paths"].append(self.path)
            if state["corrupt"].get(name, 0) > 0:
                state["corrupt"][name] -= 1
                body = (root / name).read_bytes()[:-100]  # a truncated (partial) file
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", state, root
    server.shutdown()
    server.server_close()


def test_download_all_records(mirror, tmp_path):
    url, state, root = mirror
    files = download_physionet(tmp_path / "out", base_url=url, progress=False)
    assert sorted(f.name for f in files) == sorted(f"{r}{e}" for r in RECORDS for e in (".hea", ".dat", ".atr"))
    for f in files:
        assert f.read_bytes() == (root / f.name).read_bytes()
    assert (tmp_path / "out" / "RECORDS").read_text().split() == list(RECORDS)
    assert beats_from_record(tmp_path / "out" / "208_excerpt").source == "annotations"
    # a second run keeps the verified files and fetches only the checksums and the list of records
    state["served"].clear()
    download_physionet(tmp_path / "out", base_url=url, records=["114_excerpt"], progress=False)
    assert state["served"] == ["SHA256SUMS.txt", "RECORDS"]
    assert (tmp_path / "out" / "RECORDS").read_text().split() == list(RECORDS)  # still the whole database's


def test_corrupt_once_is_fetched_again(mirror, tmp_path):
    url, state, root = mirror
    state["corrupt"]["208_excerpt.dat"] = 1
    download_physionet(tmp_path / "out", base_url=url, records=["208_excerpt"], progress=False)
    assert state["served"].count("208_excerpt.dat") == 2
    assert (tmp_path / "out" / "208_excerpt.dat").read_bytes() == (root / "208_excerpt.dat").read_bytes()


def test_corrupt_twice_is_an_error_and_not_saved(mirror, tmp_path):
    url, state, _ = mirror
    state["corrupt"]["114_excerpt.atr"] = 2
    with pytest.raises(DownloadError, match=r"114_excerpt.atr: SHA-256 [0-9a-f]{64} does not match .* after 2 tries"):
        download_physionet(tmp_path / "out", base_url=url, records=["114_excerpt"], progress=False)
    assert not (tmp_path / "out" / "114_excerpt.atr").exists()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp.atr")]


def test_missing_file_and_unknown_record(mirror, tmp_path):
    url, _, root = mirror
    for asked in (["999"], ["114_excerpt", "../999"]):
        with pytest.raises(DownloadError, match=rf"RECORDS does not list 1 of the records asked for \({asked[-1]}\); it lists 2: "):
            download_physionet(tmp_path / "out", base_url=url, records=asked, progress=False)
        assert not (tmp_path / "out").exists()  # nothing written
    (root / "RECORDS").write_text("\n".join(RECORDS + ("999",)) + "\n")  # listed, but without a checksum
    with pytest.raises(DownloadError, match=r"SHA256SUMS.txt has no checksum for 999.hea"):
        download_physionet(tmp_path / "out", base_url=url, records=["999"], progress=False)
    (root / "114_excerpt.hea").unlink()
    with pytest.raises(DownloadError, match=r"could not download http://127.0.0.1:\d+/114_excerpt.hea: HTTP Error 404"):
        download_physionet(tmp_path / "out", base_url=url, records=["114_excerpt"], progress=False)


def test_download_kaggle_copies_csvs(tmp_path, monkeypatch):
    """kagglehub replaced by a stand-in returning a folder (no network); checks the copying only."""
    import sys
    import types

    from ecgnet.data import download_kaggle

    cache = tmp_path / "kagglehub" / "versions" / "1"
    cache.mkdir(parents=True)
    for name in ("mitbih_train.csv", "ptbdb_normal.csv"):
        (cache / name).write_text(f"{name}\n")
    asked = []
    fake = types.SimpleNamespace(dataset_download=lambda handle: asked.append(handle) or str(cache))
    monkeypatch.setitem(sys.modules, "kagglehub", fake)
    files = download_kaggle(tmp_path / "out")
    assert asked == ["shayanfazeli/heartbeat"]
    assert [f.name for f in files] == ["mitbih_train.csv", "ptbdb_normal.csv"]
    assert (tmp_path / "out" / "ptbdb_normal.csv").read_text() == "ptbdb_normal.csv\n"
    fake.dataset_download = lambda handle: (_ for _ in ()).throw(RuntimeError("401 Unauthorized"))
    with pytest.raises(DownloadError, match=r"kagglehub could not download shayanfazeli/heartbeat: 401 Unauthorized"):
        download_kaggle(tmp_path / "out2")


def test_download_command_by_database(mirror, run_cli, tmp_path, monkeypatch):
    """`download --database svdb` fetches DB/1.0.0/ under $ECGNET_PHYSIONET_URL, checksummed."""
    url, state, root = mirror
    svdb = root / "svdb" / "1.0.0"
    svdb.mkdir(parents=True)
    for name in ("208_excerpt.hea", "208_excerpt.dat", "208_excerpt.atr"):
        (svdb / name).write_bytes((root / name).read_bytes())
    (svdb / "RECORDS").write_text("208_excerpt\n")
    (svdb / "SHA256SUMS.txt").write_text((root / "SHA256SUMS.txt").read_text())
    monkeypatch.setenv("ECGNET_PHYSIONET_URL", url)
    result = run_cli("download", "--database", "svdb", "--out", tmp_path / "svdb")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"3 files in {tmp_path / 'svdb'}"
    assert "/svdb/1.0.0/208_excerpt.dat" in " ".join(state["paths"])
    assert (tmp_path / "svdb" / "208_excerpt.dat").read_bytes() == (root / "208_excerpt.dat").read_bytes()


def test_download_command_errors_are_one_line(mirror, run_cli, tmp_path):
    url, state, _ = mirror
    for bad in ("notaurl", "ftp://example.org/mitdb/", "http://"):
        result = run_cli("download", "--base-url", bad, "--out", tmp_path / "o")
        assert result.returncode == 2
        assert result.stderr.strip() == f"error: not a download URL: {bad!r} (expected http://, https:// or file:// and a host)"
    assert not (tmp_path / "o").exists()
    # nothing listens on port 9 of 127.0.0.1 (discard): a network failure
    result = run_cli("download", "--base-url", "http://127.0.0.1:9/mitdb/", "--out", tmp_path / "o")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: could not download http://127.0.0.1:9/mitdb/SHA256SUMS.txt: ")
    # a file:// mirror works too
    result = run_cli("download", "--base-url", (tmp_path / "mirror").as_uri(), "--out", tmp_path / "f")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "f").glob("*.atr")) == ["114_excerpt.atr", "208_excerpt.atr"]


def _svdb_mirror(fixtures_dir, root, names):
    """An svdb folder at ``root/svdb/1.0.0`` of records ``names``, each a copy of a committed excerpt."""
    folder = root / "svdb" / "1.0.0"
    folder.mkdir(parents=True)
    sources = ("208", "114", "232", "217", "233")
    lines = []
    for i, name in enumerate(names):
        source = f"{sources[i % len(sources)]}_excerpt"
        (folder / f"{name}.hea").write_text((fixtures_dir / f"{source}.hea").read_text().replace(source, name))
        for ext in (".dat", ".atr"):
            shutil.copyfile(fixtures_dir / f"{source}{ext}", folder / f"{name}{ext}")
        lines += [f"{hashlib.sha256((folder / f'{name}{ext}').read_bytes()).hexdigest()}  {name}{ext}" for ext in (".hea", ".dat", ".atr")]
    (folder / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")
    (folder / "RECORDS").write_text("\n".join(names) + "\n")
    return folder


def test_download_svdb_records_of_training(mirror, run_cli, fixtures_dir, tmp_path, monkeypatch):
    """`download --database svdb --records training` fetches the 39 records of training, none of those held back."""
    from ecgnet.data import SVDB_TRAINING, list_records

    url, state, root = mirror
    held_back = ("800", "801")
    _svdb_mirror(fixtures_dir, root, sorted(SVDB_TRAINING + held_back))
    monkeypatch.setenv("ECGNET_PHYSIONET_URL", url)
    out = tmp_path / "svdb"
    result = run_cli("download", "--database", "svdb", "--records", "training", "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{3 * 39} files in {out}"
    fetched = sorted({p.rsplit("/", 1)[1].split(".")[0] for p in state["paths"] if p.endswith((".hea", ".dat", ".atr"))})
    assert fetched == sorted(SVDB_TRAINING)
    assert sorted(p.stem for p in out.glob("*.atr")) == sorted(SVDB_TRAINING)
    # no RECORDS of the whole database: the folder is read as the records it holds
    assert not (out / "RECORDS").exists() and list_records(out) == sorted(SVDB_TRAINING)
    # a record by name joins those; a folder with a RECORDS file gets the record added to it, in the database's order
    (out / "RECORDS").write_text("\n".join(SVDB_TRAINING) + "\n")
    result = run_cli("download", "--database", "svdb", "--records", "800", "--out", out)
    assert result.returncode == 0, result.stderr
    assert (out / "RECORDS").read_text().split() == ["800"] + list(SVDB_TRAINING)
    wrong = "error: --records training names the svdb records of training, alone and with --database svdb. Received: "
    for bad, message in (
        (["--database", "mitdb", "--records", "training"], wrong + "--database mitdb --records training"),
        (["--database", "svdb", "--records", "training", "800"], wrong + "--database svdb --records training 800"),
        (["--source", "kaggle", "--records", "100"], "error: --records applies to --source physionet only"),
        (["--database", "svdb", "--records", "799"],
         f"error: {url}svdb/1.0.0/RECORDS does not list 1 of the records asked for (799); it lists 41: 800 801 803 ... 888"),
    ):
        result = run_cli("download", *bad, "--out", tmp_path / "bad")
        assert result.returncode == 2 and result.stderr.strip() == message, result.stderr
        assert not (tmp_path / "bad").exists()
