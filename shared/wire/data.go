package wire

// ListedDataObject is the wire model of a data object.
type ListedDataObject struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	StringValue string `json:"stringValue"`
	IntValue    int32  `json:"intValue"`
}

// DataObjectWithReferencer is the wire model of ListDataObjects with ShowAll
// (key order as in the reference's example).
type DataObjectWithReferencer struct {
	ReferencerID   int64  `json:"referencerId"`
	ReferencerType int    `json:"referencerType"`
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	StringValue    string `json:"stringValue"`
	IntValue       int32  `json:"intValue"`
}

type DataObjectIDResult struct {
	ID int64 `json:"id"`
}
