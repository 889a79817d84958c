"""Fuzz targets for the sans-IO parsers in `zas.protocol` (see fuzz/README.md)."""
