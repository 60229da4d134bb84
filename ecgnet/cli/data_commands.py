"""Commands on data: ``download``, ``prepare``, ``info``.

Example:
    python -m ecgnet download --source physionet --out data/mitdb
    python -m ecgnet prepare --raw data/mitdb --split inter-patient --out data/mitbih-interpatient
    python -m ecgnet info data/mitbih-interpatient/test.csv
"""

from pathlib import Path

from ecgnet.errors import EcgnetError


def add_parsers(subparsers):
    p = subparsers.add_parser("download", help="download the Kaggle CSVs or the raw MIT-BIH records")
    p.add_argument("--source", choices=("kaggle", "physionet"), required=True)
    p.add_argument("--out", required=True, help="folder to download into")
    p.add_argument("--base-url", default=None, help="PhysioNet mitdb URL (default: physionet.org, 1.0.0)")
    p.set_defaults(handler=run_download)

    p = subparsers.add_parser("prepare", help="cut beats from raw records and split them into train/test")
    p.add_argument("--raw", required=True, help="folder of MIT-BIH records (NNN.hea/.dat/.atr)")
    p.add_argument("--split", choices=("kaggle", "inter-patient"), required=True)
    p.add_argument("--out", required=True, help="folder for train/test .csv and .npz")
    p.add_argument("--seed", type=int, default=0, help="seed of the kaggle split (default 0)")
    p.add_argument(
        "--second-lead",
        action="store_true",
        help="also cut each record's other lead (V1 in most records) at the same R peaks, into the .npz files "
        "(for models trained with `train --second-lead`)",
    )
    p.set_defaults(handler=run_prepare)

    p = subparsers.add_parser("info", help="class counts of a beat file (.csv, .csv.gz or .npz)")
    p.add_argument("file")
    p.set_defaults(handler=run_info)


def run_download(args):
    from ecgnet.data.download import PHYSIONET_MITDB_URL, download_kaggle, download_physionet

    if args.source == "kaggle":
        if args.base_url:
            raise EcgnetError("--base-url applies to --source physionet only")
        files = download_kaggle(args.out)
    else:
        files = download_physionet(args.out, base_url=args.base_url or PHYSIONET_MITDB_URL)
    print(f"{len(files)} files in {args.out}")
    return 0


def run_prepare(args):
    from tqdm.auto import tqdm

    from ecgnet.data.beats import build_mitbih_beats
    from ecgnet.data.csv_files import write_beats_csv
    from ecgnet.data.splits import split_beats

    beats = build_mitbih_beats(args.raw, progress=True, second_lead=args.second_lead)
    train, test = split_beats(beats, args.split, seed=args.seed)
    if len(train) == 0 or len(test) == 0:
        raise EcgnetError(
            f"{args.raw}: the {args.split} split leaves {len(train)} train and {len(test)} test beats "
            "(inter-patient needs the MIT-BIH records of DS1 and DS2)"
        )
    out = Path(args.out)
    with tqdm(total=4, desc="writing", unit="file") as bar:
        for name, part in (("train", train), ("test", test)):
            part.save_npz(out / f"{name}.npz")
            bar.update()
            write_beats_csv(out / f"{name}.csv", part.x, part.y)
            bar.update()
    print(f"{args.split} split: {len(train)} train and {len(test)} test beats in {out}")
    print(_counts_table(train.y, "train"))
    print(_counts_table(test.y, "test"))
    return 0


def _counts_table(y, title):
    import numpy as np

    from ecgnet.data.classes import CLASS_NAMES

    counts = np.bincount(np.asarray(y)[np.asarray(y) >= 0].astype(np.int64), minlength=len(CLASS_NAMES))
    total = max(int(len(y)), 1)
    lines = [f"{title}: {len(y)} beats"]
    for index, count in enumerate(counts):
        name = CLASS_NAMES[index] if index < len(CLASS_NAMES) else str(index)
        lines.append(f"  {index} {name}: {count:7d}  {100.0 * count / total:6.2f}%")
    unknown = int(np.sum(np.asarray(y) < 0))
    if unknown:
        lines.append(f"  unlabeled: {unknown:7d}  {100.0 * unknown / total:6.2f}%")
    return "\n".join(lines)


def run_info(args):
    from ecgnet.data.beats import load_beats_npz
    from ecgnet.data.csv_files import load_mitbih_csv

    path = Path(args.file)
    if path.suffix == ".npz":
        y = load_beats_npz(path).y
    else:
        _, y = load_mitbih_csv(path)
    print(_counts_table(y, str(path)))
    return 0
