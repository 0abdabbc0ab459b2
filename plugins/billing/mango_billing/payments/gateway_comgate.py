"""The ComGate driver (https://apidoc.comgate.cz, HTTP POST protocol 1.0).

``POST <api>/create`` and ``POST <api>/status`` take ``application/x-www-form-urlencoded`` fields and
answer in the same encoding. Every request carries ``merchant`` (the shop connection's id) and
``secret`` (its password); ``price`` is in minor units (haléře). A background-created payment
(``prepareOnly=true``) answers ``code=0&message=OK&transId=…&redirect=…``; a status answers ``code``,
``message``, ``merchant``, ``test``, ``price``, ``curr``, ``label``, ``refId``, ``method``, ``email``,
``transId`` and ``status`` (``PENDING``, ``PAID``, ``CANCELLED``, ``AUTHORIZED``). ``code`` other than
``0`` is an error (``message`` says which). The push notification (ComGate → the shop) posts the same
fields as a status answer, including ``secret``; the shop answers HTTP 200 ``code=0&message=OK``.

The return URLs (paid / cancelled / pending) are not API parameters in protocol 1.0: they are set
in ComGate's client portal with the placeholders ``${id}`` (transId) and ``${refId}``.
"""

from __future__ import annotations

import http.client
import logging
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal

from mango_billing.payments.gateway import (
    GATEWAY_STATES,
    Created,
    GatewayError,
    GatewayRefused,
    GatewayUnavailable,
    OutcomeUnknown,
    PaymentRequest,
    Status,
    from_minor,
    minor_units,
)

log = logging.getLogger(__name__)

API_URL = "https://payments.comgate.cz/v1.0/"
MAX_BODY = 64 * 1024
LABEL_MAX = 16  # ComGate: "label" is 1-16 characters
DEFAULT_METHOD = "ALL"  # the payer chooses on the gateway's page; a merchant may allow cards only


def parse_answer(body: bytes) -> dict[str, str]:
    """The gateway's url-encoded answer; anything else is :class:`GatewayError`."""
    try:
        text = body.decode("utf-8")
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError):
        raise GatewayError("the gateway's answer is not url-encoded text") from None
    answer = dict(pairs)
    if "code" not in answer:
        raise GatewayError("the gateway's answer has no code")
    return answer


def label_of(text: str) -> str:
    """ComGate's label: 1-16 characters."""
    cleaned = " ".join(str(text).split())[:LABEL_MAX]
    return cleaned or "Platba"


class ComGateDriver:
    """A :class:`~mango_billing.payments.gateway.GatewayDriver` for ComGate (or its simulator)."""

    name = "comgate"

    def __init__(self, merchant: str, secret: str, *, test: bool = True, api_url: str | None = None,
                 method: str = DEFAULT_METHOD, country: str = "CZ", timeout: float = 15.0) -> None:
        if not merchant or not secret:
            raise GatewayError("the gateway needs a merchant id and a secret")
        self.merchant, self._secret, self.test = merchant, secret, test
        self.api_url = (api_url or API_URL).rstrip("/") + "/"
        self.method, self.country, self.timeout = method or DEFAULT_METHOD, country, timeout

    def _post(self, operation: str, fields: dict[str, str]) -> dict[str, str]:
        url = self.api_url + operation
        data = urllib.parse.urlencode({"merchant": self.merchant, **fields, "secret": self._secret}).encode()
        request = urllib.request.Request(url, data=data, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/x-www-form-urlencoded",
            "User-Agent": "Mango billing (mango_billing.payments)"})
        error: GatewayError | None = None
        body = b""
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                body = response.read(MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
            # the gateway answered: a 5xx may have done the work half-way, a 4xx did nothing
            error = (OutcomeUnknown if status >= 500 else GatewayRefused)(
                *((f"HTTP {status}",) if status >= 500 else (str(status), "HTTP error")))
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                error = OutcomeUnknown(f"no answer from the gateway at {self.api_url} in {self.timeout:g} s")
            else:
                # refused, unknown host, TLS failure before the request: nothing was sent
                error = GatewayUnavailable(f"cannot reach the gateway at {self.api_url}: {reason}")
        except TimeoutError:
            error = OutcomeUnknown(f"no answer from the gateway at {self.api_url} in {self.timeout:g} s")
        except (http.client.HTTPException, OSError) as exc:
            error = OutcomeUnknown(f"the connection to the gateway broke: {type(exc).__name__}")
        # raised outside the except blocks: the request (it holds the secret) is never chained
        if error is not None:
            log.warning("gateway %s %s failed: %s", self.name, operation, error)
            raise error
        if len(body) > MAX_BODY:
            raise OutcomeUnknown("the gateway's answer is too large")
        answer = parse_answer(body)
        if answer["code"] != "0":
            raise GatewayRefused(answer["code"], answer.get("message", "")[:200])
        return answer

    def create(self, request: PaymentRequest) -> Created:
        answer = self._post("create", {
            "test": "true" if self.test else "false", "price": str(minor_units(request.amount)),
            "curr": request.currency, "label": label_of(request.label), "refId": request.reference,
            "method": self.method, "email": request.email, "country": self.country, "lang": request.lang,
            "prepareOnly": "true"})
        trans_id, redirect = answer.get("transId", ""), answer.get("redirect", "")
        if not trans_id or not redirect.startswith(("https://", "http://")):
            raise OutcomeUnknown("the gateway's answer has no transaction id or redirect URL")
        return Created(trans_id, redirect)

    def status(self, trans_id: str) -> Status:
        answer = self._post("status", {"transId": trans_id})
        state = answer.get("status", "")
        if state not in GATEWAY_STATES:
            raise GatewayError(f"the gateway reports an unknown state {state[:20]!r}")
        try:
            amount: Decimal = from_minor(answer.get("price", ""))
        except ValueError:
            raise GatewayError("the gateway's status has no valid price") from None
        return Status(trans_id=answer.get("transId", ""), state=state, amount=amount, currency=answer.get("curr", ""),
                      reference=answer.get("refId", ""), test=answer.get("test") == "true",
                      method=answer.get("method", "")[:40])
