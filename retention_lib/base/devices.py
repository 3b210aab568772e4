"""The processor to compute on, and the machine in words (for provenance and benchmark records)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["device", "device_name", "machine"]


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


def machine() -> str:
    """The machine in words, for benchmark records: CPU model, cores, torch and its threads, GPU."""
    import torch

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__} ({torch.get_num_threads()} threads), {gpu}"
    )
