"""A card-terminal simulator speaking the iXpos ECR protocol, for tests and the demo.

Run ``python -m mango_ixpos.simulator --port 0`` (or ``mango ixpos simulator``): it prints
``READY <port>`` once it listens. Every card is approved, except with ``--fault decline``; other
faults break the first ``--fault-times`` sales the way real terminals and networks do:

* ``timeout-after-approval`` — charge the card, never answer;
* ``disconnect-mid-transaction`` — charge the card, then drop the connection without answering;
* ``disconnect-before-approval`` — drop the connection before charging anything;
* ``decline`` — answer DECLINED;
* ``duplicate-response`` — answer twice.

Like a real terminal, it remembers every transaction id: a request with a known id gets the stored
answer and charges nothing. Only the standard library is imported, so it starts fast.
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import sys
import threading
from dataclasses import dataclass, field

from mango_ixpos.terminal.protocol import (
    ACK,
    APPROVED,
    DECLINED,
    NAK,
    NONE,
    TXN_RE,
    FrameReader,
    Message,
    ProtocolError,
    encode,
    minor_units,
)

FAULTS = ("timeout-after-approval", "disconnect-mid-transaction", "disconnect-before-approval", "decline",
          "duplicate-response")


@dataclass
class Terminal:
    """The simulated terminal's memory: its transactions by id and the order they came in."""

    fault: str | None = None
    fault_times: int = 1
    delay: float = 0.0
    terminal_id: str = "SIM00001"
    transactions: dict[str, dict[str, str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    busy: int = 0

    def take_fault(self) -> str | None:
        """The fault for this sale, if any is left."""
        if self.fault and (self.fault == "decline" or self.fault_times > 0):
            self.fault_times -= 1
            return self.fault
        return None

    def approved_count(self) -> int:
        return sum(1 for t in self.transactions.values() if t["ST"] == APPROVED)

    def process(self, request: Message, fault: str | None) -> dict[str, str]:
        """Book the transaction (once per id) and return its record."""
        txn = request.get("TXN") or ""
        if not TXN_RE.match(txn):
            raise ProtocolError("bad TXN")
        known = self.transactions.get(txn)
        if known is not None:
            return known
        if request.kind == "VOID":
            original = self.transactions.get(request.get("REF") or "")
            if original is None or original["ST"] != APPROVED or original.get("VOIDED"):
                record = {"TXN": txn, "OP": "VOID", "ST": DECLINED, "AMT": "0", "MSG": "nothing to void"}
            else:
                original["VOIDED"] = txn
                record = {"TXN": txn, "OP": "VOID", "ST": APPROVED, "AMT": original["AMT"],
                          "AUTH": f"V{len(self.order) + 1:05d}", "REF": original["TXN"]}
        else:
            amount = str(minor_units(request.get("AMT")))
            if int(amount) == 0:
                raise ProtocolError("zero amount")
            declined = fault == "decline"
            record = {"TXN": txn, "OP": request.kind, "ST": DECLINED if declined else APPROVED, "AMT": amount,
                      "CARD": "************4242"}
            if declined:
                record["MSG"] = "card declined"
            else:
                record["AUTH"] = f"A{len(self.order) + 1:05d}"
            if request.kind == "REFUND":
                record["REF"] = request.get("REF") or ""
        self.transactions[txn] = record
        self.order.append(txn)
        return record


class Handler(socketserver.BaseRequestHandler):
    server: Server

    def send(self, message: Message) -> None:
        self.request.sendall(encode(message))

    def handle(self) -> None:
        terminal = self.server.terminal
        reader = FrameReader()
        while True:
            try:
                data = self.request.recv(4096)
            except OSError:
                return
            if not data:
                return
            reader.feed(data)
            while True:
                try:
                    item = reader.next()
                except ProtocolError:
                    self.request.sendall(NAK)
                    continue
                if item is None:
                    break
                if isinstance(item, Message) and not self.answer(terminal, item):
                    return

    def answer(self, terminal: Terminal, request: Message) -> bool:
        """Answer one request; False ends the connection."""
        self.request.sendall(ACK)
        try:
            if request.kind in ("SALE", "REFUND", "VOID"):
                with terminal.lock:
                    fault = terminal.take_fault() if request.kind == "SALE" else None
                    if fault == "disconnect-before-approval":
                        return False
                    terminal.busy += 1
                    try:
                        record = terminal.process(request, fault)
                    finally:
                        terminal.busy -= 1
                if terminal.delay:
                    threading.Event().wait(terminal.delay)
                if fault == "disconnect-mid-transaction":
                    self.request.shutdown(socket.SHUT_RDWR)
                    return False
                if fault == "timeout-after-approval":
                    return True  # approved and stored, the answer never comes
                self.send(Message("RESULT", record))
                if fault == "duplicate-response":
                    self.send(Message("RESULT", record))
            elif request.kind == "STATUS":
                with terminal.lock:
                    self.send(Message("STATUS", {"ST": "BUSY" if terminal.busy else "IDLE", "TID": terminal.terminal_id,
                                                 "N": str(terminal.approved_count())}))
            elif request.kind == "LAST":
                with terminal.lock:
                    wanted = request.get("TXN") or (terminal.order[-1] if terminal.order else "")
                    record = terminal.transactions.get(wanted)
                self.send(Message("LAST", record if record else {"ST": NONE}))
            else:
                self.send(Message("ERROR", {"MSG": f"unknown request {request.kind}"}))
        except ProtocolError as exc:
            self.send(Message("ERROR", {"MSG": str(exc)}))
        return True


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], terminal: Terminal):
        super().__init__(address, Handler)
        self.terminal = terminal


def serve(host: str, port: int, fault: str | None = None, fault_times: int = 1, delay: float = 0.0,
          out=sys.stdout) -> None:  # noqa: ANN001
    server = Server((host, port), Terminal(fault=fault, fault_times=fault_times, delay=delay))
    print(f"READY {server.server_address[1]}", file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=out, flush=True)
    finally:
        server.server_close()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mango_ixpos.simulator", description="iXpos card-terminal simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9100, help="0: any free port (printed as READY <port>)")
    p.add_argument("--fault", choices=FAULTS)
    p.add_argument("--fault-times", type=int, default=1, help="how many sales the fault breaks (not decline)")
    p.add_argument("--delay", type=float, default=0.0, help="seconds before answering a sale")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    serve(args.host, args.port, args.fault, args.fault_times, args.delay)


if __name__ == "__main__":
    main()
