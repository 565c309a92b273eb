"""Plots of s3rec runs, drawn with matplotlib.

    python3 -m s3rec.plot RUN_DIR [RUN_DIR ...] --out=FILE.png|svg [--metrics=MRR,NDCG@10] [--labels=a,b]
        losses and validation metrics per epoch from each run's RUN_DIR/log.jsonl, runs
        overlaid (the paper's convergence comparison of S3-Rec and SASRec, section 5.3.5);
    python3 -m s3rec.plot --analyses=DIR --out=FILE.png|svg
        the ablation, amount-of-training-data and pre-training-epochs figures (the paper's
        figures 2, 4 and 5) from the output of scripts/analyses.sh (DIR = its OUT or OUT/analysis).

The functions read_log, convergence_figure and analyses_figure do the same from Python.
"""
import argparse
import json
import os
import re
import sys
import tempfile

OBJECTIVES = ("aap", "mip", "map", "sp")
ANALYSIS_METRICS = ("HR@10", "NDCG@10", "MRR")
FRACTIONS = ("0.2", "0.4", "0.6", "0.8", "1.0")
PRETRAIN_EPOCHS = (10, 20, 50, 100)


class PlotError(Exception):
    """Bad input: the message names the file and the problem."""


def _log_path(run):
    path = os.path.join(run, "log.jsonl") if os.path.isdir(run) else run
    if not os.path.isfile(path):
        raise PlotError(f"{run}: no log.jsonl (s3rec pretrain and finetune write RUN_DIR/log.jsonl)")
    return path


def read_log(run):
    """The epochs of a run: {"pretrain": [records], "finetune": [records], "test": record or None}.

    run is a run directory or its log.jsonl. The log is appended to by every run into the
    same directory: when a stage's epoch numbers start again, the later run is kept (a
    resumed pre-training continues its numbering and stays whole)."""
    path = _log_path(run)
    log = {"pretrain": [], "finetune": [], "test": None}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise PlotError(f"{path}:{n}: not a JSON record ({e})") from None
            if not isinstance(rec, dict):
                raise PlotError(f"{path}:{n}: expected a JSON object")
            stage = rec.get("stage")
            if stage == "test":
                log["test"] = rec
                continue
            if stage not in ("pretrain", "finetune"):
                continue  # records of other kinds are not plotted
            if not isinstance(rec.get("epoch"), int):
                raise PlotError(f"{path}:{n}: a {stage} record without an integer epoch")
            epochs = log[stage]
            if epochs and rec["epoch"] <= epochs[-1]["epoch"]:
                epochs.clear()  # a new run into the same directory
                if stage == "finetune":
                    log["test"] = None
            epochs.append(rec)
    if not log["pretrain"] and not log["finetune"]:
        raise PlotError(f"{path}: no pre-training or fine-tuning epochs")
    return log


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise PlotError("matplotlib is needed: apt-get install python3-matplotlib") from None
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text in SVG
    matplotlib.rcParams["svg.hashsalt"] = "s3rec"  # the same SVG for the same data
    import matplotlib.pyplot as plt
    return plt


def _grid(plt, n, title):
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig, list(axes.flat[:n])


def _default_metrics(logs):
    for log in logs:
        if log["finetune"]:
            keys = list(log["finetune"][0].get("valid", {}))
            if "MRR" in keys:
                return ["MRR"]
            if keys:
                return [keys[-1]]
    return []


def convergence_figure(runs, metrics=None, title=None):
    """One figure for runs = [(label, log)]: a panel per pre-training objective (loss per
    sample), the fine-tuning loss, and a panel per validation metric, runs overlaid."""
    plt = _pyplot()
    logs = [log for _, log in runs]
    metrics = list(metrics) if metrics else _default_metrics(logs)
    panels = []
    if any(log["pretrain"] for log in logs):
        panels += [("pretrain", o) for o in OBJECTIVES]
    if any(log["finetune"] for log in logs):
        panels.append(("finetune", "loss"))
        panels += [("valid", m) for m in metrics]
    fig, axes = _grid(plt, len(panels), title)
    for ax, (kind, key) in zip(axes, panels):
        for label, log in runs:
            if kind == "pretrain" and log["pretrain"]:
                xs = [r["epoch"] for r in log["pretrain"]]
                ys = [r[key] / r["samples"] if r.get("samples") else r[key] for r in log["pretrain"]]
            elif kind == "finetune" and log["finetune"]:
                xs = [r["epoch"] for r in log["finetune"]]
                ys = [r["loss"] for r in log["finetune"]]
            elif kind == "valid" and log["finetune"]:
                have = [r for r in log["finetune"] if key in r.get("valid", {})]
                if not have:
                    known = ", ".join(log["finetune"][0].get("valid", {}))
                    raise PlotError(f"run {label}: no validation metric {key} (it has {known})")
                xs = [r["epoch"] for r in have]
                ys = [r["valid"][key] for r in have]
            else:
                continue
            ax.plot(xs, ys, marker="." if len(xs) < 40 else None, label=label)
        ax.set_xlabel("epoch")
        if kind == "pretrain":
            ax.set_title(f"pre-training {key.upper()} loss")
            ax.set_ylabel("loss per sample")
        elif kind == "finetune":
            ax.set_title("fine-tuning loss")
            ax.set_ylabel("mean loss")
        else:
            ax.set_title(f"validation {key}")
            ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _analysis_dir(path):
    for d in (os.path.join(path, "analysis"), path):
        if os.path.isdir(d) and any(n.endswith(".json") for n in os.listdir(d)):
            return d
    raise PlotError(f"{path}: no analyses output (scripts/analyses.sh writes OUT/analysis/TAG.json)")


def _test_metrics(d, tag):
    """Test metrics of the fine-tuning TAG, or None when it was not run."""
    path = os.path.join(d, tag + ".json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            test = json.load(f)["test"]
    except (ValueError, KeyError, TypeError) as e:
        raise PlotError(f"{path}: expected s3rec's result JSON with a \"test\" object ({e})") from None
    missing = [m for m in ANALYSIS_METRICS if m not in test]
    if missing:
        raise PlotError(f"{path}: no test {', '.join(missing)} (the analyses use the sampled protocol)")
    return test


def _ablation_epochs(d):
    """ABL_EPOCHS of the run: the pre-training epochs of an ablation variant."""
    for w in OBJECTIVES:
        cfg = os.path.join(d, f"no-{w}-pretrain", "config.yaml")
        if os.path.isfile(cfg):
            with open(cfg, encoding="utf-8") as f:
                m = re.search(r"^pretrain_epochs:\s*(\d+)", f.read(), re.M)
            if m:
                return int(m.group(1))
    return 20  # scripts/analyses.sh's default


def analyses_figure(path, title=None):
    """The ablation (figure 2), training-data (figure 4) and pre-training-epochs (figure 5)
    panels from scripts/analyses.sh output; test HR@10, NDCG@10 and MRR."""
    plt = _pyplot()
    d = _analysis_dir(path)
    fig, (abl, frac, ep) = _grid(plt, 3, title)
    fig.set_size_inches(13.8, 5.0)

    abl_epochs = _ablation_epochs(d)
    variants = [("all four", f"epochs-{abl_epochs}")] + [(f"w/o {w.upper()}", f"no-{w}") for w in OBJECTIVES]
    rows = [(name, _test_metrics(d, tag)) for name, tag in variants]
    rows = [(name, t) for name, t in rows if t is not None]
    width = 0.8 / len(ANALYSIS_METRICS)
    for i, m in enumerate(ANALYSIS_METRICS):
        abl.bar([j + (i - 1) * width for j in range(len(rows))], [t[m] for _, t in rows], width, label=m)
    abl.set_xticks(range(len(rows)))
    abl.set_xticklabels([name for name, _ in rows], rotation=20)
    abl.set_title(f"ablation ({abl_epochs} pre-training epochs)")
    abl.set_ylabel("test metric")

    for model, prefix, style in (("SASRec", "sasrec", "--"), ("S3-Rec", "s3rec", "-")):
        points = [(float(f) * 100, _test_metrics(d, f"{prefix}-f{f}")) for f in FRACTIONS]
        points = [(x, t) for x, t in points if t is not None]
        for m, color in zip(ANALYSIS_METRICS[:2], ("C0", "C1")):
            if points:
                frac.plot([x for x, _ in points], [t[m] for _, t in points], style, color=color, marker="o",
                          label=f"{model} {m}")
    frac.set_title("amount of training data")
    frac.set_xlabel("% of each user's training data")
    frac.set_ylabel("test metric")

    points = [(e, _test_metrics(d, f"epochs-{e}")) for e in PRETRAIN_EPOCHS]
    points = [(e, t) for e, t in points if t is not None]
    sasrec = _test_metrics(d, "sasrec-f1.0")
    for m, color in zip(ANALYSIS_METRICS, ("C0", "C1", "C2")):
        if points:
            ep.plot([e for e, _ in points], [t[m] for _, t in points], "-", color=color, marker="o", label=f"S3-Rec {m}")
        if sasrec is not None:
            ep.axhline(sasrec[m], linestyle="--", color=color, label=f"SASRec {m}")
    ep.set_title("pre-training epochs")
    ep.set_xlabel("pre-training epochs")
    ep.set_xscale("log")
    ep.set_xticks(PRETRAIN_EPOCHS, [str(e) for e in PRETRAIN_EPOCHS])
    ep.set_ylabel("test metric")

    if not any(ax.has_data() for ax in (abl, frac, ep)):
        raise PlotError(f"{d}: none of the analyses' results (epochs-E.json, no-W.json, sasrec-fF.json) is there")
    for ax in (abl, frac, ep):
        if ax.has_data():  # under the panel, clear of the data
            ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
        else:
            ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def save(fig, out):
    """Writes the figure to out (.png or .svg) atomically: a reader never sees half a file."""
    ext = os.path.splitext(out)[1].lower()
    if ext not in (".png", ".svg"):
        raise PlotError(f"--out={out}: the file must end in .png or .svg")
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=ext)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=ext[1:], dpi=110, metadata={"Software": None} if ext == ".png" else {"Date": None})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would create it (mkstemp makes it 0600)
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise


def plot_runs(runs, out=None, labels=None, metrics=None, title=None):
    """The convergence figure of run directories (or their log.jsonl), overlaid; labels
    default to the directory names. Written to out (.png or .svg) when given; returns
    the matplotlib figure."""
    runs = [os.fspath(r) for r in runs]
    labels = list(labels) if labels else [os.path.basename(os.path.normpath(r)) for r in runs]
    if len(labels) != len(runs):
        raise PlotError(f"{len(labels)} labels for {len(runs)} runs")
    fig = convergence_figure([(lab, read_log(r)) for lab, r in zip(labels, runs)], metrics, title)
    if out is not None:
        save(fig, os.fspath(out))
    return fig


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m s3rec.plot", description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="*", metavar="RUN_DIR", help="run directories (or their log.jsonl)")
    p.add_argument("--out", required=True, help="FILE.png or FILE.svg")
    p.add_argument("--analyses", metavar="DIR", help="scripts/analyses.sh output (OUT or OUT/analysis)")
    p.add_argument("--metrics", help="validation metrics, comma separated (default: MRR, or the last reported)")
    p.add_argument("--labels", help="a label per RUN_DIR, comma separated (default: the directory names)")
    p.add_argument("--title", help="figure title")
    a = p.parse_args(argv)
    try:
        if bool(a.runs) == bool(a.analyses):
            raise PlotError("give RUN_DIR... or --analyses=DIR (one of the two)")
        if a.analyses:
            fig = analyses_figure(a.analyses, a.title)
        else:
            labels = a.labels.split(",") if a.labels else None
            if labels and len(labels) != len(a.runs):
                raise PlotError(f"--labels has {len(labels)} labels for {len(a.runs)} runs")
            metrics = [m for m in a.metrics.split(",") if m] if a.metrics else None
            fig = plot_runs(a.runs, labels=labels, metrics=metrics, title=a.title)
        save(fig, a.out)
    except (PlotError, OSError) as e:
        print(f"s3rec.plot: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
