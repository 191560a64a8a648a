"""The ctypes binding (api/python/persephonee.py) over libpersephonee.so, with pytest.

Run by tools/test.sh after `bazel build //api:libpersephonee.so //tests/api:test_models`:
PERSEPHONEE_LIB is the .so, PERSEPHONEE_MODELS the folder holding backbone.psm and foreign.psm.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "api", "python"))
import persephonee  # noqa: E402

SIDE = 28
CLASSES = 4


def image(i):
    """Class i % 4: horizontal stripes, vertical stripes, a checkerboard, flat grey."""
    c = i % CLASSES
    state = 1000 + i
    out = bytearray(SIDE * SIDE)
    for p in range(SIDE * SIDE):
        row, col = p // SIDE // 2, p % SIDE // 2
        on = [row % 2, col % 2, (row + col) % 2, 0][c]
        state = (state * 1664525 + 1013904223) % 2**32
        out[p] = (100 if c == 3 else 0) + 180 * on + (state >> 26)
    return bytes(out)


IMAGES = [image(i) for i in range(48)]
LABELS = [i % CLASSES for i in range(48)]


@pytest.fixture(scope="module")
def lib():
    return persephonee.Library(os.environ["PERSEPHONEE_LIB"])


@pytest.fixture(scope="module")
def backbone(lib):
    return lib.load_backbone(os.path.join(os.environ["PERSEPHONEE_MODELS"], "backbone.psm"))


def test_backbone(lib, backbone):
    assert lib.version
    assert backbone.input_shape == (SIDE, SIDE, 1)
    assert backbone.num_classes == 10
    assert backbone.macs > 0


def test_personalise_save_load_classify(lib, backbone, tmp_path):
    epochs = []
    exits = lib.personalise(backbone, IMAGES, LABELS, exits=1, epochs=150,
                            memory_budget=1 << 30,
                            progress=lambda e, n, loss: epochs.append((e, n, loss)) and False)
    assert [e for e, _, _ in epochs] == list(range(1, 151))
    path = tmp_path / "user.pers"
    exits.save(path)
    again = lib.load_exits(backbone, path)
    assert len(again) == len(exits) >= 1
    a = lib.model(backbone, exits).classify(IMAGES)
    b = lib.model(backbone, again).classify(IMAGES)
    assert a == b
    if not exits.enabled:  # every image goes on to the last exit
        assert all(x >= len(exits) - 1 for _, x, _, _ in a)
    right = sum(label == truth for (label, _, _, _), truth in zip(a, LABELS))
    assert right >= len(IMAGES) // 2, right
    original = lib.model(backbone).classify(IMAGES[:3])
    assert all(x == 0 and macs == backbone.macs for _, x, _, macs in original)


def test_cancel(lib, backbone):
    calls = []
    with pytest.raises(persephonee.Error) as e:
        lib.personalise(backbone, IMAGES, LABELS, exits=1, epochs=5, memory_budget=1 << 30,
                        progress=lambda *a: calls.append(a) or True)
    assert e.value.code == "CANCELLED"
    assert len(calls) == 1


def test_errors(lib, backbone, tmp_path):
    with pytest.raises(persephonee.Error) as e:
        lib.load_backbone(tmp_path / "missing.psm")
    assert e.value.code == "NOT_FOUND" and "missing.psm" in e.value.message
    # No memory limit (0) is accepted.
    assert len(lib.personalise(backbone, IMAGES[:8], exits=1, epochs=1, memory_budget=0)) >= 1
    with pytest.raises(persephonee.Error) as e:
        lib.personalise(backbone, IMAGES, [11] * len(IMAGES), exits=1, epochs=1)
    assert e.value.code == "INVALID_ARGUMENT" and "of image 0" in e.value.message
    # An exception in the read callback is raised again after the call.
    with pytest.raises(ValueError, match=r"image \d+ has 3 bytes, expected 784"):
        lib.personalise(backbone, [b"abc"] * 4, exits=1, epochs=1)
    exits = lib.personalise(backbone, IMAGES, LABELS, exits=1, epochs=1, memory_budget=1 << 30)
    foreign = lib.load_backbone(os.path.join(os.environ["PERSEPHONEE_MODELS"], "foreign.psm"))
    with pytest.raises(persephonee.Error) as e:
        lib.model(foreign, exits)
    assert e.value.code == "FAILED_PRECONDITION"
    path = tmp_path / "user.pers"
    exits.save(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(persephonee.Error) as e:
        lib.load_exits(backbone, path)
    assert e.value.code == "DATA_LOSS" and str(path) in e.value.message
