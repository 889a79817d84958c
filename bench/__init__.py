"""ZAS benchmark harness: `python -m bench` starts ZAS, its peers and two reference apps on
loopback, measures them with a multi-process load generator, and reports against the machine's
limits. It drives servers only over HTTP and never imports `zas`."""
