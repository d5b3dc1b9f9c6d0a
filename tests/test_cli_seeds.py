"""``vecnet seeds`` and :func:`vecnet.studies.seeds_study`: the figures against solo fits counted by hand."""

import builtins
import json
import math

import numpy as np
import pytest

import vecnet
from vecnet.cli import main
from vecnet.cli import seeds as seeds_cli
from vecnet.studies import log_histogram, seeds_study

DRAWS, EPOCHS, SEED = 12, 250, 7
THRESHOLDS = (0.05, 0.01, 0.001)


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module", params=["auto", "numpy"])
def study(request):
    """Auto (numba today, one network after another) and numpy (the models side by side in run_many)."""
    return seeds_study(draws=DRAWS, epochs=EPOCHS, seed=SEED, thresholds=THRESHOLDS, group=5,
                       engine=request.param)


@pytest.fixture(scope="module")
def solo(study):
    """Each draw trained alone with ``net.fit``, from the seed the study documents for it."""
    X, y = vecnet.article_data()
    losses = []
    for k in range(DRAWS):
        net = vecnet.Network([2, 2, 1], init="normal", seed=np.random.SeedSequence(SEED, spawn_key=(k,)))
        losses.append(net.fit(X, y, epochs=EPOCHS, lr=0.1, batch_size=1, engine=study.engine).loss)
    return losses


def first_below(loss, t):
    for e, value in enumerate(loss):
        if value < t:
            return e + 1
    return 0


def nearest_rank(values, q):
    """The q-th percentile by the nearest-rank rule: the ceil(q/100 * n)-th smallest value."""
    values = sorted(values)
    return values[max(math.ceil(q / 100 * len(values)), 1) - 1]


def test_the_study_equals_solo_fits_counted_by_hand(study, solo):
    assert study.thresholds == THRESHOLDS and study.draws == DRAWS and study.epochs == EPOCHS
    assert study.compile_time <= study.seconds
    assert [float(v) for v in study.final] == [loss[-1] for loss in solo]
    assert not study.diverged.any()
    summary = study.summary()
    for i, t in enumerate(THRESHOLDS):
        firsts = [first_below(loss, t) for loss in solo]
        assert study.first[i].tolist() == firsts
        reached = [f for f in firsts if f]
        row = summary["thresholds"][i]
        assert row["threshold"] == t and row["reached"] == len(reached)
        assert row["share"] == len(reached) / DRAWS
        if reached:
            assert row["epochs_to_reach"] == {f"p{q}": nearest_rank(reached, q) for q in (10, 25, 50, 75, 90)}
        else:
            assert row["epochs_to_reach"] is None
        assert study.share_by_epoch(i)[-1] == len(reached) / DRAWS
        assert study.share_by_epoch(i)[99] == sum(0 < f <= 100 for f in firsts) / DRAWS
    # The chosen sizes make the thresholds tell draws apart: some, not all, reach 0.01 by epoch 250.
    assert 0 < summary["thresholds"][1]["reached"] < DRAWS
    finals = [loss[-1] for loss in solo]
    assert summary["final_loss"]["percentiles"]["p50"] == nearest_rank(finals, 50)
    assert summary["final_loss"]["min"] == min(finals) and summary["final_loss"]["max"] == max(finals)
    hist = summary["final_loss"]["histogram"]
    edges = hist["edges"]
    assert hist["counts"] == [sum(lo <= v < hi for v in finals) for lo, hi in zip(edges[:-1], edges[1:])]
    assert sum(hist["counts"]) == DRAWS
    assert study.curves.shape == (DRAWS, EPOCHS)
    assert study.curves.tolist() == solo   # kept across the groups of 5


def test_groups_and_a_larger_study_keep_each_draw(study):
    bigger = seeds_study(draws=DRAWS + 5, epochs=EPOCHS, seed=SEED, thresholds=THRESHOLDS, group=100,
                         engine=study.engine)
    assert bigger.final[:DRAWS].tolist() == study.final.tolist()
    assert bigger.first[:, :DRAWS].tolist() == study.first.tolist()


def test_log_histogram_counts_each_value_in_its_bin():
    values = np.random.default_rng(0).lognormal(-5, 2, 500)
    edges, counts = log_histogram(values)
    assert len(edges) == len(counts) + 1 >= 9
    ratios = np.diff(np.log10(edges))
    np.testing.assert_allclose(ratios, ratios[0])
    assert edges[0] <= values.min() and values.max() < edges[-1]
    assert counts.tolist() == [sum(lo <= v < hi for v in values) for lo, hi in zip(edges[:-1], edges[1:])]
    # A narrow spread gets finer bins rather than one.
    edges, counts = log_histogram([0.0014, 0.0015, 0.0023])
    assert len(counts) >= 8 and counts.sum() == 3
    with pytest.raises(ValueError, match="finite values > 0"):
        log_histogram([0.1, 0.0])


def test_json_is_reproducible_and_depends_on_the_seed(capsys):
    argv = ["seeds", "--draws", 6, "--epochs", 120, "--json", "--no-progress"]

    def figures(seed):
        code, out, err = run(argv + ["--seed", seed], capsys)
        assert code == 0, err
        got = json.loads(out)
        del got["seconds"], got["compile_seconds"]
        return got

    a, b, c = figures(3), figures(3), figures(4)
    assert a == b
    assert a != c and a["final_loss"] != c["final_loss"]
    assert a["draws"] == 6 and a["epochs"] == 120 and a["seed"] == 3 and a["lr"] == 0.1
    assert [t["threshold"] for t in a["thresholds"]] == [0.01, 0.001]


def test_text_report_matches_the_summary(capsys):
    code, out, err = run(["seeds", "--draws", DRAWS, "--epochs", EPOCHS, "--seed", SEED,
                          "--thresholds", "0.001,0.05,0.01", "--group", 4], capsys)
    assert code == 0, err
    s = seeds_study(draws=DRAWS, epochs=EPOCHS, seed=SEED, thresholds=THRESHOLDS).summary()
    for row in s["thresholds"]:
        assert (f"loss < {row['threshold']:g} within {EPOCHS} epochs: {row['reached']} of {DRAWS} draws "
                f"({100 * row['share']:.2f}%)") in out
    for lo, count in zip(s["final_loss"]["histogram"]["edges"], s["final_loss"]["histogram"]["counts"]):
        assert any(line.lstrip().startswith(f"[{lo:9.3g},") and f"  {count:7,}" in line for line in out.splitlines())
    assert "draw" in err   # a tqdm bar, or lines, on stderr


def test_progress_lines_without_tqdm(capsys, monkeypatch):
    real = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    code, out, err = run(["seeds", "--draws", 5, "--epochs", 20, "--group", 2], capsys)
    assert code == 0, err
    assert [line.split(" draws")[0] for line in err.splitlines()] == [
        "vecnet seeds: 2 of 5", "vecnet seeds: 4 of 5", "vecnet seeds: 5 of 5"]


@pytest.mark.parametrize("argv, message", [
    (["--draws", "0"], "--draws: expected an integer >= 1, got '0'"),
    (["--draws", "many"], "--draws: expected an integer >= 1"),
    (["--epochs", "-5"], "--epochs: expected an integer >= 1"),
    (["--seed", "-1"], "--seed: expected an integer >= 0"),
    (["--lr", "0"], "--lr: expected a finite number > 0"),
    (["--lr", "nan"], "--lr: expected a finite number > 0"),
    (["--thresholds", "0.01,"], "--thresholds: expected comma-separated"),
    (["--thresholds", "0.01,-1"], "--thresholds: expected comma-separated finite numbers > 0"),
    (["--thresholds", "small"], "--thresholds: expected comma-separated"),
    (["--engine", "gpu"], "--engine: invalid choice: 'gpu'"),
    (["--group", "0"], "--group: expected an integer >= 1"),
])
def test_bad_options_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["seeds", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, message", [
    ({"draws": 0}, "draws must be an integer >= 1"),
    ({"epochs": 2.5}, "epochs must be an integer >= 1"),
    ({"seed": -3}, "seed must be an integer >= 0"),
    ({"lr": float("inf")}, "lr must be a finite number"),
    ({"thresholds": []}, "thresholds is empty"),
    ({"thresholds": [0.01, 0]}, r"each threshold must be a finite number in \(0, inf\)"),
    ({"engine": "gpu"}, "gpu"),
    # refused before the results are allocated: these were a MemoryError traceback, or GBs filled first
    ({"epochs": 200_000_000}, r"epochs must be an integer in \[1, 100000000\]"),
    ({"draws": 10**11, "epochs": 1}, "need 2.5e\\+03 GB for the results alone, more memory than"),
])
def test_the_library_function_refuses_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        seeds_study(**{"draws": 2, "epochs": 3, **kwargs})


def test_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "seeds.png"
    code, out, err = run(["seeds", "--draws", 6, "--epochs", 150, "--plot", path, "--no-progress"], capsys)
    assert code == 0, err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"figure saved to {path}" in out


def test_plot_without_matplotlib_says_which_extra(tmp_path, capsys, monkeypatch):
    real = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    path = tmp_path / "seeds.png"
    code, out, err = run(["seeds", "--draws", 2, "--epochs", 5, "--plot", path], capsys)
    assert code == 2 and out == ""
    assert 'vecnet seeds: error: --plot needs matplotlib: pip install "vecnet[plot]"' in err
    assert not path.exists()


@pytest.mark.parametrize("name, message", [
    ("missing/seeds.png", "--plot {path}: the folder {tmp}/missing does not exist"),
    ("seeds.xyz", "--plot {path}: matplotlib cannot write .xyz files; use one of "),
    (".", "--plot {path}: is a folder; name the figure to write"),
])
def test_a_plot_path_that_cannot_be_written_is_refused_before_the_study(name, message, tmp_path, capsys,
                                                                        monkeypatch):
    pytest.importorskip("matplotlib")
    ran = []
    monkeypatch.setattr(seeds_cli, "seeds_study", lambda **kw: ran.append(kw))
    path = tmp_path if name == "." else tmp_path / name
    code, out, err = run(["seeds", "--draws", 2, "--epochs", 5, "--plot", path, "--no-progress"], capsys)
    assert code == 2 and out == "" and not ran
    assert f"vecnet seeds: error: {message.format(path=path, tmp=tmp_path)}" in err


def test_demo_is_still_there(capsys):
    code, out, err = run(["demo", "--epochs", 21, "--every", 10], capsys)
    assert code == 0, err
    assert "vecnet demo: the article's 2-2-1 sigmoid network" in out
    epochs = [int(line.split()[0]) for line in out.splitlines() if line[:5].strip().isdigit()]
    assert epochs == [0, 10, 20]   # the last epoch, 20, falls on --every: printed once


def test_a_diverged_draw_is_counted_apart(monkeypatch):
    """Draw 1's history is cut as a divergence leaves it (the article's setup never diverges)."""
    import vecnet.studies as studies

    real = studies.fit_many

    def diverge_draw_1(nets, *args, **kwargs):
        histories = real(nets, *args, **kwargs)
        histories[1].loss = histories[1].loss[:3]
        histories[1].stopped = "diverged"
        return histories

    monkeypatch.setattr(studies, "fit_many", diverge_draw_1)
    got = seeds_study(draws=4, epochs=200, seed=1, thresholds=(0.3,), group=4)
    assert got.diverged.tolist() == [False, True, False, False]
    assert np.isnan(got.curves[1, 3:]).all()
    summary = got.summary()
    assert summary["diverged"] == 1
    assert sum(summary["final_loss"]["histogram"]["counts"]) == 3
    assert summary["final_loss"]["max"] == max(got.final[[0, 2, 3]])
