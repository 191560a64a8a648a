#!/usr/bin/python3
"""Writes the PyTorch golden values that tests/kernels/loss/golden_test.cc compares the loss
kernels with (tests/kernels/loss/testdata/loss_golden.txt).

Run with Debian's interpreter and python3-torch (PyTorch 1.13), from anywhere:

    /usr/bin/python3 tools/make_loss_fixtures.py           # (re)writes the fixture
    /usr/bin/python3 tools/make_loss_fixtures.py --check   # fails if the file is out of date

The output is deterministic (fixed seeds): running the script twice gives identical files.

Precision
---------
Inputs (logits, targets, weights, temperature, grad_scale) are float32 and stored exactly.
Every expected value is computed by PyTorch in float64 from those exact inputs (gradients
through autograd) and only then rounded to float32, so a float32 kernel's distance from them
is its own rounding error. Before writing, an independent numpy computation of every value
must agree with PyTorch to 1e-12 relative.

What each case holds (kind; see kernels/loss/loss.h for the definitions)
--------------------------------------------------------------------------
  all         kind i32[1] (0 softmax, 1 cross-entropy, 2 distillation, 3 confidence),
              shape i32[2] = (batch, classes), logits f32[batch * classes]
  softmax     temperature f32[1]; probs = F.softmax(logits / T, dim=1)
  xent        labels i32[batch]; weights f32[batch] (absent: no weights, nullptr);
              grad_scale f32[1];
              losses = w * F.cross_entropy(logits, labels, reduction="none");
              loss_sum = losses.sum(); grad = d(grad_scale * loss_sum) / d logits
  kldiv       targets f32[batch * classes], temperature, weights (optional), grad_scale;
              losses = w * T^2 * F.kl_div(F.log_softmax(logits / T, dim=1), targets,
                                          reduction="none").sum(1);
              loss_sum, grad as for xent
  confidence  max_prob = softmax(logits).max(1); entropy = -(p * log_softmax(logits)).sum(1);
              argmax i32[batch] = logits.argmax(1) (the first of ties)

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
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "tests", "kernels", "loss", "testdata", "loss_golden.txt")

KIND_SOFTMAX, KIND_XENT, KIND_KLDIV, KIND_CONFIDENCE = 0, 1, 2, 3


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


# ---------------------------------------------------------------------------------------------
# Independent numpy float64 references (self-checks of the PyTorch expressions)


def np_log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    a = z - m
    return a - np.log(np.exp(a).sum(axis=1, keepdims=True))


def check_close(name, got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    err = np.abs(got - want).max() if got.size else 0.0
    if err > 1e-12 * max(1.0, np.abs(want).max()):
        sys.exit(f"self-check failed for {name}: max |torch - numpy| = {err}")


# ---------------------------------------------------------------------------------------------
# The cases


def f32(x):
    return np.asarray(x, dtype=np.float32)


def i32(x):
    return np.asarray(x, dtype=np.int32)


def head(kind, logits):
    return [("kind", i32([kind])), ("shape", i32(logits.shape)), ("logits", logits.reshape(-1))]


def softmax_case(logits, temperature):
    z = torch.from_numpy(logits.astype(np.float64))
    probs = F.softmax(z / float(temperature), dim=1).numpy()
    check_close("softmax", probs, np.exp(np_log_softmax(logits.astype(np.float64) / temperature)))
    return head(KIND_SOFTMAX, logits) + [("temperature", f32([temperature])),
                                         ("probs", f32(probs).reshape(-1))]


def weighted_outputs(losses_fn, logits, weights, grad_scale):
    grad_scale = float(np.float32(grad_scale))  # The float32 value the kernels receive.
    z = torch.from_numpy(logits.astype(np.float64)).requires_grad_(True)
    per_sample = losses_fn(z)
    w = torch.ones(logits.shape[0], dtype=torch.float64) if weights is None else \
        torch.from_numpy(weights.astype(np.float64))
    losses = per_sample * w
    loss_sum = losses.sum()
    (loss_sum * float(grad_scale)).backward()
    return per_sample.detach().numpy(), losses.detach().numpy(), loss_sum.item(), z.grad.numpy()


def xent_case(logits, labels, weights, grad_scale):
    y = torch.from_numpy(labels.astype(np.int64))
    raw, losses, loss_sum, grad = weighted_outputs(
        lambda z: F.cross_entropy(z, y, reduction="none"), logits, weights, grad_scale)
    lsm = np_log_softmax(logits.astype(np.float64))
    check_close("cross-entropy", raw, -lsm[np.arange(len(labels)), labels])
    arrays = head(KIND_XENT, logits) + [("labels", i32(labels))]
    if weights is not None:
        arrays.append(("weights", f32(weights)))
    return arrays + [("grad_scale", f32([grad_scale])), ("losses", f32(losses)),
                     ("loss_sum", f32([loss_sum])), ("grad", f32(grad).reshape(-1))]


def kldiv_case(logits, targets, temperature, weights, grad_scale):
    t = float(temperature)
    q = torch.from_numpy(targets.astype(np.float64))
    raw, losses, loss_sum, grad = weighted_outputs(
        lambda z: F.kl_div(F.log_softmax(z / t, dim=1), q, reduction="none").sum(1) * (t * t),
        logits, weights, grad_scale)
    q64 = targets.astype(np.float64)
    log_q = np.log(np.where(q64 > 0, q64, 1.0))
    lp = np_log_softmax(logits.astype(np.float64) / t)
    check_close("kl-div", raw, t * t * (q64 * (log_q - lp)).sum(axis=1))
    arrays = head(KIND_KLDIV, logits) + [("targets", targets.reshape(-1)),
                                         ("temperature", f32([temperature]))]
    if weights is not None:
        arrays.append(("weights", f32(weights)))
    return arrays + [("grad_scale", f32([grad_scale])), ("losses", f32(losses)),
                     ("loss_sum", f32([loss_sum])), ("grad", f32(grad).reshape(-1))]


def confidence_case(logits):
    z = torch.from_numpy(logits.astype(np.float64))
    lsm = F.log_softmax(z, dim=1)
    p = lsm.exp()
    max_prob = p.max(dim=1).values.numpy()
    entropy = (-(p * lsm).sum(dim=1)).numpy()
    argmax = torch.from_numpy(logits).argmax(dim=1).numpy()
    np_lsm = np_log_softmax(logits.astype(np.float64))
    check_close("max_prob", max_prob, np.exp(np_lsm).max(axis=1))
    check_close("entropy", entropy, -(np.exp(np_lsm) * np_lsm).sum(axis=1))
    if not np.array_equal(argmax, np.argmax(logits, axis=1)):
        sys.exit("self-check failed for argmax")
    return head(KIND_CONFIDENCE, logits) + [("max_prob", f32(max_prob)),
                                            ("entropy", f32(entropy)), ("argmax", i32(argmax))]


def teacher_targets(teacher_logits, temperature):
    """The float32 targets a caller passes: softmax(teacher / T), rounded once to float32."""
    z = torch.from_numpy(teacher_logits.astype(np.float64))
    return f32(F.softmax(z / float(temperature), dim=1).numpy())


def all_cases():
    rs = np.random.RandomState(20240601)

    def normal(batch, classes, scale):
        return f32(rs.standard_normal((batch, classes)) * scale)

    def extreme(batch, classes):
        return f32(rs.uniform(-1e4, 1e4, (batch, classes)))

    def labels(batch, classes):
        return i32(rs.randint(0, classes, batch))

    mixed_weights = f32([1.0, 0.0, 0.5, 2.0, 0.0, 1.25])
    cases = []

    cases.append(("softmax_b3_c10_t1", softmax_case(normal(3, 10, 2.0), 1.0)))
    cases.append(("softmax_b2_c17_t3", softmax_case(normal(2, 17, 3.0), 3.0)))
    cases.append(("softmax_b4_c5_t025", softmax_case(normal(4, 5, 1.0), 0.25)))
    cases.append(("softmax_b2_c1000_t1", softmax_case(normal(2, 1000, 4.0), 1.0)))
    cases.append(("softmax_b2_c7_extreme", softmax_case(extreme(2, 7), 1.0)))

    cases.append(("xent_b5_c7", xent_case(normal(5, 7, 3.0), labels(5, 7), None, 1.0 / 5)))
    cases.append(("xent_b6_c10_weighted",
                  xent_case(normal(6, 10, 2.0), labels(6, 10), mixed_weights,
                            1.0 / float(mixed_weights.sum()))))
    cases.append(("xent_b7_c17_weighted",
                  xent_case(normal(7, 17, 2.0), labels(7, 17),
                            f32([0.0, 1.0, 1.0, 0.0, 0.75, 1.0, 3.0]), 1.0)))
    cases.append(("xent_b3_c1000", xent_case(normal(3, 1000, 4.0), labels(3, 1000), None,
                                             1.0 / 3)))
    z = extreme(4, 5)
    cases.append(("xent_b4_c5_extreme",
                  xent_case(z, i32([np.argmax(z[0]), np.argmin(z[1]), 2, 4]), None, 0.25)))
    cases.append(("xent_b1_c1", xent_case(f32([[2.5]]), i32([0]), None, 1.0)))

    cases.append(("kldiv_b5_c7_t1",
                  kldiv_case(normal(5, 7, 2.0), teacher_targets(normal(5, 7, 2.0), 1.0), 1.0,
                             None, 1.0 / 5)))
    cases.append(("kldiv_b6_c10_t2_weighted",
                  kldiv_case(normal(6, 10, 2.0), teacher_targets(normal(6, 10, 3.0), 2.0), 2.0,
                             mixed_weights, 1.0 / float(mixed_weights.sum()))))
    cases.append(("kldiv_b3_c100_t4",
                  kldiv_case(normal(3, 100, 3.0), teacher_targets(normal(3, 100, 4.0), 4.0),
                             4.0, None, 1.0 / 3)))
    cases.append(("kldiv_b4_c16_t05",
                  kldiv_case(normal(4, 16, 2.0), teacher_targets(normal(4, 16, 8.0), 0.5), 0.5,
                             f32([1.0, 0.5, 0.0, 1.0]), 0.5)))
    cases.append(("kldiv_b3_c5_onehot_t1",
                  kldiv_case(normal(3, 5, 2.0), f32(np.eye(5)[[1, 4, 0]]), 1.0, None, 1.0)))
    cases.append(("kldiv_b2_c31_t3_extreme",
                  kldiv_case(extreme(2, 31), teacher_targets(normal(2, 31, 2.0), 3.0), 3.0,
                             None, 0.5)))
    z = normal(3, 8, 2.0)
    cases.append(("kldiv_b3_c8_t2_matched",
                  kldiv_case(z, teacher_targets(z, 2.0), 2.0, None, 1.0 / 3)))

    cases.append(("confidence_b6_c10", confidence_case(normal(6, 10, 2.0))))
    cases.append(("confidence_b4_c7_ties",
                  confidence_case(f32([[1, 3, 3, 0, -1, 2, 3], [0.5] * 7,
                                       [-2, -2, -1, -1, -3, -1, -4], [9, 0, 0, 0, 0, 0, 9]]))))
    cases.append(("confidence_b3_c1000", confidence_case(normal(3, 1000, 3.0))))
    cases.append(("confidence_b2_c5_extreme", confidence_case(extreme(2, 5))))
    cases.append(("confidence_b1_c1", confidence_case(f32([[-7.0]]))))
    return cases


def render():
    header = ("# Written by tools/make_loss_fixtures.py (PyTorch %s, float64, rounded to float32)."
              " Do not edit.\n" % torch.__version__.split("a")[0])
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
