"""A payment-gateway simulator speaking ComGate's HTTP protocol 1.0, for tests and the demo.

Run ``python -m mango_billing.payments.gateway_sim --port 0 --merchant M --secret S --return-url URL
--notify-url URL``; it prints ``READY <port>`` once it listens. The API is the one
:mod:`~mango_billing.payments.gateway_comgate` speaks (``POST /v1.0/create``, ``POST /v1.0/status``,
url-encoded, ``merchant`` + ``secret`` checked); the payer's page is ``/client/instructions/index?id=…``
with the buttons *Zaplatit* (approve), *Zamítnout kartu* (decline) and *Zpět do obchodu* (cancel),
after which the payer is sent to the return URL (``${id}`` and ``${refId}`` replaced, as ComGate's
portal setting does) and the push notification is POSTed to the notify URL.

Notifications (``--notify``): ``immediate`` — sent before the payer is redirected (the notification
arrives first); ``manual`` — held until ``POST /_sim/deliver`` (the payer returns first); ``never``.
``--duplicates N`` sends each one N times. Faults for the first ``--fault-times`` calls:
``create-timeout`` (the transaction is created, the answer comes after ``--hang`` seconds),
``status-timeout`` (the status answer comes after ``--hang`` seconds), ``status-error`` (HTTP 500),
``price-change`` (the status reports 1.00 more than was created). ``GET /_sim/transactions`` lists the
transactions as JSON; ``POST /_sim/pay?id=…&action=approve|decline|cancel`` is what the payer's buttons
do, without following the redirect; ``POST /_sim/config`` changes ``return_url``, ``notify_url`` and
``notify`` of a running simulator. Only the standard library is imported, so it starts fast.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("create-timeout", "status-timeout", "status-error", "price-change")
NOTIFY_MODES = ("immediate", "manual", "never")
ACTIONS = {"approve": "PAID", "decline": "CANCELLED", "cancel": "CANCELLED"}


@dataclass
class Gateway:
    """The simulated gateway's memory: transactions by id, held notifications, what it delivered."""

    merchant: str
    secret: str
    return_url: str = ""
    notify_url: str = ""
    notify: str = "immediate"
    duplicates: int = 1
    fault: str | None = None
    fault_times: int = 1
    hang: float = 5.0
    transactions: dict[str, dict[str, str]] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    deliveries: list[dict[str, object]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def take_fault(self, *names: str) -> str | None:
        with self.lock:
            if self.fault in names and self.fault_times > 0:
                self.fault_times -= 1
                return self.fault
        return None

    def new_trans_id(self) -> str:
        n = next(self.numbers)
        return f"SIM{n:01d}-{(n * 7919) % 10000:04d}-{(n * 104729) % 10000:04d}"

    def fill(self, template: str, record: dict[str, str]) -> str:
        return (template.replace("${id}", urllib.parse.quote(record["transId"]))
                .replace("${refId}", urllib.parse.quote(record["refId"])))

    def notification(self, record: dict[str, str]) -> dict[str, str]:
        return {k: record[k] for k in ("merchant", "test", "price", "curr", "label", "refId", "method", "email",
                                       "transId", "status")} | {"secret": self.secret, "fee": "unknown"}

    def deliver(self, trans_id: str) -> list[int]:
        """POST the notification of a transaction ``duplicates`` times; the HTTP statuses (0: no answer)."""
        record = self.transactions[trans_id]
        statuses = []
        body = urllib.parse.urlencode(self.notification(record)).encode()
        for _ in range(max(1, self.duplicates)):
            request = urllib.request.Request(self.fill(self.notify_url, record), data=body, method="POST",
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the configured URL
                    statuses.append(response.status)
                    response.read()
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
                exc.close()
            except (urllib.error.URLError, OSError):
                statuses.append(0)
        self.deliveries.append({"transId": trans_id, "status": record["status"], "answers": statuses})
        return statuses

    def decide(self, trans_id: str, action: str) -> dict[str, str] | None:
        """The payer's choice on the payment page; a decided transaction stays as it was."""
        with self.lock:
            record = self.transactions.get(trans_id)
            if record is None:
                return None
            if record["status"] == "PENDING":
                record["status"] = ACTIONS[action]
                record["method"] = "CARD_CZ_CSOB_2" if action == "approve" else record["method"]
                decided = True
            else:
                decided = False
        if decided and self.notify_url:
            if self.notify == "immediate":
                self.deliver(trans_id)
            elif self.notify == "manual":
                with self.lock:
                    self.held.append(trans_id)
        return record


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return  # quiet: the tests read the answers, not a log

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        return dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))

    def _send(self, status: int, body: str, content_type: str = "application/x-www-form-urlencoded; charset=UTF-8",
              headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, fields: dict[str, str]) -> None:
        self._send(200, urllib.parse.urlencode(fields))

    def _authorised(self, form: dict[str, str]) -> bool:
        gw = self.server.gateway
        if form.get("merchant") != gw.merchant or form.get("secret") != gw.secret:
            self._answer({"code": "1401", "message": "Unauthorized access!"})
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        gw = self.server.gateway
        if url.path == "/client/instructions/index":
            record = gw.transactions.get(query.get("id", ""))
            if record is None:
                self._send(404, "unknown payment", "text/plain; charset=UTF-8")
                return
            self._send(200, payment_page(record), "text/html; charset=UTF-8")
        elif url.path == "/_sim/transactions":
            with gw.lock:
                data = {"transactions": list(gw.transactions.values()), "held": list(gw.held),
                        "deliveries": list(gw.deliveries)}
            self._send(200, json.dumps(data), "application/json")
        else:
            self._send(404, "not found", "text/plain; charset=UTF-8")

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        url = urllib.parse.urlsplit(self.path)
        form = self._form()
        query = dict(urllib.parse.parse_qsl(url.query))
        gw = self.server.gateway
        if url.path == "/v1.0/create":
            self.create(form)
        elif url.path == "/v1.0/status":
            self.status(form)
        elif url.path == "/client/pay":
            record = gw.decide(form.get("id", ""), form.get("action", ""))
            if record is None or form.get("action") not in ACTIONS:
                self._send(404, "unknown payment", "text/plain; charset=UTF-8")
                return
            target = gw.fill(gw.return_url, record) if gw.return_url else "/"
            self._send(302, "", "text/plain", {"Location": target})
        elif url.path == "/_sim/pay":
            if query.get("action") not in ACTIONS:
                self._send(400, "action: approve, decline or cancel", "text/plain")
                return
            record = gw.decide(query.get("id", ""), query["action"])
            if record is None:
                self._send(404, "unknown payment", "text/plain")
                return
            self._send(200, json.dumps({"return_url": gw.fill(gw.return_url, record), **record}), "application/json")
        elif url.path == "/_sim/config":
            with gw.lock:
                gw.return_url = form.get("return_url", gw.return_url)
                gw.notify_url = form.get("notify_url", gw.notify_url)
                gw.notify = form.get("notify", gw.notify) if form.get("notify") in NOTIFY_MODES else gw.notify
            self._send(200, json.dumps({"return_url": gw.return_url, "notify_url": gw.notify_url}), "application/json")
        elif url.path == "/_sim/deliver":
            with gw.lock:
                held, gw.held = [t for t in gw.held if t == query.get("id", t)], [
                    t for t in gw.held if t != query.get("id", t)]
            answers = {t: gw.deliver(t) for t in held}
            self._send(200, json.dumps(answers), "application/json")
        else:
            self._send(404, "not found", "text/plain; charset=UTF-8")

    def create(self, form: dict[str, str]) -> None:
        gw = self.server.gateway
        if not self._authorised(form):
            return
        price, label = form.get("price", ""), form.get("label", "")
        if not price.isdigit() or int(price) <= 0 or not 1 <= len(label) <= 16 or not form.get("refId") \
                or len(form.get("curr", "")) != 3 or form.get("prepareOnly") != "true":
            self._answer({"code": "1400", "message": "Wrong query"})
            return
        fault = gw.take_fault("create-timeout")
        trans_id = gw.new_trans_id()
        record = {"transId": trans_id, "merchant": gw.merchant, "test": form.get("test", "false"), "price": price,
                  "curr": form["curr"], "label": label, "refId": form["refId"], "method": form.get("method", "ALL"),
                  "email": form.get("email", ""), "status": "PENDING"}
        with gw.lock:
            gw.transactions[trans_id] = record
        if fault:
            time.sleep(gw.hang)
        host, port = self.server.server_address[:2]
        redirect = f"http://{host}:{port}/client/instructions/index?id={urllib.parse.quote(trans_id)}"
        self._answer({"code": "0", "message": "OK", "transId": trans_id, "redirect": redirect})

    def status(self, form: dict[str, str]) -> None:
        gw = self.server.gateway
        if not self._authorised(form):
            return
        record = gw.transactions.get(form.get("transId", ""))
        if record is None:
            self._answer({"code": "1400", "message": "Payment not found"})
            return
        fault = gw.take_fault("status-timeout", "status-error", "price-change")
        if fault == "status-timeout":
            time.sleep(gw.hang)
        if fault == "status-error":
            self._send(500, "Internal Server Error", "text/plain")
            return
        answer = {"code": "0", "message": "OK", **record, "secret": gw.secret, "fee": "unknown", "name": "",
                  "payerName": "", "vs": ""}
        if fault == "price-change":
            answer["price"] = str(int(record["price"]) + 100)
        self._answer(answer)


def payment_page(record: dict[str, str]) -> str:
    amount = f"{int(record['price']) / 100:,.2f}".replace(",", " ").replace(".", ",")
    trans_id = html.escape(record["transId"])
    buttons = "".join(
        f'<button type="submit" name="action" value="{action}" id="sim-{action}">{text}</button> '
        for action, text in (("approve", "Zaplatit"), ("decline", "Zamítnout kartu"), ("cancel", "Zpět do obchodu")))
    decided = "" if record["status"] == "PENDING" else f'<p id="sim-state">{html.escape(record["status"])}</p>'
    return (f'<!doctype html><html lang="cs"><head><meta charset="utf-8"><title>Simulátor platební brány</title>'
            f'</head><body><h1>Simulátor platební brány</h1><p id="sim-label">{html.escape(record["label"])}</p>'
            f'<p id="sim-amount">{amount} {html.escape(record["curr"])}</p>{decided}'
            f'<form method="post" action="/client/pay"><input type="hidden" name="id" value="{trans_id}">'
            f'{buttons}</form></body></html>')


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        super().__init__(address, Handler)
        self.gateway = gateway


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mango_billing.payments.gateway_sim",
                                description="payment gateway simulator (ComGate protocol 1.0)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9200, help="0: any free port (printed as READY <port>)")
    p.add_argument("--merchant", default="123456")
    p.add_argument("--secret", default="simulator-secret")
    p.add_argument("--return-url", default="", help="where the payer goes back; ${id} and ${refId} are replaced")
    p.add_argument("--notify-url", default="", help="where notifications are POSTed; ${id}, ${refId} replaced")
    p.add_argument("--notify", choices=NOTIFY_MODES, default="immediate")
    p.add_argument("--duplicates", type=int, default=1, help="send each notification this many times")
    p.add_argument("--fault", choices=FAULTS)
    p.add_argument("--fault-times", type=int, default=1)
    p.add_argument("--hang", type=float, default=5.0, help="seconds a time-out fault waits before answering")
    return p


def main(argv: list[str] | None = None, out=sys.stdout) -> None:  # noqa: ANN001
    args = parser().parse_args(argv)
    gateway = Gateway(merchant=args.merchant, secret=args.secret, return_url=args.return_url,
                      notify_url=args.notify_url, notify=args.notify, duplicates=args.duplicates, fault=args.fault,
                      fault_times=args.fault_times, hang=args.hang)
    server = Server((args.host, args.port), gateway)
    print(f"READY {server.server_address[1]}", file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=out, flush=True)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
