"""Cut the small real sample that ships in ecgnet/data/sample/ from the raw MIT-BIH records.

    python data/make_sample.py --raw data/mitdb [--out ecgnet/data/sample]
    python data/make_sample.py --manifest-only     # rewrite ecgnet/data/sample/manifest.json only

The sample is package data (``pyproject.toml``), so an installed ecgnet has it
too; :func:`ecgnet.data.datasets.sample_dir` finds it.

It rebuilds all beats (:func:`ecgnet.data.build_mitbih_beats`, the Kaggle
format of Kachuee et al. 2018), splits them with the ``"kaggle"`` split
(seed 0) and draws, with a fixed seed, 3,000 beats from the training side and
750 from the test side. The draw is **enriched for the minority classes** (not
proportional): the per-class numbers are in ``TRAIN_PER_CLASS`` and
``TEST_PER_CLASS`` below, so that a demo model sees every class. Scores on the
sample therefore do not reflect the real class balance.

Written files (about 2.5 MB together):

- ``mitbih_train.csv.gz``, ``mitbih_test.csv.gz``: the Kaggle CSV layout, but
  with 4 significant digits (``%.4g``) instead of ``%.18e`` to stay small;
  :func:`ecgnet.data.load_mitbih_csv` reads both.
- ``mitbih_train.npz``, ``mitbih_test.npz``: the same beats (the same rounded
  values) as :class:`ecgnet.data.Beats`, with record names, R-peak samples,
  R-R intervals and the centred windows (rounded to 0.001; ``load_beats_npz``).
- ``manifest.json``: split ``"sample"``, records, class counts and the SHA-256
  of the four files (:mod:`ecgnet.data.manifest`), checked by
  ``ecgnet.data.load_split("sample")`` and ``load_part``.
"""

import argparse
from pathlib import Path

import numpy as np

from ecgnet.data import CLASS_NAMES, build_mitbih_beats, load_beats_npz, load_mitbih_csv, split_beats, write_beats_csv
from ecgnet.data.datasets import sample_dir
from ecgnet.data.manifest import class_counts, write_manifest

TRAIN_PER_CLASS = {"N": 2100, "S": 250, "V": 300, "F": 100, "Q": 250}  # 3,000 beats
TEST_PER_CLASS = {"N": 525, "S": 63, "V": 75, "F": 25, "Q": 62}  # 750 beats
SEED = 0
FMT = "%.4g"


def draw(beats, per_class, rng):
    index = []
    for label, name in enumerate(CLASS_NAMES):
        members = np.flatnonzero(beats.y == label)
        index.append(rng.choice(members, size=min(per_class[name], len(members)), replace=False))
    return beats.subset(np.sort(np.concatenate(index)))


FILES = ("mitbih_train.csv.gz", "mitbih_train.npz", "mitbih_test.csv.gz", "mitbih_test.npz")


def write_sample_manifest(out):
    """Write ``out/manifest.json`` for the four sample files as they are."""
    parts = {name: load_beats_npz(Path(out) / f"mitbih_{name}.npz") for name in ("train", "test")}
    records = sorted(set(parts["train"].record) | set(parts["test"].record), key=lambda r: int(r) if r.isdigit() else r)
    return write_manifest(
        out, "sample", FILES, {name: class_counts(part.y) for name, part in parts.items()},
        [{"database": "mitdb", "records": records}], seed=SEED,
        drawn_from="the kaggle split (seed 0) of all 48 mitdb records; per-class draws of data/make_sample.py",
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw", help="folder of the 48 raw MIT-BIH records (e.g. data/mitdb)")
    parser.add_argument("--out", default=str(sample_dir()), help="default: the package's sample folder, ecgnet/data/sample")
    parser.add_argument("--manifest-only", action="store_true", help="only rewrite manifest.json of --out")
    args = parser.parse_args(argv)
    if args.manifest_only:
        write_sample_manifest(args.out)
        return
    if not args.raw:
        parser.error("--raw is required (the folder of the raw MIT-BIH records)")
    rng = np.random.default_rng(SEED)
    train, test = split_beats(build_mitbih_beats(args.raw), "kaggle", seed=SEED)
    out = Path(args.out)
    for name, part, per_class in (("train", train, TRAIN_PER_CLASS), ("test", test, TEST_PER_CLASS)):
        sample = draw(part, per_class, rng)
        csv = write_beats_csv(out / f"mitbih_{name}.csv.gz", sample.x, sample.y, fmt=FMT)
        sample.x = load_mitbih_csv(csv, cache=False)[0][:, :, 0]  # the npz holds the same rounded values
        sample.centred = np.round(sample.centred, 3)  # the centred windows, to 0.001 of the record's median R: smaller
        sample.save_npz(out / f"mitbih_{name}.npz", compressed=True)
        counts = np.bincount(sample.y, minlength=5)
        print(f"{name}: {len(sample)} beats from {len(set(sample.record))} records,",
              ", ".join(f"{c} {n}" for n, c in zip(CLASS_NAMES, counts)))
    write_sample_manifest(out)


if __name__ == "__main__":
    main()
