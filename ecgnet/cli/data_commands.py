"""Commands on data: ``download``, ``prepare``, ``info``.

Example:
    python -m ecgnet download --database mitdb --out data/mitdb
    python -m ecgnet download --database svdb --records training --out data/svdb
    python -m ecgnet prepare --raw data/mitdb --split inter-patient --out data/mitbih-interpatient
    python -m ecgnet prepare --raw data/mitdb --raw data/svdb --split inter-patient --out data/mitdb-svdb-interpatient
    python -m ecgnet info data/mitbih-interpatient/test.csv
"""

from pathlib import Path

from ecgnet.cli.model_commands import path_argument, seed_int
from ecgnet.data.download import PHYSIONET_DATABASES
from ecgnet.data.manifest import counts_table
from ecgnet.data.splits import SPLITS
from ecgnet.errors import EcgnetError
from ecgnet.files import check_out_folder


def add_parsers(subparsers):
    p = subparsers.add_parser("download", help="download raw records from PhysioNet (mitdb, svdb, incartdb) or the Kaggle CSVs")
    p.add_argument("--source", choices=("physionet", "kaggle"), default="physionet", help="physionet: the WFDB records; kaggle: the Kaggle CSVs of Kachuee et al. (default: physionet)")
    p.add_argument(
        "--database", choices=tuple(PHYSIONET_DATABASES), default="mitdb",
        help="PhysioNet database (default mitdb): mitdb MIT-BIH Arrhythmia, svdb MIT-BIH Supraventricular "
        "Arrhythmia, incartdb St Petersburg INCART 12-lead",
    )
    p.add_argument("--out", type=path_argument, default=None, metavar="DIR", help="folder to download into (default: DATA_DIR/DATABASE, e.g. data/mitdb)")
    p.add_argument(
        "--records", nargs="+", default=None, metavar="NAME",
        help="download only these records (default: all); 'training' with --database svdb: the 39 svdb records "
        "ecgnet-mitbih-svdb was trained on (ecgnet.data.SVDB_TRAINING), leaving out the 39 held back",
    )
    p.add_argument(
        "--base-url", default=None,
        help="the database folder URL of a mirror (http://, https:// or file://; default: "
        "$ECGNET_PHYSIONET_URL or https://physionet.org/files/, then DATABASE/1.0.0/)",
    )
    p.set_defaults(handler=run_download)

    p = subparsers.add_parser("prepare", help="cut beats from raw records and split them into train/test")
    p.add_argument(
        "--raw", required=True, action="append", metavar="DIR",
        help="folder of WFDB records with beat annotations (.hea/.dat/.atr); repeat for several databases "
        "(named after the folder: mitdb, svdb, incartdb, or NAME=DIR)",
    )
    p.add_argument(
        "--split", choices=SPLITS, required=True,
        help="kaggle: a stratified random 80/20 of all beats (the same patients on both sides); inter-patient: "
        "DS1 -> DS2 (de Chazal et al. 2004: no patient on both sides)",
    )
    p.add_argument("--out", type=path_argument, required=True, metavar="DIR", help="folder for train/test .csv and .npz and manifest.json")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the kaggle split (default 0)")
    p.add_argument(
        "--second-lead",
        action="store_true",
        help="also cut each record's other lead (V1 in most records) at the same R peaks, into the .npz files "
        "(for models trained with `train --second-lead`)",
    )
    p.add_argument(
        "--all-svdb-records", action="store_true",
        help="also prepare the svdb records held back from training (by default only the 39 that "
        "ecgnet-mitbih-svdb was trained on, ecgnet.data.SVDB_TRAINING, are prepared)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an --out folder that holds another split")
    p.set_defaults(handler=run_prepare)

    p = subparsers.add_parser("info", help="class counts of a beat file (.csv, .csv.gz or .npz)")
    p.add_argument("file", type=path_argument, help="a beat file: .csv, .csv.gz (Kaggle layout) or .npz (from prepare)")
    p.set_defaults(handler=run_info)


def run_download(args):
    from ecgnet.data.datasets import default_data_dir
    from ecgnet.data.download import download_kaggle, download_physionet

    if args.source == "kaggle":
        for flag, given in (("--base-url", args.base_url), ("--records", args.records)):
            if given:
                raise EcgnetError(f"{flag} applies to --source physionet only")
        out = args.out or default_data_dir() / "kaggle"
    else:
        out = args.out or default_data_dir() / args.database
    records = download_records(args.records, args.database)
    check_out_folder(out, "--out" if args.out else "the download folder (--out, or $ECGNET_DATA_DIR)")  # before the network
    if args.source == "kaggle":
        files = download_kaggle(out)
    else:
        files = download_physionet(out, base_url=args.base_url, records=records, database=args.database)
    print(f"{len(files)} files in {out}")
    return 0


def download_records(names, database):
    """The record names ``download --records`` asks for: None (all), the names given, or for ``training`` with
    svdb the 39 training records (:data:`ecgnet.data.SVDB_TRAINING`)."""
    from ecgnet.data.splits import SVDB_TRAINING

    if names is None or "training" not in names:
        return names
    if database != "svdb" or names != ["training"]:
        raise EcgnetError(
            f"--records training names the svdb records of training, alone and with --database svdb. "
            f"Received: --database {database} --records {' '.join(names)}"
        )
    return list(SVDB_TRAINING)


def run_prepare(args):
    from ecgnet.data.datasets import prepare_split

    manifest = prepare_split(args.raw, args.split, args.out, seed=args.seed, second_lead=args.second_lead,
                             overwrite=args.overwrite, progress=True, all_svdb_records=args.all_svdb_records)
    counts = manifest["counts"]
    sizes = {part: sum(counts[part].values()) for part in ("train", "test")}
    databases = ", ".join(f"{s['database']} ({len(s['records'])} records)" for s in manifest["sources"])
    print(f"{args.split} split of {databases}: {sizes['train']} train and {sizes['test']} test beats in {args.out}")
    for part in ("train", "test"):
        print(counts_table(counts[part], part))
    return 0


def run_info(args):
    from ecgnet.data.container import load_beats_npz
    from ecgnet.data.csv_files import load_mitbih_csv
    from ecgnet.data.manifest import class_counts

    path = Path(args.file)
    if path.suffix.lower() == ".npz":
        y = load_beats_npz(path).y
    else:
        _, y = load_mitbih_csv(path)
    print(counts_table(class_counts(y), str(path)))
    return 0
