"""A reader for persephonee model files (docs/model-format.md, format versions 1 and 2), in Python.

Written from the format page alone, with struct and numpy: it checks the magic, the version, the
header and section-table fields, the header CRC-32 and each section's CRC-32 before parsing, and
bounds every count and offset, so a peer never runs a network it misread. Raises ModelFormatError
naming the file and the field at fault.
"""

import math
import struct
import zlib

import numpy as np

MAGIC = b"PSPHMODL"
VERSIONS = (1, 2)  # 2 adds parameters stored as int8 rows (dtype 1)
HEADER_SIZE = 64
TABLE_ENTRY = 32
SECTION_GRAPH = 1
SECTION_WEIGHTS = 2
ALIGN = 64

KINDS = ("input", "activation", "parameter", "output")
OPS = ("Conv2d", "BatchNorm", "ReLU", "ReLU6", "Add", "MaxPool", "AvgPool", "GlobalAvgPool",
       "FullyConnected", "Flatten", "Softmax")
ACTIVATIONS = (None, "ReLU", "ReLU6")


class ModelFormatError(Exception):
    pass


class Tensor:
    def __init__(self, name, kind, shape, data=None):
        self.name = name
        self.kind = kind
        self.shape = shape
        self.data = data  # numpy float32 array in `shape`, parameters only


class Node:
    def __init__(self, name, op, inputs, output, attrs):
        self.name = name
        self.op = op
        self.inputs = inputs
        self.output = output
        self.attrs = attrs  # key -> list of int or float


class Model:
    def __init__(self, tensors, nodes):
        self.tensors = tensors
        self.nodes = nodes

    def inputs(self):
        return [i for i, t in enumerate(self.tensors) if t.kind == "input"]

    def outputs(self):
        return [i for i, t in enumerate(self.tensors) if t.kind == "output"]


class _Reader:
    """Little-endian fields from a bytes object, never past its end."""

    def __init__(self, data, where):
        self.data = data
        self.pos = 0
        self.where = where

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.data):
            raise ModelFormatError(f"{self.where}: {what} runs past the end of the section")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt, what):
        size = struct.calcsize(fmt)
        return struct.unpack("<" + fmt, self.take(size, what))

    def u8(self, what):
        return self.unpack("B", what)[0]

    def u16(self, what):
        return self.unpack("H", what)[0]

    def u32(self, what):
        return self.unpack("I", what)[0]

    def u64(self, what):
        return self.unpack("Q", what)[0]

    def string(self, what, limit):
        n = self.u32(what + " length")
        if n > limit:
            raise ModelFormatError(f"{self.where}: {what} is {n} bytes, over the limit {limit}")
        try:
            return self.take(n, what).decode("utf-8")
        except UnicodeDecodeError:
            raise ModelFormatError(f"{self.where}: {what} is not UTF-8") from None


def _check_header(path, data):
    if len(data) < 8 or data[:8] != MAGIC:
        raise ModelFormatError(f"{path}: not a persephonee model file (wrong magic)")
    if len(data) < HEADER_SIZE + 2 * TABLE_ENTRY:
        raise ModelFormatError(f"{path}: truncated ({len(data)} bytes)")
    version, header_size, file_size, count, table_offset, crc = struct.unpack_from(
        "<IIQIII", data, 8)
    if version not in VERSIONS:
        raise ModelFormatError(f"{path}: format version {version}; this reader knows {VERSIONS}")
    if header_size != HEADER_SIZE or count != 2 or table_offset != HEADER_SIZE:
        raise ModelFormatError(f"{path}: bad header size, section count or table offset")
    if any(data[36:64]):
        raise ModelFormatError(f"{path}: reserved header bytes are not zero")
    covered = data[:32] + b"\0\0\0\0" + data[36:HEADER_SIZE + 2 * TABLE_ENTRY]
    if zlib.crc32(covered) != crc:
        raise ModelFormatError(f"{path}: header checksum mismatch")
    if file_size != len(data):
        raise ModelFormatError(f"{path}: header says {file_size} bytes, the file has {len(data)}")
    return version


def _int8_rows(where, raw, rows, cols):
    """Values of int8 rows: an exponent per row, then the integers; each row's one encoding."""
    exponents = np.frombuffer(raw, dtype=np.int8, count=rows).astype(np.int64)
    q = np.frombuffer(raw, dtype=np.int8, offset=rows).reshape(rows, cols).astype(np.int64)
    if np.any(q == -128):
        raise ModelFormatError(f"{where}: an int8 row holds -128")
    for r in range(rows):
        top = int(np.abs(q[r]).max()) if cols else 0
        want = -128  # the smallest exponent >= -128 whose grid holds the row's largest value
        if top:
            value = math.ldexp(top, int(exponents[r]))
            want = max(-128, math.ceil(math.log2(value / 127)))
            while want > -128 and value <= math.ldexp(127, want - 1):
                want -= 1
            while value > math.ldexp(127, want):
                want += 1
        if exponents[r] != want or want > 121:
            raise ModelFormatError(f"{where}: row {r} has exponent {exponents[r]}, expected {want}")
    return np.ldexp(q.astype(np.float64), exponents[:, None]).astype(np.float32)


def _sections(path, data):
    sections = {}
    end = HEADER_SIZE + 2 * TABLE_ENTRY
    for i in range(2):
        kind, r0, offset, size, crc, r1 = struct.unpack_from(
            "<IIQQII", data, HEADER_SIZE + i * TABLE_ENTRY)
        if kind not in (SECTION_GRAPH, SECTION_WEIGHTS) or kind in sections or r0 or r1:
            raise ModelFormatError(f"{path}: section table entry {i} is malformed")
        if offset % ALIGN or offset < end or offset - end >= ALIGN or offset + size > len(data):
            raise ModelFormatError(f"{path}: section {kind} offset/size out of bounds")
        if any(data[end:offset]):
            raise ModelFormatError(f"{path}: padding before section {kind} is not zero")
        body = data[offset:offset + size]
        if zlib.crc32(body) != crc:
            name = "graph" if kind == SECTION_GRAPH else "weights"
            raise ModelFormatError(f"{path}: {name} section checksum mismatch")
        sections[kind] = body
        end = offset + size
    if end != len(data):
        raise ModelFormatError(f"{path}: the last section does not end the file")
    return sections[SECTION_GRAPH], sections[SECTION_WEIGHTS]


def _tensor(r, index, weights, version):
    where = f"tensor {index}"
    name = r.string(where + " name", 1024)
    kind, dtype, rank, reserved = r.unpack("BBBB", where + " kind/dtype/rank")
    max_dtype = 1 if version >= 2 and kind < len(KINDS) and KINDS[kind] == "parameter" else 0
    if kind >= len(KINDS) or dtype > max_dtype or rank > 8 or reserved:
        raise ModelFormatError(f"{r.where}: {where} '{name}' has a bad kind, dtype or rank")
    shape = list(r.unpack(f"{rank}q", where + " dims")) if rank else []
    if any(d < 1 for d in shape):
        raise ModelFormatError(f"{r.where}: {where} '{name}' has a dimension below 1")
    data = None
    if KINDS[kind] == "parameter":
        offset, size = r.u64(where + " data offset"), r.u64(where + " data size")
        count = int(np.prod(shape)) if shape else 1
        rows = shape[0] if shape else 1
        expected = 4 * count if dtype == 0 else rows + count
        if offset % ALIGN or size != expected or offset + size > len(weights):
            raise ModelFormatError(f"{r.where}: {where} '{name}' data range is invalid")
        if dtype == 0:
            data = np.frombuffer(weights, dtype="<f4", count=count, offset=offset)
        else:
            data = _int8_rows(f"{r.where}: {where} '{name}'", weights[offset:offset + size],
                              rows, count // rows)
        data = data.reshape(shape).astype(np.float32)
        if not np.all(np.isfinite(data)):
            raise ModelFormatError(f"{r.where}: parameter '{name}' holds a non-finite value")
    return Tensor(name, KINDS[kind], shape, data)


def _node(r, index, num_tensors):
    where = f"node {index}"
    name = r.string(where + " name", 1024)
    op, n_inputs, reserved = r.unpack("BBH", where + " op/input count")
    if op >= len(OPS) or not 1 <= n_inputs <= 5 or reserved:
        raise ModelFormatError(f"{r.where}: {where} '{name}' has a bad op or input count")
    inputs = list(r.unpack(f"{n_inputs}I", where + " inputs"))
    output = r.u32(where + " output")
    if any(t >= num_tensors for t in inputs + [output]):
        raise ModelFormatError(f"{r.where}: {where} '{name}' names a tensor that does not exist")
    attrs = {}
    n_attrs = r.u32(where + " attribute count")
    if n_attrs > 16:
        raise ModelFormatError(f"{r.where}: {where} '{name}' has {n_attrs} attributes (max 16)")
    for _ in range(n_attrs):
        key = r.string(where + " attribute key", 64)
        kind, count = r.u8(where + " attribute type"), r.u32(where + " attribute count")
        if kind not in (1, 2) or count > 16 or key in attrs:
            raise ModelFormatError(f"{r.where}: {where} '{name}' attribute '{key}' is malformed")
        attrs[key] = list(r.unpack(f"{count}{'q' if kind == 1 else 'f'}", key))
    return Node(name, OPS[op], inputs, output, attrs)


def load_model(path):
    """Reads and checks the model file at `path`; returns a Model."""
    with open(path, "rb") as f:
        data = f.read()
    version = _check_header(path, data)
    graph, weights = _sections(path, data)
    r = _Reader(graph, f"{path}: graph section")
    num_tensors, num_nodes = r.u32("tensor count"), r.u32("node count")
    if 8 * num_tensors + 16 * num_nodes > len(graph):
        raise ModelFormatError(f"{path}: tensor/node counts exceed the graph section")
    tensors = [_tensor(r, i, weights, version) for i in range(num_tensors)]
    nodes = [_node(r, i, num_tensors) for i in range(num_nodes)]
    if r.pos != len(graph):
        raise ModelFormatError(f"{path}: {len(graph) - r.pos} unexpected bytes after the nodes")
    return Model(tensors, nodes)
