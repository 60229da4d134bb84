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
    # a second run keeps the verified files and fetches only the checksums
    state["served"].clear()
    download_physionet(tmp_path / "out", base_url=url, records=["114_excerpt"], progress=False)
    assert state["served"] == ["SHA256SUMS.txt"]


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
