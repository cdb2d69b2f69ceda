// Package docs holds the project's design documents; its test keeps the
// tests they cite in existence.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// citation is "`dir`: TestA, TestB; " in the coverage table of SECURITY.md.
var (
	citation = regexp.MustCompile("`((?:shared|scripts|infra|functions)(?:/[a-z0-9_]+)*|infra)`: ((?:(?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*(?: \\([^)]*\\))?(?:, )?)+)")
	testName = regexp.MustCompile(`(?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*`)
)

// TestSecurityCitesRealTests fails when SECURITY.md names a test that does
// not exist in the package it names, so the coverage table cannot drift
// from the code as tests are renamed or moved.
func TestSecurityCitesRealTests(t *testing.T) {
	doc, err := os.ReadFile("SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..")
	cited := 0
	for _, m := range citation.FindAllStringSubmatch(string(doc), -1) {
		dir := filepath.Join(root, m[1])
		src := packageTests(t, dir)
		for _, name := range testName.FindAllString(m[2], -1) {
			cited++
			if !strings.Contains(src, "func "+name+"(") {
				t.Errorf("SECURITY.md cites %s in %s, which has no such test", name, m[1])
			}
		}
	}
	if cited < 50 {
		t.Fatalf("found only %d cited tests; the citation pattern no longer matches the document", cited)
	}
}

// packageTests returns the text of every _test.go file in dir.
func packageTests(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Errorf("SECURITY.md cites tests in %s, which has no test files", dir)
		return ""
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}
