# A third-party-style HTTP server for the readiness tests (not built on a watchdog).
# HEALTH_PATH=/p: GET /p answers 200 and /_/health 503 (only the annotation can find it ready);
# unset: /_/health is 404, like any server without a health endpoint.
# LISTEN_PORT=N: listens on N and ignores env `port` (an image with a fixed port).
# GET /first-probe: the Unix time of the first GET of HEALTH_PATH (-1 before it).
import http.server, os, time

FIRST = []
PORT = int(os.environ.get("LISTEN_PORT") or os.environ["port"])
HEALTH = os.environ.get("HEALTH_PATH")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if HEALTH and self.path == HEALTH:
            if not FIRST:
                FIRST.append(time.time())
            return self.reply(200, "ready")
        if self.path == "/_/health":
            return self.reply(503 if HEALTH else 404, "no such path")
        if self.path == "/first-probe":
            return self.reply(200, str(FIRST[0] if FIRST else -1))
        self.reply(200, f"probe server on {PORT}")

    do_POST = do_GET


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
