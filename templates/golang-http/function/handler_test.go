package function

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// These tests run during `docker build` (go test ./...). A failing test fails
// the build; pass the build arg TEST_ENABLED=false to skip them.

func TestHandleEchoesBody(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("rfaas"))
	rec := httptest.NewRecorder()

	Handle(rec, req)

	res := rec.Result()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("want status 200, got %d", res.StatusCode)
	}
	body, _ := io.ReadAll(res.Body)
	if want := "Hello from golang-http. Body: rfaas"; string(body) != want {
		t.Fatalf("want body %q, got %q", want, string(body))
	}
}
