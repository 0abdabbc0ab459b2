"""E-mail of Mango: a durable, per-location outbox sent by the job ``core:send_mail``.

Modules queue messages with :func:`mango_core.mail.service.queue` in their own transaction (so a
message exists exactly when the work that caused it was committed); the job sends due messages
over SMTP, retries temporary failures with backoff and marks permanent ones ``failed`` with the
server's answer. Staff see the outbox on the page ``/mail``.
"""
