"""The directory core: models, migrations and every operation on users, groups and accounts.

No Flask here: SCIM, OIDC and the pages call these operations and translate their errors.
"""
