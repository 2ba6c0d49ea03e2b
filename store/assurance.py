"""How a person proved who they are: RFC 8176 method references and the level they reach.

An SSO session, the codes it issues and the ID tokens made from them carry both: `amr` lists the
methods, `acr` names the level, so an application (the CSC, for instance) can tell a password
sign-in from one with a second factor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PASSWORD = "pwd"
ONE_TIME_CODE = "otp"
HARDWARE_KEY = "hwk"
SOFTWARE_KEY = "swk"
MULTI_FACTOR = "mfa"

ONE_FACTOR_ACR = "urn:rollcall:acr:1fa"
TWO_FACTOR_ACR = "urn:rollcall:acr:2fa"
ACR_VALUES = (ONE_FACTOR_ACR, TWO_FACTOR_ACR)

# The kind of factor each RFC 8176 method proves: a proof is multi-factor when it holds two
# kinds (or says `mfa`), not merely two methods (a password and a location are one factor).
# `user` is Rollcall's own passkeys' user verification (PIN or biometric, WebAuthn's UV);
# a provider's `user`, a presence test, is not taken (federated_sign_in.proof_of).
_KINDS = {
    "pwd": "knows", "pin": "knows", "kba": "knows",
    "otp": "has", "hwk": "has", "swk": "has", "sms": "has", "tel": "has", "sc": "has",
    "mca": "has",
    "face": "is", "fpt": "is", "iris": "is", "retina": "is", "vbm": "is", "user": "is",
}  # fmt: skip


@dataclass(frozen=True)
class Proof:
    """The methods a sign-in used (`amr`) and the level they reach (`acr`)."""

    amr: tuple[str, ...]
    acr: str

    @classmethod
    def of(cls, methods: Iterable[str], acr: str | None = None) -> Proof:
        """The proof of these methods; with two kinds of factor it counts as multi-factor."""
        amr = tuple(dict.fromkeys(m for m in methods if m))
        kinds = {_KINDS[m] for m in amr if m in _KINDS}
        if MULTI_FACTOR not in amr and len(kinds) >= 2:
            amr += (MULTI_FACTOR,)
        level = TWO_FACTOR_ACR if MULTI_FACTOR in amr else ONE_FACTOR_ACR
        return cls(amr, acr or level)

    @classmethod
    def password(cls) -> Proof:
        return cls.of([PASSWORD])

    @classmethod
    def stored(cls, amr: str | None, acr: str | None) -> Proof:
        """The proof kept in a row (methods space-separated)."""
        return cls.of((amr or PASSWORD).split(), acr)

    @property
    def multi_factor(self) -> bool:
        return MULTI_FACTOR in self.amr

    def with_methods(self, methods: Iterable[str]) -> Proof:
        """This proof strengthened by further methods (a second factor after the password)."""
        return Proof.of([*self.amr, *methods])

    def column(self) -> str:
        return " ".join(self.amr)
