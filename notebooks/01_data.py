# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 – ECG heartbeats and the MIT-BIH data
#
# _What an ECG and a heartbeat are, what the MIT-BIH Arrhythmia Database holds, and how one raw
# record becomes the 187-sample beats the models see._
#
# <a href="https://colab.research.google.com/github/ecgnet-org/ecgnet/blob/main/notebooks/01_data.ipynb" target="_parent"><img src="https://colab.research.google.com/assets/colab-badge.svg" alt="Open In Colab"/></a>

# %% [markdown]
# ## Setup
#
# In Colab the next cell fetches the repository and installs `ecgnet`; elsewhere, install it once
# from the repository root with `pip install -e .`, as the README does (it brings Jupyter). This
# notebook trains nothing: a CPU runtime is enough.

# %%
import sys

if "google.colab" in sys.modules:  # extra code – Colab only: fetch the repository and install ecgnet
    REPOSITORY = "/content/ecgnet"  # absolute: setup() below makes it the working directory
    # !test -d {REPOSITORY} || git clone --depth 1 https://github.com/ecgnet-org/ecgnet {REPOSITORY}
    # %pip install -q -e {REPOSITORY}
    if REPOSITORY not in sys.path:  # the running kernel does not see the fresh install yet
        sys.path.insert(0, REPOSITORY)

# %%
from ecgnet import notebook

env = notebook.setup()

# %% [markdown]
# ## Parameters
#
# `QUICK = True` uses the small real sample that ships in `ecgnet/data/sample/` (that is what the tests
# run); `QUICK = False` uses the whole kaggle split, downloaded and prepared on first use.

# %% tags=["parameters"]
QUICK = False                          # True: the committed sample only (fast, offline)
RECORD = "tests/fixtures/208_excerpt"  # a real 40-second excerpt of MIT-BIH record 208 (N, V and F beats), cut by hand
NORMAL_RECORD = "tests/fixtures/114_excerpt"  # an excerpt of record 114, whose normal beats show clear P and T waves
WINDOW = 0                             # which 10-second window of it we cut by hand
EXAMPLES_PER_CLASS = 4                 # beats drawn per class in the gallery

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ecgnet import data as ecg_data
from ecgnet.data import AAMI_MAP, CLASS_NAMES

# %% [markdown]
# ## What an ECG shows
#
# An electrocardiogram (ECG) records, at the skin, the voltage produced by the heart's electrical
# activity. Every heartbeat draws the same landmarks:
#
# - the **P wave**: the atria depolarise (and then contract), a small bump;
# - the **QRS complex**: the ventricles depolarise, a sharp spike whose tallest point is the **R
#   peak**; it is short (under 0.12 s) when the impulse travels the normal pathway;
# - the **T wave**: the ventricles repolarise (recover), a broader bump.
#
# Here is one normal beat of record 114, read with `wfdb` at its original 360 Hz, with the
# landmarks marked. The cardiologists' annotation locates the beat; R, P, Q, S and T are then
# found by simple search windows around it (R: the largest value within 50 ms, P: the largest
# value 0.1–0.3 s before, and so on), which is good enough for a clean normal beat, not a wave
# detector.

# %%
import wfdb


def read_record(path):
    """Lead MLII at 360 Hz, the R peaks of the annotated beats and their AAMI classes."""
    record = wfdb.rdrecord(path)
    annotations = wfdb.rdann(path, "atr")
    channel = record.sig_name.index("MLII") if "MLII" in record.sig_name else 0
    is_beat = np.isin(annotations.symbol, list(AAMI_MAP))
    labels = np.array([AAMI_MAP[s] for s in np.asarray(annotations.symbol)[is_beat]])
    print(f"{path}: leads {record.sig_name}, {record.fs:g} Hz, {record.sig_len / record.fs:.0f} s, "
          f"{len(labels)} annotated beats", {CLASS_NAMES[k]: int(v) for k, v in zip(*np.unique(labels, return_counts=True))})
    return record.p_signal[:, channel], record.fs, annotations.sample[is_beat], np.asarray(annotations.symbol)[is_beat]


signal_114, fs, peaks_114, symbols_114 = read_record(NORMAL_RECORD)
# a beat annotated "N" (not a bundle branch block) between two others, not at the edge of the excerpt
normal = [i for i in range(1, len(peaks_114) - 1) if set(symbols_114[i - 1:i + 2]) == {"N"}]
r = peaks_114[normal[len(normal) // 2]]


def landmark(lo_s, hi_s, largest=True):
    """The sample of the largest (or smallest) value between lo_s and hi_s seconds after the R peak."""
    lo, hi = r + int(lo_s * fs), r + int(hi_s * fs)
    segment = signal_114[lo:hi]
    return lo + int(np.argmax(segment) if largest else np.argmin(segment))


marks = {"P": landmark(-0.30, -0.10), "Q": landmark(-0.06, 0, largest=False), "R": landmark(-0.05, 0.05),
         "S": landmark(0, 0.06, largest=False), "T": landmark(0.12, 0.45)}
span = np.arange(r - int(0.45 * fs), r + int(0.6 * fs))
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot((span - r) / fs, signal_114[span], color="k", lw=1)
for name, sample in marks.items():
    ax.plot((sample - r) / fs, signal_114[sample], "o", color="tab:red")
    ax.annotate(name, ((sample - r) / fs, signal_114[sample]), textcoords="offset points",
                xytext=(0, 8 if name in "PRT" else -16), ha="center", weight="bold", color="tab:red")
ax.axvspan((marks["Q"] - r) / fs, (marks["S"] - r) / fs, color="tab:blue", alpha=0.15, label="QRS complex")
ax.set_xlabel("time from the R peak (s)")
ax.set_ylabel("MLII (mV)")
ax.set_title("One normal beat: P wave, QRS complex, T wave")
ax.legend(loc="upper right")
plt.show()

# %% [markdown]
# The time between two R peaks, the **R-R interval**, is the instantaneous heart period (60 bpm
# gives 1 s). Arrhythmias show up as a different *shape* (a wide, bizarre QRS for a ventricular
# beat) or a different *timing* (a premature beat arrives early: a short R-R before it, often a
# long pause after it). Keep both in mind: a 187-sample beat shows the shape, the R-R features
# (notebooks 03 and 05) add the timing.
#
# ## The MIT-BIH Arrhythmia Database
#
# [MIT-BIH](https://physionet.org/content/mitdb/1.0.0/) (Moody and Mark 2001) holds **48
# half-hour excerpts of two-lead ambulatory (Holter) ECG** recordings from **47 subjects** (records
# 201 and 202 come from the same man), digitised at **360 Hz** with 11-bit resolution over 10 mV.
# Two or more cardiologists annotated every beat (about 110,000 in total) with a symbol (`N`, `L`,
# `V`, `A`, ...). Most records have the modified limb lead II (MLII) as their first lead; it is
# the lead we use. Each record is three WFDB files: `.hea` (header), `.dat` (samples) and `.atr`
# (reference annotations).
#
# ## Beats and classes
#
# Kachuee, Fazeli and Sarrafzadeh (2018) cut every annotated beat of MIT-BIH into a fixed-length
# vector of **187 samples** (1.496 s at 125 Hz) scaled to [0, 1] and zero-padded at the end, and
# published them as the Kaggle "ECG Heartbeat Categorization Dataset". The labels are the five
# classes of the AAMI EC57 standard:
#
# | Label | Class | Meaning | MIT-BIH symbols |
# |---|---|---|---|
# | 0 | **N** | normal, left/right bundle branch block, escape beats | `N L R e j` |
# | 1 | **S** | supraventricular ectopic (premature beats from the atria) | `A a J S` |
# | 2 | **V** | ventricular ectopic (premature beats from the ventricles) | `V E` |
# | 3 | **F** | fusion of a ventricular and a normal beat | `F` |
# | 4 | **Q** | paced beats, fusion of paced and normal, unclassifiable | `/ f Q` |
#
# `ecgnet.data` holds this map:

# %%
print(CLASS_NAMES)
print({symbol: CLASS_NAMES[label] for symbol, label in AAMI_MAP.items()})

# %% [markdown]
# ## Loading the data in one call
#
# `ecg_data.load_split(name, download=True)` returns the training and test parts of a split as
# two `ecg_data.Beats`: `x` (beats), `y` (labels), `record`, `r_peak`, `rr` (the 3 R-R intervals
# in seconds; `rr_features()` derives the 6 R-R features), `centred` (a window centred on each
# R peak, notebook 05), `second_lead` and `source` (the file read). The first call downloads and prepares the data (`data/README.md` tells from where);
# later calls read the prepared files. `"sample"` is the small real sample committed
# with the repository.

# %%
train_part, test_part = ecg_data.load_split("sample" if QUICK else "kaggle", download=True)
x_train, y_train = train_part.x[..., None], train_part.y  # a channel axis for Keras
print("x_train:", x_train.shape, x_train.dtype, "values in", (float(x_train.min()), float(x_train.max())))
print("y_train:", y_train.shape, y_train.dtype, "labels", np.unique(y_train))
print("test beats:", test_part.x.shape)

# %% [markdown]
# `Beats` keeps its beats as `(n, 187)`; with the channel axis added they are `(n, 187, 1)`: `n`
# beats, 187 time steps, one channel (Keras' `(batch, steps, channels)` layout).
#
# **Why 87,556 / 21,890 and not Kaggle's 87,554 / 21,892?** All 48 records give 109,446 beats,
# exactly the class counts of the Kaggle files. Kaggle's files are one random stratified 80/20
# draw of those beats; ecgnet rebuilds the beats from the raw records and draws its own stratified
# 80/20 split (seed 0), which rounds the per-class shares slightly differently: the same beats,
# two beats more on the training side. The Kaggle CSV files carry no record names, so they cannot
# be matched beat by beat; the rebuilt split also knows each beat's record and R-R intervals.
#
# ### Class imbalance

# %%
counts = pd.DataFrame(
    {name: np.bincount(part.y, minlength=5) for name, part in (("train", train_part), ("test", test_part))},
    index=list(CLASS_NAMES),
)
counts["train %"] = (100 * counts["train"] / counts["train"].sum()).round(2)
counts

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(CLASS_NAMES, counts["train"], color=["tab:gray", "tab:orange", "tab:red", "tab:purple", "tab:blue"])
ax.set_yscale("log")
ax.set_ylabel("training beats (log scale)")
ax.set_title("Class counts of the training part")
for i, value in enumerate(counts["train"]):
    ax.text(i, value, f"{value:,}", ha="center", va="bottom")
plt.show()

# %% [markdown]
# Normal beats dominate: in the full data they are about 83% of all beats, while fusion beats (F)
# are under 1%. A model that always answers "N" is right most of the time and useless. This is
# why we report per-class sensitivity and positive predictivity (notebook 04). (The committed
# sample keeps the rare classes more frequent than in the full data, so that every class has some
# beats.)
#
# ### Example beats of each class
#
# Every beat starts at its R peak (the first samples are the end of the QRS complex), then shows
# the T wave, the next beat's P wave and, often, the next QRS, then zeros:

# %%
time_axis = np.arange(ecg_data.BEAT_LENGTH) / ecg_data.FS  # seconds (125 Hz)
rng = np.random.default_rng(0)
fig, axes = plt.subplots(1, 5, figsize=(16, 3), sharey=True)
for label, ax in enumerate(axes):
    members = np.flatnonzero(y_train == label)
    for index in rng.choice(members, size=min(EXAMPLES_PER_CLASS, len(members)), replace=False):
        ax.plot(time_axis, x_train[index, :, 0], lw=1)
    ax.set_title(f"{CLASS_NAMES[label]} ({len(members):,} beats)")
    ax.set_xlabel("time after the R peak (s)")
axes[0].set_ylabel("scaled amplitude")
plt.show()

# %% [markdown]
# Ventricular beats (V) have a wide QRS and a large T wave of opposite polarity. Supraventricular
# beats (S) look almost normal: what sets them apart is their timing, and a beat cut from its own
# R peak shows that only indirectly. It does not show its own P wave (which comes before the R
# peak), and the length of the cut segment does not depend on the beat: it is 1.2 times the
# *median* R-R of its 10-second window, the same for every beat of the window (step 4 below). What
# can differ is what falls inside that segment: after a premature beat the pause to the next beat
# is often long, so the next QRS comes late in the segment or not at all.
#
# ## From a raw record to a beat, step by step
#
# Now we redo what Kachuee et al. did, on one real 10-second window of record 208 (its first 40
# seconds are committed in `tests/fixtures/`).
#
# **Step 1: the raw signal and the annotations**: lead MLII at 360 Hz, and the reference beats
# whose symbol is in the AAMI map.

# %%
signal_360, fs, peaks_360, symbols = read_record(RECORD)
labels = np.array([AAMI_MAP[s] for s in symbols])
window_seconds = ecg_data.signals.WINDOW_SECONDS  # 10 s
start_360, stop_360 = int(WINDOW * window_seconds * fs), int((WINDOW + 1) * window_seconds * fs)
in_window = (peaks_360 >= start_360) & (peaks_360 < stop_360)

fig, ax = plt.subplots(figsize=(15, 3))
t_360 = np.arange(start_360, stop_360) / fs
ax.plot(t_360, signal_360[start_360:stop_360], lw=0.8, color="k")
for peak, label in zip(peaks_360[in_window], labels[in_window]):
    ax.annotate(CLASS_NAMES[label], (peak / fs, signal_360[peak]), textcoords="offset points",
                xytext=(0, 6), ha="center", color="tab:red" if label else "tab:green", weight="bold")
ax.set_xlabel("time in the record (s)")
ax.set_ylabel("MLII (mV)")
ax.set_title(f"Seconds {start_360 / fs:.0f}-{stop_360 / fs:.0f} at 360 Hz, with the AAMI class of each beat")
plt.show()

# %% [markdown]
# **Step 2: resample 360 Hz → 125 Hz.** A polyphase filter (`scipy.signal.resample_poly` with
# ratio 25/72) low-passes the signal before dropping samples, so nothing above 62.5 Hz folds back
# as aliasing. R peaks move to `round(sample × 125 / 360)`.

# %%
signal_125 = ecg_data.resample_to_125(signal_360, fs)
peaks_125 = np.round(peaks_360 * ecg_data.FS / fs).astype(int)
print(f"{len(signal_360)} samples at {fs:g} Hz -> {len(signal_125)} samples at {ecg_data.FS} Hz")

window_length = window_seconds * ecg_data.FS  # 1250 samples
start, stop = WINDOW * window_length, (WINDOW + 1) * window_length
fig, ax = plt.subplots(figsize=(15, 3))
ax.plot(t_360[: int(2 * fs)], signal_360[start_360:start_360 + int(2 * fs)], lw=2, alpha=0.4, label="360 Hz")
ax.plot(np.arange(start, start + 2 * ecg_data.FS) / ecg_data.FS, signal_125[start:start + 2 * ecg_data.FS],
        ".-", ms=4, lw=0.8, label="125 Hz")
ax.set_xlabel("time (s)")
ax.legend()
ax.set_title("The first 2 seconds of the window, before and after resampling")
plt.show()

# %% [markdown]
# **Step 3: scale the 10-second window to [0, 1]** with its own minimum and maximum. This removes
# differences of gain and baseline between records (and between moments of one record).

# %%
window = signal_125[start:stop]
low, high = window.min(), window.max()
scaled = (signal_125 - low) / (high - low)  # scale the whole signal with this window's min and max
peaks_in_window = peaks_125[(peaks_125 >= start) & (peaks_125 < stop)]
print(f"window min {low:.3f} mV, max {high:.3f} mV; {len(peaks_in_window)} R peaks in it")

# %% [markdown]
# **Step 4: the nominal heart period T** is the median of the R-R intervals that start in the
# window. Every beat of the window keeps the same length, **1.2 T** samples from its own R peak
# (at most 187).

# %%
rr_in_window = np.diff(peaks_125)[(peaks_125[:-1] >= start) & (peaks_125[:-1] < stop)]
period = np.median(rr_in_window)
segment_length = min(int(round(ecg_data.signals.SEGMENT_PERIODS * period)), ecg_data.BEAT_LENGTH)
print(f"R-R intervals in the window (samples at 125 Hz): {rr_in_window}")
print(f"T = {period:.1f} samples = {period / ecg_data.FS:.3f} s ({60 * ecg_data.FS / period:.0f} bpm); "
      f"1.2 T = {segment_length} samples for every beat of this window")

fig, ax = plt.subplots(figsize=(15, 3))
ax.plot(np.arange(start, stop) / ecg_data.FS, scaled[start:stop], color="k", lw=0.8)
for peak in peaks_in_window:
    ax.axvspan(peak / ecg_data.FS, (peak + segment_length) / ecg_data.FS, alpha=0.15, color="tab:blue")
    ax.axvline(peak / ecg_data.FS, color="tab:red", lw=0.8)
ax.set_xlabel("time (s)")
ax.set_ylabel("scaled to [0, 1]")
ax.set_title("R peaks (red) and the 1.2 T segment that each beat keeps (blue)")
plt.show()

# %% [markdown]
# **Step 5: cut and pad.** Each segment is clipped to [0, 1] (a segment that runs into the next
# window may leave this window's range) and zero-padded to 187 samples:

# %%
def cut_beat(r_peak):
    segment = np.clip(scaled[r_peak:r_peak + segment_length], 0.0, 1.0)
    beat = np.zeros(ecg_data.BEAT_LENGTH, dtype=np.float32)
    beat[: len(segment)] = segment
    return beat


beats_by_hand = np.stack([cut_beat(peak) for peak in peaks_in_window])
print("beats cut by hand:", beats_by_hand.shape)

fig, axes = plt.subplots(1, min(4, len(beats_by_hand)), figsize=(15, 2.5), sharey=True)
for ax, beat, peak in zip(np.atleast_1d(axes), beats_by_hand, peaks_in_window):
    label = labels[np.searchsorted(peaks_125, peak)]
    ax.plot(time_axis, beat)
    ax.axvline(segment_length / ecg_data.FS, color="gray", ls="--", lw=0.8)
    ax.set_title(f"class {CLASS_NAMES[label]}; padding after the dashed line")
    ax.set_xlabel("s")
plt.show()

# %% [markdown]
# The library does these steps in `ecg_data.segment_beats` (and `beats_from_record` /
# `build_mitbih_beats` wrap the reading around it). On the same input it gives the same beats:

# %%
library_beats = ecg_data.segment_beats(signal_125, peaks_125)
in_window_125 = (peaks_125 >= start) & (peaks_125 < stop)
print("same beats as the library:", np.allclose(beats_by_hand, library_beats[in_window_125], atol=1e-6))

# %% [markdown]
# (On all 48 records, with the last beat of each record dropped because it has no following R-R
# interval, these rules give exactly the Kaggle class counts: 109,446 beats.)
#
# ## Intra-patient versus inter-patient splits
#
# The kaggle test part is a random 20% of all beats. Each of the 47 patients has hundreds to
# thousands of beats, and a patient's beats look alike, so almost every test beat has "siblings"
# from the same patient in the training data. A model can score well by recognising patients
# rather than by learning what makes a beat ventricular or supraventricular: this **intra-patient**
# split flatters it, and the score says little about a new patient.
#
# de Chazal, O'Dwyer and Reilly (2004) proposed the **inter-patient** split now used as the honest
# benchmark: train on 22 records (**DS1**), test on 22 other records (**DS2**), with the four paced
# records (102, 104, 107, 217) left out, as AAMI recommends. No patient is on both sides.

# %%
print("DS1:", " ".join(ecg_data.DS1))
print("DS2:", " ".join(ecg_data.DS2))
print("paced, left out:", " ".join(ecg_data.PACED_RECORDS))
print("records in both:", set(ecg_data.DS1) & set(ecg_data.DS2) or "none")

# %% [markdown]
# The loaded beats know their record, so we can count how many test patients the kaggle split
# also shows the model during training, and what DS1 and DS2 hold:

# %%
train_records, test_records = set(train_part.record), set(test_part.record)
print(f"kaggle split: {len(test_records & train_records)} of the {len(test_records)} test records "
      "also have beats in the training part")
all_records = np.concatenate([train_part.record, test_part.record])
all_labels = np.concatenate([train_part.y, test_part.y])
pd.DataFrame({
    name: np.bincount(all_labels[np.isin(all_records, records)], minlength=5)
    for name, records in (("DS1", ecg_data.DS1), ("DS2", ecg_data.DS2))
}, index=list(CLASS_NAMES))

# %% [markdown]
# Those totals hide how the rare classes are spread over patients. A heatmap (seaborn) of the
# beats of every record and class, DS1 left of the white line, DS2 right of it; a blank cell is a
# class the record does not have, and the colours are on a log scale:

# %%
import seaborn as sns
from matplotlib.colors import LogNorm

per_record = pd.crosstab(pd.Series(all_records, name="record"),
                         pd.Series(np.asarray(CLASS_NAMES)[all_labels], name="class"))
per_record = per_record.reindex(columns=list(CLASS_NAMES), fill_value=0)
order = [record for record in ecg_data.DS1 + ecg_data.DS2 if record in per_record.index]
table = per_record.loc[order].T  # one row per class, one column per record
fig, ax = plt.subplots(figsize=(16, 3.6))
sns.heatmap(table, mask=table == 0, norm=LogNorm(vmin=1, vmax=max(2, table.values.max())), cmap="viridis",
            annot=True, fmt="d", annot_kws={"fontsize": 6, "rotation": 90},
            cbar_kws={"label": "beats (log scale)"}, ax=ax)
ax.axvline(sum(record in ecg_data.DS1 for record in order), color="white", lw=3)
ax.set_title("Beats per record and class: DS1 | DS2 (the paced records left out)")
plt.show()

# %% [markdown]
# On the full data: one DS1 record (208) holds 373 of DS1's 415 F beats, and one DS2 record (213)
# holds 362 of DS2's 388; one DS2 record (232) holds 1,381 of its 1,836 S beats. On the
# inter-patient split a model learns a rare class from one or two patients and is tested on one or
# two others (notebook 05).
#
# ## Summary
#
# - A heartbeat is a P wave, a QRS complex and a T wave; arrhythmias change the beat's shape, its
#   timing, or both.
# - MIT-BIH has 48 half-hour records of 47 patients at 360 Hz with every beat annotated; the AAMI
#   standard groups the symbols into five classes, N, S, V, F and Q, heavily imbalanced.
# - A beat is cut from its R peak: resample to 125 Hz, scale each 10-second window to [0, 1],
#   keep 1.2 × the window's median R-R, pad to 187 samples (`ecg_data.segment_beats`).
# - `ecg_data.load_split(...)` returns a split in one call. The kaggle split mixes every patient's
#   beats into both parts; the inter-patient split (DS1 → DS2) tests on new patients.
#
# ## Exercises
#
# 1. Set `WINDOW = 2` and run the by-hand cut again. Which beats of this window are not N, and
#    how does the R-R before and after them compare with `T`?
#    *Hint:* `labels` holds every beat's class, `np.diff(peaks_125)` the R-R intervals in
#    samples at 125 Hz; `in_window_125` marks the beats of the window.
# 2. Below what heart rate (in bpm) does 1.2 T exceed 187 samples, so that beats are cut short by
#    the 187-sample limit? Check your answer with the `T` printed in step 4.
#    *Hint:* T is in samples at 125 Hz, and a heart rate of `60 * 125 / T` bpm.
# 3. Plot ten S beats and ten N beats of the same record (use `train_part.record`). What, if
#    anything, tells them apart by eye?
#    *Hint:* pick the record with the most S beats:
#    `pd.Series(train_part.record[y_train == 1]).value_counts().index[0]`.
#
# <details><summary>Solution 1</summary>
#
# After setting `WINDOW = 2`, run the cells from step 1 to the library check again, then:
#
# ```python
# rr = np.diff(peaks_125)  # rr[k] is the interval from beat k to beat k + 1
# for k in np.flatnonzero(in_window_125):
#     if labels[k] != 0 and 0 < k < len(rr):
#         print(f"{CLASS_NAMES[labels[k]]}: R-R before {rr[k - 1]}, after {rr[k]} (T = {period:g})")
# ```
#
# In this excerpt of record 208, window 2 has T = 68 samples (110 bpm) and five beats that are
# not N: four V beats and one F beat. Each V beat comes early (57 to 61 samples after the
# previous R peak) and is followed by a longer interval (68 to 74): a premature beat and its
# pause. The F beat comes on time (68 before, 71 after): a fusion beat is a ventricular beat
# that fires just as the normal impulse arrives, so its timing looks normal.
#
# </details>
#
# <details><summary>Solution 2</summary>
#
# 1.2 T > 187 when T > 187 / 1.2 = 155.8 samples = 1.25 s, that is below 60 × 125 / 155.8 ≈ 48
# bpm. In step 4's window T = 69.5 samples (108 bpm) and 1.2 T = 83 samples, far from the
# limit; only a slow heart rate (bradycardia) meets it, and then every beat of the window is
# cut at 187 samples, short of 1.2 T.
#
# </details>
#
# <details><summary>Solution 3</summary>
#
# ```python
# records = train_part.record
# record = pd.Series(records[y_train == 1]).value_counts().index[0]  # the record with the most S beats
# fig, axes = plt.subplots(1, 2, figsize=(14, 3), sharey=True)
# for ax, label in zip(axes, (0, 1)):
#     chosen = np.flatnonzero((records == record) & (y_train == label))[:10]
#     ax.plot(time_axis, x_train[chosen, :, 0].T, lw=0.8)
#     ax.set_title(f"record {record}: {len(chosen)} {CLASS_NAMES[label]} beats")
#     ax.set_xlabel("time after the R peak (s)")
# plt.show()
# ```
#
# What to look for: the QRS and T wave of an S beat take the normal pathway, so the start of
# the segment looks much like the N beats'. Where they differ, it is mostly timing seen
# indirectly: where the next QRS falls in the segment, later after an S beat when a pause
# follows it. That is why the models also get the R-R intervals (notebooks 03 and 05).
#
# </details>
#
# Next, notebook 02 builds the network.
#
# **References.** Moody and Mark (2001), "The impact of the MIT-BIH Arrhythmia Database", IEEE
# Eng. Med. Biol. 20(3); Goldberger et al. (2000), PhysioNet, Circulation 101(23); Kachuee,
# Fazeli and Sarrafzadeh (2018), "ECG Heartbeat Classification: A Deep Transferable
# Representation", IEEE ICHI; de Chazal, O'Dwyer and Reilly (2004), "Automatic classification of
# heartbeats using ECG morphology and heartbeat interval features", IEEE TBME 51(7); ANSI/AAMI
# EC57.
