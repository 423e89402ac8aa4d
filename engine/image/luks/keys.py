"""Where a LUKS key comes from, and reading it without showing it.

A `KeySource` says where the passphrase (or key file) comes from: a file
(`KeySource.from_file`: its bytes, as cryptsetup --key-file reads them, a
trailing newline included), an environment variable (`KeySource.from_env`:
its value) or, for KIWI's `luks="..."` attribute, a passphrase held in
memory (`KeySource.from_passphrase`); `luks="file://PATH"` names a key file
instead (`KeySource.from_attribute`). `KeySource.parse` reads the command
line's `env:NAME`, `file:PATH` and `file://PATH`. Its repr and str never
hold the secret, and a key that cannot be read is one line naming the
source, never its content.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from engine.errors import PartwrightError

MAX_KEY_BYTES = 8 * 1024 * 1024  # cryptsetup's compiled-in maximum key file size
KIWI_FILE_PREFIX = "file://"  # luks="file:///path/to/keyfile": a key file, not a passphrase


@dataclass(frozen=True)
class KeySource:
    """Where a LUKS passphrase or key file comes from; holds no secret in its
    repr (a passphrase given in memory is shown as <hidden>)."""

    kind: str  # "file" | "env" | "passphrase"
    where: str = ""  # the file path or the variable name; "" for a passphrase
    _secret: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def from_file(cls, path: str) -> KeySource:
        return cls("file", path)

    @classmethod
    def from_env(cls, name: str) -> KeySource:
        if not name or "=" in name:
            raise PartwrightError(f"'{name}' is not an environment variable name")
        return cls("env", name)

    @classmethod
    def from_attribute(cls, value: str) -> KeySource:
        """KIWI's `luks` attribute: `file://PATH` names a key file (its
        bytes are the key, as KIWI hands it to cryptsetup --key-file),
        anything else is the passphrase itself."""
        if value.startswith(KIWI_FILE_PREFIX):
            path = value[len(KIWI_FILE_PREFIX):]
            if not path:
                raise PartwrightError("luks=\"file://\" names no key file")
            return cls.from_file(path)
        return cls.from_passphrase(value)

    @classmethod
    def from_passphrase(cls, passphrase: str | bytes) -> KeySource:
        secret = passphrase.encode() if isinstance(passphrase, str) else bytes(passphrase)
        return cls("passphrase", "", secret)

    @classmethod
    def parse(cls, text: str) -> KeySource:
        """`env:NAME`, `file:PATH` or KIWI's `file://PATH` (a bare text is a file path)."""
        if text.startswith(KIWI_FILE_PREFIX):
            return cls.from_file(text[len(KIWI_FILE_PREFIX):])
        kind, sep, rest = text.partition(":")
        if sep and kind == "env":
            return cls.from_env(rest)
        if sep and kind == "file":
            return cls.from_file(rest)
        return cls.from_file(text)

    def describe(self) -> str:
        if self.kind == "file":
            return f"key file {self.where}"
        if self.kind == "env":
            return f"environment variable {self.where}"
        return "the passphrase given"

    def __repr__(self) -> str:
        if self.kind == "passphrase":
            return "KeySource(passphrase=<hidden>)"
        return f"KeySource({self.kind}={self.where!r})"

    __str__ = __repr__

    def read(self) -> bytes:
        """The key bytes; a PartwrightError naming the source (never its
        content) when there are none."""
        if self.kind == "file":
            try:
                with open(self.where, "rb") as fh:
                    data = fh.read(MAX_KEY_BYTES + 1)
            except OSError as exc:
                raise PartwrightError(
                    f"LUKS {self.describe()} cannot be read: {exc.strerror or 'error'}") from None
        elif self.kind == "env":
            value = os.environb.get(self.where.encode())
            if value is None:
                raise PartwrightError(f"LUKS key: {self.describe()} is not set")
            data = value
        elif self.kind == "passphrase":
            data = self._secret
        else:
            raise PartwrightError(f"unknown LUKS key source kind {self.kind!r}")
        if not data:
            raise PartwrightError(f"LUKS key: {self.describe()} is empty")
        if len(data) > MAX_KEY_BYTES:
            raise PartwrightError(f"LUKS key: {self.describe()} is larger than 8 MiB")
        return data
