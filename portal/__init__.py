"""Pages for people: registration, recovery, profile, Manage Users and the support pages.

They call the same `store` operations as SCIM; `door.init_app` puts them, the shared layout and
mail delivery onto an application.
"""
