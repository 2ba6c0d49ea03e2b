"""`rollcall mail send|logout send`: the loops that deliver what the outbox holds."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import click

from rollcall.cli.context import Context, pass_context
from store.errors import Unavailable

log = logging.getLogger("rollcall.workers")

LONGEST_PAUSE = 300.0  # seconds: the most a loop waits after failures in a row


def keep_sending(
    send: Callable[[], int],
    report: str,
    *,
    once: bool,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> None:
    """A worker loop: send what is due, say how many went, and look again after `interval`.

    A failure (the database out of reach for a moment, a connection it dropped) is logged and
    the loop waits longer after each one in a row (twice `interval`, doubling, at most
    LONGEST_PAUSE); it never ends the loop, whose work is still there when the database is back.
    With `once` a failure ends the command, as any command's does. `rounds`, how many looks
    before returning (None: for ever), and `sleep` let a test run the loop without waiting.
    """
    failures = 0
    done = 0
    while rounds is None or done < rounds:
        done += 1
        try:
            sent = send()
        except Exception as exc:
            if once:
                raise
            failures += 1
            pause = min(interval * 2**failures, LONGEST_PAUSE)
            # An outage says all in a line; anything else is a fault to be read in full.
            log.error(
                "sending failed (%s in a row): %s; next try in %g s",
                failures,
                exc,
                pause,
                exc_info=not isinstance(exc, Unavailable),
            )
            sleep(pause)
            continue
        failures = 0
        if sent or once:
            click.echo(report.format(sent))
        if once:
            return
        sleep(interval)


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
        help="Seconds between looks at the outbox (failures in a row wait longer, up to 5 min).",
    )
    return once(interval(command))


def _log_to_stderr(level: str) -> None:
    """What a loop logs (its failures, the senders' warnings) goes to stderr with the time."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


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
    _log_to_stderr(settings.log_level)
    keep_sending(
        lambda: deliver_pending(obj.database, settings),
        "sent {} mail(s)",
        once=once,
        interval=interval,
    )


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
    _log_to_stderr(settings.log_level)
    keep_sending(
        lambda: deliver_pending(obj.database, issuer),
        "delivered {} logout notice(s)",
        once=once,
        interval=interval,
    )
