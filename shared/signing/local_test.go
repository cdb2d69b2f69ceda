package signing_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keyturn/keyturn/shared/signing"
)

func TestLocalWrapperCreatesKEKFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys", "kek")
	w, err := signing.NewLocalWrapper(path, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("KEK file mode = %v, want %v", got, want)
	}
	if got, want := fi.Size(), int64(signing.KEKSize); got != want {
		t.Errorf("KEK file size = %d, want %d", got, want)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want only the KEK (no temporary files)", len(entries))
	}
	secret := []byte("private key")
	sealed, dataKey, kmsKeyID, err := w.Wrap(ctx, 7, 1, secret)
	if err != nil {
		t.Fatal(err)
	}
	if dataKey != nil || kmsKeyID != "" || bytes.Contains(sealed, secret) {
		t.Fatalf("Wrap = (%x, %x, %q), want a sealed key only", sealed, dataKey, kmsKeyID)
	}
	// A second process reads the same file and unwraps.
	again, err := signing.NewLocalWrapper(path, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	got, err := again.Unwrap(ctx, signing.KeyRecord{AccountID: 7, Version: 1, WrappedPrivateKey: sealed})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, secret) {
		t.Errorf("Unwrap = %q, want %q", got, secret)
	}
}

func TestLocalWrapperRefusesWrongKEKOrRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := signing.NewLocalWrapper(filepath.Join(dir, "a"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := signing.NewLocalWrapper(filepath.Join(dir, "b"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _, _, err := w.Wrap(ctx, 7, 2, []byte("private key"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name string
		w    *signing.LocalWrapper
		rec  signing.KeyRecord
	}{
		{"wrong KEK file", other, signing.KeyRecord{AccountID: 7, Version: 2, WrappedPrivateKey: sealed}},
		{"other account", w, signing.KeyRecord{AccountID: 8, Version: 2, WrappedPrivateKey: sealed}},
		{"other version", w, signing.KeyRecord{AccountID: 7, Version: 1, WrappedPrivateKey: sealed}},
		{"tampered", w, signing.KeyRecord{AccountID: 7, Version: 2, WrappedPrivateKey: tampered}},
		{"truncated", w, signing.KeyRecord{AccountID: 7, Version: 2, WrappedPrivateKey: sealed[:10]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.w.Unwrap(ctx, tt.rec); !errors.Is(err, signing.ErrUnwrap) {
				t.Errorf("Unwrap = %v, want ErrUnwrap", err)
			}
		})
	}
}

func TestLocalWrapperKEKFileFormats(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw := bytes.Repeat([]byte{0x5A}, signing.KEKSize)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rawPath := write("raw", raw)
	hexPath := write("hex", []byte(hex.EncodeToString(raw)+"\n"))
	tests := []struct {
		name    string
		path    string
		wantErr bool
	}{
		{"raw", rawPath, false},
		{"hex with newline", hexPath, false},
		{"short", write("short", raw[:10]), true},
		{"long", write("long", append(bytes.Clone(raw), 0)), true},
		{"bad hex", write("badhex", bytes.Repeat([]byte("zz"), signing.KEKSize)), true},
		{"empty path", "", true},
		{"directory", dir, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signing.NewLocalWrapper(tt.path, rand.Reader)
			if (err != nil) != tt.wantErr {
				t.Errorf("NewLocalWrapper = %v, want error %v", err, tt.wantErr)
			}
		})
	}
	// The hex file holds the same key as the raw one.
	a, _ := signing.NewLocalWrapper(rawPath, rand.Reader)
	b, _ := signing.NewLocalWrapper(hexPath, rand.Reader)
	sealed, _, _, err := a.Wrap(ctx, 1, 1, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Unwrap(ctx, signing.KeyRecord{AccountID: 1, Version: 1, WrappedPrivateKey: sealed}); err != nil {
		t.Errorf("hex KEK does not open what the raw KEK sealed: %v", err)
	}
}

func TestLocalWrapperConcurrentCreate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kek")
	const n = 8
	ws := make([]*signing.LocalWrapper, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w, err := signing.NewLocalWrapper(path, rand.Reader)
			if err != nil {
				t.Error(err)
			}
			ws[i] = w
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sealed, _, _, err := ws[0].Wrap(ctx, 1, 1, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range ws {
		if _, err := w.Unwrap(ctx, signing.KeyRecord{AccountID: 1, Version: 1, WrappedPrivateKey: sealed}); err != nil {
			t.Errorf("wrapper %d has another key: %v", i, err)
		}
	}
}

func TestSealPrivateKeyKEKSize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := signing.SealPrivateKey(rand.Reader, make([]byte, n), 1, 1, []byte("k")); err == nil {
			t.Errorf("SealPrivateKey with a %d-byte KEK succeeded", n)
		}
		if _, err := signing.OpenPrivateKey(make([]byte, n), signing.KeyRecord{WrappedPrivateKey: make([]byte, 64)}); err == nil {
			t.Errorf("OpenPrivateKey with a %d-byte KEK succeeded", n)
		}
	}
}
