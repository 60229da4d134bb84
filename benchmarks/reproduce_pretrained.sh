#!/usr/bin/env bash
# Rebuild the two shipped models from the raw MIT-BIH records and measure them on their test splits.
# Usage: bash benchmarks/reproduce_pretrained.sh [RAW_DIR]   (default ../shared/data/mitdb)
# Each training run takes roughly 10-25 minutes on 2 CPU cores (deterministic on CPU: the same
# seed gives the same weights); the evaluations print the
# per-class AAMI table that the README's model cards quote.
set -euo pipefail
cd "$(dirname "$0")/.."
raw=${1:-../shared/data/mitdb}

python -m ecgnet prepare --raw "$raw" --split kaggle --out data/mitbih-kaggle
python -m ecgnet prepare --raw "$raw" --split inter-patient --out data/mitbih-interpatient

# ecgnet-mitbih: kaggle split (random 80/20 beats), beat + R-R features.
python -m ecgnet train --data data/mitbih-kaggle --split kaggle --preset small --rr --no-augment \
    --imbalance none --epochs 30 --out runs/ecgnet-mitbih
python -m ecgnet evaluate --model runs/ecgnet-mitbih/model.keras --data data/mitbih-kaggle \
    --out runs/ecgnet-mitbih/evaluation

# ecgnet-mitbih-interpatient: DS1 -> DS2, beat + record-relative channel + R-R features;
# validation = whole held-out DS1 records.
python -m ecgnet train --data data/mitbih-interpatient --split inter-patient --preset small --relative \
    --epochs 15 --out runs/ecgnet-mitbih-interpatient
python -m ecgnet evaluate --model runs/ecgnet-mitbih-interpatient/model.keras --data data/mitbih-interpatient \
    --out runs/ecgnet-mitbih-interpatient/evaluation

# Copy both into ecgnet/weights/ with their model cards.
python benchmarks/ship_pretrained.py ecgnet-mitbih runs/ecgnet-mitbih --train-command \
    "python -m ecgnet train --data data/mitbih-kaggle --split kaggle --preset small --rr --no-augment --imbalance none --epochs 30 --out runs/ecgnet-mitbih"
python benchmarks/ship_pretrained.py ecgnet-mitbih-interpatient runs/ecgnet-mitbih-interpatient --train-command \
    "python -m ecgnet train --data data/mitbih-interpatient --split inter-patient --preset small --relative --epochs 15 --out runs/ecgnet-mitbih-interpatient"
