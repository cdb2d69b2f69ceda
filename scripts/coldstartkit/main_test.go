package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartOnce: the harness times the hello world's start-up to its first
// next call, and reports a binary that never asks for an invocation.
func TestStartOnce(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	dir := t.TempDir()
	out := filepath.Join(dir, "hello", "bootstrap")
	if err := build("./scripts/coldstartkit/hello", out); err != nil {
		t.Fatal(err)
	}
	rt, err := newRuntimeAPI("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rt.close()
	b := &binary{name: "hello", path: out, env: lambdaEnv(rt.addr, "hello", filepath.Dir(out), dir)}
	for i := 0; i < 3; i++ {
		wall, cpu, err := startOnce(b, rt)
		if err != nil {
			t.Fatal(err)
		}
		if wall <= 0 || wall > 5*time.Second || cpu <= 0 {
			t.Errorf("run %d: wall %v, cpu %v", i, wall, cpu)
		}
	}
	// A runtime API nobody listens on: the runtime gives up and exits.
	b.env = lambdaEnv("127.0.0.1:1", "hello", filepath.Dir(out), dir)
	if _, _, err := startOnce(b, rt); err == nil || !strings.Contains(err.Error(), "exited before asking for an invocation") {
		t.Errorf("unreachable runtime API: err = %v, want an early exit", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "home")); err != nil {
		t.Errorf("no empty HOME for the function: %v", err)
	}
}
