package users

// WrapKDF replaces the service's key derivation with wrap(previous), for
// tests in package users_test that count derivations.
func (s *Service) WrapKDF(wrap func(next kdfFunc) kdfFunc) {
	s.hasher.kdf = wrap(s.hasher.kdf)
}
