"""Cut the small real sample in data/sample/ from the raw MIT-BIH records.

    python data/make_sample.py [--raw ../shared/data/mitdb] [--out data/sample]

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
  values) as :class:`ecgnet.data.Beats`, with record names, R-peak samples and
  R-R intervals (``load_beats_npz``).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ecgnet.data import CLASS_NAMES, build_mitbih_beats, load_mitbih_csv, split_beats, write_beats_csv  # noqa: E402

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw", default=str(REPO.parent / "shared" / "data" / "mitdb"))
    parser.add_argument("--out", default=str(REPO / "data" / "sample"))
    args = parser.parse_args(argv)
    rng = np.random.default_rng(SEED)
    train, test = split_beats(build_mitbih_beats(args.raw), "kaggle", seed=SEED)
    out = Path(args.out)
    for name, part, per_class in (("train", train, TRAIN_PER_CLASS), ("test", test, TEST_PER_CLASS)):
        sample = draw(part, per_class, rng)
        csv = write_beats_csv(out / f"mitbih_{name}.csv.gz", sample.x, sample.y, fmt=FMT)
        sample.x = load_mitbih_csv(csv, cache=False)[0][:, :, 0]  # the npz holds the same rounded values
        sample.save_npz(out / f"mitbih_{name}.npz", compressed=True)
        counts = np.bincount(sample.y, minlength=5)
        print(f"{name}: {len(sample)} beats from {len(set(sample.record))} records,",
              ", ".join(f"{c} {n}" for n, c in zip(CLASS_NAMES, counts)))


if __name__ == "__main__":
    main()
