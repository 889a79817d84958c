"""Identity rows: users, access keys, named policies and bucket policies.

They are written through the metadata writer like every other change (one writer, so a
check such as "this policy is not attached to anyone" and the write that follows cannot be
interleaved with another request's change), and read back whole: there are at most a few
thousand rows, and the server keeps all of them in memory (`zas.auth.iam.IamDirectory`).
Each change checks its rules before it writes anything, so a refused change leaves nothing
behind in the batch it shared with others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from zas.protocol.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    NoSuchEntity,
)


@attrs.frozen
class UserRecord:
    name: str
    created: datetime
    policies: tuple[str, ...]


@attrs.frozen(repr=False)
class AccessKeyRecord:
    access_key_id: str
    user_name: str
    secret_sealed: bytes  # sealed under the master key, bound to the access key id
    status: str  # "Active" | "Inactive" (IAM's words)
    created: datetime

    def __repr__(self) -> str:
        return f"AccessKeyRecord({self.access_key_id!r}, user={self.user_name!r})"


@attrs.frozen
class PolicyRecord:
    id: str
    document: str
    description: str
    created: datetime
    updated: datetime


@attrs.frozen
class BucketPolicyRecord:
    bucket: str
    document: str
    updated: datetime


@attrs.frozen
class IamSnapshot:
    users: dict[str, UserRecord]
    keys: dict[str, AccessKeyRecord]
    policies: dict[str, PolicyRecord]
    bucket_policies: dict[str, BucketPolicyRecord]


def load_snapshot(con: Any) -> IamSnapshot:
    users = {
        row[0]: UserRecord(row[0], row[1], tuple(row[2]))
        for row in con.execute("SELECT name, created, policies FROM iam_users").fetchall()
    }
    keys = {
        row[0]: AccessKeyRecord(row[0], row[1], bytes(row[2]), row[3], row[4])
        for row in con.execute(
            "SELECT access_key_id, user_name, secret_sealed, status, created FROM iam_access_keys"
        ).fetchall()
    }
    policies = {
        row[0]: PolicyRecord(*row)
        for row in con.execute(
            "SELECT id, document, description, created, updated FROM iam_policies"
        ).fetchall()
    }
    bucket_policies = {
        row[0]: BucketPolicyRecord(*row)
        for row in con.execute("SELECT bucket, document, updated FROM bucket_policies").fetchall()
    }
    return IamSnapshot(users, keys, policies, bucket_policies)


class _IamChange:
    """Identity changes touch no object rows; the batch asks every change for those."""

    def object_keys(self) -> list[tuple[str, str]]:
        return []


def _require_user(con: Any, name: str) -> None:
    if not con.execute("SELECT 1 FROM iam_users WHERE name = ?", [name]).fetchall():
        raise NoSuchEntity(f"The user with name {name} cannot be found.")


@attrs.frozen
class CreateUser(_IamChange):
    record: UserRecord

    def apply(self, batch: Any) -> UserRecord:
        con = batch.con
        if con.execute("SELECT 1 FROM iam_users WHERE name = ?", [self.record.name]).fetchall():
            raise EntityAlreadyExists(f"User with name {self.record.name} already exists.")
        con.execute(
            "INSERT INTO iam_users VALUES (?, ?, ?)",
            [self.record.name, self.record.created, list(self.record.policies)],
        )
        return self.record


@attrs.frozen
class DeleteUser(_IamChange):
    """Deletes the user and its access keys (IAM makes you delete the keys first; one call
    that leaves no orphaned key behind is kinder and just as safe)."""

    name: str

    def apply(self, batch: Any) -> None:
        _require_user(batch.con, self.name)
        batch.con.execute("DELETE FROM iam_access_keys WHERE user_name = ?", [self.name])
        batch.con.execute("DELETE FROM iam_users WHERE name = ?", [self.name])


@attrs.frozen
class AttachUserPolicy(_IamChange):
    user: str
    policy_id: str
    attach: bool  # False: detach

    def apply(self, batch: Any) -> tuple[str, ...]:
        con = batch.con
        rows = con.execute("SELECT policies FROM iam_users WHERE name = ?", [self.user]).fetchall()
        if not rows:
            raise NoSuchEntity(f"The user with name {self.user} cannot be found.")
        current = list(rows[0][0])
        if self.attach:
            if self.policy_id not in current:
                current.append(self.policy_id)
        elif self.policy_id in current:
            current.remove(self.policy_id)
        else:
            raise NoSuchEntity(f"Policy {self.policy_id} is not attached to user {self.user}.")
        con.execute("UPDATE iam_users SET policies = ? WHERE name = ?", [current, self.user])
        return tuple(current)


@attrs.frozen
class CreateAccessKey(_IamChange):
    record: AccessKeyRecord

    def apply(self, batch: Any) -> AccessKeyRecord:
        _require_user(batch.con, self.record.user_name)
        batch.con.execute(
            "INSERT INTO iam_access_keys VALUES (?, ?, ?, ?, ?)",
            [
                self.record.access_key_id,
                self.record.user_name,
                self.record.secret_sealed,
                self.record.status,
                self.record.created,
            ],
        )
        return self.record


def _require_key(con: Any, user: str, access_key_id: str) -> None:
    if not con.execute(
        "SELECT 1 FROM iam_access_keys WHERE access_key_id = ? AND user_name = ?",
        [access_key_id, user],
    ).fetchall():
        raise NoSuchEntity(f"The Access Key with id {access_key_id} cannot be found.")


@attrs.frozen
class UpdateAccessKey(_IamChange):
    user: str
    access_key_id: str
    status: str

    def apply(self, batch: Any) -> None:
        _require_key(batch.con, self.user, self.access_key_id)
        batch.con.execute(
            "UPDATE iam_access_keys SET status = ? WHERE access_key_id = ?",
            [self.status, self.access_key_id],
        )


@attrs.frozen
class DeleteAccessKey(_IamChange):
    user: str
    access_key_id: str

    def apply(self, batch: Any) -> None:
        _require_key(batch.con, self.user, self.access_key_id)
        batch.con.execute(
            "DELETE FROM iam_access_keys WHERE access_key_id = ?", [self.access_key_id]
        )


@attrs.frozen
class PutPolicy(_IamChange):
    """Create (`create=True`: fails if it exists) or replace (fails if it does not)."""

    record: PolicyRecord
    create: bool

    def apply(self, batch: Any) -> PolicyRecord:
        con = batch.con
        rows = con.execute(
            "SELECT created FROM iam_policies WHERE id = ?", [self.record.id]
        ).fetchall()
        if self.create and rows:
            raise EntityAlreadyExists(f"A policy called {self.record.id} already exists.")
        if not self.create and not rows:
            raise NoSuchEntity(f"Policy {self.record.id} does not exist.")
        record = self.record if self.create else attrs.evolve(self.record, created=rows[0][0])
        con.execute("DELETE FROM iam_policies WHERE id = ?", [record.id])
        con.execute(
            "INSERT INTO iam_policies VALUES (?, ?, ?, ?, ?)",
            [record.id, record.document, record.description, record.created, record.updated],
        )
        return record


@attrs.frozen
class DeletePolicy(_IamChange):
    policy_id: str

    def apply(self, batch: Any) -> None:
        con = batch.con
        if not con.execute("SELECT 1 FROM iam_policies WHERE id = ?", [self.policy_id]).fetchall():
            raise NoSuchEntity(f"Policy {self.policy_id} does not exist.")
        users = [
            row[0]
            for row in con.execute(
                "SELECT name FROM iam_users WHERE list_contains(policies, ?) ORDER BY name",
                [self.policy_id],
            ).fetchall()
        ]
        if users:
            raise DeleteConflict(
                f"Policy {self.policy_id} is attached to {', '.join(users)}; detach it first."
            )
        con.execute("DELETE FROM iam_policies WHERE id = ?", [self.policy_id])


@attrs.frozen
class PutBucketPolicy(_IamChange):
    record: BucketPolicyRecord

    def apply(self, batch: Any) -> None:
        batch.require_bucket(self.record.bucket)
        batch.con.execute("DELETE FROM bucket_policies WHERE bucket = ?", [self.record.bucket])
        batch.con.execute(
            "INSERT INTO bucket_policies VALUES (?, ?, ?)",
            [self.record.bucket, self.record.document, self.record.updated],
        )


@attrs.frozen
class DeleteBucketPolicy(_IamChange):
    bucket: str

    def apply(self, batch: Any) -> None:
        # S3 answers 204 whether or not there was a policy.
        batch.require_bucket(self.bucket)
        batch.con.execute("DELETE FROM bucket_policies WHERE bucket = ?", [self.bucket])
