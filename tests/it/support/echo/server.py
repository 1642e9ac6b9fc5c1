# Test function for the rfaas gateway tests: an HTTP server on env `bind_address`:`port` that echoes requests.
# Routes: /_/health (503 when ECHO_UNHEALTHY is set), /sleep?s=N, /fail, /status?code=N, /flaky?key=K&fails=N, /secret?name=X,
# /big?mib=N (N MiB of zero bytes, streamed), /log?text=T, /seen (cron calls), /whoami, /record?ms=N (records the X-Call-Id after N ms), /records (them, in order),
# /burn?ms=N (N ms of CPU);
# anything else echoes method, path, query, headers, body. Every reply names the replica in X-Echo-Instance.
import http.server, json, os, socketserver, threading, time, urllib.parse, uuid

PORT = int(os.environ.get("port", "8080"))
# Loopback unless told otherwise: a test image never listens beyond the machine.
HOST = os.environ.get("bind_address", "").strip() or "127.0.0.1"
INSTANCE = uuid.uuid4().hex[:10]
VERSION = os.environ.get("ECHO_VERSION", "1")
CRON_SLEEP = float(os.environ.get("CRON_SLEEP", "0"))
LOCK = threading.Lock()
SEEN, COUNTERS, RECORDS = [], {}, []


# ECHO_EXIT_AFTER=S: after S seconds print "line 1".."line 30", then "secret NAME: VALUE" for each
# secret named in ECHO_PRINT_SECRETS, and exit with ECHO_EXIT_CODE (default 3).
def exit_later():
    time.sleep(float(os.environ["ECHO_EXIT_AFTER"]))
    for i in range(1, 31):
        print(f"line {i}", flush=True)
    for name in filter(None, os.environ.get("ECHO_PRINT_SECRETS", "").split(",")):
        with open("/var/openfaas/secrets/" + name) as f:
            print(f"secret {name}: {f.read()}", flush=True)
    os._exit(int(os.environ.get("ECHO_EXIT_CODE", "3")))


if os.environ.get("ECHO_EXIT_AFTER"):
    threading.Thread(target=exit_later, daemon=True).start()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, code, payload):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Duration-Seconds", "0.001000")
        self.send_header("X-Echo-Instance", INSTANCE)
        self.end_headers()
        self.wfile.write(data)

    def stream_zeros(self, mib):
        chunk = bytes(1024 * 1024)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(mib * len(chunk)))
        self.send_header("X-Echo-Instance", INSTANCE)
        self.end_headers()
        try:
            for _ in range(mib):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        body = self.body()
        if url.path == "/_/health":
            return self.reply(503, b"unhealthy") if os.environ.get("ECHO_UNHEALTHY") else self.reply(200, b"OK")
        if self.headers.get("X-Topic"):
            start = time.time()
            time.sleep(CRON_SLEEP)
            with LOCK:
                SEEN.append({"start": start, "end": time.time(), "method": self.command, "path": url.path,
                             "body": body.decode(), "headers": dict(self.headers.items())})
            return self.reply(200, b"tick")
        if url.path == "/sleep":
            time.sleep(float(q.get("s", "1")))
        elif url.path == "/fail":
            return self.reply(500, b"failed")
        elif url.path == "/status":
            return self.reply(int(q.get("code", "200")), b"status")
        elif url.path == "/flaky":
            with LOCK:
                COUNTERS[q["key"]] = COUNTERS.get(q["key"], 0) + 1
                n = COUNTERS[q["key"]]
            if n <= int(q.get("fails", "0")):
                return self.reply(503, b"try again")
        elif url.path == "/secret":
            try:
                with open("/var/openfaas/secrets/" + q["name"], "rb") as f:
                    return self.reply(200, f.read())
            except OSError as e:
                return self.reply(404, str(e).encode())
        elif url.path == "/log":
            print(q.get("text", ""), flush=True)
        elif url.path == "/seen":
            with LOCK:
                return self.reply(200, SEEN)
        elif url.path == "/record":
            time.sleep(float(q.get("ms", "0")) / 1000)
            with LOCK:
                RECORDS.append(self.headers.get("X-Call-Id", ""))
            return self.reply(200, b"recorded")
        elif url.path == "/records":
            with LOCK:
                return self.reply(200, RECORDS)
        elif url.path == "/big":
            return self.stream_zeros(int(q.get("mib", "1")))
        elif url.path == "/burn":
            until = time.monotonic() + float(q.get("ms", "50")) / 1000
            while time.monotonic() < until:
                pass
            return self.reply(200, b"burnt")
        elif url.path == "/whoami":
            return self.reply(200, {"uid": os.getuid(), "gid": os.getgid()})
        self.reply(200, {"method": self.command, "path": url.path, "query": url.query,
                         "headers": dict(self.headers.items()), "body": body.decode("utf-8", "replace"),
                         "instance": INSTANCE, "version": VERSION, "env": {k: v for k, v in os.environ.items() if k.startswith("ECHO_") or k == "fprocess"}})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = route


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


print(f"echo {INSTANCE} listening on {HOST}:{PORT}", flush=True)
Server((HOST, PORT), Handler).serve_forever()
