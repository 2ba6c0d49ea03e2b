"""SCIM 2.0 adapter (RFC 7643, RFC 7644, RFC 9865 cursors) at /scim/v2.

Thin: scim2-models parses, validates and serializes; `filters` compiles filters to SQL; the
views call `store` operations and `responses` maps every refusal to a SCIM Error in one place.
"""
