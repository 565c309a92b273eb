"""s3rec.plot draws real s3rec runs (generated data, a few epochs) and analyses output.

Run by CTest (Plot.Python) as `python3 tests/python/test_plot.py`, or by pytest; skips
when matplotlib is missing. S3REC_BINARY names the s3rec binary (default build/s3rec).
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

try:
    import matplotlib  # noqa: F401
except ImportError:
    if __name__ == "__main__":  # under CTest: its SKIP_RETURN_CODE
        print("skipped: matplotlib missing (apt-get install python3-matplotlib)")
        sys.exit(77)
    raise unittest.SkipTest("matplotlib missing (apt-get install python3-matplotlib)")

from s3rec import plot  # noqa: E402

BINARY = os.environ.get("S3REC_BINARY", os.path.join(ROOT, "build", "s3rec"))
SMALL = ["--hidden_size=16", "--inner_size=32", "--MAX_ITEM_LIST_LENGTH=12", "--threads=1"]


def s3rec(*args):
    r = subprocess.run([BINARY, *args], capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if r.returncode != 0:
        raise AssertionError(f"s3rec {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def svg_texts(path):
    root = ET.parse(path).getroot()  # raises on malformed XML
    assert root.tag.endswith("svg"), root.tag
    return {t.text for t in root.iter() if t.tag.endswith("text") and t.text}


def lines(ax):
    return {l.get_label(): (list(l.get_xdata()), list(l.get_ydata())) for l in ax.get_lines()}


@unittest.skipUnless(os.access(BINARY, os.X_OK), f"no s3rec binary at {BINARY}")
class RunPlots(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="s3rec_plot_")
        cls.addClassCleanup(shutil.rmtree, cls.dir)  # also when a step below fails
        d = cls.dir
        s3rec("generate", f"--output={d}/data", "--dataset=tiny", "--users=80", "--items=150", "--clusters=4")
        common = [f"--data_path={d}/data", "--dataset=tiny", *SMALL]
        s3rec("pretrain", *common, "--pretrain_epochs=3", f"--checkpoint_dir={d}/saved", f"--run_dir={d}/pre")
        s3rec("finetune", *common, "--epochs=3", f"--run_dir={d}/sasrec")
        s3rec("finetune", *common, "--epochs=2", f"--pre_model_path={d}/saved/S3Rec-tiny-3.safetensors",
              f"--run_dir={d}/s3rec")

    def test_log_has_the_epochs_of_each_stage(self):
        pre, ft = plot.read_log(f"{self.dir}/pre"), plot.read_log(f"{self.dir}/sasrec")
        self.assertEqual([r["epoch"] for r in pre["pretrain"]], [1, 2, 3])
        self.assertEqual([r["epoch"] for r in ft["finetune"]], [1, 2, 3])
        self.assertIn("MRR", ft["test"]["test"])

    def test_convergence_overlays_the_runs(self):
        runs = [(name, plot.read_log(f"{self.dir}/{name}")) for name in ("sasrec", "s3rec", "pre")]
        fig = plot.convergence_figure(runs, metrics=["MRR", "HR@10"])
        titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
        self.assertEqual(titles, ["pre-training AAP loss", "pre-training MIP loss", "pre-training MAP loss",
                                  "pre-training SP loss", "fine-tuning loss", "validation MRR", "validation HR@10"])
        mrr = lines(fig.axes[5])
        self.assertEqual(sorted(mrr), ["s3rec", "sasrec"])
        sasrec = plot.read_log(f"{self.dir}/sasrec")["finetune"]
        self.assertEqual(mrr["sasrec"], ([1, 2, 3], [r["valid"]["MRR"] for r in sasrec]))
        self.assertEqual(mrr["s3rec"][0], [1, 2])
        pre = plot.read_log(f"{self.dir}/pre")["pretrain"]
        self.assertEqual(lines(fig.axes[0])["pre"][1], [r["aap"] / r["samples"] for r in pre])

    def test_cli_writes_png_and_svg(self):
        runs = [f"{self.dir}/sasrec", f"{self.dir}/s3rec"]
        png, svg = f"{self.dir}/conv.png", f"{self.dir}/conv.svg"
        self.assertEqual(plot.main([*runs, f"--out={png}", "--labels=SASRec,S3-Rec"]), 0)
        umask = os.umask(0)
        os.umask(umask)
        self.assertEqual(os.stat(png).st_mode & 0o777, 0o666 & ~umask)
        width, height = png_size(png)
        self.assertGreater(width, 300)
        self.assertGreater(height, 200)
        self.assertEqual(plot.main([*runs, f"--out={svg}", "--labels=SASRec,S3-Rec", "--metrics=NDCG@10"]), 0)
        texts = svg_texts(svg)
        for want in ("SASRec", "S3-Rec", "validation NDCG@10", "fine-tuning loss"):
            self.assertIn(want, texts)
        self.assertEqual([n for n in os.listdir(self.dir) if n.startswith("tmp")], [], "no temporary files left")

    def test_bad_input_says_what_is_wrong(self):
        self.assertEqual(plot.main([f"{self.dir}/data", f"--out={self.dir}/x.png"]), 1)  # no log.jsonl
        with self.assertRaisesRegex(plot.PlotError, "no log.jsonl"):
            plot.read_log(f"{self.dir}/data")
        bad = f"{self.dir}/bad.jsonl"
        with open(bad, "w") as f:
            f.write('{"stage": "finetune", "epoch": 1, "loss": 1.0, "valid": {}}\n{oops\n')
        with self.assertRaisesRegex(plot.PlotError, "bad.jsonl:2: not a JSON record"):
            plot.read_log(bad)
        with self.assertRaisesRegex(plot.PlotError, "no validation metric NOPE"):
            plot.convergence_figure([("a", plot.read_log(f"{self.dir}/sasrec"))], metrics=["NOPE"])
        self.assertEqual(plot.main([f"{self.dir}/sasrec", f"--out={self.dir}/x.jpg"]), 1)
        self.assertFalse(os.path.exists(f"{self.dir}/x.png"))


class AnalysesPlot(unittest.TestCase):
    """An analyses directory in scripts/analyses.sh's layout, with known test metrics."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="s3rec_analyses_")
        self.a = os.path.join(self.dir, "analysis")
        os.makedirs(os.path.join(self.a, "no-aap-pretrain"))
        with open(os.path.join(self.a, "no-aap-pretrain", "config.yaml"), "w") as f:
            f.write("hidden_size: 64\npretrain_epochs: 20\n")
        self.values = {}
        tags = [f"epochs-{e}" for e in (10, 20, 50, 100)] + [f"no-{w}" for w in ("aap", "mip", "map", "sp")]
        tags += [f"{m}-f{f}" for m in ("sasrec", "s3rec") for f in ("0.2", "0.4", "0.6", "0.8", "1.0")]
        for i, tag in enumerate(tags):
            test = {"HR@1": 0.1, "HR@10": 0.5 + i / 100, "NDCG@10": 0.3 + i / 100, "MRR": 0.2 + i / 100}
            self.values[tag] = test
            with open(os.path.join(self.a, tag + ".json"), "w") as f:
                json.dump({"valid": test, "test": test}, f)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_three_figures_with_the_results(self):
        fig = plot.analyses_figure(self.dir)  # OUT or OUT/analysis alike
        abl, frac, ep = fig.axes[:3]
        self.assertEqual([t.get_text() for t in abl.get_xticklabels()],
                         ["all four", "w/o AAP", "w/o MIP", "w/o MAP", "w/o SP"])
        hr_bars = [p.get_height() for p in abl.containers[0]]
        self.assertEqual(hr_bars, [self.values[t]["HR@10"] for t in ("epochs-20", "no-aap", "no-mip", "no-map", "no-sp")])
        f = lines(frac)
        self.assertEqual(f["S3-Rec HR@10"], ([20.0, 40.0, 60.0, 80.0, 100.0],
                                             [self.values[f"s3rec-f{x}"]["HR@10"] for x in ("0.2", "0.4", "0.6", "0.8", "1.0")]))
        self.assertIn("SASRec NDCG@10", f)
        e = lines(ep)
        self.assertEqual(e["S3-Rec MRR"], ([10, 20, 50, 100], [self.values[f"epochs-{x}"]["MRR"] for x in (10, 20, 50, 100)]))
        self.assertEqual(e["SASRec MRR"][1][0], self.values["sasrec-f1.0"]["MRR"])
        out = os.path.join(self.dir, "analyses.svg")
        self.assertEqual(plot.main([f"--analyses={self.a}", f"--out={out}"]), 0)
        texts = svg_texts(out)
        for want in ("ablation (20 pre-training epochs)", "amount of training data", "pre-training epochs"):
            self.assertIn(want, texts)

    def test_missing_steps_are_marked_and_no_results_is_an_error(self):
        for w in ("aap", "mip", "map", "sp"):
            os.remove(os.path.join(self.a, f"no-{w}.json"))
        fig = plot.analyses_figure(self.a)
        self.assertEqual(len(fig.axes[0].containers[0]), 1)  # only "all four" is left
        for f in ("0.2", "0.4", "0.6", "0.8", "1.0"):
            os.remove(os.path.join(self.a, f"sasrec-f{f}.json"))
            os.remove(os.path.join(self.a, f"s3rec-f{f}.json"))
        fig = plot.analyses_figure(self.a)
        self.assertEqual([t.get_text() for t in fig.axes[1].texts], ["not run"])
        for n in os.listdir(self.a):
            if n.endswith(".json"):
                os.remove(os.path.join(self.a, n))
        with self.assertRaisesRegex(plot.PlotError, "no analyses output"):
            plot.analyses_figure(self.a)


if __name__ == "__main__":
    unittest.main()
