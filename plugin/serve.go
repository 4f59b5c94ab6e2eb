package plugin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// ListenAddr joins Fluentd's bind and port parameters into a listen address
// ("0.0.0.0" stays IPv4-only, as Fluentd binds it; a bracketed IPv6 host is
// unbracketed first).
func ListenAddr(bind string, port int) string {
	return net.JoinHostPort(strings.Trim(bind, "[]"), strconv.Itoa(port))
}

// ServeHTTP serves h on ln until ctx is done, then shuts the server down
// within 2 s (a shutdown failure is logged: the source is stopping anyway).
// what names the server in the error and the log.
func ServeHTTP(ctx context.Context, ln net.Listener, h http.Handler, what string, log *zap.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s server: %w", what, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn(what+" server shutdown", zap.Error(err))
	}
	return nil
}

// Listener binds an address once: the first Listen listens, later calls
// return the same listener (so a test can learn the port before Run).
type Listener struct {
	mu sync.Mutex
	ln net.Listener
}

// Listen returns the listener on addr, listening on the first call; what
// names the server in the error.
func (l *Listener) Listen(addr, what string) (net.Listener, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		l.ln = ln
	}
	return l.ln, nil
}
