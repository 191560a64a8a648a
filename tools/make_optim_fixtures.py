#!/usr/bin/python3
"""Writes the PyTorch golden trajectories that tests/kernels/optim/golden_test.cc compares the
optimiser kernels with (tests/kernels/optim/testdata/optim_golden.txt).

Run with Debian's interpreter and python3-torch (PyTorch 1.13), from anywhere:

    /usr/bin/python3 tools/make_optim_fixtures.py           # (re)writes the fixture
    /usr/bin/python3 tools/make_optim_fixtures.py --check   # fails if the file is out of date

The output is deterministic (fixed seeds): running the script twice gives identical files.

How the values are made
-----------------------
Each case is a flat parameter tensor of n elements, its initial values and one gradient per
step, all float32 and stored exactly. Hyperparameters are float32 values too (PyTorch gets
their exact float64 equivalents), so PyTorch and the kernels use the same numbers. PyTorch's
own torch.optim.SGD / torch.optim.Adam (foreach=False: the single-tensor path; maximize and
amsgrad off) then run the steps in float64 on a float64 copy of the parameters, with p.grad set
to the stored gradient before each step. After every step the parameters and the optimiser's
state (SGD's momentum_buffer; Adam's exp_avg and exp_avg_sq) are rounded to float32 and
stored. The trajectory itself stays in float64, so the stored values are the exact results
correctly rounded, and a float32 kernel's distance from them is its own accumulated rounding.

Before writing, a plain numpy transcription of the update rules (the formulas in
kernels/optim/optim.h) must reproduce PyTorch's trajectory to 1e-12 relative, which pins down
the semantics (first-step buffer, dampening, Nesterov, eps after the sqrt, L2 weight decay).

The hyperparameters are chosen so that each semantic choice moves the results far beyond
rounding: eps = 1e-3 next to gradients of ~1e-2 (eps inside or outside the sqrt), dampening
0.25 (which the first step must not apply), weight decay up to 0.5, beta1 = beta2 = 0 (no
averaging), gradients of ~1e-4 (bias correction and eps both matter), 12 steps for one case.

What each case holds
--------------------
  kind i32[1] (0 = SGD, 1 = Adam), n i32[1], steps i32[1],
  lr, weight_decay f32[1];
  SGD:  momentum, dampening f32[1], nesterov i32[1] (0/1)
  Adam: beta1, beta2, eps f32[1]
  weights0 f32[n]                 initial parameters
  grads f32[steps * n]            the gradient given at step t (row t - 1)
  weights f32[steps * n]          parameters after step t
  momentum_buf f32[steps * n]     SGD with momentum > 0 only: the buffer after step t
  exp_avg, exp_avg_sq f32[steps * n]   Adam only: the moments after step t

File format (tests/kernels/loss/text_fixture.h reads it)
--------------------------------------------------------
Text, whitespace-separated tokens; '#' starts a comment that runs to the end of the line.

  case <name>                           starts a case; names are unique
  <array> <f32|i32> <count> v1 ... vN   one array: N values (floats as %.9g, which round-trip)
  end                                   ends the case
"""

import argparse
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "tests", "kernels", "optim", "testdata", "optim_golden.txt")

KIND_SGD, KIND_ADAM = 0, 1


# ---------------------------------------------------------------------------------------------
# The text format


def format_array(name, values):
    values = np.asarray(values)
    if values.dtype == np.float32:
        dtype, text = "f32", ["%.9g" % v for v in values.reshape(-1).tolist()]
        if not np.all(np.isfinite(values)):
            sys.exit(f"{name}: non-finite value")
    elif values.dtype == np.int32:
        dtype, text = "i32", [str(v) for v in values.reshape(-1).tolist()]
    else:
        sys.exit(f"{name}: unsupported dtype {values.dtype}")
    lines = [f"{name} {dtype} {len(text)}"]
    for i in range(0, len(text), 10):
        lines.append("  " + " ".join(text[i:i + 10]))
    return "\n".join(lines)


def format_case(name, arrays):
    return "\n".join([f"case {name}"] + [format_array(k, v) for k, v in arrays] + ["end", ""])


def f32(x):
    return np.asarray(x, dtype=np.float32)


def i32(x):
    return np.asarray(x, dtype=np.int32)


def exact(x):
    """The float64 equal to float32(x): the hyperparameter both sides use."""
    return float(np.float32(x))


# ---------------------------------------------------------------------------------------------
# Independent numpy transcriptions of the update rules (self-checks)


def np_sgd(w, grads, lr, momentum, dampening, weight_decay, nesterov):
    w, buf, out_w, out_b = w.astype(np.float64), None, [], []
    for t, g in enumerate(grads.astype(np.float64)):
        d = g + weight_decay * w
        if momentum != 0:
            buf = d.copy() if t == 0 else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        w = w - lr * d
        out_w.append(w)
        out_b.append(buf if buf is not None else np.zeros_like(w))
    return np.array(out_w), np.array(out_b)


def np_adam(w, grads, lr, beta1, beta2, eps, weight_decay):
    w = w.astype(np.float64)
    m, v, out = np.zeros_like(w), np.zeros_like(w), ([], [], [])
    for t, g in enumerate(grads.astype(np.float64), start=1):
        g = g + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
        w = w - lr / (1 - beta1**t) * m / denom
        for seq, x in zip(out, (w, m, v)):
            seq.append(x)
    return tuple(np.array(x) for x in out)


def check_close(name, got, want):
    err = np.abs(got - want).max()
    if err > 1e-12 * max(1.0, np.abs(want).max()):
        sys.exit(f"self-check failed for {name}: max |torch - numpy| = {err}")


# ---------------------------------------------------------------------------------------------
# The cases


def run_torch(make_optimizer, w0, grads, state_names):
    p = torch.nn.Parameter(torch.from_numpy(w0.astype(np.float64)))
    opt = make_optimizer([p])
    weights, states = [], {name: [] for name in state_names}
    for g in grads:
        p.grad = torch.from_numpy(g.astype(np.float64))
        opt.step()
        weights.append(p.detach().numpy().copy())
        for name in state_names:
            states[name].append(opt.state[p][name].numpy().copy())
    return np.array(weights), {k: np.array(v) for k, v in states.items()}


def sgd_case(rs, n, steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
             grad_scale=1.0):
    lr, momentum, dampening, weight_decay = map(exact, (lr, momentum, dampening, weight_decay))
    w0 = f32(rs.standard_normal(n))
    grads = f32(rs.standard_normal((steps, n)) * grad_scale)
    names = ["momentum_buffer"] if momentum != 0 else []
    weights, states = run_torch(
        lambda params: torch.optim.SGD(params, lr=lr, momentum=momentum, dampening=dampening,
                                       weight_decay=weight_decay, nesterov=nesterov,
                                       foreach=False), w0, grads, names)
    ref_w, ref_b = np_sgd(w0, grads, lr, momentum, dampening, weight_decay, nesterov)
    check_close("sgd weights", weights, ref_w)
    arrays = [("kind", i32([KIND_SGD])), ("n", i32([n])), ("steps", i32([steps])),
              ("lr", f32([lr])), ("weight_decay", f32([weight_decay])),
              ("momentum", f32([momentum])), ("dampening", f32([dampening])),
              ("nesterov", i32([int(nesterov)])), ("weights0", w0), ("grads", grads.reshape(-1)),
              ("weights", f32(weights).reshape(-1))]
    if momentum != 0:
        check_close("sgd momentum_buffer", states["momentum_buffer"], ref_b)
        arrays.append(("momentum_buf", f32(states["momentum_buffer"]).reshape(-1)))
    return arrays


def adam_case(rs, n, steps, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
              grad_scale=1.0):
    lr, beta1, beta2, eps, weight_decay = map(exact, (lr, beta1, beta2, eps, weight_decay))
    w0 = f32(rs.standard_normal(n))
    grads = f32(rs.standard_normal((steps, n)) * grad_scale)
    weights, states = run_torch(
        lambda params: torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps,
                                        weight_decay=weight_decay, foreach=False),
        w0, grads, ["exp_avg", "exp_avg_sq"])
    ref_w, ref_m, ref_v = np_adam(w0, grads, lr, beta1, beta2, eps, weight_decay)
    check_close("adam weights", weights, ref_w)
    check_close("adam exp_avg", states["exp_avg"], ref_m)
    check_close("adam exp_avg_sq", states["exp_avg_sq"], ref_v)
    return [("kind", i32([KIND_ADAM])), ("n", i32([n])), ("steps", i32([steps])),
            ("lr", f32([lr])), ("weight_decay", f32([weight_decay])), ("beta1", f32([beta1])),
            ("beta2", f32([beta2])), ("eps", f32([eps])), ("weights0", w0),
            ("grads", grads.reshape(-1)), ("weights", f32(weights).reshape(-1)),
            ("exp_avg", f32(states["exp_avg"]).reshape(-1)),
            ("exp_avg_sq", f32(states["exp_avg_sq"]).reshape(-1))]


def all_cases():
    rs = np.random.RandomState(20240602)
    return [
        ("sgd_plain", sgd_case(rs, 11, 4, lr=0.1)),
        ("sgd_weight_decay", sgd_case(rs, 5, 4, lr=0.1, weight_decay=0.2)),
        ("sgd_momentum", sgd_case(rs, 11, 5, lr=0.05, momentum=0.9)),
        ("sgd_momentum_dampening_wd",
         sgd_case(rs, 13, 5, lr=0.1, momentum=0.9, dampening=0.25, weight_decay=0.01)),
        ("sgd_nesterov_wd",
         sgd_case(rs, 17, 5, lr=0.05, momentum=0.875, weight_decay=0.05, nesterov=True)),
        ("sgd_heavy", sgd_case(rs, 19, 6, lr=0.5, momentum=0.5, weight_decay=0.5)),
        ("adam_default", adam_case(rs, 11, 5, lr=1e-3)),
        ("adam_eps_wd",
         adam_case(rs, 13, 5, lr=0.01, beta1=0.8, beta2=0.9, eps=1e-3, weight_decay=0.1,
                   grad_scale=0.02)),
        ("adam_zero_betas", adam_case(rs, 7, 4, lr=0.02, beta1=0.0, beta2=0.0, eps=1e-6)),
        ("adam_small_grads", adam_case(rs, 9, 5, lr=1e-3, grad_scale=1e-4)),
        ("adam_long", adam_case(rs, 17, 12, lr=0.005, beta1=0.85, beta2=0.99, eps=1e-6,
                                weight_decay=0.01)),
    ]


def render():
    header = ("# Written by tools/make_optim_fixtures.py (PyTorch %s, float64 trajectories, "
              "rounded to float32). Do not edit.\n" % torch.__version__.split("a")[0])
    return header + "\n".join(format_case(name, arrays) for name, arrays in all_cases())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output file")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; fail if the file on disk differs")
    args = parser.parse_args()

    torch.set_num_threads(1)
    text = render()
    if args.check:
        if not os.path.exists(args.out) or open(args.out).read() != text:
            sys.exit(f"{args.out} is stale or missing; rerun {sys.argv[0]}")
        print(f"{args.out} is up to date")
        return
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
