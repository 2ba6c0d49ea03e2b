"""`rollcall mail send|logout send`: the loops that deliver what the outbox holds."""

from __future__ import annotations

from collections.abc import Callable

import click

from rollcall.cli.context import Context, keep_sending, pass_context


def loop_options(command: Callable[..., None]) -> Callable[..., None]:
    """--once and --interval, which every sending loop takes."""
    once = click.option(
        "--once", is_flag=True, help="Send what is due and stop (default: keep running)."
    )
    interval = click.option(
        "--interval",
        default=5.0,
        show_default=True,
        type=click.FloatRange(0.5, 3600),
        help="Seconds between looks at the outbox.",
    )
    return once(interval(command))


@click.group()
def mail() -> None:
    """Mail in the outbox."""


@mail.command("send")
@loop_options
@pass_context
def mail_send(obj: Context, once: bool, interval: float) -> None:
    """Answer queued recovery requests, deliver queued mails over SMTP (ROLLCALL_SMTP_URL);
    failures are retried later."""
    from rollcall.mail import deliver_pending  # loaded by the command using it, as the app

    settings = obj.settings
    if not settings.smtp_url and not settings.development:
        raise click.ClickException("ROLLCALL_SMTP_URL is not set: there is no server to send to.")
    if not settings.base_url and not settings.development:
        raise click.ClickException("ROLLCALL_BASE_URL is not set: mails could not link back.")
    keep_sending(lambda: deliver_pending(obj.database, settings), "sent {} mail(s)", once, interval)


@click.group()
def logout() -> None:
    """Back-channel logout notices to the linked applications."""


@logout.command("send")
@loop_options
@pass_context
def logout_send(obj: Context, once: bool, interval: float) -> None:
    """Post the logout tokens still due (the server sends them itself; this retries failures)."""
    from sso.backchannel import deliver_pending

    settings = obj.settings
    issuer = settings.issuer or settings.base_url.rstrip("/")
    if not issuer:
        if not settings.development:
            raise click.ClickException("ROLLCALL_ISSUER is not set: logout tokens need it.")
        issuer = "http://127.0.0.1:8000"
    report = "delivered {} logout notice(s)"
    keep_sending(lambda: deliver_pending(obj.database, issuer), report, once, interval)
