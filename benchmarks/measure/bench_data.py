"""Benchmark the data layer on the real MIT-BIH records and print its figures.

    python -m benchmarks.measure.bench_data [--raw data/mitdb]

1. rebuild all beats from the raw records (``build_mitbih_beats``, 2 processes);
2. per-class counts against the Kaggle files (Kachuee et al. 2018);
3. write the ``"kaggle"`` training split (87,556 real beats x 188, ``%.18e``,
   the size of ``mitbih_train.csv``) to a temporary folder and time
   ``load_mitbih_csv`` without cache and then a second, cached load.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ecgnet.data import CLASS_NAMES, build_mitbih_beats, default_data_dir, load_mitbih_csv, split_beats, write_beats_csv

KAGGLE = {"N": 90589, "S": 2779, "V": 7236, "F": 803, "Q": 8039}


def main(argv=None):
    parser = argparse.ArgumentParser(description="ecgnet data benchmark")
    parser.add_argument("--raw", default=os.environ.get("ECGNET_MITDB_DIR", str(default_data_dir() / "mitdb")),
                        help="the 48 raw MIT-BIH records (default $ECGNET_MITDB_DIR, else DATA_DIR/mitdb)")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (figures are wall-clock)")
    start = time.perf_counter()
    beats = build_mitbih_beats(args.raw, progress=False, processes=args.processes)
    rebuild = time.perf_counter() - start
    print(f"rebuild: {len(beats)} beats from {len(set(beats.record))} records in {rebuild:.2f} s "
          f"({args.processes} processes)")
    counts = np.bincount(beats.y, minlength=5)
    total = sum(KAGGLE.values())
    print(f"  total {len(beats):7d} vs Kaggle {total:7d}  ({100 * (len(beats) - total) / total:+.2f}%)")
    for name, count in zip(CLASS_NAMES, counts):
        print(f"  {name}     {count:7d} vs Kaggle {KAGGLE[name]:7d}  ({100 * (count - KAGGLE[name]) / KAGGLE[name]:+.2f}%)")

    train, _ = split_beats(beats, "kaggle", seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ECGNET_CACHE_DIR"] = str(Path(tmp) / "cache")
        path = write_beats_csv(Path(tmp) / "mitbih_train.csv", train.x, train.y)
        size = path.stat().st_size / 1e6
        start, cpu = time.perf_counter(), time.process_time()
        x, y = load_mitbih_csv(path)  # parses and fills the cache
        first, first_cpu = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        x2, _ = load_mitbih_csv(path)
        cached = time.perf_counter() - start
        assert np.array_equal(x, x2) and np.array_equal(y, train.y)
        print(f"load_mitbih_csv: {x.shape[0]} x 188 ({size:.0f} MB) in {first:.2f} s wall, {first_cpu:.2f} s CPU "
              f"(load average now {os.getloadavg()[0]:.1f}); "
              f"cached second load {cached:.3f} s")


if __name__ == "__main__":
    main()
