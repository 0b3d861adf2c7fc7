// Package rest runs the HTTP server of an agent and lets plugins register
// their handlers on it.
//
// Plugins that serve HTTP inject [HTTPHandlers] and call RegisterHTTPHandler
// from their Init or later; the [Plugin] provides it. Routes use
// github.com/gorilla/mux path templates, so "/log/{logger}/{level}" works, and
// handlers read the variables with [net/http.Request.PathValue] or mux.Vars.
//
// # Configuration
//
// The plugin reads http.conf (flag -http-config, env HTTP_CONFIG); every key
// is described on [Config], and a zero Config is valid: it serves plain HTTP
// on 0.0.0.0:9191. The port of the endpoint can be overridden by the env
// HTTP_PORT and, with higher precedence, by the flag -http-port; the host part
// of the configured endpoint is kept. A Config set in code with [UseConf] wins
// over the file, the environment and the flag.
//
// When basic-auth is configured, every path except /liveness and /readiness
// requires one of the configured users. Passwords are compared in constant
// time and never logged.
//
// # Lifecycle
//
// Init loads and checks the config (certificates included) and prepares the
// router. AfterInit opens the listening socket, so a port in use fails the
// start of the agent, and then serves in the background. Close shuts the
// server down gracefully: it stops accepting connections, closes those on
// which no request has arrived yet (spare connections of browsers and HTTP
// clients), lets in-flight requests finish for up to 5s (see
// [WithShutdownTimeout]), then closes the remaining connections and waits for
// the server goroutine.
//
// # Concurrency
//
// RegisterHTTPHandler, GetPort, Addr and Handler are safe for concurrent use
// with each other and with serving, before and after the server starts.
// Registering a route never waits for in-flight requests.
package rest
