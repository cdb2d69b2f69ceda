package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/config"
)

// TestServerBounds: every connection of the local server is bounded.
func TestServerBounds(t *testing.T) {
	srv := newServer("127.0.0.1:0", http.NotFoundHandler(), config.DefaultRequestTimeout)
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if d <= 0 {
			t.Errorf("%s = %v, want a bound", name, d)
		}
	}
	if srv.WriteTimeout <= config.DefaultRequestTimeout {
		t.Errorf("WriteTimeout %v does not leave time to answer after the request deadline %v", srv.WriteTimeout, config.DefaultRequestTimeout)
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes = %d, want a bound below 1 MiB", srv.MaxHeaderBytes)
	}
}

// TestStalledUploadIsClosed: a client that announces a body and stops
// sending it does not keep its connection: the server closes it once the
// read timeout (shortened here) passes, and the handler sees a read error.
func TestStalledUploadIsClosed(t *testing.T) {
	readErr := make(chan error, 1)
	srv := newServer("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	}), config.DefaultRequestTimeout)
	srv.ReadTimeout = 200 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "POST /api/key/Activate HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntoken=abc"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	// Wait (far longer than the read timeout) for the server to give up.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = io.ReadAll(conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the server kept the stalled upload open")
	}
	select {
	case err := <-readErr:
		if err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Errorf("handler read the stalled body with error %v, want a timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the handler never saw the stalled body end")
	}
}
