"""halab/core: the lab's Harbor core, just enough of it for the failover engine.

GET /api/v2.0/ping   -> "Pong"
POST /api/v2.0/projects {"project_name": "..."} -> 201 once the row is committed in PostgreSQL
                        (409 when it exists); GET /api/v2.0/projects -> every project, Harbor's
                        shape ([{"project_id", "name", "creation_time"}]), no paging, no auth.
GET /api/v2.0/health -> Harbor's body shape, computed from the real state of PostgreSQL (a
                        query), Redis (PING) and the registry (GET /v2/); HTTP 200 also when
                        unhealthy, like Harbor.
Configuration comes from the environment (prepare writes common/config/core/env).
"""

import json
import os
import signal
import socket
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

ENV = os.environ
LISTEN = ENV.get("CORE_LISTEN", "127.0.0.1")
PORT = int(ENV.get("CORE_PORT", "8090"))
TIMEOUT = float(ENV.get("CHECK_TIMEOUT_SECONDS", "1"))
REGISTRY_URL = ENV.get("REGISTRY_URL", "http://127.0.0.1:5000")
REDIS_HOST = ENV.get("REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(ENV.get("REDIS_PORT", "6379"))
POOL = ThreadPoolExecutor(max_workers=8)


def connect():
    return psycopg2.connect(
        host=ENV.get("POSTGRESQL_HOST", "127.0.0.1"),
        port=int(ENV.get("POSTGRESQL_PORT", "5432")),
        user=ENV.get("POSTGRESQL_USERNAME", "postgres"),
        password=ENV.get("POSTGRESQL_PASSWORD", ""),
        dbname=ENV.get("POSTGRESQL_DATABASE", "registry"),
        connect_timeout=max(1, int(TIMEOUT)),
    )


def check_database():
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    finally:
        conn.close()


def check_redis():
    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=TIMEOUT) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        reply = s.recv(64)
    if not reply.startswith(b"+PONG"):
        raise RuntimeError("unexpected reply to PING: %r" % reply[:40])


def check_registry():
    try:
        with urllib.request.urlopen(REGISTRY_URL + "/v2/", timeout=TIMEOUT) as res:
            code = res.status
    except urllib.error.HTTPError as e:
        code = e.code
    if code not in (200, 401):
        raise RuntimeError("unexpected status code: %d" % code)


PROJECT_TABLE = """CREATE TABLE IF NOT EXISTS project (
    project_id serial PRIMARY KEY,
    name varchar(255) UNIQUE NOT NULL,
    creation_time timestamp NOT NULL DEFAULT now())"""


def create_project(name):
    """True when made, False when it existed. Returns only after COMMIT (synchronous_commit on)."""
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute(PROJECT_TABLE)
            cur.execute("INSERT INTO project (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (name,))
            made = cur.rowcount == 1
        conn.commit()
        return made
    finally:
        conn.close()


def list_projects():
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute(PROJECT_TABLE)
            cur.execute("SELECT project_id, name, creation_time FROM project ORDER BY project_id")
            rows = cur.fetchall()
        conn.commit()
        return [{"project_id": i, "name": n, "creation_time": t.isoformat() + "Z"} for i, n, t in rows]
    finally:
        conn.close()


def error(code, message):
    return json.dumps({"errors": [{"code": code, "message": message}]})


CHECKS = [("database", check_database), ("redis", check_redis), ("registry", check_registry)]


def run_check(fn):
    try:
        fn()
        return {"status": "healthy"}
    except Exception as e:  # every failure is the component's error, as in Harbor
        text = str(e).strip().splitlines()
        return {"status": "unhealthy", "error": "failed to check health: %s" % (text[0] if text else type(e).__name__)}


def health():
    futures = [(name, POOL.submit(run_check, fn)) for name, fn in CHECKS]
    components = [{"name": "core", "status": "healthy"}]
    for name, fut in futures:
        try:
            components.append({"name": name, **fut.result(timeout=TIMEOUT + 1)})
        except Exception:
            components.append({"name": name, "status": "unhealthy", "error": "failed to check health: timeout"})
    status = "healthy" if all(c["status"] == "healthy" for c in components) else "unhealthy"
    return {"status": status, "components": components}


class Handler(BaseHTTPRequestHandler):
    server_version = "halab-core"
    protocol_version = "HTTP/1.1"

    def send(self, code, body, ctype):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/api/v2.0/ping":
            self.send(200, "Pong", "text/plain; charset=utf-8")
        elif path == "/api/v2.0/health":
            self.send(200, json.dumps(health()), "application/json")
        elif path == "/api/v2.0/projects":
            try:
                self.send(200, json.dumps(list_projects()), "application/json")
            except Exception as e:
                self.send(500, error("INTERNAL_SERVER_ERROR", str(e).strip()), "application/json")
        else:
            self.send(404, error("NOT_FOUND", "not found"), "application/json")

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or "0")
        body = self.rfile.read(length) if 0 < length <= 65536 else b""
        if path != "/api/v2.0/projects":
            self.send(404, error("NOT_FOUND", "not found"), "application/json")
            return
        try:
            name = json.loads(body or b"{}").get("project_name")
        except ValueError:
            name = None
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            self.send(400, error("BAD_REQUEST", "project_name: a string of 1 to 255 characters"), "application/json")
            return
        try:
            made = create_project(name)
        except Exception as e:
            self.send(500, error("INTERNAL_SERVER_ERROR", str(e).strip()), "application/json")
            return
        if made:
            self.send(201, "", "application/json")
        else:
            self.send(409, error("CONFLICT", "project %s already exists" % name), "application/json")

    def log_message(self, fmt, *args):
        pass


def main():
    # PID 1 in its container: without a handler SIGTERM would be ignored (and `down` waits 10 s)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer((LISTEN, PORT), Handler)
    server.daemon_threads = True
    print("harbor-core (lab) listening on %s:%d" % (LISTEN, PORT), flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
