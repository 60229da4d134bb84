"""A local PhysioNet-like mirror of five real MIT-BIH records, for tests that download.

The committed excerpts of ``tests/fixtures`` are served under their record
names (114 and 208 are in DS1, 232 and 233 in DS2, 217 is paced), laid out as
``MIRROR/mitdb/1.0.0/`` with ``RECORDS`` and ``SHA256SUMS.txt``. The
``physionet`` fixture in ``conftest.py`` serves it on 127.0.0.1.
"""

import shutil

# AAMI beats of each excerpt (tests/fixtures/README.md), less the last beat of each record
BEATS = {"208": 40 + 22 + 8 - 1, "114": 18 - 1, "232": 10 + 18 - 1, "217": 24 - 1, "233": 72 + 30 + 2 - 1}


def write_records(fixtures_dir, folder, names=tuple(BEATS)):
    """Copy the excerpts into ``folder`` as records ``208``, ``114``, ... (header renamed), with RECORDS."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        header = (fixtures_dir / f"{name}_excerpt.hea").read_text().replace(f"{name}_excerpt", name)
        (folder / f"{name}.hea").write_text(header)
        for ext in (".dat", ".atr"):
            shutil.copyfile(fixtures_dir / f"{name}_excerpt{ext}", folder / f"{name}{ext}")
    (folder / "RECORDS").write_text("\n".join(names) + "\n")
    return folder
