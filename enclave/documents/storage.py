"""Originals on a volume. Files are named by generated keys; a client's filename is never a path."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from enclave.errors import StorageFull, TooLarge


@dataclass(frozen=True)
class Staged:
    path: Path
    sha256: str
    size: int


class FileStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "tmp").mkdir(parents=True, exist_ok=True)

    def stage(self, chunks: Iterable[bytes], max_bytes: int) -> Staged:
        """Stream to a temp file, hashing as we go; over the limit fails without keeping anything."""
        digest = hashlib.sha256()
        size = 0
        fd, name = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(
                            f"The file is larger than the {max_bytes // (1024 * 1024)} MB limit; "
                            "split it or ask your operator to raise ENCLAVE_MAX_UPLOAD_MB."
                        )
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as exc:
            os.unlink(name)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(
                    "The document store is full, so nothing was stored. Try again once space is freed; "
                    "your administrator can add space to the storage volume."
                ) from exc
            raise
        except BaseException:
            os.unlink(name)
            raise
        return Staged(Path(name), digest.hexdigest(), size)

    def commit(self, staged: Staged, tenant_id: str, suffix: str) -> str:
        key = f"{tenant_id}/{uuid.uuid4().hex}{suffix}"
        dest = self.root / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, dest)
        return key

    def discard(self, staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if self.root.resolve() not in p.parents:
            raise ValueError("storage key escapes the storage root")
        return p

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
