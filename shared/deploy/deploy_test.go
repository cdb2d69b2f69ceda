package deploy

import (
	"os"
	"path/filepath"
	"regexp"
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
	}
	sort.Strings(dirs)
	sort.Strings(names)
	if got, want := strings.Join(names, ","), strings.Join(dirs, ","); got != want {
		t.Errorf("deploy.Groups = %s, functions/ = %s", got, want)
	}
}

// routePath is what HTTP API accepts as a route path here: literal
// segments and an optional greedy variable at the end.
var routePath = regexp.MustCompile(`^(/[A-Za-z0-9._-]+)+(/\{proxy\+\})?$`)

// TestRoutes: each route is a valid path, reaches exactly one function,
// a Web API group's first route is /api/<name>/{proxy+}, and exactly one
// function (with no routes of its own) is behind $default.
func TestRoutes(t *testing.T) {
	owner := map[string]string{}
	defaults := 0
	for _, g := range Groups {
		if g.Default {
			defaults++
			if len(g.Routes) != 0 {
				t.Errorf("%s: the $default function has routes %v", g.Name, g.Routes)
			}
			continue
		}
		if len(g.Routes) == 0 {
			t.Errorf("%s: no routes", g.Name)
		}
		for _, r := range g.Routes {
			if !routePath.MatchString(r) {
				t.Errorf("%s: route %q is not a literal path with an optional trailing {proxy+}", g.Name, r)
			}
			if prev, dup := owner[r]; dup {
				t.Errorf("route %s is served by both %s and %s", r, prev, g.Name)
			}
			owner[r] = g.Name
		}
		if strings.HasPrefix(g.Routes[0], "/api/") {
			if want := "/api/" + g.Name + "/{proxy+}"; g.Routes[0] != want {
				t.Errorf("%s: first route %s, want %s", g.Name, g.Routes[0], want)
			}
			for _, r := range g.Routes {
				seg := strings.Split(r, "/")
				if seg[1] == "api" && !strings.EqualFold(seg[2], g.Name) || seg[1] != "api" && !strings.EqualFold(seg[1], g.Name) {
					t.Errorf("%s: route %s is another group's", g.Name, r)
				}
			}
		}
		if g.MemoryMB < 128 || g.MemoryMB > 10240 || g.TimeoutSeconds <= 0 {
			t.Errorf("%s: memory %d MB, timeout %d s", g.Name, g.MemoryMB, g.TimeoutSeconds)
		}
	}
	if defaults != 1 {
		t.Errorf("%d $default functions, want 1", defaults)
	}
}

func TestWebAPIRoutes(t *testing.T) {
	got := strings.Join(WebAPI("ai", "AI"), " ")
	if want := "/api/ai/{proxy+} /api/AI/{proxy+}"; got != want {
		t.Errorf("WebAPI = %s, want %s", got, want)
	}
	if got, want := Prefix("/core/v2/rest/"), "/core/v2/rest/{proxy+}"; got != want {
		t.Errorf("Prefix = %s, want %s", got, want)
	}
}
