package wire

type KeyLockResult struct {
	KeyID int64  `json:"keyId"`
	Token string `json:"token"`
}
