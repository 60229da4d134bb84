"""Patient-adaptive evaluation (ANSI/AAMI EC57): label the first minutes of each record, score the rest.

For each record: the beats in the first ``--minutes`` (5) minutes, with their
reference labels, adapt the model (:func:`ecgnet.adapt`); the beats after
that are scored. Rows, per-class Se / +P pooled over all scored beats:

- each ``--model`` unadapted (as shipped);
- the same adapted with each recipe of ``--recipes`` (:data:`RECIPES`;
  ``default`` is :data:`ecgnet.adaptation.DEFAULTS`);
- with ``--floor MITDB``: the adapted logistic regression, the floor an
  adapted network should not fall below: scikit-learn logistic regression
  (standardised inputs, balanced class weights) on 8 R-R and 72
  morphology features (:func:`floor_features`), trained on the DS1 records
  (Q beats dropped, 15% of N kept, seed 0) plus the record's own first
  minutes weighted 20 times.

Records whose first minutes hold no S beat (no V beat) are reported apart:
adaptation must not forget a class it was not shown. Beats are those of the
reference annotations in the AAMI classes (``aami_only``, as the prepared
data folders hold them).

Usage (``--tables A.json B.json`` prints the tables of saved runs together):
    python -m benchmarks.experiments.adapt_patients --records-dir data/svdb \\
        --model ecgnet-mitbih-interpatient --recipes default balanced patient-heavy no-replay
    python -m benchmarks.experiments.adapt_patients --records-dir data/mitdb --records 100 103 ... \\
        --model ecgnet-mitbih-interpatient ecgnet-mitbih-svdb --floor data/mitdb --json ds2.json
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


from ecgnet.data import CLASS_NAMES, DS1
from ecgnet.metrics import confusion_matrix, evaluate_confusion_matrix

#: Candidate recipes (keyword arguments of ecgnet.adapt on top of its defaults), fixed before any run.
#: The selection rule, also fixed before: on the 39 svdb records with ecgnet-mitbih-interpatient
#: (trained on DS1 alone, so these patients are new to it), the highest mean of the S F1 and
#: the V F1 pooled over all beats after minute 5 ("score"); a tie goes to the one listed first.
#: Round 2, added after round 1 showed that "no-replay" (the highest score) finds none of the S
#: beats of the records with no S beat in their first minutes: the same score, among the recipes
#: of both rounds whose S Se on the records with no S beat in their first minutes, and V Se on
#: those with no V beat, are not below the unadapted model's.
#: Chosen: "patient-0.9" (score 70.9; "patient-0.97" scored 72.7 but found 1 of the 2 V beats of the
#: records with no V in their first minutes), now ecgnet.adaptation.DEFAULTS. "default" is the
#: default of the time: the round-1 rows were run with patient_share 0.5.
RECIPES = {
    "default": {},
    "balanced": {"balance": 1.0},
    "patient-heavy": {"patient_share": 0.8},
    "no-replay": {"replay": False},
    "tight": {"anchor": 1e-2},
    # round 2
    "patient-0.9": {"patient_share": 0.9},
    "patient-0.97": {"patient_share": 0.97},
    # round 3 (raise S and V +P; the floor-product ones need --floor)
    "unbalanced": {"balance": 0.0},
    "prior": {"prior": True},
    "floor-product": {"floor_power": 1.0},
    "floor-product-half": {"floor_power": 0.5},
    # round 4 (the shown-* ones need --floor, the rhythm-* ones --replay-mitdb and --heads-only)
    "shown-product": {"floor_power": 1.0, "shown_only": True},
    "shown-product-half": {"floor_power": 0.5, "shown_only": True},
    "rhythm-head": {"rhythm": True},
    "rhythm-shown-product-half": {"rhythm": True, "floor_power": 0.5, "shown_only": True},
    # round 5
    "af-gate": {"af_gate": True},
    # round 6
    "af-gate-premature": {"af_gate": "premature"},
    "af-gate-patient": {"af_gate": "patient"},
    "af-gate-patient-premature": {"af_gate": "patient-premature"},
    # round 7 (--records-dir records with their signal: the atrial activity is read from the lead)
    "af-gate-atrial": {"af_gate": "atrial"},
    "af-gate-atrial-or-patient": {"af_gate": "atrial-or-patient"},
    # round 8 (as round 7: --records-dir records with their signal)
    "af-gate-atrial-unless-shown": {"af_gate": "atrial-unless-shown"},
    "af-gate-atrial-readable-else-patient": {"af_gate": "atrial-readable-else-patient"},
    # round 9 (round 8's gate after the patient's own labelled beats have voted)
    "patient-knn": {"af_gate": "atrial-unless-shown", "neighbours_power": 1.0, "neighbours_k": 3},
    "patient-knn-half": {"af_gate": "atrial-unless-shown", "neighbours_power": 0.5, "neighbours_k": 3},
    "patient-knn-1": {"af_gate": "atrial-unless-shown", "neighbours_power": 1.0, "neighbours_k": 1},
    # round 10 (the heads refitted as by DEFAULTS, then each network's last block, rr_dense and logits
    # trained by Adam for 5 epochs at this learning rate; round 8's gate after)
    "tail-1e-4": {"af_gate": "atrial-unless-shown", "tail_epochs": 5, "tail_learning_rate": 1e-4},
    "tail-3e-4": {"af_gate": "atrial-unless-shown", "tail_epochs": 5, "tail_learning_rate": 3e-4},
    "tail-1e-3": {"af_gate": "atrial-unless-shown", "tail_epochs": 5, "tail_learning_rate": 1e-3},
    # round 11 (each head refitted on the network's features and the floor's 80, standardised by the replay
    # beats'; the floor rows start at 0; round 8's gate after; --heads-only and --replay-mitdb)
    "floor-head": {"af_gate": "atrial-unless-shown", "floor_head": True},
    "floor-head-v": {"af_gate": "atrial-unless-shown", "floor_head": True, "floor_head_only": 2},
    "floor-head-loose": {"af_gate": "atrial-unless-shown", "floor_head": True, "floor_head_scale": 3.0},
}
#: Round 3, fixed before it ran (docs/results.md, section 15): the candidates "unbalanced",
#: "prior", "floor-product" and "floor-product-half" (all on top of DEFAULTS), scored by the
#: round-2 rule on the same 39 svdb records; one is chosen only if its score is also above the
#: default's in the same run.
#: - "prior": the adapted heads' logits plus ``balance * log(count)`` of each class among the
#:   labelled beats (:func:`prior_offsets`): the patient's class weights ``count ** -balance``
#:   taken back out, so that the probabilities follow the patient's own class frequencies;
#: - "floor-product": the adapted network's probabilities times the adapted floor's
#:   (``--floor``), renormalised (ecgnet.layers.ProductOfExperts); "floor-product-half":
#:   times the floor's to the power 0.5.
#: Nothing chosen: the products score highest (76.4, 75.2) but find fewer S beats of the records
#: with no S beat in their first minutes than the unadapted model (44.9 and 31.0 against 67.6) and
#: 1 of the 2 V beats of those with no V; the others score below the default (70.7, 68.5; 70.9).
#: Round 4, fixed before it ran (docs/results.md, section 15): the candidates "shown-product",
#: "shown-product-half", "rhythm-head" and "rhythm-shown-product-half" (on top of DEFAULTS),
#: scored by the round-3 rule on the same 39 svdb records, the default run again beside them.
#: - "shown-product(-half)": the round-3 products restricted to the classes the patient showed
#:   in the labelled minutes (:func:`shown_product`): where the adapted network calls a class the
#:   patient did not show, its call stands; elsewhere the product decides among the shown classes;
#: - "rhythm-head": the heads refitted on the network's features and 4 rhythm features
#:   (ecgnet.data.features.rhythm_features, standardised by the replay set's mean and spread),
#:   the replay beats' rhythm features computed from their records (:func:`replay_rhythm`);
#: - "rhythm-shown-product-half": the rhythm heads, then "shown-product-half".
#: Chosen: "shown-product-half" (score 72.8 against the default's 70.9; every candidate passed the
#: guards; rhythm-head 70.8). Read once on DS2; not the library's default, which would need the
#: floor in the library (docs/results.md, section 15).
#: Round 5, fixed before it ran (docs/results.md, section 15): the candidate "af-gate" (on top of
#: DEFAULTS): the adapted model's probabilities of the beats in irregular rhythm
#: (ecgnet.data.features.irregular_rhythm of the record's beat times, its threshold fitted on DS1's
#: rhythm annotations only) get their S probability moved to N (ecgnet.adaptation.gate_irregular_rhythm).
#: The rule: round 4's, on the same 39 svdb records with ecgnet-mitbih-interpatient (the guards: S Se
#: on the records with no S beat in their first minutes, and V Se on those with no V beat, not below
#: the unadapted model's), except that the candidate is chosen if its score is equal to or above the
#: default's in the same run (the gate is expected to change little on svdb, which holds little
#: atrial fibrillation; what svdb must show is that it does not destroy S beats there). Chosen, it is
#: read once on DS2 (both shipped networks, the floor beside) and becomes ecgnet.adapt's default.
#: The row "unadapted (af-gate)" (the gate on the unadapted model) is an aside, not a candidate.
#: Not chosen: "af-gate" scored 66.9 against the default's 69.2 (it took 345 false S calls away and
#: 472 of the S beats found, in svdb's runs of supraventricular beats); DS2 was not read for it.
#: Round 6, fixed before it ran (docs/results.md, section 15): round 5's gate on fewer beats, on top
#: of DEFAULTS, the same 39 svdb records, the default run again beside them:
#: - "af-gate-premature": only the marked beats that do not stand out of the rhythm around them
#:   (irregular_rhythm with premature_ratio=IRREGULAR_PREMATURITY_RATIO: prematurity below 4.4 times
#:   the beat's irregularity, the ratio fitted on DS1's marked AF/flutter beats against its marked S
#:   beats outside AF, fit_irregular_rhythm --fit-prematurity);
#: - "af-gate-patient": round 5's gate, but only for a patient whose labelled minutes hold at least
#:   65 marked beats, at most 1 % of them S (ecgnet.adaptation.gates_patient);
#: - "af-gate-patient-premature": both conditions.
#: The rule: round 5's (the guards; chosen if its score is equal to or above the default's in the same
#: run; the highest score among those that pass, a tie to the one listed first), with the V guard read
#: against the default in the same run, not the unadapted model: a gate only moves S probability to N,
#: so it cannot find a V beat the default missed, and with the weights fine-tuned with real noise the
#: default itself finds 1 of the 2 V beats of the records with no V beat in their first minutes.
#: Chosen: "af-gate-patient" (score 69.25 against the default's 69.24: it gated one record, 804, and
#: turned 4 false calls there to N; "af-gate-premature" 67.78). Read once on DS2; it is now what
#: ecgnet.predict_record does after adapting (ecgnet.adaptation.rhythm_gate).
#: Round 7, fixed before it ran (docs/results.md, section 15): the gate on every patient, but only on
#: the marked beats whose stretch shows no repeating atrial activity (ecgnet.data.atrial: the lead's
#: band-passed segment from 0.30 s to 0.08 s before each R peak against the median segment of the 32
#: beats on each side; the median of those correlations over the stretch below ATRIAL_THRESHOLD, 0.59,
#: fitted on DS1's rhythm annotations, fit_irregular_rhythm --fit-atrial); on top of DEFAULTS, the
#: same 39 svdb records:
#: - "af-gate-atrial": round 5's gate (S probability to N) on those beats, every patient;
#: - "af-gate-atrial-or-patient": that, or round 6's patient gate (every marked beat) where it applies.
#: The rule: round 6's (the guards: S Se on the records with no S beat in their first minutes not below
#: the unadapted model's, V Se on those with no V beat not below the default's; the highest score among
#: those that pass, a tie to the one listed first), where the default is what ecgnet.predict_record
#: does after adapting since round 6: DEFAULTS and round 6's patient gate, the row "af-gate-patient"
#: (the row "default", DEFAULTS ungated, is printed beside it); chosen if its score is equal to or
#: above that row's in the same run.
#: Not chosen: both scored 68.24 against the default's 69.25 (the atrial gate took 246 false S calls
#: away and 247 of the S beats found, most in 854, 870, 868 and 867); DS2 was not read for it.
#: Round 8, fixed before it ran (docs/results.md, section 15): round 7's atrial gate, except for the
#: patients whose labelled beats marked by irregular_rhythm include S beats (more than
#: GATE_MAX_S_SHARE, 1 %, of them: they showed S beats in a rhythm the detector takes for irregular);
#: on top of DEFAULTS, the same 39 svdb records:
#: - "af-gate-atrial-unless-shown": the atrial gate (marked, no repeating atrial activity) on every
#:   other patient;
#: - "af-gate-atrial-readable-else-patient": the same patients; the atrial gate where the record's
#:   lead shows a repeating P wave in its regular stretches (the median atrial_repetition of the
#:   beats irregular_rhythm leaves unmarked at or above ATRIAL_THRESHOLD, 0.59: on DS1 every record
#:   with unmarked beats is, 208 the lowest at 0.60, fit_irregular_rhythm --lead-repetition); where
#:   it does not (or no beat is left unmarked, as in DS1's 203), round 6's patient gate (every marked
#:   beat) where that applies, else no gate.
#: Not a candidate: the atrial gate or round 6's patient gate where it applies ("...-or-patient"):
#: on DS1's record 201 (a check of the runner) it gates 201 as round 6's gate does (S Se 15.9).
#: The rule: round 7's (the same guards, the same default: DEFAULTS and round 6's patient gate, the
#: row "af-gate-patient"; the highest score among those that pass, a tie to the one listed first,
#: chosen if equal to or above the default's in the same run).
#: Chosen: "af-gate-atrial-unless-shown" (score 69.33 against the default's 69.25, on a tie with
#: "af-gate-atrial-readable-else-patient": the same calls on every svdb record; 99 false S calls
#: removed, 27 S beats found lost, 21 of them in 867). Read once on DS2; it is now what
#: ecgnet.adaptation.rhythm_gate decides.
#: Round 9, fixed before it ran (docs/results.md, section 15): the patient's labelled beats as a second
#: expert (:func:`patient_neighbours`, :func:`patient_vote`): each beat's k nearest labelled
#: beats in the space of the features the heads read (each network's concat output, standardised by
#: the labelled beats), distance-weighted, one more vote spread over the shown classes; the adapted
#: model's probability of the shown classes shared among them by p * q ** power where it calls a shown
#: class; then round 8's gate. On top of DEFAULTS, the same 39 svdb records:
#: - "patient-knn": k 3 (the most right leave-one-out votes among DS1's labelled beats,
#:   --vote-check), power 1;
#: - "patient-knn-half": k 3, power 0.5;
#: - "patient-knn-1": k 1 (DS1's highest S Se), power 1.
#: The rule: round 8's (the guards: S Se on the records with no S beat in their first minutes not below
#: the unadapted model's, V Se on those with no V beat not below the default's; the highest score among
#: those that pass, a tie to the one listed first, chosen if equal to or above the default's in the same
#: run), where the default is DEFAULTS and round 8's gate, the row "af-gate-atrial-unless-shown".
#: Not chosen: every candidate passed the guards, none reached the default's score (patient-knn 69.31,
#: patient-knn-half 69.25, patient-knn-1 68.84, against 69.33: patient-knn took 306 false S and 102
#: false V calls away and 149 found S and 44 found V beats); DS2 was not read for it.
#: Round 10, fixed before it ran (docs/results.md, section 15): more than the last layer trained
#: (ecgnet.adapt with tail_epochs): after DEFAULTS' heads, each network's last residual block, rr_dense
#: and logits (ecgnet.adaptation.tail_layers) trained by Adam for 5 epochs (batches of 128, batch
#: normalisation frozen in inference mode, the anchor pulling towards the starting weights), on the
#: same beats and weights; then round 8's gate. On the same 39 svdb records:
#: - "tail-1e-4", "tail-3e-4", "tail-1e-3": Adam's learning rate.
#: The rule: round 9's (the guards: S Se on the records with no S beat in their first minutes not below
#: the unadapted model's, V Se on those with no V beat not below the default's; the highest score among
#: those that pass, a tie to the one listed first, chosen if equal to or above the default's in the same
#: run), where the default is DEFAULTS and round 8's gate, the row "af-gate-atrial-unless-shown".
#: Not chosen: "tail-1e-3" found 153 of the 216 S beats of the records with no S beat in their first
#: minutes (the unadapted model 154); "tail-1e-4" and "tail-3e-4" passed the guards and scored 69.11 and
#: 68.85 against 69.33 (V +P up by 0.4 and 1.1 points, S F1 down by 0.5 and 1.2); DS2 was not read for it.
#: Round 11, fixed before it ran (docs/results.md, section 15): the floor's features beside the network's in
#: its head (:func:`floor_head`): each network's logits Dense refitted as by DEFAULTS (L-BFGS, the patient's
#: beats 0.9 of the weight, class weights count ** -0.5, the replay set the rest, the pull anchor 1e-3 towards
#: the start) on its concat features and the floor's 8 R-R and 72 morphology features (:func:`floor_features`),
#: the latter standardised by the replay beats' mean and spread (:func:`floor_scaler`, the same for every
#: patient); the kernel starts at the shipped one with 0 for the 80 floor rows (so the pull holds the shipped
#: part and pulls the floor weights towards 0); the replay beats' floor features from their records, the draw
#: of build_replay_sets made again and checked (:func:`replay_floor`); then round 8's gate. On the same 39
#: svdb records with ecgnet-mitbih-interpatient:
#: - "floor-head": every class's logit reads the floor columns;
#: - "floor-head-v": only the V logit reads them (the other floor weights held at 0): V +P is the floor's
#:   strength (96.5 on DS2) and its S +P its weakness (51.8);
#: - "floor-head-loose": as "floor-head", the floor columns times 3, so their weights are pulled 9 times less.
#: The rule: round 10's (the guards: S Se on the records with no S beat in their first minutes not below the
#: unadapted model's, V Se on those with no V beat not below the default's in the same run; the highest score,
#: the mean of S F1 and V F1 pooled over the beats after minute 5, among those that pass, a tie to the one
#: listed first, chosen if equal to or above the default's in the same run), where the default is DEFAULTS
#: and round 8's gate, the row "af-gate-atrial-unless-shown" (69.33 in rounds 8 to 10). Chosen, it is read
#: once on DS2 (both shipped networks, the floor beside); the library is not changed in this round (the
#: replay sets would have to ship the floor features). Not chosen: DS2 is not read.
#: Chosen: "floor-head-v" (score 70.47 against the default's 69.35 in the same run; "floor-head" scored 71.44
#: but found 153 of the 216 S beats of the records with no S beat in their first minutes, the unadapted model
#: 154; "floor-head-loose" 141). Read once on DS2: V +P 90.8 -> 92.0 (ecgnet-mitbih-interpatient) and
#: 92.3 -> 93.1 (ecgnet-mitbih-svdb), S about as before; not the library's behaviour (docs/results.md).
POST_PROCESSING = ("prior", "floor_power", "rhythm", "af_gate", "neighbours_power", "neighbours_k", "floor_head",
                   "floor_head_only", "floor_head_scale")
FLOOR_KEEP_N, FLOOR_PATIENT_WEIGHT, FLOOR_SAMPLES = 0.15, 20.0, 36


def floor_features(beats):
    """8 R-R and 72 morphology features of one record's beats (:class:`ecgnet.data.Beats`).

    R-R: the previous and next interval, the record's mean, the mean of the
    10 preceding intervals (``Beats.rr``), and four ratios: previous / mean,
    next / mean, previous / local mean, next / previous. Morphology: 36
    samples, evenly spaced, of the R-centred window (``Beats.centred``:
    0.5-40 Hz band-passed lead, 0.256 s before to 0.44 s after the R peak),
    less the mean of their first 3, divided by the peak of the record's
    median beat; and the same less that median beat.
    """
    rr = np.asarray(beats.rr, np.float64)
    previous, following, local = rr[:, 0], rr[:, 1], rr[:, 2]
    mean = np.full(len(rr), previous.mean())
    rhythm = np.stack([previous, following, mean, local, previous / mean, following / mean,
                       previous / np.maximum(local, 1e-3), following / np.maximum(previous, 1e-3)], axis=1)
    index = np.round(np.linspace(0, beats.centred.shape[1] - 1, FLOOR_SAMPLES)).astype(int)
    shape = np.asarray(beats.centred, np.float64)[:, index]
    shape = shape - shape[:, :3].mean(axis=1, keepdims=True)
    median = np.median(shape, axis=0)
    peak = max(float(np.abs(median).max()), 1e-6)
    return np.concatenate([rhythm, shape / peak, (shape - median) / peak], axis=1)


def floor_training_set(mitdb):
    """Floor features and labels of the DS1 records: Q dropped, 15% of N kept (seed 0)."""
    rng = np.random.default_rng(0)
    xs, ys = [], []
    for record in DS1:
        beats = _record_beats(Path(mitdb) / record)
        x, y = floor_features(beats), beats.y.astype(np.int64)
        keep = (y != 4) & ((y != 0) | (rng.random(len(y)) < FLOOR_KEEP_N))
        xs.append(x[keep])
        ys.append(y[keep])
    return np.concatenate(xs), np.concatenate(ys)


def floor_predict(train, first_x, first_y, rest_x):
    """The adapted floor's probabilities of the beats ``rest_x``, (n, 5); a class it never saw gets 0."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([train[0], first_x])
    y = np.concatenate([train[1], first_y])
    weight = np.concatenate([np.ones(len(train[1])), np.full(len(first_y), FLOOR_PATIENT_WEIGHT)])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
    model.fit(x, y, logisticregression__sample_weight=weight)
    probabilities = np.zeros((len(rest_x), len(CLASS_NAMES)))
    probabilities[:, model.classes_] = model.predict_proba(rest_x)
    return probabilities


def prior_offsets(labels, balance):
    """What "prior" adds to the adapted heads' logits: ``balance * log(count)`` of each class among ``labels``.

    The heads were fitted with the patient's beats weighted ``count ** -balance``
    per class (ecgnet.adaptation); adding ``balance * log(count)`` to the logits
    takes that weighting back out. A class absent from ``labels`` gets the
    offset of the rarest class present, so it is not pushed below every class
    the patient showed.
    """
    counts = np.bincount(labels, minlength=len(CLASS_NAMES)).astype(np.float64)
    present = counts > 0
    offsets = np.full(len(CLASS_NAMES), balance * np.log(counts[present].min()))
    offsets[present] = balance * np.log(counts[present])
    return offsets


def product(probabilities, other, power):
    """``probabilities * other ** power``, renormalised; clipped at 1e-7 as ecgnet.layers.ProductOfExperts."""
    logs = np.log(np.clip(probabilities, 1e-7, 1.0)) + power * np.log(np.clip(other, 1e-7, 1.0))
    e = np.exp(logs - logs.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def shown_product(probabilities, other, power, shown):
    """Calls of ``probabilities`` times ``other ** power``, restricted to the classes ``shown``: int (n,).

    Where the argmax of ``probabilities`` is a class not in ``shown`` (bool
    (5,), the classes among the patient's labelled beats), that call stands;
    elsewhere the call is the shown class with the highest product (the
    product never moves a beat to a class the patient did not show, nor away
    from one).
    """
    calls = np.asarray(probabilities).argmax(axis=1)
    among = np.flatnonzero(shown)
    restricted = among[product(probabilities, other, power)[:, among].argmax(axis=1)]
    return np.where(np.asarray(shown)[calls], restricted, calls)


#: :func:`patient_neighbours`: how many of the patient's labelled beats vote on each beat (round 9's ``k``).
NEIGHBOURS = 3


def patient_neighbours(probabilities, features, labelled, labels, *, k=NEIGHBOURS, power=1.0):
    """The adapted model's probabilities times the vote of the patient's own labelled beats (a second expert).

    Each beat's ``k`` nearest labelled beats, in the space of the features the
    heads read (each network's ``concat`` output, standardised by the labelled
    beats' mean and spread, Euclidean distance), vote for their labels,
    weighted by the inverse of the distance (scikit-learn's
    ``KNeighborsClassifier(weights="distance")``); one more vote is spread
    evenly over the classes the patient showed, so that no class gets a
    probability of 0: ``q = (k * vote + 1) / (k + shown)``. Where the model
    calls a class the patient showed, the probability it gives the shown
    classes is shared among them in proportion to ``p * q ** power``; the
    probability of a class the patient did not show is never changed, and a
    beat the model calls such a class is left as it is. A beat the model calls
    V whose nearest labelled beats are the patient's N beats goes back to N;
    one it calls N among the patient's labelled S beats becomes S.

    Args:
        probabilities: float array (n, 5), the adapted model's probabilities of the record's beats.
        features: float array (n, d), or a list of them (one per network of an
            ensemble, each standardised apart, then put side by side).
        labelled: bool array (n,), the beats the model was adapted on.
        labels: int array (n,), their classes where ``labelled`` (others are not read).
        k: int >= 1, the neighbours that vote (fewer if fewer beats are labelled).
        power: float >= 0, the weight of the vote (0: no change).

    Returns:
        A new float array (n, 5); every row sums as before.

    Raises:
        ValueError: shapes that disagree, no labelled beat, or ``k`` below 1.

    Example:
        >>> features = np.array([[0.0], [0.1], [1.0], [1.1], [0.05], [1.05]])
        >>> labelled = np.array([True, True, True, True, False, False])
        >>> calls = np.array([[0.4, 0, 0.6, 0, 0]] * 6)  # the model says V everywhere
        >>> patient_neighbours(calls, features, labelled, np.array([0, 0, 2, 2, 0, 0]), k=2).argmax(1)[4:]
        array([0, 2])
    """
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler

    probabilities = np.array(probabilities, dtype=np.float64, copy=True)
    labelled = np.asarray(labelled, bool)
    labels = np.asarray(labels)
    parts = [np.asarray(f, np.float64) for f in (features if isinstance(features, (list, tuple)) else [features])]
    n = len(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(CLASS_NAMES) or labelled.shape != (n,) or len(labels) != n \
            or any(f.ndim != 2 or len(f) != n for f in parts):
        raise ValueError(f"patient_neighbours: probabilities must be (n, {len(CLASS_NAMES)}), features (n, d), labelled and "
                          f"labels (n,). Received: {probabilities.shape}, {[f.shape for f in parts]}, {labelled.shape}, "
                          f"{np.shape(labels)}")
    if not labelled.any():
        raise ValueError("patient_neighbours: no labelled beat to vote")
    if int(k) < 1 or power < 0:
        raise ValueError(f"patient_neighbours: k must be at least 1 and power 0 or more. Received: k={k}, power={power}")
    space = np.concatenate([StandardScaler().fit(f[labelled]).transform(f) for f in parts], axis=1)
    own = labels[labelled].astype(np.int64)
    shown = np.zeros(len(CLASS_NAMES), bool)
    shown[np.unique(own)] = True
    vote = np.zeros((n, len(CLASS_NAMES)))
    if shown.sum() == 1:
        vote[:, shown] = 1.0
    else:
        neighbours = KNeighborsClassifier(n_neighbors=min(int(k), len(own)), weights="distance").fit(space[labelled], own)
        vote[:, neighbours.classes_] = neighbours.predict_proba(space)
    count = min(int(k), len(own))
    q = (count * vote + 1.0) / (count + shown.sum())
    rows = shown[probabilities.argmax(axis=1)]
    mass = probabilities[:, shown].sum(axis=1, keepdims=True)
    weighted = probabilities[:, shown] * q[:, shown] ** power
    total = weighted.sum(axis=1, keepdims=True)
    share = np.divide(weighted, total, out=np.zeros_like(weighted), where=total > 0) * mass
    probabilities[np.ix_(rows, shown)] = share[rows]
    return probabilities


_RECORD_BEATS = {}


def _record_beats(path):
    """The AAMI beats of a record from its reference annotations (read once per path)."""
    from ecgnet.data.records import beats_from_record

    key = str(path)
    if key not in _RECORD_BEATS:
        _RECORD_BEATS[key] = beats_from_record(key, aami_only=True).beats
    return _RECORD_BEATS[key]


def _redraw_replay(name, replay, paths, per_record):
    """``per_record(beats)`` (an array per beat) of the replay beats of ``name``, drawn again from ``paths``.

    The shipped replay sets carry the model's inputs, not the records' beats,
    so the draw of ``benchmarks/release/build_replay_sets.py`` (the same
    records in the same order, quotas and seed) is made again from the
    records' labels, and checked against the shipped set: same labels, same
    R-R inputs.
    """
    from benchmarks.release.build_replay_sets import PER_CLASS, SEED
    from ecgnet.data.features import rr_features, select_rr_features

    rng = np.random.default_rng(SEED)
    found = []
    for path in paths:
        beats = _record_beats(path)
        rr_inputs = select_rr_features(rr_features(beats.rr, beats.record), 3)
        found.append((beats.y.astype(np.int64), per_record(beats), rr_inputs))
    values, rr, labels = [], [], []
    for c, quota in PER_CLASS.items():
        pools = [(i, np.flatnonzero(y == c)) for i, (y, _, _) in enumerate(found) if (y == c).any()]
        if not pools:
            continue
        owner = np.concatenate([np.full(len(where), i) for i, (_, where) in enumerate(pools)])
        beat = np.concatenate([where for _, where in pools])
        chance = np.concatenate([np.full(len(where), 1.0 / len(where)) for _, where in pools])
        pick = np.sort(rng.choice(len(beat), size=min(quota, len(beat)), replace=False, p=chance / chance.sum()))
        for i, (record_index, _) in enumerate(pools):
            mine = beat[pick[owner[pick] == i]]
            values.append(found[record_index][1][mine])
            rr.append(found[record_index][2][mine])
            labels.append(np.full(len(mine), c))
    if not (np.array_equal(np.concatenate(labels), replay[1]) and np.allclose(np.concatenate(rr), replay[0]["rr"], atol=1e-5)):
        raise SystemExit(f"the replay draw made again differs from the shipped replay set of {name}")
    return np.concatenate(values)


def replay_rhythm(name, replay, mitdb):
    """The rhythm features (ecgnet.data.features.rhythm_features) of the replay beats of ``name``.

    The draw made again from the records (:func:`_redraw_replay`). Only for
    ``ecgnet-mitbih-interpatient`` (its replay beats are DS1's).
    """
    from ecgnet.data.features import rhythm_features

    if name != "ecgnet-mitbih-interpatient":
        raise SystemExit(f"--recipes rhythm-...: the replay rhythm is rebuilt for ecgnet-mitbih-interpatient only, not {name}")
    return _redraw_replay(name, replay, [Path(mitdb) / r for r in DS1],
                          lambda beats: rhythm_features(beats.rr, beats.record, beats.r_peak))


def replay_floor(name, replay, mitdb, svdb=None):
    """The floor's 80 features (:func:`floor_features`) of the replay beats of ``name``, (n, 80).

    The replay set stores the model's inputs, not record and sample, so the
    draw is made again from the records the set was built from
    (``build_replay_sets.training_records``: DS1 of ``mitdb``, and for
    ``ecgnet-mitbih-svdb`` the svdb records of ``svdb`` after them) and
    checked against the shipped labels and R-R inputs (:func:`_redraw_replay`).
    """
    from benchmarks.release.build_replay_sets import training_records

    if name == "ecgnet-mitbih-svdb" and svdb is None:
        raise SystemExit("--recipes floor-head...: the replay set of ecgnet-mitbih-svdb needs --replay-svdb SVDB")
    return _redraw_replay(name, replay, training_records(name, mitdb, svdb), floor_features)


#: Round 11: the floor's columns are standardised by the replay beats' floor features (the same
#: centre and spread for every patient; a patient's few labelled beats give an unstable spread).
def floor_scaler(replay_floor_x):
    """Centre and spread of the floor features that :func:`floor_columns` standardises by: the replay beats'.

    Args:
        replay_floor_x: float array (m, 80), :func:`floor_features` of the replay beats.

    Returns:
        ``(center, spread)``, float arrays (80,); a spread below 1e-6 becomes 1e-6.

    Example:
        >>> floor_scaler(np.array([[0.0, 1.0], [2.0, 1.0]]))
        (array([1., 1.]), array([1.e+00, 1.e-06]))
    """
    x = np.asarray(replay_floor_x, np.float64)
    return x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)


def floor_columns(features, floor_x, center, spread, scale=1.0):
    """What a round-11 head reads: the network's features, then the floor's features standardised, side by side.

    Args:
        features: float array (n, d), the network's ``concat`` output.
        floor_x: float array (n, 80), :func:`floor_features` of the same beats.
        center, spread: float arrays (80,), from :func:`floor_scaler`.
        scale: the standardised floor columns are multiplied by it; with the
            head's pull ``anchor / 2 * |W - W0|^2`` on every weight, the floor
            weights are pulled ``scale ** 2`` times less (in the units of the
            standardised features).

    Returns:
        Float array (n, d + 80): ``[features, scale * (floor_x - center) / spread]``.

    Raises:
        ValueError: ``features`` and ``floor_x`` of different beat counts, or
            ``center`` / ``spread`` not of ``floor_x``'s width.

    Example:
        >>> floor_columns(np.array([[1.0]]), np.array([[3.0, 4.0]]), np.array([1.0, 0.0]), np.array([2.0, 4.0]))
        array([[1., 1., 1.]])
    """
    features = np.asarray(features, np.float64)
    floor_x = np.asarray(floor_x, np.float64)
    if features.ndim != 2 or floor_x.ndim != 2 or len(features) != len(floor_x) \
            or np.shape(center) != floor_x.shape[1:] or np.shape(spread) != floor_x.shape[1:]:
        raise ValueError(f"floor_columns: features (n, d), floor_x (n, k), center and spread (k,). Received: "
                         f"{features.shape}, {floor_x.shape}, {np.shape(center)}, {np.shape(spread)}")
    return np.concatenate([features, scale * (floor_x - center) / spread], axis=1)


def fit_head_free(features, targets, weights, kernel, bias, anchor, max_iterations, free):
    """ecgnet.adaptation's head fit (weighted cross-entropy, pull ``anchor`` towards the start), ``free`` weights only.

    The kernel entries where ``free`` is False stay at their start; the
    others and the biases are fitted by SciPy's L-BFGS, as
    ``ecgnet.adaptation._fit_head`` does (which this equals where ``free``
    is all True; it is used then).

    Args:
        features: float array (n, d); targets: int array (n,); weights: float array (n,).
        kernel: float array (d, 5), bias: float array (5,): the start, and where the pull pulls.
        anchor: the pull; max_iterations: L-BFGS iterations.
        free: bool array (d, 5), the kernel entries fitted.

    Returns:
        ``[kernel, bias]``, float32.

    Raises:
        ValueError: ``free`` not of the kernel's shape.

    Example:
        >>> x, y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([0, 2])
        >>> free = np.zeros((2, 5), bool); free[1, 2] = True
        >>> k, b = fit_head_free(x, y, np.ones(2), np.zeros((2, 5)), np.zeros(5), 1e-3, 50, free)
        >>> bool(k[0].any()), float(k[1, 2]) < 0
        (False, True)
    """
    from scipy.optimize import minimize

    from ecgnet.adaptation import _fit_head

    free = np.asarray(free, bool)
    if free.shape != np.shape(kernel):
        raise ValueError(f"fit_head_free: free must have the kernel's shape {np.shape(kernel)}. Received: {free.shape}")
    if free.all():
        return _fit_head(features, targets, weights, kernel, bias, anchor=anchor, max_iterations=max_iterations)
    features = np.asarray(features, np.float64)
    start_kernel, start_bias = np.asarray(kernel, np.float64), np.asarray(bias, np.float64)
    onehot = np.eye(len(start_bias))[targets]
    weights = np.asarray(weights, np.float64) / np.sum(weights)
    count = int(free.sum())

    def unpack(theta):
        w = start_kernel.copy()
        w[free] = theta[:count]
        return w, theta[count:]

    def loss(theta):
        w, b = unpack(theta)
        logits = features @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        grad_logits = weights[:, None] * (np.exp(log_p) - onehot)
        pull = theta[:count] - start_kernel[free]
        value = -(weights * (onehot * log_p).sum(axis=1)).sum() + 0.5 * anchor * (pull**2).sum()
        grad = np.concatenate([(features.T @ grad_logits)[free] + anchor * pull, grad_logits.sum(axis=0)])
        return value, grad

    start = np.concatenate([start_kernel[free], start_bias])
    w, b = unpack(minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": int(max_iterations)}).x)
    return [w.astype(np.float32), b.astype(np.float32)]


def floor_head(features, floor_x, labels, replay_features, replay_floor_x, replay_labels, kernel, bias, *, anchor,
               balance, patient_share, max_iterations, scale=1.0, only=None):
    """A head refitted on the network's features and the floor's (round 11), from the shipped weights.

    The head reads :func:`floor_columns` (the floor's features standardised
    by the replay beats', :func:`floor_scaler`); its kernel starts at the
    shipped kernel with 0 for the floor rows, and is fitted as
    ``ecgnet.adaptation`` fits the heads (the patient's beats weighted
    ``count ** -balance`` per class and ``patient_share`` of the total, the
    replay beats the rest; the pull ``anchor`` towards the start, so the
    floor weights are pulled towards 0), by :func:`fit_head_free`.

    Args:
        features, floor_x: the patient's labelled beats: the network's features (n, d), the floor's (n, 80).
        labels: int array (n,), their classes.
        replay_features, replay_floor_x, replay_labels: the same of the replay beats.
        kernel, bias: the shipped head (d, 5), (5,).
        anchor, balance, patient_share, max_iterations: as ``ecgnet.adaptation.DEFAULTS``.
        scale: of the floor columns (:func:`floor_columns`).
        only: None (every class reads the floor columns) or a class index: only
            that class's logit reads them (the other floor weights stay 0).

    Returns:
        ``(kernel, bias, center, spread)``: the head (d + 80, 5), (5,) and the
        standardisation, to apply to other beats as
        ``floor_columns(f, x, center, spread, scale) @ kernel + bias``.

    Raises:
        ValueError: shapes that disagree (:func:`floor_columns`).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> f, x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2)), np.repeat([0, 2], 20)
        >>> k, b, c, s = floor_head(f[:20], x[:20], y[:20], f[20:], x[20:], y[20:], np.zeros((3, 5)), np.zeros(5),
        ...                         anchor=1e-3, balance=0.5, patient_share=0.9, max_iterations=50, only=2)
        >>> k.shape, bool(k[3:, [0, 1, 3, 4]].any())
        ((5, 5), False)
    """
    from ecgnet.adaptation import _sample_weights

    center, spread = floor_scaler(replay_floor_x)
    own = floor_columns(features, floor_x, center, spread, scale)
    replayed = floor_columns(replay_features, replay_floor_x, center, spread, scale)
    extra = own.shape[1] - np.shape(kernel)[0]
    start = np.concatenate([np.asarray(kernel, np.float64), np.zeros((extra, np.shape(kernel)[1]))])
    free = np.ones(start.shape, bool)
    if only is not None:
        free[-extra:] = False
        free[-extra:, int(only)] = True
    weights = _sample_weights(np.asarray(labels), np.asarray(replay_labels), balance, patient_share)
    targets = np.concatenate([labels, replay_labels]).astype(np.int64)
    fitted = fit_head_free(np.concatenate([own, replayed]), targets, weights, start, bias, anchor, max_iterations, free)
    return fitted[0], fitted[1], center, spread


def heads_only(model, inputs, first, labels, replay, recipes, rhythm=None, replay_rhythm_features=None, features=None,
               seed=0, seconds=None, floor_x=None, replay_floor_x=None):
    """Each recipe's probabilities on the beats after ``first``, from the frozen features, for an averaging ensemble.

    What :func:`ecgnet.adapt` and predicting with the adapted copy give (the
    heads are fitted by the same code), without copying the model and
    running its convolutions again for every recipe: each network's features
    of every beat are computed once. For a model whose output is the mean of
    its networks' softmax (``ecgnet-mitbih-interpatient``), or that mean
    times a frozen R-R regression (``ecgnet-mitbih-svdb``: layers
    ``rr_regression`` and ``product``, :func:`product`); ``main`` checks it
    against the real adapted copy on the first record.

    A recipe with ``rhythm`` fits each head on the network's features and
    the beats' ``rhythm`` features (the record's, (n, 4)), both standardised
    by the replay set's (``replay_rhythm_features``) mean and spread; the
    head's new weights start at 0 and the anchor pulls them towards 0.

    A recipe with ``tail_epochs`` (round 10) then trains each network's tail
    (ecgnet.adaptation.tail_layers) as ecgnet.adapt does, on the activations
    at the cut computed once for every beat, and predicts the scored beats
    through the trained tail; ``seconds`` (a dict), if given, gets each
    such recipe's seconds (its heads, the tails' training and prediction).

    A recipe with ``floor_head`` (round 11) fits each head on the network's
    features and the floor's (:func:`floor_head`; ``floor_x``, (n, 80), of
    every beat of the record, ``replay_floor_x`` of the replay beats).
    """
    from ecgnet.adaptation import DEFAULTS, _features, _fit_head, _fit_heads, _fit_tails, _heads, _replay_features
    from ecgnet.adaptation import TAIL_BATCH_SIZE, _sample_weights, _tail

    networks = _heads(model)
    features = [_features(network, inputs) for network in networks] if features is None else features
    replay_features = [_replay_features(network, replay) for network in networks]
    cuts = None  # round 10: each network's activations at the cut before its tail, of every beat, computed once
    found = {}
    names = {layer.name for layer in model.layers}
    rr_expert = None  # ecgnet-mitbih-svdb: the frozen R-R regression's probabilities, multiplied in at the end
    if {"rr_regression", "product"} <= names:
        from ecgnet.adaptation import predict

        rr_expert = predict(model.get_layer("rr_regression"), inputs["rr"][~first])
    for recipe in recipes:
        tic = time.perf_counter()
        options = {**DEFAULTS, **RECIPES[recipe]}
        tail_epochs = options.pop("tail_epochs", 0)
        tail_learning_rate = options.pop("tail_learning_rate", None)
        use_replay = options.pop("replay", True) is not False
        prior = options.pop("prior", False)
        options.pop("floor_power", None)  # applied by main, to these probabilities
        options.pop("shown_only", None)
        options.pop("af_gate", None)
        options.pop("neighbours_power", None)
        options.pop("neighbours_k", None)
        offsets = prior_offsets(labels[first], options["balance"]) if prior else 0.0
        floor = options.pop("floor_head", False)
        floor_only = options.pop("floor_head_only", None)
        floor_scale = options.pop("floor_head_scale", 1.0)
        if floor:
            heads, head_features = [], []
            for network, f, r in zip(networks, features, replay_features):
                kernel, bias, center, spread = floor_head(
                    f[first], floor_x[first], labels[first], r, replay_floor_x, np.asarray(replay[1]),
                    *network.get_layer("logits").get_weights(), anchor=options["anchor"], balance=options["balance"],
                    patient_share=options["patient_share"], max_iterations=options["max_iterations"], scale=floor_scale,
                    only=floor_only)
                heads.append((kernel, bias))
                head_features.append(floor_columns(f, floor_x, center, spread, floor_scale))
        elif options.pop("rhythm", False):
            center = replay_rhythm_features.mean(axis=0)
            spread = np.maximum(replay_rhythm_features.std(axis=0), 1e-6)
            own = (rhythm - center) / spread
            extended = [np.concatenate([f, own], axis=1) for f in features]
            extended_replay = [np.concatenate([f, (replay_rhythm_features - center) / spread], axis=1)
                               for f in replay_features]
            weights = _sample_weights(labels[first], np.asarray(replay[1]), options["balance"], options["patient_share"])
            targets = np.concatenate([labels[first], np.asarray(replay[1])])
            heads = []
            for network, f, r in zip(networks, extended, extended_replay):
                kernel, bias = network.get_layer("logits").get_weights()
                kernel = np.concatenate([kernel, np.zeros((own.shape[1], kernel.shape[1]), kernel.dtype)])
                heads.append(_fit_head(np.concatenate([f[first], r]), targets, weights, kernel, bias,
                                       anchor=options["anchor"], max_iterations=options["max_iterations"]))
            head_features = extended
        else:
            heads = _fit_heads(networks, [f[first] for f in features], labels[first],
                               replay_features if use_replay else None,
                               np.asarray(replay[1]) if use_replay else np.zeros(0, np.int64), **options)
            head_features = features
        if tail_epochs:
            if cuts is None:
                cuts = [_tail(network).cut(inputs) for network in networks]
            tails = _fit_tails(networks, heads, [[c[first] for c in cut] for cut in cuts], labels[first],
                               replay if use_replay else None, anchor=options["anchor"], balance=options["balance"],
                               patient_share=options["patient_share"], epochs=tail_epochs,
                               learning_rate=tail_learning_rate, batch_size=TAIL_BATCH_SIZE, seed=seed)
            found[recipe] = np.mean([_tail(network).probabilities(weights, [c[~first] for c in cut])
                                     for network, weights, cut in zip(networks, tails, cuts)], axis=0)
            if seconds is not None:
                seconds.setdefault(recipe, []).append(time.perf_counter() - tic)
            continue
        probabilities = []
        for f, (kernel, bias) in zip(head_features, heads):
            logits = f[~first] @ kernel + bias + offsets
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            probabilities.append(e / e.sum(axis=1, keepdims=True))
        found[recipe] = np.mean(probabilities, axis=0)
    if rr_expert is not None:
        found = {recipe: product(values, rr_expert, 1.0) for recipe, values in found.items()}
    return found


#: Round 9's check of ``k`` (``--vote-check``): the neighbour counts compared.
VOTE_CHECK_K = (1, 3, 5, 9, 15)


def leave_one_out(space, labels, k):
    """The distance-weighted vote of each beat's ``k`` nearest *other* beats in ``space``: int (n,)."""
    from sklearn.neighbors import KNeighborsClassifier

    count = min(k, len(labels) - 1)
    model = KNeighborsClassifier(n_neighbors=count + 1, weights="distance").fit(space, labels)
    distance, index = model.kneighbors(space)
    calls = np.empty(len(labels), np.int64)
    for i in range(len(labels)):
        others = index[i] != i
        d, j = distance[i][others][:count], index[i][others][:count]
        calls[i] = np.bincount(labels[j], weights=1.0 / np.maximum(d, 1e-12), minlength=len(CLASS_NAMES)).argmax()
    return calls


def vote_check(folder, records, name, minutes):
    """Whether a patient's labelled beats tell each other's class in the heads' feature space (run it on DS1 only).

    On each record, the beats of the first ``minutes`` (the labelled beats), each network's ``concat``
    features standardised by those beats and put side by side (as :func:`patient_neighbours`
    does); each beat's ``k`` nearest other labelled beats vote, distance-weighted (leave one out).
    Printed per ``k`` of :data:`VOTE_CHECK_K`: the vote's S and V Se / +P pooled over the records.
    On DS1, the shipped ecgnet-mitbih-interpatient's training records, the features separate the
    beats better than a new patient's: the figures say how ``k`` trades a rare class's few labelled
    beats against noise, not how well the vote does on new patients.
    """
    from sklearn.preprocessing import StandardScaler

    from ecgnet.adaptation import _features, _heads, _record_inputs, _select
    from ecgnet.pretrained_models import load_model

    model = load_model(name)
    totals = {k: np.zeros((len(CLASS_NAMES),) * 2, np.int64) for k in VOTE_CHECK_K}
    for record in records:
        inputs, labels, times = _record_inputs(model, str(Path(folder) / record))
        first = times < 60.0 * minutes
        own = _select(inputs, first)
        space = np.concatenate([StandardScaler().fit_transform(_features(n, own)) for n in _heads(model)], axis=1)
        for k in VOTE_CHECK_K:
            totals[k] += confusion_matrix(labels[first], leave_one_out(space, labels[first], k), num_classes=len(CLASS_NAMES))
        print(f"{record}: {int(first.sum())} labelled beats (S {int((labels[first] == 1).sum())}, "
              f"V {int((labels[first] == 2).sum())})", flush=True)
    print(f"\n{len(records)} records, the labelled beats' vote on each other (leave one out)")
    print(f"{'k':>3s}  {'S Se':>5s} {'S +P':>5s}  {'V Se':>5s} {'V +P':>5s}  right")
    for k, cm in totals.items():
        pc = evaluate_confusion_matrix(cm, CLASS_NAMES)["per_class"]
        print(f"{k:3d}  {100 * pc['S']['sensitivity']:5.1f} {100 * pc['S']['positive_predictivity']:5.1f}  "
              f"{100 * pc['V']['sensitivity']:5.1f} {100 * pc['V']['positive_predictivity']:5.1f}  "
              f"{np.trace(cm)} of {cm.sum()}")


def row(name, cm):
    report = evaluate_confusion_matrix(cm, CLASS_NAMES)
    pc = report["per_class"]
    cells = "  ".join(f"{100 * pc[c]['sensitivity']:5.1f} {100 * pc[c]['positive_predictivity']:5.1f}" for c in "NSVF")
    score = (pc["S"]["f1"] + pc["V"]["f1"]) / 2
    return f"{name:44s} {cells}  {100 * pc['S']['f1']:5.1f} {100 * pc['V']['f1']:5.1f}  {100 * score:5.1f}"


def header():
    return f"{'':44s} " + "  ".join(f"{c + ' Se':>5s} {c + ' +P':>5s}" for c in "NSVF") + "   S F1  V F1  score"


def main(argv=None):
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "--tables":
        return tables_from_json(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records-dir", required=True, help="folder of WFDB records with reference annotations")
    parser.add_argument("--records", nargs="*", help="record names (default: every record in the folder)")
    parser.add_argument("--model", nargs="*", default=["ecgnet-mitbih-interpatient"], help="shipped model names (none: the floor alone)")
    parser.add_argument("--recipes", nargs="+", default=["default"], choices=tuple(RECIPES))
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--floor", metavar="MITDB", help="also the adapted logistic regression, trained on DS1 of this mitdb folder")
    parser.add_argument("--replay-mitdb", metavar="MITDB",
                        help="the mitdb folder the replay set was drawn from (the rhythm recipes need its R-R series)")
    parser.add_argument("--replay-svdb", metavar="SVDB",
                        help="the svdb folder of ecgnet-mitbih-svdb's replay set (the floor-head recipes need its beats)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the confusion matrices per record and row here")
    parser.add_argument("--vote-check", action="store_true",
                        help="round 9: the labelled beats' leave-one-out vote on each other per k (vote_check; DS1 only)")
    parser.add_argument("--heads-only", action="store_true",
                        help="score the recipes from frozen features (heads_only), for an averaging ensemble; "
                        "checked against the adapted copy on the first record")
    args = parser.parse_args(argv)
    if args.vote_check:
        return vote_check(args.records_dir, args.records or list(DS1), args.model[0], args.minutes)
    special = [r for r in args.recipes if set(RECIPES[r]) & set(POST_PROCESSING)]
    if any("floor_power" in RECIPES[r] for r in args.recipes) and not args.floor:
        parser.error("--recipes floor-product...: only with --floor MITDB")
    if any("rhythm" in RECIPES[r] for r in args.recipes) and not (args.heads_only and args.replay_mitdb):
        parser.error("--recipes rhythm-...: only with --heads-only and --replay-mitdb MITDB")
    if any("floor_head" in RECIPES[r] for r in args.recipes) and not (args.heads_only and args.replay_mitdb):
        parser.error("--recipes floor-head...: only with --heads-only and --replay-mitdb MITDB")

    import ecgnet
    from ecgnet.adaptation import DEFAULTS, HEAD_LAYER, _heads, _record_inputs, _select, load_replay, predict, replay_path
    from ecgnet.adaptation import gate_irregular_rhythm, gates_patient
    from ecgnet.data.atrial import atrial_activity_repeats
    from ecgnet.data.datasets import database_of, training_records
    from ecgnet.data.features import IRREGULAR_PREMATURITY_RATIO, irregular_rhythm, rhythm_features
    from ecgnet.data.records import read_annotated_lead
    from ecgnet.pretrained_models import load_model

    folder = Path(args.records_dir)
    # every record of the folder, but svdb's held back from training: no choice may be made on them
    records = args.records or training_records(sorted(p.stem for p in folder.glob("*.atr")), database_of(folder), folder)[0]
    models = {name: load_model(name) for name in args.model}
    replays = {name: load_replay(name) if replay_path(name).exists() else None for name in args.model}
    floor_train = floor_training_set(args.floor) if args.floor else None
    rhythmic = any("rhythm" in RECIPES[r] for r in args.recipes)
    gated = any(RECIPES[r].get("af_gate") for r in args.recipes)
    atrial = any(str(RECIPES[r].get("af_gate")).startswith("atrial") for r in args.recipes)
    voting = any("neighbours_power" in RECIPES[r] for r in args.recipes)
    from ecgnet.adaptation import _features
    from ecgnet.adaptation import GATE_MAX_S_SHARE
    from ecgnet.data.atrial import ATRIAL_THRESHOLD, atrial_repetition
    replay_rhythms = {name: replay_rhythm(name, replays[name], args.replay_mitdb) for name in args.model} if rhythmic else {}
    floored = any("floor_head" in RECIPES[r] for r in args.recipes)
    replay_floors = {name: replay_floor(name, replays[name], args.replay_mitdb, args.replay_svdb)
                     for name in args.model} if floored else {}
    _RECORD_BEATS.clear()
    span = 60.0 * args.minutes
    results = {}  # row -> record -> confusion matrix
    shown = {}  # record -> (S beats, V beats) in the first minutes
    seconds = {}
    gate_counts = {}  # record -> (labelled beats marked, S among them, scored beats marked, ... kept by the ratio, patient gated)

    def add(name, record, truth, predicted):
        results.setdefault(name, {})[record] = confusion_matrix(truth, predicted, num_classes=len(CLASS_NAMES))

    for count, record in enumerate(records, 1):
        path = str(folder / record)
        started = time.perf_counter()
        beats = _record_beats(path) if floor_train is not None or rhythmic or floored else None
        _RECORD_BEATS.clear()
        if floor_train is not None:
            times = beats.r_peak / _fs(path)
            first, labels = times < span, beats.y.astype(np.int64)
            x = floor_features(beats)
            shown[record] = (int((labels[first] == 1).sum()), int((labels[first] == 2).sum()), int(first.sum()), int((~first).sum()))
            tic = time.perf_counter()
            floor_labels = labels
            floor_probabilities = floor_predict(floor_train, x[first], labels[first], x[~first])
            add("adapted logistic regression (floor)", record, labels[~first], floor_probabilities.argmax(1))
            seconds.setdefault("adapted logistic regression (floor)", []).append(time.perf_counter() - tic)
        for name, model in models.items():
            inputs, labels, times = _record_inputs(model, path)
            first = times < span
            shown[record] = (int((labels[first] == 1).sum()), int((labels[first] == 2).sum()), int(first.sum()), int((~first).sum()))
            rest = _select(inputs, ~first)
            unadapted = predict(model, rest)
            add(f"{name} unadapted", record, labels[~first], unadapted.argmax(1))
            marks = irregular_rhythm(times)
            irregular = marks[~first]
            irregular_premature = irregular_rhythm(times, premature_ratio=IRREGULAR_PREMATURITY_RATIO)[~first]
            patient_gated = gates_patient(marks[first], labels[first])
            irregular_atrial = None
            # round 8: the labelled beats marked hold S beats (more than GATE_MAX_S_SHARE of them)
            marked_s = int((marks[first] & (labels[first] == 1)).sum())
            shown_s = marked_s > GATE_MAX_S_SHARE * int(marks[first].sum())
            lead_reads = None
            if atrial:  # the marked beats whose stretch shows no repeating atrial activity
                signal, fs, peaks, _ = read_annotated_lead(path)
                peaks = peaks[: len(times)]  # the last annotated beat has no beat after it
                if not np.allclose(peaks / fs, times):
                    raise SystemExit(f"{record}: the lead's R peaks and the beats' times differ")
                repetition = atrial_repetition(signal, fs, peaks)
                if not np.array_equal(np.isnan(repetition) | (repetition >= ATRIAL_THRESHOLD),
                                      atrial_activity_repeats(signal, fs, peaks)):
                    raise SystemExit(f"{record}: atrial_repetition and atrial_activity_repeats differ")
                irregular_atrial = (marks & ~(np.isnan(repetition) | (repetition >= ATRIAL_THRESHOLD)))[~first]
                regular = repetition[~marks]
                lead_reads = bool(np.isfinite(regular).any() and np.nanmedian(regular) >= ATRIAL_THRESHOLD)
            if gated:
                gate_counts[record] = (int(marks[first].sum()), marked_s,
                                       int(irregular.sum()), int(irregular_premature.sum()), patient_gated,
                                       int(irregular_atrial.sum()) if atrial else None, shown_s, lead_reads)
            if any(RECIPES[r].get("af_gate") is True for r in args.recipes):
                add(f"{name} unadapted (af-gate)", record, labels[~first],
                    gate_irregular_rhythm(unadapted, irregular).argmax(1))
            shown_classes = np.bincount(labels[first], minlength=len(CLASS_NAMES)) > 0
            voters = None  # round 9: the features the heads read, of every beat, and the labelled beats
            if voting:
                tic = time.perf_counter()
                voters = ([_features(network, inputs) for network in _heads(model)], first, labels)
                seconds.setdefault(f"{name} the features of every beat, for the vote", []).append(time.perf_counter() - tic)
            if args.heads_only:
                tail_seconds = {}
                tic = time.perf_counter()
                rhythm = None
                if rhythmic:
                    if not np.array_equal(beats.y.astype(np.int64), labels):
                        raise SystemExit(f"{record}: the rhythm's beats and the model's differ")
                    rhythm = rhythm_features(beats.rr, beats.record, beats.r_peak)
                record_floor = None
                if floored:  # round 11: the floor's features of the same beats
                    if not (np.array_equal(beats.y.astype(np.int64), labels) and np.allclose(beats.r_peak / _fs(path), times)):
                        raise SystemExit(f"{record}: the floor's beats and the model's differ")
                    record_floor = floor_features(beats)
                found = heads_only(model, inputs, first, labels, replays[name], args.recipes, rhythm, replay_rhythms.get(name),
                                   features=voters[0] if voters else None, seed=args.seed, seconds=tail_seconds,
                                   floor_x=record_floor, replay_floor_x=replay_floors.get(name))
                for recipe, values in tail_seconds.items():
                    seconds.setdefault(f"{name} adapted ({recipe}: heads, tails, prediction)", []).append(values.pop())
                seconds.setdefault(f"{name} adapted (all recipes, heads only)", []).append(time.perf_counter() - tic)
                plain = [r for r in args.recipes if r not in special]
                if count == 1 and plain:  # the same as the adapted copy
                    copy = ecgnet.adapt(model, _select(inputs, first), labels[first], seed=args.seed, replay=replays[name],
                                        **RECIPES[plain[0]])
                    np.testing.assert_allclose(predict(copy, rest), found[plain[0]], atol=2e-3)  # float32 batches differ
                tails = [r for r in args.recipes if "tail_epochs" in RECIPES[r]]
                if count == 1 and tails:  # round 10: the tail trained here is the adapted copy's
                    options = {k: v for k, v in RECIPES[tails[0]].items() if k not in POST_PROCESSING}
                    copy = ecgnet.adapt(model, _select(inputs, first), labels[first], seed=args.seed, replay=replays[name],
                                        **options)
                    np.testing.assert_allclose(predict(copy, rest), found[tails[0]], atol=2e-3)
                for recipe, probabilities in found.items():
                    add(f"{name} adapted ({recipe})", record, labels[~first],
                        _calls(recipe, probabilities, floor_probabilities if floor_train is not None else None,
                               floor_labels if floor_train is not None else None, labels, shown_classes, record,
                               irregular, irregular_premature, patient_gated, irregular_atrial, shown_s, lead_reads,
                               voters))
                continue
            for recipe in args.recipes:
                options = dict(RECIPES[recipe])
                replay = replays[name] if options.pop("replay", True) is not False else None
                prior = options.pop("prior", False)
                options.pop("floor_power", None)  # applied by _calls, to these probabilities
                options.pop("shown_only", None)
                options.pop("af_gate", None)
                options.pop("neighbours_power", None)
                options.pop("neighbours_k", None)
                tic = time.perf_counter()
                adapted = ecgnet.adapt(model, _select(inputs, first), labels[first], seed=args.seed, replay=replay, **options)
                if prior:
                    offsets = prior_offsets(labels[first], options.get("balance", DEFAULTS["balance"]))
                    for network in _heads(adapted):
                        kernel, bias = network.get_layer(HEAD_LAYER).get_weights()
                        network.get_layer(HEAD_LAYER).set_weights([kernel, bias + offsets.astype(np.float32)])
                probabilities = predict(adapted, rest)
                predicted = _calls(recipe, probabilities, floor_probabilities if floor_train is not None else None,
                                   floor_labels if floor_train is not None else None, labels, shown_classes, record,
                                   irregular, irregular_premature, patient_gated, irregular_atrial, shown_s, lead_reads,
                                   voters)
                seconds.setdefault(f"{name} adapted ({recipe})", []).append(time.perf_counter() - tic)
                add(f"{name} adapted ({recipe})", record, labels[~first], predicted)
        gate_line = ""
        if record in gate_counts:
            g = gate_counts[record]
            gate_line = (f"; marked: labelled {g[0]} (S {g[1]}), scored {g[2]}, scored kept by the ratio {g[3]}"
                         f"{'' if g[5] is None else f', scored without repeating atrial activity {g[5]}'}; "
                         f"patient gate {'on' if g[4] else 'off'}; S shown in irregular rhythm {'yes' if g[6] else 'no'}"
                         + ("" if g[7] is None else f"; lead reads P waves {'yes' if g[7] else 'no'}"))
        print(f"[{count}/{len(records)}] {record}: first {shown[record][2]} beats (S {shown[record][0]}, "
              f"V {shown[record][1]}), scored {shown[record][3]}{gate_line}; {time.perf_counter() - started:.1f} s", flush=True)

    print_tables(records, shown, results, args.minutes)
    if gate_counts:
        on = [r for r, g in gate_counts.items() if g[4]]
        print(f"\npatient gate on for {len(on)} records: {', '.join(on) or 'none'}")
    for name, values in seconds.items():
        print(f"seconds per record, {name}: median {np.median(values):.1f}, max {np.max(values):.1f} "
              "(adapt + predict the rest)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "records": records, "minutes": args.minutes, "first_minutes": shown, "irregular_rhythm": gate_counts,
            "seconds": seconds, "confusion": {name: {r: cm.tolist() for r, cm in per.items()} for name, per in results.items()},
        }, indent=1), encoding="utf-8")


def patient_vote(probabilities, features, first, labels, power, k):
    """:func:`patient_neighbours` on the scored beats: ``probabilities`` (those after ``first``) voted on.

    ``features`` (one array per network) and ``labels`` cover every beat of the record; the beats
    ``first`` are the labelled ones.
    """
    full = np.full((len(first), len(CLASS_NAMES)), 1.0 / len(CLASS_NAMES))
    full[~first] = probabilities
    return patient_neighbours(full, features, first, labels, k=k, power=power)[~first]


def _calls(recipe, probabilities, floor_probabilities, floor_labels, labels, shown, record, irregular=None,
           irregular_premature=None, patient_gated=True, irregular_atrial=None, shown_s=False, lead_reads=True,
           voters=None):
    """A recipe's calls on the scored beats: the argmax, or that of its product with the floor.

    With ``af_gate``, the probabilities of the beats ``irregular`` (in irregular rhythm) first get
    their S probability moved to N (ecgnet.adaptation.gate_irregular_rhythm); "premature" gates
    ``irregular_premature`` instead (the marked beats kept by the prematurity ratio); "patient..."
    gates only where ``patient_gated`` (ecgnet.adaptation.gates_patient of the labelled beats);
    "atrial" gates ``irregular_atrial`` (the marked beats whose stretch shows no repeating atrial
    activity), every patient; "atrial-or-patient" gates ``irregular`` where ``patient_gated``, else
    ``irregular_atrial``. Round 8: "atrial-unless-shown" gates ``irregular_atrial`` unless ``shown_s``
    (the patient's labelled beats marked hold S beats); "atrial-readable-else-patient" gates
    ``irregular_atrial`` only if ``lead_reads`` (the lead's unmarked beats show a repeating P wave),
    else ``irregular`` where ``patient_gated``. Round 9: with ``neighbours_power``, the patient's
    labelled beats vote first (:func:`patient_vote`; ``voters``: the features of every beat, the
    labelled beats, the labels), then the gate.
    """
    from ecgnet.adaptation import gate_irregular_rhythm

    if "neighbours_power" in RECIPES[recipe]:
        probabilities = patient_vote(probabilities, *voters, RECIPES[recipe]["neighbours_power"], RECIPES[recipe]["neighbours_k"])
    gate = RECIPES[recipe].get("af_gate")
    if gate in ("atrial-unless-shown", "atrial-readable-else-patient"):
        if shown_s:
            pass
        elif lead_reads or gate == "atrial-unless-shown":
            probabilities = gate_irregular_rhythm(probabilities, irregular_atrial)
        elif patient_gated:
            probabilities = gate_irregular_rhythm(probabilities, irregular)
    elif gate == "atrial" or (gate == "atrial-or-patient" and not patient_gated):
        probabilities = gate_irregular_rhythm(probabilities, irregular_atrial)
    elif gate == "atrial-or-patient" or (gate and (patient_gated or gate not in ("patient", "patient-premature"))):
        marks = irregular_premature if gate in ("premature", "patient-premature") else irregular
        probabilities = gate_irregular_rhythm(probabilities, marks)
    power = RECIPES[recipe].get("floor_power")
    if power is None:
        return probabilities.argmax(1)
    if not np.array_equal(floor_labels, labels):
        raise SystemExit(f"{record}: the floor's beats and the model's differ")
    if RECIPES[recipe].get("shown_only"):
        return shown_product(probabilities, floor_probabilities, power, shown)
    return product(probabilities, floor_probabilities, power).argmax(1)


def print_tables(records, shown, results, minutes):
    """Pooled Se / +P of every row: over all records, and over those with no S (no V) beat in the first minutes."""
    groups = {
        "all records": records,
        "no S beat in the first minutes": [r for r in records if shown[r][0] == 0],
        "no V beat in the first minutes": [r for r in records if shown[r][1] == 0],
    }
    total = sum(shown[r][3] for r in records)
    print(f"\n{len(records)} records; {total} beats scored after minute {minutes:g}")
    for group, members in groups.items():
        if not members:
            continue
        truth = sum(np.asarray(next(iter(results.values()))[r]) for r in members).sum(axis=1)
        print(f"\n{group}: {len(members)} records ({', '.join(members) if len(members) < len(records) else '...'}); "
              f"scored beats N {truth[0]}, S {truth[1]}, V {truth[2]}, F {truth[3]}, Q {truth[4]}")
        print(header())
        for name, per in results.items():
            print(row(name, sum(np.asarray(per[r]) for r in members)))


def tables_from_json(paths):
    """Print the tables of one or more ``--json`` files of the same records (e.g. the floor and the models run apart)."""
    results, shown, records, minutes = {}, {}, None, None
    for path in paths:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
        records, minutes = saved["records"], saved["minutes"]
        shown.update(saved["first_minutes"])
        results.update(saved["confusion"])
        for name, values in saved["seconds"].items():
            print(f"seconds per record, {name}: median {np.median(values):.1f}, max {np.max(values):.1f}")
    print_tables(records, shown, results, minutes)


def _fs(path):
    import wfdb

    return float(wfdb.rdheader(path).fs)


if __name__ == "__main__":
    main()
