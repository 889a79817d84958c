"""Supply-chain evidence: signing keys, artifact signatures and in-toto attestations.

The modules here are pure (bytes in, values out; no storage, no HTTP, no trio):
`keys` creates, imports, exports and seals signing keys, `signatures` makes and checks raw
signatures over artifact bytes, and `dsse` makes and checks DSSE envelopes holding in-toto
Statements. Storage, the API and enforcement live elsewhere and call these.
"""
