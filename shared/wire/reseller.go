package wire

// Reseller is the reseller wire model.
type Reseller struct {
	ID             int64             `json:"id"`
	InviteID       int64             `json:"inviteId"`
	ResellerUserID int64             `json:"resellerUserId"`
	Created        string            `json:"created"`
	Name           *string           `json:"name"`
	URL            *string           `json:"url"`
	Email          *string           `json:"email"`
	Phone          *string           `json:"phone"`
	Description    *string           `json:"description"`
	Metadata       map[string]string `json:"metadata"`
}

type AddResellerResult struct {
	ResellerID int64 `json:"resellerId"`
}

type GetResellersResult struct {
	Resellers []Reseller `json:"resellers"`
}

type GetResellerCustomersResult struct {
	Customers []Customer `json:"customers"`
}
