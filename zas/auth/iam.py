"""The identity directory: users, access keys and policies, all in memory, kept in step with
the metadata database.

Every request asks "whose key is this?" and "which policies apply?"; neither may cost a query
(DESIGN.md: hot reads from memory). Writes go through the metadata writer (`zas.meta.iam`),
and after each one the whole snapshot is re-read — there are at most a few thousand rows, and
re-reading after the commit (serialised by a lock) means memory can never run ahead of, or
fall behind, what is durable.

Built-in policies (`readonly`, `readwrite`, `admin`, `audit-reader`) are always present and
cannot be changed or deleted, like AWS managed policies; they give the role mapping in the
configuration something useful to point at on a fresh install.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs
import trio

from zas.auth.actions import KNOWN_ACTIONS
from zas.auth.policy import Policy, parse_policy
from zas.auth.sealing import MasterKey
from zas.meta import iam as rows
from zas.meta.iam import AccessKeyRecord, IamSnapshot, PolicyRecord, UserRecord
from zas.meta.store import MetaStore
from zas.protocol.errors import InvalidArgument, InvalidRequest, NoSuchEntity

log = logging.getLogger("zas.iam")

_KEY_ALPHABET = string.ascii_uppercase + string.digits
# IAM's rules for user and policy names: letters, digits and +=,.@_- ; 64 and 128 characters.
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "+=,.@_-")
MAX_USER_NAME = 64
MAX_POLICY_NAME = 128
ACTIVE, INACTIVE = "Active", "Inactive"

_S3_ACTIONS = sorted(
    action
    for action in KNOWN_ACTIONS
    if action.startswith("s3:") and action not in ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy")
)
_READ_PREFIXES = ("s3:Get", "s3:List")
BUILTIN_POLICIES: dict[str, dict[str, Any]] = {
    "readonly": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadObjectsAndEvidence",
                "Effect": "Allow",
                "Action": [
                    *(a for a in _S3_ACTIONS if a.startswith(_READ_PREFIXES)),
                    "zas:GetSignatures",
                    "zas:GetSbom",
                    "zas:GetAttestations",
                    "zas:VerifyObject",
                ],
                "Resource": "*",
            }
        ],
    },
    "readwrite": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadWriteObjectsAndEvidence",
                "Effect": "Allow",
                "Action": [
                    *_S3_ACTIONS,
                    "zas:SignObject",
                    "zas:GetSignatures",
                    "zas:VerifyObject",
                    "zas:PutSbom",
                    "zas:GetSbom",
                    "zas:PutAttestation",
                    "zas:GetAttestations",
                ],
                "Resource": "*",
            }
        ],
    },
    "admin": {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}],
    },
    "audit-reader": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheAuditLog",
                "Effect": "Allow",
                "Action": ["zas:ReadAudit", "zas:QueryAudit", "zas:ExportAudit"],
                "Resource": "*",
            }
        ],
    },
}


def validate_name(kind: str, name: str, limit: int) -> None:
    if not name or len(name) > limit or not set(name) <= _NAME_CHARS:
        raise InvalidArgument(
            f"{kind} name {name[:80]!r} must be 1-{limit} characters of letters, digits "
            "and +=,.@_-",
            ArgumentName=kind,
        )


@attrs.frozen
class NewAccessKey:
    """What creating a key returns: the only time the secret is shown."""

    access_key_id: str
    secret_access_key: str = attrs.field(repr=False)
    user_name: str
    created: datetime


class IamDirectory:
    def __init__(
        self, meta: MetaStore, master_key: MasterKey, clock: Callable[[], datetime]
    ) -> None:
        self._meta = meta
        self._master = master_key
        self._clock = clock
        self._lock = trio.Lock()
        self._snapshot = IamSnapshot({}, {}, {}, {})
        self._secrets: dict[str, tuple[str, str]] = {}  # access key id -> (secret, user)
        self._builtin = {
            name: parse_policy(document, policy_id=name)
            for name, document in BUILTIN_POLICIES.items()
        }
        self._policies: dict[str, Policy] = dict(self._builtin)
        self._bucket_policies: dict[str, Policy] = {}

    # --- reads (memory) ------------------------------------------------------------------

    def secret_for(self, access_key_id: str) -> tuple[str, str] | None:
        """(secret, user name) of an active user key."""
        return self._secrets.get(access_key_id)

    def user(self, name: str) -> UserRecord:
        record = self._snapshot.users.get(name)
        if record is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        return record

    def users(self) -> list[UserRecord]:
        return sorted(self._snapshot.users.values(), key=lambda user: user.name)

    def access_keys(self, user: str) -> list[AccessKeyRecord]:
        self.user(user)
        return sorted(
            (key for key in self._snapshot.keys.values() if key.user_name == user),
            key=lambda key: key.created,
        )

    def policy(self, policy_id: str) -> Policy:
        policy = self._policies.get(policy_id)
        if policy is None:
            raise NoSuchEntity(f"Policy {policy_id} does not exist.")
        return policy

    def policy_record(self, policy_id: str) -> PolicyRecord | None:
        """The stored row; None for a built-in policy (or none at all)."""
        return self._snapshot.policies.get(policy_id)

    def policy_ids(self) -> list[str]:
        return sorted(self._policies)

    def is_builtin(self, policy_id: str) -> bool:
        return policy_id in self._builtin

    def policies_named(self, names: Iterable[str]) -> tuple[Policy, ...]:
        """Policies by name, skipping names that do not exist (a user or role mapping may
        name a policy deleted since; that grants nothing rather than failing every request)."""
        return tuple(self._policies[name] for name in names if name in self._policies)

    def user_policies(self, user: str) -> tuple[Policy, ...]:
        record = self._snapshot.users.get(user)
        return () if record is None else self.policies_named(record.policies)

    def bucket_policy(self, bucket: str) -> Policy | None:
        return self._bucket_policies.get(bucket)

    def bucket_policy_document(self, bucket: str) -> str | None:
        record = self._snapshot.bucket_policies.get(bucket)
        return None if record is None else record.document

    # --- writes (through the metadata writer, then reload) --------------------------------

    async def create_user(self, name: str, policies: Sequence[str] = ()) -> UserRecord:
        validate_name("UserName", name, MAX_USER_NAME)
        for policy_id in policies:
            self.policy(policy_id)
        record = UserRecord(name, self._clock(), tuple(dict.fromkeys(policies)))
        await self._change(rows.CreateUser(record))
        return record

    async def delete_user(self, name: str) -> None:
        await self._change(rows.DeleteUser(name))

    async def attach_policy(self, user: str, policy_id: str) -> None:
        self.policy(policy_id)
        await self._change(rows.AttachUserPolicy(user, policy_id, attach=True))

    async def detach_policy(self, user: str, policy_id: str) -> None:
        await self._change(rows.AttachUserPolicy(user, policy_id, attach=False))

    async def create_access_key(self, user: str) -> NewAccessKey:
        self.user(user)
        access_key_id = "ZAK" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(17))
        secret = secrets.token_urlsafe(30)[:40]
        now = self._clock()
        sealed = self._master.seal(secret.encode(), context=_key_context(access_key_id))
        await self._change(
            rows.CreateAccessKey(AccessKeyRecord(access_key_id, user, sealed, ACTIVE, now))
        )
        return NewAccessKey(access_key_id, secret, user, now)

    async def set_access_key_status(self, user: str, access_key_id: str, status: str) -> None:
        if status not in (ACTIVE, INACTIVE):
            raise InvalidArgument(
                f"Status must be {ACTIVE} or {INACTIVE}, not {status!r}", ArgumentName="Status"
            )
        await self._change(rows.UpdateAccessKey(user, access_key_id, status))

    async def delete_access_key(self, user: str, access_key_id: str) -> None:
        await self._change(rows.DeleteAccessKey(user, access_key_id))

    async def put_policy(
        self, policy_id: str, document: Any, *, description: str = "", create: bool
    ) -> PolicyRecord:
        validate_name("PolicyName", policy_id, MAX_POLICY_NAME)
        if policy_id in self._builtin:
            raise InvalidRequest(f"Policy {policy_id} is built in and cannot be changed.")
        text = document if isinstance(document, str) else json.dumps(document)
        parse_policy(text, policy_id=policy_id)  # MalformedPolicy before anything is stored
        now = self._clock()
        record = PolicyRecord(policy_id, text, description, now, now)
        stored: PolicyRecord = await self._change(rows.PutPolicy(record, create=create))
        return stored

    async def delete_policy(self, policy_id: str) -> None:
        if policy_id in self._builtin:
            raise InvalidRequest(f"Policy {policy_id} is built in and cannot be deleted.")
        await self._change(rows.DeletePolicy(policy_id))

    async def put_bucket_policy(self, bucket: str, text: str) -> None:
        parse_policy(text, policy_id=f"bucket:{bucket}", bucket=bucket)
        await self._change(
            rows.PutBucketPolicy(rows.BucketPolicyRecord(bucket, text, self._clock()))
        )

    async def delete_bucket_policy(self, bucket: str) -> None:
        await self._change(rows.DeleteBucketPolicy(bucket))

    async def forget_bucket(self, bucket: str) -> None:
        """The bucket is gone, and its policy row went with it in the same commit."""
        if bucket in self._bucket_policies:
            await self.reload()

    async def reload(self) -> None:
        async with self._lock:
            snapshot = await self._meta.load_iam()
            self._install(snapshot)

    async def _change(self, change: Any) -> Any:
        try:
            return await self._meta.change(change)
        finally:
            # Also after a refused change: a concurrent one may have committed meanwhile. And
            # after a cancelled one, which still committed (MetaStore waits for it): a revoked
            # key must stop working now, not at the next change.
            with trio.CancelScope(shield=True):
                await self.reload()

    def _install(self, snapshot: IamSnapshot) -> None:
        secrets_by_key: dict[str, tuple[str, str]] = {}
        for key in snapshot.keys.values():
            if key.status != ACTIVE:
                continue
            secret = self._master.open(key.secret_sealed, context=_key_context(key.access_key_id))
            secrets_by_key[key.access_key_id] = (secret.decode(), key.user_name)
        policies = dict(self._builtin)
        for record in snapshot.policies.values():
            policies[record.id] = self._compiled(record.id, record.document, None)
        bucket_policies = {
            record.bucket: self._compiled(f"bucket:{record.bucket}", record.document, record.bucket)
            for record in snapshot.bucket_policies.values()
        }
        self._snapshot = snapshot
        self._secrets = secrets_by_key
        self._policies = policies
        self._bucket_policies = bucket_policies

    def _compiled(self, policy_id: str, document: str, bucket: str | None) -> Policy:
        # Compiling is the expensive part; a reload after an unrelated change reuses it.
        current = self._bucket_policies.get(bucket) if bucket else self._policies.get(policy_id)
        if current is not None and current.document == json.loads(document):
            return current
        return parse_policy(document, policy_id=policy_id, bucket=bucket)


def _key_context(access_key_id: str) -> bytes:
    return b"zas-access-key:" + access_key_id.encode()
