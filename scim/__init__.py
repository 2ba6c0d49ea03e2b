"""SCIM 2.0 adapter (RFC 7643/7644): a Flask blueprint translating requests to `store` operations.

Coming with issue #3; the directory operations it will call are in `store.users` and
`store.groups`, and provisioning tokens are checked by `store.credentials.authenticate`.
"""
