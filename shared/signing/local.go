package signing

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// LocalWrapper is the KeyWrapper of local mode: private keys are sealed
// with SealPrivateKey under a key-encryption key read from a file. It is
// meant for development and tests; anyone who can read the file can
// unwrap every key. Safe for concurrent use.
type LocalWrapper struct {
	kek    []byte
	random io.Reader
}

var _ KeyWrapper = (*LocalWrapper)(nil)

// NewLocalWrapper loads the key-encryption key from path. The file holds
// KEKSize raw bytes (or, for hand-made files, 2*KEKSize hex digits plus an
// optional trailing newline). When the file does not exist it is created
// atomically with mode 0600 (and its directory with 0700) holding KEKSize
// bytes read from random; concurrent creators agree on one key. random is
// also the source of AES-GCM nonces (crypto/rand.Reader when nil). It returns an error when the file
// cannot be read or created or has the wrong length.
func NewLocalWrapper(path string, random io.Reader) (*LocalWrapper, error) {
	if path == "" {
		return nil, errors.New("signing: local key-encryption key file not configured")
	}
	if random == nil {
		random = rand.Reader
	}
	kek, err := readKEK(path)
	if errors.Is(err, fs.ErrNotExist) {
		kek, err = createKEK(path, random)
	}
	if err != nil {
		return nil, err
	}
	return &LocalWrapper{kek: kek, random: random}, nil
}

func readKEK(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: read key-encryption key: %w", err)
	}
	if len(b) == KEKSize {
		return b, nil
	}
	if t := bytes.TrimRight(b, "\r\n"); len(t) == 2*KEKSize {
		if k, err := hex.DecodeString(string(t)); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("signing: key-encryption key file %s has %d bytes, want %d raw bytes or %d hex digits", path, len(b), KEKSize, 2*KEKSize)
}

// createKEK writes a new key to a temporary file and links it into place,
// so that readers never see a partial key and a concurrent creator's key
// wins cleanly.
func createKEK(path string, random io.Reader) ([]byte, error) {
	kek := make([]byte, KEKSize)
	if _, err := io.ReadFull(random, kek); err != nil {
		return nil, fmt.Errorf("signing: generate key-encryption key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("signing: create key-encryption key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".kek-*")
	if err != nil {
		return nil, fmt.Errorf("signing: create key-encryption key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSync(tmp, kek); err != nil {
		return nil, fmt.Errorf("signing: write key-encryption key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKEK(path)
		}
		return nil, fmt.Errorf("signing: install key-encryption key: %w", err)
	}
	return kek, nil
}

func writeSync(f *os.File, b []byte) error {
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Wrap seals plaintext under the file key. wrappedDataKey and kmsKeyID are
// always empty. Errors are those of SealPrivateKey.
func (w *LocalWrapper) Wrap(_ context.Context, accountID int64, version int, plaintext []byte) ([]byte, []byte, string, error) {
	sealed, err := SealPrivateKey(w.random, w.kek, accountID, version, plaintext)
	return sealed, nil, "", err
}

// Unwrap opens rec.WrappedPrivateKey with the file key. It returns an error
// wrapping ErrUnwrap when the file key is not the one that sealed it.
func (w *LocalWrapper) Unwrap(_ context.Context, rec KeyRecord) ([]byte, error) {
	return OpenPrivateKey(w.kek, rec)
}
