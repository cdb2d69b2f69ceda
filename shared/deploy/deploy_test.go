package deploy

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestGroupsMatchFunctions: every functions/<dir> has a line and every line
// has a directory.
func TestGroupsMatchFunctions(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "..", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs, names []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	for _, g := range Groups {
		names = append(names, g.Name)
		if g.Name == "admin" {
			if g.Route != "/admin" {
				t.Errorf("admin route = %s", g.Route)
			}
		} else if g.Route != "/api/"+g.Name {
			t.Errorf("%s route = %s, want /api/%s", g.Name, g.Route, g.Name)
		}
	}
	sort.Strings(dirs)
	sort.Strings(names)
	if got, want := strings.Join(names, ","), strings.Join(dirs, ","); got != want {
		t.Errorf("deploy.Groups = %s, functions/ = %s", got, want)
	}
}
