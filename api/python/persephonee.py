"""persephonee from Python: a ctypes binding over libpersephonee.so (standard library only).

    import persephonee
    lib = persephonee.Library("bazel-bin/api/libpersephonee.so")
    backbone = lib.load_backbone("model.psm")
    exits = lib.personalise(backbone, images, labels, epochs=5)   # images: list of bytes
    exits.save("user.pers")
    model = lib.model(backbone, exits)
    label, exit, confidence, macs = model.classify(images[0])[0]

Errors raise persephonee.Error (with .code, a psp_code name, and the C API's message). Handles
free themselves when collected; close() frees them at once. Ownership and threads are the C
API's: backbones and exits may be shared across threads, a Model is for one thread at a time.
"""

import ctypes
import os

CODES = [
    "OK", "INVALID_ARGUMENT", "NOT_FOUND", "DATA_LOSS", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "CANCELLED", "UNIMPLEMENTED", "INTERNAL",
]


class Error(Exception):
    """A failure reported by the C API: `code` is its name ("NOT_FOUND", ...)."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


class _Prediction(ctypes.Structure):
    _fields_ = [("label", ctypes.c_int32), ("exit", ctypes.c_int32),
                ("confidence", ctypes.c_float), ("macs", ctypes.c_double)]


_READ = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
                         ctypes.POINTER(ctypes.c_uint8))
_PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                             ctypes.c_double)


class _Options(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("exits", ctypes.c_int),
                ("epochs", ctypes.c_int), ("threads", ctypes.c_int),
                ("seed", ctypes.c_uint64), ("memory_budget", ctypes.c_size_t),
                ("progress", _PROGRESS), ("progress_user", ctypes.c_void_p)]


class _Handle:
    def __init__(self, lib, ptr, free):
        self._lib, self._ptr, self._free = lib, ptr, free

    def close(self):
        if self._ptr:
            self._free(self._ptr)
            self._ptr = None

    def __del__(self):
        self.close()

    def _get(self):
        if not self._ptr:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._ptr


class Backbone(_Handle):
    """A backbone (psp_backbone)."""

    @property
    def input_shape(self):
        h, w, c = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        self._lib._c.psp_backbone_input_shape(self._get(), ctypes.byref(h), ctypes.byref(w),
                                              ctypes.byref(c))
        return h.value, w.value, c.value

    @property
    def num_classes(self):
        return self._lib._c.psp_backbone_num_classes(self._get())

    @property
    def macs(self):
        return self._lib._c.psp_backbone_macs(self._get())


class Exits(_Handle):
    """One user's personalisation (psp_exits)."""

    def save(self, path):
        self._lib._check(self._lib._c.psp_exits_save(self._get(), os.fsencode(path)))

    def __len__(self):
        return self._lib._c.psp_exits_count(self._get())

    @property
    def enabled(self):
        """Whether the calibration switched the early exits on for this user."""
        return bool(self._lib._c.psp_exits_enabled(self._get()))


class Model(_Handle):
    """A backbone with a user's exits (psp_model); one thread at a time."""

    def classify(self, images):
        """Classifies a list of images (bytes of H x W x C each); returns (label, exit,
        confidence, macs) per image."""
        data = b"".join(images)
        out = (_Prediction * len(images))()
        self._lib._check(self._lib._c.psp_model_classify_u8(
            self._get(), data, len(images), out))
        return [(p.label, p.exit, p.confidence, p.macs) for p in out]


class Library:
    """libpersephonee.so, loaded from `path`."""

    def __init__(self, path):
        c = ctypes.CDLL(path)
        p, err = ctypes.c_void_p, ctypes.c_void_p
        sigs = {
            "psp_error_code": (ctypes.c_int, [p]),
            "psp_error_message": (ctypes.c_char_p, [p]),
            "psp_error_free": (None, [p]),
            "psp_version": (ctypes.c_char_p, []),
            "psp_backbone_load": (err, [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(p)]),
            "psp_backbone_free": (None, [p]),
            "psp_backbone_input_shape": (None, [p] + [ctypes.POINTER(ctypes.c_int)] * 3),
            "psp_backbone_num_classes": (ctypes.c_int, [p]),
            "psp_backbone_macs": (ctypes.c_double, [p]),
            "psp_exits_load": (err, [p, ctypes.c_char_p, ctypes.POINTER(p)]),
            "psp_exits_save": (err, [p, ctypes.c_char_p]),
            "psp_exits_free": (None, [p]),
            "psp_exits_count": (ctypes.c_int, [p]),
            "psp_exits_enabled": (ctypes.c_int, [p]),
            "psp_model_create": (err, [p, p, ctypes.POINTER(p)]),
            "psp_model_classify_u8": (err, [p, ctypes.c_char_p, ctypes.c_size_t,
                                            ctypes.POINTER(_Prediction)]),
            "psp_model_free": (None, [p]),
            "psp_personalise_options_init": (None, [ctypes.POINTER(_Options)]),
            "psp_personalise": (err, [p, ctypes.c_size_t, _READ, p,
                                      ctypes.POINTER(ctypes.c_int32), p,
                                      ctypes.POINTER(_Options), ctypes.POINTER(p)]),
        }
        for name, (res, args) in sigs.items():
            f = getattr(c, name)
            f.restype, f.argtypes = res, args
        self._c = c

    @property
    def version(self):
        return self._c.psp_version().decode()

    def _check(self, e):
        if e:
            code = CODES[self._c.psp_error_code(e)]
            message = self._c.psp_error_message(e).decode(errors="replace")
            self._c.psp_error_free(e)
            raise Error(code, message)

    def load_backbone(self, path, threads=1):
        out = ctypes.c_void_p()
        self._check(self._c.psp_backbone_load(os.fsencode(path), threads, ctypes.byref(out)))
        return Backbone(self, out.value, self._c.psp_backbone_free)

    def load_exits(self, backbone, path):
        out = ctypes.c_void_p()
        self._check(self._c.psp_exits_load(backbone._get(), os.fsencode(path), ctypes.byref(out)))
        return Exits(self, out.value, self._c.psp_exits_free)

    def model(self, backbone, exits=None):
        out = ctypes.c_void_p()
        self._check(self._c.psp_model_create(backbone._get(), exits._get() if exits else None,
                                             ctypes.byref(out)))
        return Model(self, out.value, self._c.psp_model_free)

    def personalise(self, backbone, images, labels=None, warm=None, exits=4, epochs=10,
                    threads=1, seed=1, memory_budget=64 << 20, progress=None):
        """Personalises `backbone` on `images` (a sequence of bytes, H x W x C each) with
        `labels` (ints, -1 = unlabelled; None = none). `progress(epoch, epochs, loss)` may
        return True to cancel (Error with code "CANCELLED")."""
        size = 1
        for d in backbone.input_shape:
            size *= d
        failure = []

        def read(_, index, pixels):
            try:
                image = images[index]
                if len(image) != size:
                    raise ValueError("image %d has %d bytes, expected %d"
                                     % (index, len(image), size))
                ctypes.memmove(pixels, bytes(image), size)
                return 0
            except Exception as e:  # reported after the call; the C side sees a failure
                failure.append(e)
                return 1

        def report(_, epoch, total, loss):
            try:
                return 1 if progress(epoch, total, loss) else 0
            except Exception as e:
                failure.append(e)
                return 1

        o = _Options()
        self._c.psp_personalise_options_init(ctypes.byref(o))
        o.exits, o.epochs, o.threads, o.seed = exits, epochs, threads, seed
        o.memory_budget = memory_budget
        read_fn = _READ(read)
        progress_fn = _PROGRESS(report) if progress else _PROGRESS()
        o.progress = progress_fn
        label_array = None
        if labels is not None:
            if len(labels) != len(images):
                raise ValueError("%d labels for %d images" % (len(labels), len(images)))
            label_array = (ctypes.c_int32 * len(labels))(*labels)
        out = ctypes.c_void_p()
        e = self._c.psp_personalise(backbone._get(), len(images), read_fn, None, label_array,
                                    warm._get() if warm else None, ctypes.byref(o),
                                    ctypes.byref(out))
        if e and failure:
            self._c.psp_error_free(e)
            raise failure[0]
        self._check(e)
        return Exits(self, out.value, self._c.psp_exits_free)
