"""Tables and chart of bench/scale.sh: OUT/scale.md, OUT/scale.json, OUT/scale.png.
    /usr/bin/python3 bench/scale_report.py OUT_DIR"""
import glob
import json
import os
import platform
import subprocess
import sys


def cpu_model():
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def table(rows, title):
    out = [f"### {title}", "",
           "| users | items (N) | actions | pre-train epoch | positions/s | peak RSS | fine-tune epoch | positions/s | peak RSS |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['users']:,} | {r['n_items']:,} | {r['actions']:,} | {r['pretrain_epoch_s']:.1f} s | "
                   f"{r['pretrain_positions_per_s']:,.0f} | {r['pretrain_peak_rss_mib']:,.0f} MiB | "
                   f"{r['finetune_epoch_s']:.1f} s | {r['finetune_positions_per_s']:,.0f} | "
                   f"{r['finetune_peak_rss_mib']:,.0f} MiB |")
    return "\n".join(out) + "\n"


def main():
    out = sys.argv[1]
    rows = [json.load(open(p)) for p in glob.glob(os.path.join(out, "*", "result.json"))]
    items = sorted((r for r in rows if r["name"].startswith("items-")), key=lambda r: r["n_items"])
    users = sorted((r for r in rows if r["name"].startswith("users-")), key=lambda r: r["users"])
    json.dump({"cpu": cpu_model(), "rows": items + users}, open(os.path.join(out, "scale.json"), "w"), indent=1)
    md = f"Host: {cpu_model()}\n\n" + table(items, "Catalogue size") + "\n" + table(users, "User base")
    open(os.path.join(out, "scale.md"), "w").write(md)
    print(md)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (scripts/setup.sh installs it): no chart")
        return
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for col, (data, key, label) in enumerate([(items, "n_items", "items in the catalogue"),
                                              (users, "users", "users (100k items)")]):
        if not data:
            continue
        x = [r[key] for r in data]
        ax = axes[0][col]
        ax.plot(x, [r["pretrain_epoch_s"] for r in data], "o-", label="pre-training epoch")
        ax.plot(x, [r["finetune_epoch_s"] for r in data], "s-", label="fine-tuning epoch")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("seconds")
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        ax = axes[1][col]
        ax.plot(x, [r["pretrain_peak_rss_mib"] for r in data], "o-", label="pre-training")
        ax.plot(x, [r["finetune_peak_rss_mib"] for r in data], "s-", label="fine-tuning")
        if key == "n_items":  # weights + Adam moments of the item table alone
            ax.plot(x, [3 * 4 * 64 * (n + 2) / 2**20 for n in x], "k:", label="item table x3 (weights, m, v)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("peak RSS (MiB)")
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"s3rec: one epoch vs catalogue and user base ({cpu_model()})", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "scale.png"), dpi=110)
    print("chart:", os.path.join(out, "scale.png"))


if __name__ == "__main__":
    main()
