"""Who may open which linked application (SPEC §1 Applications).

A client registered with access `everyone` admits every active user (the community site); one with
`granted` admits only users granted its application. The home page lists the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, or_, select

from store.csc import APPLICATION as CSC
from store.db import Tx
from store.models import Application, ApplicationGrant, OAuthClient, User


def may_open(tx: Tx, user: User, client: OAuthClient) -> bool:
    """True when the user (an active one: `users.active_user`) may sign in to this client's
    application."""
    if client.access == "everyone":
        return True
    if client.application_id is None:
        return False
    granted = select(ApplicationGrant).where(
        ApplicationGrant.user_id == user.id,
        ApplicationGrant.application_id == client.application_id,
    )
    return bool(tx.scalar(select(exists(granted))))


def applications_for(tx: Tx, user: User) -> Sequence[Application]:
    """The applications the user may open, for the home page."""
    granted = select(ApplicationGrant.application_id).where(ApplicationGrant.user_id == user.id)
    query = (
        select(Application)
        .where(or_(Application.access == "everyone", Application.id.in_(granted)))
        .order_by(Application.name)
    )
    return tx.scalars(query).all()


def granted_by_support(tx: Tx, client: OAuthClient) -> bool:
    """Whether support's vetting, not a main contact, grants this client's application: the
    Client Support Center (SPEC §1 Applications)."""
    if client.application_id is None:
        return False
    return tx.scalar(select(Application.key).where(Application.id == client.application_id)) == CSC
