"""Scoring reviews fast: one entry point, :func:`score_reviews`, over several inference backends.

Every backend returns the same thing (class probabilities, shape (n, k), in the order of the
texts) and is checked against plain fp32 PyTorch within a stated tolerance:

- ``naive``: fp32, every batch padded to the model's maximum length, texts in their given order
  (the baseline every speed-up is measured against);
- ``torch``: fp32 with dynamic padding and length bucketing (texts of similar length batched
  together, so little padding is computed); tolerance 1e-5;
- ``compile``: fp32 with bucketing, the model compiled by ``torch.compile(dynamic=True)`` (Inductor
  generates fused C++ kernels; the first batches pay the compilation, 10-30 s); tolerance 1e-4;
- ``int8``: PyTorch dynamic int8 quantisation of the linear layers (``quantize_dynamic``), with
  bucketing; approximate (the chapter reports its macro-F1 next to fp32's);
- ``onnx``: the model exported with ``torch.onnx.export(dynamo=True)`` and run by ONNX Runtime, with
  bucketing; tolerance 1e-4;
- ``onnx-int8``: the ONNX model quantised by ONNX Runtime's ``quantize_dynamic`` (int8 weights, one
  scale per output channel: per-tensor scales cost 0.007 macro-F1 on chapter 02's model, per-channel
  none measurable); approximate.

Exported and quantised models are built once per classifier object and kept on it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path

import numpy as np

from retention_lib.base.assets import cache_dir
from retention_lib.base.cache import content_key
from retention_lib.sentiment.classifier import SentimentClassifier
from retention_lib.sentiment.labels import check_texts

__all__ = ["BACKENDS", "TOLERANCE", "score_reviews"]

BACKENDS = ("naive", "torch", "compile", "int8", "onnx", "onnx-int8")
#: largest absolute difference in probability from fp32 that a backend promises (None: approximate)
#: (``naive`` is the same fp32 arithmetic as ``predict_proba``; batches of other sizes and other thread counts
#: sum in another order, which moves probabilities by a few 1e-8)
TOLERANCE = {"naive": 1e-6, "torch": 1e-5, "compile": 1e-4, "int8": None, "onnx": 1e-4, "onnx-int8": None}


class _Logits:
    """The classifier as a module that returns the logits tensor (what ONNX export needs)."""

    def __new__(cls, model):
        import torch.nn as nn

        class Logits(nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask):
                return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

        return Logits()


def onnx_fingerprint(clf: SentimentClassifier) -> str:
    """What an exported ONNX model depends on: the weights (name, shape, dtype and bytes of every tensor), the
    versions of the exporter and of ONNX Runtime, and this module's code."""
    import onnx
    import onnxruntime
    import onnxscript
    import torch

    parts = [torch.__version__, onnx.__version__, onnxscript.__version__, onnxruntime.__version__, Path(__file__)]
    for name, tensor in sorted(clf.model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        parts += [name, str(tuple(t.shape)), str(t.dtype), t.view(torch.uint8).numpy().tobytes()]
    return content_key(*parts)


def _onnx_files(clf: SentimentClassifier, quantised: bool) -> Path:
    """The ONNX model file (fp32, or int8 when ``quantised``), exported once per fingerprint into the cache and
    reused by every later run: the export and the quantisation take seconds each."""
    import torch

    folder = cache_dir() / "onnx" / onnx_fingerprint(clf)[:24]
    fp32, int8 = folder / "model.onnx", folder / "model.int8.onnx"
    folder.mkdir(parents=True, exist_ok=True)
    with _quiet_export():
        if not fp32.exists():
            module = _Logits(clf.model).eval()
            x = torch.ones((2, 8), dtype=torch.long)
            batch, length = torch.export.Dim("batch"), torch.export.Dim("length")
            tmp = folder / f"model.{os.getpid()}.partial.onnx"
            torch.onnx.export(
                module,
                (x, torch.ones_like(x)),
                str(tmp),
                dynamo=True,
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_shapes={"input_ids": {0: batch, 1: length}, "attention_mask": {0: batch, 1: length}},
                verbose=False,
                external_data=False,
            )
            tmp.replace(fp32)  # atomic: a reader never sees half a model
        if quantised and not int8.exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = folder / f"model.int8.{os.getpid()}.partial.onnx"
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
            tmp.replace(int8)
    return int8 if quantised else fp32


def _onnx_session(clf: SentimentClassifier, quantised: bool, threads: int | None):
    import onnxruntime as ort

    cache = clf.__dict__.setdefault("_onnx_cache", {})
    key = ("onnx-int8" if quantised else "onnx", threads)
    if key in cache:
        return cache[key]
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(str(_onnx_files(clf, quantised)), options, providers=["CPUExecutionProvider"])
    cache[key] = session
    return session


@contextlib.contextmanager
def _quiet_export():
    """The exporter's and quantiser's advice (torchvision missing, renamed axes, pre-processing) kept out of
    the output: it concerns models with images and static shapes, not this one."""
    loggers = [logging.getLogger(), logging.getLogger("torch.onnx"), logging.getLogger("torch.export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _int8_model(clf: SentimentClassifier):
    import torch

    cache = clf.__dict__.setdefault("_int8_cache", {})
    if "model" not in cache:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # quantize_dynamic is deprecated in favour of torchao
            cache["model"] = torch.ao.quantization.quantize_dynamic(
                clf.model.cpu().eval(), {torch.nn.Linear}, dtype=torch.qint8
            )
    return cache["model"]


def _compiled_model(clf: SentimentClassifier, threads: int | None):
    """``torch.compile`` of the model, once per thread count (Inductor's CPU kernels are generated for one)."""
    import torch

    cache = clf.__dict__.setdefault("_compile_cache", {})
    key = threads or torch.get_num_threads()
    if key not in cache:
        cache[key] = torch.compile(clf.model, dynamic=True)
    return cache[key]


def score_reviews(
    texts, clf: SentimentClassifier, backend: str = "torch", batch_size: int = 64, threads: int | None = None
) -> np.ndarray:
    """Class probabilities of ``texts`` under ``clf``, shape (n, k), computed by ``backend``.

    Parameters
    ----------
    texts : sequence of str
    clf : SentimentClassifier
        A fitted (or loaded) classifier; ``int8`` and the ONNX backends run on the CPU.
    backend : str
        One of :data:`BACKENDS`.
    batch_size : int
    threads : int, optional
        Intra-op threads of PyTorch or ONNX Runtime (default: their own choice).
    """
    import torch

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    texts = check_texts(texts)
    if backend in ("int8", "onnx", "onnx-int8") and not clf.device.startswith("cpu"):
        raise ValueError(f"backend {backend!r} runs on the CPU; the classifier is on {clf.device!r}")
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        ids = clf.encode(texts)
        lengths = np.array([len(x) for x in ids])
        bucket = backend != "naive"
        batches = clf.batches(lengths, batch_size, shuffle=False, bucket=bucket, rng=None)
        pad_to = clf.max_length if backend == "naive" else None
        out = np.empty((len(texts), len(clf.labels)), dtype=np.float64)
        clf.model.eval()
        if backend in ("onnx", "onnx-int8"):
            session = _onnx_session(clf, backend == "onnx-int8", threads)
            for b in batches:
                x, m = clf.collate([ids[i] for i in b], pad_to)
                logits = session.run(
                    ["logits"],
                    {"input_ids": x.cpu().numpy().astype(np.int64), "attention_mask": m.cpu().numpy().astype(np.int64)},
                )[0]
                out[b] = _softmax(logits)
            return out
        model = (
            _int8_model(clf)
            if backend == "int8"
            else _compiled_model(clf, threads)
            if backend == "compile"
            else clf.model
        )
        with torch.inference_mode():
            for b in batches:
                x, m = clf.collate([ids[i] for i in b], pad_to)
                logits = model(input_ids=x, attention_mask=m).logits.float()
                out[b] = torch.softmax(logits, dim=-1).double().cpu().numpy()
        return out
    finally:
        torch.set_num_threads(old_threads)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)
