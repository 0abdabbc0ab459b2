"""Mango core: the kernel that every Mango plugin builds on."""

__version__ = "0.2.0"
