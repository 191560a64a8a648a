#!/usr/bin/python3
"""The engine against PyTorch 1.13 on the zoo models: latency ratio and peak memory.

  /usr/bin/python3 benchmarks/peers/run_inference_peer.py [--threads 1] [--repeats 3]
      [--models fmnist_resnet,resnet20,mobilenet_v2,resnet18] [--fold-bn] [--channels-last]

Steps: builds `bazel build -c opt //tools:persephonee` and copies the binary to a temporary
directory (so another build cannot swap it mid-run); writes each zoo model there with
`persephonee zoo NAME --out FILE` (seed 1); makes a fixed input (numpy, seed 0, uniform [0, 1),
batch 1) and the engine's output for it with `persephonee run FILE --input X.f32 --output
Y.f32`; then, --repeats times, alternately, times the engine (`persephonee bench`) and PyTorch
(torch_inference.py, which first checks that its output agrees with the engine's within 1e-4)
in separate processes at the same thread count. Each process reports its own peak resident set
(VmHWM from /proc/self/status, which exec resets; a child's ru_maxrss would also count the image
of the Python process that forked it). Prints per model the medians over the repeats of each
side's median latency, engine/PyTorch and PyTorch/engine, and both peak RSS figures, then the
targets: MobileNetV2 >= 5x and ResNet-18 >= 2x faster than PyTorch on one thread.

The roofline, in the same run (one thread): it builds and runs //benchmarks:peak_fma, the
core's measured peak float32 FMA rate, and prints what fraction of it each side reaches (the
model's FLOPs, from `persephonee info`, over its latency), and for each target the fraction the
engine would have to reach to meet it. A target that needs more than 100% cannot be met by any
implementation on this core.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from psm_model import load_model  # noqa: E402

MODELS = ("fmnist_resnet", "resnet20", "mobilenet_v2", "resnet18")
# (timed iterations, warm-up) per process, at --iterations-scale 1.
ITERATIONS = {"fmnist_resnet": (200, 10), "resnet20": (200, 10), "mobilenet_v2": (40, 5),
              "resnet18": (20, 3)}
TARGETS = {"mobilenet_v2": 5.0, "resnet18": 2.0}  # PyTorch / engine latency, one thread


def run(cmd):
    """Runs `cmd`; returns (exit code, stdout, stderr)."""
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def check(cmd):
    code, out, err = run(cmd)
    if code != 0:
        sys.exit(f"run_inference_peer: {' '.join(cmd)} failed ({code}):\n{out}{err}")
    return out


def peak_rss_mib(text, who):
    """The "peak RSS: X MiB (VmHWM)" line both sides print as they finish."""
    m = re.search(r"peak RSS: ([0-9.]+) MiB", text)
    if not m:
        sys.exit(f"run_inference_peer: no peak RSS in the output of {who}:\n{text}")
    return float(m.group(1))


def median_ms(text, who):
    m = re.search(r"latency ms: median ([0-9.]+)", text)
    if not m:
        sys.exit(f"run_inference_peer: no median latency in the output of {who}:\n{text}")
    return float(m.group(1))


def build(workdir):
    subprocess.run(["bazel", "build", "-c", "opt", "//tools:persephonee", "//benchmarks:peak_fma"],
                   cwd=REPO, check=True)
    bin_dir = subprocess.run(["bazel", "info", "-c", "opt", "bazel-bin"], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout.strip()
    binary = os.path.join(workdir, "persephonee")
    shutil.copy(os.path.join(bin_dir, "tools", "persephonee"), binary)
    peak = os.path.join(workdir, "peak_fma")
    shutil.copy(os.path.join(bin_dir, "benchmarks", "peak_fma"), peak)
    return binary, peak


def peak_gflops(peak_binary):
    """The best rate //benchmarks:peak_fma measures (AVX2 or AVX-512), in GFLOP/s."""
    out = check([peak_binary, "--benchmark_repetitions=3", "--benchmark_report_aggregates_only",
                 "--benchmark_format=json"])
    rates = [b["items_per_second"] for b in json.loads(out)["benchmarks"]
             if b.get("aggregate_name") == "median" and "items_per_second" in b]
    if not rates:
        sys.exit(f"run_inference_peer: no rate in the output of peak_fma:\n{out}")
    return max(rates) / 1e9


def model_flops(binary, psm):
    """FLOPs of one forward pass (2 x MACs), as `persephonee info` counts them."""
    m = re.search(r"FLOPs:\s+([0-9,]+)", check([binary, "info", psm]))
    if not m:
        sys.exit(f"run_inference_peer: no FLOPs in `persephonee info {psm}`")
    return int(m.group(1).replace(",", ""))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--iterations-scale", type=float, default=1.0)
    p.add_argument("--binary", help="a persephonee binary to use instead of building one")
    p.add_argument("--fold-bn", action="store_true", help="passed to the PyTorch peer")
    p.add_argument("--channels-last", action="store_true", help="passed to the PyTorch peer")
    args = p.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in MODELS]
    if unknown or args.threads < 1 or args.repeats < 1 or args.iterations_scale <= 0:
        p.error(f"models must be among {', '.join(MODELS)}; threads, repeats, scale positive")

    workdir = tempfile.mkdtemp(prefix="persephonee_peer_")
    try:
        if args.binary:
            binary, peak = shutil.copy(args.binary, workdir), None
        else:
            binary, peak = build(workdir)
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        peer = [python, os.path.join(HERE, "torch_inference.py")]
        peer += ["--fold-bn"] if args.fold_bn else []
        peer += ["--channels-last"] if args.channels_last else []
        rows = []
        for name in models:
            psm = os.path.join(workdir, name + ".psm")
            x_path = os.path.join(workdir, name + ".in.f32")
            y_path = os.path.join(workdir, name + ".out.f32")
            check([binary, "zoo", name, "--out", psm])
            shape = load_model(psm).tensors[load_model(psm).inputs()[0]].shape
            x = np.random.default_rng(0).random(int(np.prod(shape)), dtype=np.float32)
            x.astype("<f4").tofile(x_path)
            check([binary, "run", psm, "--input", x_path, "--output", y_path, "--threads",
                   str(args.threads)])
            iters, warm = ITERATIONS[name]
            iters = max(3, int(iters * args.iterations_scale))
            timing = ["--threads", str(args.threads), "--iterations", str(iters), "--warmup",
                      str(warm)]
            engine_ms, torch_ms, engine_rss, torch_rss, agreement = [], [], [], [], ""
            for _ in range(args.repeats):
                out = check([binary, "bench", psm] + timing)
                engine_ms.append(median_ms(out, "persephonee bench"))
                engine_rss.append(peak_rss_mib(out, "persephonee bench"))
                out = check(peer + [psm, "--input", x_path, "--expect", y_path] + timing)
                torch_ms.append(median_ms(out, "torch_inference.py"))
                torch_rss.append(peak_rss_mib(out, "torch_inference.py"))
                agreement = re.search(r"= ([0-9.e+-]+) \(tolerance", out).group(1)
            e, t = statistics.median(engine_ms), statistics.median(torch_ms)
            rows.append((name, e, t, max(engine_rss), max(torch_rss), agreement,
                         model_flops(binary, psm)))
            print(f"{name}: engine {['%.3f' % v for v in engine_ms]} ms, "
                  f"torch {['%.3f' % v for v in torch_ms]} ms", flush=True)

        variant = ("BatchNorm folded" if args.fold_bn else "BatchNorm as modules") + \
            (", channels_last" if args.channels_last else ", NCHW")
        print(f"\nengine vs PyTorch 1.13 ({variant}), batch 1, threads {args.threads}, "
              f"medians of {args.repeats} alternating runs per side")
        print(f"{'model':<14} {'engine ms':>10} {'torch ms':>10} {'engine/torch':>13} "
              f"{'torch/engine':>13} {'engine RSS':>11} {'torch RSS':>11} {'max rel diff':>13}")
        for name, e, t, er, tr, agree, _ in rows:
            print(f"{name:<14} {e:>10.3f} {t:>10.3f} {e / t:>13.3f} {t / e:>13.2f} "
                  f"{er:>7.1f} MiB {tr:>7.1f} MiB {agree:>13}")
        if args.threads == 1 and peak:
            gflops = peak_gflops(peak)
            print(f"\nroofline: peak float32 FMA rate of one core, measured now "
                  f"(//benchmarks:peak_fma): {gflops:.1f} GFLOP/s")
            print(f"{'model':<14} {'GFLOPs':>8} {'engine GFLOP/s':>15} {'% of peak':>10} "
                  f"{'torch GFLOP/s':>14} {'% of peak':>10}")
            for name, e, t, *_, flops in rows:
                ge, gt = flops / e / 1e6, flops / t / 1e6
                print(f"{name:<14} {flops / 1e9:>8.3f} {ge:>15.1f} {100 * ge / gflops:>9.1f}% "
                      f"{gt:>14.1f} {100 * gt / gflops:>9.1f}%")
        if args.threads == 1:
            for name, e, t, *_, flops in rows:
                if name in TARGETS:
                    met = t / e >= TARGETS[name]
                    need = ""
                    if peak:
                        need_pct = 100 * TARGETS[name] * flops / t / 1e6 / gflops
                        need = f"; meeting it needs {need_pct:.0f}% of the core's peak"
                    print(f"target {name} >= {TARGETS[name]:.0f}x faster than PyTorch: "
                          f"{'met' if met else 'NOT met'} ({t / e:.2f}x{need})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
