"""Does the second MIT-BIH lead help the inter-patient model? Record-wise CV on DS1 only.

The shipped inter-patient model reads one lead (MLII). Most MIT-BIH records
also carry V1 (a few V2, V4 or V5), where atrial activity, the P wave that
tells a supraventricular beat from a normal one, is often clearest. This
prototype cuts the second lead at the same R peaks with the same code
(``beats_from_record(channel=...)``), gives it the same three channels as the
first (the beat, minus its record's median beat, the previous beat), and
trains the shipped recipe (small preset, 3 record-relative R-R features, class
weights, augmentation, 15 epochs) on the N folds of a record-wise K-fold of
DS1 (``train --validation-fold K/N`` does the same for one lead). Each fold is
written as a run folder with the ``training.json`` that ``python -m ecgnet
train`` writes, so ``compare_runs.py --pool`` compares it with one-lead runs.
DS2 is never read.

Decision rule, committed before the folds ran: the second lead goes into the
library and the shipped model only if its pooled 5-fold validation macro-F1
beats the one-lead recipe's by at least 1 point (about the seed noise of one
fold) and it wins on at least 3 of the 5 folds. The refits of the shipped
model then train for the median of the five folds' best epochs.

Needs ``../shared/data/mitdb`` (the raw records) and
``data/mitbih-interpatient/train.npz`` (``python -m ecgnet prepare``).

Usage:
    python benchmarks/bench_second_lead.py --folds 5 --epochs 15 --out runs/cv-lead2
    python benchmarks/compare_runs.py --pool runs/cv-prev-f{1,2,3,4,5} --pool runs/cv-lead2-f{1,2,3,4,5}
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from ecgnet.cli.model_commands import VALIDATION_KEYS, _jsonable  # noqa: E402
from ecgnet.data import beat_channels, beats_from_record, load_part, select_rr_features  # noqa: E402
from ecgnet.files import write_text_atomic  # noqa: E402
from ecgnet.models import build_ecgnet  # noqa: E402
from ecgnet.training import train  # noqa: E402


def second_lead(part, raw_dir):
    """The part's beats cut from each record's other lead, in the part's beat order."""
    import wfdb

    x = np.zeros_like(part["x"])
    found = np.zeros(len(x), bool)
    for record in np.unique(part["record"]):
        names = wfdb.rdheader(str(raw_dir / record)).sig_name
        first = names.index("MLII") if "MLII" in names else 0
        beats = beats_from_record(raw_dir / record, channel=1 - first, aami_only=True).beats
        position = {peak: i for i, peak in enumerate(beats.r_peak)}
        for i in np.flatnonzero(part["record"] == record):
            j = position.get(part["r_peak"][i])
            if j is not None:
                x[i, :, 0], found[i] = beats.x[j], True
        print(f"record {record}: second lead {names[1 - first]}", flush=True)
    if not found.all():
        raise SystemExit(f"{(~found).sum()} beats have no second-lead beat at their R peak")
    return x


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "data" / "mitbih-interpatient")
    parser.add_argument("--raw", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "mitdb")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only-folds", type=int, nargs="*", default=None, help="run only these folds (1-based)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "cv-lead2")
    args = parser.parse_args()
    if not args.raw.is_dir():
        raise SystemExit(f"{args.raw}: no raw MIT-BIH records here (pass --raw)")

    part = load_part(args.data, "train")
    cache = Path(f"{args.out}-lead2.npy")  # the second-lead beats, cut once for all folds
    if cache.exists():
        x2 = np.load(cache)
    else:
        x2 = second_lead(part, args.raw)
        np.save(cache, x2)
    lead2 = dict(part, x=x2)
    x = np.concatenate([beat_channels(part, 3), beat_channels(lead2, 3)], axis=-1)
    rr = select_rr_features(part["rr"], 3)
    print(f"inputs: beats {x.shape}, R-R {rr.shape}")
    for fold in args.only_folds or range(1, args.folds + 1):
        out = Path(f"{args.out}-f{fold}")
        result = train(
            lambda: build_ecgnet("small", input_shape=x.shape[1:], rr_features=rr.shape[1]),
            x,
            part["y"],
            rr=rr,
            validation_groups=part["record"],
            validation_fold=(fold, args.folds),
            validation_seed=0,
            epochs=args.epochs,
            seed=args.seed,
            out_dir=out,
            verbose=2,
        )
        card = {
            "preset": "small", "split": "inter-patient", "rr_features": 3, "relative": True, "previous_beat": True,
            "second_lead": True, "beat_dropout": 0.0, "augment": True, "train_data": str(part["source"]),
            "train_beats": int(len(part["y"])), "epochs": args.epochs, "seed": args.seed, "validation_seed": 0,
            "validation_fold": f"{fold}/{args.folds}", "refit": False,
            "validation": _jsonable({key: result.validation[key] for key in VALIDATION_KEYS}),
        }
        write_text_atomic(out / "training.json", json.dumps(card, indent=2))
        print(f"fold {fold}: validation macro-F1 {result.validation['macro_f1']:.4f}", flush=True)


if __name__ == "__main__":
    main()
