"""AES-XTS-plain64 in user space, through OpenSSL's libcrypto (ctypes): how
dm-crypt encrypts a LUKS payload with cryptsetup's default cipher, so the
engine can write a filesystem into a LUKS container on a kernel without
device-mapper, and read it back.

Sector n (of `sector_size` bytes, counted from the start of the payload)
is one XTS data unit whose tweak is n as a 64-bit little-endian number padded
to 16 bytes ("plain64"). A 512-bit volume key is AES-256-XTS (two 256-bit
halves), a 256-bit one AES-128-XTS.

    Xts(volume_key, sector_size=512)
    Xts.encrypt(data, first_sector) -> bytes      (len(data) a multiple of sector_size)
    Xts.decrypt(data, first_sector) -> bytes
    available() -> bool                            libcrypto with XTS can be loaded
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any

from engine.errors import PartwrightError


@lru_cache(maxsize=1)
def _libcrypto() -> Any:
    name = ctypes.util.find_library("crypto")
    if name is None:
        raise PartwrightError("OpenSSL's libcrypto is not installed (Debian libssl3): needed to"
                              " write a filesystem into a LUKS container")
    lib = ctypes.CDLL(name)
    lib.EVP_CIPHER_CTX_new.restype = ctypes.c_void_p
    lib.EVP_CIPHER_CTX_free.argtypes = [ctypes.c_void_p]
    lib.EVP_aes_256_xts.restype = ctypes.c_void_p
    lib.EVP_aes_128_xts.restype = ctypes.c_void_p
    lib.EVP_CipherInit_ex.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
    lib.EVP_CipherInit_ex.restype = ctypes.c_int
    lib.EVP_CipherUpdate.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                     ctypes.POINTER(ctypes.c_int), ctypes.c_void_p, ctypes.c_int]
    lib.EVP_CipherUpdate.restype = ctypes.c_int
    return lib


def available() -> bool:
    try:
        _libcrypto()
    except (PartwrightError, OSError, AttributeError):
        return False
    return True


class Xts:
    """One volume key; encrypt or decrypt whole sectors."""

    def __init__(self, volume_key: bytes, sector_size: int = 512) -> None:
        if len(volume_key) not in (32, 64):
            raise PartwrightError(f"an aes-xts volume key has 32 or 64 bytes, not {len(volume_key)}")
        if sector_size not in (512, 1024, 2048, 4096):
            raise PartwrightError(f"LUKS sector size {sector_size} is not supported")
        self._key = bytes(volume_key)
        self.sector_size = sector_size

    def __repr__(self) -> str:
        return f"Xts(<{len(self._key) * 8}-bit key>, sector_size={self.sector_size})"

    def _run(self, data: bytes, first_sector: int, encrypt: bool) -> bytes:
        size = self.sector_size
        if len(data) % size:
            raise PartwrightError(f"{len(data)} bytes are not whole {size}-byte sectors")
        lib = _libcrypto()
        cipher = lib.EVP_aes_256_xts() if len(self._key) == 64 else lib.EVP_aes_128_xts()
        ctx = lib.EVP_CIPHER_CTX_new()
        if not ctx:
            raise PartwrightError("libcrypto could not make a cipher context")
        out = ctypes.create_string_buffer(len(data))
        source = ctypes.create_string_buffer(bytes(data), len(data))
        out_base, in_base = ctypes.addressof(out), ctypes.addressof(source)
        outl = ctypes.c_int(0)
        outl_ref = ctypes.byref(outl)
        init, update = lib.EVP_CipherInit_ex, lib.EVP_CipherUpdate
        try:
            if init(ctx, cipher, None, self._key, bytes(16), int(encrypt)) != 1:
                raise PartwrightError("libcrypto refused the aes-xts volume key")
            failed = 0
            for index in range(len(data) // size):
                tweak = (first_sector + index).to_bytes(16, "little")
                at = index * size
                failed |= init(ctx, None, None, None, tweak, -1) ^ 1
                failed |= update(ctx, out_base + at, outl_ref, in_base + at, size) ^ 1
            if failed:
                raise PartwrightError("libcrypto aes-xts failed")
        finally:
            lib.EVP_CIPHER_CTX_free(ctx)
            ctypes.memset(source, 0, len(data))
        return out.raw

    def encrypt(self, data: bytes, first_sector: int) -> bytes:
        return self._run(data, first_sector, True)

    def decrypt(self, data: bytes, first_sector: int) -> bytes:
        return self._run(data, first_sector, False)
