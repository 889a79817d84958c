"""The DuckDB schema and its migrations.

Each migration is applied once, in order, inside one transaction with the version bump, so a
crash mid-migration leaves the previous version intact. Add a migration; never edit one that
has shipped.
"""

from __future__ import annotations

from typing import Any

from zas.meta import duckdb_support

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: buckets and the current object of each key.
    (
        """
        CREATE TABLE buckets (
            name VARCHAR PRIMARY KEY,
            created TIMESTAMPTZ NOT NULL,
            region VARCHAR NOT NULL,
            owner VARCHAR NOT NULL
        )
        """,
        """
        CREATE TABLE objects (
            bucket VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            size BIGINT NOT NULL,
            etag VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            last_modified TIMESTAMPTZ NOT NULL,
            content_type VARCHAR NOT NULL,
            content_encoding VARCHAR,
            content_disposition VARCHAR,
            content_language VARCHAR,
            cache_control VARCHAR,
            expires VARCHAR,
            user_metadata VARCHAR NOT NULL,
            PRIMARY KEY (bucket, key)
        )
        """,
    ),
    # 2: multipart uploads, tags and flexible checksums (the S3 breadth work).
    (
        # A multipart object's bytes are its part blobs, in order; NULL for single-blob objects.
        "ALTER TABLE objects ADD COLUMN part_digests VARCHAR[]",
        "ALTER TABLE objects ADD COLUMN part_sizes BIGINT[]",
        # Until the post-completion pass has hashed a multipart object, sha256 is NULL.
        "ALTER TABLE objects ALTER COLUMN sha256 DROP NOT NULL",
        "ALTER TABLE objects ADD COLUMN tags VARCHAR NOT NULL DEFAULT '{}'",
        "ALTER TABLE objects ADD COLUMN checksum_algorithm VARCHAR",
        "ALTER TABLE objects ADD COLUMN checksum_value VARCHAR",
        "ALTER TABLE objects ADD COLUMN checksum_type VARCHAR",
        """
        CREATE TABLE uploads (
            upload_id VARCHAR PRIMARY KEY,
            bucket VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            initiated TIMESTAMPTZ NOT NULL,
            metadata VARCHAR NOT NULL,
            tags VARCHAR NOT NULL,
            checksum_algorithm VARCHAR,
            checksum_type VARCHAR
        )
        """,
        """
        CREATE TABLE upload_parts (
            upload_id VARCHAR NOT NULL,
            part_number INTEGER NOT NULL,
            sha256 VARCHAR NOT NULL,
            md5 VARCHAR NOT NULL,
            size BIGINT NOT NULL,
            last_modified TIMESTAMPTZ NOT NULL,
            checksum VARCHAR,
            PRIMARY KEY (upload_id, part_number)
        )
        """,
    ),
    # 3: identities and policies (the RBAC work). Secrets are sealed under the master key.
    (
        """
        CREATE TABLE iam_users (
            name VARCHAR PRIMARY KEY,
            created TIMESTAMPTZ NOT NULL,
            policies VARCHAR[] NOT NULL
        )
        """,
        """
        CREATE TABLE iam_access_keys (
            access_key_id VARCHAR PRIMARY KEY,
            user_name VARCHAR NOT NULL,
            secret_sealed BLOB NOT NULL,
            status VARCHAR NOT NULL,
            created TIMESTAMPTZ NOT NULL
        )
        """,
        """
        CREATE TABLE iam_policies (
            id VARCHAR PRIMARY KEY,
            document VARCHAR NOT NULL,
            description VARCHAR NOT NULL,
            created TIMESTAMPTZ NOT NULL,
            updated TIMESTAMPTZ NOT NULL
        )
        """,
        """
        CREATE TABLE bucket_policies (
            bucket VARCHAR PRIMARY KEY,
            document VARCHAR NOT NULL,
            updated TIMESTAMPTZ NOT NULL
        )
        """,
    ),
    # 4: supply-chain evidence (signing keys sealed under the master key, trusted public keys,
    # signatures, SBOMs and attestations bound to an object's SHA-256, SBOM components for SQL,
    # per-bucket verification policies).
    (
        """
        CREATE TABLE signing_keys (
            key_id VARCHAR PRIMARY KEY,
            algorithm VARCHAR NOT NULL,
            public_pem VARCHAR NOT NULL,
            private_sealed BLOB NOT NULL,
            status VARCHAR NOT NULL,
            created TIMESTAMPTZ NOT NULL,
            description VARCHAR NOT NULL
        )
        """,
        """
        CREATE TABLE trusted_keys (
            key_id VARCHAR PRIMARY KEY,
            algorithm VARCHAR NOT NULL,
            public_pem VARCHAR NOT NULL,
            scheme VARCHAR NOT NULL,
            bucket VARCHAR,
            uses VARCHAR[] NOT NULL,
            created TIMESTAMPTZ NOT NULL,
            description VARCHAR NOT NULL
        )
        """,
        """
        CREATE TABLE evidence (
            id VARCHAR PRIMARY KEY,
            bucket VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            format VARCHAR NOT NULL,
            key_id VARCHAR,
            predicate_type VARCHAR,
            created TIMESTAMPTZ NOT NULL,
            summary VARCHAR NOT NULL,
            document BLOB NOT NULL
        )
        """,
        "CREATE INDEX evidence_object ON evidence (bucket, key)",
        # What analysts query (POST /supplychain/query): evidence without its documents.
        """
        CREATE VIEW artifact_evidence AS
        SELECT id, bucket, key, sha256, kind, format, key_id, predicate_type, created, summary
        FROM evidence
        """,
        """
        CREATE TABLE sbom_components (
            evidence_id VARCHAR NOT NULL,
            bucket VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            version VARCHAR,
            purl VARCHAR,
            type VARCHAR
        )
        """,
        """
        CREATE TABLE verification_policies (
            bucket VARCHAR PRIMARY KEY,
            document VARCHAR NOT NULL,
            updated TIMESTAMPTZ NOT NULL
        )
        """,
    ),
    # 5: objects keyed by one column, `id` = bucket + "/" + key (bucket names cannot hold a
    # "/", so it is unique exactly when (bucket, key) is). DuckDB serves lookups from an index
    # only when the key is a single column: with the (bucket, key) primary key every lookup
    # and every batch's DELETE scanned the table, so a 16-key batch went from 4 ms of DuckDB
    # work on a small table to 15 ms at 400,000 objects (`python -m bench.meta_batch`).
    (
        """
        CREATE TABLE objects_by_id (
            id VARCHAR PRIMARY KEY,
            bucket VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            size BIGINT NOT NULL,
            etag VARCHAR NOT NULL,
            sha256 VARCHAR,
            last_modified TIMESTAMPTZ NOT NULL,
            content_type VARCHAR NOT NULL,
            content_encoding VARCHAR,
            content_disposition VARCHAR,
            content_language VARCHAR,
            cache_control VARCHAR,
            expires VARCHAR,
            user_metadata VARCHAR NOT NULL,
            part_digests VARCHAR[],
            part_sizes BIGINT[],
            tags VARCHAR NOT NULL DEFAULT '{}',
            checksum_algorithm VARCHAR,
            checksum_value VARCHAR,
            checksum_type VARCHAR
        )
        """,
        # The column list is spelled out: a migration must not change when the code does.
        """
        INSERT INTO objects_by_id SELECT bucket || '/' || key,
            bucket, key, size, etag, sha256, last_modified, content_type, content_encoding,
            content_disposition, content_language, cache_control, expires, user_metadata,
            part_digests, part_sizes, tags, checksum_algorithm, checksum_value, checksum_type
        FROM objects ORDER BY bucket, key
        """,
        "DROP TABLE objects",
        "ALTER TABLE objects_by_id RENAME TO objects",
    ),
    # 6: the last metadata journal entry DuckDB holds (zas.meta.journal), written in the
    # transaction that applies the entry, so a replay after a crash skips what is applied.
    (
        "CREATE TABLE journal_state (applied_seq UBIGINT NOT NULL)",
        "INSERT INTO journal_state VALUES (0)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: Any) -> int:
    """Bring the metadata database to SCHEMA_VERSION; returns the version found before."""
    return duckdb_support.migrate(connection, MIGRATIONS, what="metadata database")
