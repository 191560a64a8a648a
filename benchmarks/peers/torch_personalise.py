#!/usr/bin/python3
"""PyTorch peer of persephonee's personalisation: the same heads, trained on the same backbone.

  /usr/bin/python3 benchmarks/peers/torch_personalise.py DUMP_DIR [--threads 1] [--fold-bn]
      [--channels-last] [--seed 0] [--batch B]

DUMP_DIR is what `personalise --dump-dir DUMP_DIR` wrote (benchmarks/personalise.cc):
setup.json, backbone.psm, head<k>.psm (each head's initial weights), images.idx, labels.idx.

How it is written is how one would write it in PyTorch: the backbone is loaded into torch
modules (PsmNet of torch_inference.py, from the model file that psm_model.py reads and checks),
frozen (requires_grad False), in eval mode, and run under torch.no_grad() on every batch of every
epoch, only as far as the last exit (the labels are all given, so the final exit's output, which
the engine also computes as a distillation teacher, is not needed here). The backbone is cut at
the exit tensors into consecutive segments (each exit is a "cut": the only tensor the rest of the
backbone reads), one PsmNet per segment. The heads are PsmNets of the dumped head files, so they
start from the engine's initial weights. Each batch: cross-entropy on the labels per head (mean
over the batch), summed over the heads, one backward, one torch.optim.Adam step (lr, weight decay
from setup.json, betas (0.9, 0.999), eps 1e-8) over every head parameter, and the cosine schedule
lr * 0.5 * (1 + cos(pi * s / total_batches)) stepped every batch (LambdaLR). Same batch size,
epochs, images (p / 255) and labels as the engine; the data order is torch.randperm per epoch
(not the engine's order; the setup does not ask for it). The last batch of an epoch is partial.

Prints each epoch, the median time per epoch, the total and the peak RSS (VmHWM), and last a
"result ..." line of key=value pairs for run_personalise_peer.sh. Exit codes: 0 done, 1 the dump
cannot be read or does not fit together, 2 usage.
"""

import argparse
import gzip
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from psm_model import Model, ModelFormatError, Tensor, load_model  # noqa: E402
from torch_inference import PsmNet, _peak_rss_mib  # noqa: E402


class SetupError(Exception):
    pass


def read_idx_u8(path):
    """A uint8 IDX file (plain or gzip) as a numpy array of its dimensions."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise SetupError(f"{path}: not a uint8 IDX file")
    rank = data[3]
    if len(data) < 4 + 4 * rank:
        raise SetupError(f"{path}: truncated header")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    count = int(np.prod(dims)) if dims else 0
    if len(data) != 4 + 4 * rank + count:
        raise SetupError(f"{path}: {len(data) - 4 - 4 * rank} data bytes, dims {dims} need {count}")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def split_backbone(model, exit_tensors):
    """The backbone as consecutive Models: input -> exit 1, exit 1 -> exit 2, ... Each exit must
    be a cut: no node after it reads a tensor written before it, other than the exit itself."""
    index = {t.name: i for i, t in enumerate(model.tensors)}
    producer = {n.output: k for k, n in enumerate(model.nodes)}
    segments, first, start_tensor = [], 0, model.inputs()[0]
    for name in exit_tensors:
        if name not in index or index[name] not in producer:
            raise SetupError(f"exit tensor '{name}' is not an output of a backbone node")
        t = index[name]
        last = producer[t]
        if last < first:
            raise SetupError(f"exit tensor '{name}' comes before the previous exit")
        nodes = model.nodes[first:last + 1]
        written = {n.output for n in nodes} | {start_tensor}
        for later in model.nodes[last + 1:]:
            for i in later.inputs:
                if i in written and i != t:
                    raise SetupError(f"exit '{name}' is not a cut: node '{later.name}' reads "
                                     f"'{model.tensors[i].name}' from before it")
        tensors = []
        for i, tensor in enumerate(model.tensors):
            kind = tensor.kind
            if kind in ("input", "output"):
                kind = "activation"
            if i == start_tensor:
                kind = "input"
            elif i == t:
                kind = "output"
            tensors.append(Tensor(tensor.name, kind, tensor.shape, tensor.data))
        segments.append(Model(tensors, nodes))
        first, start_tensor = last + 1, t
    return segments


def load_setup(dump):
    try:
        with open(os.path.join(dump, "setup.json")) as f:
            setup = json.load(f)
        backbone = load_model(os.path.join(dump, setup["backbone"]))
        heads = [load_model(os.path.join(dump, e["head"])) for e in setup["exits"]]
        images = read_idx_u8(os.path.join(dump, setup["images"]))
        labels = read_idx_u8(os.path.join(dump, setup["labels"]))
    except (OSError, KeyError, ValueError, ModelFormatError) as e:
        raise SetupError(f"{dump}: {e}") from None
    shape = setup["input_shape"]
    n = setup["num_images"]
    if images.size != n * int(np.prod(shape[1:])) or labels.shape != (n,):
        raise SetupError(f"{dump}: images {images.shape} / labels {labels.shape} do not match "
                         f"{n} images of {shape}")
    if setup["holdout_fraction"] != 0 or setup["loss"]["kind"] != "cross_entropy":
        raise SetupError(f"{dump}: this peer trains on every image with cross-entropy only")
    if setup["optimizer"]["kind"] != "adam" or setup["schedule"]["kind"] != "cosine":
        raise SetupError(f"{dump}: this peer knows Adam with a cosine schedule only")
    if int(labels.max()) >= setup["classes"]:
        raise SetupError(f"{dump}: a label is not one of {setup['classes']} classes")
    images = images.reshape([n] + shape[1:])
    return setup, backbone, heads, images, labels


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dump", help="the directory `personalise --dump-dir` wrote")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fold-bn", action="store_true",
                        help="fold the backbone's BatchNorm into its convolutions, as the engine "
                        "does (default: BatchNorm modules in eval mode, as torchvision runs them)")
    parser.add_argument("--channels-last", action="store_true",
                        help="run backbone and heads in torch.channels_last memory format")
    parser.add_argument("--seed", type=int, default=0, help="torch.manual_seed (data order)")
    parser.add_argument("--batch", type=int, default=0,
                        help="the batch size when the engine's planner chose another one than "
                        "setup.json's (under a smaller --memory-budget); default: setup.json's")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.batch < 0:
        parser.error("--threads must be >= 1 and --batch >= 0")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    try:
        setup, backbone, head_models, images, labels = load_setup(args.dump)
        exits = setup["exits"]
        segments = [PsmNet(m, fold_bn=args.fold_bn)
                    for m in split_backbone(backbone, [e["tensor"] for e in exits])]
        heads = [PsmNet(m) for m in head_models]
    except (SetupError, ModelFormatError) as e:
        print(f"torch_personalise: {e}", file=sys.stderr)
        return 1
    del backbone, head_models
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    for seg in segments:
        seg.eval().requires_grad_(False).to(memory_format=fmt)
    for head in heads:
        head.train().to(memory_format=fmt)

    n, batch, epochs = setup["num_images"], args.batch or setup["batch"], setup["epochs"]
    opt = setup["optimizer"]
    params = [p for h in heads for p in h.parameters()]
    optimizer = torch.optim.Adam(params, lr=opt["lr"], betas=tuple(opt["betas"]), eps=opt["eps"],
                                 weight_decay=opt["weight_decay"])
    batches = (n + batch - 1) // batch
    total_steps = batches * epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1.0 + math.cos(math.pi * s / total_steps)))
    x_all = torch.from_numpy(images.copy())  # uint8, N x H x W x C (or N x H x W)
    if x_all.dim() == 3:
        x_all = x_all.unsqueeze(-1)
    y_all = torch.from_numpy(labels.astype(np.int64))

    print(f"torch {torch.__version__}, threads {args.threads}, {setup['model']}: {n} images, "
          f"{len(heads)} heads, batch {batch}, {epochs} epochs, BatchNorm "
          f"{'folded' if args.fold_bn else 'as modules'}, "
          f"{'channels_last' if args.channels_last else 'NCHW'}, backbone recomputed every epoch "
          f"up to '{exits[-1]['tensor']}'")
    epoch_seconds, epoch_loss = [], []
    start = time.perf_counter()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        running = 0.0
        for b in range(batches):
            idx = perm[b * batch:(b + 1) * batch]
            x = x_all[idx].permute(0, 3, 1, 2).float().div_(255.0)
            x = x.contiguous(memory_format=fmt)
            y = y_all[idx]
            with torch.no_grad():
                feats = []
                for seg in segments:
                    x = seg(x)
                    feats.append(x)
            loss = sum(F.cross_entropy(head(f), y) for head, f in zip(heads, feats))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            running += loss.item() / len(heads)
        epoch_seconds.append(time.perf_counter() - t0)
        epoch_loss.append(running / batches)
        print(f"epoch {epoch + 1}: loss {epoch_loss[-1]:.4f}, "
              f"{n / epoch_seconds[-1]:.1f} samples/s", flush=True)
    total = time.perf_counter() - start
    median = statistics.median(epoch_seconds)
    rss = _peak_rss_mib()
    print(f"time per epoch: median {median:.4f} s (min {min(epoch_seconds):.4f}, max "
          f"{max(epoch_seconds):.4f}) over {epochs} epochs; total {total:.4f} s; per epoch over "
          f"the run: {total / epochs:.4f} s")
    print(f"loss: first epoch {epoch_loss[0]:.4f}, last {epoch_loss[-1]:.4f}")
    print(f"peak RSS: {rss}")
    print(f"result model={setup['model']} images={n} epochs={epochs} batch={batch} "
          f"threads={args.threads} epoch_median_s={median:.6f} total_s={total:.6f} "
          f"per_epoch_total_s={total / epochs:.6f} peak_rss_mib={rss.split()[0]} "
          f"loss_first={epoch_loss[0]:.6f} loss_last={epoch_loss[-1]:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
