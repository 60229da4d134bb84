"""The benchmarks package: every script imports and parses its arguments, every quoted command names a script, and
the scripts that stood beside the library now call it.

The scripts' own runs take minutes to hours; here each one is imported and
asked for ``--help`` (its imports and argument parser), and the two pieces
that replaced hand-written copies of library code are checked against
independent references: the fusion against the renormalised product in
NumPy, the beats of ``bench_more_patients`` against the annotations read
with wfdb directly.
"""

import importlib
import re
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT

BENCHMARKS = REPO_ROOT / "benchmarks"
MODULES = sorted(
    ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
    for path in BENCHMARKS.glob("*/*.py") if path.name != "__init__.py"
)
SCRIPTS = sorted(BENCHMARKS.glob("*/*.sh"))
PAGES = [REPO_ROOT / "README.md", REPO_ROOT / "README.ko.md", BENCHMARKS / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")),
         *sorted((REPO_ROOT / "ecgnet" / "weights").glob("*.json")), *sorted((REPO_ROOT / "notebooks").glob("*.py")),
         *sorted(BENCHMARKS.rglob("*.py")), *SCRIPTS]


@pytest.fixture
def benchmarks_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO_ROOT))


def test_a_package_of_three_groups_without_path_tricks():
    assert {p.name for p in BENCHMARKS.iterdir() if p.is_dir() and p.name != "__pycache__"} == {"measure", "experiments", "release"}
    for folder in (BENCHMARKS, *(p for p in BENCHMARKS.iterdir() if p.is_dir() and p.name != "__pycache__")):
        assert (folder / "__init__.py").is_file(), folder
    assert sorted(p.name for p in BENCHMARKS.glob("*.py")) == ["__init__.py"] and len(MODULES) == 24
    for path in [*BENCHMARKS.rglob("*.py"), *SCRIPTS]:
        assert "sys.path" not in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_quoted_command_names_a_script(page):
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"python3? benchmarks/", text), "run the benchmarks as modules: python -m benchmarks.GROUP.NAME"
    for module in re.findall(r"python -m (benchmarks(?:\.\w+)+)", text):
        assert module in MODULES, f"{page.name}: no module {module}"
    for path in re.findall(r"benchmarks/[\w/]+\.(?:py|sh)", text):
        assert (REPO_ROOT / path).is_file(), f"{page.name}: no file {path}"


@pytest.mark.parametrize("module", MODULES)
def test_each_script_imports_and_parses_help(module, benchmarks_importable, monkeypatch, capsys):
    main = importlib.import_module(module).main
    monkeypatch.setattr(sys, "argv", [module, "--help"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_cv_fusion_is_the_renormalised_product(benchmarks_importable):
    from benchmarks.experiments.cv_fusion import fuse

    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(5), 64), rng.dirichlet(np.ones(5), 64)
    product = p * q
    np.testing.assert_allclose(fuse(p, q), product / product.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-6)


def test_more_patients_reads_beats_with_the_library(benchmarks_importable, fixtures_dir, tmp_path):
    import wfdb

    from benchmarks.measure.bench_more_patients import build, inputs
    from ecgnet.data import AAMI_MAP, CENTRED_LENGTH

    data = build([("mitdb", fixtures_dir, "208_excerpt"), ("mitdb", fixtures_dir, "233_excerpt")], tmp_path)
    expected = []
    for name in ("208_excerpt", "233_excerpt"):
        annotation = wfdb.rdann(str(fixtures_dir / name), "atr")
        labels = [AAMI_MAP[s] for s in annotation.symbol if s in AAMI_MAP]
        expected += labels[1:-1]  # no previous R-R for the first beat, no next one for the last
    np.testing.assert_array_equal(data["y"], expected)
    assert data["win"].shape == data["rel"].shape == (len(expected), CENTRED_LENGTH)
    assert inputs(data, "rr6+win+rel").shape == (len(expected), 6 + 2 * len(range(0, CENTRED_LENGTH, 3)))
    for name in ("mitdb/208_excerpt", "mitdb/233_excerpt"):  # R-R against the record's own mean
        rr3 = data["rr"][data["group"] == name, :3]
        assert abs(np.mean(rr3[:, 0]) - 1) < 0.02


def test_adapt_patients_product_is_the_product_of_experts_layer(benchmarks_importable):
    import keras

    from benchmarks.experiments.adapt_patients import product
    from ecgnet.layers import ProductOfExperts

    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(5), 64), rng.dirichlet(np.ones(5), 64)
    q[:4, 2] = 0.0  # an expert sure that a class is absent
    q /= q.sum(axis=1, keepdims=True)
    layer = keras.ops.convert_to_numpy(ProductOfExperts()([p.astype("float32"), q.astype("float32")]))
    np.testing.assert_allclose(product(p, q, 1.0), layer, atol=1e-5)
    half = p * np.sqrt(np.clip(q, 1e-7, 1.0))
    np.testing.assert_allclose(product(p, q, 0.5), half / half.sum(axis=1, keepdims=True), atol=1e-6)


def test_adapt_patients_vote_of_the_patients_beats_by_hand(benchmarks_importable):
    """Labelled beats N at 0 and 2, V at 10 (one feature), k 2: round 9's vote worked out by hand."""
    from benchmarks.experiments.adapt_patients import patient_neighbours

    features = np.array([[0.0], [2.0], [10.0], [1.0], [8.0], [9.0]])
    labelled = np.array([True, True, True, False, False, False])
    labels = np.array([0, 0, 2, -1, -1, -1])
    model = np.array([[0.2, 0, 0.8, 0, 0], [0.2, 0, 0.8, 0, 0], [0.2, 0, 0.8, 0, 0],
                      [0.3, 0, 0.6, 0.1, 0], [0.5, 0, 0.4, 0.1, 0], [0.3, 0, 0.2, 0.5, 0]])
    voted = patient_neighbours(model, features, labelled, labels, k=2)
    # beat at 1: its 2 nearest labelled beats are both N (distances 1 and 1): q = (2 * 1 + 1) / (2 + 2) for N,
    # 1 / 4 for V; the shown mass 0.9 shared as 0.3 * 3/4 : 0.6 * 1/4; F (not shown) keeps 0.1
    np.testing.assert_allclose(voted[3], [0.9 * 0.225 / 0.375, 0, 0.9 * 0.15 / 0.375, 0.1, 0], atol=1e-12)
    # beat at 8: V at distance 2, N at distance 6 (weights 1/2 and 1/6): vote V 3/4, N 1/4, q V 5/8, N 3/8
    n, v = 0.5 * 3 / 8, 0.4 * 5 / 8
    np.testing.assert_allclose(voted[4], [0.9 * n / (n + v), 0, 0.9 * v / (n + v), 0.1, 0], atol=1e-12)
    assert voted[3].argmax() == 0 and voted[4].argmax() == 2
    np.testing.assert_array_equal(voted[5], model[5])  # called F, which the patient did not show: left alone
    np.testing.assert_allclose(patient_neighbours(model, features, labelled, labels, k=2, power=0.0), model, atol=1e-12)


def test_adapt_patients_vote_is_scikit_learns_neighbours_and_never_touches_an_unshown_class(benchmarks_importable):
    from sklearn.neighbors import KNeighborsClassifier

    from benchmarks.experiments.adapt_patients import patient_neighbours

    rng = np.random.default_rng(4)
    features = [rng.normal(size=(300, 6)) * rng.uniform(0.1, 10, 6), rng.normal(size=(300, 4))]
    labelled = np.arange(300) < 120
    labels = np.where(rng.random(300) < 0.7, 0, 2)  # the patient showed N and V only
    model = rng.dirichlet(np.ones(5), size=300)
    voted = patient_neighbours(model, features, labelled, labels, k=3)
    np.testing.assert_allclose(voted.sum(1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(voted[:, [1, 3, 4]], model[:, [1, 3, 4]])  # S, F, Q never changed
    unshown = ~np.isin(model.argmax(1), [0, 2])
    assert unshown.any() and np.array_equal(voted[unshown], model[unshown])
    # the reference: scikit-learn's vote on the features standardised by the labelled beats, by hand
    space = np.concatenate([(f - f[labelled].mean(0)) / f[labelled].std(0) for f in features], axis=1)
    reference = KNeighborsClassifier(3, weights="distance").fit(space[labelled], labels[labelled]).predict_proba(space)
    q = (3 * reference + 1) / (3 + 2)
    shown = ~unshown
    product = model[:, [0, 2]] * q
    expected = product / product.sum(1, keepdims=True) * model[:, [0, 2]].sum(1, keepdims=True)
    np.testing.assert_allclose(voted[shown][:, [0, 2]], expected[shown], atol=1e-10)


def test_adapt_patients_prior_takes_the_class_weights_back_out(benchmarks_importable):
    """A head fitted with the patient's class weights count ** -balance, plus prior_offsets, is the unweighted fit.

    Gaussian classes of one covariance, where logistic regression is the right
    model: weighting a class by w moves only its bias, by log w.
    """
    from benchmarks.experiments.adapt_patients import prior_offsets
    from ecgnet.adaptation import _fit_head, _sample_weights

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [4000, 200, 800])
    x = rng.normal(size=(len(y), 2)) + np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.5]])[y]
    start = np.zeros((2, 5)), np.zeros(5)
    plain_kernel, plain_bias = _fit_head(x, y, np.ones(len(y)), *start, anchor=0.0, max_iterations=500)
    kernel, bias = _fit_head(x, y, _sample_weights(y, np.zeros(0, np.int64), 0.5, 1.0), *start, anchor=0.0,
                             max_iterations=500)
    corrected = bias + prior_offsets(y, 0.5)
    assert np.abs(bias[1:3] - bias[0] - (plain_bias[1:3] - plain_bias[0])).min() > 0.5  # the weights moved the biases
    # softmax weights are known up to a constant added to every class: compare each class with N
    np.testing.assert_allclose(kernel[:, 1:3] - kernel[:, :1], plain_kernel[:, 1:3] - plain_kernel[:, :1], atol=0.15)
    np.testing.assert_allclose(corrected[1:3] - corrected[0], plain_bias[1:3] - plain_bias[0], atol=0.15)


def test_noise_gate_neighbour_correlation_is_the_best_pairwise_correlation_nearby(benchmarks_importable):
    """Against np.corrcoef over every pair within the neighbourhood; a beat unlike the rest has no look-alike."""
    from benchmarks.measure.bench_noise_gate import neighbour_correlation

    rng = np.random.default_rng(0)
    windows = rng.normal(size=(40, 30)) + np.sin(np.linspace(0, 6, 30))
    pairs = np.corrcoef(windows)
    far = np.abs(np.subtract.outer(np.arange(40), np.arange(40)))
    reference = np.where((far >= 1) & (far <= 3), pairs, -np.inf).max(axis=1)
    np.testing.assert_allclose(neighbour_correlation(windows, neighbours=3), reference, atol=1e-9)
    t = np.linspace(-1, 1, 60)
    beats = np.tile(np.exp(-(t / 0.1) ** 2), (11, 1))  # the same QRS eleven times, one replaced by a slow swing
    beats[5] = np.sin(np.pi * t)
    found = neighbour_correlation(beats, neighbours=5)
    assert found[5] < 0.2 and np.allclose(np.delete(found, 5), 1.0)


def test_noise_gate_beat_windows_are_the_librarys_without_their_last_sample(benchmarks_importable):
    """The benchmark reads the library's windows (one filter, one cut); both against scipy's filter and indexing by hand."""
    from scipy.signal import butter, sosfiltfilt

    from benchmarks.measure.bench_noise_gate import beat_windows as bench_windows
    from ecgnet.plausibility import SEARCH_SECONDS, beat_windows

    fs = 360.0
    rng = np.random.default_rng(1)
    signal = np.cumsum(rng.normal(size=3600)) * 0.01 + np.sin(np.arange(3600) / fs * 2 * np.pi * 1.2)
    peaks = np.array([5, 400, 1800, 3590])  # the first and last windows run past the ends
    filtered = sosfiltfilt(butter(2, (0.5, 40.0), btype="band", fs=fs, output="sos"), signal)
    padded = np.concatenate([np.repeat(filtered[:1], 200), filtered, np.repeat(filtered[-1:], 200)])
    expected = np.stack([padded[200 + p - 90: 200 + p + 162] for p in peaks])  # 0.25 s before, 0.45 s after, half-open
    np.testing.assert_allclose(bench_windows(signal, fs, peaks), expected, atol=1e-12)
    qrs = beat_windows(signal, fs, peaks)
    half = int(round(SEARCH_SECONDS * fs))
    assert qrs.shape == (4, 2 * half + 1)
    np.testing.assert_allclose(qrs, np.stack([padded[200 + p - half: 200 + p + half + 1] for p in peaks]), atol=1e-12)


def test_noise_gate_stretch_median_is_the_median_of_the_beats_around_within_a_record(benchmarks_importable):
    from benchmarks.measure.bench_noise_gate import stretch_median

    values = np.array([5.0, 1, 9, 2, 7, 3, 100, 100, 100])
    records = np.array(["a"] * 6 + ["b"] * 3)
    padded = lambda v, i, k: np.concatenate([[v[0]] * k, v, [v[-1]] * k])[i : i + 2 * k + 1]  # ends repeated
    expected = [np.median(padded(values[:6], i, 2)) for i in range(6)] + [100.0] * 3
    np.testing.assert_allclose(stretch_median(values, records, beats=2), expected)


def test_bench_noise_writes_each_beat_with_its_noisy_lead_and_probabilities(benchmarks_importable, tmp_path):
    from types import SimpleNamespace

    from benchmarks.measure.bench_noise import write_beats

    part = SimpleNamespace(record=np.array(["106", "106", "208"]), r_peak=np.array([10, 400, 20]), y=np.array([0, 2, 0]))
    probabilities = [np.eye(5)[[0, 2, 0]], np.full((3, 5), 0.2)]
    signals = {"106": np.arange(500.0), "208": np.ones(300)}
    write_beats(tmp_path, "ma", 6.0, signals, part, np.array([False, True, True]), probabilities)
    written = np.load(tmp_path / "ma_6.npz")
    assert written["probabilities"].shape == (2, 3, 5) and written["scored"].tolist() == [False, True, True]
    assert written["record"].tolist() == ["106", "106", "208"] and written["r_peak"].tolist() == [10, 400, 20]
    np.testing.assert_array_equal(written["signal_106"], np.arange(500.0, dtype=np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ma_6.npz"]  # written whole, no temporary left


def test_adapt_patients_floor_head_logits_by_hand(benchmarks_importable):
    """Round 11: the head reads the network's features and the floor's standardised by the replay beats'."""
    from benchmarks.experiments.adapt_patients import floor_columns, floor_scaler

    rng = np.random.default_rng(2)
    features, floor_x, replay_floor_x = rng.normal(size=(7, 4)), rng.normal(size=(7, 3)), rng.normal(size=(50, 3)) * 4 + 1
    kernel, bias = rng.normal(size=(7, 5)), rng.normal(size=5)
    center, spread = floor_scaler(replay_floor_x)
    logits = floor_columns(features, floor_x, center, spread, scale=3.0) @ kernel + bias
    for i in range(7):
        for c in range(5):
            expected = bias[c] + sum(features[i, j] * kernel[j, c] for j in range(4))
            for j in range(3):
                column = replay_floor_x[:, j]
                mean = sum(column) / len(column)
                sd = (sum((v - mean) ** 2 for v in column) / len(column)) ** 0.5
                expected += 3.0 * (floor_x[i, j] - mean) / sd * kernel[4 + j, c]
            assert logits[i, c] == pytest.approx(expected, abs=1e-9)
    with pytest.raises(ValueError, match="floor_columns"):
        floor_columns(features, floor_x[:5], center, spread)


def test_adapt_patients_floor_head_from_zero_is_scikit_learns_logistic_regression(benchmarks_importable):
    """From a zero kernel, with every weight free, the head is L2 logistic regression (C = 1 / anchor) on both blocks."""
    from sklearn.linear_model import LogisticRegression

    from benchmarks.experiments.adapt_patients import floor_columns, floor_head
    from ecgnet.adaptation import _sample_weights

    rng = np.random.default_rng(3)
    y, replay_y = rng.integers(0, 5, 150), np.repeat(np.arange(5), 20)
    means = rng.normal(size=(5, 6)) * 1.5
    f, replay_f = means[y, :4] + rng.normal(size=(150, 4)), means[replay_y, :4] + rng.normal(size=(100, 4))
    x, replay_x = means[y, 4:] + rng.normal(size=(150, 2)), (means[replay_y, 4:] + rng.normal(size=(100, 2))) * 2 + 5
    kernel, bias, center, spread = floor_head(f, x, y, replay_f, replay_x, replay_y, np.zeros((4, 5)), np.zeros(5),
                                              anchor=0.05, balance=0.5, patient_share=0.9, max_iterations=2000)
    columns = floor_columns(np.concatenate([f, replay_f]), np.concatenate([x, replay_x]), center, spread)
    weights = _sample_weights(y, replay_y, 0.5, 0.9).astype(np.float64)
    reference = LogisticRegression(C=1 / 0.05, tol=1e-10, max_iter=5000).fit(
        columns, np.concatenate([y, replay_y]), sample_weight=weights / weights.sum())
    logits = columns @ kernel + bias
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(probabilities / probabilities.sum(1, keepdims=True), reference.predict_proba(columns),
                               atol=2e-3)
    assert np.abs(kernel[4:]).max() > 0.1  # the floor columns are read


def test_adapt_patients_floor_head_v_only_holds_the_other_floor_weights(benchmarks_importable):
    """``only=2``: the floor rows move in the V column alone, the fit is stationary in every free weight."""
    from benchmarks.experiments.adapt_patients import floor_columns, floor_head
    from ecgnet.adaptation import _sample_weights

    rng = np.random.default_rng(5)
    y, replay_y = rng.integers(0, 3, 120), rng.integers(0, 5, 80)
    f, replay_f = rng.normal(size=(120, 3)), rng.normal(size=(80, 3))
    x = rng.normal(size=(120, 2)) + 2.0 * (y == 2)[:, None]
    replay_x = rng.normal(size=(80, 2)) + 2.0 * (replay_y == 2)[:, None]
    shipped, shipped_bias = rng.normal(size=(3, 5)), rng.normal(size=5)
    kernel, bias, center, spread = floor_head(f, x, y, replay_f, replay_x, replay_y, shipped, shipped_bias,
                                              anchor=1e-2, balance=0.5, patient_share=0.9, max_iterations=3000, only=2)
    assert kernel.shape == (5, 5) and not kernel[3:, [0, 1, 3, 4]].any() and kernel[3:, 2].min() > 0.1
    columns = floor_columns(np.concatenate([f, replay_f]), np.concatenate([x, replay_x]), center, spread)
    targets = np.concatenate([y, replay_y])
    weights = _sample_weights(y, replay_y, 0.5, 0.9).astype(np.float64)
    weights /= weights.sum()
    start = np.concatenate([shipped, np.zeros((2, 5))])

    def objective(k, b):  # written out again: weighted cross-entropy plus the pull towards the start
        logits = columns @ k + b
        log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        return -(weights * log_p[np.arange(len(targets)), targets]).sum() + 0.005 * ((k - start) ** 2).sum()

    k, b = kernel.astype(np.float64), bias.astype(np.float64)
    free = [(i, c) for i in range(3) for c in range(5)] + [(3, 2), (4, 2)]
    for i, c in free:  # central differences: zero gradient where the fit is free
        step = np.zeros_like(k)
        step[i, c] = 1e-4
        assert abs(objective(k + step, b) - objective(k - step, b)) / 2e-4 < 2e-4, (i, c)
    assert objective(k, b) < objective(start, shipped_bias) - 0.05
