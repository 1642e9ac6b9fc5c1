package function

import (
	"fmt"
	"io"
	"net/http"
)

// Handle is called for every request. Write the response with w; the request
// path, query, headers and body are all available on r.
func Handle(w http.ResponseWriter, r *http.Request) {
	var input []byte
	if r.Body != nil {
		defer r.Body.Close()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "could not read the request body", http.StatusBadRequest)
			return
		}
		input = body
	}

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "Hello from golang-http. Body: %s", string(input))
}
