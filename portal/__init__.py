"""Pages for people: registration, recovery, profile, Manage Users and the support pages.

Coming with issues #5 and #6; they call the same `store` operations as SCIM.
"""
