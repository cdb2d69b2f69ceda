package users

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters of a password hash. They are
// stored with every hash, so raising them later affects new hashes only and
// old hashes keep verifying.
type Params struct {
	// Time is the number of passes over the memory.
	Time uint32
	// MemoryKiB is the memory used, in KiB.
	MemoryKiB uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
	// SaltLen and KeyLen are the salt and derived key lengths in bytes.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams is the production cost: argon2id with 19 MiB, 2 passes and
// one lane, the first of the equivalent argon2id configurations the OWASP
// Password Storage Cheat Sheet recommends. Why these values:
//   - One lane: a Lambda has at most about one vCPU for this work, so more
//     lanes would not run in parallel and only add overhead.
//   - 19 MiB: memory hardness against GPU/ASIC guessing while keeping the
//     function's memory small (one verification at a time per instance).
//   - Time: one verification measured (BenchmarkVerifyDefault) at ~40 ms
//     with the amd64 assembly and ~60 ms with the pure Go code that arm64
//     Lambdas run (-tags purego), on one core of a shared AMD EPYC; a
//     whole Login over HTTP on DynamoDB Local (BenchmarkLogin) at ~45 ms
//     and ~60-90 ms. So a Login stays under ~100 ms on one full Lambda
//     vCPU (1769 MB). CPU time scales with the memory setting: at 512 MB
//     (~0.3 vCPU) the verification alone takes ~200 ms for the same
//     GB-seconds, so give the userauth function 1769 MB.
var DefaultParams = Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

// TestParams are cheap parameters for tests only (never use them in
// production: they give almost no protection against guessing).
var TestParams = Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters read back from a stored hash; a corrupted or
// hostile value must not make verification allocate gigabytes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	maxKeyLen    = 128
	maxSaltLen   = 128
)

var errBadHash = errors.New("users: malformed password hash")

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// Hasher hashes and verifies passwords with argon2id.
type Hasher struct {
	params Params
	rand   io.Reader
	// dummy is a well-formed hash with the current parameters that no
	// password matches; verifying against it costs the same as a real
	// verification (used for unknown users).
	dummy string
	// kdf is argon2.IDKey (replaced by tests that count derivations).
	kdf func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
}

// NewHasher returns a Hasher that creates hashes with p and salts from
// rand. It panics when p is outside the ranges Verify accepts (time 1..64,
// memory 8*threads KiB..1 GiB, salt 8..128 and key 16..128 bytes): that is
// a programming error.
func NewHasher(p Params, rand io.Reader) *Hasher {
	h := &Hasher{params: p, rand: rand, kdf: argon2.IDKey}
	h.dummy = encode(p, make([]byte, p.SaltLen), make([]byte, p.KeyLen))
	if _, _, _, err := decode(h.dummy); err != nil {
		panic(fmt.Sprintf("users: invalid argon2id parameters %+v", p))
	}
	return h
}

// Hash returns the PHC-format encoding of password's argon2id hash with a
// fresh random salt: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	p := h.params
	return encode(p, salt, h.kdf([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)), nil
}

// Verify reports whether password matches encoded (compared in constant
// time). A malformed hash never matches; it is reported as an error so the
// caller can log it.
func (h *Hasher) Verify(encoded, password string) (bool, error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		// Spend the same time as a real verification anyway.
		h.VerifyDummy(password)
		return false, err
	}
	got := h.kdf([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether encoded was made with other parameters (or
// lengths) than the ones h hashes with now. Callers that just verified the
// password re-hash it, so raised parameters reach existing users as they
// log in.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false // nothing to upgrade: it never verifies
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p != h.params
}

// VerifyDummy does the work of one verification and discards the result.
// Callers use it when there is no user, so that an unknown username takes
// as long as a wrong password.
func (h *Hasher) VerifyDummy(password string) {
	p, salt, key, _ := decode(h.dummy)
	_ = subtle.ConstantTimeCompare(h.kdf([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key))), key)
}

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decode(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, errBadHash
	}
	var p Params
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil || n != 3 {
		return Params{}, nil, nil, errBadHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return Params{}, nil, nil, errBadHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return Params{}, nil, nil, errBadHash
	}
	if p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB ||
		len(key) < 16 || len(key) > maxKeyLen || len(salt) < 8 || len(salt) > maxSaltLen {
		return Params{}, nil, nil, errBadHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
