#!/usr/bin/env bash
# Record-wise 5-fold cross-validation of DS1: the README's table "Record-wise cross-validation of DS1".
# Usage: bash benchmarks/measure/cross_validate_interpatient.sh [RAW_DIR]   (default data/mitdb)
# About 35 runs of 4-5 minutes on 2 CPU cores (under 3 hours). Deterministic on CPU. DS2 is never read:
# every figure is on held-out DS1 records.
set -euo pipefail
cd "$(dirname "$0")/../.."
raw=${1:-data/mitdb}

# --second-lead keeps everything else in the .npz files as it was, and adds the other lead.
python -m ecgnet prepare --raw "$raw" --split inter-patient --second-lead --out data/mitbih-interpatient

fold_runs() {  # fold_runs NAME [train flags...]: five fold runs into runs/NAME-f1 .. runs/NAME-f5
    local name=$1
    shift
    for k in 1 2 3 4 5; do
        python -m ecgnet train --data data/mitbih-interpatient --split inter-patient --preset small \
            --rr-features relative --epochs 15 --validation-seed 0 --validation-fold $k/5 "$@" --out runs/$name-f$k
    done
}

fold_runs cv-prev --relative --previous-beat --seed 0        # the shipped recipe
fold_runs cv-prev-s1 --relative --previous-beat --seed 1     # the same, another seed
fold_runs cv-lead2 --relative --previous-beat --second-lead --seed 0
fold_runs cv-rel-s0 --relative --seed 0                      # without the previous beat
fold_runs cv-rel-s1 --relative --seed 1
for k in 1 2 3 4 5; do
    python -m ecgnet ensemble --runs runs/cv-prev-f$k runs/cv-prev-s1-f$k --data data/mitbih-interpatient \
        --out runs/cv-prev-ens-f$k
done

python -m benchmarks.measure.bench_rr_only
python -m benchmarks.measure.bench_rr_fusion --data data/mitbih-interpatient runs/cv-prev-f{1,2,3,4,5}
for name in cv-prev cv-prev-s1 cv-prev-ens cv-lead2 cv-rel-s0 cv-rel-s1; do
    python -m benchmarks.measure.compare_runs runs/$name-f{1,2,3,4,5} --pool runs/$name-f{1,2,3,4,5}
done
