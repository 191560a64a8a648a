#!/usr/bin/python3
"""Reference figures for the zoo tests (tests/graph/zoo_test.cc), computed with PyTorch.

Builds each zoo model in PyTorch (torchvision's resnet18 and mobilenet_v2; ResNet-20 with 1x1
projection shortcuts and the Fashion-MNIST ResNet as graph/zoo.h describes them), counts the
multiply-accumulates of every Conv2d and Linear with forward hooks, the learnable parameters,
and BatchNorm's running statistics (buffers), and prints them as C++ constants. With
--write-names it also writes tests/graph/testdata/zoo_param_names.txt: for every model, each
state_dict key (learnable parameters and BatchNorm running statistics) with its PyTorch shape,
which zoo_test.cc checks the zoo's parameter tensors against (OIHW transposed to OHWI).

Run with Debian's interpreter: /usr/bin/python3 tests/graph/zoo_reference.py
"""
import torch
import torch.nn as nn
import torchvision


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, shortcut_name):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut_name = shortcut_name
        if stride != 1 or cin != cout:
            setattr(self, shortcut_name, nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout)))
        else:
            setattr(self, shortcut_name, None)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = getattr(self, self.shortcut_name)
        return torch.relu(y + (x if s is None else s(x)))


class SmallResNet(nn.Module):
    def __init__(self, in_c, stem, channels, strides, blocks, classes, shortcut_name):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, stem, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        cin = stem
        for i, (c, s) in enumerate(zip(channels, strides)):
            layers = []
            for b in range(blocks):
                layers.append(BasicBlock(cin, c, s if b == 0 else 1, shortcut_name))
                cin = c
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*layers))
        self.nstages = len(channels)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        for i in range(self.nstages):
            x = getattr(self, "layer%d" % (i + 1))(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def figures(model, shape):
    macs = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
            macs[0] += out.numel() * k
        elif isinstance(m, nn.Linear):
            macs[0] += out.numel() * m.in_features

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(shape))
    params = sum(p.numel() for p in model.parameters())
    bn_stats = sum(b.numel() for n, b in model.named_buffers() if "running" in n)
    names = [(n, tuple(p.shape)) for n, p in model.named_parameters()] + [
        (n, tuple(b.shape)) for n, b in model.named_buffers() if "running" in n]
    return macs[0], params, bn_stats, tuple(out.shape), names


MODELS = {
    "fmnist_resnet": (SmallResNet(1, 32, [32, 64, 128], [2, 2, 2], 2, 10, "downsample"),
                      (1, 1, 28, 28)),
    "resnet20": (SmallResNet(3, 16, [16, 32, 64], [1, 2, 2], 3, 10, "shortcut"), (1, 3, 32, 32)),
    "mobilenet_v2": (torchvision.models.mobilenet_v2(), (1, 3, 224, 224)),
    "resnet18": (torchvision.models.resnet18(), (1, 3, 224, 224)),
}

if __name__ == "__main__":
    import os
    import sys
    lines = []
    for name, (model, shape) in MODELS.items():
        macs, params, bn, out, names = figures(model, shape)
        print("  {\"%s\", %d, %d, %d},  // output %s" % (name, macs, params, bn, list(out)))
        for n, s in sorted(names):
            lines.append("%s %s %s\n" % (name, n, ",".join(str(d) for d in s)))
    if "--write-names" in sys.argv:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata",
                            "zoo_param_names.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("# Written by tests/graph/zoo_reference.py --write-names: model key shape\n")
            f.writelines(lines)
        print("wrote", path)
