"""Reference apps that answer the benchmark's GET and PUT shapes with no S3 work at all, to
show the ceiling of the stack ZAS is built on (Hypercorn + trio, and Quart-Trio on top).

Both remember the size of each PUT body per path, answer GET with that many bytes (4 KiB if
never PUT), streamed 1 MiB at a time, and ignore authentication."""

SMALL_BODY = 4096
CHUNK = 1 << 20
ETAG = '"d41d8cd98f00b204e9800998ecf8427e"'
