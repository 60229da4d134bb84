"""Which network input generalises to new patients? Record-wise cross-validation over DS1 + svdb.

Question: the inter-patient model sees each beat through Kachuee's cut, which
starts at the R peak, so the beat's own P wave is missing (the previous-beat
channel works around that), and it sees the rhythm as three R-R intervals
against the record's mean. Does an R-centred window that holds the P wave
(``ecgnet.data.signals.centred_windows``), or R-R intervals against the local
rhythm (``select_rr_features(..., 5)``), recognise S and V beats of patients
the network never saw better?

Protocol (DS2 is never read):

- Records: the training part of the inter-patient split prepared from mitdb
  and svdb, the 22 DS1 records and the 39 svdb records (147,930 beats,
  7,639 S, 8,998 V)::

      python -m ecgnet prepare --raw data/mitdb --raw data/svdb --split inter-patient \\
          --out data/mitbih-interpatient-svdb

- Folds: 5 record-wise folds (:func:`ecgnet.data.group_kfold_indices`: the
  largest record first, to the fold with the fewest beats; these records all
  differ in size, so the folds are the same for every seed). Every record is
  held out once, predicted by a network trained on the other folds' records;
  the held-out predictions of the 5 folds are pooled into one confusion
  matrix per candidate and seed.
- Seeds (``--seeds``, 0 and 1): each sets the networks' initialisation, the
  order of the batches and, with ``--keep-normal``, which N beats are kept.
- Training, the same for every candidate: ``build_named_model("small", ...)``,
  Adam with one warm-up epoch and cosine decay (as ``ecgnet.training.train``),
  square-root damped class weights (``ecgnet.data.classes.class_weights``),
  ``--epochs`` epochs of batch ``--batch-size``, no augmentation, no early
  stopping (no validation data is taken from the training folds). With
  ``--keep-normal F`` a network trains on a random fraction F of its training
  records' N beats and on all their other beats (less training time on a CPU).
- Candidates (:data:`CANDIDATES`): the window (Kachuee's 3 channels, as the
  shipped inter-patient model, or the centred window and its difference from
  the record's median window) crossed with the R-R features (3 against the
  record's mean, or 5, those and 2 against the local rhythm).
- Selection rule, fixed before the run (:data:`SELECTION`): the candidate with
  the highest mean over the seeds of (F1 of S + F1 of V) / 2 over all
  held-out beats.
- Final models: every candidate is also trained on all records with seeds
  0, 1, 2 (``--final-seeds``); the selected candidate's are kept in ``--out``
  as ``final-<candidate>-s<seed>.keras``, the others are deleted unread.

The script runs on any Keras backend. On one GPU, JAX with several worker
processes is the fast way (``--workers``)::

    KERAS_BACKEND=jax python -m benchmarks.experiments.cv_new_patients --data data/mitbih-interpatient-svdb \\
        --out runs/cv-new-patients --workers 8

It prints the pooled Se / +P per candidate and seed, and writes
``summary.json`` and ``cv.npz`` (every held-out beat's probabilities, per
candidate and seed) into ``--out``.
"""

import argparse
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from ecgnet.data.classes import CLASS_NAMES
from ecgnet.metrics import confusion_matrix, evaluate_confusion_matrix

#: name -> (window, beat channels, R-R feature width)
CANDIDATES = {
    "kachuee3-rr3": ("kachuee", 3, 3),
    "kachuee3-rr5": ("kachuee", 3, 5),
    "centred2-rr3": ("centred", 2, 3),
    "centred2-rr5": ("centred", 2, 5),
}
SELECTION = "highest mean over seeds of (F1 of S + F1 of V) / 2, pooled over all held-out beats"

_WORKER = {}


def load_inputs(path, candidates):
    """Labels, records and each candidate's (beat, rr) inputs for every beat of ``path``."""
    from ecgnet.data.features import select_rr_features
    from ecgnet.data.prepared import beat_channels, load_part

    part = load_part(path, "train")
    inputs = {}
    for name in candidates:
        window, channels, rr_width = CANDIDATES[name]
        inputs[name] = (beat_channels(part, channels, window=window), select_rr_features(part.rr_features(), rr_width))
    return part.y.astype(np.int64), np.asarray(part.record), inputs


def _init_worker(path, candidates):
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    _WORKER["y"], _WORKER["record"], _WORKER["inputs"] = load_inputs(path, candidates)


def fit(beat, rr, y, seed, epochs, batch_size, learning_rate=1e-3):
    """Train one ``small`` network on (beat, rr) -> y as described in the module docstring."""
    import keras

    from ecgnet.data.classes import class_weights
    from ecgnet.models import build_named_model

    keras.utils.set_random_seed(seed)
    model = build_named_model("small", beat.shape[1:], rr_features=rr.shape[1])
    steps = math.ceil(len(y) / batch_size)
    warmup = steps if epochs > 1 else 0
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate / 10 if warmup else learning_rate,
        decay_steps=max(1, epochs * steps - warmup), alpha=0.01,
        warmup_target=learning_rate if warmup else None, warmup_steps=warmup,
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=keras.losses.SparseCategoricalCrossentropy())
    model.fit({"beat": beat, "rr": rr}, y, batch_size=batch_size, epochs=epochs, shuffle=True,
              class_weight=class_weights(y), verbose=0)
    return model


def keep_some_normal(index, y, fraction, seed):
    """``index`` with only a random ``fraction`` of its N (class 0) beats: less training time, same S, V, F, Q."""
    if fraction >= 1:
        return index
    normal = y[index] == 0
    keep = ~normal | (np.random.default_rng(seed).random(len(index)) < fraction)
    return index[keep]


def run_task(task, folds, epochs, batch_size, out, keep_normal=1.0):
    """One fold of one candidate and seed (held-out probabilities), or one final model (``fold`` 0)."""
    from ecgnet.data.splits import group_kfold_indices

    name, seed, fold = task
    beat, rr = _WORKER["inputs"][name]
    y = _WORKER["y"]
    start = time.time()
    if fold == 0:
        train = keep_some_normal(np.arange(len(y)), y, keep_normal, seed)
        model = fit(beat[train], rr[train], y[train], seed, epochs, batch_size)
        model.save(Path(out) / f"final-{name}-s{seed}.keras")
        return task, None, None, time.time() - start
    train, held = group_kfold_indices(_WORKER["record"], folds, fold, seed=seed)
    train = keep_some_normal(train, y, keep_normal, 1000 * seed + fold)
    model = fit(beat[train], rr[train], y[train], 1000 * seed + fold, epochs, batch_size)
    probabilities = model.predict({"beat": beat[held], "rr": rr[held]}, batch_size=4096, verbose=0)
    return task, held, probabilities.astype(np.float16), time.time() - start


def pooled(probabilities, y, mask=None):
    mask = np.ones(len(y), bool) if mask is None else mask
    return evaluate_confusion_matrix(confusion_matrix(y[mask], probabilities[mask].argmax(1), len(CLASS_NAMES)))


def score(report):
    return (report["per_class"]["S"]["f1"] + report["per_class"]["V"]["f1"]) / 2


def row(report):
    pc = report["per_class"]
    return "  ".join(f"{c} {100 * pc[c]['sensitivity']:5.1f}/{100 * pc[c]['positive_predictivity']:5.1f}" for c in "NSVF") + \
        f"  acc {100 * report['accuracy']:5.2f}  mF1 {100 * report['macro_f1']:5.1f}  (S F1+V F1)/2 {100 * score(report):5.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="prepared inter-patient folder (or its train.npz) of DS1 + svdb")
    parser.add_argument("--out", required=True, help="folder for summary.json, cv.npz and the final models")
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1], help="seeds of the networks (none: only the final models)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--final-seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--keep-normal", type=float, default=1.0,
                        help="train on this random fraction of the training folds' N beats (all others kept)")
    parser.add_argument("--workers", type=int, default=1, help="processes training at once (JAX on one GPU: 8)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import multiprocessing

    y, record, _ = load_inputs(args.data, [])
    # fold by fold, every candidate in turn, so that a run cut short leaves comparable partial results
    tasks = [(name, seed, fold) for seed in args.seeds for fold in range(1, args.folds + 1) for name in args.candidates]
    tasks += [(name, seed, 0) for name in args.candidates for seed in args.final_seeds]
    print(f"{len(y)} beats from {len(set(record))} records; {len(tasks)} trainings on {args.workers} worker(s), "
          f"backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}", flush=True)
    probabilities = {(name, seed): np.zeros((len(y), len(CLASS_NAMES)), np.float16)
                     for name in args.candidates for seed in args.seeds}
    seconds = {}
    start = time.time()
    context = multiprocessing.get_context("spawn")
    cv_left = sum(1 for task in tasks if task[2])
    done_folds = {(name, seed): [] for name in args.candidates for seed in args.seeds}
    selected = None
    with ProcessPoolExecutor(args.workers, mp_context=context, initializer=_init_worker,
                             initargs=(args.data, args.candidates)) as pool:
        futures = [pool.submit(run_task, task, args.folds, args.epochs, args.batch_size, out, args.keep_normal)
                   for task in tasks]
        for done in as_completed(futures):
            (name, seed, fold), held, proba, took = done.result()
            seconds[f"{name} s{seed} f{fold}"] = round(took, 1)
            if held is not None:
                probabilities[name, seed][held] = proba
                cv_left -= 1
            print(f"  {name} seed {seed} {'fold ' + str(fold) if fold else 'final'}: {took:.0f} s "
                  f"({time.time() - start:.0f} s in all)", flush=True)
            if held is not None:  # the figures so far; the selection once the cross-validation is complete
                done_folds[name, seed].append(fold)
                selected = report(args, y, record, probabilities, done_folds, seconds, time.time() - start, out,
                                  complete=cv_left == 0, quiet=cv_left > 0)
    if selected is not None:
        for path in out.glob("final-*.keras"):
            if not path.name.startswith(f"final-{selected}-s"):
                path.unlink()
        print(f"kept the final models of {selected} in {out} ({time.time() - start:.0f} s in all)")


def report(args, y, record, probabilities, done_folds, seconds, took, out, complete, quiet=False):
    """Print (unless ``quiet``) and write the pooled figures; return the selected candidate once ``complete``."""
    is_svdb = np.char.startswith(record.astype(str), "svdb/")
    summary = {"protocol": {"data": str(args.data), "beats": int(len(y)), "records": int(len(set(record))),
                            "folds": args.folds, "seeds": args.seeds, "epochs": args.epochs,
                            "batch_size": args.batch_size, "keep_normal": args.keep_normal, "selection": SELECTION,
                            "backend": os.environ.get("KERAS_BACKEND", "tensorflow")},
               "complete": complete, "folds_done": {f"{n} s{s}": sorted(f) for (n, s), f in done_folds.items()},
               "results": {}, "seconds": seconds, "cv_seconds": round(took, 1)}
    say = (lambda *a, **k: None) if quiet else print
    say(f"\nPooled over held-out records (Se/+P %), {args.folds} folds:")
    held = {}
    for (name, seed), folds in done_folds.items():
        if not folds:
            continue
        held[name, seed] = np.isin(group_fold_numbers(record, args.folds, seed), folds)
        p = probabilities[name, seed]
        reports = {"all": pooled(p, y, held[name, seed])}
        reports.update({part: pooled(p, y, held[name, seed] & mask)
                        for part, mask in (("DS1", ~is_svdb), ("svdb", is_svdb)) if (held[name, seed] & mask).any()})
        summary["results"][f"{name} s{seed}"] = reports
        for part, result in reports.items():
            say(f"  {name:13s} s{seed} {part:4s} {row(result)}")
    selected = None
    if complete:
        scores = {name: float(np.mean([score(summary["results"][f"{name} s{seed}"]["all"]) for seed in args.seeds]))
                  for name in args.candidates}
        selected = max(scores, key=scores.get)
        summary["scores"], summary["selected"] = scores, selected
        say(f"\nSelection ({SELECTION}): " + ", ".join(f"{n} {100 * s:.1f}" for n, s in scores.items()) + f" -> {selected}")
    arrays = {f"{n} s{s}": np.where(held[n, s][:, None], p, np.nan).astype(np.float16)
              for (n, s), p in probabilities.items() if (n, s) in held}
    np.savez_compressed(out / "cv.tmp.npz", y=y, record=record, **arrays)
    os.replace(out / "cv.tmp.npz", out / "cv.npz")
    (out / "summary.tmp.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    os.replace(out / "summary.tmp.json", out / "summary.json")
    say(f"wrote {out / 'summary.json'} and {out / 'cv.npz'}", flush=True)
    return selected


def group_fold_numbers(record, folds, seed):
    """The fold (1..folds) that holds out each beat (``seed``: see ``group_kfold_indices``)."""
    from ecgnet.data.splits import group_kfold_indices

    number = np.zeros(len(record), np.int64)
    for fold in range(1, folds + 1):
        number[group_kfold_indices(record, folds, fold, seed=seed)[1]] = fold
    return number


if __name__ == "__main__":
    main()
