"""Mango core: the kernel that every Mango plugin builds on."""

__version__ = "0.4.0"
