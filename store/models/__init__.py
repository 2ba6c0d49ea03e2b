"""The directory's data, a module a domain: `directory` (accounts, users, groups, applications),
`sign_in` (sessions, OAuth clients, codes and tokens, signing keys, emailed links, SCIM tokens),
`security` (federation, passkeys, second factors, deployment settings), `logs` (audit, outbox,
provisioning log) and `csc` (Client Support Center), on the shared types of `columns`.

Models describe data only; what may happen to it is in the operation modules. Importing this
package registers every table on `Base.metadata`, as Alembic and the schema checks need.
"""

from store.models import columns, csc, directory, logs, security, sign_in  # noqa: F401
