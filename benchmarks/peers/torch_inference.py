#!/usr/bin/python3
"""PyTorch peer of persephonee's inference engine.

Reads a persephonee model file (docs/model-format.md; psm_model.py checks every CRC), builds the
same network as a torch.nn.Module, and with the engine's output for a fixed input (from
`persephonee run MODEL --input X.f32 --output Y.f32`) first checks that PyTorch's output agrees
within --tolerance (max |torch - engine| / max |engine|, default 1e-4), then times PyTorch's
forward pass: torch.no_grad(), torch.set_num_threads(N), eval mode, W warm-up runs, K timed runs,
median / min / p90.

The translation: activations NHWC -> NCHW, Conv2d weights OHWI -> OIHW (permute(0, 3, 1, 2)),
FullyConnected weights [out][in] as they are. Symmetric padding goes to the layer's own
`padding`; asymmetric padding is an explicit F.pad first (zeros for convolutions, -inf for max
pooling). BatchNorm is nn.BatchNorm2d in eval mode, as a torchvision model runs it; with
--fold-bn each BatchNorm that directly follows a convolution read by nothing else is folded into
it (torch.nn.utils.fusion.fuse_conv_bn_eval), as the engine does. Our Flatten flattens NHWC
order: the NCHW tensor is permuted to NHWC before it is flattened, so the FullyConnected weights
after it apply unchanged. Softmax on a 4-D tensor is over the channels (NHWC's last axis).

Run with Debian's interpreter: /usr/bin/python3 benchmarks/peers/torch_inference.py --help
Exit codes: 0 agreement (and timing) done, 1 outputs disagree or the model cannot be read,
2 usage.
"""

import argparse
import math
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from psm_model import ACTIVATIONS, ModelFormatError, load_model  # noqa: E402


def _act(code):
    name = ACTIVATIONS[code]
    return nn.ReLU() if name == "ReLU" else nn.ReLU6() if name == "ReLU6" else None


def _param(model, node, slot):
    if slot >= len(node.inputs):
        return None
    return torch.from_numpy(model.tensors[node.inputs[slot]].data.copy())


class Pad(nn.Module):
    """Asymmetric padding (top, bottom, left, right) with a constant."""

    def __init__(self, padding, value):
        super().__init__()
        top, bottom, left, right = padding
        self.pad = (left, right, top, bottom)
        self.value = value

    def forward(self, x):
        return F.pad(x, self.pad, value=self.value)


class AvgPoolExcludingPad(nn.Module):
    """Average pooling over asymmetric zero padding, dividing by the in-image count."""

    def __init__(self, kernel, stride, padding):
        super().__init__()
        self.pad = Pad(padding, 0.0)
        self.kernel, self.stride = kernel, stride

    def forward(self, x):
        ones = torch.ones_like(x[:, :1])
        s = F.avg_pool2d(self.pad(x), self.kernel, self.stride)
        c = F.avg_pool2d(self.pad(ones), self.kernel, self.stride)
        return s / c


def _symmetric(p):
    top, bottom, left, right = p
    return top == bottom and left == right


def _conv(model, node, shapes):
    a = node.attrs
    in_c = shapes[node.inputs[0]][3]
    w = _param(model, node, 1).permute(0, 3, 1, 2).contiguous()
    b = _param(model, node, 2)
    pad = a["padding"]
    conv = nn.Conv2d(in_c, a["out_channels"][0], tuple(a["kernel"]), tuple(a["stride"]),
                     (pad[0], pad[2]) if _symmetric(pad) else 0, tuple(a["dilation"]),
                     a["groups"][0], bias=b is not None)
    with torch.no_grad():
        conv.weight.copy_(w)
        if b is not None:
            conv.bias.copy_(b)
    return conv, (None if _symmetric(pad) else Pad(pad, 0.0)), _act(a["activation"][0])


def _batch_norm(model, node, shapes):
    c = model.tensors[node.inputs[1]].shape[0]
    rank = len(shapes[node.inputs[0]])
    bn = (nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d)(c, eps=node.attrs["epsilon"][0])
    with torch.no_grad():
        bn.weight.copy_(_param(model, node, 1))
        bn.bias.copy_(_param(model, node, 2))
        bn.running_mean.copy_(_param(model, node, 3))
        bn.running_var.copy_(_param(model, node, 4))
    return bn.eval()


def _pool(node):
    a = node.attrs
    k, s, pad = tuple(a["kernel"]), tuple(a["stride"]), a["padding"]
    fits = _symmetric(pad) and 2 * pad[0] <= k[0] and 2 * pad[2] <= k[1]
    if node.op == "MaxPool":
        if fits:
            return nn.MaxPool2d(k, s, (pad[0], pad[2]))
        return nn.Sequential(Pad(pad, -math.inf), nn.MaxPool2d(k, s))
    include = bool(a["count_include_pad"][0])
    if fits:
        return nn.AvgPool2d(k, s, (pad[0], pad[2]), count_include_pad=include)
    if include:
        return nn.Sequential(Pad(pad, 0.0), nn.AvgPool2d(k, s))
    return AvgPoolExcludingPad(k, s, pad)


class PsmNet(nn.Module):
    """The network of a persephonee model file as torch modules, run node by node."""

    def __init__(self, model, fold_bn=False):
        super().__init__()
        self.layers = nn.ModuleList()
        self.steps = []  # (op, layer index or None, input tensor ids, output tensor id)
        shapes = {i: t.shape for i, t in enumerate(model.tensors)}
        readers = {}
        for node in model.nodes:
            for t in node.inputs:
                readers[t] = readers.get(t, 0) + 1
        outputs = set(model.outputs())
        conv_of = {}  # tensor id -> (layer index of a foldable conv's Sequential)
        for node in model.nodes:
            x = node.inputs[0]
            if node.op == "Conv2d":
                conv, pad, act = _conv(model, node, shapes)
                parts = [m for m in (pad, conv, act) if m is not None]
                self._add("layer", nn.Sequential(*parts), [x], node.output)
                if act is None and readers.get(node.output, 0) == 1 and node.output not in outputs:
                    conv_of[node.output] = len(self.layers) - 1
            elif node.op == "BatchNorm":
                bn = _batch_norm(model, node, shapes)
                if fold_bn and x in conv_of:
                    seq = self.layers[conv_of[x]]
                    seq[-1] = fuse_conv_bn_eval(seq[-1].eval(), bn)
                    self.steps.append(("alias", None, [x], node.output))
                else:
                    self._add("layer", bn, [x], node.output)
            elif node.op in ("ReLU", "ReLU6"):
                self._add("layer", nn.ReLU() if node.op == "ReLU" else nn.ReLU6(), [x],
                          node.output)
            elif node.op == "Add":
                self.steps.append(("add", None, [x, node.inputs[1]], node.output))
            elif node.op in ("MaxPool", "AvgPool"):
                self._add("layer", _pool(node), [x], node.output)
            elif node.op == "GlobalAvgPool":
                self._add("layer", nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1)), [x],
                          node.output)
            elif node.op == "FullyConnected":
                w, b = _param(model, node, 1), _param(model, node, 2)
                fc = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
                with torch.no_grad():
                    fc.weight.copy_(w)
                    if b is not None:
                        fc.bias.copy_(b)
                act = _act(node.attrs["activation"][0])
                self._add("layer", fc if act is None else nn.Sequential(fc, act), [x], node.output)
            elif node.op == "Flatten":
                op = "flatten_nhwc" if len(shapes[x]) == 4 else "alias"
                self.steps.append((op, None, [x], node.output))
            elif node.op == "Softmax":
                op = "softmax_channels" if len(shapes[x]) == 4 else "softmax_last"
                self.steps.append((op, None, [x], node.output))
            else:
                raise ModelFormatError(f"node '{node.name}': op {node.op} has no translation")
        self.input_id = model.inputs()[0]
        self.output_id = model.outputs()[0]
        self.eval()

    def _add(self, op, module, inputs, output):
        self.layers.append(module)
        self.steps.append((op, len(self.layers) - 1, inputs, output))

    def forward(self, x):
        env = {self.input_id: x}
        for op, layer, inputs, output in self.steps:
            a = env[inputs[0]]
            if op == "layer":
                y = self.layers[layer](a)
            elif op == "add":
                y = a + env[inputs[1]]
            elif op == "alias":
                y = a
            elif op == "flatten_nhwc":
                y = a.permute(0, 2, 3, 1).reshape(a.shape[0], -1)
            elif op == "softmax_channels":
                y = torch.softmax(a, dim=1)
            else:
                y = torch.softmax(a, dim=-1)
            env[output] = y
        return env[self.output_id]


def _peak_rss_mib():
    """VmHWM of this process: its peak resident set since exec (ru_maxrss would also count the
    image of the process that forked it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return f"{int(line.split()[1]) / 1024.0:.1f} MiB (VmHWM)"
    except OSError:
        pass
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0:.1f} MiB (ru_maxrss)"


def _nearest_rank(sorted_values, p):
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a persephonee model file (.psm)")
    parser.add_argument("--input", required=True,
                        help="the input, raw little-endian float32, batch x H x W x C (NHWC)")
    parser.add_argument("--expect", help="the engine's output for --input (float32); if given, "
                        "PyTorch's output must agree within --tolerance before timing")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--fold-bn", action="store_true",
                        help="fold BatchNorm into the preceding convolution, as the engine does")
    parser.add_argument("--channels-last", action="store_true",
                        help="run in torch.channels_last memory format")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.batch < 1 or args.iterations < 1 or args.warmup < 0:
        parser.error("--threads, --batch and --iterations must be >= 1, --warmup >= 0")

    torch.set_num_threads(args.threads)
    try:
        model = load_model(args.model)
        net = PsmNet(model, fold_bn=args.fold_bn)
    except (ModelFormatError, OSError) as e:
        print(f"torch_inference: {e}", file=sys.stderr)
        return 1
    shape = [args.batch] + model.tensors[net.input_id].shape[1:]
    try:
        x = np.fromfile(args.input, dtype="<f4")
        want = np.fromfile(args.expect, dtype="<f4") if args.expect else None
    except OSError as e:
        print(f"torch_inference: {e}", file=sys.stderr)
        return 1
    if x.size != int(np.prod(shape)):
        print(f"torch_inference: {args.input} has {x.size} float32; input {shape} needs "
              f"{int(np.prod(shape))}", file=sys.stderr)
        return 1
    xt = torch.from_numpy(x.astype(np.float32).reshape(shape))
    xt = xt.permute(0, 3, 1, 2) if len(shape) == 4 else xt
    if args.channels_last and len(shape) == 4:
        net = net.to(memory_format=torch.channels_last)
        xt = xt.contiguous(memory_format=torch.channels_last)
    else:
        xt = xt.contiguous()

    label = (f"torch {torch.__version__}, threads {args.threads}, batch {args.batch}, "
             f"BatchNorm {'folded' if args.fold_bn else 'as modules'}, "
             f"{'channels_last' if args.channels_last else 'NCHW'}")
    print(f"model: {args.model} ({label})")
    with torch.no_grad():
        y = net(xt)
        if args.expect:
            got = y.permute(0, 2, 3, 1) if y.dim() == 4 else y
            got = got.contiguous().numpy().astype(np.float64).ravel()
            want = want.astype(np.float64)
            if want.size != got.size:
                print(f"torch_inference: {args.expect} has {want.size} values; the model gives "
                      f"{got.size}", file=sys.stderr)
                return 1
            rel = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))
            ok = rel <= args.tolerance
            print(f"agreement: max |torch - engine| / max |engine| = {rel:.3e} "
                  f"(tolerance {args.tolerance:.0e}): {'ok' if ok else 'DISAGREE'}")
            if not ok:
                return 1
        for _ in range(args.warmup):
            net(xt)
        times = []
        for _ in range(args.iterations):
            start = time.perf_counter()
            net(xt)
            times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    median = statistics.median(times)
    print(f"latency ms: median {median:.4f}  min {times[0]:.4f}  p90 "
          f"{_nearest_rank(times, 90):.4f}")
    print(f"throughput: {args.batch / (median * 1e-3):.2f} images/s")
    print(f"peak RSS: {_peak_rss_mib()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
