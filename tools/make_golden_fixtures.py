#!/usr/bin/python3
"""Writes the PyTorch golden fixtures that tests/golden/ compares persephonee's kernels with.

Run with Debian's interpreter and python3-torch (PyTorch 1.13), from anywhere:

    /usr/bin/python3 tools/make_golden_fixtures.py            # (re)writes tests/golden/testdata/
    /usr/bin/python3 tools/make_golden_fixtures.py --check    # verifies the files are up to date

The output is deterministic (fixed seeds, no threads involved in the results): running the
script twice gives byte-identical files, and --check compares them with what is on disk.

Precision
---------
Inputs (x, w, b, dy) are drawn as float32 and stored exactly. Every forward and backward value
(y, dx, dw, db) is computed by PyTorch in float64 from those exact inputs, through autograd,
and only then rounded to float32. The stored expectations are therefore the exact results
correctly rounded (up to float64 rounding, ~1e-16 relative), and a float32 kernel's distance
from them is its own rounding error alone.

Before writing, the script checks its own layout conversions: an independent numpy forward in
NHWC / OHWI must reproduce PyTorch's y, and the adjoint identities of the (piecewise) linear
ops, <dy, y - b> = <dx, x> = <dw, w> (conv, fc) and <dy, y> = <dx, x> (pooling), must hold.

Layouts (the engine's, see kernels/README.md)
---------------------------------------------
  activations        NHWC           x, y, dx, dy: [n][h][w][c]
  conv weights       OHWI           w, dw: [out_c][kh][kw][in_c / groups]
  conv bias          [out_c]        b, db
  global avg pool    y, dy: [n][c]
  fully-connected    x, dx: [n][in]; w, dw: [out][in]; b, db: [out]; y, dy: [n][out]

File format (version 1; tests/golden/fixture.h reads it)
--------------------------------------------------------
All integers are unsigned 32-bit little-endian; float32 is IEEE-754 binary32 little-endian.

  magic         8 bytes   "PSGOLDEN"
  version       u32       1
  array_count   u32       1..256
  array_count times:
    name_length u32       1..64
    name        bytes     [A-Za-z0-9_], unique within the file
    dtype       u32       1 = float32, 2 = int32 (two's complement)
    rank        u32       0..6 (rank 0 is a scalar holding one element)
    dims        rank x u32, each 1..65536; the element count is at most 2^22
    data        element_count x 4 bytes, row-major (last dimension fastest)
  crc32         u32       CRC-32 (zlib's, IEEE 802.3) of every byte before it

Nothing may follow the checksum. float32 data must be finite.

Arrays in each fixture
----------------------
  conv2d_*  x, w, b, dy, y, dx, dw, db (float32), and int32 attributes:
            stride [2] = (h, w); padding [4] = (top, left, bottom, right);
            dilation [2] = (h, w); groups [1]
  pool_*    x, dy, y, dx (float32), and int32 attributes: kind [1] (0 = max, 1 = average,
            2 = global average); for max and average also kernel [2] = (h, w), stride [2],
            padding [4] = (top, left, bottom, right); for max also argmax (int32, shaped as
            y: PyTorch's return_indices, ih * in_w + iw within the image's channel plane);
            for average also count_include_pad [1] (1: the divisor is always kh * kw,
            PyTorch's default; 0: only the in-bounds pixels are counted, as XNNPACK and
            TFLite do)
  fc_*      x, w, b, dy, y, dx, dw, db (float32)

Output sizes use floor division (PyTorch's ceil_mode=False):
  out = (in + pad_before + pad_after - dilation * (k - 1) - 1) // stride + 1
"""

import argparse
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

MAGIC = b"PSGOLDEN"
VERSION = 1
DTYPE_F32 = 1
DTYPE_I32 = 2
MAX_TOTAL_BYTES = 300 * 1024

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "golden", "testdata")


# ---------------------------------------------------------------------------------------------
# Serialisation


def encode_fixture(arrays):
    """Encodes [(name, np.ndarray of float32 or int32)] in the format described above."""
    out = bytearray(MAGIC)
    out += struct.pack("<II", VERSION, len(arrays))
    names = set()
    for name, a in arrays:
        assert name not in names, name
        names.add(name)
        a = np.ascontiguousarray(a)
        if a.dtype == np.float32:
            dtype = DTYPE_F32
            assert np.all(np.isfinite(a)), name
        elif a.dtype == np.int32:
            dtype = DTYPE_I32
        else:
            raise TypeError(f"{name}: unsupported dtype {a.dtype}")
        assert a.ndim <= 6 and all(1 <= d <= 65536 for d in a.shape), (name, a.shape)
        encoded_name = name.encode("ascii")
        out += struct.pack("<I", len(encoded_name)) + encoded_name
        out += struct.pack("<II", dtype, a.ndim)
        out += struct.pack(f"<{a.ndim}I", *a.shape)
        out += a.astype(a.dtype.newbyteorder("<")).tobytes(order="C")
    out += struct.pack("<I", zlib.crc32(bytes(out)) & 0xFFFFFFFF)
    return bytes(out)


def f32(t):
    """A float64 tensor rounded to a float32 numpy array."""
    return t.detach().to(torch.float32).numpy().copy()


def i32(*values):
    return np.array(values, dtype=np.int32)


def nchw_to_nhwc(t):
    return t.permute(0, 2, 3, 1)


def nhwc_to_nchw(t):
    return t.permute(0, 3, 1, 2)


# ---------------------------------------------------------------------------------------------
# Independent numpy references in the engine's layouts (self-checks of the conversions)


def out_size(size, k, stride, pad_before, pad_after, dilation=1):
    return (size + pad_before + pad_after - dilation * (k - 1) - 1) // stride + 1


def conv_nhwc_ref(x, w, b, stride, padding, dilation, groups):
    n, h, wd, c = x.shape
    o, kh, kw, cg = w.shape
    top, left, bottom, right = padding
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    oh = out_size(h, kh, stride[0], top, bottom, dilation[0])
    ow = out_size(wd, kw, stride[1], left, right, dilation[1])
    og = o // groups
    y = np.zeros((n, oh, ow, o))
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                r0, c0 = i * dilation[0], j * dilation[1]
                patch = xp[:, r0:r0 + stride[0] * (oh - 1) + 1:stride[0],
                           c0:c0 + stride[1] * (ow - 1) + 1:stride[1], g * cg:(g + 1) * cg]
                y[..., g * og:(g + 1) * og] += np.einsum(
                    "nhwc,oc->nhwo", patch, w[g * og:(g + 1) * og, i, j, :])
    return y + b


def pool_nhwc_ref(x, kind, kernel, stride, padding, count_include_pad):
    n, h, wd, c = x.shape
    top, left, bottom, right = padding
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    valid = np.pad(np.ones((h, wd)), ((top, bottom), (left, right)))
    oh = out_size(h, kernel[0], stride[0], top, bottom)
    ow = out_size(wd, kernel[1], stride[1], left, right)
    y = np.empty((n, oh, ow, c))
    for r in range(oh):
        for s in range(ow):
            rows = slice(r * stride[0], r * stride[0] + kernel[0])
            cols = slice(s * stride[1], s * stride[1] + kernel[1])
            window = xp[:, rows, cols, :]
            if kind == "max":
                y[:, r, s, :] = window.max(axis=(1, 2))
            else:
                count = kernel[0] * kernel[1] if count_include_pad else valid[rows, cols].sum()
                y[:, r, s, :] = window.sum(axis=(1, 2)) / count
    return y


def check_close(name, got, want):
    err = np.max(np.abs(got - want))
    scale = max(1.0, np.max(np.abs(want)))
    if not err <= 1e-12 * scale:
        raise AssertionError(f"{name}: numpy reference differs from PyTorch by {err}")


def check_adjoint(name, lhs, rhs):
    if not abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs)):
        raise AssertionError(f"{name}: adjoint identity fails: {lhs} vs {rhs}")


# ---------------------------------------------------------------------------------------------
# Cases


def generator(seed):
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def uniform(g, shape, lo=-1.0, hi=1.0):
    """float32 draws, returned as exact float64."""
    return (torch.rand(shape, generator=g, dtype=torch.float32) * (hi - lo) + lo).double()


def normal(g, shape, std=1.0):
    return (torch.randn(shape, generator=g, dtype=torch.float32) * std).double()


def conv_case(seed, n, h, w, c, o, k, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
              groups=1):
    """One conv2d fixture. k = (kh, kw); padding = (top, left, bottom, right)."""
    g = generator(seed)
    kh, kw = k
    cg = c // groups
    assert c % groups == 0 and o % groups == 0
    x = uniform(g, (n, c, h, w)).requires_grad_()
    weight = normal(g, (o, cg, kh, kw), std=1.0 / np.sqrt(cg * kh * kw)).requires_grad_()
    bias = uniform(g, (o,), -0.5, 0.5).requires_grad_()
    top, left, bottom, right = padding
    if top == bottom and left == right:
        y = F.conv2d(x, weight, bias, stride=stride, padding=(top, left), dilation=dilation,
                     groups=groups)
    else:
        y = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias, stride=stride,
                     padding=0, dilation=dilation, groups=groups)
    dy = normal(g, y.shape)
    y.backward(dy)

    xs, ws = nchw_to_nhwc(x).detach(), weight.permute(0, 2, 3, 1).detach()
    ys, dys = nchw_to_nhwc(y).detach(), nchw_to_nhwc(dy)
    dxs, dws = nchw_to_nhwc(x.grad), weight.grad.permute(0, 2, 3, 1)
    ref = conv_nhwc_ref(xs.numpy(), ws.numpy(), bias.detach().numpy(), stride, padding, dilation,
                        groups)
    check_close("conv y", ref, ys.numpy())
    linear = float(((ys - bias.detach()) * dys).sum())
    check_adjoint("conv dx", linear, float((dxs * xs).sum()))
    check_adjoint("conv dw", linear, float((dws * ws).sum()))
    check_close("conv db", dys.sum(dim=(0, 1, 2)).numpy(), bias.grad.numpy())
    return [
        ("x", f32(xs)), ("w", f32(ws)), ("b", f32(bias)), ("dy", f32(dys)),
        ("y", f32(ys)), ("dx", f32(dxs)), ("dw", f32(dws)), ("db", f32(bias.grad)),
        ("stride", i32(*stride)), ("padding", i32(*padding)), ("dilation", i32(*dilation)),
        ("groups", i32(groups)),
    ]


def pool_case(seed, kind, n, h, w, c, kernel=(1, 1), stride=(1, 1), padding=(0, 0, 0, 0),
              count_include_pad=True):
    """One pooling fixture; kind is "max", "avg" or "global_avg"."""
    g = generator(seed)
    if kind == "max":
        # A scaled permutation: every value distinct, so each window's argmax is unambiguous
        # (2 / numel apart, far above float32 resolution in [-1, 1)).
        numel = n * c * h * w
        perm = torch.randperm(numel, generator=g).to(torch.float32)
        x = ((perm - numel / 2) * (2.0 / numel)).reshape(n, c, h, w).double()
    else:
        x = uniform(g, (n, c, h, w))
    x.requires_grad_()
    top, left, bottom, right = padding
    argmax = None
    if kind == "max":
        assert top == bottom and left == right
        y, argmax = F.max_pool2d(x, kernel, stride, padding=(top, left), return_indices=True)
    elif kind == "avg":
        assert top == bottom and left == right
        y = F.avg_pool2d(x, kernel, stride, padding=(top, left),
                         count_include_pad=count_include_pad)
    else:
        y = x.mean(dim=(2, 3))
    dy = normal(g, y.shape)
    y.backward(dy)

    xs, dxs = nchw_to_nhwc(x).detach(), nchw_to_nhwc(x.grad)
    if kind == "global_avg":
        ys, dys = y.detach(), dy
        ref = xs.numpy().mean(axis=(1, 2))
    else:
        ys, dys = nchw_to_nhwc(y).detach(), nchw_to_nhwc(dy)
        ref = pool_nhwc_ref(xs.numpy(), kind, kernel, stride, padding, count_include_pad)
    check_close("pool y", ref, ys.numpy())
    check_adjoint("pool dx", float((ys * dys).sum()), float((dxs * xs).sum()))
    arrays = [("x", f32(xs)), ("dy", f32(dys)), ("y", f32(ys)), ("dx", f32(dxs)),
              ("kind", i32({"max": 0, "avg": 1, "global_avg": 2}[kind]))]
    if kind == "max":
        # PyTorch's return_indices: ih * in_w + iw within each image's channel plane.
        argmax_nhwc = nchw_to_nhwc(argmax).numpy()
        assert argmax_nhwc.min() >= 0 and argmax_nhwc.max() < h * w
        planes = xs.numpy().reshape(n, h * w, c)
        gathered = np.take_along_axis(planes, argmax_nhwc.reshape(n, -1, c), axis=1)
        check_close("pool argmax", gathered.reshape(ys.shape), ys.numpy())
        arrays.append(("argmax", argmax_nhwc.astype(np.int32)))
    if kind != "global_avg":
        arrays += [("kernel", i32(*kernel)), ("stride", i32(*stride)),
                   ("padding", i32(*padding))]
    if kind == "avg":
        arrays.append(("count_include_pad", i32(int(count_include_pad))))
    return arrays


def fc_case(seed, n, cin, cout):
    g = generator(seed)
    x = uniform(g, (n, cin)).requires_grad_()
    weight = normal(g, (cout, cin), std=1.0 / np.sqrt(cin)).requires_grad_()
    bias = uniform(g, (cout,), -0.5, 0.5).requires_grad_()
    y = F.linear(x, weight, bias)
    dy = normal(g, y.shape)
    y.backward(dy)
    xd, wd, bd, yd = x.detach(), weight.detach(), bias.detach(), y.detach()
    check_close("fc y", xd.numpy() @ wd.numpy().T + bd.numpy(), yd.numpy())
    linear = float(((yd - bd) * dy).sum())
    check_adjoint("fc dx", linear, float((x.grad * xd).sum()))
    check_adjoint("fc dw", linear, float((weight.grad * wd).sum()))
    check_close("fc db", dy.sum(dim=0).numpy(), bias.grad.numpy())
    return [("x", f32(xd)), ("w", f32(wd)), ("b", f32(bd)), ("dy", f32(dy)), ("y", f32(yd)),
            ("dx", f32(x.grad)), ("dw", f32(weight.grad)), ("db", f32(bias.grad))]


def all_cases():
    """(file stem, arrays). Channel counts are mostly prime so no tile size divides them."""
    return [
        # conv2d: n, h, w, c, o, (kh, kw), stride, padding (t, l, b, r), dilation, groups
        ("conv2d_3x3_s1_p1", conv_case(101, 2, 7, 6, 3, 5, (3, 3), padding=(1, 1, 1, 1))),
        ("conv2d_3x3_s1_p1_wide",
         conv_case(102, 2, 5, 4, 13, 17, (3, 3), padding=(1, 1, 1, 1))),
        ("conv2d_3x3_s2_p1",
         conv_case(103, 2, 9, 8, 5, 7, (3, 3), stride=(2, 2), padding=(1, 1, 1, 1))),
        ("conv2d_1x1_batch3", conv_case(104, 3, 4, 5, 11, 13, (1, 1))),
        ("conv2d_5x5_asym_pad_batch1",
         conv_case(105, 1, 8, 7, 2, 3, (5, 5), padding=(1, 2, 3, 0))),
        ("conv2d_3x3_dilation2",
         conv_case(106, 2, 9, 9, 3, 4, (3, 3), padding=(2, 2, 2, 2), dilation=(2, 2))),
        ("conv2d_3x3_groups2",
         conv_case(107, 2, 6, 6, 6, 10, (3, 3), padding=(1, 1, 1, 1), groups=2)),
        ("conv2d_3x2_s2x1_batch1",
         conv_case(108, 1, 7, 6, 3, 2, (3, 2), stride=(2, 1), padding=(1, 0, 1, 0))),
        ("conv2d_dw3x3_s1",
         conv_case(109, 2, 5, 6, 13, 13, (3, 3), padding=(1, 1, 1, 1), groups=13)),
        ("conv2d_dw3x3_s2_batch3",
         conv_case(110, 3, 9, 8, 7, 7, (3, 3), stride=(2, 2), padding=(1, 1, 1, 1), groups=7)),
        ("conv2d_dw3x3_s1_batch1",
         conv_case(111, 1, 5, 7, 3, 3, (3, 3), padding=(1, 1, 1, 1), groups=3)),
        # pooling
        ("pool_max_2x2_s2", pool_case(201, "max", 2, 7, 8, 5, (2, 2), (2, 2))),
        ("pool_max_3x3_s2_p1",
         pool_case(202, "max", 2, 9, 8, 3, (3, 3), (2, 2), (1, 1, 1, 1))),
        ("pool_max_2x2_s2_batch1", pool_case(203, "max", 1, 6, 6, 13, (2, 2), (2, 2))),
        ("pool_avg_2x2_s2_batch3", pool_case(204, "avg", 3, 6, 6, 7, (2, 2), (2, 2))),
        ("pool_avg_3x3_s1_p1",
         pool_case(205, "avg", 2, 5, 6, 4, (3, 3), (1, 1), (1, 1, 1, 1))),
        ("pool_avg_3x3_s1_p1_exclude_pad",
         pool_case(205, "avg", 2, 5, 6, 4, (3, 3), (1, 1), (1, 1, 1, 1),
                   count_include_pad=False)),
        ("pool_global_avg_batch3", pool_case(207, "global_avg", 3, 5, 4, 6)),
        ("pool_global_avg_batch1", pool_case(208, "global_avg", 1, 7, 7, 13)),
        # fully-connected: n, in, out
        ("fc_batch1", fc_case(301, 1, 7, 5)),
        ("fc_batch3", fc_case(302, 3, 16, 10)),
        ("fc_batch5", fc_case(303, 5, 37, 13)),
        ("fc_batch2_wide", fc_case(304, 2, 41, 19)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; fail if any file on disk differs")
    args = parser.parse_args()

    torch.set_num_threads(1)
    encoded = [(stem + ".bin", encode_fixture(arrays)) for stem, arrays in all_cases()]
    total = sum(len(data) for _, data in encoded)
    if total > MAX_TOTAL_BYTES:
        sys.exit(f"fixtures total {total} bytes, over the {MAX_TOTAL_BYTES}-byte budget")

    if args.check:
        stale = []
        for name, data in encoded:
            path = os.path.join(args.out, name)
            if not os.path.exists(path) or open(path, "rb").read() != data:
                stale.append(name)
        expected = {name for name, _ in encoded}
        if os.path.isdir(args.out):
            stale += sorted(f"{name} (not made by this script)" for name in os.listdir(args.out)
                            if name.endswith(".bin") and name not in expected)
        if stale:
            sys.exit("stale or missing fixtures: " + ", ".join(stale))
        print(f"{len(encoded)} fixtures up to date ({total} bytes)")
        return

    os.makedirs(args.out, exist_ok=True)
    for name, data in encoded:
        path = os.path.join(args.out, name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    print(f"wrote {len(encoded)} fixtures ({total} bytes) to {args.out}")


if __name__ == "__main__":
    main()
