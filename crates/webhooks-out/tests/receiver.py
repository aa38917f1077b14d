"""A webhook receiver for the webhooks-out tests.

Verifies every POST with the real `standardwebhooks` package and checks the body against the
field list of the webhook contract. Paths choose the behaviour:

  /verify  204 when the signature and the shape are right, 401 for a bad signature or a
           replayed (too old) timestamp, 422 for a wrong shape
  /fail    500
  /slow    sleeps SLOW seconds (argv[2]), then 200
  /drop    closes the connection without answering

Usage: receiver.py WHSEC_SECRET SLOW_SECONDS. Prints the port it listens on, then serves.
"""

import json
import re
import socket
import sys
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = sys.argv[1]
SLOW = float(sys.argv[2])

TOP = {"event_type", "event", "invitee", "questions_and_answers", "questions_and_responses", "tracking", "hookType"}
EVENT_TYPE = {"uuid", "kind", "slug", "name", "duration", "durationUnit", "owner", "type"}
EVENT = {
    "uuid", "assigned_to", "extended_assigned_to", "utc_start_time", "utc_end_time", "start_time",
    "start_time_pretty", "invitee_start_time", "invitee_start_time_pretty", "end_time", "end_time_pretty",
    "invitee_end_time", "invitee_end_time_pretty", "created_at", "type", "location", "old_start_time",
    "canceled", "canceler_name", "cancel_reason", "canceled_at", "setter",
}
INVITEE = {
    "previewUrl", "uuid", "first_name", "last_name", "name", "email", "text_reminder_number", "timezone",
    "created_at", "is_reschedule", "reschedule_reason", "canceled", "canceler_name", "cancel_reason", "canceled_at",
    "reconfirmation",
}
RECONFIRMATION = {"requested_at", "deadline", "reconfirmed_at"}
TRACKING = {f"{p}utm_{k}" for p in ("", "first_") for k in ("term", "source", "medium", "content", "campaign")} | {
    f"utm{kv}_{i}" for kv in ("Key", "Value") for i in range(5)
}
PRETTY = re.compile(r"^(0[1-9]|1[0-2]):[0-5]\d[ap]m - [A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, \d{4}$")
HOOK_TYPES = {"Call booked", "Call rescheduled", "Call cancelled"}


def shape_problems(body):
    problems = []

    def keys(where, obj, expected):
        if not isinstance(obj, dict):
            problems.append(f"{where} is not an object")
            return
        if set(obj) != expected:
            problems.append(f"{where}: missing {sorted(expected - set(obj))}, extra {sorted(set(obj) - expected)}")

    if not isinstance(body, list) or len(body) != 1:
        return ["the body is not an array of one object"]
    doc = body[0]
    keys("top", doc, TOP)
    keys("event_type", doc.get("event_type"), EVENT_TYPE)
    keys("event", doc.get("event"), EVENT)
    keys("invitee", doc.get("invitee"), INVITEE)
    keys("tracking", doc.get("tracking"), TRACKING)
    if problems:
        return problems
    et, ev, inv = doc["event_type"], doc["event"], doc["invitee"]
    keys("event_type.owner", et["owner"], {"type"})
    keys("event.setter", ev["setter"], {"firstName", "lastName", "email"})
    keys("event.extended_assigned_to.1", ev["extended_assigned_to"].get("1"), {"name", "email", "primary"})
    if not (isinstance(et["duration"], str) and et["duration"].isdigit()) or et["durationUnit"] != "MINUTES":
        problems.append("duration must be a string of minutes")
    for field in ("utc_start_time", "utc_end_time", "start_time", "end_time", "invitee_start_time", "invitee_end_time", "created_at"):
        try:
            if datetime.fromisoformat(ev[field]).utcoffset() is None:
                problems.append(f"event.{field} has no offset")
        except (TypeError, ValueError):
            problems.append(f"event.{field} is not RFC 3339: {ev[field]!r}")
    for field in ("start_time_pretty", "end_time_pretty", "invitee_start_time_pretty", "invitee_end_time_pretty"):
        if not PRETTY.match(ev[field] or ""):
            problems.append(f"event.{field} is not like '06:00pm - Wednesday, February 15, 2023': {ev[field]!r}")
    for obj, name in ((ev, "event"), (inv, "invitee")):
        if not isinstance(obj["canceled"], bool):
            problems.append(f"{name}.canceled is not a boolean")
    if not isinstance(inv["is_reschedule"], bool):
        problems.append("invitee.is_reschedule is not a boolean")
    if inv["reconfirmation"] is not None:
        keys("invitee.reconfirmation", inv["reconfirmation"], RECONFIRMATION)
        for field, value in (inv["reconfirmation"] or {}).items():
            try:
                if value is not None and datetime.fromisoformat(value).utcoffset() is None:
                    problems.append(f"invitee.reconfirmation.{field} has no offset")
            except (TypeError, ValueError):
                problems.append(f"invitee.reconfirmation.{field} is not RFC 3339: {value!r}")
    if doc["hookType"] not in HOOK_TYPES:
        problems.append(f"hookType {doc['hookType']!r}")
    if doc["hookType"] == "Call rescheduled" and ev["old_start_time"] is None:
        problems.append("a reschedule without old_start_time")
    if doc["hookType"] == "Call cancelled" and not ev["canceled"]:
        problems.append("a cancellation that is not canceled")
    qa = doc["questions_and_answers"]
    if not isinstance(qa, list) or any(set(x) != {"question", "answer"} for x in qa):
        problems.append("questions_and_answers is not a list of {question, answer}")
    if not isinstance(doc["questions_and_responses"], dict):
        problems.append("questions_and_responses is not an object")
    return problems


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, text=""):
        data = text.encode()
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/fail":
            return self.answer(500, "broken on purpose")
        if self.path == "/slow":
            time.sleep(SLOW)
            return self.answer(200, "late")
        if self.path == "/drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            Webhook(SECRET).verify(body, headers)
        except WebhookVerificationError as error:
            print(f"receiver: rejected {headers.get('webhook-id')}: {error}", file=sys.stderr, flush=True)
            return self.answer(401, str(error))
        if headers.get("content-type") != "application/json":
            return self.answer(415, "content-type")
        problems = shape_problems(json.loads(body))
        if problems:
            print(f"receiver: shape problems: {problems}", file=sys.stderr, flush=True)
            return self.answer(422, "; ".join(problems))
        return self.answer(204)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
