package rest

import (
	"encoding/json"
	"net/http"
)

// ContentTypeJSON is the Content-Type of every JSON answer of the agent's
// handlers. It carries no charset parameter: JSON is UTF-8 by definition
// (RFC 8259 registers none), and clients such as agentctl and the tests
// compare the header with this exact value.
const ContentTypeJSON = "application/json"

// ErrorBody is the JSON body of every error answer that [WriteError] writes:
// {"error":"…"}. agentctl and the dashboard's page read the message from its
// error field.
type ErrorBody struct {
	Error string `json:"error"`
}

// WriteJSON answers with code and v encoded as JSON, followed by a newline,
// like [net/http.Error] does for text. It sets Content-Type to
// [ContentTypeJSON] and X-Content-Type-Options to nosniff; headers the
// caller set before (Cache-Control, ETag…) are kept.
//
// v is encoded before anything is written, so a value that cannot be
// encoded (a channel, a NaN) answers 500 with an [ErrorBody] instead of a
// truncated body under code. The handler should write nothing more to w.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		// A struct of one string always encodes.
		body, _ = json.Marshal(ErrorBody{Error: err.Error()})
	}
	h := w.Header()
	h.Set("Content-Type", ContentTypeJSON)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

// WriteError answers with code and the body {"error":msg} (an [ErrorBody]),
// with the headers of [WriteJSON]. It is the JSON counterpart of
// [net/http.Error].
func WriteError(w http.ResponseWriter, code int, msg string) {
	WriteJSON(w, code, ErrorBody{Error: msg})
}
