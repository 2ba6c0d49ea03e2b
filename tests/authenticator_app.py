"""An authenticator app for the tests: codes computed with pyotp from the secret a page (or the
store) shows, each for a later time step than the last, as a person's app gives them over time.

Rollcall accepts a code for the current time step and one either side, and each step once; the
app hands out the previous step first (when it is still safely inside the window), then the
current, then the next, and waits for the clock only when all three are spent.
"""

from __future__ import annotations

import time
from typing import Any

import pyotp

STEP = 30


class Authenticator:
    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP("".join(secret.split()))
        self.last_step = -1

    def code(self) -> str:
        """A code Rollcall accepts now and has not seen."""
        while True:
            moment = time.time()
            current = int(moment) // STEP
            # the previous step stays accepted until the next one begins: use it with 5 s to spare
            lowest = current - 1 if moment % STEP < STEP - 5 else current
            step = max(self.last_step + 1, lowest)
            if step <= current + 1:
                self.last_step = step
                return self.totp.generate_otp(step)
            time.sleep(STEP - moment % STEP + 0.1)

    def wrong_code(self) -> str:
        """A code of no step near now."""
        current = int(time.time()) // STEP
        near = {self.totp.generate_otp(s) for s in range(current - 3, current + 4)}
        return next(c for c in (f"{n:06d}" for n in range(1000000)) if c not in near)


def enrol(db: Any, user: Any, *, keep: Any = None) -> tuple[Authenticator, list[str]]:
    """The person sets up an app through the store: its secret, confirmed by a code the app
    computes (`keep`: the session of the browser they set it up in; their others end). Returns
    the app and the recovery codes shown."""
    from store import mfa
    from store.actors import Actor, Door

    me = Actor.for_user(user, Door.PORTAL)
    with db.transaction() as tx:
        started = mfa.start_totp(tx, me, user.id)
    app = Authenticator(started.secret)
    with db.transaction() as tx:
        codes = mfa.confirm_totp(tx, me, user.id, app.code(), keep=keep)
    return app, codes
