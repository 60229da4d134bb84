"""Build the replay sets that ship beside the models (``ecgnet/weights/NAME.replay.npz``).

:func:`ecgnet.adaptation.adapt` trains a model's heads on one patient's
labelled beats together with these beats of the model's own training records,
so that it does not forget a class the patient has not shown. Each set draws
up to :data:`PER_CLASS` beats of each class, spread over the training records
(records in random order, beats drawn at random within each), seed 0:

- ``ecgnet-mitbih-interpatient``: the 22 DS1 records of mitdb;
- ``ecgnet-mitbih-svdb``: the DS1 records and the 39 svdb records it was trained on.

Never a DS2 record. The beats are stored as the model takes them
(``ecgnet.data.model_inputs``, each record's channels built from the whole
record), the beat channels as float16.

Usage:
    python -m benchmarks.release.build_replay_sets --mitdb data/mitdb --svdb data/svdb
"""

import argparse
import json
from pathlib import Path

import numpy as np


from ecgnet.data import DS1, DS2

PER_CLASS = {0: 400, 1: 300, 2: 300, 3: 200, 4: 100}
SEED = 0


def training_records(name, mitdb, svdb):
    """The record paths a shipped model was trained on (from its model card)."""
    from ecgnet.pretrained_models import model_card

    records = [Path(mitdb) / r for r in DS1]
    if name == "ecgnet-mitbih-svdb":
        card = model_card(name)["data"]
        names = card.split("39 records (")[1].split(")")[0].split(", ")
        records += [Path(svdb) / r for r in names]
    if {p.name for p in records if p.parent == Path(mitdb)} & set(DS2):
        raise SystemExit("a replay set never holds a DS2 record")
    return records


def build(name, records, out):
    from ecgnet.adaptation import _record_inputs, _select
    from ecgnet.pretrained_models import load_model

    model = load_model(name)
    pools = {c: [] for c in PER_CLASS}
    rng = np.random.default_rng(SEED)
    for path in records:
        inputs, labels, _ = _record_inputs(model, str(path))
        for c in PER_CLASS:
            where = np.flatnonzero(labels == c)
            if len(where):
                pools[c].append((inputs, where))
        print(f"{path.name}: {len(labels)} beats", flush=True)
    chosen_inputs, chosen_labels = [], []
    for c, quota in PER_CLASS.items():
        if not pools[c]:
            continue
        # every record that has the class gets the same chance in total: beats weighted 1 / (its beats of the class)
        owner = np.concatenate([np.full(len(where), i) for i, (_, where) in enumerate(pools[c])])
        beat = np.concatenate([where for _, where in pools[c]])
        chance = np.concatenate([np.full(len(where), 1.0 / len(where)) for _, where in pools[c]])
        pick = np.sort(rng.choice(len(beat), size=min(quota, len(beat)), replace=False, p=chance / chance.sum()))
        for i, (inputs, _) in enumerate(pools[c]):
            mine = beat[pick[owner[pick] == i]]
            if len(mine):
                chosen_inputs.append(_select(inputs, mine))
                chosen_labels.append(np.full(len(mine), c, np.int8))
    y = np.concatenate(chosen_labels)
    if isinstance(chosen_inputs[0], dict):  # float16 beats: half the file
        arrays = {"beat": np.concatenate([i["beat"] for i in chosen_inputs]).astype(np.float16),
                  "rr": np.concatenate([i["rr"] for i in chosen_inputs]).astype(np.float32)}
    else:
        arrays = {"beat": np.concatenate(chosen_inputs).astype(np.float16)}
    np.savez_compressed(out, y=y, records=np.array(json.dumps([p.name for p in records])), **arrays)
    counts = np.bincount(y, minlength=5)
    print(f"{out}: {len(y)} beats (N {counts[0]}, S {counts[1]}, V {counts[2]}, F {counts[3]}, Q {counts[4]}), "
          f"{Path(out).stat().st_size / 1e6:.2f} MB", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mitdb", required=True, help="folder of the raw mitdb records")
    parser.add_argument("--svdb", help="folder of the raw svdb records (for ecgnet-mitbih-svdb)")
    parser.add_argument("--model", nargs="*", default=["ecgnet-mitbih-interpatient", "ecgnet-mitbih-svdb"])
    args = parser.parse_args(argv)
    from ecgnet.adaptation import replay_path

    for name in args.model:
        build(name, training_records(name, args.mitdb, args.svdb), replay_path(name))


if __name__ == "__main__":
    main()
