package wire

// Message is the message model of message/GetMessages (key order as in the
// reference's example). Created is unix seconds; Content and Channel are
// null when the message was created without them.
type Message struct {
	ID      int64   `json:"id"`
	Content *string `json:"content"`
	Created int64   `json:"created"`
	Channel *string `json:"channel"`
}
