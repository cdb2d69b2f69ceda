package license

import (
	"time"

	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/wire"
)

// FromRecord converts a stored key into the license the client sees.
// Model 3 lists every node-locked machine and every live floating seat;
// models 1 and 2 list the node-locked machines and, for a floating
// activation, the activating machine's seat.
func FromRecord(r keys.Record, now time.Time, model int64, floatingMid string) License {
	l := License{
		ProductID: r.ProductID, ID: r.ID, Key: r.Key, Created: r.Created, Expires: r.Expires, Period: r.Period,
		Features: r.Features, Notes: r.Notes, Block: r.Block, GlobalID: r.GlobalID,
		TrialActivation: r.TrialActivation, MaxNoOfMachines: r.MaxNoOfMachines, AllowedMachines: r.AllowedMachines,
		Machines: []Activation{}, DataObjects: []DataObject{},
	}
	for _, mid := range r.NodeMids() {
		m := r.Nodes[mid]
		l.Machines = append(l.Machines, Activation{Mid: mid, IP: m.IP, Time: m.Time, FriendlyName: m.FriendlyName})
	}
	for _, s := range r.ActiveSeats(now) {
		if model < 3 && s.Mid != floatingMid {
			continue
		}
		l.Machines = append(l.Machines, Activation{Mid: s.Mid, IP: s.IP, Time: s.Time, FriendlyName: s.FriendlyName,
			Floating: true, Overdraft: s.Overdraft, FloatingExpires: s.Expires})
	}
	return l
}

// Basic returns the Basic License Key model of a stored key.
func Basic(r keys.Record) wire.BasicLicense {
	f := r.Features
	return wire.BasicLicense{
		ProductID: r.ProductID, ID: r.ID, Key: r.Key, Created: wire.ISOTime(r.Created), Expires: wire.ISOTime(r.Expires),
		Period: r.Period, F1: f[0], F2: f[1], F3: f[2], F4: f[3], F5: f[4], F6: f[5], F7: f[6], F8: f[7],
		Notes: r.Notes, Block: r.Block, GlobalID: r.GlobalID,
	}
}

// Related are the objects a license shows besides its key item: the
// customer, the reseller (model 3) and the key's data objects.
type Related struct {
	Customer    *Customer
	Reseller    *Reseller
	DataObjects []DataObject
}

// WithRelated returns l showing rel (nil or empty parts leave l's
// defaults: null customer and reseller, no data objects).
func (l License) WithRelated(rel Related) License {
	l.Customer = rel.Customer
	l.Reseller = rel.Reseller
	if rel.DataObjects != nil {
		l.DataObjects = rel.DataObjects
	}
	return l
}
