"""The Jupyter kernels the runner starts: over Unix sockets, not network ports."""

from __future__ import annotations

import os

__all__ = ["ipc_kernel_manager"]


def ipc_kernel_manager(folder: str):
    """A kernel manager that talks to the kernel over Unix sockets in ``folder`` (a private temporary
    folder), not over TCP ports: no network port is opened, and the kernel has no reason to warn that
    its traffic is unencrypted. On Windows, which has no such sockets, the default (local TCP) stays."""
    from jupyter_client.manager import AsyncKernelManager

    if os.name == "nt":
        return AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kw):
            kw.setdefault("transport", "ipc")
            kw.setdefault("ip", os.path.join(folder, "kernel"))
            super().__init__(**kw)

    return IPCKernelManager
