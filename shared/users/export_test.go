package users

import "time"

// WrapKDF replaces the service's key derivation with wrap(previous), for
// tests in package users_test that count derivations.
func (s *Service) WrapKDF(wrap func(next kdfFunc) kdfFunc) {
	s.hasher.kdf = wrap(s.hasher.kdf)
}

// WithLoginWait returns a copy of s whose logins wait up to d in total for
// attempts of the same username that are in flight.
func (s *Service) WithLoginWait(d time.Duration) *Service {
	c := *s
	c.loginWait = d
	return &c
}

// WithLoginLimit returns a copy of s that allows max unsuccessful attempts
// per window.
func (s *Service) WithLoginLimit(max int64, window time.Duration) *Service {
	c := *s
	c.maxAttempts, c.window = max, window
	return &c
}
