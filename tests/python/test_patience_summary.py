"""scripts/patience_summary.py and scripts/patience_study.sh: the epoch each patience selects,
the means, standard errors and intervals of the lead, and the errors on unusable runs.

Run by CTest (PatienceSummary.Python) as `python3 tests/python/test_patience_summary.py`, or
by pytest. S3REC_BINARY names the s3rec binary (default build/s3rec).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SUMMARY = os.path.join(ROOT, "scripts", "patience_summary.py")
STUDY = os.path.join(ROOT, "scripts", "patience_study.sh")
BINARY = os.environ.get("S3REC_BINARY", os.path.join(ROOT, "build", "s3rec"))


def write_run(d, scores, tests, stopping_step=4, epochs=200):
    """A run directory: config.yaml and log.jsonl with validation scores and test NDCG@20 per epoch."""
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.yaml"), "w") as f:
        f.write(f"epochs: {epochs}\nstopping_step: {stopping_step}\n")
    with open(os.path.join(d, "log.jsonl"), "w") as f:
        for e, (s, t) in enumerate(zip(scores, tests), 1):
            f.write(json.dumps({"stage": "finetune", "epoch": e, "score": s, "test": {"NDCG@20": t}}) + "\n")
    return os.path.join(d, "log.jsonl")


def summary(*args):
    p = subprocess.run([sys.executable, SUMMARY, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def table_row(out, patience):
    for line in out.splitlines():
        if line.startswith(f"| {patience} |"):
            return [c.strip() for c in line.strip("|").split("|")]
    raise AssertionError(f"no row for patience {patience} in\n{out}")


class Summary(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_selection_means_and_lead(self):
        # a plateau of 2 epochs after epoch 2 (equal scores do not count as better), then a new best
        base = [0.1, 0.3, 0.3, 0.2, 0.4, 0.1, 0.1, 0.1, 0.1]
        # A: test figures 0.01 * epoch + offset; patience 2 selects epoch 2, patience 4 epoch 5
        for i, off in enumerate([0.0, 0.002]):
            write_run(f"{self.dir}/a{i}", base, [0.01 * e + off for e in range(1, 10)])
        for i, off in enumerate([0.010, 0.012, 0.020, 0.022]):  # B: clusters p1 (0.010, 0.012), p2 (0.020, 0.022)
            write_run(f"{self.dir}/b-p{1 + i // 2}-{i}", base, [0.01 * e + off for e in range(1, 10)])
        code, out = summary("--patiences", "2,4", "--metrics", "NDCG@20", "--cluster", r"b-p(\d)-", "--runs",
                            f"A={self.dir}/a*/log.jsonl", f"B={self.dir}/b-*/log.jsonl")
        self.assertEqual(code, 0, out)
        self.assertIn("A 2 runs, B 4 runs in 2 clusters", out)
        row = table_row(out, 2)  # epoch 2: A 0.020, 0.022; B 0.030, 0.032, 0.040, 0.042
        self.assertEqual(row[1], "0.0210 (0.0014)")
        self.assertEqual(row[2], "0.0360 (0.0059)")
        # lead 0.015; se: A 0.0014 / sqrt 2 = 0.001, B sd of the cluster means (0.031, 0.041) / sqrt 2 = 0.005
        self.assertTrue(row[3].startswith("+0.0150 ("), row)
        row = table_row(out, 4)
        self.assertEqual(row[1], "0.0510 (0.0014)")  # epoch 5
        self.assertIn("| 2 (4), 0.0200 | 5 (9), 0.0500 |", out)  # stop epochs: 4 and the end of the log

    def test_a_run_that_stopped_too_early_is_refused(self):
        path = write_run(f"{self.dir}/r", [0.1, 0.2, 0.1, 0.1], [0.01] * 4, stopping_step=2)
        code, out = summary("--patiences", "2,4", "--metrics", "NDCG@20", f"A={path}")
        self.assertNotEqual(code, 0)
        self.assertIn("stopping_step=2", out)
        # the same log is usable when the run ended at its epoch cap
        write_run(f"{self.dir}/r", [0.1, 0.2, 0.1, 0.1], [0.01] * 4, stopping_step=2, epochs=4)
        code, out = summary("--patiences", "2,4", "--metrics", "NDCG@20", f"A={path}", f"B={path}")
        self.assertEqual(code, 0, out)

    def test_an_unfinished_run_is_refused_where_its_log_cannot_decide(self):
        # made with patience 4, log ends 2 epochs after its best: still running or killed
        path = write_run(f"{self.dir}/r", [0.1, 0.3, 0.2, 0.2, 0.5, 0.4, 0.4], [0.01 * e for e in range(1, 8)])
        code, out = summary("--patiences", "4", "--metrics", "NDCG@20", f"A={path}")
        self.assertNotEqual(code, 0, out)
        self.assertIn("unfinished run: the log ends at epoch 7, 2 epochs after its best", out)
        # patience 2 stops inside the log (at epoch 4, best epoch 2): the run passed through those
        # epochs, so that selection is known and accepted
        code, out = summary("--patiences", "2", "--metrics", "NDCG@20", "--runs", f"A={path}")
        self.assertEqual(code, 0, out)
        self.assertIn("| 2 (4), 0.0200 |", out)

    def test_a_log_without_test_metrics_names_the_file_and_line(self):
        path = write_run(f"{self.dir}/r", [0.1], [0.01])
        with open(path, "a") as f:
            f.write(json.dumps({"stage": "finetune", "epoch": 2, "score": 0.2}) + "\n")
        code, out = summary("--metrics", "NDCG@20", f"A={path}")
        self.assertNotEqual(code, 0)
        self.assertIn(f"{path}:2: no test metrics", out)
        code, out = summary(f"A={self.dir}/nothing-*/log.jsonl")
        self.assertNotEqual(code, 0)
        self.assertIn("no file matches", out)

    @unittest.skipUnless(os.path.exists(BINARY), "no s3rec binary")
    def test_patience_study_and_summary_agree_on_real_runs(self):
        data = os.path.join(self.dir, "data")
        subprocess.run([BINARY, "generate", f"--output={data}", "--users=150", "--items=150", "--clusters=4"],
                       check=True, capture_output=True)
        env = dict(os.environ, BUILD=os.path.dirname(BINARY), PATIENCES="2 5", OMP_NUM_THREADS="1",
                   EXTRA="--hidden_size=16 --inner_size=32 --MAX_ITEM_LIST_LENGTH=10 --epochs=25 --learning_rate=0.02")
        for seed in (1, 2):
            subprocess.run(["bash", STUDY, "synthetic", data, f"{self.dir}/s{seed}"], check=True,
                           capture_output=True, env=dict(env, SEED=str(seed)))
        code, out = summary("--patiences", "2,5", "--runs", f"A={self.dir}/s*/p5/log.jsonl")
        self.assertEqual(code, 0, out)
        selected = []
        for seed in (1, 2):
            with open(f"{self.dir}/s{seed}/patience.json") as f:
                rows = json.load(f)
            self.assertEqual([r["patience"] for r in rows], [2, 5])
            selected.append([r["selected_epoch"] for r in rows])
            line = next(l for l in out.splitlines() if f"/s{seed}/p5/log.jsonl" in l)
            for r in rows:  # the study's selection and test figures are the summary's
                cell = f"{r['selected_epoch']} ({r['stopped_epoch']}), {r['test']['HR@20']:.4f} / {r['test']['NDCG@20']:.4f}"
                self.assertIn(cell, line)
            # and the test figures of the patience-5 run are its results.json's
            with open(f"{self.dir}/s{seed}/p5.json") as f:
                self.assertEqual(json.load(f)["test"], rows[1]["test"])
        self.assertTrue(any(a != b for a, b in selected), f"the patiences select the same epochs: {selected}")


if __name__ == "__main__":
    unittest.main()
