package torture

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// JitterProxy is a reverse proxy on 127.0.0.1 in front of the emulator that
// delays every request by a random time in [0, Max): the varying latency of
// a real endpoint, under which two requests sent close together may be
// answered in either order.
type JitterProxy struct {
	URL  string
	srv  *http.Server
	done chan error
}

// StartJitterProxy serves a proxy to target with delays up to max.
func StartJitterProxy(target string, max time.Duration, seed uint64) (*JitterProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	rp := httputil.NewSingleHostReverseProxy(u)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		d := time.Duration(rng.Int64N(int64(max)))
		mu.Unlock()
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		rp.ServeHTTP(w, r)
	})
	p := &JitterProxy{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h}, done: make(chan error, 1)}
	go func() { p.done <- p.srv.Serve(ln) }()
	return p, nil
}

// Close stops the proxy.
func (p *JitterProxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	<-p.done
	return err
}
