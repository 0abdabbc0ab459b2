"""``mango netflow collect`` and ``mango netflow replay``."""

from __future__ import annotations

import logging
import signal
import sys

import click
from flask import current_app
from flask.cli import with_appcontext


def _pipeline(mango):  # noqa: ANN001, ANN202
    from mango_netflow.collector.pipeline import Pipeline
    from mango_netflow.decode import Decoder
    from mango_netflow.store.writer import FlowWriter

    settings = mango.plugin_settings("netflow")
    try:
        writer = FlowWriter(mango)
    except NotImplementedError as exc:
        raise click.ClickException(f"the flow store is not available: {exc}") from None
    decoder = Decoder(hold_sets=int(settings["collector_hold_sets"]), hold_seconds=float(settings["collector_hold_seconds"]))
    return Pipeline(mango.db.session, writer, decoder=decoder,
                    serves=lambda location_id: mango.is_active("netflow", location_id))


@click.command("collect")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="UDP port (default: the collector_port setting, 2055).")
@click.option("--bind", default=None, help="Address to listen on (default: the collector_bind setting, 0.0.0.0; "
                                           ":: for IPv6 and IPv4).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@with_appcontext
def collect(port: int | None, bind: str | None, log_level: str) -> None:
    """Receive NetFlow v5/v9 and IPFIX and store the flows until SIGTERM/SIGINT."""
    from mango_netflow.collector.server import Collector, Timers, open_socket

    logging.basicConfig(level=log_level.upper(), stream=sys.stderr, force=True,
                        format="%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s")
    mango = current_app.extensions["mango"]
    settings = mango.plugin_settings("netflow")
    pipeline = _pipeline(mango)
    try:
        sock = open_socket(bind or settings["collector_bind"], port or int(settings["collector_port"]))
    except OSError as exc:
        pipeline.writer.close()
        raise click.ClickException(f"cannot listen: {exc}") from None
    collector = Collector(pipeline, sock, Timers(flush=float(settings["collector_flush_seconds"]),
                                                 counters=float(settings["collector_counters_seconds"])))

    def stop(_signum, _frame) -> None:  # noqa: ANN001
        collector.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    collector.run()


@click.command("replay")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--exporter", "exporter", default=None,
              help="Address of the registered exporter the packets come from (required for raw payload files; "
                   "pcap packets use their source address otherwise).")
@click.option("--quiet", is_flag=True, help="No progress line.")
@with_appcontext
def replay_command(files: tuple[str, ...], exporter: str | None, quiet: bool) -> None:
    """Feed pcap captures and raw UDP payload files through the decoder into the store."""
    from mango_netflow.collector.exporters import InvalidExporter, normalize_address
    from mango_netflow.collector.replay import ReplayError, replay

    mango = current_app.extensions["mango"]
    if exporter is not None:
        try:
            exporter = normalize_address(exporter)
        except InvalidExporter as exc:
            raise click.BadParameter(str(exc), param_hint="--exporter") from None
    pipeline = _pipeline(mango)
    try:
        if exporter is not None:
            pipeline.refresh()
            if exporter not in pipeline.targets:
                raise click.ClickException(f"{exporter} is not an active exporter of a location with NetFlow "
                                           "enabled: register it in Opcare first")

        def progress(summary) -> None:  # noqa: ANN001
            click.echo(f"\r{summary.packets} packets, {summary.flows} flows, "
                       f"{summary.flows_per_second:,.0f} flows/s", nl=False, err=True)

        try:
            summary = replay(pipeline, files, exporter=exporter, progress=None if quiet else progress)
        except ReplayError as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        pipeline.writer.close()
    if not quiet:
        click.echo("", err=True)
    click.echo(f"{summary.files} files, {summary.packets} packets, {summary.flows} flows stored "
               f"in {summary.seconds:.1f} s ({summary.flows_per_second:,.0f} flows/s); "
               f"malformed {summary.malformed}, from unknown exporters {summary.unknown}, "
               f"data without template dropped {summary.missing_template}, still waiting {summary.held}, "
               f"not UDP {summary.skipped}")

COMMANDS: list[click.Command] = [collect, replay_command]
