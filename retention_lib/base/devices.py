"""The processor to compute on, and the machine in words (for provenance and benchmark records)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["device", "device_name", "machine", "cpu_model", "int8_instructions"]


def device() -> str:
    """The best available torch device: ``cuda``, ``mps`` or ``cpu``."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def device_name() -> str:
    """The device in words, for the provenance record: the GPU's name, or the cores and torch threads."""
    import torch

    dev = device()
    if dev == "cuda":
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"{dev} ({os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads)"


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_model(cpuinfo: str | None = None) -> str:
    """The processor's model name (from ``/proc/cpuinfo`` on Linux, else the platform's word for it)."""
    for line in (_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def int8_instructions(cpuinfo: str | None = None) -> list[str]:
    """The vector instructions this processor has that decide how fast int8 (and fp32) matrix products run:
    AVX2, AVX-512, VNNI (integer dot products, on AVX-512 or AVX) and AMX tiles, by their names in the
    processor's flags. An empty list where the flags cannot be read (not Linux).

    >>> int8_instructions("flags\t: fpu sse avx2 avx512f avx512_vnni")
    ['AVX2', 'AVX-512', 'AVX-512 VNNI']
    """
    text = _cpuinfo() if cpuinfo is None else cpuinfo
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    names = [
        ("avx2", "AVX2"),
        ("avx512f", "AVX-512"),
        ("avx512_vnni", "AVX-512 VNNI"),
        ("avx_vnni", "AVX-VNNI"),
        ("amx_int8", "AMX int8"),
    ]
    return [name for flag, name in names if flag in flags]


def machine() -> str:
    """The machine in words, for benchmark records: CPU model, cores, torch and its threads, GPU."""
    import torch

    cpu = cpu_model()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__} ({torch.get_num_threads()} threads), {gpu}"
    )
