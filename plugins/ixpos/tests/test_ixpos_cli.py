"""``mango ixpos simulator`` and ``python -m mango_ixpos.simulator`` start the terminal simulator; the
``ixpos:reconcile`` job settles lost answers; the demo adds a register once; the simulator answers a
damaged frame with NAK and garbage never breaks the frame reader."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mango_core.cli import main
from mango_core.scheduler.jobs import JobContext
from mango_ixpos.cashdesk import service
from mango_ixpos.cashdesk.hooks import RECONCILE_JOB, mango_demo
from mango_ixpos.cashdesk.models import CashRegister
from mango_ixpos.cashdesk.service import PaymentRequest
from mango_ixpos.terminal.protocol import ACK, NAK, FrameReader, Message, ProtocolError, encode
from mango_ixpos.terminal.tcp import TcpTerminal


def test_cli_group_offers_the_simulator(app):
    result = app.test_cli_runner().invoke(main, ["ixpos", "simulator", "--help"])
    assert result.exit_code == 0 and "--fault" in result.output and "duplicate-response" in result.output


def test_mango_ixpos_simulator_runs_as_a_process(tmp_path):
    (tmp_path / "mango.toml").write_text('plugins = ["billing", "ixpos"]\n')
    env = {**os.environ, "MANGO_INSTANCE_PATH": str(tmp_path)}
    mango = os.path.join(os.path.dirname(sys.executable), "mango")
    process = subprocess.Popen([mango, "ixpos", "simulator", "--port", "0"], stdout=subprocess.PIPE, text=True,
                               env=env)
    try:
        line = process.stdout.readline()
        assert line.startswith("READY ")
        driver = TcpTerminal("127.0.0.1", int(line.split()[1]))
        assert driver.sale("cli-1", Decimal("1.00"), "CZK").approved
        driver.close()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=5)
        process.stdout.close()


def test_simulator_answers_a_damaged_frame_with_nak(simulator):
    sim = simulator()
    frame = encode(Message("STATUS"))
    with socket.create_connection(("127.0.0.1", sim.port), timeout=2) as sock:
        sock.sendall(frame[:-1] + bytes([frame[-1] ^ 0x55]))
        assert sock.recv(1) == NAK
        sock.sendall(frame)
        assert sock.recv(1) == ACK


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_frame_reader_takes_any_garbage(data):
    reader = FrameReader()
    reader.feed(data)
    for _ in range(400):
        try:
            item = reader.next()
        except ProtocolError:
            continue
        if item is None:
            break
        assert item in (ACK, NAK) or isinstance(item, Message)


def test_reconcile_job(db, in_a, make_customer, simulator):
    sim = simulator("--fault", "timeout-after-approval")
    reg = service.create_register(db, name="Job", terminal_host="127.0.0.1", terminal_port=str(sim.port))
    cash_session = service.open_session(db, register_id=reg.id, opening_float="0")
    customer, _ = make_customer()
    payment = service.start_card(db, cash_session, PaymentRequest(customer.id, "99", txn_id=service.new_txn_id()))
    db.commit()
    fast = {"terminal_connect_timeout": 2, "terminal_ack_timeout": 2, "terminal_result_timeout": 0.5,
            "terminal_status_timeout": 2}
    service.charge_card(db, payment, TcpTerminal("127.0.0.1", sim.port, result_timeout=0.5))
    assert payment.state == "unknown"
    ctx = JobContext(session=db, location_id=in_a.id, job_id=RECONCILE_JOB.id, settings=fast)
    assert RECONCILE_JOB.func(ctx) == "approved 1, declined 0, unknown 0"
    assert RECONCILE_JOB.func(ctx) == "approved 0, declined 0, unknown 0"
    assert payment.state == "approved" and payment.billing_payment_id is not None


def test_demo_adds_one_register_per_location(db, world, mango):
    for _ in range(2):
        mango_demo(session=db, mango=mango, locations=[world.loc_a])
    from mango_core.tenancy import location_scope

    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(CashRegister)) == 1
