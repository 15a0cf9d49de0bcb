"""`bench/search.py --access`: the same latency run with document ACLs and single sign-on on.

A copy of the SciFact index gets ACLs (per four documents: two restricted to the reader's group, one to
a group the reader is not in, one left tenant-wide), and the reader is a user signed in with an OIDC
access token from a loopback issuer whose key the benchmark holds (tests/security/oidc_issuers.py, the
tests' own issuer). The gateway then checks the token's signature, issuer, audience and expiry and reads
the user and groups on every request, and every search carries the ACL filter. The same user also gets
an API key, so the run compares token and key over the same filter.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.security.oidc_issuers import CLIENT_ID, OwnIssuer, SigningKey

READERS, OTHERS = "bench-readers", "bench-others"


class AccessSetup:
    def __init__(self) -> None:
        self.issuer = OwnIssuer().__enter__()
        self.signing = SigningKey("bench-key-1")
        self.issuer.publish(self.signing)
        self.settings: dict[str, Any] = {"oidc_issuer": self.issuer.url, "oidc_client_id": CLIENT_ID}
        self.env = {"ENCLAVE_OIDC_ISSUER": self.issuer.url, "ENCLAVE_OIDC_CLIENT_ID": CLIENT_ID}
        claims = self.issuer.claims(
            sub="bench-reader", tenant="bench", groups=[READERS], role="member", exp=int(time.time()) + 7200
        )
        self.token = self.signing.sign(claims)
        self.user_key = ""
        self.copy: Path | None = None

    def prepare(self, data_dir: Path) -> Path:
        """A copy of the index under `data_dir` with the ACLs set; returns its folder."""
        from boot.assembly import Mode, build_runtime
        from enclave.settings import Settings
        from enclave.tenancy.access import Acl

        self.copy = Path(tempfile.mkdtemp(prefix="enclave-bench-access-"))
        shutil.copytree(data_dir, self.copy, dirs_exist_ok=True)
        rt = build_runtime(Settings(data_dir=self.copy, **self.settings), Mode.EMBEDDED)
        try:
            admin = rt.auth.authenticate((data_dir / "bench-key.txt").read_text().strip())
            reader = rt.auth.authenticate(self.token)  # signs the user in: user and group from the claims
            assert reader.user_id and reader.groups, "the token's user and group were not created"
            others = rt.users.create_group(admin, OTHERS).id
            self.user_key = rt.keys.create_key(
                admin.tenant_id, "bench reader", "member", user_id=reader.user_id
            ).key
            acls = [
                Acl(groups=(reader.groups[0],)),
                Acl(groups=(reader.groups[0],)),
                Acl(groups=(others,)),
                None,
            ]
            offset, n = 0, 0
            while True:
                docs, _total = rt.documents.list(admin, collection="scifact", limit=500, offset=offset)
                if not docs:
                    break
                for doc in docs:
                    acl = acls[n % 4]
                    if acl is not None:
                        rt.documents.set_acl(admin, doc.id, acl)
                    n += 1
                offset += len(docs)
            print(f"access: {n} documents, {n - n // 4} with an ACL", flush=True)
        finally:
            rt.close()
        return self.copy

    def close(self) -> None:
        self.issuer.__exit__(None, None, None)
        if self.copy is not None:
            shutil.rmtree(self.copy, ignore_errors=True)
