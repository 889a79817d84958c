"""The action vocabulary that policies may name: S3's, and ZAS's own `zas:` actions.

Why a closed list: a policy that says `s3:GetObjcet` would otherwise parse and silently grant
nothing (or, in a Deny, silently protect nothing). AWS rejects such policies ("Policy has
invalid action"), so `parse_policy` requires every Action/NotAction entry, wildcards included,
to match at least one name here. The S3 list therefore holds every S3 action a real-world
policy is likely to name, including many ZAS does not serve (versions, ACLs, object lock,
replication, ...): a policy copied from AWS must still be accepted.

Names are case-insensitive in IAM; compare `name.lower()` against `KNOWN_ACTIONS_LOWER`.

S3 actions: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
"""

from __future__ import annotations

# --- S3: the operations ZAS serves -----------------------------------------------------------
S3_LIST_ALL_MY_BUCKETS = "s3:ListAllMyBuckets"
S3_CREATE_BUCKET = "s3:CreateBucket"
S3_DELETE_BUCKET = "s3:DeleteBucket"
S3_LIST_BUCKET = "s3:ListBucket"
S3_GET_BUCKET_LOCATION = "s3:GetBucketLocation"
S3_GET_BUCKET_VERSIONING = "s3:GetBucketVersioning"
S3_GET_BUCKET_POLICY = "s3:GetBucketPolicy"
S3_PUT_BUCKET_POLICY = "s3:PutBucketPolicy"
S3_DELETE_BUCKET_POLICY = "s3:DeleteBucketPolicy"
S3_LIST_BUCKET_MULTIPART_UPLOADS = "s3:ListBucketMultipartUploads"
S3_GET_OBJECT = "s3:GetObject"
S3_PUT_OBJECT = "s3:PutObject"
S3_DELETE_OBJECT = "s3:DeleteObject"
S3_GET_OBJECT_TAGGING = "s3:GetObjectTagging"
S3_PUT_OBJECT_TAGGING = "s3:PutObjectTagging"
S3_DELETE_OBJECT_TAGGING = "s3:DeleteObjectTagging"
S3_ABORT_MULTIPART_UPLOAD = "s3:AbortMultipartUpload"
S3_LIST_MULTIPART_UPLOAD_PARTS = "s3:ListMultipartUploadParts"
S3_GET_OBJECT_ATTRIBUTES = "s3:GetObjectAttributes"

S3_SERVED: frozenset[str] = frozenset(
    {
        S3_LIST_ALL_MY_BUCKETS,
        S3_CREATE_BUCKET,
        S3_DELETE_BUCKET,
        S3_LIST_BUCKET,
        S3_GET_BUCKET_LOCATION,
        S3_GET_BUCKET_VERSIONING,
        S3_GET_BUCKET_POLICY,
        S3_PUT_BUCKET_POLICY,
        S3_DELETE_BUCKET_POLICY,
        S3_LIST_BUCKET_MULTIPART_UPLOADS,
        S3_GET_OBJECT,
        S3_PUT_OBJECT,
        S3_DELETE_OBJECT,
        S3_GET_OBJECT_TAGGING,
        S3_PUT_OBJECT_TAGGING,
        S3_DELETE_OBJECT_TAGGING,
        S3_ABORT_MULTIPART_UPLOAD,
        S3_LIST_MULTIPART_UPLOAD_PARTS,
        S3_GET_OBJECT_ATTRIBUTES,
    }
)

# --- S3: real actions ZAS does not (yet) serve; policies naming them must still parse ---------
S3_OTHER: frozenset[str] = frozenset(
    {
        "s3:BypassGovernanceRetention",
        "s3:CreateAccessPoint",
        "s3:CreateJob",
        "s3:DeleteAccessPoint",
        "s3:DeleteAccessPointPolicy",
        "s3:DeleteBucketOwnershipControls",
        "s3:DeleteBucketWebsite",
        "s3:DeleteObjectVersion",
        "s3:DeleteObjectVersionTagging",
        "s3:GetAccelerateConfiguration",
        "s3:GetAccessPoint",
        "s3:GetAccessPointPolicy",
        "s3:GetAccountPublicAccessBlock",
        "s3:GetAnalyticsConfiguration",
        "s3:GetBucketAcl",
        "s3:GetBucketCORS",
        "s3:GetBucketLogging",
        "s3:GetBucketNotification",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketOwnershipControls",
        "s3:GetBucketPolicyStatus",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketTagging",
        "s3:GetBucketWebsite",
        "s3:GetEncryptionConfiguration",
        "s3:GetIntelligentTieringConfiguration",
        "s3:GetInventoryConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetMetricsConfiguration",
        "s3:GetObjectAcl",
        "s3:GetObjectLegalHold",
        "s3:GetObjectRetention",
        "s3:GetObjectTorrent",
        "s3:GetObjectVersion",
        "s3:GetObjectVersionAcl",
        "s3:GetObjectVersionAttributes",
        "s3:GetObjectVersionForReplication",
        "s3:GetObjectVersionTagging",
        "s3:GetObjectVersionTorrent",
        "s3:GetReplicationConfiguration",
        "s3:ListAccessPoints",
        "s3:ListBucketVersions",
        "s3:ListJobs",
        "s3:ObjectOwnerOverrideToBucketOwner",
        "s3:PutAccelerateConfiguration",
        "s3:PutAccessPointPolicy",
        "s3:PutAccountPublicAccessBlock",
        "s3:PutAnalyticsConfiguration",
        "s3:PutBucketAcl",
        "s3:PutBucketCORS",
        "s3:PutBucketLogging",
        "s3:PutBucketNotification",
        "s3:PutBucketObjectLockConfiguration",
        "s3:PutBucketOwnershipControls",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketRequestPayment",
        "s3:PutBucketTagging",
        "s3:PutBucketVersioning",
        "s3:PutBucketWebsite",
        "s3:PutEncryptionConfiguration",
        "s3:PutIntelligentTieringConfiguration",
        "s3:PutInventoryConfiguration",
        "s3:PutLifecycleConfiguration",
        "s3:PutMetricsConfiguration",
        "s3:PutObjectAcl",
        "s3:PutObjectLegalHold",
        "s3:PutObjectRetention",
        "s3:PutObjectVersionAcl",
        "s3:PutObjectVersionTagging",
        "s3:PutReplicationConfiguration",
        "s3:ReplicateDelete",
        "s3:ReplicateObject",
        "s3:ReplicateTags",
        "s3:RestoreObject",
    }
)

# --- ZAS management API -----------------------------------------------------------------------
ZAS_CREATE_USER = "zas:CreateUser"
ZAS_GET_USER = "zas:GetUser"
ZAS_LIST_USERS = "zas:ListUsers"
ZAS_DELETE_USER = "zas:DeleteUser"
ZAS_CREATE_ACCESS_KEY = "zas:CreateAccessKey"
ZAS_LIST_ACCESS_KEYS = "zas:ListAccessKeys"
ZAS_UPDATE_ACCESS_KEY = "zas:UpdateAccessKey"
ZAS_DELETE_ACCESS_KEY = "zas:DeleteAccessKey"
ZAS_ATTACH_USER_POLICY = "zas:AttachUserPolicy"
ZAS_DETACH_USER_POLICY = "zas:DetachUserPolicy"
ZAS_CREATE_POLICY = "zas:CreatePolicy"
ZAS_GET_POLICY = "zas:GetPolicy"
ZAS_LIST_POLICIES = "zas:ListPolicies"
ZAS_UPDATE_POLICY = "zas:UpdatePolicy"
ZAS_DELETE_POLICY = "zas:DeletePolicy"
ZAS_AUTHORIZE = "zas:Authorize"  # the dry-run "would this be allowed?" endpoint
ZAS_READ_AUDIT = "zas:ReadAudit"
ZAS_QUERY_AUDIT = "zas:QueryAudit"
ZAS_EXPORT_AUDIT = "zas:ExportAudit"

# Scraping /metrics on the main listener (a separate metrics listener is public).
ZAS_GET_METRICS = "zas:GetMetrics"

ZAS_MANAGEMENT: frozenset[str] = frozenset(
    {
        ZAS_CREATE_USER,
        ZAS_GET_USER,
        ZAS_LIST_USERS,
        ZAS_DELETE_USER,
        ZAS_CREATE_ACCESS_KEY,
        ZAS_LIST_ACCESS_KEYS,
        ZAS_UPDATE_ACCESS_KEY,
        ZAS_DELETE_ACCESS_KEY,
        ZAS_ATTACH_USER_POLICY,
        ZAS_DETACH_USER_POLICY,
        ZAS_CREATE_POLICY,
        ZAS_GET_POLICY,
        ZAS_LIST_POLICIES,
        ZAS_UPDATE_POLICY,
        ZAS_DELETE_POLICY,
        ZAS_AUTHORIZE,
        ZAS_READ_AUDIT,
        ZAS_QUERY_AUDIT,
        ZAS_EXPORT_AUDIT,
        ZAS_GET_METRICS,
    }
)

# --- ZAS supply chain (signing, SBOMs, attestations) ------------------------------------------
ZAS_SIGN_OBJECT = "zas:SignObject"
ZAS_GET_SIGNATURES = "zas:GetSignatures"
ZAS_VERIFY_OBJECT = "zas:VerifyObject"
ZAS_PUT_SBOM = "zas:PutSbom"
ZAS_GET_SBOM = "zas:GetSbom"
ZAS_PUT_ATTESTATION = "zas:PutAttestation"
ZAS_GET_ATTESTATIONS = "zas:GetAttestations"
ZAS_MANAGE_SIGNING_KEYS = "zas:ManageSigningKeys"
ZAS_MANAGE_TRUSTED_KEYS = "zas:ManageTrustedKeys"
ZAS_PUT_VERIFICATION_POLICY = "zas:PutVerificationPolicy"
ZAS_GET_VERIFICATION_POLICY = "zas:GetVerificationPolicy"

ZAS_SUPPLY_CHAIN: frozenset[str] = frozenset(
    {
        ZAS_SIGN_OBJECT,
        ZAS_GET_SIGNATURES,
        ZAS_VERIFY_OBJECT,
        ZAS_PUT_SBOM,
        ZAS_GET_SBOM,
        ZAS_PUT_ATTESTATION,
        ZAS_GET_ATTESTATIONS,
        ZAS_MANAGE_SIGNING_KEYS,
        ZAS_MANAGE_TRUSTED_KEYS,
        ZAS_PUT_VERIFICATION_POLICY,
        ZAS_GET_VERIFICATION_POLICY,
    }
)

#: Every action a policy may name, in canonical spelling.
KNOWN_ACTIONS: frozenset[str] = S3_SERVED | S3_OTHER | ZAS_MANAGEMENT | ZAS_SUPPLY_CHAIN

#: The same, lower-cased, mapped to the canonical spelling (IAM action names ignore case).
KNOWN_ACTIONS_LOWER: dict[str, str] = {name.lower(): name for name in KNOWN_ACTIONS}


def canonical_action(name: str) -> str | None:
    """The canonical spelling of a known action (any case), or None if it is not known."""
    return KNOWN_ACTIONS_LOWER.get(name.lower())
