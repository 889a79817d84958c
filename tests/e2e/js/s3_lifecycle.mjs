// The AWS SDK for JavaScript v3 (@aws-sdk/client-s3, lib-storage, s3-request-presigner) against a
// live `zas serve`, with the SDK's default settings apart from path style and one attempt per
// request. Run by tests/e2e/test_client_js.py, which checks the results independently with boto3.
//
// Environment: ZAS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ZAS_BUCKET (exists, empty),
// ZAS_COPY_BUCKET (exists, empty; target of a cross-bucket copy), ZAS_TMP (a scratch directory).
// Prints one JSON summary on stdout; on any failure prints {"ok": false, "step", "error", ...}
// and exits 1.

import { createHash, randomBytes } from "node:crypto";
import { createReadStream, writeFileSync } from "node:fs";
import { join } from "node:path";

import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

const MiB = 1024 * 1024;

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

const endpoint = env("ZAS_ENDPOINT");
const Bucket = env("ZAS_BUCKET");
const copyBucket = env("ZAS_COPY_BUCKET");
const tmp = env("ZAS_TMP");

// Every request as it went on the wire (after signing): which payload mode and checksums the SDK
// chose, so the Python side can assert that aws-chunked trailers were really exercised.
const wire = [];
const recordWire = (next, context) => async (args) => {
  const h = args.request?.headers ?? {};
  const pick = (name) => h[name] ?? h[name.toLowerCase()];
  wire.push({
    command: context.commandName,
    method: args.request?.method,
    contentSha256: pick("x-amz-content-sha256") ?? null,
    contentEncoding: pick("content-encoding") ?? null,
    trailer: pick("x-amz-trailer") ?? null,
    checksumHeaders: Object.keys(h).filter((k) => k.toLowerCase().startsWith("x-amz-checksum-")),
    sdkChecksumAlgorithm: pick("x-amz-sdk-checksum-algorithm") ?? null,
  });
  return next(args);
};

const client = new S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  maxAttempts: 1, // a server error must fail the run, not be retried away
  credentials: {
    accessKeyId: env("AWS_ACCESS_KEY_ID"),
    secretAccessKey: env("AWS_SECRET_ACCESS_KEY"),
  },
  requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
});
client.middlewareStack.add(recordWire, { step: "deserialize", name: "zasRecordWire" });

const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const md5Etag = (data) => `"${createHash("md5").update(data).digest("hex")}"`;
const bodyBytes = async (response) => Buffer.from(await response.Body.transformToByteArray());

function check(condition, message, details) {
  if (!condition) {
    const err = new Error(message);
    err.details = details;
    throw err;
  }
}

function sameBytes(got, want, what) {
  check(got.length === want.length, `${what}: length ${got.length} != ${want.length}`);
  check(got.equals(want), `${what}: bytes differ (sha256 ${sha256(got)} != ${sha256(want)})`);
}

// The key must be percent-encoded in x-amz-copy-source; the SDK leaves that to the caller.
const copySource = (bucket, key) =>
  `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;

const summary = { ok: false, steps: [], objects: {}, deleted: [], wire };
let step = "setup";

async function run(name, fn) {
  step = name;
  const started = Date.now();
  const result = await fn();
  summary.steps.push({ step: name, ms: Date.now() - started });
  return result;
}

function remember(bucket, key, data) {
  summary.objects[`${bucket}/${key}`] = { bucket, key, size: data.length, sha256: sha256(data) };
}

async function main() {
  // 1. PutObject, stock settings, a Buffer body: CRC32 in a header.
  const small = Buffer.concat([Buffer.from("hello from the JS SDK v3\n"), randomBytes(70_000)]);
  const smallKey = "js/small ünï+€.bin";
  await run("put-object-buffer", async () => {
    const put = await client.send(new PutObjectCommand({ Bucket, Key: smallKey, Body: small }));
    check(put.ETag === md5Etag(small), "PutObject ETag is not the MD5 of the body", put.ETag);
    summary.putChecksumCRC32 = put.ChecksumCRC32 ?? null;
  });
  remember(Bucket, smallKey, small);

  // 2. PutObject with a stream body of known length: aws-chunked + trailing CRC32.
  const streamed = randomBytes(3 * MiB + 123);
  const streamedPath = join(tmp, "streamed.bin");
  writeFileSync(streamedPath, streamed);
  const streamedKey = "js/streamed.bin";
  await run("put-object-stream", async () => {
    const put = await client.send(
      new PutObjectCommand({
        Bucket,
        Key: streamedKey,
        Body: createReadStream(streamedPath),
        ContentLength: streamed.length,
        ContentType: "application/x-js-test",
        Metadata: { origin: "js-sdk" },
      }),
    );
    check(put.ETag === md5Etag(streamed), "streamed PutObject ETag is not the MD5", put.ETag);
  });
  remember(Bucket, streamedKey, streamed);

  // 2b. The other checksum algorithms, each as a header (Buffer body) and as an aws-chunked
  // trailer (stream body); the stored checksum comes back with ChecksumMode ENABLED and a full
  // GetObject validates it.
  summary.algorithms = {};
  await run("put-object-algorithms", async () => {
    for (const algorithm of ["CRC32C", "CRC64NVME", "SHA1", "SHA256"]) {
      const data = randomBytes(64 * 1024 + algorithm.length);
      const path = join(tmp, `alg-${algorithm}.bin`);
      writeFileSync(path, data);
      const field = `Checksum${algorithm}`;
      const results = {};
      for (const [mode, Body] of [["header", data], ["trailer", createReadStream(path)]]) {
        const Key = `js/checksums/${algorithm}-${mode}.bin`;
        const put = await client.send(new PutObjectCommand({
          Bucket, Key, Body, ContentLength: data.length, ChecksumAlgorithm: algorithm }));
        check(put[field], `PutObject (${algorithm}, ${mode}) returned no ${field}`, put);
        const head = await client.send(
          new HeadObjectCommand({ Bucket, Key, ChecksumMode: "ENABLED" }));
        check(head[field] === put[field], `HeadObject ${field} (${mode})`,
          { put: put[field], head: head[field] });
        const got = await client.send(new GetObjectCommand({ Bucket, Key }));
        sameBytes(await bodyBytes(got), data, `GetObject ${Key}`);
        remember(Bucket, Key, data);
        results[mode] = put[field];
      }
      check(results.header === results.trailer, `${algorithm}: header and trailer checksums differ`,
        results);
      summary.algorithms[algorithm] = results.header;
    }
  });

  // 3. GetObject (the SDK asks for and validates the checksum) and HeadObject.
  await run("get-object", async () => {
    for (const [key, data] of [
      [smallKey, small],
      [streamedKey, streamed],
    ]) {
      const got = await client.send(new GetObjectCommand({ Bucket, Key: key }));
      sameBytes(await bodyBytes(got), data, `GetObject ${key}`);
      check(got.ETag === md5Etag(data), `GetObject ${key} ETag`, got.ETag);
    }
    const ranged = await client.send(
      new GetObjectCommand({ Bucket, Key: streamedKey, Range: "bytes=1000-1999999" }),
    );
    sameBytes(await bodyBytes(ranged), streamed.subarray(1000, 2_000_000), "ranged GetObject");
    check(ranged.ContentRange === `bytes 1000-1999999/${streamed.length}`, "Content-Range",
      ranged.ContentRange);
  });
  await run("head-object", async () => {
    const head = await client.send(
      new HeadObjectCommand({ Bucket, Key: streamedKey, ChecksumMode: "ENABLED" }),
    );
    check(head.ContentLength === streamed.length, "HeadObject ContentLength", head.ContentLength);
    check(head.ETag === md5Etag(streamed), "HeadObject ETag", head.ETag);
    check(head.ContentType === "application/x-js-test", "HeadObject ContentType", head.ContentType);
    check(head.Metadata?.origin === "js-sdk", "HeadObject Metadata", head.Metadata);
    summary.headChecksumCRC32 = head.ChecksumCRC32 ?? null;
  });

  // 4. ListObjectsV2, paginated by hand with MaxKeys and continuation tokens.
  const listKeys = Array.from({ length: 7 }, (_, i) => `js/list/item-${i}`);
  await run("list-objects-v2", async () => {
    for (const key of listKeys) {
      await client.send(new PutObjectCommand({ Bucket, Key: key, Body: `item ${key}\n` }));
    }
    const seen = [];
    let pages = 0;
    let ContinuationToken;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket, Prefix: "js/list/", MaxKeys: 3, ContinuationToken }),
      );
      pages += 1;
      check(page.KeyCount === (page.Contents ?? []).length, "KeyCount", page.KeyCount);
      seen.push(...(page.Contents ?? []).map((o) => o.Key));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      check(!page.IsTruncated || ContinuationToken, "truncated page without a token", page);
    } while (ContinuationToken && pages < 10);
    check(JSON.stringify(seen) === JSON.stringify(listKeys), "paginated listing", seen);
    check(pages === 3, `expected 3 pages of 3 keys, got ${pages}`);
    const top = await client.send(new ListObjectsV2Command({ Bucket, Prefix: "js/", Delimiter: "/" }));
    const prefixes = (top.CommonPrefixes ?? []).map((p) => p.Prefix);
    check(JSON.stringify(prefixes) === JSON.stringify(["js/checksums/", "js/list/"]), "CommonPrefixes", prefixes);
    summary.listPages = pages;
  });

  // 5. lib-storage Upload: 12 MiB + a bit in 5 MiB parts, i.e. a 3-part multipart upload.
  const big = randomBytes(12 * MiB + 4321);
  const bigKey = "js/multipart/big file.bin";
  await run("upload-multipart", async () => {
    const parts = [];
    const upload = new Upload({
      client,
      params: { Bucket, Key: bigKey, Body: big, ContentType: "application/octet-stream" },
      partSize: 5 * MiB,
      queueSize: 2,
      leavePartsOnError: false,
    });
    upload.on("httpUploadProgress", (p) => parts.push(p.part));
    const done = await upload.done();
    check(/^"[0-9a-f]{32}-3"$/.test(done.ETag), "multipart ETag is not '<md5>-3'", done.ETag);
    summary.multipartETag = done.ETag;
    summary.multipartChecksumCRC32 = done.ChecksumCRC32 ?? null;
  });
  remember(Bucket, bigKey, big);
  await run("get-multipart", async () => {
    const got = await client.send(new GetObjectCommand({ Bucket, Key: bigKey }));
    sameBytes(await bodyBytes(got), big, "GetObject of the multipart upload");
    check(got.ETag === summary.multipartETag, "multipart GetObject ETag", got.ETag);
    // A range across the first part boundary.
    const r = await client.send(
      new GetObjectCommand({ Bucket, Key: bigKey, Range: `bytes=${5 * MiB - 10}-${5 * MiB + 9}` }),
    );
    sameBytes(await bodyBytes(r), big.subarray(5 * MiB - 10, 5 * MiB + 10), "range over parts");
    const part2 = await client.send(new GetObjectCommand({ Bucket, Key: bigKey, PartNumber: 2 }));
    sameBytes(await bodyBytes(part2), big.subarray(5 * MiB, 10 * MiB), "GetObject partNumber=2");
    check(part2.PartsCount === 3, "PartsCount", part2.PartsCount);
  });

  // 6. Low-level multipart: an upload left open is listed, its parts too, then aborted.
  await run("multipart-abort", async () => {
    const key = "js/multipart/abandoned.bin";
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key: key }));
    check(UploadId, "CreateMultipartUpload returned no UploadId");
    const part = randomBytes(5 * MiB);
    const up = await client.send(
      new UploadPartCommand({ Bucket, Key: key, UploadId, PartNumber: 1, Body: part }),
    );
    check(up.ETag === md5Etag(part), "UploadPart ETag", up.ETag);
    const listed = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: "js/" }));
    const ids = (listed.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
    check(JSON.stringify(ids) === JSON.stringify([`${key} ${UploadId}`]), "ListMultipartUploads",
      ids);
    const parts = await client.send(new ListPartsCommand({ Bucket, Key: key, UploadId }));
    check((parts.Parts ?? []).length === 1 && parts.Parts[0].ETag === up.ETag
      && parts.Parts[0].Size === part.length, "ListParts", parts.Parts);
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId }));
    const after = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: "js/" }));
    check((after.Uploads ?? []).length === 0, "upload still listed after abort", after.Uploads);
  });

  // 7. CopyObject: the multipart object to another bucket (no bytes copied), and a small one
  // within the bucket with new metadata.
  const copiedKey = "copied/big+copy ü.bin";
  await run("copy-object", async () => {
    const c = await client.send(
      new CopyObjectCommand({ Bucket: copyBucket, Key: copiedKey,
        CopySource: copySource(Bucket, bigKey) }),
    );
    check(c.CopyObjectResult?.ETag, "CopyObject returned no ETag", c);
    const got = await client.send(new GetObjectCommand({ Bucket: copyBucket, Key: copiedKey }));
    sameBytes(await bodyBytes(got), big, "GetObject of the copy");
    const r = await client.send(
      new CopyObjectCommand({ Bucket, Key: "js/small-copy.bin", CopySource: copySource(Bucket, smallKey),
        MetadataDirective: "REPLACE", Metadata: { copied: "yes" }, ContentType: "text/x-copied" }),
    );
    check(r.CopyObjectResult?.ETag === md5Etag(small), "CopyObject ETag", r.CopyObjectResult);
    const head = await client.send(new HeadObjectCommand({ Bucket, Key: "js/small-copy.bin" }));
    check(head.Metadata?.copied === "yes" && head.ContentType === "text/x-copied",
      "CopyObject REPLACE metadata", { meta: head.Metadata, type: head.ContentType });
  });
  remember(copyBucket, copiedKey, big);
  remember(Bucket, "js/small-copy.bin", small);

  // 8. Tagging: on PUT, then Put/Get/DeleteObjectTagging.
  const taggedKey = "js/tagged.txt";
  const tagged = Buffer.from("tagged object\n");
  await run("tagging", async () => {
    await client.send(
      new PutObjectCommand({ Bucket, Key: taggedKey, Body: tagged, Tagging: "build=42&stage=ci" }),
    );
    const tagsOf = async () => {
      const t = await client.send(new GetObjectTaggingCommand({ Bucket, Key: taggedKey }));
      return Object.fromEntries((t.TagSet ?? []).map(({ Key, Value }) => [Key, Value]));
    };
    let tags = await tagsOf();
    check(JSON.stringify(tags) === JSON.stringify({ build: "42", stage: "ci" }), "tags on PUT",
      tags);
    await client.send(
      new PutObjectTaggingCommand({ Bucket, Key: taggedKey, Tagging: { TagSet: [
        { Key: "release", Value: "1.0 beta" }, { Key: "owner", Value: "team+js" }] } }),
    );
    tags = await tagsOf();
    check(tags.release === "1.0 beta" && tags.owner === "team+js"
      && Object.keys(tags).length === 2, "tags after PutObjectTagging", tags);
    summary.tags = tags;
    await client.send(new DeleteObjectTaggingCommand({ Bucket, Key: taggedKey }));
    tags = await tagsOf();
    check(Object.keys(tags).length === 0, "tags after DeleteObjectTagging", tags);
    await client.send(
      new PutObjectTaggingCommand({ Bucket, Key: taggedKey, Tagging: { TagSet: [
        { Key: "release", Value: "1.0 beta" }, { Key: "owner", Value: "team+js" }] } }),
    );
  });
  remember(Bucket, taggedKey, tagged);

  // 9. Presigned URLs fetched with Node's fetch: GET, and PUT (which the SDK signs with a CRC32
  // of the empty body in the query string by default; S3 accepts the real body anyway).
  await run("presigned", async () => {
    const getUrl = await getSignedUrl(client, new GetObjectCommand({ Bucket, Key: smallKey }),
      { expiresIn: 300 });
    let res = await fetch(getUrl, { signal: AbortSignal.timeout(30_000) });
    const got = Buffer.from(await res.arrayBuffer());
    check(res.status === 200, `presigned GET: HTTP ${res.status}`, got.toString());
    sameBytes(got, small, "presigned GET");

    const putData = Buffer.from("uploaded through a presigned PUT\n");
    const putUrl = await getSignedUrl(client,
      new PutObjectCommand({ Bucket, Key: "js/presigned-put.txt" }), { expiresIn: 300 });
    summary.presignedPutQuery = [...new URL(putUrl).searchParams.keys()];
    res = await fetch(putUrl, { method: "PUT", body: putData, signal: AbortSignal.timeout(30_000) });
    const answer = await res.text();
    check(res.status === 200, `presigned PUT: HTTP ${res.status}`, answer);
    remember(Bucket, "js/presigned-put.txt", putData);

    res = await fetch(getUrl.replace(/X-Amz-Signature=[0-9a-f]+/, `X-Amz-Signature=${"0".repeat(64)}`),
      { signal: AbortSignal.timeout(30_000) });
    check(res.status === 403, `presigned GET with a bad signature: HTTP ${res.status}`);
  });

  // 10. DeleteObject and DeleteObjects (the listing items plus a key that never existed, which
  // S3 reports as deleted), then a listing shows they are gone.
  await run("delete-objects", async () => {
    await client.send(new DeleteObjectCommand({ Bucket, Key: streamedKey }));
    summary.deleted.push(`${Bucket}/${streamedKey}`);
    delete summary.objects[`${Bucket}/${streamedKey}`];
    const keys = [...listKeys, "js/list/never-existed"];
    const d = await client.send(
      new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
    check((d.Errors ?? []).length === 0, "DeleteObjects reported errors", d.Errors);
    const deleted = (d.Deleted ?? []).map((o) => o.Key).sort();
    check(JSON.stringify(deleted) === JSON.stringify([...keys].sort()), "DeleteObjects Deleted",
      deleted);
    const quiet = await client.send(
      new DeleteObjectsCommand({ Bucket, Delete: { Quiet: true, Objects: [{ Key: "js/small-copy.bin" }] } }),
    );
    check((quiet.Deleted ?? []).length === 0 && (quiet.Errors ?? []).length === 0,
      "Quiet DeleteObjects should answer with nothing", quiet);
    delete summary.objects[`${Bucket}/js/small-copy.bin`];
    summary.deleted.push(...listKeys.map((k) => `${Bucket}/${k}`), `${Bucket}/js/small-copy.bin`);
    const left = await client.send(new ListObjectsV2Command({ Bucket, Prefix: "js/" }));
    const remaining = (left.Contents ?? []).map((o) => o.Key).sort();
    const expected = Object.values(summary.objects).filter((o) => o.bucket === Bucket)
      .map((o) => o.key).sort();
    check(JSON.stringify(remaining) === JSON.stringify(expected), "keys left after deletes",
      { remaining, expected });
  });

  step = "done";
  summary.ok = true;
}

try {
  await main();
  process.stdout.write(JSON.stringify(summary) + "\n");
} catch (err) {
  summary.ok = false;
  summary.step = step;
  summary.error = {
    name: err?.name,
    message: err?.message,
    code: err?.Code ?? err?.code,
    httpStatus: err?.$metadata?.httpStatusCode,
    requestId: err?.$metadata?.requestId,
    details: err?.details,
    response: err?.$response ? { statusCode: err.$response.statusCode,
      headers: err.$response.headers } : undefined,
    stack: err?.stack,
  };
  process.stdout.write(JSON.stringify(summary) + "\n");
  process.exitCode = 1;
}
