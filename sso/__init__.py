"""OpenID Connect provider (Authlib) and sign-in: sessions, consent, logout, keys.

Coming with issue #4; ending a user's sessions and tokens is already `store.sessions.end_all`.
"""
