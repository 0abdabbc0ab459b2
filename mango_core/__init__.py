"""Mango core: the kernel that every Mango plugin builds on."""

__version__ = "0.5.5"
