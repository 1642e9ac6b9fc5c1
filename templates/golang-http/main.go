// Command handler is the rfaas golang-http runtime. It serves function.Handle
// on the port from env "port" and adds the watchdog behaviour: /_/health,
// exec_timeout (504), max_inflight (429), X-Duration-Seconds, one access log
// line per request and graceful shutdown on SIGTERM.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"handler/function"
)

// ---------------------------------------------------------------------------
// configuration

type config struct {
	port         int
	bindAddress  string
	readTimeout  time.Duration
	writeTimeout time.Duration
	execTimeout  time.Duration
	maxInflight  int64
}

// envDuration reads a plain integer (seconds) or a Go duration ("500ms", "1m").
func envDuration(name string, def time.Duration) time.Duration {
	raw := strings.TrimSpace(os.Getenv(name))
	if raw == "" {
		return def
	}
	if n, err := strconv.Atoi(raw); err == nil {
		if n < 0 {
			fmt.Printf("Invalid duration %s=%q, using %s\n", name, raw, def)
			return def
		}
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < 0 {
		fmt.Printf("Invalid duration %s=%q, using %s\n", name, raw, def)
		return def
	}
	return d
}

func envInt(name string, def int) int {
	raw := strings.TrimSpace(os.Getenv(name))
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		fmt.Printf("Invalid integer %s=%q, using %d\n", name, raw, def)
		return def
	}
	if n < 0 {
		return 0
	}
	return n
}

func loadConfig() config {
	port := envInt("port", 8080)
	if port == 0 {
		port = 8080
	}
	// The gateway passes bind_address=127.0.0.1 so that a replica on the host network is reachable
	// only through it; run elsewhere, the image listens on every interface as before.
	bind := strings.TrimSpace(os.Getenv("bind_address"))
	if bind == "" {
		bind = "0.0.0.0"
	}
	return config{
		port:         port,
		bindAddress:  bind,
		readTimeout:  envDuration("read_timeout", 10*time.Second),
		writeTimeout: envDuration("write_timeout", 10*time.Second),
		execTimeout:  envDuration("exec_timeout", 10*time.Second),
		maxInflight:  int64(envInt("max_inflight", 0)),
	}
}

// ---------------------------------------------------------------------------
// watchdog

type watchdog struct {
	cfg      config
	fn       http.Handler
	inflight atomic.Int64
	ready    atomic.Bool
	draining atomic.Bool
}

func logRequest(r *http.Request, status int, length int64, started time.Time) {
	fmt.Printf("%s %s - %d - ContentLength: %d (%.4fs)\n",
		r.Method, r.RequestURI, status, length, time.Since(started).Seconds())
}

func plain(w http.ResponseWriter, status int, body string) int64 {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	n, _ := w.Write([]byte(body))
	return int64(n)
}

func (wd *watchdog) private(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plain(w, http.StatusMethodNotAllowed, "Method not allowed\n")
		return
	}
	if !wd.ready.Load() || wd.draining.Load() {
		plain(w, http.StatusServiceUnavailable, "Service Unavailable\n")
		return
	}
	if r.URL.Path == "/_/ready" && wd.cfg.maxInflight > 0 && wd.inflight.Load() >= wd.cfg.maxInflight {
		plain(w, http.StatusTooManyRequests, "Too Many Requests\n")
		return
	}
	plain(w, http.StatusOK, "OK")
}

func (wd *watchdog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_/health" || r.URL.Path == "/_/ready" {
		wd.private(w, r)
		return
	}
	started := time.Now()
	if wd.draining.Load() {
		w.Header().Set("Connection", "close")
	}

	n := wd.inflight.Add(1)
	defer wd.inflight.Add(-1)
	if wd.cfg.maxInflight > 0 && n > wd.cfg.maxInflight {
		w.Header().Set("X-OpenFaaS-Internal", "faas-middleware")
		length := plain(w, http.StatusTooManyRequests,
			fmt.Sprintf("Concurrent request limit exceeded. Max concurrent requests: %d\n", wd.cfg.maxInflight))
		logRequest(r, http.StatusTooManyRequests, length, started)
		return
	}

	if wd.cfg.execTimeout > 0 {
		wd.serveWithTimeout(w, r, started)
	} else {
		wd.serveDirect(w, r, started)
	}
}

// serveDirect streams the handler's response (exec_timeout disabled).
func (wd *watchdog) serveDirect(w http.ResponseWriter, r *http.Request, started time.Time) {
	rec := &recorder{w: w, started: started}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			fmt.Fprintf(os.Stderr, "panic in handler: %v\n%s", p, debug.Stack())
			if !rec.wroteHeader {
				rec.status = http.StatusInternalServerError
				rec.bytes = plain(w, http.StatusInternalServerError, "Internal Server Error\n")
				rec.wroteHeader = true
			}
		}
		status := rec.status
		if !rec.wroteHeader {
			status = http.StatusOK
		}
		logRequest(r, status, rec.bytes, started)
	}()
	wd.fn.ServeHTTP(rec, r)
}

type recorder struct {
	w           http.ResponseWriter
	started     time.Time
	status      int
	bytes       int64
	wroteHeader bool
}

func (rw *recorder) Header() http.Header { return rw.w.Header() }

func (rw *recorder) WriteHeader(code int) {
	if rw.wroteHeader {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		rw.w.WriteHeader(code) // informational; the real header follows
		return
	}
	rw.wroteHeader = true
	rw.status = code
	rw.w.Header().Set("X-Duration-Seconds", fmt.Sprintf("%f", time.Since(rw.started).Seconds()))
	rw.w.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	n, err := rw.w.Write(b)
	rw.bytes += int64(n)
	return n, err
}

func (rw *recorder) Flush() {
	if f, ok := rw.w.(http.Flusher); ok {
		if !rw.wroteHeader {
			rw.WriteHeader(http.StatusOK)
		}
		f.Flush()
	}
}

// bufferWriter collects the handler's response so that it can be replaced by
// a 504 if the handler does not finish within exec_timeout.
type bufferWriter struct {
	mu       sync.Mutex
	header   http.Header
	buf      bytes.Buffer
	status   int
	wrote    bool
	timedOut bool
}

func (bw *bufferWriter) Header() http.Header { return bw.header }

func (bw *bufferWriter) WriteHeader(code int) {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	if bw.timedOut || bw.wrote || (code >= 100 && code < 200) {
		return
	}
	bw.wrote = true
	bw.status = code
}

func (bw *bufferWriter) Write(b []byte) (int, error) {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	if bw.timedOut {
		return 0, http.ErrHandlerTimeout
	}
	if !bw.wrote {
		bw.wrote = true
		bw.status = http.StatusOK
	}
	return bw.buf.Write(b)
}

func (wd *watchdog) serveWithTimeout(w http.ResponseWriter, r *http.Request, started time.Time) {
	ctx, cancel := context.WithTimeout(r.Context(), wd.cfg.execTimeout)
	defer cancel()
	r = r.WithContext(ctx)

	bw := &bufferWriter{header: make(http.Header)}
	done := make(chan struct{})
	panicked := make(chan interface{}, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				panicked <- p
			}
		}()
		wd.fn.ServeHTTP(bw, r)
		close(done)
	}()

	select {
	case p := <-panicked:
		fmt.Fprintf(os.Stderr, "panic in handler: %v\n", p)
		bw.mu.Lock()
		bw.timedOut = true
		bw.mu.Unlock()
		length := plain(w, http.StatusInternalServerError, "Internal Server Error\n")
		logRequest(r, http.StatusInternalServerError, length, started)
	case <-done:
		bw.mu.Lock()
		defer bw.mu.Unlock()
		dst := w.Header()
		for k, v := range bw.header {
			dst[k] = v
		}
		status := bw.status
		if !bw.wrote {
			status = http.StatusOK
		}
		dst.Set("X-Duration-Seconds", fmt.Sprintf("%f", time.Since(started).Seconds()))
		if dst.Get("Content-Length") == "" && r.Method != http.MethodHead {
			dst.Set("Content-Length", strconv.Itoa(bw.buf.Len()))
		}
		w.WriteHeader(status)
		n, _ := w.Write(bw.buf.Bytes())
		logRequest(r, status, int64(n), started)
	case <-ctx.Done():
		bw.mu.Lock()
		bw.timedOut = true
		bw.mu.Unlock()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			w.Header().Set("X-OpenFaaS-Internal", "watchdog")
			length := plain(w, http.StatusGatewayTimeout,
				fmt.Sprintf("Function timed out after %s (exec_timeout)\n", wd.cfg.execTimeout))
			logRequest(r, http.StatusGatewayTimeout, length, started)
			return
		}
		// The client went away before the handler finished.
		logRequest(r, 499, 0, started)
	}
}

// ---------------------------------------------------------------------------
// main

func main() {
	cfg := loadConfig()
	wd := &watchdog{cfg: cfg, fn: http.HandlerFunc(function.Handle)}

	// The server's write deadline must leave room to deliver the 504. With
	// exec_timeout=0 the function may run for as long as it likes, so there
	// is no write deadline either.
	writeDeadline := cfg.writeTimeout
	if cfg.execTimeout <= 0 {
		writeDeadline = 0
	} else if writeDeadline > 0 && writeDeadline < cfg.execTimeout+time.Second {
		writeDeadline = cfg.execTimeout + time.Second
	}
	srv := &http.Server{
		Addr:           net.JoinHostPort(cfg.bindAddress, strconv.Itoa(cfg.port)),
		Handler:        wd,
		ReadTimeout:    cfg.readTimeout,
		WriteTimeout:   writeDeadline,
		MaxHeaderBytes: 1 << 20,
	}

	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen: %v\n", err)
		os.Exit(1)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	execDesc := "off"
	if cfg.execTimeout > 0 {
		execDesc = cfg.execTimeout.String()
	}
	inflightDesc := "unlimited"
	if cfg.maxInflight > 0 {
		inflightDesc = strconv.FormatInt(cfg.maxInflight, 10)
	}
	fmt.Printf("golang-http listening on %s (read_timeout=%s write_timeout=%s exec_timeout=%s max_inflight=%s)\n",
		srv.Addr, cfg.readTimeout, cfg.writeTimeout, execDesc, inflightDesc)
	wd.ready.Store(true)

	select {
	case err := <-serveErr:
		fmt.Fprintf(os.Stderr, "server error: %v\n", err)
		os.Exit(1)
	case sig := <-sigs:
		wd.draining.Store(true)
		name := "SIGINT"
		if sig == syscall.SIGTERM {
			name = "SIGTERM"
		}
		fmt.Printf("Received %s, draining in-flight requests (up to write_timeout=%s)\n", name, cfg.writeTimeout)
		ctx := context.Background()
		if cfg.writeTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, cfg.writeTimeout)
			defer cancel()
		}
		if err := srv.Shutdown(ctx); err != nil {
			fmt.Printf("write_timeout (%s) reached with requests in flight, exiting\n", cfg.writeTimeout)
			srv.Close()
		}
		fmt.Println("Server stopped")
	}
}
