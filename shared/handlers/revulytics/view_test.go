package revulytics

import (
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/keys"
)

// TestView: the registry's view of a key (the mapping table of
// shared/docs/peers/revulytics.md), case by case.
func TestView(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	fd := catalog.DefaultFeatureDefinitions()
	fd.Features[0].Type = catalog.FeatureTimeLimited
	allowed, blank := "m9", "  "
	nodes := func(n int) map[string]keys.Machine {
		out := map[string]keys.Machine{}
		for i := 0; i < n; i++ {
			out[string(rune('a'+i))] = keys.Machine{}
		}
		return out
	}
	live, gone := keys.Seat{Expires: now.Add(time.Minute)}, keys.Seat{Expires: now}
	created := now.Add(-48 * time.Hour)
	cases := []struct {
		name string
		r    keys.Record
		fd   catalog.FeatureDefinitions
		want keyView
	}{
		{"permanent, unlimited, unused", keys.Record{Created: created, Expires: now.Add(-time.Hour)}, fd,
			keyView{licenseType: "unknown", quota: UnlimitedQuota, lastEdited: created, hasLastEdited: true}},
		{"time-limited and expired", keys.Record{Features: [8]bool{true}, Expires: now, MaxNoOfMachines: 2, Nodes: nodes(1), LicenseType: "nfr"}, fd,
			keyView{licenseType: "nfr", timeLimited: true, quota: 2, count: 1, status: keyStatus{Expired: true}, hasLastEdited: true}},
		{"every license time-limited", keys.Record{Expires: now.Add(time.Hour), MaxNoOfMachines: 1, Nodes: nodes(1)},
			catalog.FeatureDefinitions{AllLicensesTimeLimited: true},
			keyView{licenseType: "unknown", timeLimited: true, quota: 1, count: 1, status: keyStatus{Activated: true}, hasLastEdited: true}},
		{"floating seats in use count, expired ones do not", keys.Record{MaxNoOfMachines: 3, Nodes: nodes(1), Seats: []keys.Seat{live, gone, live}}, fd,
			keyView{licenseType: "unknown", quota: 3, count: 3, status: keyStatus{Activated: true}, hasLastEdited: true}},
		{"blocked with machines is not activated", keys.Record{Block: true, MaxNoOfMachines: 1, Nodes: nodes(4)}, fd,
			keyView{licenseType: "unknown", quota: 1, count: 4, status: keyStatus{Blocked: true}, hasLastEdited: true}},
		{"allowed machines", keys.Record{AllowedMachines: &allowed, MaxNoOfMachines: 1}, fd,
			keyView{licenseType: "unknown", quota: 1, status: keyStatus{Allowed: true}, hasLastEdited: true}},
		{"blank allowed machines", keys.Record{AllowedMachines: &blank, MaxNoOfMachines: 1}, fd,
			keyView{licenseType: "unknown", quota: 1, hasLastEdited: true}},
		{"auto-collected, never edited", keys.Record{AutoCollected: true, LicenseType: "evaluation", MaxNoOfMachines: 1}, fd,
			keyView{licenseType: "evaluation", quota: 1}},
		{"edited", keys.Record{AutoCollected: true, Edited: created.Add(time.Hour), MaxNoOfMachines: 1}, fd,
			keyView{licenseType: "unknown", quota: 1, lastEdited: created.Add(time.Hour), hasLastEdited: true}},
	}
	for _, c := range cases {
		v := viewer{fd: c.fd, now: now}
		if got := v.view(c.r); got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
	// A feature lock empties what it hides.
	v := viewer{fd: fd, now: now, hide: hiddenBy(32 | 64 | 128)}
	if got := v.view(keys.Record{AllowedMachines: &allowed, MaxNoOfMachines: 5, Nodes: nodes(2)}); got.count != 0 || got.quota != 0 || got.status.Allowed || got.status.Activated {
		t.Errorf("masked: %+v", got)
	}
}

func TestEditorOf(t *testing.T) {
	for _, c := range []struct {
		name string
		want editor
	}{
		{"Revulytics Demonstration <demo@revulytics.com>", editor{"Revulytics", "Demonstration", "demo@revulytics.com"}},
		{"Jean Luc Picard <jl@example.com>", editor{"Jean Luc", "Picard", "jl@example.com"}},
		{"ops <ops@example.com>", editor{"ops", "", "ops@example.com"}},
		{"deploy token", editor{"deploy token", "", ""}},
		{"", editor{}},
	} {
		if got := editorOf(c.name); got != c.want {
			t.Errorf("editorOf(%q) = %+v, want %+v", c.name, got, c.want)
		}
	}
}
